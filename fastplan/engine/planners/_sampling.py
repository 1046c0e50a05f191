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


@kernel
def colour_cols(M, mu, sig, Z, X, lo, hi):
    """``X[t, j, i] = mu[t, j] + sig[t, j] * sum_k M[t, k] Z[k, j, i]`` for columns lo..hi-1.

    M : (T, T) coloured-noise map; Z : (T, d, N) white normals; X : (T, d, N) output.  Each
    sum runs over k in order, so a column's value does not depend on lo, hi.
    """
    T, d = mu.shape
    n = hi - lo
    for t in range(T):
        for j in range(d):
            x = X[t, j, lo:hi]
            for i in range(n):
                x[i] = 0.0
            for k in range(T):
                m = M[t, k]
                zk = Z[k, j, lo:hi]
                for i in range(n):
                    x[i] += m * zk[i]
            m0 = mu[t, j]
            s0 = sig[t, j]
            for i in range(n):
                x[i] = m0 + s0 * x[i]


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
