"""MPPI with an adaptive temperature, beyond the paper.

The paper's MPPI (Eq. 6) weights its samples by ``softmax(-(L - min L) / temperature)`` with a
fixed temperature, so how many samples carry the update depends on the scale of the costs.
Here the temperature is set anew each iteration for a **target effective sample size**:

    c_i = (L_i - min L) / (max L - min L)          (costs scaled to [0, 1])
    w_i = exp(-c_i / eta),  ESS(eta) = (sum w)^2 / sum w^2 = ess * N

ESS grows monotonically from 1 (eta -> 0) to N (eta -> inf); eta is found by 60 bisection steps
in log eta on [1e-6, 1e6] (:func:`ess_temperature`), serially per problem.  (We chose the
effective-sample-size rule over dividing by the cost spread alone: it fixes how concentrated
the weights are, whatever the spread of the costs within it.)  All costs equal: uniform weights.

Otherwise MPPI: ``mu <- sum_i w_i (mu + eps_i) / sum_i w_i`` (= mu + sum w eps / sum w),
eps ~ N(0, noise_std^2 I).  Two further changes: sample 0 of every iteration is the current
mean itself (eps = 0, as MuJoCo MPC's sampling planner keeps its nominal plan), and after the
last update the final mean is rolled out; the plan is the cheapest sequence evaluated.
Rollouts: ``iterations * samples + 1``.

Defaults (samples 50, iterations 40, noise_std 0.2, ess 0.05) were chosen on held-out problems
(seeds 1000-1007, d = h = 8, README "Beyond the paper"); the paper's noise 0.8 is too wide once
the plan is close.  Geometry usage as MPPI's: the initial mean is the geometry's mean
(``prior``) or 0 (``none``); a warm start replaces it.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..beyond import STREAM_IDS
from ..jit import kernel, parallel_kernel
from ._common import chunk_scratch, chunk_scratch_bytes, chunk_width, n_chunks, new_outputs, total_counts
from ._sampling import final_mean, keep_best, sample_chunk, weighted_mean
from ._trace import new_trace, trace_row

#: Bisection steps of the temperature search, and its bracket (in units of the cost spread).
ESS_ROUNDS = 60
ETA_LO, ETA_HI = 1e-6, 1e6


@kernel
def ess_weights(L, n, target, w, p):
    """Weights w[p, :n] = exp(-c_i / eta) for the costs L[p, :n], with eta set for an effective
    sample size ``target`` (module docstring); uniform when every cost is the same."""
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
def amppi_update(X, L, n, w, mu, target, best_cost, out_actions, trace, it, done, p):
    """Keep problem p's cheapest sample, write trace row ``it`` and move mu to the weighted
    mean of the samples (:func:`ess_weights`)."""
    mean = keep_best(X, L, n, best_cost, out_actions, p)
    done[p] += n
    trace_row(trace, p, it, best_cost[p], mean, done[p])
    ess_weights(L, n, target, w, p)
    weighted_mean(X, w, n, mu, p)


@parallel_kernel
def amppi_kernel(world, s0, goal, mu0, seeds, stream, cost, n_samples, iterations, noise_std,
                 ess, whole, W, trace, out_actions, out_samples, out_steps):
    """Plan P problems with adaptive-temperature MPPI.

    world, cost : the batch's world and cost bundles; s0, goal : (P, n); mu0 : (P, T, d);
    seeds : (P,) uint64; stream : the planner's stream id.  ``whole``: one work item per problem for every iteration; else
    chunks of W samples and serial updates (same results).  trace : (P, R, 3) with
    R = iterations + 1 (the last row: the final mean) or 0.
    """
    P, T, d = mu0.shape
    N = n_samples
    C = n_chunks(N, W)
    mu = mu0.copy()
    sig = np.full((P, T, d), noise_std)
    unit = np.zeros((2, T, d))
    M = np.zeros((0, 0))
    Z = np.empty((P, T, d, 1))
    X = np.empty((P, T, d, N))
    L = np.empty((P, N))
    w = np.empty((P, N))
    best_cost = np.full(P, np.inf)
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    done = np.zeros(P, dtype=np.int64)
    target = ess * N
    n_items = P if whole else P * C          # (a conditional inside prange() stops Numba
    for it in range(1 if whole else iterations):   # from parallelising the loop)
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it2, True, cost,
                                     unit, Z, X, L, S, U, path, z, rollouts, steps, q,
                                     q * C + c, c * W, min(c * W + W, N))
                    amppi_update(X, L, N, w, mu, target, best_cost, out_actions, trace, it2,
                                 done, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it, True, cost, unit, Z,
                             X, L, S, U, path, z, rollouts, steps, q, np.int64(item), lo,
                             min(lo + W, N))
        if not whole:
            for p in range(P):
                amppi_update(X, L, N, w, mu, target, best_cost, out_actions, trace, it, done, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)
    final_mean(world, s0, goal, mu, cost, best_cost, trace, iterations, done, out_actions,
               out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial mean (P, T, d): the geometry's mean (``prior``) or 0 (``none``); a warm start
    (``batch.init_actions``) replaces it."""
    if batch.init_actions is not None:
        return {"mu0": batch.init_actions.copy()}
    return {"mu0": batch.prior_mean_std(usage)[0]}


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per iteration and one for the final mean."""
    return int(hp["iterations"]) + 1


def run(batch, hp, inputs):
    """Run :func:`amppi_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    trace = inputs.get("trace")
    amppi_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], batch.seeds,
                 np.uint64(STREAM_IDS["amppi"]), batch.cost_bundle(hp), int(hp["samples"]),
                 int(hp["iterations"]), float(hp["noise_std"]), float(hp["ess"]),
                 batch.P >= threads, chunk_width(int(hp["samples"]), batch.P, threads),
                 new_trace(batch.P, 0) if trace is None else trace, actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`amppi_kernel` allocate (mu0, mu, sig (P, T, d); X
    (P, T, d, N); costs and w (P, N); the final evaluation; the chunk scratch)."""
    N, n = int(hp["samples"]), d if n is None else n
    return (8 * (3 * P * T * d + P * T * d * (N + 2) + 2 * P * N + P * (2 * n + 6))
            + chunk_scratch_bytes(P, N, T, d, threads, n))
