"""Serial building blocks shared by the planner kernels.

Sample batches are structure-of-arrays: ``X[t, j, i]`` of shape (T, d, N) with the sample
axis contiguous.  A parallel work item owns the columns ``lo <= i < hi`` of such an array
(at most :data:`CHUNK` of them) and private scratch rows, so items never share writes.
"""
from __future__ import annotations

import math

import numpy as np

from .. import rng
from ..fastmath import tanh
from ..jit import kernel

#: Samples per parallel work item.  Results do not depend on it (every draw is addressed
#: by its sample index), only speed does.
CHUNK = 128


# Inner loops index 1-D row views (``Src[k, off:off + n]``) from 0: with ``off + i`` Numba's
# negative-index wraparound cannot be proven dead and the loops do not vectorise.

@kernel(inline=True)
def add_matvec_rows(W, r, Src, off, U, uoff, n):
    """``U[r, uoff + i] += sum_k W[r, k] * Src[k, off + i]`` for i < n (one output row;
    only the d % 4 rows :func:`add_matmul_rows4` leaves).  Sums k left to right.
    W : (d, d); Src : (d, >= off + n); U : (d, >= uoff + n).
    """
    u = U[r, uoff:uoff + n]
    for k in range(W.shape[1]):
        w = W[r, k]
        x = Src[k, off:off + n]
        for i in range(n):
            u[i] += w * x[i]


@kernel(inline=True)
def add_matmul_rows4(W, r, Src, off, U, uoff, n):
    """``U[r+q, uoff+i] += sum_k W[r+q, k] Src[k, off+i]`` for q < 4, i < n (four output rows).

    Register blocking: each loaded ``Src[k, off + i]`` feeds four rows, so there are 3 memory
    operations per 4 multiply-adds.  Every U[r+q, i] still sums k left to right,
    so the result is bit-identical to :func:`add_matvec_rows` row by row.
    W : (d, d); Src : (d, >= off + n); U : (>= r + 4, >= uoff + n).
    """
    d = W.shape[1]
    u0 = U[r, uoff:uoff + n]
    u1 = U[r + 1, uoff:uoff + n]
    u2 = U[r + 2, uoff:uoff + n]
    u3 = U[r + 3, uoff:uoff + n]
    k = 0
    while k + 4 <= d:
        w00 = W[r, k]
        w01 = W[r, k + 1]
        w02 = W[r, k + 2]
        w03 = W[r, k + 3]
        w10 = W[r + 1, k]
        w11 = W[r + 1, k + 1]
        w12 = W[r + 1, k + 2]
        w13 = W[r + 1, k + 3]
        w20 = W[r + 2, k]
        w21 = W[r + 2, k + 1]
        w22 = W[r + 2, k + 2]
        w23 = W[r + 2, k + 3]
        w30 = W[r + 3, k]
        w31 = W[r + 3, k + 1]
        w32 = W[r + 3, k + 2]
        w33 = W[r + 3, k + 3]
        s0 = Src[k, off:off + n]
        s1 = Src[k + 1, off:off + n]
        s2 = Src[k + 2, off:off + n]
        s3 = Src[k + 3, off:off + n]
        for i in range(n):
            x0 = s0[i]
            x1 = s1[i]
            x2 = s2[i]
            x3 = s3[i]
            u0[i] = u0[i] + w00 * x0 + w01 * x1 + w02 * x2 + w03 * x3
            u1[i] = u1[i] + w10 * x0 + w11 * x1 + w12 * x2 + w13 * x3
            u2[i] = u2[i] + w20 * x0 + w21 * x1 + w22 * x2 + w23 * x3
            u3[i] = u3[i] + w30 * x0 + w31 * x1 + w32 * x2 + w33 * x3
        k += 4
    while k < d:
        w0 = W[r, k]
        w1 = W[r + 1, k]
        w2 = W[r + 2, k]
        w3 = W[r + 3, k]
        s0 = Src[k, off:off + n]
        for i in range(n):
            x = s0[i]
            u0[i] += w0 * x
            u1[i] += w1 * x
            u2[i] += w2 * x
            u3[i] += w3 * x
        k += 1


@kernel
def affine_tanh_cols(A, S, c, use_b, B, X, lo, U, off, n):
    """``U[:, off+i] = tanh(c + A S[:, off+i] + B X[:, lo+i])`` for i < n (Eq. 4, n columns).

    A, B : (d, d); S, U : (d, >= off + n); X : (d, >= lo + n); c : (d,).
    With ``use_b`` False the B term is skipped (when ``c`` already holds B a + b).
    Rows go in blocks of four (:func:`add_matmul_rows4`); a sum runs c, A terms, B terms,
    each left to right, so every column's arithmetic is the same whatever n and off are.
    Not inlined, and each loop body written once (the A and B terms share one loop):
    Numba re-optimises a helper inside every kernel that links it, so its size is compile
    time; a call costs nothing next to its d x d x n multiply-adds.
    """
    d = S.shape[0]
    n_terms = 2 if use_b else 1
    r = 0
    while r < d:
        rows = 4 if r + 4 <= d else 1
        for q in range(rows):
            u = U[r + q, off:off + n]
            cq = c[r + q]
            for i in range(n):
                u[i] = cq
        for term in range(n_terms):
            W = A if term == 0 else B
            Src = S if term == 0 else X
            so = off if term == 0 else lo
            if rows == 4:
                add_matmul_rows4(W, r, Src, so, U, off, n)
            else:
                add_matvec_rows(W, r, Src, so, U, off, n)
        for q in range(rows):
            u = U[r + q, off:off + n]
            for i in range(n):
                u[i] = tanh(u[i])
        r += rows


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
def chunk_scratch(P, C, T, d, W):
    """Private scratch of the P*C sample-chunk work items of width W: states S, U (d, W),
    path (2, W) and noise z (W*T*d) each, and zeroed rollout / step counters (P*C,)."""
    return (np.empty((P * C, d, W)), np.empty((P * C, d, W)),
            np.empty((P * C, 2, W)), np.empty((P * C, W * T * d)),
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


def chunk_scratch_bytes(P: int, N: int, T: int, d: int, threads: int) -> int:
    """Bytes of :func:`chunk_scratch` for P problems of N samples (for memory estimates)."""
    W = chunk_width(N, P, threads)
    items = P * (-(-N // W))
    return 8 * items * (2 * d * W + 2 * W + W * T * d + 2)


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


@kernel(inline=True)
def step_cols(A, B, b, S, Xt, lo, U, n):
    """One step of Eq. 4 for n columns: ``U[:, i] = tanh(A S[:, i] + B Xt[:, lo+i] + b)``.

    S, U : (d, >= n) states before and after; Xt : (d, N) actions of this step.
    """
    affine_tanh_cols(A, S, b, np.bool_(True), B, Xt, lo, U, np.int64(0), n)


@kernel
def n_chunks(N, W=CHUNK):
    """Number of work items of W samples that cover N samples."""
    return (N + W - 1) // W


@kernel
def rollout_cols(A, B, b, s0, goal, X, lo, hi, lam, S, U, path, cost):
    """Roll out columns lo..hi-1 of X (T, d, N) and write their Eq. 5 cost.

    S, U : (d, CHUNK) scratch; on return S[:, :hi-lo] holds the final states s_T.
    path : (2, CHUNK) scratch; on return ``path[0, i]`` is the path length
    sum_t ||s_t - s_{t-1}|| and ``path[1, i]`` the squared goal distance of column lo + i.
    cost : (N,) output, entries lo..hi-1 written.
    Returns the number of model steps performed, ``(hi - lo) * T``.
    """
    T = X.shape[0]
    d = s0.shape[0]
    n = hi - lo
    acc = path[0]
    sq = path[1]
    for r in range(d):
        for i in range(n):
            S[r, i] = s0[r]
    for i in range(n):
        acc[i] = 0.0
    for t in range(T):
        step_cols(A, B, b, S, X[t], lo, U, n)
        # ||s_t - s_{t-1}|| for every column, loops running over columns (vectorised)
        for i in range(n):
            sq[i] = 0.0
        for r in range(d):
            for i in range(n):
                diff = U[r, i] - S[r, i]
                sq[i] += diff * diff
                S[r, i] = U[r, i]
        for i in range(n):
            acc[i] += math.sqrt(sq[i])
    for i in range(n):
        sq[i] = 0.0
    for r in range(d):
        for i in range(n):
            diff = S[r, i] - goal[r]
            sq[i] += diff * diff
    for i in range(n):
        cost[lo + i] = math.sqrt(sq[i]) + lam * (acc[i] / T)
    return n * T


@kernel
def states_cols(A, B, b, s0, X, lo, hi, Z):
    """State trajectories of columns lo..hi-1 of X (T, d, N): Z (T+1, d, CHUNK).

    Same arithmetic as :func:`rollout_cols`, so the states are those its cost saw.
    """
    T = X.shape[0]
    d = s0.shape[0]
    n = hi - lo
    for r in range(d):
        for i in range(n):
            Z[0, r, i] = s0[r]
    for t in range(T):
        step_cols(A, B, b, Z[t], X[t], lo, Z[t + 1], n)


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
def sequence_cost(A, B, b, s0, goal, a, lam, states, pre):
    """Cost (Eq. 5) of one sequence a (T, d); stores states (T+1, d) and pre-activations (T, d).

    ``pre[t] = A s_t + B a_t + b`` so that ``states[t+1] = tanh(pre[t])``.
    """
    T, d = a.shape
    for r in range(d):
        states[0, r] = s0[r]
    path = 0.0
    for t in range(T):
        for r in range(d):
            u = b[r]
            for k in range(d):
                u += A[r, k] * states[t, k]
            for k in range(d):
                u += B[r, k] * a[t, k]
            pre[t, r] = u
            states[t + 1, r] = tanh(u)
        s2 = 0.0
        for r in range(d):
            diff = states[t + 1, r] - states[t, r]
            s2 += diff * diff
        path += math.sqrt(s2)
    s2 = 0.0
    for r in range(d):
        diff = states[T, r] - goal[r]
        s2 += diff * diff
    return math.sqrt(s2) + lam * (path / T)


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
