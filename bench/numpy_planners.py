"""A plain NumPy reference implementation of the rollout, the cost and the five planners.

This is the code a researcher would write with NumPy alone: every planner is vectorised
over its samples (one ``(N, T, d)`` array per batch of action sequences, no Python loop
over samples), loops run over iterations and time steps only, and noise comes from
``np.random.default_rng(seed)``.  It is the baseline of every speed ratio in ``bench/``
and an independent check of fastplan's cost (``tests/test_numpy_reference.py``).

Equations (Sec. 2 of the paper):

* Eq. 4, dynamics: ``s_{t+1} = tanh(A s_t + B a_t + b)``.
* Eq. 5, cost: ``L(a_1..a_T) = ||s_T - s*|| + lam * (1/T) * sum_{t=1..T} ||s_t - s_{t-1}||``.
* Eq. 11, smoothness: ``(1/T) * sum_t ||s_t - s_{t-1}||``.

The planners follow fastplan's algorithms step by step (same hyperparameters, same
number of world-model rollouts); only the random numbers differ, so individual plans
differ while their statistics agree.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

LAM = 0.1  # the lambda of Eq. 5


class NumpyResult(NamedTuple):
    """Result of one NumPy plan.

    actions : (T, d) planned action sequence
    cost : float, Eq. 5 of ``actions``
    samples : int, world-model rollouts performed (one rollout = one full sequence)
    """

    actions: np.ndarray
    cost: float
    samples: int


# ---------------------------------------------------------------------------- rollout

def rollout(A, B, b, s0, goal, actions, lam=LAM):
    """Roll out N action sequences (Eq. 4) and evaluate Eq. 5 and Eq. 11.

    Parameters
    ----------
    A, B : (d, d) world-model matrices; or A a world model object (an MLP world: its NumPy
        ``step(s, a)`` on the batch) and B = b = None.
    b, s0, goal : (d,) bias, initial state, goal state s*.
    actions : (N, T, d) action sequences a_1..a_T.
    lam : float, smoothness weight of Eq. 5.

    Returns
    -------
    cost, goal_distance, smoothness : (N,) each
    s_T : (N, d) final states
    """
    N, T, d = actions.shape
    if B is None:                              # A is a world model: its NumPy step(s, a) on the batch
        step = lambda s, t: A.step(s, actions[:, t])  # noqa: E731
    else:
        Ba = actions @ B.T + b                 # (N, T, d): B a_t + b for every step
        step = lambda s, t: np.tanh(s @ A.T + Ba[:, t])  # noqa: E731
    s = np.broadcast_to(s0, (N, len(s0)))
    path = np.zeros(N)
    for t in range(T):
        s_next = step(s, t)
        path += np.linalg.norm(s_next - s, axis=1)
        s = s_next
    goal_distance = np.linalg.norm(s - goal, axis=1)
    smoothness = path / T
    return goal_distance + lam * smoothness, goal_distance, smoothness, s


def cost(A, B, b, s0, goal, actions, lam=LAM):
    """Eq. 5 for N action sequences (N, T, d) -> (N,)."""
    return rollout(A, B, b, s0, goal, actions, lam)[0]


def fd_gradient(A, B, b, s0, goal, a, fd_eps=1e-3, lam=LAM):
    """Forward finite-difference gradient of Eq. 5 at one sequence a (T, d).

    ``g[t, j] = (L(a + eps e_tj) - L(a)) / eps``, evaluated as one batch of T*d + 1
    sequences (the unperturbed one first).

    Returns
    -------
    L : float, cost of ``a``; g : (T, d); rollouts : int (T*d + 1)
    """
    T, d = a.shape
    batch = np.broadcast_to(a, (T * d + 1, T, d)).copy()
    batch[1:].reshape(T * d, T * d)[np.diag_indices(T * d)] += fd_eps
    L = cost(A, B, b, s0, goal, batch, lam)
    g = ((L[1:] - L[0]) / fd_eps).reshape(T, d)
    return L[0], g, T * d + 1


# --------------------------------------------------------------------------- planners

def cem(A, B, b, s0, goal, mu0, sig0, seed=0, population=200, iterations=10,
        elite_fraction=0.1, lam=LAM):
    """Cross-entropy method over the flattened (T, d) sequence (Sec. 2.3).

    Each iteration samples ``population`` sequences ``mu + sig * N(0, 1)``, keeps the
    ``round(elite_fraction * population)`` lowest-cost ones and refits ``mu`` and ``sig``
    (elite mean and std, ddof=0).  Returns the best sequence ever evaluated.

    mu0, sig0 : (T, d) initial mean and per-coordinate std.
    """
    rng = np.random.default_rng(seed)
    mu, sig = np.array(mu0, dtype=float), np.array(sig0, dtype=float)
    n_elite = max(1, int(round(elite_fraction * population)))
    best_a, best_L = None, np.inf
    for _ in range(iterations):
        X = mu + sig * rng.standard_normal((population,) + mu.shape)
        L = cost(A, B, b, s0, goal, X, lam)
        elite = X[np.argsort(L, kind="stable")[:n_elite]]
        i = int(np.argmin(L))
        if L[i] < best_L:
            best_a, best_L = X[i].copy(), float(L[i])
        mu, sig = elite.mean(axis=0), elite.std(axis=0)
    return NumpyResult(best_a, best_L, population * iterations)


def mppi(A, B, b, s0, goal, mu0, seed=0, samples=200, iterations=10, noise_std=0.8,
         temperature=1.0, lam=LAM):
    """MPPI, Eq. 6: ``mu += sum_i w_i eps_i``, ``w = softmax(-(L - min L) / tau)``.

    eps_i ~ N(0, noise_std^2 I) (paper: 0.64 I).  Returns the final mean, whose cost is
    evaluated once more for the result (not counted: it is the caller's evaluation).

    mu0 : (T, d) initial mean.
    """
    rng = np.random.default_rng(seed)
    mu = np.array(mu0, dtype=float)
    for _ in range(iterations):
        eps = noise_std * rng.standard_normal((samples,) + mu.shape)
        L = cost(A, B, b, s0, goal, mu + eps, lam)
        w = np.exp(-(L - L.min()) / temperature)
        w /= w.sum()
        mu = mu + np.tensordot(w, eps, axes=1)
    final = float(cost(A, B, b, s0, goal, mu[None], lam)[0])
    return NumpyResult(mu, final, samples * iterations)


def gradient(A, B, b, s0, goal, a0, iterations=100, lr=0.05, fd_eps=1e-3, lam=LAM):
    """Gradient descent, Eq. 7, with forward finite differences (T*d + 1 rollouts/iter).

    a0 : (T, d) initial sequence.  Returns the final iterate (its cost evaluated once
    more for the result, not counted).
    """
    a = np.array(a0, dtype=float)
    n = 0
    for _ in range(iterations):
        _, g, k = fd_gradient(A, B, b, s0, goal, a, fd_eps, lam)
        a = a - lr * g
        n += k
    final = float(cost(A, B, b, s0, goal, a[None], lam)[0])
    return NumpyResult(a, final, n)


def sgld(A, B, b, s0, goal, a0, seed=0, iterations=200, step=0.01, noise=0.005,
         fd_eps=1e-3, lam=LAM):
    """SGLD, Eq. 8: ``a = a - step * g + noise * N(0, I)``, best iterate kept.

    a0 : (T, d) initial sequence.  Rollouts: iterations * (T*d + 1) + 1 (the final
    iterate is evaluated as a candidate for the best).
    """
    rng = np.random.default_rng(seed)
    a = np.array(a0, dtype=float)
    best_a, best_L = a.copy(), np.inf
    n = 0
    for _ in range(iterations):
        L, g, k = fd_gradient(A, B, b, s0, goal, a, fd_eps, lam)
        n += k
        if L < best_L:
            best_a, best_L = a.copy(), float(L)
        a = a - step * g + noise * rng.standard_normal(a.shape)
    L = float(cost(A, B, b, s0, goal, a[None], lam)[0])
    n += 1
    if L < best_L:
        best_a, best_L = a, L
    return NumpyResult(best_a, best_L, n)


def diffusion(A, B, b, s0, goal, a_init, seed=0, steps=20, noise_scale=0.3, guidance=2.0,
              lam=LAM):
    """Guided denoising, Eq. 9-10, over N parallel samples; best final sample by Eq. 5.

    For k = 0..steps-1: ``alpha = (k+1)/steps``, ``sigma = noise_scale (1 - alpha)``,
    ``g_t = -guidance (t/T) B^T (s_T - s*) / T`` (t = 1..T), and
    ``a = alpha a + (1 - alpha) g + sigma xi``.  Rollouts: N * (steps + 1).

    a_init : (N, T, d) initial samples a^(0).
    """
    rng = np.random.default_rng(seed)
    a = np.array(a_init, dtype=float)
    N, T, d = a.shape
    weight = np.arange(1, T + 1) / T                      # t / T, t = 1..T
    for k in range(steps):
        alpha = (k + 1) / steps
        sigma = noise_scale * (1 - alpha)
        s_T = rollout(A, B, b, s0, goal, a, lam)[3]           # (N, d)
        direction = (s_T - goal) @ B                          # B^T (s_T - s*), (N, d)
        g = -guidance * weight[None, :, None] * direction[:, None, :] / T
        a = alpha * a + (1 - alpha) * g + sigma * rng.standard_normal(a.shape)
    L = cost(A, B, b, s0, goal, a, lam)
    i = int(np.argmin(L))
    return NumpyResult(a[i].copy(), float(L[i]), N * (steps + 1))


PLANNERS = {"cem": cem, "mppi": mppi, "gradient": gradient, "sgld": sgld, "diffusion": diffusion}


def _beyond():
    """The planners beyond the paper (:mod:`bench.numpy_beyond`), returning plain results."""
    from bench import numpy_beyond

    def plain(fn):
        @functools.wraps(fn)                    # keeps fn's signature (fastplan_defaults reads it)
        def result(*args, **kwargs):
            return fn(*args, **kwargs).result
        return result
    return {name: plain(fn) for name, fn in numpy_beyond.PLANNERS.items()}


# ------------------------------------------------------------------ fastplan problems

def initial_inputs(problem, planner, seed=0, geometry_usage="prior", n_diffusion=50):
    """Starting points for ``planner`` from a :class:`fastplan.Problem`, as fastplan uses them.

    ``"prior"``: CEM/MPPI (and iCEM, adaptive MPPI, MBD) start from the geometry's mean (and
    CEM, iCEM, MBD from its per-coordinate std) tiled over the horizon; gradient/SGLD/Adam start
    from one draw of the geometry;
    diffusion from ``n_diffusion`` draws.  ``"none"``: zero mean, unit std, standard
    normal draws.  Draws use ``np.random.default_rng(seed)`` in the "none" case and
    the geometry's own sampler otherwise.
    """
    T, d, geom = problem.T, problem.d, problem.geometry
    prior = geometry_usage == "prior"
    if planner in ("cem", "mppi", "icem", "amppi", "mbd"):
        mu0 = np.tile(geom.mean(), (T, 1)) if prior else np.zeros((T, d))
        if planner in ("mppi", "amppi"):
            return {"mu0": mu0}
        sig0 = np.tile(geom.std(), (T, 1)) if prior else np.ones((T, d))
        return {"mean0": mu0, "std0": sig0} if planner == "mbd" else {"mu0": mu0, "sig0": sig0}
    n = n_diffusion if planner == "diffusion" else 1
    if prior:
        draws = geom.sample(n * T, seed=seed, stream=2).reshape(n, T, d)
    else:
        draws = np.random.default_rng(seed).standard_normal((n, T, d))
    return {"a_init": draws} if planner == "diffusion" else {"a0": draws[0]}


def fastplan_defaults(planner, fn) -> dict:
    """fastplan's default hyperparameters of ``planner`` that the NumPy function ``fn`` takes
    (the twins' own keyword defaults are not always fastplan's: iCEM, Adam, MBD, adaptive MPPI)."""
    import inspect

    from fastplan.engine import registry
    params = inspect.signature(fn).parameters
    return {k: v for k, v in registry.planner(planner).resolve({}).items() if k in params}


def plan(problem, planner, seed=0, geometry_usage="prior", **overrides):
    """Plan one :class:`fastplan.Problem` with the NumPy planner ``planner`` at fastplan's
    default hyperparameters.

    ``overrides`` are passed to the planner (e.g. ``iterations=5``).
    """
    from bench import numpy_geoplan
    from fastplan.engine import registry

    W = problem.world
    overrides = dict(overrides)
    n = int(overrides.get("samples", registry.planner(planner).resolve({}).get("samples", 50)))
    if planner in numpy_geoplan.PLANNERS:
        kwargs = numpy_geoplan.initial_inputs(problem, planner, seed, geometry_usage, n)
        fn = numpy_geoplan.PLANNERS[planner]
    else:
        kwargs = initial_inputs(problem, planner, seed, geometry_usage, n)
        fn = PLANNERS[planner] if planner in PLANNERS else _beyond()[planner]
    kwargs.update(fastplan_defaults(planner, fn))
    if planner not in ("gradient", "adam"):
        kwargs["seed"] = seed
    if "samples" not in kwargs:                # diffusion: the number of initial draws above
        overrides.pop("samples", None)
    kwargs.update(overrides)
    world = (W.A, W.B, W.b) if hasattr(W, "A") else (W, None, None)    # an MLP world: its step
    return fn(*world, problem.s0, problem.goal, **kwargs)


def plan_many(problems, planner, seeds=None, **overrides):
    """Plan a list of problems one after the other (the NumPy baseline of ``plan_batch``)."""
    seeds = [p.seed for p in problems] if seeds is None else seeds
    return [plan(p, planner, s, **overrides) for p, s in zip(problems, seeds)]
