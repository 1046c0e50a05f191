"""Cross-Entropy Method (Sec. 2.3).

A diagonal Gaussian N(mu, sigma^2) over the flattened (T, d) action sequence.  Each of
``iterations`` rounds samples ``population`` sequences, keeps the ``n_elite =
round(elite_fraction * population)`` cheapest (Eq. 5; ties by lowest index) and refits mu
and sigma (population std, ddof=0) to them.  The plan returned is the cheapest sequence
evaluated in any round (as mbrl-lib's CEM does), so no rollout is spent on evaluating the
final mean: ``samples = iterations * population`` (2000 with the paper's values).

Geometry usage: ``prior`` starts from the geometry's exact mean and per-coordinate std
(tiled over the horizon); ``none`` from N(0, I).
"""
from __future__ import annotations

import numba
import numpy as np

from .. import rng
from ..jit import kernel, parallel_kernel
from ..worlds import ops
from . import n_elite as _n_elite
from ._manifold import cost_at
from ._common import (chunk_scratch, chunk_scratch_bytes, chunk_width, copy_col, elite_order,
                      fill_gaussian_cols, n_chunks, new_outputs, rollout_cols, total_counts)
from ._trace import NO_TRACE as _NO_TRACE, trace_samples


@kernel
def cem_chunk(world, s0, goal, mu, sig, seeds, cost, it, pop, L, S, U, path, z, rollouts,
              steps, p, item, lo, hi):
    """Sample sequences lo..hi-1 of problem p in round ``it`` from N(mu, sig^2) and roll them
    out into L[p] (scratch and counters of work item ``item``)."""
    key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, it, 0))
    fill_gaussian_cols(key, mu[p], sig[p], pop[p], lo, hi, z[item])
    steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], pop[p], lo, hi,
                                cost_at(cost, p), S[item], U[item], path[item], L[p])
    rollouts[item] += hi - lo


@kernel
def cem_refit(pop, cost, mu, sig, best_cost, order, E, out_actions, p):
    """Keep problem p's cheapest sequence so far and refit mu, sig (ddof=0) to its elites.

    order : (n_elite,) and E : (n_elite, T*d) scratch of this problem.  The elites are
    gathered once into E, so both passes run over contiguous (t, j) rows; each (t, j)
    still sums its elites in rank order.
    """
    T, d = mu.shape[1], mu.shape[2]
    n_elite = order.shape[0]
    elite_order(cost[p], n_elite, order)
    if cost[p, order[0]] < best_cost[p]:
        best_cost[p] = cost[p, order[0]]
        copy_col(pop[p], order[0], out_actions[p])
    for e in range(n_elite):
        src = order[e]
        for t in range(T):
            for j in range(d):
                E[e, t * d + j] = pop[p, t, j, src]
    m = mu[p].reshape(T * d)
    v = sig[p].reshape(T * d)
    for q in range(T * d):
        m[q] = 0.0
        v[q] = 0.0
    for e in range(n_elite):
        for q in range(T * d):
            m[q] += E[e, q]
    for q in range(T * d):
        m[q] /= n_elite
    for e in range(n_elite):
        for q in range(T * d):
            diff = E[e, q] - m[q]
            v[q] += diff * diff
    for q in range(T * d):
        v[q] = np.sqrt(v[q] / n_elite)


@parallel_kernel
def cem_kernel(world, s0, goal, mu0, sig0, seeds, cost, population, iterations, n_elite,
               whole, W, out_actions, out_samples, out_steps, trace):
    """Plan P problems with CEM.

    world : the batch's world bundle; s0, goal : (P, n); cost : the cost bundle;
    mu0, sig0 : (P, T, d) initial mean and std;
    seeds : (P,) uint64.  ``whole`` (at least as many problems as threads): one work item
    runs a problem's every round; else work items are chunks of W samples
    (:func:`~fastplan.planners._common.chunk_width`) and the refits run serially.  Results
    are the same.  Writes out_actions (P, T, d) and per-problem rollout / step counts, and
    trace (P, R, 3) rows per round when R = iterations (R = 0: none).
    """
    P, T, d = mu0.shape
    N = population
    C = n_chunks(N, W)
    mu = mu0.copy()
    sig = sig0.copy()
    pop = np.empty((P, T, d, N))
    L = np.empty((P, N))
    best_cost = np.full(P, np.inf)
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    order = np.empty((P, n_elite), dtype=np.int64)
    E = np.empty((P, n_elite, T * d))
    tbest = np.full(P, np.inf)
    n_items = P if whole else P * C          # (a conditional inside prange() stops Numba
    for it in range(1 if whole else iterations):   # from parallelising the loop)
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        cem_chunk(world, s0, goal, mu, sig, seeds, cost, it2, pop, L, S, U,
                                  path, z, rollouts, steps, q, q * C + c, c * W,
                                  min(c * W + W, N))
                    cem_refit(pop, L, mu, sig, best_cost, order[q], E[q], out_actions, q)
                    trace_samples(trace, L, N, tbest, it2, (it2 + 1) * N, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                cem_chunk(world, s0, goal, mu, sig, seeds, cost, it, pop, L, S, U, path, z,
                          rollouts, steps, q, np.int64(item), lo, min(lo + W, N))
        if not whole:
            for p in range(P):
                cem_refit(pop, L, mu, sig, best_cost, order[p], E[p], out_actions, p)
                trace_samples(trace, L, N, tbest, it, (it + 1) * N, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial mean and std (P, T, d) from the geometry (``prior``) or N(0, I) (``none``).

    A warm start (``batch.init_actions``, (P, T, d)) replaces the initial mean; the initial
    std stays the usage's (so a warm start narrows nothing and can still move away).
    """
    mean, std = batch.prior_mean_std(usage)
    if batch.init_actions is not None:
        mean = batch.init_actions.copy()
    return {"mu0": mean, "sig0": std}


def run(batch, hp, inputs):
    """Run :func:`cem_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    cem_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], inputs["sig0"],
               batch.seeds, batch.cost_bundle(hp), int(hp["population"]), int(hp["iterations"]),
               int(_n_elite(hp)), batch.P >= threads,
               chunk_width(int(hp["population"]), batch.P, threads), actions, samples, steps,
               inputs.get("trace", _NO_TRACE))
    return actions, samples, steps


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per round."""
    return int(hp["iterations"])


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`cem_kernel` allocate (mu0, sig0, mu, sig (P, T, d);
    pop (P, T, d, N); cost (P, N); elites (P, n_elite, T*d); the chunk scratch)."""
    N, ne = int(hp["population"]), int(_n_elite(hp))
    return (8 * (4 * P * T * d + P * T * d * N + P * N + P + P * ne + P * ne * T * d)
            + chunk_scratch_bytes(P, N, T, d, threads, n))
