"""Serial building blocks shared by the planner kernels.

Sample batches are structure-of-arrays: ``X[t, j, i]`` of shape (T, d, N) with the sample
axis contiguous.  A problem's world ``w`` (:mod:`fastplan.engine.worlds.ops`) maps states
with n rows and actions with d rows; ``cost`` is the cost bundle of Eq. 5 and its extensions,
``(lam, running, effort, lower, upper)`` (:func:`cost_value`), plus ``(beta, density)`` with
the prior penalty (one problem's bundle, ``cost_at(cost, p)``; :mod:`._manifold`).  A
parallel work item owns the columns ``lo <= i < hi`` of such an array (at most :data:`CHUNK`
of them) and private scratch rows, so items never share writes.
"""
from __future__ import annotations

import math

import numpy as np

from .. import rng
from ..jit import kernel
from ..worlds import ops
from ._manifold import prior_cols, with_prior_seq

#: Samples per parallel work item.  Results do not depend on it (every draw is addressed
#: by its sample index), only speed does.
CHUNK = 128


@kernel
def elite_order(cost, k, order):
    """Indices of the k cheapest entries of cost (N,) into order (k,), cheapest first, ties
    by lowest index, NaN after every number: the first k of a stable argsort, by insertion
    (O(N k), and a fraction of the compile time of Numba's mergesort)."""
    m = 0
    for i in range(cost.shape[0]):
        c = cost[i]
        # position of i: after every kept entry that is not more expensive
        pos = m
        while pos > 0:
            prev = cost[order[pos - 1]]
            if c < prev or (prev != prev and c == c):
                pos -= 1
            else:
                break
        if pos >= k:
            continue
        for q in range(min(m, k - 1), pos, -1):
            order[q] = order[q - 1]
        order[pos] = i
        if m < k:
            m += 1


@kernel(inline=True)
def chunk_scratch(P, C, T, n, d, W):
    """Private scratch of the P*C sample-chunk work items of width W: states S, U (n, W),
    path (4, W) and noise z (W*T*d) each, and zeroed rollout / step counters (P*C,)."""
    return (np.empty((P * C, n, W)), np.empty((P * C, n, W)),
            np.empty((P * C, 4, W)), np.empty((P * C, W * T * d)),
            np.zeros(P * C, dtype=np.int64), np.zeros(P * C, dtype=np.int64))


def chunk_width(N: int, P: int, threads: int) -> int:
    """Samples per work item (W).  :data:`CHUNK` when every thread gets whole problems
    (P >= threads); otherwise a problem's N samples split evenly over the threads it gets,
    in multiples of 8 and at most 4 CHUNK (balanced items: 200 samples on 2 threads become
    104 + 96, not 64 + 64 | 64 + 8).  Results do not depend on W."""
    if P >= threads:
        return CHUNK
    share = -(-threads // P)                       # threads per problem
    W = -(-N // share)
    return int(min(4 * CHUNK, max(8, -(-W // 8) * 8)))


def chunk_scratch_bytes(P: int, N: int, T: int, d: int, threads: int, n: int | None = None) -> int:
    """Bytes of :func:`chunk_scratch` for P problems of N samples (for memory estimates)."""
    n = d if n is None else n
    W = chunk_width(N, P, threads)
    items = P * (-(-N // W))
    return 8 * items * (2 * n * W + 4 * W + W * T * d + 2)


@kernel
def total_counts(rollouts, steps, C, out_samples, out_steps):
    """Per-problem totals of per-item counters (items p*C .. p*C + C-1 belong to problem p)."""
    for p in range(out_samples.shape[0]):
        out_samples[p] = 0
        out_steps[p] = 0
        for c in range(C):
            out_samples[p] += rollouts[p * C + c]
            out_steps[p] += steps[p * C + c]


def new_outputs(batch):
    """Zeroed kernel outputs: actions (P, T, d), samples (P,) and steps (P,) as int64."""
    return (np.zeros((batch.P, batch.T, batch.d)), np.zeros(batch.P, dtype=np.int64),
            np.zeros(batch.P, dtype=np.int64))


@kernel
def n_chunks(N, W=CHUNK):
    """Number of work items of W samples that cover N samples."""
    return (N + W - 1) // W


@kernel
def clip_cols(cost, X, lo, hi):
    """Clip columns lo..hi-1 of X (T, d, N) into the box of ``cost`` (in place; nothing when
    the box is empty, i.e. unbounded)."""
    lower = cost[3]
    upper = cost[4]
    if lower.shape[0] == 0:
        return
    for t in range(X.shape[0]):
        for j in range(X.shape[1]):
            lj = lower[j]
            uj = upper[j]
            x = X[t, j, lo:hi]
            for i in range(hi - lo):
                x[i] = min(max(x[i], lj), uj)


@kernel
def rollout_cols(w, s0, goal, X, lo, hi, cost, S, U, path, out):
    """Roll out columns lo..hi-1 of X (T, d, N) and write their cost (:func:`cost_value`, plus
    the prior penalty when ``cost`` carries one).

    Actions outside the box of ``cost`` are clipped in place first (the rollout, and the
    planner's samples, are then the feasible ones).
    S, U : (n, >= hi-lo) scratch; on return S[:, :hi-lo] holds the final states s_T.
    path : (4, >= hi-lo) scratch; on return ``path[0, i]`` is the path length
    sum_t ||s_t - s_{t-1}|| and ``path[1, i]`` the squared goal distance of column lo + i.
    out : (N,) output, entries lo..hi-1 written.
    Returns the number of model steps performed, ``(hi - lo) * T``.
    """
    T = X.shape[0]
    ns = s0.shape[0]
    n = hi - lo
    running = cost[1]
    clip_cols(cost, X, lo, hi)
    acc = path[0]
    sq = path[1]
    run = path[2]
    tmp = path[3]
    for r in range(ns):
        for i in range(n):
            S[r, i] = s0[r]
    for i in range(n):
        acc[i] = 0.0
        run[i] = 0.0
    for t in range(T):
        ops.step_cols(w, S, X[t], lo, U, n)
        # ||s_t - s_{t-1}|| for every column, loops running over columns (vectorised)
        for i in range(n):
            sq[i] = 0.0
        for r in range(ns):
            for i in range(n):
                diff = U[r, i] - S[r, i]
                sq[i] += diff * diff
                S[r, i] = U[r, i]
        for i in range(n):
            acc[i] += math.sqrt(sq[i])
        if running != 0.0:
            add_goal_norms(S, goal, n, tmp, run)
    for i in range(n):
        sq[i] = 0.0
    for r in range(ns):
        for i in range(n):
            diff = S[r, i] - goal[r]
            sq[i] += diff * diff
    effort_cols(cost, X, lo, n, tmp)
    for i in range(n):
        out[lo + i] = cost_value(cost, T, sq[i], acc[i], run[i], tmp[i])
    prior_cols(cost, X, lo, n, out)          # the prior penalty (nothing for the paper's cost)
    return n * T


@kernel
def add_goal_norms(S, goal, n, tmp, out):
    """``out[i] += ||S[:, i] - goal||`` for i < n: the running goal cost of n state columns
    (S (n_state, >= n)); tmp : (>= n,) scratch."""
    for i in range(n):
        tmp[i] = 0.0
    for r in range(S.shape[0]):
        for i in range(n):
            diff = S[r, i] - goal[r]
            tmp[i] += diff * diff
    for i in range(n):
        out[i] += math.sqrt(tmp[i])


@kernel(inline=True)
def cost_value(cost, T, sq, acc, run, eff):
    """The cost of one rollout from its parts::

        L = ||s_T - s*|| + lam (1/T) sum_t ||s_t - s_{t-1}||          (Eq. 5)
            + running sum_{t=1..T} ||s_t - s*|| + effort sum_t ||a_t||^2

    sq = ||s_T - s*||^2, acc = the path length, run = the running sum, eff = sum ||a_t||^2;
    with running = effort = 0 (the paper) exactly Eq. 5's arithmetic.
    """
    L = math.sqrt(sq) + cost[0] * (acc / T)
    if cost[1] != 0.0:
        L += cost[1] * run
    if cost[2] != 0.0:
        L += cost[2] * eff
    return L


@kernel
def effort_cols(cost, X, lo, n, eff):
    """``eff[i] = sum_{t,j} X[t, j, lo+i]^2`` when the cost has an action penalty (else 0)."""
    for i in range(n):
        eff[i] = 0.0
    if cost[2] == 0.0:
        return
    for t in range(X.shape[0]):
        for j in range(X.shape[1]):
            x = X[t, j, lo:lo + n]
            for i in range(n):
                eff[i] += x[i] * x[i]


@kernel
def states_cols(w, s0, X, lo, hi, Z):
    """State trajectories of columns lo..hi-1 of X (T, d, N): Z (T+1, n, >= hi-lo).

    Same arithmetic as :func:`rollout_cols`, so the states are those its cost saw.
    """
    T = X.shape[0]
    ns = s0.shape[0]
    n = hi - lo
    for r in range(ns):
        for i in range(n):
            Z[0, r, i] = s0[r]
    for t in range(T):
        ops.step_cols(w, Z[t], X[t], lo, Z[t + 1], n)


@kernel
def fill_gaussian_cols(key, mean, std, X, lo, hi, z):
    """X[t, j, i] = mean[t, j] + std[t, j] * xi for columns lo..hi-1.

    xi is normal number ``i*T*d + t*d + j`` of the stream ``key`` (so a sample's noise
    depends only on its index).  mean, std : (T, d); X : (T, d, N);
    z : (>= (hi - lo) * T * d,) scratch.
    """
    T, d = mean.shape
    m = T * d
    n = hi - lo
    if m % 2 == 0:
        # normals t*d+j and t*d+j+1 of a sample share one Box-Muller word: draw them as two
        # sample-contiguous rows (no transposition of sample-major noise)
        zc = z[:n]
        zs = z[n:2 * n]
        for q in range(m // 2):
            rng.fill_pair_rows(key, m // 2, q, lo, zc, zs)
            t0 = (2 * q) // d
            j0 = (2 * q) % d
            t1 = (2 * q + 1) // d
            j1 = (2 * q + 1) % d
            mu0 = mean[t0, j0]
            sd0 = std[t0, j0]
            mu1 = mean[t1, j1]
            sd1 = std[t1, j1]
            x0 = X[t0, j0, lo:hi]
            x1 = X[t1, j1, lo:hi]
            for i in range(n):
                x0[i] = mu0 + sd0 * zc[i]
            for i in range(n):
                x1[i] = mu1 + sd1 * zs[i]
        return
    # odd T*d (rare: words straddle samples): one scalar draw per entry, no vector copy of
    # the Box-Muller code to compile into every kernel that samples
    for t in range(T):
        for j in range(d):
            mu = mean[t, j]
            sd = std[t, j]
            for i in range(lo, hi):
                X[t, j, i] = mu + sd * rng.normal(key, np.uint64(i * m + t * d + j))


@kernel
def clip_sequence(cost, a):
    """Clip one sequence a (T, d) into the box of ``cost`` (in place; nothing if unbounded)."""
    clip_cols(cost, a.reshape((a.shape[0], a.shape[1], 1)), 0, 1)


@kernel
def sequence_cost(w, s0, goal, a, cost, states, tape):
    """Cost (:func:`cost_value`) of one sequence a (T, d), clipped into the box first (in
    place); stores states (T+1, n) and the world's tape (T, K) for the adjoint."""
    T = a.shape[0]
    ns = s0.shape[0]
    clip_sequence(cost, a)
    ops.sequence(w, s0, a, states, tape)
    path = 0.0
    run = 0.0
    for t in range(T):
        s2 = 0.0
        for r in range(ns):
            diff = states[t + 1, r] - states[t, r]
            s2 += diff * diff
        path += math.sqrt(s2)
        if cost[1] != 0.0:
            g2 = 0.0
            for r in range(ns):
                diff = states[t + 1, r] - goal[r]
                g2 += diff * diff
            run += math.sqrt(g2)
    s2 = 0.0
    for r in range(ns):
        diff = states[T, r] - goal[r]
        s2 += diff * diff
    eff = 0.0
    if cost[2] != 0.0:
        for t in range(T):
            for j in range(a.shape[1]):
                eff += a[t, j] * a[t, j]
    return with_prior_seq(cost, a, cost_value(cost, T, s2, path, run, eff))


@kernel
def soa_from_aos(src, dst):
    """dst[t, j, i] = src[i, t, j] for src (N, T, d) and dst (T, d, N)."""
    N, T, d = src.shape
    for t in range(T):
        for j in range(d):
            for i in range(N):
                dst[t, j, i] = src[i, t, j]


@kernel
def copy_col(X, i, out):
    """out[t, j] = X[t, j, i] for X (T, d, N) and out (T, d)."""
    T, d = out.shape
    for t in range(T):
        for j in range(d):
            out[t, j] = X[t, j, i]
