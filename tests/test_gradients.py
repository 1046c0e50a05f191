"""Finite-difference and adjoint gradients of Eq. 5 (issue 3, item 4)."""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_rollout  # noqa: E402

from fastplan.engine.planners._common import sequence_cost  # noqa: E402
from fastplan.engine.planners._descent import adjoint_grad, fd_row  # noqa: E402
from fastplan.engine.world import make_world, start_and_goal  # noqa: E402
from fastplan.engine.cost import paper_cost  # noqa: E402


def random_case(d, T, seed):
    w = make_world(d, seed)
    s0, goal = start_and_goal(d, seed)
    a = np.random.default_rng(seed).normal(0.0, 0.7, size=(T, d))
    return w, s0, goal, a


def kernel_fd(w, s0, goal, a, lam, eps):
    T, d = a.shape
    states = np.empty((T + 1, d))
    pre = np.empty((T, d))
    cost = paper_cost(lam, d)
    base = sequence_cost((w.A, w.B, w.b), s0, goal, a, cost, states, pre)
    g = np.empty((T, d))
    for tt in range(T):
        fd_row((w.A, w.B, w.b), goal, a, states, pre, base, tt, cost, eps, np.empty((d, d)),
               np.empty((d, d)), np.empty(d), np.empty(d), g[tt])
    return g, states


def kernel_adjoint(w, goal, states, lam, T, d, a=None):
    g = np.empty((T, d))
    a = np.zeros((T, d)) if a is None else a
    pre = np.empty((T, d))
    for t in range(T):           # the tape: pre-activations, states[t+1] = tanh(pre[t])
        pre[t] = w.A @ states[t] + w.B @ a[t] + w.b
    adjoint_grad((w.A, w.B, w.b), a, goal, states, pre, paper_cost(lam, d), g, np.empty(d),
                 np.empty(d))
    return g


def ref_fd(w, s0, goal, a, lam, eps, central=False):
    """Plain NumPy finite differences through the reference rollout."""
    T, d = a.shape
    pert = np.repeat(a[None], T * d, axis=0)
    idx = np.arange(T * d)
    pert.reshape(T * d, T * d)[idx, idx] += eps
    up = ref_rollout(w.A, w.B, w.b, s0, goal, pert, lam)[0]
    if central:
        down_seq = np.repeat(a[None], T * d, axis=0)
        down_seq.reshape(T * d, T * d)[idx, idx] -= eps
        down = ref_rollout(w.A, w.B, w.b, s0, goal, down_seq, lam)[0]
        return ((up - down) / (2 * eps)).reshape(T, d)
    base = ref_rollout(w.A, w.B, w.b, s0, goal, a[None], lam)[0][0]
    return ((up - base) / eps).reshape(T, d)


@pytest.mark.parametrize("d,T,seed", [(2, 3, 0), (4, 4, 1), (8, 8, 2), (5, 1, 3), (16, 6, 4)])
def test_kernel_fd_matches_numpy_fd(d, T, seed):
    w, s0, goal, a = random_case(d, T, seed)
    g, _ = kernel_fd(w, s0, goal, a, 0.1, 1e-3)
    np.testing.assert_allclose(g, ref_fd(w, s0, goal, a, 0.1, 1e-3), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("d,T,seed", [(2, 3, 0), (4, 4, 1), (8, 8, 2), (5, 1, 3), (16, 6, 4)])
def test_fd_and_adjoint_agree_within_1e5_relative(d, T, seed):
    w, s0, goal, a = random_case(d, T, seed)
    eps = 1e-6  # small step: forward-difference truncation error ~eps
    g_fd, states = kernel_fd(w, s0, goal, a, 0.1, eps)
    g_adj = kernel_adjoint(w, goal, states, 0.1, T, d, a)
    rel = np.linalg.norm(g_fd - g_adj) / np.linalg.norm(g_adj)
    assert rel < 1e-5, rel


@pytest.mark.parametrize("d,T,seed", [(3, 4, 5), (8, 8, 6)])
def test_adjoint_matches_central_differences_tightly(d, T, seed):
    w, s0, goal, a = random_case(d, T, seed)
    _, states = kernel_fd(w, s0, goal, a, 0.1, 1e-3)
    g_adj = kernel_adjoint(w, goal, states, 0.1, T, d, a)
    g_c = ref_fd(w, s0, goal, a, 0.1, 1e-5, central=True)
    np.testing.assert_allclose(g_adj, g_c, rtol=1e-6, atol=1e-8)


def test_paper_step_fd_is_close_to_exact_gradient():
    # with the paper's eps = 1e-3 forward differences are accurate to ~1e-3 relative
    w, s0, goal, a = random_case(8, 8, 9)
    g_fd, states = kernel_fd(w, s0, goal, a, 0.1, 1e-3)
    g_adj = kernel_adjoint(w, goal, states, 0.1, 8, 8, a)
    assert np.linalg.norm(g_fd - g_adj) / np.linalg.norm(g_adj) < 1e-2
