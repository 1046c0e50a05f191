"""Batched rollout and cost kernels: Eq. 4 (dynamics), Eq. 5 (cost), Eq. 11 (smoothness).

Inside kernels, a batch of ``n`` action sequences of one problem is stored
structure-of-arrays, ``X[t, j, i]`` with shape (T, d, n): the sample axis ``i`` is
contiguous so that every arithmetic loop runs over samples and vectorises.  The serial
helpers here are inlined into the planner kernels; :func:`rollout` is the public,
parallel entry point over ``P problems x N sequences``.

Cost of Eq. 5 with ``lam`` = lambda::

    L(a_1..a_T) = ||s_T - s*||_2 + lam * (1/T) * sum_t ||s_t - s_{t-1}||_2
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ._fastmath import tanh
from ._jit import kernel, parallel_kernel
from ._validate import FastplanError, as_array

LAMBDA = 0.1   # weight of the smoothness term in Eq. 5
_CHUNK = 16    # sequences per parallel work item in :func:`rollout`


@kernel
def step_soa(A, B, b, S, Xt, U):
    """One step of Eq. 4 for n sequences: ``U = tanh(A S + B Xt + b)``.

    A, B : (d, d); b : (d,); S, Xt, U : (d, n) (U must not alias S).
    """
    d, n = S.shape
    for r in range(d):
        for i in range(n):
            U[r, i] = b[r]
        for k in range(d):
            w = A[r, k]
            for i in range(n):
                U[r, i] += w * S[k, i]
        for k in range(d):
            w = B[r, k]
            for i in range(n):
                U[r, i] += w * Xt[k, i]
        for i in range(n):
            U[r, i] = tanh(U[r, i])


@kernel
def add_step_length(S, U, acc):
    """``acc[i] += ||U[:, i] - S[:, i]||_2`` for (d, n) arrays (one term of Eq. 11)."""
    d, n = S.shape
    for i in range(n):
        s2 = 0.0
        for r in range(d):
            diff = U[r, i] - S[r, i]
            s2 += diff * diff
        acc[i] += math.sqrt(s2)


@kernel
def finish_cost(S, goal, lam, T, path, cost, gd, sm):
    """From final states S (d, n) and summed step lengths ``path`` (n,), write Eq. 5/11 terms."""
    d, n = S.shape
    for i in range(n):
        s2 = 0.0
        for r in range(d):
            diff = S[r, i] - goal[r]
            s2 += diff * diff
        g = math.sqrt(s2)
        m = path[i] / T
        gd[i] = g
        sm[i] = m
        cost[i] = g + lam * m


@kernel
def rollout_soa(A, B, b, s0, goal, X, lam, S, U, path, cost, gd, sm):
    """Roll out n sequences of one problem and evaluate Eq. 5.

    Parameters
    ----------
    A, B : (d, d); b, s0, goal : (d,)
    X : (T, d, n) actions, structure-of-arrays.
    lam : float, the lambda of Eq. 5.
    S, U : (d, n) scratch; path : (n,) scratch.
    cost, gd, sm : (n,) outputs: cost (Eq. 5), goal distance, smoothness (Eq. 11).
    """
    T = X.shape[0]
    d, n = S.shape
    for r in range(d):
        for i in range(n):
            S[r, i] = s0[r]
    for i in range(n):
        path[i] = 0.0
    for t in range(T):
        step_soa(A, B, b, S, X[t], U)
        add_step_length(S, U, path)
        S, U = U, S
    finish_cost(S, goal, lam, T, path, cost, gd, sm)
    return S


@kernel
def rollout_soa_states(A, B, b, s0, X, states):
    """Roll out n sequences and store every state: ``states`` (T+1, d, n)."""
    T = X.shape[0]
    d = s0.shape[0]
    n = X.shape[2]
    for r in range(d):
        for i in range(n):
            states[0, r, i] = s0[r]
    for t in range(T):
        step_soa(A, B, b, states[t], X[t], states[t + 1])


@parallel_kernel
def _rollout_kernel(A, B, b, s0, goal, actions, lam, want_states, cost, gd, sm, states):
    """prange over (problem, chunk of _CHUNK sequences); each item writes its own rows."""
    P, N, T, d = actions.shape
    n_chunks = (N + _CHUNK - 1) // _CHUNK
    for item in numba.prange(P * n_chunks):
        p = item // n_chunks
        lo = (item % n_chunks) * _CHUNK
        hi = min(lo + _CHUNK, N)
        n = hi - lo
        X = np.empty((T, d, n))
        for i in range(n):
            for t in range(T):
                for j in range(d):
                    X[t, j, i] = actions[p, lo + i, t, j]
        S = np.empty((d, n))
        U = np.empty((d, n))
        path = np.empty(n)
        c = np.empty(n)
        g = np.empty(n)
        m = np.empty(n)
        rollout_soa(A[p], B[p], b[p], s0[p], goal[p], X, lam, S, U, path, c, g, m)
        for i in range(n):
            cost[p, lo + i] = c[i]
            gd[p, lo + i] = g[i]
            sm[p, lo + i] = m[i]
        if want_states:
            Z = np.empty((T + 1, d, n))
            rollout_soa_states(A[p], B[p], b[p], s0[p], X, Z)
            for i in range(n):
                for t in range(T + 1):
                    for j in range(d):
                        states[p, lo + i, t, j] = Z[t, j, i]


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
    _rollout_kernel(A, B, b, s0, goal, actions, float(lam), bool(return_states), cost, gd, sm, states)
    out = {"cost": cost, "goal_distance": gd, "smoothness": sm}
    if return_states:
        out["states"] = states
    if single:
        out = {k: v[0] for k, v in out.items()}
    return out
