"""Model Predictive Path Integral control (Sec. 2.3, Eq. 6).

Each of ``iterations`` rounds draws ``samples`` perturbations eps_i ~ N(0, noise_std^2 I)
(noise_std = 0.8, i.e. variance 0.64), evaluates the cost L_i of mu + eps_i (Eq. 5) and
updates ``mu <- mu + sum_i w_i eps_i`` with ``w = softmax(-(L - min L) / temperature)``
(subtracting min L changes nothing mathematically and avoids underflow).  The plan
returned is the final mean mu; ``samples = iterations * samples`` (2000).

Geometry usage: ``prior`` starts mu at the geometry's mean (tiled over the horizon);
``none`` at 0.  The perturbation law is the paper's in both cases.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import rng
from ..jit import kernel, parallel_kernel
from ..worlds import ops
from ._manifold import cost_at
from ._common import (chunk_scratch, chunk_scratch_bytes, chunk_width, fill_gaussian_cols, n_chunks,
                      new_outputs, rollout_cols, total_counts)
from ._trace import NO_TRACE as _NO_TRACE, trace_samples


@kernel
def mppi_chunk(world, s0, goal, mu, seeds, cost, it, zero, std, eps, X, L, S, U, path, z,
               rollouts, steps, p, item, lo, hi):
    """Draw eps for samples lo..hi-1 of problem p in round ``it``, form mu + eps and roll
    them out into L[p] (scratch and counters of work item ``item``)."""
    T, d = mu.shape[1], mu.shape[2]
    key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, it, 0))
    fill_gaussian_cols(key, zero, std, eps[p], lo, hi, z[item])
    for t in range(T):
        for j in range(d):
            m = mu[p, t, j]
            for i in range(lo, hi):
                X[p, t, j, i] = m + eps[p, t, j, i]
    steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], X[p], lo, hi,
                                cost_at(cost, p), S[item], U[item], path[item], L[p])
    rollouts[item] += hi - lo


@kernel
def mppi_update(cost, eps, w, mu, temperature, p):
    """Eq. 6 for problem p: ``mu += sum_i w_i eps_i``, w = softmax(-(L - min L) / temperature)."""
    N = cost.shape[1]
    T, d = mu.shape[1], mu.shape[2]
    cmin = np.inf
    for i in range(N):
        if cost[p, i] < cmin:
            cmin = cost[p, i]
    total = 0.0
    for i in range(N):
        w[p, i] = math.exp(-(cost[p, i] - cmin) / temperature)
        total += w[p, i]
    for t in range(T):
        for j in range(d):
            acc = 0.0
            for i in range(N):
                acc += w[p, i] * eps[p, t, j, i]
            mu[p, t, j] += acc / total


@parallel_kernel
def mppi_kernel(world, s0, goal, mu0, seeds, cost, n_samples, iterations, noise_std, temperature,
                whole, W, out_actions, out_samples, out_steps, trace):
    """Plan P problems with MPPI.

    world : the batch's world bundle; s0, goal : (P, n); cost : the cost bundle;
    mu0 : (P, T, d); seeds : (P,) uint64.
    ``whole`` (at least as many problems as threads): one work item runs a problem's
    every round; else work items are chunks of W samples (:func:`~fastplan.planners.
    _common.chunk_width`) and the updates run serially.
    Results are the same.  Writes the final mean to out_actions (P, T, d) and counts, and
    trace (P, R, 3) rows per round when R = iterations (R = 0: none; its best is of the
    sampled sequences: the final mean itself is not evaluated).
    """
    P, T, d = mu0.shape
    N = n_samples
    C = n_chunks(N, W)
    mu = mu0.copy()
    zero = np.zeros((T, d))
    std = np.full((T, d), noise_std)
    eps = np.empty((P, T, d, N))
    X = np.empty((P, T, d, N))
    L = np.empty((P, N))
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    w = np.empty((P, N))
    tbest = np.full(P, np.inf)
    n_items = P if whole else P * C          # (a conditional inside prange() stops Numba
    for it in range(1 if whole else iterations):   # from parallelising the loop)
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        mppi_chunk(world, s0, goal, mu, seeds, cost, it2, zero, std, eps, X, L,
                                   S, U, path, z, rollouts, steps, q, q * C + c, c * W,
                                   min(c * W + W, N))
                    mppi_update(L, eps, w, mu, temperature, q)
                    trace_samples(trace, L, N, tbest, it2, (it2 + 1) * N, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                mppi_chunk(world, s0, goal, mu, seeds, cost, it, zero, std, eps, X, L, S, U,
                           path, z, rollouts, steps, q, np.int64(item), lo, min(lo + W, N))
        if not whole:
            for p in range(P):
                mppi_update(L, eps, w, mu, temperature, p)
                trace_samples(trace, L, N, tbest, it, (it + 1) * N, p)
    for p in range(P):
        for t in range(T):
            for j in range(d):
                out_actions[p, t, j] = mu[p, t, j]
    total_counts(rollouts, steps, C, out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial mean (P, T, d): the geometry's mean (``prior``) or 0 (``none``); a warm start
    (``batch.init_actions``) replaces it.  The perturbation law is unchanged."""
    if batch.init_actions is not None:
        return {"mu0": batch.init_actions.copy()}
    mean, _ = batch.prior_mean_std(usage)
    return {"mu0": mean}


def run(batch, hp, inputs):
    """Run :func:`mppi_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    mppi_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], batch.seeds,
                batch.cost_bundle(hp), int(hp["samples"]), int(hp["iterations"]), float(hp["noise_std"]),
                float(hp["temperature"]), batch.P >= threads,
                chunk_width(int(hp["samples"]), batch.P, threads), actions, samples, steps,
                inputs.get("trace", _NO_TRACE))
    return actions, samples, steps


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per round."""
    return int(hp["iterations"])


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`mppi_kernel` allocate (mu0, std, mu (P, T, d); eps and
    X (P, T, d, N); cost and w (P, N); the chunk scratch)."""
    N = int(hp["samples"])
    return (8 * (3 * P * T * d + 2 * T * d + 2 * P * T * d * N + 2 * P * N)
            + chunk_scratch_bytes(P, N, T, d, threads, n))
