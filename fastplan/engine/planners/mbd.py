"""Model-based diffusion (Pan et al. 2024, "Model-Based Diffusion for Trajectory Optimization"),
beyond the paper.

The target distribution of the action sequence is ``p_0(Y) ~ exp(-L(Y) / temperature)``.  Its
diffusion is reversed over noise levels ``sigma_K > ... > sigma_1`` with a score estimated by
Monte Carlo from rollouts of the model instead of a trained network.  At level k, with the
current estimate ``Ybar`` of the clean sequence:

    Y0_i = Ybar + noise * sigma_k * std * xi_i,   xi_i ~ N(0, I),  i = 1..samples
    w_i  = softmax_i(-(L_i - mean L) / (std L * temperature))       (costs standardised)
    Ybar <- sum_i w_i Y0_i

The score estimate ``(-Y_k + sqrt(abar_k) Ybar) / (1 - abar_k)`` inserted into the reverse step
``Y_{k-1} = (Y_k + (1 - abar_k) score) / sqrt(alpha_k)`` gives ``Y_{k-1} / sqrt(abar_{k-1}) = Ybar``
exactly, so the kernel updates Ybar directly (as the authors' ``mbd_planner.py`` does in effect).

**Schedule.** Pan et al.'s linear beta (1e-4 to 1e-2 over 100 steps) in continuous time:
``sigma(tau) = sqrt(1 - exp(-100 (1e-4 tau + (1e-2 - 1e-4) tau^2 / 2)))``, sampled at
``tau = (steps - k) / steps`` for k = 0..steps-1 (:func:`noise_levels`; from 0.63 down to
0.042 at 20 steps).  The budget therefore changes the number of levels, not their range.
``std`` is the geometry's per-coordinate std under ``prior`` (1 under ``none``), so the noise is
on the prior's scale; ``noise`` (0.5) scales it.  Ybar starts at the geometry's mean (``prior``),
0 (``none``, the authors' start), or a warm start.

The final Ybar is rolled out too; the plan is the cheapest sequence evaluated.  Rollouts:
``steps * samples + 1`` (1051 with the defaults 21 x 50, the paper's diffusion budget).
No clipping: the latent actions are unbounded.
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

#: Pan et al.'s schedule: beta from BETA0 to BETA1 over SCHEDULE_STEPS steps.
BETA0, BETA1, SCHEDULE_STEPS = 1e-4, 1e-2, 100


def noise_levels(steps: int) -> np.ndarray:
    """sigma_k for k = 0..steps-1, noisiest first (module docstring), shape (steps,)."""
    tau = (steps - np.arange(steps, dtype=np.float64)) / steps
    integral = SCHEDULE_STEPS * (BETA0 * tau + 0.5 * (BETA1 - BETA0) * tau * tau)
    return np.sqrt(-np.expm1(-integral))


@kernel
def zscore_weights(L, n, temperature, w, p):
    """w[p, :n] = exp(z_i - max z), z = -(L - mean L) / (std L * temperature) for the costs
    L[p, :n] (std ddof = 0;
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
def mbd_update(X, L, n, w, mu, sig, std0, levels, temperature, best_cost, out_actions, trace,
               it, done, p):
    """Keep problem p's cheapest sample, write trace row ``it``, move Ybar (mu) to the weighted
    mean and set the next level's spread ``sig = std0 * levels[it + 1]``."""
    T, d = mu.shape[1], mu.shape[2]
    mean = keep_best(X, L, n, best_cost, out_actions, p)
    done[p] += n
    trace_row(trace, p, it, best_cost[p], mean, done[p])
    zscore_weights(L, n, temperature, w, p)
    weighted_mean(X, w, n, mu, p)
    if it + 1 < levels.shape[0]:
        for t in range(T):
            for j in range(d):
                sig[p, t, j] = std0[p, t, j] * levels[it + 1]


@parallel_kernel
def mbd_kernel(world, s0, goal, mu0, std0, levels, seeds, stream, cost, n_samples, temperature,
               whole, W, trace, out_actions, out_samples, out_steps):
    """Plan P problems with model-based diffusion.

    world, cost : the batch's world and cost bundles; s0, goal : (P, n); mu0, std0 : (P, T, d)
    start and per-coordinate
    scale; levels : (steps,) noise multipliers (``noise * sigma_k``); seeds : (P,) uint64;
    stream : the planner's stream id.  ``whole``: one work item per problem for every level;
    else chunks of W samples and serial updates (same results).  trace : (P, R, 3) with
    R = steps + 1 (the last row: the final Ybar) or 0.
    """
    P, T, d = mu0.shape
    N = n_samples
    n_levels = levels.shape[0]
    C = n_chunks(N, W)
    mu = mu0.copy()
    sig = std0 * levels[0]
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
    for it in range(1 if whole else n_levels):     # from parallelising the loop)
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(n_levels):
                    for c in range(C):
                        sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it2, False, cost,
                                     unit, Z, X, L, S, U, path, z, rollouts, steps, q,
                                     q * C + c, c * W, min(c * W + W, N))
                    mbd_update(X, L, N, w, mu, sig, std0, levels, temperature, best_cost,
                               out_actions, trace, it2, done, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it, False, cost, unit, Z,
                             X, L, S, U, path, z, rollouts, steps, q, np.int64(item), lo,
                             min(lo + W, N))
        if not whole:
            for p in range(P):
                mbd_update(X, L, N, w, mu, sig, std0, levels, temperature, best_cost,
                           out_actions, trace, it, done, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)
    final_mean(world, s0, goal, mu, cost, best_cost, trace, n_levels, done, out_actions,
               out_samples, out_steps)


def prepare(batch, hp, usage):
    """Start Ybar (P, T, d): the geometry's mean (``prior``) or 0 (``none``), or the warm start;
    and the noise scale (P, T, d): the geometry's per-coordinate std (``prior``) or 1."""
    mean, std = batch.prior_mean_std(usage)
    if batch.init_actions is not None:
        mean = batch.init_actions.copy()
    return {"mu0": mean, "std0": std}


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per noise level and one for the final Ybar."""
    return int(hp["steps"]) + 1


def run(batch, hp, inputs):
    """Run :func:`mbd_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    trace = inputs.get("trace")
    levels = float(hp["noise"]) * noise_levels(int(hp["steps"]))
    mbd_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], inputs["std0"],
               levels, batch.seeds, np.uint64(STREAM_IDS["mbd"]), batch.cost_bundle(hp),
               int(hp["samples"]), float(hp["temperature"]), batch.P >= threads,
               chunk_width(int(hp["samples"]), batch.P, threads),
               new_trace(batch.P, 0) if trace is None else trace, actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`mbd_kernel` allocate (mu0, std0, mu, sig (P, T, d); X
    (P, T, d, N); costs and w (P, N); the final evaluation; the chunk scratch)."""
    N, n = int(hp["samples"]), d if n is None else n
    return (8 * (4 * P * T * d + P * T * d * (N + 2) + 2 * P * N + P * (2 * n + 6))
            + chunk_scratch_bytes(P, N, T, d, threads, n))
