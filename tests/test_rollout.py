"""The batched rollout kernel (Eq. 4, 5, 11) against the plain-NumPy reference."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import run_with_threads
from reference import ref_rollout

from fastplan.engine.cost import LAMBDA, rollout
from fastplan.engine.world import make_world, start_and_goal

RTOL, ATOL = 1e-12, 1e-14   # kernel vs reference: only rounding (FMA contraction) may differ


def problems(P, d, seed=0):
    """Stacked world models and start/goal of P problems: A, B (P, d, d); b, s0, goal (P, d)."""
    worlds = [make_world(d, seed + p) for p in range(P)]
    pairs = [start_and_goal(d, seed + p) for p in range(P)]
    return (np.stack([w.A for w in worlds]), np.stack([w.B for w in worlds]),
            np.stack([w.b for w in worlds]), np.stack([s for s, _ in pairs]),
            np.stack([g for _, g in pairs]))


def actions(P, N, T, d, seed=0, scale=1.5):
    return np.random.default_rng(seed).normal(0.0, scale, (P, N, T, d))


def assert_matches_reference(A, B, b, s0, goal, X, lam=LAMBDA):
    out = rollout(A, B, b, s0, goal, X, lam=lam, return_states=True)
    P, N, T, d = X.shape
    assert out["cost"].shape == out["goal_distance"].shape == out["smoothness"].shape == (P, N)
    assert out["states"].shape == (P, N, T + 1, d)
    for p in range(P):
        cost, gd, sm, states = ref_rollout(A[p], B[p], b[p], s0[p], goal[p], X[p], lam=lam)
        np.testing.assert_allclose(out["states"][p], states, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(out["goal_distance"][p], gd, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(out["smoothness"][p], sm, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(out["cost"][p], cost, rtol=RTOL, atol=ATOL)
    return out


@pytest.mark.parametrize("P, N, T, d", [
    (3, 37, 5, 4),     # P > 1, N not a multiple of the 16-sequence chunk
    (2, 16, 8, 8),     # exactly one chunk
    (1, 1, 1, 1),      # smallest problem: T = 1, d = 1
    (4, 50, 1, 3),     # T = 1
    (2, 33, 6, 1),     # d = 1
    (1, 17, 16, 32),   # long horizon, large d
])
def test_rollout_matches_reference(P, N, T, d):
    out = assert_matches_reference(*problems(P, d), actions(P, N, T, d))
    assert np.ptp(out["cost"]) > 0 or N == 1     # actions matter: not a constant output


def test_states_start_at_s0_and_are_bounded():
    A, B, b, s0, goal = problems(2, 5)
    out = rollout(A, B, b, s0, goal, actions(2, 20, 4, 5, scale=10.0), return_states=True)
    S = out["states"]
    np.testing.assert_array_equal(S[:, :, 0], np.broadcast_to(s0[:, None], (2, 20, 5)))
    assert np.all(np.abs(S[:, :, 1:]) <= 1.0)
    np.testing.assert_allclose(out["goal_distance"], np.linalg.norm(S[:, :, -1] - goal[:, None], axis=2),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("lam", [0.0, 0.1, 2.5])
def test_cost_is_goal_distance_plus_lambda_smoothness(lam):
    A, B, b, s0, goal = problems(2, 4)
    X = actions(2, 19, 3, 4)
    out = assert_matches_reference(A, B, b, s0, goal, X, lam=lam)
    np.testing.assert_allclose(out["cost"], out["goal_distance"] + lam * out["smoothness"], rtol=1e-14)
    if lam == 0.0:
        np.testing.assert_array_equal(out["cost"], out["goal_distance"])


def test_default_lambda_is_0_1():
    A, B, b, s0, goal = problems(1, 3)
    X = actions(1, 5, 2, 3)
    np.testing.assert_array_equal(rollout(A, B, b, s0, goal, X)["cost"],
                                  rollout(A, B, b, s0, goal, X, lam=0.1)["cost"])
    assert LAMBDA == 0.1


def test_single_problem_form():
    A, B, b, s0, goal = problems(1, 4)
    X = actions(1, 21, 5, 4)
    batched = rollout(A, B, b, s0, goal, X, return_states=True)
    single = rollout(A[0], B[0], b[0], s0[0], goal[0], X[0], return_states=True)
    assert single["cost"].shape == (21,) and single["states"].shape == (21, 6, 4)
    for k in batched:
        np.testing.assert_array_equal(single[k], batched[k][0])
    assert "states" not in rollout(A[0], B[0], b[0], s0[0], goal[0], X[0])


def test_batch_equals_one_by_one():
    """Rolling P problems together is bit-identical to rolling each alone."""
    A, B, b, s0, goal = problems(3, 6)
    X = actions(3, 40, 4, 6)
    together = rollout(A, B, b, s0, goal, X, return_states=True)
    for p in range(3):
        alone = rollout(A[p], B[p], b[p], s0[p], goal[p], X[p], return_states=True)
        for k in alone:
            np.testing.assert_array_equal(alone[k], together[k][p])


def test_without_states_equals_with_states():
    A, B, b, s0, goal = problems(2, 5)
    X = actions(2, 30, 4, 5)
    a, c = rollout(A, B, b, s0, goal, X), rollout(A, B, b, s0, goal, X, return_states=True)
    for k in a:
        np.testing.assert_array_equal(a[k], c[k])


def test_bit_identical_for_1_and_2_threads(thread_counts):
    A, B, b, s0, goal = problems(3, 8)
    X = actions(3, 70, 6, 8)
    outs = [run_with_threads(rollout, t, A, B, b, s0, goal, X, return_states=True) for t in thread_counts]
    for k in outs[0]:
        np.testing.assert_array_equal(outs[0][k], outs[1][k])


def test_accepts_non_contiguous_and_integer_input():
    A, B, b, s0, goal = problems(2, 3)
    X = actions(2, 9, 4, 3)
    want = rollout(A, B, b, s0, goal, X, return_states=True)
    Xf = np.asfortranarray(X)
    Bt = np.ascontiguousarray(np.swapaxes(B, 1, 2)).swapaxes(1, 2)    # a transposed view
    got = rollout(A, Bt, b, s0, goal, Xf, return_states=True)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    # integer actions are converted to float64
    Xi = np.round(X).astype(np.int64)
    np.testing.assert_array_equal(rollout(A, B, b, s0, goal, Xi)["cost"],
                                  rollout(A, B, b, s0, goal, Xi.astype(float))["cost"])


def test_does_not_modify_inputs():
    A, B, b, s0, goal = problems(2, 4)
    X = actions(2, 10, 3, 4)
    copies = [x.copy() for x in (A, B, b, s0, goal, X)]
    rollout(A, B, b, s0, goal, X, return_states=True)
    for x, c in zip((A, B, b, s0, goal, X), copies):
        np.testing.assert_array_equal(x, c)
