"""Guidance diffusion planning (Sec. 2.3, Eq. 9-10).

``samples`` (50) sequences a^(0) are denoised for ``steps`` (20) steps::

    a^(k+1) = alpha_k a^(k) + (1 - alpha_k) g(a^(k), s*) + sigma_k xi,    (Eq. 9)
    alpha_k = (k+1)/steps,  sigma_k = noise_scale (1 - alpha_k),  xi ~ N(0, I)
    g_t = -guidance * (t/T) * B^T (s_T - s*) / T,   t = 1..T            (Eq. 10)

where s_T is the final state of rolling out a^(k) (one rollout per sample and step).
Finally every sample's cost (Eq. 5) is evaluated and the cheapest is returned:
``samples = steps * samples + samples`` = 1050 with the paper's values (the paper's
count).  The last step has alpha = 1, so its guidance rollout is multiplied by 0 and the
final evaluation re-evaluates the same sequences; we keep the algorithm literal and count
what it does.

Geometry usage: ``prior`` draws a^(0) from the geometry, ``none`` from N(0, I) (the
paper).  After 20 steps the weight of a^(0) is prod_k alpha_k = 20!/20^20 ~ 2e-8, so the
start is forgotten: the prior changes nothing measurable here (README).
"""
from __future__ import annotations

import numba
import numpy as np

from .. import rng
from ..jit import parallel_kernel
from ..worlds import ops
from ._manifold import cost_at
from ._common import (chunk_scratch, chunk_scratch_bytes, chunk_width, copy_col, n_chunks,
                      new_outputs, rollout_cols, soa_from_aos, total_counts)
from ._trace import NO_TRACE as _NO_TRACE, trace_samples


@parallel_kernel
def diffusion_kernel(world, s0, goal, a0, seeds, cost, n_steps, noise_scale, guidance, W,
                     out_actions, out_samples, out_steps, trace):
    """Plan P problems with guidance diffusion.

    world : the batch's world bundle; s0, goal : (P, n); cost : the cost bundle;
    a0 : (P, N, T, d) initial samples;
    seeds : (P,) uint64; W : samples per work item (:func:`~fastplan.planners._common.
    chunk_width`).  Writes the best final sample to out_actions (P, T, d), and trace
    (P, R, 3) rows per denoising step and for the final evaluation when R = steps + 1
    (R = 0: none).
    """
    P, N, T, d = a0.shape
    C = n_chunks(N, W)
    X = np.empty((P, T, d, N))
    for p in range(P):
        soa_from_aos(a0[p], X[p])
    L = np.empty((P, N))
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    v = np.empty((P * C, d, W))
    Lk = np.empty((trace.shape[1], P, N))     # each traced step's costs (rows written after)
    for item in numba.prange(P * C):
        p = item // C
        lo = (item % C) * W
        hi = min(lo + W, N)
        n = hi - lo
        for k in range(n_steps):
            alpha = (k + 1.0) / n_steps
            sigma = noise_scale * (1.0 - alpha)
            w = ops.world_at(world, p)
            steps[item] += rollout_cols(w, s0[p], goal[p], X[p], lo, hi, cost_at(cost, p),
                                        S[item], U[item], path[item], L[p])
            rollouts[item] += n
            if k < Lk.shape[0]:
                for i in range(lo, hi):
                    Lk[k, p, i] = L[p, i]
            # v = B^T (s_T - s*) for each sample of the chunk (the world's guidance direction)
            ops.guidance_cols(w, s0[p], goal[p], X[p], lo, n, S[item], v[item])
            key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_NOISE, k, 0))
            m = T * d
            zc = z[item, : n * m]
            rng.fill_normal(key, np.uint64(lo * m), zc)
            for t in range(T):
                gt = -guidance * ((t + 1.0) / T) / T
                for j in range(d):
                    for i in range(lo, hi):
                        X[p, t, j, i] = (alpha * X[p, t, j, i]
                                         + (1.0 - alpha) * (gt * v[item, j, i - lo])
                                         + sigma * zc[(i - lo) * m + t * d + j])
        steps[item] += rollout_cols(ops.world_at(world, p), s0[p], goal[p], X[p], lo, hi,
                                    cost_at(cost, p), S[item], U[item], path[item], L[p])
        rollouts[item] += n
        if n_steps < Lk.shape[0]:
            for i in range(lo, hi):
                Lk[n_steps, p, i] = L[p, i]
    tbest = np.full(P, np.inf)
    for r in range(Lk.shape[0]):
        for p in range(P):
            trace_samples(trace, Lk[r], N, tbest, r, (r + 1) * N, p)
    for p in range(P):
        best = 0
        for i in range(1, N):
            if L[p, i] < L[p, best]:
                best = i
        copy_col(X[p], best, out_actions[p])
    total_counts(rollouts, steps, C, out_samples, out_steps)


def prepare(batch, hp, usage):
    """Initial samples a^(0), (P, N, T, d): geometry draws (``prior``) or N(0, I) (``none``).

    A warm start (``batch.init_actions``) centres them on it: the same draws, minus their
    law's mean, plus the initial plan.  Diffusion forgets a^(0) (weight ~2e-8 after 20
    steps), so a warm start changes its plans only negligibly.
    """
    n = int(hp["samples"])
    if batch.init_actions is not None:
        return {"a0": batch.centred_draws(n, usage, batch.init_actions)}
    return {"a0": batch.initial_draws(n, usage)}


def run(batch, hp, inputs):
    """Run :func:`diffusion_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    diffusion_kernel(batch.world, batch.s0, batch.goal, inputs["a0"], batch.seeds,
                     batch.cost_bundle(hp), int(hp["steps"]), float(hp["noise_scale"]),
                     float(hp["guidance"]), chunk_width(int(hp["samples"]), batch.P,
                                                        numba.get_num_threads()),
                     actions, samples, steps, inputs.get("trace", _NO_TRACE))
    return actions, samples, steps


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per denoising step and one for the final evaluation."""
    return int(hp["steps"]) + 1


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`diffusion_kernel` allocate (a0 (P, N, T, d) and one
    problem's draws; X (P, T, d, N); cost (P, N); v and the chunk scratch)."""
    N = int(hp["samples"])
    W = chunk_width(N, P, threads)
    items = P * (-(-N // W))
    return (8 * (P * N * T * d + N * T * d + P * T * d * N + P * N + items * d * W)
            + chunk_scratch_bytes(P, N, T, d, threads, n))
