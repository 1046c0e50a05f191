"""Cheap bounds on log densities, and a quantile of log densities that needs the exact values
only near the quantile.

A geometry's out-of-distribution threshold is the 1% quantile (``method="lower"``) of the log
densities of 20,000 of its own samples (:meth:`~.geometry.GeometryBase.ood_threshold`).  Only
the rows near that quantile decide its value.  :func:`log_density_quantile` therefore first
computes, for every row, an interval ``lo <= log p(x) <= hi`` that costs a fraction of the exact
log density, and evaluates :func:`~.geometry_kernels.log_density_fast` only on the rows whose
interval reaches below the quantile of the upper bounds.  The result is the same float as
``np.quantile(log_density_fast(p, X), q, method="lower")``, bit for bit:

* Let r be the rank numpy takes.  The r-th smallest upper bound u is at least the r-th smallest
  exact value q* (order statistics are monotone).
* A row with ``lo > u`` has an exact value above q*.  Such rows keep a value above q* (their
  lower bound) in the array handed to ``np.quantile``; every other row gets its exact value.
  The values up to q* are the same in both arrays, so the r-th smallest is q* in both.

The bounds (``d`` coordinates, ``K`` components, ``k`` active coordinates):

* **Diagonal mixtures** (VAE Eq. 1, VQ-VAE Eq. 3, diagonal fits): with ``t_k`` the component
  terms ``log w_k + log N(x; mu_k, diag std_k^2)`` and m their maximum,
  ``m <= logsumexp_k t_k <= m + log K``.  The t_k use a multiplication by ``1 / std``
  (vectorised over rows) instead of the exact kernel's division.
* **Sparse EBM** (Eq. 2 smoothed): ``log p = base + log e_k(r) - log C(d, k)`` with
  ``log r_j = l_j``.  With T the sum of the k largest l_j (the set A), R the sum of the other
  r_j and r_max the largest of them (``r_max <= R <= (d - k) r_max``): every k-subset is A with
  some members swapped for others, so ``e_k <= prod_{i in A} (r_i + R)``, hence
  ``log e_k <= T + (d - k) s`` with ``s = sum_{i in A} r_max / r_i``; A with its one-swap
  subsets gives ``log e_k >= T + log1p(s)``.  k exponentials per row instead of the exact
  recursion's d k; for the geometry's own samples the two bounds differ by about 1e-11.
* Full-covariance mixtures have no bounds here: every row is evaluated exactly.

Each interval is widened by ``SLACK`` times the magnitude of the numbers it is made of
(1e-8 relative; the rounding of both computations is below 1e-13 relative), and a row that is
not finite gets ``(-inf, inf)``, so it is always evaluated exactly (NaN propagates as before).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from . import threads
from .geometry_density import LOG_2PI, SPARSE, DensityParams, _rows
from .jit import kernel, parallel_kernel

#: Relative widening of every bound (the rounding of either computation is below 1e-13).
SLACK = 1e-8
#: Rows per work item of the bound kernels.
BOUND_BLOCK = 256


@parallel_kernel
def _mixture_bounds(xt, centers, inv_std, log_norm, lo, hi):
    """lo[i] <= logsumexp_k t_k(x_i) <= hi[i] for xt (d, n) = the rows transposed."""
    d, n = xt.shape
    K = centers.shape[0]
    log_k = math.log(K)
    n_blocks = (n + BOUND_BLOCK - 1) // BOUND_BLOCK
    for blk in numba.prange(n_blocks):
        r0 = blk * BOUND_BLOCK
        m = min(BOUND_BLOCK, n - r0)
        best = np.full(m, -np.inf)
        mag = np.zeros(m)
        s = np.empty(m)
        bad = np.zeros(m, dtype=np.bool_)
        for k in range(K):
            for i in range(m):
                s[i] = 0.0
            for j in range(d):
                c = centers[k, j]
                w = inv_std[k, j]
                row = xt[j, r0:r0 + m]
                for i in range(m):
                    v = (row[i] - c) * w
                    s[i] += v * v
            ln = log_norm[k]
            for i in range(m):
                t = ln - 0.5 * s[i]
                if t > best[i]:
                    best[i] = t
                    mag[i] = abs(ln) + 0.5 * s[i]
                if not math.isfinite(s[i]):
                    bad[i] = True
        for i in range(m):
            b = best[i]
            if bad[i] or not math.isfinite(b):
                lo[r0 + i] = -np.inf
                hi[r0 + i] = np.inf
            else:
                w = SLACK * (1.0 + abs(b) + mag[i])
                lo[r0 + i] = b - w
                hi[r0 + i] = b + log_k + w


@kernel
def _sparse_bound_row(x, k, i0, i1, c0, c1, logc, l):
    """(lo, hi) of the smoothed sparse-EBM log density of one row x (d,); i0, i1 = 1 / the
    spike and slab stds; l (d,) scratch."""
    d = x.shape[0]
    base = 0.0
    mag = 1.0 + logc
    for j in range(d):
        v = x[j]
        if not math.isfinite(v):
            return -np.inf, np.inf
        z0 = v * i0
        z1 = v * i1
        lsp = -0.5 * z0 * z0 + c0
        l[j] = -0.5 * z1 * z1 + c1 - lsp
        base += lsp
        mag += abs(lsp) + abs(l[j])
    # the k largest l_j to the front (selection), their sum T
    T = 0.0
    for i in range(k):
        arg = i
        big = l[i]
        for j in range(i + 1, d):
            if l[j] > big:
                arg = j
                big = l[j]
        l[arg] = l[i]
        l[i] = big
        T += big
    e_lo = T
    e_hi = T
    if 0 < k < d:                    # (k = 0 or d: one subset, e_0 = 1, e_d = prod r: no gap)
        tmax = l[k]                  # the largest of the others: r_tmax <= R <= (d - k) r_tmax
        for j in range(k + 1, d):
            if l[j] > tmax:
                tmax = l[j]
        swaps = 0.0                  # sum over A of r_tmax / r_i
        for i in range(k):
            swaps += math.exp(tmax - l[i])
        e_lo = T + math.log1p(swaps)            # log1p(R sum 1/r_i) >= log1p(r_tmax sum 1/r_i)
        e_hi = T + (d - k) * swaps              # sum log1p(R / r_i) <= (d - k) r_tmax sum 1/r_i
    w = SLACK * mag
    return base + e_lo - logc - w, base + e_hi - logc + w


@parallel_kernel
def _sparse_bounds(X, k, s0, s1, lo, hi):
    """lo[i] <= log p(X[i]) <= hi[i] for the smoothed sparse EBM, X (n, d)."""
    n, d = X.shape
    c0 = -math.log(s0) - 0.5 * LOG_2PI
    c1 = -math.log(s1) - 0.5 * LOG_2PI
    logc = math.lgamma(d + 1.0) - math.lgamma(k + 1.0) - math.lgamma(d - k + 1.0)
    n_blocks = (n + BOUND_BLOCK - 1) // BOUND_BLOCK
    i0 = 1.0 / s0
    i1 = 1.0 / s1
    for blk in numba.prange(n_blocks):
        l = np.empty(d)
        for i in range(blk * BOUND_BLOCK, min(n, (blk + 1) * BOUND_BLOCK)):
            a, b = _sparse_bound_row(X[i], k, i0, i1, c0, c1, logc, l)
            lo[i] = a
            hi[i] = b


def log_density_bounds(p: DensityParams, a) -> tuple[np.ndarray, np.ndarray] | None:
    """Intervals ``lo <= log_density_fast(p, a) <= hi`` for actions (..., d), each of shape (...);
    None for densities without bounds here (full-covariance mixtures)."""
    x, lead = _rows(p, a)
    n, d = x.shape
    lo, hi = np.empty(n), np.empty(n)
    if p.kind == SPARSE:
        with threads.limited(threads.threads_for(n * d * 4e-8)):
            _sparse_bounds(x, int(p.k_active), float(p.spike_std), float(p.slab_std), lo, hi)
    elif p.full:
        return None
    else:
        with threads.limited(threads.threads_for(n * d * p.centers.shape[0] * 1e-9)):
            _mixture_bounds(np.ascontiguousarray(x.T), p.centers, 1.0 / p.std, p.log_norm, lo, hi)
    return lo.reshape(lead), hi.reshape(lead)


def log_density_quantile(p: DensityParams, a, q: float) -> float:
    """``float(np.quantile(log_density_fast(p, a), q, method="lower"))`` for actions (..., d),
    with exact log densities only for the rows whose bounds reach the quantile (module
    docstring); the same float bit for bit."""
    from .geometry_kernels import log_density_fast
    x, _ = _rows(p, a)
    bounds = log_density_bounds(p, x)
    if bounds is None:
        return float(np.quantile(log_density_fast(p, x), q, method="lower"))
    lo, hi = bounds
    u = np.quantile(hi, q, method="lower")
    near = ~(lo > u)                     # rows that may lie at or below the quantile
    values = lo.copy()                   # the others: a value above it, their lower bound
    values[near] = log_density_fast(p, x[near])
    return float(np.quantile(values, q, method="lower"))
