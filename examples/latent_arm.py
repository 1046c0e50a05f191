"""Plan in a learned latent action space and check the plans on the real system.

The pipeline a latent-action world-model user runs, end to end, in plain NumPy plus fastplan:

1. **The real system.**  A two-link planar arm in the horizontal plane (no gravity, viscous
   damping), state ``s = (q1, q2, w1, w2)`` (n = 4: joint angles and velocities), two joint
   torques, RK4 at 10 ms, one action held for a 0.1 s control step.
2. **The decoder.**  The arm does not take torques from us but *latent actions* ``z`` (d = 3),
   decoded by a fixed random network ``tau = tau_max tanh(W2 tanh(W1 z + b1) + b2)``.  The
   behaviour that produced the data draws ``z`` from a mixture of four tight clusters (a
   "skill" latent space); a latent far from the clusters decodes to a saturated torque that
   the data never shows.
3. **Latent actions inferred from transitions** (as VPT does): a small labelled set of
   ``(s, z, s')`` trains an inverse-dynamics MLP ``(s, s' - s) -> z``, which labels a larger
   unlabelled set of transitions ``(s, s')``.  With d = 3 latents and 2 torques the latent is
   not identifiable from a transition; the inverse model learns E[z | s, s'], which stays
   inside each cluster.
4. **A world model** ``s' = s + f(s, z)`` (MLP, tanh, residual) fitted by Adam to
   ``(s, z_inferred, s')`` and exported with :func:`fastplan.save_world` (the ``.npz`` layout of
   :class:`fastplan.MLPWorld`; the input and output scalings are folded into the first and
   last layers).
5. **A geometry** fitted to the inferred latents: :func:`fastplan.geometry_from_samples`
   (a GMM with as many components as the behaviour has clusters).
6. **Every registered planner** plans in that latent space, for several start / goal pairs,
   in one :func:`fastplan.plan_batch` call per planner.  The table reports the goal distance
   the *model* predicts and the one the *real* arm reaches when the planned latents are
   decoded and simulated, beside doing nothing (zero torque).

Run ``python examples/latent_arm.py`` (``--quick`` for the reduced run of the tests,
``--figure arm.png`` for a figure, ``--save DIR`` to keep the world model and latents).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

# The fits multiply 256 x 64 matrices: one BLAS thread is several times faster than a team on a
# small shared machine (set before NumPy loads; no effect when NumPy was imported first).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

# ---------------------------------------------------------------------------------------------
# 1. The real system: a two-link planar arm
# ---------------------------------------------------------------------------------------------
#: link masses 1 kg, lengths 1 m, centres of mass at mid-link, rods (I = m l^2 / 12)
_M, _L, _LC, _I = 1.0, 1.0, 0.5, 1.0 / 12.0
ARM_A = 2 * _I + _M * _LC ** 2 + _M * (_L ** 2 + _LC ** 2)   # M11 = A + 2 B cos q2
ARM_B = _M * _L * _LC                                        # M12 = C + B cos q2
ARM_C = _I + _M * _LC ** 2                                   # M22 = C
DAMPING = 0.5       # N m s / rad
DT = 0.1            # control step (s)
SUBSTEPS = 10       # RK4 steps per control step
TAU_MAX = 3.0       # N m, the decoder's torque limit


def arm_derivative(s, tau):
    """ds/dt of the arm for states ``s`` (N, 4) and torques ``tau`` (N, 2)."""
    q2, w1, w2 = s[:, 1], s[:, 2], s[:, 3]
    c2, s2 = np.cos(q2), np.sin(q2)
    m11 = ARM_A + 2 * ARM_B * c2
    m12 = ARM_C + ARM_B * c2
    r1 = tau[:, 0] + ARM_B * s2 * (2 * w1 * w2 + w2 * w2) - DAMPING * w1
    r2 = tau[:, 1] - ARM_B * s2 * w1 * w1 - DAMPING * w2
    det = m11 * ARM_C - m12 * m12
    return np.stack([w1, w2, (ARM_C * r1 - m12 * r2) / det, (m11 * r2 - m12 * r1) / det], axis=1)


def arm_step(s, tau):
    """One control step (torque held for DT, RK4): (N, 4), (N, 2) -> (N, 4)."""
    h = DT / SUBSTEPS
    for _ in range(SUBSTEPS):
        k1 = arm_derivative(s, tau)
        k2 = arm_derivative(s + 0.5 * h * k1, tau)
        k3 = arm_derivative(s + 0.5 * h * k2, tau)
        k4 = arm_derivative(s + h * k3, tau)
        s = s + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return s


def rollout(step, s0, U):
    """Trajectories (N, T+1, n) of ``step(s, u)`` from starts (N, n) under inputs (N, T, m)."""
    S = [np.asarray(s0, dtype=float)]
    for t in range(U.shape[1]):
        S.append(step(S[-1], U[:, t]))
    return np.stack(S, axis=1)


# ---------------------------------------------------------------------------------------------
# 2. Latent actions: the behaviour's clusters and the fixed decoder
# ---------------------------------------------------------------------------------------------
class LatentArm:
    """The arm driven through a latent decoder; the behaviour policy samples a mixture.

    Parameters
    ----------
    d : int
        Latent dimension.
    clusters : int
        Number of latent clusters ("skills") of the behaviour.
    cluster_std : float
        Std of each cluster (isotropic).
    seed : int
        Fixes the decoder and the cluster centres.
    """

    def __init__(self, d=3, clusters=4, cluster_std=0.15, hidden=16, seed=0):
        rs = np.random.default_rng(seed)
        self.d, self.K, self.cluster_std = d, clusters, cluster_std
        self.W1 = rs.normal(0.0, 1.5 / np.sqrt(d), (hidden, d))
        self.b1 = rs.normal(0.0, 0.3, hidden)
        self.W2 = rs.normal(0.0, 1.5 / np.sqrt(hidden), (2, hidden))
        self.b2 = rs.normal(0.0, 0.1, 2)
        # cluster centres: well separated directions of radius 1.2 that decode to distinct torques
        best = None
        for _ in range(64):
            c = rs.normal(size=(clusters, d))
            c *= 1.2 / np.linalg.norm(c, axis=1, keepdims=True)
            tau = self.decode(c)
            gap = min(np.linalg.norm(tau[i] - tau[j]) for i in range(clusters) for j in range(i))
            if best is None or gap > best[0]:
                best = (gap, c)
        self.centres = best[1]

    def decode(self, z):
        """Torques (..., 2) of latents ``z`` (..., d)."""
        h = np.tanh(z @ self.W1.T + self.b1)
        return TAU_MAX * np.tanh(h @ self.W2.T + self.b2)

    def step(self, s, z):
        """Real next states of states (N, 4) under latents (N, d)."""
        return arm_step(s, self.decode(z))

    def behaviour(self, rs, N, T, stay=0.7):
        """Latent sequences (N, T, d) of the data-collecting behaviour: a cluster is kept
        with probability ``stay`` from one step to the next, plus cluster noise."""
        k = rs.integers(0, self.K, N)
        out = np.empty((N, T, self.d))
        for t in range(T):
            switch = rs.random(N) > stay
            k = np.where(switch, rs.integers(0, self.K, N), k)
            out[:, t] = self.centres[k] + self.cluster_std * rs.normal(size=(N, self.d))
        return out

    def rollout(self, s0, Z):
        """Real trajectories (N, T+1, 4) from starts (N, 4) under latents (N, T, d)."""
        return rollout(self.step, s0, Z)

    def rollout_torques(self, s0, tau):
        """Real trajectories (N, T+1, 4) under torques (N, T, 2) (e.g. zero: doing nothing)."""
        return rollout(arm_step, s0, tau)


def random_starts(rs, N, velocity_std=0.0):
    """Starts (N, 4): angles uniform in [-1, 1] rad, velocities N(0, velocity_std^2)."""
    return np.concatenate([rs.uniform(-1.0, 1.0, (N, 2)), velocity_std * rs.normal(size=(N, 2))], axis=1)


def collect(arm, rs, episodes, T):
    """Transitions of ``episodes`` behaviour episodes of T steps: s (M, 4), z (M, d), s' (M, 4)."""
    Z = arm.behaviour(rs, episodes, T)
    S = arm.rollout(random_starts(rs, episodes, velocity_std=0.3), Z)
    return (S[:, :-1].reshape(-1, 4), Z.reshape(-1, arm.d), S[:, 1:].reshape(-1, 4))


# ---------------------------------------------------------------------------------------------
# 3-4. A small NumPy MLP fitted by Adam (the inverse-dynamics model and the world model)
# ---------------------------------------------------------------------------------------------
def mlp_forward(params, x):
    """Outputs and hidden activations of a tanh MLP with a linear last layer."""
    hs = [x]
    for l, (W, c) in enumerate(params):
        y = hs[-1] @ W.T + c
        hs.append(np.tanh(y) if l < len(params) - 1 else y)
    return hs[-1], hs


def fit_mlp(x, y, hidden=(64, 64), steps=3000, batch=256, lr=3e-3, seed=0):
    """Least-squares fit of a tanh MLP ``y ~ net(x)`` with Adam, on standardised data.

    Returns the layers ``[(W, c), ...]`` in the *original* units (the standardisations folded
    into the first and last layers), so ``mlp_forward(params, x)[0]`` predicts ``y``.
    """
    rs = np.random.default_rng(seed)
    mx, sx = x.mean(0), x.std(0) + 1e-8
    my, sy = y.mean(0), y.std(0) + 1e-8
    xs, ys = (x - mx) / sx, (y - my) / sy
    widths = [x.shape[1], *hidden, y.shape[1]]
    params = [(rs.normal(0.0, 1.0 / np.sqrt(widths[l]), (widths[l + 1], widths[l])), np.zeros(widths[l + 1]))
              for l in range(len(widths) - 1)]
    flat = [p for layer in params for p in layer]
    m1 = [np.zeros_like(p) for p in flat]
    m2 = [np.zeros_like(p) for p in flat]
    b1, b2 = 0.9, 0.999
    for it in range(1, steps + 1):
        idx = rs.integers(0, len(xs), batch)
        out, hs = mlp_forward(params, xs[idx])
        g = 2.0 * (out - ys[idx]) / out.size                 # d(mean squared error)/d(out)
        grads = []
        for l in range(len(params) - 1, -1, -1):
            W, _ = params[l]
            grads = [g.T @ hs[l], g.sum(0)] + grads
            if l:
                g = (g @ W) * (1.0 - hs[l] ** 2)             # through tanh
        step = lr * min(1.0, 2.0 * (1.0 - it / steps) + 0.05)   # linear decay over the last half
        for p, gr, a, v in zip(flat, grads, m1, m2):
            a *= b1
            a += (1 - b1) * gr
            v *= b2
            v += (1 - b2) * gr * gr
            p -= step * (a / (1 - b1 ** it)) / (np.sqrt(v / (1 - b2 ** it)) + 1e-8)
    (W0, c0), (WL, cL) = params[0], params[-1]
    params[0] = (W0 / sx, c0 - W0 @ (mx / sx))
    params[-1] = (sy[:, None] * WL, sy * cL + my)
    if len(params) == 1:                                     # one layer: both folds act on it
        params[0] = (sy[:, None] * (W0 / sx), sy * (c0 - W0 @ (mx / sx)) + my)
    return params


def fit_inverse_dynamics(s, z, s1, **kw):
    """Inverse-dynamics model ``(s, s' - s) -> z``; returns a function of (s, s')."""
    params = fit_mlp(np.concatenate([s, s1 - s], axis=1), z, **kw)
    return lambda s_, s1_: mlp_forward(params, np.concatenate([s_, s1_ - s_], axis=1))[0]


def fit_world(s, z, s1, **kw):
    """World model ``s' = s + f(s, z)`` as a :class:`fastplan.MLPWorld`."""
    import fastplan
    params = fit_mlp(np.concatenate([s, z], axis=1), s1 - s, **kw)
    return fastplan.MLPWorld(weights=tuple(W for W, _ in params), biases=tuple(c for _, c in params),
                             activations=tuple(["tanh"] * (len(params) - 1) + ["identity"]),
                             residual=True, n_action=z.shape[1])


# ---------------------------------------------------------------------------------------------
# 5-6. Start / goal pairs, planning, the real goal distance
# ---------------------------------------------------------------------------------------------
def start_goal_pairs(arm, rs, P, T):
    """P starts at rest and goals the behaviour reaches from them in T steps: (s0, goal, z)."""
    s0 = random_starts(rs, P)
    Z = arm.behaviour(rs, P, T, stay=0.9)
    return s0, arm.rollout(s0, Z)[:, -1], Z


def make_problems(world, geometry, s0, goal, T):
    """One fastplan problem per start / goal pair, in the fitted world and geometry."""
    import fastplan
    return [fastplan.Problem.from_arrays(world=world, s0=s0[p], goal=goal[p], horizon=T,
                                         geometry=geometry) for p in range(len(s0))]


def plan_all(problems, planners, seed=0, cost=None, clock=None):
    """``{planner: BatchResult}``, one :func:`fastplan.plan_batch` call per planner.

    Each planner's kernels for an MLP world are first loaded (on a cold cache: compiled) by a
    plan of one problem, timed apart on ``clock`` ("kernels"), so that the results'
    ``wall_time`` and the clock's "planning" are planning alone.
    """
    import fastplan
    clock = clock or Clock()
    seeds = [seed + p for p in range(len(problems))]
    results = {}
    for name in planners:
        fastplan.plan_batch(problems[:1], name, seeds[:1], cost=cost)
        clock.lap("kernels (load or compile)")
        results[name] = fastplan.plan_batch(problems, name, seeds, cost=cost)
        clock.lap("planning")
    return results


class Clock:
    """Wall and CPU (all threads) seconds per phase: :meth:`lap` charges the time since the
    previous lap to a phase."""

    def __init__(self):
        self.start = self.mark = (time.perf_counter(), time.process_time())
        self.wall, self.cpu = {}, {}

    def lap(self, phase):
        now = (time.perf_counter(), time.process_time())
        self.wall[phase] = self.wall.get(phase, 0.0) + now[0] - self.mark[0]
        self.cpu[phase] = self.cpu.get(phase, 0.0) + now[1] - self.mark[1]
        self.mark = now

    def totals(self):
        return self.mark[0] - self.start[0], self.mark[1] - self.start[1]

    def line(self):
        wall, cpu = self.totals()
        return ("seconds, wall (CPU): " + ", ".join(f"{k} {self.wall[k]:.1f} ({self.cpu[k]:.1f})" for k in self.wall)
                + f"; total {wall:.1f} ({cpu:.1f})")


def evaluate_plans(arm, world, geometry, s0, goal, Z):
    """Per pair, for latent plans Z (P, T, d): the goal distance the model predicts
    (``model``), the one the real arm reaches (``real``) and reaches when each latent is first
    projected onto the fitted geometry (``projected``), and the fraction of latents outside
    the geometry's 99% region (``ood``)."""
    def dist(S):
        return np.linalg.norm(S[:, -1] - goal, axis=1)
    Zp = geometry.project(Z.reshape(-1, Z.shape[2])).reshape(Z.shape)
    return dict(model=dist(rollout(world.step, s0, Z)), real=dist(arm.rollout(s0, Z)),
                projected=dist(arm.rollout(s0, Zp)), ood=np.array([geometry.ood_rate(z) for z in Z]))


# ---------------------------------------------------------------------------------------------
# The whole example
# ---------------------------------------------------------------------------------------------
def run(quick=False, seed=0, pairs=None, horizon=8, planners=None, bounds=False, save=None,
        figure=None, verbose=True):
    """Run the example; returns a dict of every number it reports (the tests read it).

    ``quick`` shrinks the data, the training and the number of pairs (a test-sized run);
    ``bounds`` limits the plans to the box the inferred latents span (``fastplan.Cost``).
    """
    import fastplan
    say = print if verbose else (lambda *a, **k: None)
    clock = Clock()
    rs = np.random.default_rng(seed)
    arm = LatentArm(seed=seed)
    T = horizon
    P = pairs or (4 if quick else 16)
    labelled, unlabelled = (1000, 4000) if quick else (2000, 16000)
    steps = 1500 if quick else 4000

    # data: a small labelled set (s, z, s') and a larger unlabelled one (s, s')
    s_l, z_l, s1_l = collect(arm, rs, labelled // 20, 20)
    s_u, z_u, s1_u = collect(arm, rs, unlabelled // 20, 20)     # z_u is hidden from the fits
    s_t, z_t, s1_t = collect(arm, rs, 100, 20)                  # held out: 2000 transitions
    clock.lap("simulate")

    # 3. inverse dynamics on the labelled set, then pseudo-labels for the unlabelled one
    idm = fit_inverse_dynamics(s_l, z_l, s1_l, hidden=(64, 64), steps=steps, seed=seed + 1)
    z_inf = idm(s_u, s1_u)
    z_t_inf = idm(s_t, s1_t)
    clock.lap("inverse dynamics")
    # the latent is not identifiable (3 latents, 2 torques): score the torque it decodes to
    tau_t = arm.decode(z_t)
    idm_torque_rmse = float(np.sqrt(np.mean((arm.decode(z_t_inf) - tau_t) ** 2)))
    idm_latent_rmse = float(np.sqrt(np.mean((z_t_inf - z_t) ** 2)))

    # 4. world model on (s, z_inferred, s')
    world = fit_world(np.concatenate([s_l, s_u]), np.concatenate([z_l, z_inf]),
                      np.concatenate([s1_l, s1_u]), hidden=(64, 64), steps=steps, seed=seed + 2)
    clock.lap("world model")
    step_scale = float(np.sqrt(np.mean((s1_t - s_t) ** 2)))
    one_step_rmse = float(np.sqrt(np.mean((world.step(s_t, z_t_inf) - s1_t) ** 2)))

    # export and load back: the planners use the loaded file
    folder = save or tempfile.mkdtemp(prefix="fastplan-arm-")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "arm_world.npz")
    fastplan.save_world(world, path)
    np.save(os.path.join(folder, "arm_latents.npy"), z_inf)
    loaded = fastplan.load_world(path)
    roundtrip = float(np.max(np.abs(loaded.step(s_t, z_t_inf) - world.step(s_t, z_t_inf))))
    world = loaded
    clock.lap("export")

    # 5. a geometry of the inferred latents
    geometry = fastplan.geometry_from_samples(z_inf, kind="gmm", k=arm.K, seed=seed)
    latent_ood = float(geometry.ood_rate(z_t_inf))     # (calibrates the 99% region once)
    clock.lap("geometry")

    say(f"arm n=4, latents d={arm.d} ({arm.K} clusters), {len(s_l)} labelled + {len(s_u)} "
        f"unlabelled transitions")
    say(f"inverse dynamics: held-out latent RMSE {idm_latent_rmse:.3f} (not identifiable), "
        f"decoded-torque RMSE {idm_torque_rmse:.3f} N m (torques within +-{TAU_MAX:g})")
    say(f"world model {world!r}: held-out one-step RMSE {one_step_rmse:.4f} "
        f"(RMS step {step_scale:.4f}); save_world / load_world max diff {roundtrip:.1e}")
    say(f"geometry: GMM k={arm.K}; held-out inferred latents OOD {latent_ood:.3f}")

    # 6. plan with every registered planner from the same start / goal pairs
    s0, goal, z_goal = start_goal_pairs(arm, rs, P, T)
    problems = make_problems(world, geometry, s0, goal, T)
    names = list(fastplan.registry.planners().names() if planners is None else planners)
    cost = None
    if bounds:      # the box the inferred latents span, per coordinate
        cost = fastplan.Cost(lower=z_inf.min(axis=0), upper=z_inf.max(axis=0))
        say(f"plans limited to the latents' box [{np.round(cost.lower, 2)}, {np.round(cost.upper, 2)}]")
    clock.lap("set-up")
    results = plan_all(problems, names, seed=seed, cost=cost, clock=clock)

    nothing = np.linalg.norm(arm.rollout_torques(s0, np.zeros((P, T, 2)))[:, -1] - goal, axis=1)
    rows = {"do nothing (zero torque)": dict(real=nothing),
            "latents that made the goal": evaluate_plans(arm, world, geometry, s0, goal, z_goal)}
    for name, res in results.items():
        rows[name] = dict(evaluate_plans(arm, world, geometry, s0, goal, res.actions),
                          kernel=np.asarray(res.goal_distance), ms=1e3 * res.wall_time)
    summary = summarise(rows, nothing)
    clock.lap("evaluation")

    say(f"\n{P} start/goal pairs, horizon {T}: goal distance ||s_T - s*|| (state units: rad, rad/s), "
        f"mean over pairs")
    for line in table(summary):
        say(line)
    say("model: the fitted world model's prediction; real: the arm under the decoded latents; "
        "projected: each latent\nprojected onto the fitted GMM first; OOD: fraction of latents "
        "outside the GMM's 99% region; plan ms: plan_batch's wall time for all pairs")
    say("\n" + clock.line())
    if figure:
        draw(arm, s0, goal, z_goal, summary, results, figure)
        say(f"figure: {figure}")
    if save is None:
        shutil.rmtree(folder, ignore_errors=True)
    return dict(summary=summary, rows=rows, nothing=nothing, one_step_rmse=one_step_rmse, step_scale=step_scale,
                idm_torque_rmse=idm_torque_rmse, idm_latent_rmse=idm_latent_rmse, roundtrip=roundtrip,
                latent_ood=latent_ood, planners=names,
                seconds=dict(wall=clock.wall, cpu=clock.cpu, total=clock.totals()))


def summarise(rows, nothing):
    """Per row: means over pairs of the model and real goal distances, the OOD rate, the
    fraction of pairs where the real arm ends nearer the goal than doing nothing, the time."""
    out = {}
    for name, r in rows.items():
        mean = lambda key: float(np.mean(r[key])) if key in r else float("nan")  # noqa: E731
        out[name] = dict(model=mean("model"), real=mean("real"), projected=mean("projected"), ood=mean("ood"),
                         beats_nothing=float(np.mean(r["real"] < nothing)) if "model" in r else float("nan"),
                         ms=float(r.get("ms", float("nan"))))
    return out


def table(summary):
    """The summary as a Markdown table (lines)."""
    def f(x, fmt):
        return "-" if not np.isfinite(x) else format(x, fmt)
    lines = ["| plan | model | real | real, projected | real < nothing | OOD | plan ms |",
             "|---|---|---|---|---|---|---|"]
    for name, r in summary.items():
        lines.append(f"| {name} | {f(r['model'], '.3f')} | {f(r['real'], '.3f')} | {f(r['projected'], '.3f')} | "
                     f"{f(r['beats_nothing'], '.0%')} | {f(r['ood'], '.2f')} | {f(r['ms'], '.0f')} |")
    return lines


def draw(arm, s0, goal, z_goal, summary, results, path):
    """A figure file: (left) model vs real goal distance per plan; (right) the real arm's
    end-effector paths for pair 0 under each planner's decoded plan and the goal's own latents."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def tip(S):
        q1, q2 = S[..., 0], S[..., 1]
        return np.cos(q1) + np.cos(q1 + q2), np.sin(q1) + np.sin(q1 + q2)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    names = [n for n in summary if np.isfinite(summary[n]["model"])]
    x = np.arange(len(names))
    ax0.bar(x - 0.2, [summary[n]["model"] for n in names], 0.4, label="model predicts")
    ax0.bar(x + 0.2, [summary[n]["real"] for n in names], 0.4, label="real arm reaches")
    ax0.axhline(summary["do nothing (zero torque)"]["real"], color="k", ls="--", lw=1, label="do nothing")
    ax0.set_xticks(x, [n.replace("latents that made the goal", "goal's latents") for n in names],
                   rotation=30, ha="right")
    ax0.set_ylabel("goal distance ||s_T - s*|| (mean over pairs)")
    ax0.legend(fontsize=8)
    ax1.plot(*tip(arm.rollout(s0[:1], z_goal[:1])[0]), "k--", lw=1, label="goal's latents")
    for name, res in results.items():
        ax1.plot(*tip(arm.rollout(s0[:1], res.actions[:1])[0]), "-o", ms=2, label=name)
    ax1.plot(*tip(s0[0]), "ks", label="start")
    ax1.plot(*tip(goal[0]), "k*", ms=12, label="goal (position)")
    ax1.set_aspect("equal", adjustable="datalim")
    ax1.set_title("end effector of the real arm, pair 0")
    ax1.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced run (the tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pairs", type=int, default=None, help="start/goal pairs (default 16, quick 4)")
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--planners", default=None, help="comma-separated (default: every registered one)")
    ap.add_argument("--bounds", action="store_true",
                    help="limit plans to the box the inferred latents span (fastplan.Cost)")
    ap.add_argument("--save", default=None, help="folder for arm_world.npz and arm_latents.npy")
    ap.add_argument("--figure", default=None, help="save a figure (e.g. arm.png)")
    ap.add_argument("--json", default=None, help="write every reported number to this file")
    a = ap.parse_args(argv)
    out = run(quick=a.quick, seed=a.seed, pairs=a.pairs, horizon=a.horizon,
              planners=a.planners.split(",") if a.planners else None, bounds=a.bounds, save=a.save,
              figure=a.figure)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(jsonable(out), f, indent=1)
    return 0


def jsonable(x):
    """Arrays to lists, NaN to None (strict JSON)."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in np.asarray(x, dtype=object).tolist()] if isinstance(x, np.ndarray) \
            else [jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


if __name__ == "__main__":
    sys.exit(main())
