"""The sampling planners that move a mean to the weighted mean of its samples: MPPI with an
adaptive temperature (:mod:`.amppi`) and model-based diffusion (:mod:`.mbd`).

Both draw ``samples`` sequences ``mu + sig0 * scales[k] * xi`` in round k (:func:`~._sampling.
sample_chunk`), keep the cheapest, weight the samples by a rule of their costs and set ``mu`` to
their weighted mean; then the final mean is rolled out.  They differ in the rule (``rule`` 0:
:func:`ess_weights`, the temperature set for an effective sample size ``param * N``; 1:
:func:`zscore_weights`, a softmax of standardised costs at temperature ``param``), in the
spread schedule ``scales`` (constant, or the annealed noise levels) and in whether the mean
itself is sample 0 of every round (``mean_first``).  One kernel serves both: one compilation.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..jit import kernel, parallel_kernel
from ._common import chunk_scratch, chunk_scratch_bytes, n_chunks, total_counts
from ._sampling import final_mean, keep_best, sample_chunk, weighted_mean
from ._trace import trace_row

#: Bisection steps of the temperature search, and its bracket (in units of the cost spread).
ESS_ROUNDS = 60
ETA_LO, ETA_HI = 1e-6, 1e6
#: Weight rules of :func:`weighted_kernel`.
ESS_RULE, ZSCORE_RULE = 0, 1


@kernel
def ess_weights(L, n, target, w, p):
    """Weights w[p, :n] = exp(-c_i / eta) for the costs L[p, :n], with eta set for an effective
    sample size ``target`` (:mod:`.amppi`); uniform when every cost is the same."""
    cmin = L[p, 0]
    cmax = L[p, 0]
    for i in range(n):
        cmin = min(cmin, L[p, i])
        cmax = max(cmax, L[p, i])
    spread = cmax - cmin
    if not spread > 0.0:
        for i in range(n):
            w[p, i] = 1.0
        return
    lo = math.log(ETA_LO)
    hi = math.log(ETA_HI)
    for _ in range(ESS_ROUNDS):
        mid = 0.5 * (lo + hi)
        inv = 1.0 / (math.exp(mid) * spread)
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            x = math.exp(-(L[p, i] - cmin) * inv)
            s1 += x
            s2 += x * x
        if s1 * s1 < target * s2:
            lo = mid
        else:
            hi = mid
    inv = 1.0 / (math.exp(0.5 * (lo + hi)) * spread)
    for i in range(n):
        w[p, i] = math.exp(-(L[p, i] - cmin) * inv)


@kernel
def zscore_weights(L, n, temperature, w, p):
    """w[p, :n] = exp(z_i - max z), z = -(L - mean L) / (std L * temperature) for the costs
    L[p, :n] (:mod:`.mbd`; std ddof = 0;
    below 1e-12 it is taken as 1, as the authors do below 1e-4 of their rewards' scale)."""
    m = 0.0
    for i in range(n):
        m += L[p, i]
    m /= n
    v = 0.0
    for i in range(n):
        diff = L[p, i] - m
        v += diff * diff
    sd = math.sqrt(v / n)
    if not sd > 1e-12:
        sd = 1.0
    scale = 1.0 / (sd * temperature)
    zmax = -np.inf
    for i in range(n):
        zmax = max(zmax, -(L[p, i] - m) * scale)
    for i in range(n):
        w[p, i] = math.exp(-(L[p, i] - m) * scale - zmax)


@kernel
def weighted_update(X, L, n, w, mu, sig, sig0, scales, rule, param, best_cost, out_actions, trace,
                    it, done, p):
    """Keep problem p's cheapest sample, write trace row ``it``, move mu to the samples' weighted
    mean (``rule``, ``param``: module docstring) and set the next round's spread
    ``sig = sig0 * scales[it + 1]``."""
    T, d = mu.shape[1], mu.shape[2]
    mean = keep_best(X, L, n, best_cost, out_actions, p)
    done[p] += n
    trace_row(trace, p, it, best_cost[p], mean, done[p])
    if rule == ESS_RULE:
        ess_weights(L, n, param * n, w, p)
    else:
        zscore_weights(L, n, param, w, p)
    weighted_mean(X, w, n, mu, p)
    if it + 1 < scales.shape[0]:
        for t in range(T):
            for j in range(d):
                sig[p, t, j] = sig0[p, t, j] * scales[it + 1]


@parallel_kernel
def weighted_kernel(world, s0, goal, mu0, sig0, scales, seeds, stream, cost, n_samples, mean_first,
                    rule, param, whole, W, trace, out_actions, out_samples, out_steps):
    """Plan P problems with a weighted-mean sampling planner (module docstring).

    world, cost : the batch's world and cost bundles; s0, goal : (P, n); mu0, sig0 : (P, T, d)
    start and spread; scales : (rounds,) spread multipliers; seeds : (P,) uint64; stream : the
    planner's stream id.  ``whole`` (at least as many problems as threads): one work item per
    problem for every round; else chunks of W samples and serial updates (same results).
    trace : (P, R, 3) with R = rounds + 1 (the last row: the final mean) or 0.  Writes the
    cheapest sequence evaluated to out_actions (P, T, d) and the counts (rounds x N + 1).
    """
    P, T, d = mu0.shape
    N = n_samples
    rounds = scales.shape[0]
    C = n_chunks(N, W)
    mu = mu0.copy()
    sig = sig0 * scales[0]
    unit = np.zeros((2, T, d))
    M = np.zeros((0, 0))
    Z = np.empty((P, T, d, 1))
    X = np.empty((P, T, d, N))
    L = np.empty((P, N))
    w = np.empty((P, N))
    best_cost = np.full(P, np.inf)
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    done = np.zeros(P, dtype=np.int64)
    n_items = P if whole else P * C          # (a conditional inside prange() stops Numba
    for it in range(1 if whole else rounds):       # from parallelising the loop)
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(rounds):
                    for c in range(C):
                        sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it2, mean_first, cost,
                                     unit, Z, X, L, S, U, path, z, rollouts, steps, q,
                                     q * C + c, c * W, min(c * W + W, N))
                    weighted_update(X, L, N, w, mu, sig, sig0, scales, rule, param, best_cost,
                                    out_actions, trace, it2, done, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it, mean_first, cost, unit, Z,
                             X, L, S, U, path, z, rollouts, steps, q, np.int64(item), lo,
                             min(lo + W, N))
        if not whole:
            for p in range(P):
                weighted_update(X, L, N, w, mu, sig, sig0, scales, rule, param, best_cost,
                                out_actions, trace, it, done, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)
    final_mean(world, s0, goal, mu, cost, best_cost, trace, rounds, done, out_actions,
               out_samples, out_steps)


def weighted_scratch_bytes(P, T, d, N, threads, n=None) -> int:
    """Bytes :func:`weighted_kernel` and its inputs allocate (mu0, sig0, mu, sig (P, T, d); X
    (P, T, d, N); costs and weights (P, N); the final evaluation; the chunk scratch)."""
    n = d if n is None else n
    return (8 * (4 * P * T * d + P * T * d * (N + 2) + 2 * P * N + P * (2 * n + 6))
            + chunk_scratch_bytes(P, N, T, d, threads, n))
