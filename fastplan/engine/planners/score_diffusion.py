"""Score-guided diffusion: Eq. 9 with the geometry's analytic score added to the guidance
(issue 13; the paper's hypothesis that a generative prior which respects the geometry helps,
made testable).

The ``samples`` sequences are denoised as in :mod:`.diffusion`, with the prior score beside the
goal guidance g of Eq. 10::

    a^(k+1) = alpha_k a^(k) + (1 - alpha_k) [g(a^(k), s*) + eta v_min grad_a log p_geom(a^(k))]
              + sigma_k xi                                         (Eq. 9 + eta * prior score)

for every action a_t of a sequence, with the geometry's analytic score
(:func:`~fastplan.engine.geometry_kernels.score_one`).  Choices:

* ``v_min`` is the geometry's smallest variance (VAE 0.25, VQ-VAE 0.0025, sparse EBM its spike
  variance 0.0025; fitted mixtures their smallest component variance): the score is
  preconditioned so that eta is unit-free.  Near a Gaussian component N(mu, v I),
  ``v grad log p = -(a - mu)``, so a step's target is ``g - eta (a - mu)`` and its fixed point
  ``(g + eta mu) / (1 + eta)``: eta is the weight of the prior's mode against the goal
  guidance (1, the default: halfway).  Without the preconditioning one eta cannot serve the
  VAE and the VQ-VAE, whose variances differ 100-fold.  On the sparse EBM the term pulls the
  coordinates its density places off the support towards 0 (weight ``1 - P(j in S | a)``) and
  barely moves the others.
* The term sits inside Eq. 9's ``(1 - alpha_k)`` bracket, beside g: guidance and prior fade out
  together, and the last step (alpha = 1) is Eq. 9's.  Each step is a contraction while
  ``(1 - alpha_k)(1 + eta) < 2``: eta <= 1.1 at every step of 20; larger values oscillate in
  the first steps (eta = 8 diverges).

Everything else is :mod:`.diffusion`'s: the same a^(0), the same noise stream (so with
``eta = 0`` the plans equal diffusion's bit for bit, tested), guidance from one rollout per
sample and step, and the cheapest of the final samples is returned
(``samples = steps * samples + samples``).  With ``prior_weight`` > 0 the final choice uses
Eq. 5 plus the prior penalty (:mod:`._manifold`).
"""
from __future__ import annotations

import numba
import numpy as np

from .. import rng
from ..geometry_kernels import score_one
from ..geometry_stack import density_at
from ..jit import parallel_kernel
from ..worlds import ops
from ._common import (chunk_scratch, chunk_width, copy_col, n_chunks, new_outputs, rollout_cols,
                      soa_from_aos, total_counts)
from ._manifold import cost_at, density_scratch_bytes, with_densities


@parallel_kernel
def score_diffusion_kernel(world, s0, goal, dens, a0, seeds, cost, n_steps, noise_scale, guidance,
                           eta, W, out_actions, out_samples, out_steps):
    """Plan P problems with score-guided diffusion.

    world : the batch's world bundle; s0, goal : (P, n); dens : DensityStack of the P
    geometries; a0 : (P, N, T, d) initial samples; seeds : (P,) uint64; cost : the cost
    bundle; W : samples per work item.  Writes the cheapest final sample to out_actions
    (P, T, d) and per-problem counts.
    """
    P, N, T, d = a0.shape
    C = n_chunks(N, W)
    X = np.empty((P, T, d, N))
    for p in range(P):
        soa_from_aos(a0[p], X[p])
    L = np.empty((P, N))
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    v = np.empty((P * C, d, W))
    G = np.zeros((P * C, T, d, W))          # eta * v_min * score of each action (0 if eta = 0)
    ag = np.empty((P * C, 2, d))
    for item in numba.prange(P * C):
        p = item // C
        lo = (item % C) * W
        hi = min(lo + W, N)
        n = hi - lo
        dp = density_at(dens, p)
        step = eta * dens.var_min[p]
        for k in range(n_steps):
            alpha = (k + 1.0) / n_steps
            sigma = noise_scale * (1.0 - alpha)
            w = ops.world_at(world, p)
            steps[item] += rollout_cols(w, s0[p], goal[p], X[p], lo, hi, cost_at(cost, p),
                                        S[item], U[item], path[item], L[p])
            rollouts[item] += n
            # v = B^T (s_T - s*) for each sample of the chunk (the world's guidance direction)
            ops.guidance_cols(w, s0[p], goal[p], X[p], lo, n, S[item], v[item])
            if eta != 0.0:                   # the prior score at a^(k), before the update
                for i in range(n):
                    for t in range(T):
                        for j in range(d):
                            ag[item, 0, j] = X[p, t, j, lo + i]
                        score_one(dp, ag[item, 0], ag[item, 1])
                        for j in range(d):
                            G[item, t, j, i] = step * ag[item, 1, j]
            key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, k, 0))
            m = T * d
            zc = z[item, : n * m]
            rng.fill_normal(key, np.uint64(lo * m), zc)
            for t in range(T):
                gt = -guidance * ((t + 1.0) / T) / T
                for j in range(d):
                    for i in range(lo, hi):
                        X[p, t, j, i] = (alpha * X[p, t, j, i]
                                         + (1.0 - alpha) * (gt * v[item, j, i - lo] + G[item, t, j, i - lo])
                                         + sigma * zc[(i - lo) * m + t * d + j])
        steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], X[p], lo, hi,
                                    cost_at(cost, p), S[item], U[item], path[item], L[p])
        rollouts[item] += n
    for p in range(P):
        best = 0
        for i in range(1, N):
            if L[p, i] < L[p, best]:
                best = i
        copy_col(X[p], best, out_actions[p])
    total_counts(rollouts, steps, C, out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial samples a^(0) as diffusion's, and the stacked densities."""
    from .diffusion import prepare as diffusion_prepare
    return with_densities(diffusion_prepare(batch, hp, usage), batch, "score-guided diffusion")


def run(batch, hp, inputs):
    """Run :func:`score_diffusion_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    score_diffusion_kernel(batch.world, batch.s0, batch.goal, inputs["dens"], inputs["a0"],
                           batch.seeds, batch.cost_bundle(hp), int(hp["steps"]),
                           float(hp["noise_scale"]), float(hp["guidance"]), float(hp["eta"]),
                           chunk_width(int(hp["samples"]), batch.P, numba.get_num_threads()),
                           actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes of :func:`.diffusion.scratch_bytes` plus the score scratch G (one (T, d, W) block
    per work item), the score rows and the stacked densities."""
    from .diffusion import scratch_bytes as diffusion_bytes
    N = int(hp["samples"])
    W = chunk_width(N, P, threads)
    return (diffusion_bytes(P, T, d, hp, threads, n) + 8 * P * (-(-N // W)) * T * d * W
            + density_scratch_bytes(P, N, d, threads))
