"""Projected CEM: the Cross-Entropy Method with every sample mapped onto the geometry before
it is rolled out (issue 13, geometry-aware planners).

Each round draws ``population`` sequences from the diagonal Gaussian N(mu, sigma^2) exactly as
:mod:`.cem` does (the same noise stream: with equal settings the raw draws of round 0 are
CEM's), replaces every action a_t by its projection onto the geometry's high-density set
(:func:`~fastplan.engine.geometry_kernels.project_one`: VAE the 99% ball of the nearest
component, VQ-VAE the nearest code, sparse EBM the floor(0.3 d) largest coordinates), rolls the
projected sequences out and refits mu and sigma to the projected elites (:func:`.cem.cem_refit`:
the search distribution lives on the actions the environment receives).  The plan returned is
the cheapest projected sequence evaluated, so it lies on the geometry: a decoded environment
executes it unchanged (projections are idempotent) and its exploitation gap is 0.
``samples = iterations * population``.

With ``prior_weight`` > 0 the cost of every sample is Eq. 5 plus the prior penalty
(:mod:`._manifold`); with action bounds (:class:`fastplan.Cost`) the projected samples are then
clipped into the box.  Geometry usage: as CEM (``prior``: geometry mean and std; ``none``:
N(0, I)); a warm start replaces the initial mean.
"""
from __future__ import annotations

import numba
import numpy as np

from .. import rng
from ..geometry_stack import density_at
from ..jit import kernel, parallel_kernel
from ..worlds import ops
from . import n_elite as _n_elite
from ._common import (chunk_scratch, chunk_width, fill_gaussian_cols, n_chunks, new_outputs,
                      rollout_cols, total_counts)
from ._manifold import cost_at, density_scratch_bytes, project_cols, with_densities
from .cem import cem_refit


@kernel
def pcem_chunk(world, s0, goal, dens, mu, sig, seeds, cost, it, pop, L, S, U, path, z, ab,
               rollouts, steps, p, item, lo, hi):
    """Draw sequences lo..hi-1 of problem p in round ``it`` from N(mu, sig^2), project them
    onto the geometry and roll them out into L[p] (the cost of the bundle, prior included)."""
    key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, it, 0))
    fill_gaussian_cols(key, mu[p], sig[p], pop[p], lo, hi, z[item])
    project_cols(density_at(dens, p), pop[p], lo, hi, ab[item, 0], ab[item, 1])
    steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], pop[p], lo, hi,
                                cost_at(cost, p), S[item], U[item], path[item], L[p])
    rollouts[item] += hi - lo


@parallel_kernel
def pcem_kernel(world, s0, goal, dens, mu0, sig0, seeds, cost, population, iterations, n_elite,
                whole, W, out_actions, out_samples, out_steps):
    """Plan P problems with projected CEM.

    world : the batch's world bundle; s0, goal : (P, n); dens : DensityStack of the P
    geometries; mu0, sig0 : (P, T, d); seeds : (P,) uint64; cost : the cost bundle;
    ``whole`` and ``W`` as :func:`.cem.cem_kernel` (results do not depend on them).
    Writes out_actions (P, T, d) and per-problem counts.
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
    ab = np.empty((P * C, 2, d))
    order = np.empty((P, n_elite), dtype=np.int64)
    E = np.empty((P, n_elite, T * d))
    n_items = P if whole else P * C
    for it in range(1 if whole else iterations):
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        pcem_chunk(world, s0, goal, dens, mu, sig, seeds, cost, it2, pop, L, S, U,
                                   path, z, ab, rollouts, steps, q, q * C + c, c * W,
                                   min(c * W + W, N))
                    cem_refit(pop, L, mu, sig, best_cost, order[q], E[q], out_actions, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                pcem_chunk(world, s0, goal, dens, mu, sig, seeds, cost, it, pop, L, S, U, path, z,
                           ab, rollouts, steps, q, np.int64(item), lo, min(lo + W, N))
        if not whole:
            for p in range(P):
                cem_refit(pop, L, mu, sig, best_cost, order[p], E[p], out_actions, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial mean and std (P, T, d) as CEM's, and the stacked densities."""
    from .cem import prepare as cem_prepare
    return with_densities(cem_prepare(batch, hp, usage), batch, "projected CEM")


def run(batch, hp, inputs):
    """Run :func:`pcem_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    pcem_kernel(batch.world, batch.s0, batch.goal, inputs["dens"], inputs["mu0"], inputs["sig0"],
                batch.seeds, batch.cost_bundle(hp), int(hp["population"]), int(hp["iterations"]),
                int(_n_elite(hp)), batch.P >= threads,
                chunk_width(int(hp["population"]), batch.P, threads), actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes of :func:`.cem.scratch_bytes` plus the projection rows and the stacked densities."""
    from .cem import scratch_bytes as cem_bytes
    return cem_bytes(P, T, d, hp, threads, n) + density_scratch_bytes(P, int(hp["population"]), d, threads)
