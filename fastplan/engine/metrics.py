"""Geometry metrics of Sec. 2.4: effective dimension, mean pairwise distance,
concentration and planning amenability.

All metrics are computed from a sample of the geometry (default 4000 draws, fixed
stream), as the paper does ("eigenvalues of the sample covariance matrix").

Concentration (the paper: "fraction of samples within 2 sigma of the mean") is defined
here as the fraction of samples whose Euclidean distance to the sample mean is at most
``2 * sigma_bar``, where ``sigma_bar = sqrt(tr(Sigma) / d)`` is the root-mean-square
per-coordinate standard deviation.  This is the literal multivariate reading of the
phrase with one scalar sigma: it is rotation invariant, reduces to the textbook 95.4 %
for d = 1, and for an isotropic Gaussian equals P(chi^2_d <= 4), so it falls with d.
It lives in the one function :func:`concentration` so it can be swapped; its name is
recorded with every result (:data:`CONCENTRATION_DEFINITION`).
"""
from __future__ import annotations

import math
import warnings

import numba
import numpy as np

from . import budget, threads
from .fastmath import fma
from .jit import kernel, parallel_kernel
from .errors import FastplanError, as_array, check_positive_int, check_scale
from .geometry import Geometry

CONCENTRATION_DEFINITION = "radial: ||x - mean||_2 <= 2 * sqrt(trace(cov) / d)"
N_METRIC_SAMPLES = 4000
METRIC_STREAM = 1  # sample stream reserved for metrics (planners use others)


def effective_dimension(samples: np.ndarray) -> float:
    """Participation ratio of the sample-covariance eigenvalues (Eq. 13).

    ``d_eff = (sum_i lambda_i)^2 / sum_i lambda_i^2`` for samples of shape (n, d);
    NaN when the covariance is zero (e.g. the sparse EBM with d <= 3).
    """
    x = as_array(samples, "samples", ndim=2)
    with threads.blas_single():     # a product of a few Mflop: BLAS threads only wait (threads.py)
        cov = np.cov(x, rowvar=False, bias=True).reshape(x.shape[1], x.shape[1])
    lam = np.linalg.eigvalsh(cov)
    denom = float(np.sum(lam**2))
    if denom == 0.0:
        return float("nan")
    return float(np.sum(lam) ** 2 / denom)


#: Columns per tile of the pairwise kernel (4 rows x 256 columns of scratch stay in L1).
PAIR_TILE = 256
#: Four-row groups that go through each column tile together (:func:`_pair_block`).
PAIR_GROUPS = 16


@kernel
def _pair_row_sum(xt, i):
    """sum_{j > i} ||x_i - x_j||_2 for xt (d, n) = x transposed: each squared distance is the
    FMA chain ``s = fma(e_k, e_k, s)`` over k in order from s = 0, and the terms are added in
    j order (the definition every faster path reproduces bit for bit)."""
    d, n = xt.shape
    acc = 0.0
    for j in range(i + 1, n):
        s2 = 0.0
        for k in range(d):
            diff = xt[k, i] - xt[k, j]
            s2 = fma(diff, diff, s2)
        acc += math.sqrt(s2)
    return acc


@kernel(inline=True)
def _pair_pass4(xt, k, i0, lo, m, b0, b1, b2, b3, root):
    """Continue the FMA chains of ||x_i - x_j||^2 with coordinates k..k+3 (in order) in
    ``b_q[j - lo]``, for the rows i = i0 + q (q < 4) and the columns j = lo..lo+m-1 of
    xt (d, n); ``root``: the chains end here, store their square roots (the divider then works
    beside the multiply-adds).  One load of x_j serves four rows; the loop vectorises over j.
    """
    v0 = xt[k, lo:lo + m]
    v1 = xt[k + 1, lo:lo + m]
    v2 = xt[k + 2, lo:lo + m]
    v3 = xt[k + 3, lo:lo + m]
    x00, x01, x02, x03 = xt[k, i0], xt[k + 1, i0], xt[k + 2, i0], xt[k + 3, i0]
    x10, x11, x12, x13 = xt[k, i0 + 1], xt[k + 1, i0 + 1], xt[k + 2, i0 + 1], xt[k + 3, i0 + 1]
    x20, x21, x22, x23 = xt[k, i0 + 2], xt[k + 1, i0 + 2], xt[k + 2, i0 + 2], xt[k + 3, i0 + 2]
    x30, x31, x32, x33 = xt[k, i0 + 3], xt[k + 1, i0 + 3], xt[k + 2, i0 + 3], xt[k + 3, i0 + 3]
    for j in range(m):
        w0 = v0[j]
        w1 = v1[j]
        w2 = v2[j]
        w3 = v3[j]
        t = b0[j]
        t = fma(x00 - w0, x00 - w0, t)
        t = fma(x01 - w1, x01 - w1, t)
        t = fma(x02 - w2, x02 - w2, t)
        t = fma(x03 - w3, x03 - w3, t)
        b0[j] = math.sqrt(t) if root else t
        t = b1[j]
        t = fma(x10 - w0, x10 - w0, t)
        t = fma(x11 - w1, x11 - w1, t)
        t = fma(x12 - w2, x12 - w2, t)
        t = fma(x13 - w3, x13 - w3, t)
        b1[j] = math.sqrt(t) if root else t
        t = b2[j]
        t = fma(x20 - w0, x20 - w0, t)
        t = fma(x21 - w1, x21 - w1, t)
        t = fma(x22 - w2, x22 - w2, t)
        t = fma(x23 - w3, x23 - w3, t)
        b2[j] = math.sqrt(t) if root else t
        t = b3[j]
        t = fma(x30 - w0, x30 - w0, t)
        t = fma(x31 - w1, x31 - w1, t)
        t = fma(x32 - w2, x32 - w2, t)
        t = fma(x33 - w3, x33 - w3, t)
        b3[j] = math.sqrt(t) if root else t


@kernel
def _pair_tile4(xt, i0, lo, m, buf, acc, off):
    """acc[off + q] += sum_{j = lo}^{lo+m-1} ||x_{i0+q} - x_j||_2 for q < 4, the terms added
    in j order, for xt (d, n) and columns j > i0 + 3.

    Each pass over the tile's scratch ``buf`` (4, >= m) adds four coordinates k
    (:func:`_pair_pass4`), so the scratch is read and written d/4 times instead of d; the
    last pass takes the square roots when 4 divides d.  The four running sums are
    independent chains.
    """
    d = xt.shape[0]
    b0 = buf[0]
    b1 = buf[1]
    b2 = buf[2]
    b3 = buf[3]
    for j in range(m):
        b0[j] = 0.0
        b1[j] = 0.0
        b2[j] = 0.0
        b3[j] = 0.0
    d4 = d - d % 4
    rooted = d4 == d and d > 0
    last = d4 - 4 if rooted else d4
    for k in range(0, last, 4):            # four coordinates per pass, in k order
        _pair_pass4(xt, k, i0, lo, m, b0, b1, b2, b3, False)
    if rooted:
        _pair_pass4(xt, last, i0, lo, m, b0, b1, b2, b3, True)
    else:
        for k in range(d4, d):             # the last d % 4 coordinates, one per pass
            xk = xt[k, lo:lo + m]
            x0 = xt[k, i0]
            x1 = xt[k, i0 + 1]
            x2 = xt[k, i0 + 2]
            x3 = xt[k, i0 + 3]
            for j in range(m):
                v = xk[j]
                b0[j] = fma(x0 - v, x0 - v, b0[j])
                b1[j] = fma(x1 - v, x1 - v, b1[j])
                b2[j] = fma(x2 - v, x2 - v, b2[j])
                b3[j] = fma(x3 - v, x3 - v, b3[j])
        for j in range(m):               # one loop per row: each vectorises
            b0[j] = math.sqrt(b0[j])
        for j in range(m):
            b1[j] = math.sqrt(b1[j])
        for j in range(m):
            b2[j] = math.sqrt(b2[j])
        for j in range(m):
            b3[j] = math.sqrt(b3[j])
    a0 = acc[off]
    a1 = acc[off + 1]
    a2 = acc[off + 2]
    a3 = acc[off + 3]
    for j in range(m):
        a0 += b0[j]
        a1 += b1[j]
        a2 += b2[j]
        a3 += b3[j]
    acc[off] = a0
    acc[off + 1] = a1
    acc[off + 2] = a2
    acc[off + 3] = a3


@kernel
def _pair_block(xt, g0, g1, buf, acc, out):
    """out[i] = sum_{j > i} ||x_i - x_j||_2 for the rows i of the four-row groups g0..g1-1
    of xt (d, n), bit for bit :func:`_pair_row_sum` row by row.

    Every row adds its terms in j order: the pairs inside its group first, then the columns
    j >= i0 + 4, tile by tile.  The block's groups go through the columns together, one tile
    of :data:`PAIR_TILE` at a time (:func:`_pair_tile4`), so a tile is read from memory once
    per block instead of once per group (at d = 32, x is 1 MiB).
    buf : (4, PAIR_TILE) scratch; acc : (>= 4 (g1 - g0),) the rows' running sums.
    """
    d, n = xt.shape
    for g in range(g0, g1):                # the pairs inside each group come first
        i0 = 4 * g
        off = 4 * (g - g0)
        for q in range(4):
            a = 0.0
            for j in range(i0 + q + 1, i0 + 4):
                s2 = 0.0
                for k in range(d):
                    diff = xt[k, i0 + q] - xt[k, j]
                    s2 = fma(diff, diff, s2)
                a += math.sqrt(s2)
            acc[off + q] = a
    for lo in range(4 * g0 + 4, n, PAIR_TILE):
        hi = min(n, lo + PAIR_TILE)
        for g in range(g0, g1):
            jlo = max(lo, 4 * g + 4)
            if jlo < hi:
                _pair_tile4(xt, 4 * g, jlo, hi - jlo, buf, acc, 4 * (g - g0))
    for i in range(4 * (g1 - g0)):
        out[4 * g0 + i] = acc[i]


@parallel_kernel
def _pairwise_row_sums(xt, out):
    """out[i] = sum_{j > i} ||x_i - x_j||_2 for xt (d, n) = x transposed.

    Work items are pairs of blocks of :data:`PAIR_GROUPS` four-row groups, one from each end
    (b and B-1-b), so that items have about the same number of pairs; the last n % 4 rows
    run alone.
    """
    d, n = xt.shape
    G = n // 4
    B = (G + PAIR_GROUPS - 1) // PAIR_GROUPS
    items = (B + 1) // 2
    buf = np.empty((items, 4, PAIR_TILE))
    acc = np.empty((items, 4 * PAIR_GROUPS))
    for it in numba.prange(items):
        _pair_block(xt, it * PAIR_GROUPS, min(G, (it + 1) * PAIR_GROUPS), buf[it], acc[it], out)
        other = B - 1 - it
        if other != it:
            _pair_block(xt, other * PAIR_GROUPS, min(G, (other + 1) * PAIR_GROUPS), buf[it], acc[it], out)
    for i in range(4 * G, n):
        out[i] = _pair_row_sum(xt, i)


def mean_pairwise_distance(samples: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs i < j of samples (n, d) (the r-bar of Eq. 12)."""
    x = as_array(samples, "samples", ndim=2)
    n = x.shape[0]
    if n < 2:
        raise FastplanError(f"mean pairwise distance needs at least 2 samples, got {n}")
    rows = np.empty(n)
    with threads.limited(threads.threads_for(n * n * (x.shape[1] + 6) * 2.5e-10)):
        _pairwise_row_sums(np.ascontiguousarray(x.T), rows)
    return float(np.sum(rows) / (n * (n - 1) / 2))  # fixed-order reduction: deterministic


def concentration(samples: np.ndarray) -> float:
    """Fraction of samples (n, d) within 2 sigma of the mean (see module docstring)."""
    x = as_array(samples, "samples", ndim=2)
    dev = x - x.mean(axis=0)
    sigma_bar = math.sqrt(float(np.mean(np.sum(dev**2, axis=0) / x.shape[0])))
    radius = np.sqrt(np.sum(dev**2, axis=1))
    return float(np.mean(radius <= 2.0 * sigma_bar))


def amenability(c: float, d_eff: float, d: int, r_bar: float) -> float:
    """Planning amenability, Eq. 12: ``0.4 c + 0.3 (1 - d_eff/d) + 0.3 / (1 + r_bar/sqrt(d))``."""
    return 0.4 * c + 0.3 * (1.0 - d_eff / d) + 0.3 / (1.0 + r_bar / math.sqrt(d))


def sample_metrics(samples: np.ndarray) -> dict:
    """The Sec. 2.4 metrics of an (n, d) array of latent actions (n >= 2): a dict with
    ``effective_dimension``, ``mean_pairwise_distance``, ``concentration``, ``amenability``
    (NaN d_eff, hence amenability, when the samples have zero covariance)."""
    x = check_scale(as_array(samples, "samples", ndim=2), "samples")
    if x.shape[0] < 2:
        raise FastplanError(f"the metrics need at least 2 samples, got {x.shape[0]}")
    d_eff = effective_dimension(x)
    r_bar = mean_pairwise_distance(x)
    c = concentration(x)
    return {"effective_dimension": d_eff, "mean_pairwise_distance": r_bar, "concentration": c,
            "amenability": amenability(c, d_eff, x.shape[1], r_bar)}


def geometry_metrics(geometry: Geometry, n: int = N_METRIC_SAMPLES, seed: int | None = None) -> dict:
    """All Sec. 2.4 geometry metrics of ``geometry`` from ``n`` samples.

    Returns a dict with ``geometry``, ``d``, ``effective_dimension``, ``mean_pairwise_distance``,
    ``concentration``, ``amenability`` and ``n_samples``.
    """
    from .problem import check_geometry
    check_geometry(geometry)
    n = check_positive_int(n, "number of metric samples")
    if n < 2:
        raise FastplanError(f"number of metric samples must be >= 2, got {n}")
    budget.check_metrics(n, geometry.d)      # refused before the samples are drawn
    m = sample_metrics(geometry.sample(n, seed=seed, stream=METRIC_STREAM))
    kind = str(getattr(geometry, "kind", type(geometry).__name__))   # a duck-typed geometry may lack both
    if math.isnan(m["effective_dimension"]):
        why = " (floor(0.3 d) = 0 active coordinates)" if kind == "ebm" else ""
        warnings.warn(f"{getattr(geometry, 'label', kind)} at d={geometry.d} is a point mass{why}: "
                      f"effective dimension is undefined", RuntimeWarning, stacklevel=2)
    return {"geometry": kind, "d": geometry.d, **m, "n_samples": n}


#: The Sec. 2.4 metrics of :func:`geometry_metrics`, in their stored order.
METRIC_NAMES = ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability")


def metric_columns(keys, n: int = N_METRIC_SAMPLES) -> dict:
    """Geometry metrics of every (kind, d, seed) in ``keys``, as columns.

    The one loop that sweeps (stored metrics) and reports (metrics a file lacks) both use.
    A point mass (sparse EBM at d <= 3) gives NaN quietly: its undefined metrics are stored
    and shown as such.

    Returns
    -------
    dict
        ``geometry`` (m,) object, ``d``, ``seed`` (m,) int64 and one (m,) float64 array per
        name in :data:`METRIC_NAMES`.
    """
    from .geometry import make_geometry
    keys = list(keys)
    cols = {k: [] for k in METRIC_NAMES}
    one = lambda i: geometry_metrics(make_geometry(*keys[i]), n=n)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # keys spread over the threads, one Numba thread each, taken in turn (README, "On a
        # busy machine"): no fork-join per metric, and a thread that gets more CPU does more
        with threads.blas_single():     # the covariances (Eq. 13) on the calling thread's BLAS
            ms = threads.map_dynamic(one, len(keys), threads.workers_for(len(keys)))
    for m in ms:
        for k in METRIC_NAMES:
            cols[k].append(m[k])
    out = {"geometry": np.array([k[0] for k in keys], dtype=object),
           "d": np.array([k[1] for k in keys], dtype=np.int64),
           "seed": np.array([k[2] for k in keys], dtype=np.int64)}
    out.update({k: np.array(v, dtype=np.float64) for k, v in cols.items()})
    return out
