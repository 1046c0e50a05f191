"""Projected MPPI: Eq. 6 with every perturbed sequence mapped onto the geometry before it is
rolled out (issue 13, geometry-aware planners).

Each round draws eps_i ~ N(0, noise_std^2 I) exactly as :mod:`.mppi` does (the same noise
stream), rolls out the projections ``proj(mu + eps_i)`` (action by action, see
:func:`~fastplan.engine.geometry_kernels.project_one`) and updates the mean with the weights of
their costs, ``mu <- mu + sum_i w_i eps_i`` (:func:`.mppi.mppi_update`; the mean itself stays
unconstrained, as a decoder's input would).  The plan returned is ``proj(mu)`` of the final
mean: it lies on the geometry, so a decoded environment executes it unchanged.
``samples = iterations * samples``.

With ``prior_weight`` > 0 the cost of every sample is Eq. 5 plus the prior penalty
(:mod:`._manifold`).  Geometry usage: as MPPI (``prior``: mu starts at the geometry mean;
``none``: at 0); a warm start replaces the initial mean.
"""
from __future__ import annotations

import numba
import numpy as np

from .. import rng
from ..geometry_kernels import project_one
from ..geometry_stack import density_at
from ..jit import kernel, parallel_kernel
from ..worlds import ops
from ._common import (chunk_scratch, chunk_width, fill_gaussian_cols, n_chunks, new_outputs,
                      rollout_cols, total_counts)
from ._manifold import cost_at, density_scratch_bytes, project_cols, with_densities
from .mppi import mppi_update


@kernel
def pmppi_chunk(world, s0, goal, dens, mu, seeds, cost, it, zero, std, eps, X, L, S, U, path, z,
                ab, rollouts, steps, p, item, lo, hi):
    """Draw eps for samples lo..hi-1 of problem p in round ``it``, form mu + eps, project it
    onto the geometry and roll it out into L[p] (the cost of the bundle, prior included)."""
    T, d = mu.shape[1], mu.shape[2]
    key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, it, 0))
    fill_gaussian_cols(key, zero, std, eps[p], lo, hi, z[item])
    for t in range(T):
        for j in range(d):
            m = mu[p, t, j]
            for i in range(lo, hi):
                X[p, t, j, i] = m + eps[p, t, j, i]
    project_cols(density_at(dens, p), X[p], lo, hi, ab[item, 0], ab[item, 1])
    steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], X[p], lo, hi,
                                cost_at(cost, p), S[item], U[item], path[item], L[p])
    rollouts[item] += hi - lo


@parallel_kernel
def pmppi_kernel(world, s0, goal, dens, mu0, seeds, cost, n_samples, iterations, noise_std,
                 temperature, whole, W, out_actions, out_samples, out_steps):
    """Plan P problems with projected MPPI.

    Arguments as :func:`.mppi.mppi_kernel`, plus dens (the stacked densities).  Writes
    proj(final mean) to out_actions (P, T, d) and per-problem counts.
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
    ab = np.empty((P * C, 2, d))
    w = np.empty((P, N))
    n_items = P if whole else P * C
    for it in range(1 if whole else iterations):
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        pmppi_chunk(world, s0, goal, dens, mu, seeds, cost, it2, zero, std, eps, X,
                                    L, S, U, path, z, ab, rollouts, steps, q, q * C + c, c * W,
                                    min(c * W + W, N))
                    mppi_update(L, eps, w, mu, temperature, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                pmppi_chunk(world, s0, goal, dens, mu, seeds, cost, it, zero, std, eps, X, L, S,
                            U, path, z, ab, rollouts, steps, q, np.int64(item), lo, min(lo + W, N))
        if not whole:
            for p in range(P):
                mppi_update(L, eps, w, mu, temperature, p)
    for p in range(P):
        dp = density_at(dens, p)
        for t in range(T):
            project_one(dp, mu[p, t], out_actions[p, t])
    total_counts(rollouts, steps, C, out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial mean (P, T, d) as MPPI's, and the stacked densities."""
    from .mppi import prepare as mppi_prepare
    return with_densities(mppi_prepare(batch, hp, usage), batch, "projected MPPI")


def run(batch, hp, inputs):
    """Run :func:`pmppi_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    pmppi_kernel(batch.world, batch.s0, batch.goal, inputs["dens"], inputs["mu0"], batch.seeds,
                 batch.cost_bundle(hp), int(hp["samples"]), int(hp["iterations"]),
                 float(hp["noise_std"]), float(hp["temperature"]), batch.P >= threads,
                 chunk_width(int(hp["samples"]), batch.P, threads), actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes of :func:`.mppi.scratch_bytes` plus the projection rows and the stacked densities."""
    from .mppi import scratch_bytes as mppi_bytes
    return mppi_bytes(P, T, d, hp, threads, n) + density_scratch_bytes(P, int(hp["samples"]), d, threads)
