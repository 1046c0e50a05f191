"""World models own their dynamics (issue 11.3) and learned MLPs plan (issue 12.1).

The MLP family's kernels against a NumPy reference (the model's own ``step``); its
finite-difference and adjoint gradients agree; the cost family's gradients (running cost,
action penalty) through both estimators; every planner lowers the cost on an MLP world and
is bit-identical across thread counts; file round trips and one-line errors.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest

import fastplan
from fastplan.engine.cost import Cost, evaluate
from fastplan.engine.errors import FastplanError
from fastplan.engine.planners._common import sequence_cost
from fastplan.engine.planners._descent import adjoint_grad, fd_row
from fastplan.engine.worlds import load_world, ops, save_world
from fastplan.engine.worlds.mlp import MLPWorld, random_mlp
from fastplan.engine.worlds.tanh import make_world, start_and_goal

PLANNERS = ("cem", "mppi", "gradient", "sgld", "diffusion")


def mlp_cases():
    return [random_mlp(5, 3, (16,), "tanh", residual=True, seed=0),
            random_mlp(4, 6, (12, 8), "elu", residual=False, seed=1),
            random_mlp(6, 2, (10,), "relu", residual=True, seed=2, scale=0.8)]


def numpy_cost(world, s0, goal, a, lam, cost=Cost()):
    """Plain NumPy rollout of one sequence a (T, d) and its cost (Eq. 5 + extensions)."""
    lo, hi = cost.box(a.shape[1])
    if lo.size:
        a = np.clip(a, lo, hi)
    s = [np.asarray(s0, float)]
    for t in range(a.shape[0]):
        s.append(world.step(s[-1], a[t]))
    s = np.array(s)
    T = a.shape[0]
    L = np.linalg.norm(s[-1] - goal) + lam * np.sum(np.linalg.norm(np.diff(s, axis=0), axis=1)) / T
    L += cost.running * np.sum(np.linalg.norm(s[1:] - goal, axis=1))
    L += cost.effort * np.sum(a ** 2)
    return L, s


@pytest.mark.parametrize("k", range(3))
def test_mlp_rollout_matches_numpy(k):
    w = mlp_cases()[k]
    rs = np.random.default_rng(k)
    s0, goal = rs.normal(0, 0.5, w.n), rs.normal(0, 0.5, w.n)
    acts = rs.normal(size=(37, 5, w.d))
    out = fastplan.rollout(w, s0, goal, acts, return_states=True)
    for i in range(acts.shape[0]):
        L, s = numpy_cost(w, s0, goal, acts[i], 0.1)
        np.testing.assert_allclose(out["states"][i], s, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out["cost"][i], L, rtol=1e-12)


def _grads(world, s0, goal, a, cost_obj, eps):
    T, d = a.shape
    bundle = ops.kernel_arrays(world)
    K = ops.tape_width(world)
    cost = cost_obj.bundle(0.1, d)
    states, tape = np.empty((T + 1, world.n)), np.empty((T, K))
    base = sequence_cost(bundle, s0, goal, a, cost, states, tape)
    g_fd = np.empty((T, d))
    for tt in range(T):
        fd_row(bundle, goal, a, states, tape, base, tt, cost, eps, np.empty((world.n, d)),
               np.empty((world.n, d)), np.empty(d), np.empty(ops.shared_width(world)), g_fd[tt])
    g_adj = np.empty((T, d))
    adjoint_grad(bundle, a, goal, states, tape, cost, g_adj, np.empty(world.n), np.empty(world.n))
    return base, g_fd, g_adj


@pytest.mark.parametrize("k", range(3))
@pytest.mark.parametrize("cost", [Cost(), Cost(running=0.3, effort=0.05)], ids=["eq5", "running+effort"])
def test_mlp_fd_and_adjoint_agree(k, cost):
    w = mlp_cases()[k]
    rs = np.random.default_rng(10 + k)
    s0, goal = rs.normal(0, 0.5, w.n), rs.normal(0, 0.5, w.n)
    a = rs.normal(0, 0.7, (6, w.d))
    base, g_fd, g_adj = _grads(w, s0, goal, a, cost, 1e-7)
    assert base == pytest.approx(numpy_cost(w, s0, goal, a, 0.1, cost)[0], rel=1e-12)
    rel = np.linalg.norm(g_fd - g_adj) / np.linalg.norm(g_adj)
    tol = 1e-4 if w.activations[0] == "relu" else 1e-5     # relu: kinks within eps are possible
    assert rel < tol, rel


def test_tanh_cost_terms_fd_and_adjoint_agree():
    w = make_world(6, 3)
    s0, goal = start_and_goal(6, 3)
    a = np.random.default_rng(3).normal(0, 0.7, (5, 6))
    base, g_fd, g_adj = _grads(w, s0, goal, a, Cost(running=0.5, effort=0.1), 1e-7)
    assert base == pytest.approx(numpy_cost(w, s0, goal, a, 0.1, Cost(running=0.5, effort=0.1))[0],
                                 rel=1e-12)
    assert np.linalg.norm(g_fd - g_adj) / np.linalg.norm(g_adj) < 1e-5


def _mlp_problems(P=4, T=6, seed=0):
    w = random_mlp(5, 3, (16,), "tanh", residual=True, seed=seed)
    rs = np.random.default_rng(seed)
    return [fastplan.Problem.from_arrays(w, rs.normal(0, 0.3, 5), rs.normal(0, 0.3, 5), T, seed=i)
            for i in range(P)]


@pytest.mark.parametrize("planner", PLANNERS)
def test_every_planner_lowers_the_cost_on_an_mlp_world(planner):
    probs = _mlp_problems()
    res = fastplan.plan_batch(probs, planner)
    zero = np.array([numpy_cost(p.world, p.s0, p.goal, np.zeros((p.T, p.d)), 0.1)[0] for p in probs])
    assert res.actions.shape == (4, 6, 3) and res.states.shape == (4, 7, 5)
    assert np.all(np.isfinite(res.cost))
    assert np.mean(res.cost) < np.mean(zero)
    for p, prob in enumerate(probs):       # the reported cost is the NumPy cost of the plan
        assert res.cost[p] == pytest.approx(numpy_cost(prob.world, prob.s0, prob.goal,
                                                       res.actions[p], 0.1)[0], rel=1e-10)


@pytest.mark.parametrize("planner,over", [("cem", {}), ("mppi", {}), ("gradient", {}),
                                          ("gradient", {"gradient": "adjoint"}), ("sgld", {}),
                                          ("diffusion", {})])
def test_mlp_plans_are_bit_identical_across_thread_counts(planner, over):
    probs = _mlp_problems(P=3, T=4, seed=1)
    out = []
    for n in (1, 2):
        with fastplan.engine.threads.limited(n):
            out.append(fastplan.plan_batch(probs, planner, **over).actions)
        single = fastplan.plan(probs[0], planner, **over).actions      # a batch of one as well
        out.append(single)
    assert np.array_equal(out[0], out[2])
    assert np.array_equal(out[1], out[3])


def test_diffusion_guidance_is_eq10_for_the_paper_and_the_action_jacobian_for_an_mlp():
    rs = np.random.default_rng(4)
    w = random_mlp(4, 3, (8,), "tanh", residual=False, seed=4)
    bundle = ops.kernel_arrays(w)
    T, N = 3, 5
    X = np.ascontiguousarray(rs.normal(size=(T, 3, N)))
    s0, goal = rs.normal(0, .5, 4), rs.normal(0, .5, 4)
    S = np.empty((4, N))
    for i in range(N):
        S[:, i] = numpy_cost(w, s0, goal, X[:, :, i], 0.1)[1][-1]
    v = np.empty((3, N))
    ops_guidance(bundle, s0, goal, X, S, v)
    for i in range(N):                      # J_a^T (s_T - s*) by central differences
        s_prev = numpy_cost(w, s0, goal, X[:T - 1, :, i], 0.1)[1][-1]
        r = w.step(s_prev, X[T - 1, :, i]) - goal
        J = np.empty((4, 3))
        for j in range(3):
            e = np.zeros(3)
            e[j] = 1e-6
            J[:, j] = (w.step(s_prev, X[T - 1, :, i] + e) - w.step(s_prev, X[T - 1, :, i] - e)) / 2e-6
        np.testing.assert_allclose(v[:, i], J.T @ r, rtol=1e-6, atol=1e-9)
    tw = make_world(3, 0)                   # the paper's world: exactly B^T (s_T - s*)
    S = rs.normal(size=(3, N))
    want = tw.B.T @ (S - tw.b[:, None] * 0 - np.zeros(3)[:, None])
    v = np.empty((3, N))
    ops_guidance((tw.A, tw.B, tw.b), np.zeros(3), np.zeros(3), X, S.copy(), v)
    np.testing.assert_allclose(v, want, rtol=1e-13, atol=1e-15)


@numba.njit
def ops_guidance(w, s0, goal, X, S, v):
    ops.guidance_cols(w, s0, goal, X, 0, S.shape[1], S, v)


def test_bounds_are_respected_and_recorded():
    prob = fastplan.make_problem("vae", 4, 5, 0)
    for planner in PLANNERS:
        res = fastplan.plan(prob, planner, cost=Cost(lower=-0.5, upper=0.5))
        assert np.all(np.abs(res.actions) <= 0.5), planner
    assert Cost(lower=-1, upper=[1, 2]).record() == {"running": 0.0, "effort": 0.0,
                                                     "lower": -1.0, "upper": [1.0, 2.0]}


def test_the_papers_cost_leaves_plans_bit_identical():
    prob = fastplan.make_problem("ebm", 5, 4, 1)
    for planner in PLANNERS:
        a = fastplan.plan(prob, planner).actions
        b = fastplan.plan(prob, planner, cost=Cost()).actions
        c = fastplan.plan(prob, planner, cost={"running": 0.0, "effort": 0.0}).actions
        assert np.array_equal(a, b) and np.array_equal(a, c), planner


def test_world_files_round_trip_and_bad_files_give_one_line_errors(tmp_path):
    w = mlp_cases()[1]
    save_world(w, tmp_path / "m.npz")
    back = load_world(tmp_path / "m.npz")
    assert isinstance(back, MLPWorld) and back.content_hash() == w.content_hash()
    x = np.random.default_rng(0).normal(size=(7, w.n)), np.random.default_rng(1).normal(size=(7, w.d))
    assert np.array_equal(back.step(*x), w.step(*x))
    bad = dict(w.arrays())
    bad["W0"] = bad["W0"][:, :-1]
    np.savez(tmp_path / "bad.npz", family="mlp", **bad)
    for path in (tmp_path / "bad.npz", tmp_path / "missing.npz"):
        with pytest.raises(FastplanError) as err:
            load_world(path)
        assert "\n" not in str(err.value)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FastplanError):
        load_world(tmp_path / "junk.npz")
    np.savez(tmp_path / "odd.npz", family="rnn", W0=np.ones(2))
    with pytest.raises(FastplanError, match="unknown world model"):
        load_world(tmp_path / "odd.npz")


def test_a_batch_refuses_mixed_architectures_and_wrong_shapes():
    a, b = _mlp_problems(P=1)[0], fastplan.Problem.from_arrays(
        random_mlp(5, 3, (8,), seed=3), np.zeros(5), np.ones(5) * 0.1, 6)
    with pytest.raises(FastplanError, match="architecture"):
        fastplan.plan_batch([a, b], "cem")
    with pytest.raises(FastplanError):
        fastplan.Problem.from_arrays(a.world, np.zeros(4), np.zeros(5), 6)
    with pytest.raises(FastplanError):
        fastplan.Problem.from_arrays(a.world, np.zeros(5), np.full(5, np.nan), 6)
    with pytest.raises(FastplanError):
        fastplan.Problem.from_arrays("nope.npz", np.zeros(5), np.zeros(5), 6)


class _Tensor:
    def __init__(self, x):
        self.x = np.asarray(x, dtype=np.float32)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.x


class Linear:            # the attributes of torch.nn.Linear that from_torch reads
    def __init__(self, W, c):
        self.weight, self.bias = _Tensor(W), _Tensor(c)


class Tanh:
    pass


class ReLU:
    pass


def test_from_torch_reads_a_sequential_of_linear_and_activation_modules():
    rs = np.random.default_rng(0)
    W0, c0, W1, c1 = rs.normal(size=(8, 7)), rs.normal(size=8), rs.normal(size=(4, 8)), rs.normal(size=4)
    w = MLPWorld.from_torch([Linear(W0, c0), Tanh(), Linear(W1, c1)], n_action=3, residual=True)
    assert w.activations == ("tanh", "identity") and (w.n, w.d) == (4, 3)
    s, a = rs.normal(size=4), rs.normal(size=3)
    f32 = lambda x: x.astype(np.float32).astype(np.float64)  # noqa: E731
    want = s + f32(W1) @ np.tanh(f32(W0) @ np.concatenate([s, a]) + f32(c0)) + f32(c1)
    np.testing.assert_allclose(w.step(s, a), want, rtol=1e-12)
    with pytest.raises(FastplanError, match="must follow"):
        MLPWorld.from_torch([Tanh(), Linear(W0, c0)], n_action=3)
    with pytest.raises(FastplanError, match="unsupported"):
        MLPWorld.from_torch([Linear(W0, c0), object()], n_action=3)


def test_compilation_for_an_mlp_world_is_counted_apart_from_planning():
    from fastplan.engine.api import warm
    warm("mppi", family="mlp")                  # compiles (or loads) the MLP kernels of MPPI
    res = fastplan.plan_batch(_mlp_problems(P=2, T=3), "mppi")
    assert res.compile_time == 0.0              # nothing left to compile inside the timed call
