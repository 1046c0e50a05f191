"""Batched rollout and cost kernels: Eq. 4 (dynamics), Eq. 5 (cost), Eq. 11 (smoothness).

Inside kernels, a batch of ``n`` action sequences of one problem is stored
structure-of-arrays, ``X[t, j, i]`` with shape (T, d, n): the sample axis ``i`` is
contiguous so that every arithmetic loop runs over samples and vectorises.  The serial
helpers live in :mod:`fastplan.planners._common` (shared with the planners);
:func:`rollout` is the public, parallel entry point over ``P problems x N sequences``.

Cost of Eq. 5 with ``lam`` = lambda::

    L(a_1..a_T) = ||s_T - s*||_2 + lam * (1/T) * sum_t ||s_t - s_{t-1}||_2
"""
from __future__ import annotations

import math

import numba
import numpy as np

from . import threads
from .jit import kernel, parallel_kernel
from .errors import FastplanError, as_array
from .planners._common import CHUNK, n_chunks, rollout_cols, states_cols

LAMBDA = 0.1   # weight of the smoothness term in Eq. 5


@parallel_kernel
def _rollout_kernel(A, B, b, s0, goal, actions, lam, want_states, cost, gd, sm, states):
    """prange over (problem, chunk of CHUNK sequences); each item writes its own rows.

    Uses the planners' own rollout (:func:`fastplan.planners._common.rollout_cols`), so a
    cost reported here is bit-identical to the cost a planner saw for the same actions.
    """
    P, N, T, d = actions.shape
    C = n_chunks(N)
    X = np.empty((P * C, T, d, CHUNK))
    S = np.empty((P * C, d, CHUNK))
    U = np.empty((P * C, d, CHUNK))
    path = np.empty((P * C, 2, CHUNK))
    c = np.empty((P * C, CHUNK))
    Z = np.empty((P * C if want_states else 1, T + 1, d, CHUNK))
    for item in numba.prange(P * C):
        p = item // C
        lo = (item % C) * CHUNK
        n = min(lo + CHUNK, N) - lo
        Xi = X[item]
        for i in range(n):
            for t in range(T):
                for j in range(d):
                    Xi[t, j, i] = actions[p, lo + i, t, j]
        rollout_cols(A[p], B[p], b[p], s0[p], goal[p], Xi, np.int64(0), n, lam, S[item], U[item],
                     path[item], c[item])
        for i in range(n):
            cost[p, lo + i] = c[item, i]
            gd[p, lo + i] = math.sqrt(path[item, 1, i])
            sm[p, lo + i] = path[item, 0, i] / T
        if want_states:
            Zi = Z[item]
            states_cols(A[p], B[p], b[p], s0[p], Xi, np.int64(0), n, Zi)
            for i in range(n):
                for t in range(T + 1):
                    for j in range(d):
                        states[p, lo + i, t, j] = Zi[t, j, i]


@kernel
def _evaluate_kernel(A, B, b, s0, goal, actions, lam, cost, gd, sm, states):
    """Serial twin of :func:`_rollout_kernel` for one sequence per problem (a planner's
    result): actions (P, T, d) -> cost, gd, sm (P,) and states (P, T+1, d).  Same
    per-column arithmetic, so the same bits; serial because P rollouts are no work, and a
    parallel kernel costs seconds of compilation."""
    P, T, d = actions.shape
    X = np.empty((T, d, 1))          # one column: scratch one column wide
    S = np.empty((d, 1))
    U = np.empty((d, 1))
    path = np.empty((2, 1))
    c = np.empty(1)
    Z = np.empty((T + 1, d, 1))
    one = np.int64(1)
    zero = np.int64(0)
    for p in range(P):
        for t in range(T):
            for j in range(d):
                X[t, j, 0] = actions[p, t, j]
        rollout_cols(A[p], B[p], b[p], s0[p], goal[p], X, zero, one, lam, S, U, path, c)
        cost[p] = c[0]
        gd[p] = math.sqrt(path[1, 0])
        sm[p] = path[0, 0] / T
        states_cols(A[p], B[p], b[p], s0[p], X, zero, one, Z)
        for t in range(T + 1):
            for j in range(d):
                states[p, t, j] = Z[t, j, 0]


def evaluate(A, B, b, s0, goal, actions, lam):
    """Eq. 5 / Eq. 11 and the states of one validated sequence per problem.

    A, B : (P, d, d); b, s0, goal : (P, d); actions : (P, T, d) float64, C-contiguous.
    Returns cost, goal_distance, smoothness (P,) and states (P, T+1, d); the same bits as
    :func:`rollout` gives for these sequences.
    """
    P, T, d = actions.shape
    cost, gd, sm = np.empty(P), np.empty(P), np.empty(P)
    states = np.empty((P, T + 1, d))
    _evaluate_kernel(A, B, b, s0, goal, actions, float(lam), cost, gd, sm, states)
    return cost, gd, sm, states


def rollout(A, B, b, s0, goal, actions, lam: float = LAMBDA, return_states: bool = False):
    """Roll out P problems x N action sequences and evaluate Eq. 5 and Eq. 11.

    Parameters
    ----------
    A, B : array, shape (P, d, d) or (d, d)
    b, s0, goal : array, shape (P, d) or (d,)
    actions : array, shape (P, N, T, d), or (N, T, d) for one problem
    lam : float
        Smoothness weight lambda of Eq. 5 (default 0.1).
    return_states : bool
        Also return the state trajectories.

    Returns
    -------
    dict with ``cost``, ``goal_distance``, ``smoothness`` of shape (P, N) (or (N,)) and,
    on request, ``states`` of shape (P, N, T+1, d) (or (N, T+1, d)).
    """
    A = as_array(A, "A")
    single = A.ndim == 2
    if single:
        B, b, s0, goal, actions = (as_array(x, name) for x, name in
                                   zip((B, b, s0, goal, actions), ("B", "b", "s0", "goal", "actions")))
        A, B, b, s0, goal, actions = (x[None] for x in (A, B, b, s0, goal, actions))
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise FastplanError(f"A must have shape (P, d, d), got {A.shape}")
    P, d = A.shape[0], A.shape[1]
    A = as_array(A, "A", (P, d, d))
    B = as_array(B, "B", (P, d, d))
    b = as_array(b, "b", (P, d))
    s0 = as_array(s0, "s0", (P, d))
    goal = as_array(goal, "goal", (P, d))
    actions = as_array(actions, "actions", (P, None, None, d))
    if actions.shape[1] < 1 or actions.shape[2] < 1:
        raise FastplanError(f"actions must hold at least one sequence of length >= 1, got {actions.shape}")
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise FastplanError(f"lambda must be a finite number >= 0, got {lam!r}") from None
    if not np.isfinite(lam) or lam < 0:
        raise FastplanError(f"lambda must be a finite number >= 0, got {lam}")
    N, T = actions.shape[1], actions.shape[2]
    cost, gd, sm = (np.empty((P, N)) for _ in range(3))
    states = np.empty((P, N, T + 1, d)) if return_states else np.empty((1, 1, 1, 1))
    work = P * N * T * (4.0 * d * d + 30.0 * d) * threads.SECONDS_PER_UNIT
    with threads.limited(threads.threads_for(work)):     # small batches: 1 thread
        _rollout_kernel(A, B, b, s0, goal, actions, float(lam), bool(return_states), cost, gd,
                        sm, states)
    out = {"cost": cost, "goal_distance": gd, "smoothness": sm}
    if return_states:
        out["states"] = states
    if single:
        out = {k: v[0] for k, v in out.items()}
    return out


def baselines(A, B, b, s0, goal, horizon: int):
    """Trivial baselines of P problems: the goal distance of doing nothing and the start's.

    A, B : (P, d, d); b, s0, goal : (P, d) float64; horizon : T >= 1.
    Returns ``zero_action_distance`` (P,): ``||s_T - s*||_2`` after rolling out ``a = 0`` for
    T steps of Eq. 4 (through the planners' own rollout, :func:`evaluate`), and
    ``initial_distance`` (P,): ``||s_0 - s*||_2``.
    """
    A, B, b, s0, goal = (np.ascontiguousarray(x, dtype=np.float64) for x in (A, B, b, s0, goal))
    P, d = s0.shape
    zeros = np.zeros((P, int(horizon), d))
    _, gd, _, _ = evaluate(A, B, b, s0, goal, zeros, LAMBDA)
    return gd, np.sqrt(np.sum((s0 - goal) ** 2, axis=1))
