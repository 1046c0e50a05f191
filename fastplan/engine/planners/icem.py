"""iCEM, the improved cross-entropy method (Pinneri et al. 2020), beyond the paper.

CEM (Sec. 2.3) with the changes of iCEM (martius-lab/iCEM, ``MpcICem``):

* **coloured noise**: a sample is ``mu + sig * (M xi)``, where ``xi`` holds T standard normals per
  action coordinate and M (T, T) maps them to a stationary Gaussian sequence over time with power
  spectrum proportional to ``f^-beta`` (Timmer & Koenig 1995, the method of the ``colorednoise``
  package), normalised to unit variance per step.  M is the inverse real DFT written as a
  matrix (:func:`noise_matrix`), so no FFT runs and every sample's numbers are a fixed sum of its
  own keyed normals (the same on any number of threads).  beta = 0 is white noise, drawn as is;
  iCEM uses beta = 2-4 (here 2.0);
* **kept elites**: the ``floor(keep_fraction * elites)`` cheapest elites of an iteration join
  the next iteration's candidates with their costs (the model is deterministic, so they are not
  rolled out again and cost no rollout);
* **decaying population**: iteration i draws ``N_i = max(2 elites, int(N_{i-1} / decay))``
  samples (``N_0 = population``);
* **momentum**: ``mu <- (1 - momentum) mean(elites) + momentum mu``, the same for ``sig``
  (elite std, ddof = 0);
* the mean itself is sample 0 of the last iteration.

``elites`` is a count (the paper's CEM keeps 10 % of 200 = 20).  The plan is the cheapest
sequence evaluated.  No clipping: the latent actions are unbounded.  Rollouts:
``sum_i N_i`` (1986 with the defaults: 200, 160, 128, ..., then 40 from the 9th iteration on).

Geometry usage as CEM's: ``prior`` starts from the geometry's mean and per-coordinate std,
``none`` from N(0, I); a warm start replaces the initial mean.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..beyond import STREAM_IDS, population_sizes
from ..jit import kernel, parallel_kernel
from ._common import (chunk_scratch, chunk_scratch_bytes, chunk_width, elite_order, n_chunks,
                      new_outputs, total_counts)
from ._sampling import keep_best, sample_chunk
from ._trace import new_trace, trace_row


def noise_matrix(beta: float, T: int) -> np.ndarray:
    """Coloured-noise map M (T, T): ``M xi`` for ``xi ~ N(0, I_T)`` is a stationary Gaussian
    sequence with power spectrum ``S(f) ~ f^-beta`` and unit variance per step.

    The real degrees of freedom of a length-T spectrum are, in order: the DC term, (cos, sin)
    of frequency k/T for 1 <= k < T/2, and the Nyquist term for even T.  Each gets the
    amplitude ``f_k^(-beta/2)`` (``f_0 := f_1``, i.e. ``colorednoise``'s fmin = 1/T) times its
    inverse-DFT weight (sqrt 2 for DC and Nyquist, 2 for the pairs), and column c of M is that
    basis sequence: ``M[t, 2k-1] = 2 s_k cos(2 pi k t / T)``, ``M[t, 2k] = -2 s_k sin(...)``.
    Rows are scaled to unit norm (unit variance).  beta = 0 (or T = 1): white noise, returned as
    an empty (0, 0) map (the kernels then draw the normals as they are).
    """
    if beta == 0 or T == 1:
        return np.zeros((0, 0))
    K = T // 2 + 1
    f = np.arange(K, dtype=np.float64) / T
    f[0] = f[1]
    s = f ** (-beta / 2.0)
    t = np.arange(T, dtype=np.float64)
    cols = [math.sqrt(2.0) * s[0] * np.ones(T)]
    for k in range(1, (T - 1) // 2 + 1):
        cols.append(2.0 * s[k] * np.cos(2.0 * math.pi * k * t / T))
        cols.append(-2.0 * s[k] * np.sin(2.0 * math.pi * k * t / T))
    if T % 2 == 0:
        cols.append(math.sqrt(2.0) * s[T // 2] * np.cos(math.pi * t))
    M = np.stack(cols, axis=1)
    return np.ascontiguousarray(M / np.sqrt((M * M).sum(axis=1, keepdims=True)))


@kernel
def icem_update(X, L, n, kept, KX, KL, order, E, mu, sig, momentum, n_keep, best_cost,
                out_actions, trace, it, done, p):
    """One iCEM refit of problem p after its n new samples of iteration ``it`` were rolled out.

    Keeps the cheapest sample, writes trace row ``it``, puts the ``kept[p]`` elites carried from
    the previous iteration (sequences KX[p] (n_keep, T*d), costs KL[p]) behind the new samples,
    selects the elites among all (order, E : this problem's (elites,), (elites, T*d) scratch),
    moves mu and sig towards their mean and std with ``momentum``, and keeps the cheapest
    ``n_keep`` elites for the next iteration.
    """
    T, d = mu.shape[1], mu.shape[2]
    n_elite = order.shape[0]
    mean = keep_best(X, L, n, best_cost, out_actions, p)
    done[p] += n
    trace_row(trace, p, it, best_cost[p], mean, done[p])
    nk = kept[p]
    for e in range(nk):
        L[p, n + e] = KL[p, e]
        for t in range(T):
            for j in range(d):
                X[p, t, j, n + e] = KX[p, e, t * d + j]
    elite_order(L[p, :n + nk], n_elite, order)
    for e in range(n_elite):
        src = order[e]
        for t in range(T):
            for j in range(d):
                E[e, t * d + j] = X[p, t, j, src]
    m = mu[p].reshape(T * d)
    v = sig[p].reshape(T * d)
    for q in range(T * d):
        acc = 0.0
        for e in range(n_elite):
            acc += E[e, q]
        mean_q = acc / n_elite
        acc = 0.0
        for e in range(n_elite):
            diff = E[e, q] - mean_q
            acc += diff * diff
        m[q] = (1.0 - momentum) * mean_q + momentum * m[q]
        v[q] = (1.0 - momentum) * np.sqrt(acc / n_elite) + momentum * v[q]
    for e in range(n_keep):
        KL[p, e] = L[p, order[e]]
        for q in range(T * d):
            KX[p, e, q] = E[e, q]
    kept[p] = n_keep


@parallel_kernel
def icem_kernel(world, s0, goal, mu0, sig0, M, sizes, seeds, stream, cost, n_elite, n_keep,
                momentum, whole, W, trace, out_actions, out_samples, out_steps):
    """Plan P problems with iCEM.

    world, cost : the batch's world and cost bundles; s0, goal : (P, n); mu0, sig0 : (P, T, d)
    initial mean and std;
    M : (T, T) coloured-noise map or (0, 0) for white noise; sizes : (iterations,) samples per
    iteration; seeds : (P,) uint64; stream : the planner's stream id.  ``whole`` (at least as
    many problems as threads): one work item runs a problem's every iteration; else work items
    are chunks of W samples and the refits run serially (same results).  trace : (P, R, 3)
    with R = iterations (or 0).  Writes out_actions (P, T, d) and per-problem counts.
    """
    P, T, d = mu0.shape
    iterations = sizes.shape[0]
    N = 0
    for it in range(iterations):
        N = max(N, sizes[it])
    C = n_chunks(N, W)
    mu = mu0.copy()
    sig = sig0.copy()
    unit = np.zeros((2, T, d))
    unit[1] = 1.0
    Z = np.empty((P, T, d, N if M.shape[0] > 0 else 1))
    X = np.empty((P, T, d, N + n_keep))
    L = np.empty((P, N + n_keep))
    best_cost = np.full(P, np.inf)
    S, U, path, z, rollouts, steps = chunk_scratch(P, C, T, s0.shape[1], d, W)
    order = np.empty((P, n_elite), dtype=np.int64)
    E = np.empty((P, n_elite, T * d))
    KX = np.empty((P, max(n_keep, 1), T * d))
    KL = np.empty((P, max(n_keep, 1)))
    kept = np.zeros(P, dtype=np.int64)
    done = np.zeros(P, dtype=np.int64)
    n_items = P if whole else P * C          # (a conditional inside prange() stops Numba
    for it in range(1 if whole else iterations):   # from parallelising the loop)
        for item in numba.prange(n_items):
            if whole:
                q = np.int64(item)
                for it2 in range(iterations):
                    for c in range(C):
                        sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it2,
                                     it2 == iterations - 1, cost, unit, Z, X, L, S, U, path, z,
                                     rollouts, steps, q, q * C + c, c * W,
                                     min(c * W + W, sizes[it2]))
                    icem_update(X, L, sizes[it2], kept, KX, KL, order[q], E[q], mu, sig,
                                momentum, n_keep, best_cost, out_actions, trace, it2, done, q)
            else:
                q = np.int64(item) // C
                lo = (np.int64(item) % C) * W
                sample_chunk(world, s0, goal, mu, sig, M, seeds, stream, it,
                             it == iterations - 1, cost, unit, Z, X, L, S, U, path, z, rollouts,
                             steps, q, np.int64(item), lo, min(lo + W, sizes[it]))
        if not whole:
            for p in range(P):
                icem_update(X, L, sizes[it], kept, KX, KL, order[p], E[p], mu, sig, momentum,
                            n_keep, best_cost, out_actions, trace, it, done, p)
    total_counts(rollouts, steps, C, out_samples, out_steps)


def _sizes(hp) -> np.ndarray:
    """Samples of each iteration (iterations,) int64 (:func:`fastplan.engine.beyond.population_sizes`)."""
    return np.asarray(population_sizes(hp["population"], hp["iterations"], hp["elites"], hp["decay"]),
                      dtype=np.int64)


def _n_keep(hp) -> int:
    return int(hp["keep_fraction"] * hp["elites"])


def prepare(batch, hp, usage):
    """Initial mean and std (P, T, d) as CEM's (a warm start replaces the mean) and the
    coloured-noise map of ``beta`` at the batch's horizon."""
    mean, std = batch.prior_mean_std(usage)
    if batch.init_actions is not None:
        mean = batch.init_actions.copy()
    return {"mu0": mean, "sig0": std, "M": noise_matrix(float(hp["beta"]), batch.T)}


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per iteration."""
    return int(hp["iterations"])


def run(batch, hp, inputs):
    """Run :func:`icem_kernel`; returns actions (P, T, d), samples (P,), steps (P,).  Fills
    ``inputs["trace"]`` (P, iterations, 3) when the caller put one there."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    sizes = _sizes(hp)
    trace = inputs.get("trace")
    icem_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], inputs["sig0"],
                inputs["M"], sizes, batch.seeds, np.uint64(STREAM_IDS["icem"]), batch.cost_bundle(hp),
                int(hp["elites"]), _n_keep(hp), float(hp["momentum"]), batch.P >= threads,
                chunk_width(int(sizes.max()), batch.P, threads),
                new_trace(batch.P, 0) if trace is None else trace, actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`icem_kernel` allocate (mu0, sig0, mu, sig; Z and X
    (P, T, d, N); costs; elites and kept elites; the chunk scratch)."""
    N, K, nk = int(_sizes(hp).max()), int(hp["elites"]), max(_n_keep(hp), 1)
    return (8 * (4 * P * T * d + T * T + 2 * P * T * d * (N + nk) + P * (N + nk)
                 + P * K * (T * d + 1) + P * nk * (T * d + 1) + 3 * P)
            + chunk_scratch_bytes(P, N, T, d, threads, n))
