"""The plain NumPy reference of bench/ (the baseline of every speed ratio) is correct.

* Its Eq. 5 cost equals fastplan.rollout's for the same actions (rtol 1e-12).
* Its finite-difference gradient is the forward difference of its own cost.
* Each NumPy planner lowers the cost well below that of its starting point, with the
  documented number of rollouts, and is reproducible for a seed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make `bench` importable

import fastplan  # noqa: E402
from fastplan.engine.cost import rollout as fp_rollout  # noqa: E402
from bench import numpy_planners as npp  # noqa: E402


def _args(problem):
    W = problem.world
    return W.A, W.B, W.b, problem.s0, problem.goal


@pytest.mark.parametrize("geometry,d,T,seed", [("vae", 4, 3, 0), ("ebm", 8, 8, 1), ("vqvae", 5, 16, 2)])
def test_cost_matches_fastplan_rollout(geometry, d, T, seed):
    prob = fastplan.make_problem(geometry, d, T, seed)
    actions = np.random.default_rng(seed).normal(0.0, 1.5, (37, T, d))
    ref_cost, ref_gd, ref_sm, ref_sT = npp.rollout(*_args(prob), actions)
    out = fp_rollout(*_args(prob), actions, lam=0.1, return_states=True)
    np.testing.assert_allclose(out["cost"], ref_cost, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["goal_distance"], ref_gd, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["smoothness"], ref_sm, rtol=1e-12, atol=0)
    np.testing.assert_allclose(out["states"][:, -1], ref_sT, rtol=1e-12, atol=1e-15)
    # the cost is not trivially constant: actions matter
    assert np.ptp(ref_cost) > 0.1


def test_cost_lambda_weights_smoothness():
    prob = fastplan.make_problem("vae", 4, 4, 0)
    actions = np.random.default_rng(1).standard_normal((5, 4, 4))
    c0, gd, sm, _ = npp.rollout(*_args(prob), actions, lam=0.0)
    c1 = npp.cost(*_args(prob), actions, lam=0.7)
    np.testing.assert_allclose(c0, gd, rtol=1e-15)
    np.testing.assert_allclose(c1, gd + 0.7 * sm, rtol=1e-14)
    np.testing.assert_allclose(fp_rollout(*_args(prob), actions, lam=0.7)["cost"], c1, rtol=1e-12)


def test_fd_gradient_is_forward_difference():
    prob = fastplan.make_problem("ebm", 3, 4, 5)
    a = np.random.default_rng(0).standard_normal((4, 3))
    L, g, n = npp.fd_gradient(*_args(prob), a, fd_eps=1e-3)
    assert n == 4 * 3 + 1 and g.shape == (4, 3)
    assert L == pytest.approx(npp.cost(*_args(prob), a[None])[0], rel=1e-15)
    for t in range(4):
        for j in range(3):
            e = np.zeros((4, 3))
            e[t, j] = 1e-3
            expected = (npp.cost(*_args(prob), (a + e)[None])[0] - L) / 1e-3
            assert g[t, j] == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # and it is a good gradient: a small step along -g lowers the cost
    assert npp.cost(*_args(prob), (a - 1e-2 * g)[None])[0] < L


def _start_cost(prob, planner, inputs):
    a = inputs.get("mu0", inputs.get("a0", inputs.get("a_init")))
    a = a[None] if a.ndim == 2 else a
    L = npp.cost(*_args(prob), a)
    return float(L.min()), float(L.mean())


# (planner, overrides, expected rollouts at T=4, d=4) -- reduced iterations for the slow ones
CASES = [
    ("cem", {}, 200 * 10),
    ("mppi", {}, 200 * 10),
    ("gradient", {"iterations": 60}, 60 * (16 + 1)),
    ("sgld", {"iterations": 80}, 80 * (16 + 1) + 1),
    ("diffusion", {}, 50 * 21),
]


@pytest.mark.parametrize("planner,overrides,expected_samples", CASES)
def test_numpy_planner_lowers_cost(planner, overrides, expected_samples):
    prob = fastplan.make_problem("ebm", 4, 4, 0)
    inputs = npp.initial_inputs(prob, planner, seed=0)
    start_min, start_mean = _start_cost(prob, planner, inputs)
    res = npp.plan(prob, planner, seed=0, **overrides)
    assert res.actions.shape == (4, 4)
    assert res.samples == expected_samples
    # the reported cost is the cost of the returned actions
    assert res.cost == pytest.approx(npp.cost(*_args(prob), res.actions[None])[0], rel=1e-12)
    # well below the starting point (diffusion: its best initial sample and 0.8 x their mean)
    assert res.cost < start_min and res.cost < 0.8 * start_mean, (planner, start_min, start_mean, res.cost)
    # reproducible for a seed
    again = npp.plan(prob, planner, seed=0, **overrides)
    np.testing.assert_array_equal(again.actions, res.actions)


def test_cem_reaches_reachable_goal():
    """Goal produced by rolling out a known action sequence: CEM gets close (d=4, T=4)."""
    prob = fastplan.make_problem("vae", 4, 4, 7)
    A, B, b, s0, _ = _args(prob)
    a_true = np.random.default_rng(3).normal(0, 0.5, (4, 4))
    goal = npp.rollout(A, B, b, s0, np.zeros(4), a_true[None])[3][0]
    res = npp.cem(A, B, b, s0, goal, np.zeros((4, 4)), np.ones((4, 4)), seed=0)
    gd = npp.rollout(A, B, b, s0, goal, res.actions[None])[1][0]
    assert gd < 0.1


@pytest.fixture(scope="module")
def small_batch():
    return [fastplan.make_problem(g, 4, 4, s) for g in ("vae", "ebm", "vqvae") for s in range(4)]


@pytest.mark.parametrize("planner", list(npp.PLANNERS))
def test_numpy_and_fastplan_planners_agree(small_batch, planner):
    """Same algorithm, different random numbers: equal rollout counts, mean costs within 25 %."""
    fp = fastplan.plan_batch(small_batch, planner)
    ref = npp.plan_many(small_batch, planner)
    assert [r.samples for r in ref] == fp.samples.tolist()
    ref_cost = np.mean([r.cost for r in ref])
    assert abs(fp.cost.mean() - ref_cost) < 0.25 * ref_cost, (planner, fp.cost.mean(), ref_cost)


def test_gradient_planner_matches_fastplan(small_batch):
    """Gradient descent has no noise and the same start (a geometry draw): same plan."""
    fp = fastplan.plan_batch(small_batch, "gradient")
    ref = npp.plan_many(small_batch, "gradient")
    np.testing.assert_allclose(np.stack([r.actions for r in ref]), fp.actions, rtol=0, atol=1e-4)
    np.testing.assert_allclose([r.cost for r in ref], fp.cost, rtol=1e-5, atol=1e-5)
