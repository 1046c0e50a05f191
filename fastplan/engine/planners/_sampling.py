"""Serial building blocks of the sampling planners beyond the paper (iCEM, adaptive MPPI,
model-based diffusion) and their per-iteration traces.

Every iteration of these planners draws a population around a per-problem mean ``mu`` with a
per-coordinate spread ``sig`` (both (T, d)), rolls it out (Eq. 5) and updates ``mu`` (and
``sig``) serially per problem.  Sample i of iteration ``it`` uses normal numbers
``i*T*d + t*d + j`` of the stream ``(PLAN_NOISE, it, stream_id)`` under the problem's seed,
so a sample's draw depends on its index alone: results are the same on any number of threads.

Traces: see :mod:`fastplan.engine.planners._trace`.
"""
from __future__ import annotations

import numpy as np

from .. import rng
from ..jit import kernel
from ..worlds import ops
from ._common import copy_col, fill_gaussian_cols, rollout_cols
from ._trace import trace_row


@kernel(inline=True)
def _colour_rows4(M, t, Z, j, lo, hi, X):
    """Rows t..t+3 of :func:`colour_cols` before the affine map: ``X[t+q, j, i] = sum_k
    M[t+q, k] Z[k, j, i]``.  Register blocking (four rows x four k per pass: each loaded
    ``Z[k, j, i]`` feeds four rows); every sum runs over k in order from 0."""
    T = M.shape[1]
    n = hi - lo
    x0 = X[t, j, lo:hi]
    x1 = X[t + 1, j, lo:hi]
    x2 = X[t + 2, j, lo:hi]
    x3 = X[t + 3, j, lo:hi]
    for i in range(n):
        x0[i] = 0.0
        x1[i] = 0.0
        x2[i] = 0.0
        x3[i] = 0.0
    k = 0
    while k < T:
        kk = min(k + 4, T)
        if kk - k == 4:
            a0, a1, a2, a3 = M[t, k], M[t, k + 1], M[t, k + 2], M[t, k + 3]
            b0, b1, b2, b3 = M[t + 1, k], M[t + 1, k + 1], M[t + 1, k + 2], M[t + 1, k + 3]
            c0, c1, c2, c3 = M[t + 2, k], M[t + 2, k + 1], M[t + 2, k + 2], M[t + 2, k + 3]
            e0, e1, e2, e3 = M[t + 3, k], M[t + 3, k + 1], M[t + 3, k + 2], M[t + 3, k + 3]
            z0 = Z[k, j, lo:hi]
            z1 = Z[k + 1, j, lo:hi]
            z2 = Z[k + 2, j, lo:hi]
            z3 = Z[k + 3, j, lo:hi]
            for i in range(n):
                y0 = z0[i]
                y1 = z1[i]
                y2 = z2[i]
                y3 = z3[i]
                x0[i] = x0[i] + a0 * y0 + a1 * y1 + a2 * y2 + a3 * y3
                x1[i] = x1[i] + b0 * y0 + b1 * y1 + b2 * y2 + b3 * y3
                x2[i] = x2[i] + c0 * y0 + c1 * y1 + c2 * y2 + c3 * y3
                x3[i] = x3[i] + e0 * y0 + e1 * y1 + e2 * y2 + e3 * y3
        else:
            for k2 in range(k, kk):
                a0, b0, c0, e0 = M[t, k2], M[t + 1, k2], M[t + 2, k2], M[t + 3, k2]
                z0 = Z[k2, j, lo:hi]
                for i in range(n):
                    y0 = z0[i]
                    x0[i] = x0[i] + a0 * y0
                    x1[i] = x1[i] + b0 * y0
                    x2[i] = x2[i] + c0 * y0
                    x3[i] = x3[i] + e0 * y0
        k = kk


@kernel
def colour_cols(M, mu, sig, Z, X, lo, hi):
    """``X[t, j, i] = mu[t, j] + sig[t, j] * sum_k M[t, k] Z[k, j, i]`` for columns lo..hi-1.

    M : (T, T) coloured-noise map; Z : (T, d, N) white normals; X : (T, d, N) output.  Rows go
    in blocks of four (:func:`_colour_rows4`), the T % 4 last ones alone; every sum runs over k
    in order from 0, so a column's value does not depend on lo, hi or the blocking.
    """
    T, d = mu.shape
    n = hi - lo
    for j in range(d):
        t = 0
        while t + 4 <= T:
            _colour_rows4(M, t, Z, j, lo, hi, X)
            t += 4
        while t < T:
            x = X[t, j, lo:hi]
            for i in range(n):
                x[i] = 0.0
            for k in range(T):
                m0 = M[t, k]
                z0 = Z[k, j, lo:hi]
                for i in range(n):
                    x[i] = x[i] + m0 * z0[i]
            t += 1
        for t2 in range(T):
            x = X[t2, j, lo:hi]
            a = mu[t2, j]
            b = sig[t2, j]
            for i in range(n):
                x[i] = a + b * x[i]


@kernel
def sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it, mean_first, cost, unit, Z, X,
                 L, S, U, path, z, rollouts, steps, p, item, lo, hi):
    """Draw samples lo..hi-1 of problem p in iteration ``it`` and roll them out into L[p].

    White noise (``M`` of shape (0, 0)): ``X = mu + sig * xi``; coloured: ``X = mu + sig * M xi``
    along time.  With ``mean_first`` sample 0 is ``mu`` itself (its draw is discarded).  The
    rollout clips the samples into the cost's action box, if it has one (in place: the planner
    then works with the feasible samples).  world, cost : the batch's bundles; mu, sig :
    (P, T, d); unit : (2, T, d) zeros and ones; Z, X : (P, T, d, N); L : (P, N); the rest is
    the work item's scratch and counters (:func:`~fastplan.engine.planners._common.chunk_scratch`).
    """
    T, d = mu.shape[1], mu.shape[2]
    if hi <= lo:
        return
    key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, it, stream))
    if M.shape[0] == 0:
        fill_gaussian_cols(key, mu[p], sig[p], X[p], lo, hi, z[item])
    else:
        fill_gaussian_cols(key, unit[0], unit[1], Z[p], lo, hi, z[item])
        colour_cols(M, mu[p], sig[p], Z[p], X[p], lo, hi)
    if mean_first and lo == 0:
        for t in range(T):
            for j in range(d):
                X[p, t, j, 0] = mu[p, t, j]
    steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], X[p], lo, hi, cost, S[item],
                                U[item], path[item], L[p])
    rollouts[item] += hi - lo


@kernel
def keep_best(X, L, n, best_cost, out_actions, p):
    """Keep problem p's cheapest of samples 0..n-1 (costs L[p], lowest index on ties) if it
    beats ``best_cost[p]``; returns the mean cost of the n samples."""
    i_min = 0
    total = 0.0
    for i in range(n):
        total += L[p, i]
        if L[p, i] < L[p, i_min]:
            i_min = i
    if L[p, i_min] < best_cost[p]:
        best_cost[p] = L[p, i_min]
        copy_col(X[p], i_min, out_actions[p])
    return total / n


@kernel
def weighted_mean(X, w, n, mu, p):
    """``mu[p] = sum_i w_i X[p, :, :, i] / sum_i w_i`` over samples 0..n-1 (in index order)."""
    T, d = mu.shape[1], mu.shape[2]
    total = 0.0
    for i in range(n):
        total += w[p, i]
    for t in range(T):
        for j in range(d):
            x = X[p, t, j]
            acc = 0.0
            for i in range(n):
                acc += w[p, i] * x[i]
            mu[p, t, j] = acc / total


@kernel
def evaluate_mean(world, s0, goal, mu, cost, Xm, S, U, path, c, best_cost, out_actions, p):
    """Roll out the mean mu[p] (one rollout, the planners' own rollout code, clipped into the
    action box if any) and keep it if it beats ``best_cost[p]``; returns its cost.
    Xm : (P, T, d, 1); S, U : (P, n, 1), path (P, 4, 1) and c (P, 1) scratch."""
    for t in range(mu.shape[1]):
        for j in range(mu.shape[2]):
            Xm[p, t, j, 0] = mu[p, t, j]
    rollout_cols(ops.world_at(world, p), s0[p], goal[p], Xm[p], np.int64(0), np.int64(1), cost,
                 S[p], U[p], path[p], c[p])
    if c[p, 0] < best_cost[p]:
        best_cost[p] = c[p, 0]
        copy_col(Xm[p], 0, out_actions[p])
    return c[p, 0]


@kernel
def final_mean(world, s0, goal, mu, cost, best_cost, trace, row, done, out_actions, out_samples,
               out_steps):
    """Evaluate every problem's final mean (:func:`evaluate_mean`), count that rollout and write
    trace row ``row`` (done : (P,) rollouts before it)."""
    P, T, d = mu.shape
    n = s0.shape[1]
    Xm = np.empty((P, T, d, 1))
    S = np.empty((P, n, 1))
    U = np.empty((P, n, 1))
    path = np.empty((P, 4, 1))
    c = np.empty((P, 1))
    for p in range(P):
        final = evaluate_mean(world, s0, goal, mu, cost, Xm, S, U, path, c, best_cost, out_actions, p)
        out_samples[p] += 1
        out_steps[p] += T
        trace_row(trace, p, row, best_cost[p], final, done[p] + 1)
