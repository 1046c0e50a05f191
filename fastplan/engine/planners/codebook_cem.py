"""Codebook CEM: the Cross-Entropy Method over a codebook's entries (issue 13, geometry-aware
planners), for the VQ-VAE geometry and the codebook geometries fitted from data (k-means; the
empirical kind, whose rows are its codes).  On any other mixture (the VAE, a fitted GMM) the
codes are its component means, the modes; the sparse EBM has no codebook and is refused.

The search distribution is a categorical law over the K codes c_1..c_K at every step t,
``probs`` of shape (T, K).  Each of ``iterations`` rounds draws ``population`` code sequences
(code of sample i at step t: the inverse CDF of ``probs[t]`` at uniform number ``i T + t`` of
the stream (seed, PLAN_CODES, round)), rolls out the actions ``a_t = c_code`` (Eq. 5, plus the
prior penalty when ``prior_weight`` > 0), keeps the ``n_elite = round(elite_fraction *
population)`` cheapest (ties by lowest index) and refits ``probs[t, k]`` to the share of elites
whose code at step t is k.  The plan returned is the cheapest sequence evaluated: every action
is a code, so a decoded environment executes it unchanged (a VAE mode lies inside its own 99%
ball).  ``samples = iterations * population``.

Geometry usage: ``prior`` starts from the geometry's mixture weights (uniform for the paper's
codebook, cluster sizes for k-means), ``none`` from the uniform law.  A warm start
(``init_actions``) puts half of each step's probability on the code nearest to the warm
action and spreads the other half as the usage says.
"""
from __future__ import annotations

import numba
import numpy as np

from .. import rng
from ..errors import FastplanError
from ..geometry_density import MIXTURE
from ..geometry_stack import stack_densities
from ..jit import kernel, parallel_kernel
from ..worlds import ops
from . import n_elite as _n_elite
from ._common import (chunk_scratch, chunk_width, copy_col, elite_order, n_chunks, new_outputs,
                      rollout_cols, total_counts)
from ._manifold import cost_at, density_scratch_bytes


@kernel(inline=True)
def draw_code(probs_t, K, u):
    """Inverse CDF of the categorical law probs_t[:K] at u in [0, 1): the first code whose
    cumulative probability exceeds u (the last code of positive probability if rounding
    leaves u above the total)."""
    acc = 0.0
    chosen = 0
    for c in range(K):
        pc = probs_t[c]
        acc += pc
        if pc > 0.0:
            chosen = c
            if u < acc:
                break
    return chosen


@kernel
def codes_chunk(world, s0, goal, dens, probs, seeds, cost, it, pop, codes, L, S, U, path,
                rollouts, steps, p, item, lo, hi):
    """Draw the code sequences lo..hi-1 of problem p in round ``it``, write their actions into
    pop[p] and roll them out into L[p] (the cost of the bundle, prior included)."""
    T, d = pop.shape[1], pop.shape[2]
    K = dens.n_comp[p]
    key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_CODES, it, 0))
    for i in range(lo, hi):
        for t in range(T):
            c = draw_code(probs[p, t], K, rng.uniform(key, np.uint64(i * T + t)))
            codes[p, t, i] = c
            for j in range(d):
                pop[p, t, j, i] = dens.centers[p, c, j]
    steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], pop[p], lo, hi,
                                cost_at(cost, p), S[item], U[item], path[item], L[p])
    rollouts[item] += hi - lo


@kernel
def codes_refit(pop, codes, cost, probs, best_cost, order, out_actions, p):
    """Keep problem p's cheapest sequence so far; refit ``probs[p, t, k]`` = (number of
    elites with code k at step t) / n_elite."""
    T, K = probs.shape[1], probs.shape[2]
    n_elite = order.shape[0]
    elite_order(cost[p], n_elite, order)
    if cost[p, order[0]] < best_cost[p]:
        best_cost[p] = cost[p, order[0]]
        copy_col(pop[p], order[0], out_actions[p])
    for t in range(T):
        for k in range(K):
            probs[p, t, k] = 0.0
        for e in range(n_elite):
            probs[p, t, codes[p, t, order[e]]] += 1.0
        for k in range(K):
            probs[p, t, k] /= n_elite


@parallel_kernel
def codebook_cem_kernel(world, s0, goal, dens, probs0, seeds, cost, population, iterations,
                        n_elite, whole, W, out_actions, out_samples, out_steps):
    """Plan P problems with codebook CEM.

    world : the batch's world bundle; s0, goal : (P, n); dens : DensityStack (the codes are
    its centres); probs0 : (P, T, K) initial categorical laws (K = the most codes of the
    batch, zero-padded); seeds : (P,) uint64; cost : the cost bundle; ``whole`` and ``W`` as
    :func:`.cem.cem_kernel` (results do not depend on them).  Writes out_actions (P, T, d)
    and per-problem counts.
    """
    P, T, _ = probs0.shape
    d = dens.centers.shape[2]
    N = population
    C = n_chunks(N, W)
    probs = probs0.copy()
    pop = np.empty((P, T, d, N))
    codes = np.empty((P, T, N), dtype=np.int64)
    L = np.empty((P, N))
    best_cost = np.full(P, np.inf)
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    order = np.empty((P, n_elite), dtype=np.int64)
    n_items = P if whole else P * C
    for it in range(1 if whole else iterations):
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        codes_chunk(world, s0, goal, dens, probs, seeds, cost, it2, pop, codes, L,
                                    S, U, path, rollouts, steps, q, q * C + c, c * W,
                                    min(c * W + W, N))
                    codes_refit(pop, codes, L, probs, best_cost, order[q], out_actions, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                codes_chunk(world, s0, goal, dens, probs, seeds, cost, it, pop, codes, L, S, U,
                            path, rollouts, steps, q, np.int64(item), lo, min(lo + W, N))
        if not whole:
            for p in range(P):
                codes_refit(pop, codes, L, probs, best_cost, order[p], out_actions, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)


def check_geometry(geometry) -> None:
    """Refuse a geometry without a codebook: one whose density is not a mixture (the sparse
    EBM) or that has no density at all."""
    params = geometry.density_params() if hasattr(geometry, "density_params") else None
    if params is None or params.kind != MIXTURE:
        name = getattr(geometry, "kind", type(geometry).__name__)
        raise FastplanError(f"codebook-cem plans over a codebook (or a mixture's modes); geometry "
                            f"{name!r} has none (use vqvae or vae, or a kmeans, empirical or gmm "
                            f"geometry fitted from data)")


def initial_probs(batch, dens, usage: str) -> np.ndarray:
    """Initial categorical laws (P, T, K): the mixture weights (``prior``) or uniform
    (``none``) at every step, zero on the padding; a warm start moves half of each step's
    probability onto the code nearest to its action."""
    P, T = batch.P, batch.T
    K = dens.centers.shape[1]
    probs = np.zeros((P, T, K))
    for p in range(P):
        k = int(dens.n_comp[p])
        law = dens.weights[p, :k] if usage == "prior" else np.full(k, 1.0 / k)
        probs[p, :, :k] = law
        if batch.init_actions is not None:
            d2 = ((batch.init_actions[p][:, None, :] - dens.centers[p, None, :k]) ** 2).sum(axis=2)
            probs[p, :, :k] *= 0.5
            probs[p, np.arange(T), np.argmin(d2, axis=1)] += 0.5
    return probs


def prepare(batch, hp, usage):
    """The stacked densities (codes) and the initial categorical laws."""
    for g in batch.geometries:
        check_geometry(g)
    dens = stack_densities(batch.geometries, "codebook CEM")
    return {"dens": dens, "probs0": initial_probs(batch, dens, usage)}


def run(batch, hp, inputs):
    """Run :func:`codebook_cem_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    codebook_cem_kernel(batch.world, batch.s0, batch.goal, inputs["dens"], inputs["probs0"],
                        batch.seeds, batch.cost_bundle(hp), int(hp["population"]),
                        int(hp["iterations"]), int(_n_elite(hp)), batch.P >= threads,
                        chunk_width(int(hp["population"]), batch.P, threads), actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`codebook_cem_kernel` allocate: probs0 and probs
    (P, T, K) with K = 8 (the paper's codebook; fitted ones add theirs), pop (P, T, d, N),
    codes (P, T, N), cost (P, N), the elites, the chunk scratch and the stacked densities."""
    from ._common import chunk_scratch_bytes
    N, K = int(hp["population"]), 8
    return (8 * (2 * P * T * K + P * T * d * N + P * T * N + P * N + P + P * int(_n_elite(hp)))
            + chunk_scratch_bytes(P, N, T, d, threads, n) + density_scratch_bytes(P, N, d, threads))
