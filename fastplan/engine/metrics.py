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


#: Columns per tile of the pairwise kernel (4 rows x 128 columns of scratch stay in L1).
PAIR_TILE = 128


@kernel
def _pair_row_sum(xt, i):
    """sum_{j > i} ||x_i - x_j||_2 for xt (d, n) = x transposed, terms added in j order."""
    d, n = xt.shape
    acc = 0.0
    for j in range(i + 1, n):
        s2 = 0.0
        for k in range(d):
            diff = xt[k, i] - xt[k, j]
            s2 += diff * diff
        acc += math.sqrt(s2)
    return acc


@kernel
def _pair_rows4(xt, i0, buf, out):
    """out[i] = sum_{j > i} ||x_i - x_j||_2 for the four rows i = i0..i0+3 of xt (d, n).

    Bit-identical to :func:`_pair_row_sum` row by row: every squared distance sums k in
    order, and every row adds its terms in j order, but the four rows' columns j >= i0 + 4
    go together in tiles of :data:`PAIR_TILE` (one load of x_j serves four rows, the
    squared distances and square roots vectorise over j, and the four running sums are
    independent chains).  Each pass over a tile's scratch adds four coordinates k (in
    order), so the scratch is read and written d/4 times instead of d.
    buf : (4, PAIR_TILE) scratch.
    """
    d, n = xt.shape
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    for j in range(i0 + 1, i0 + 4):        # the pairs inside the group come first
        s2 = 0.0
        for k in range(d):
            diff = xt[k, i0] - xt[k, j]
            s2 += diff * diff
        a0 += math.sqrt(s2)
    for j in range(i0 + 2, i0 + 4):
        s2 = 0.0
        for k in range(d):
            diff = xt[k, i0 + 1] - xt[k, j]
            s2 += diff * diff
        a1 += math.sqrt(s2)
    s2 = 0.0
    for k in range(d):
        diff = xt[k, i0 + 2] - xt[k, i0 + 3]
        s2 += diff * diff
    a2 += math.sqrt(s2)
    b0 = buf[0]
    b1 = buf[1]
    b2 = buf[2]
    b3 = buf[3]
    d4 = d - d % 4
    for lo in range(i0 + 4, n, PAIR_TILE):
        m = min(PAIR_TILE, n - lo)
        for j in range(m):
            b0[j] = 0.0
            b1[j] = 0.0
            b2[j] = 0.0
            b3[j] = 0.0
        for k in range(0, d4, 4):          # four coordinates per pass, added in k order
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
                e = x00 - w0
                t += e * e
                e = x01 - w1
                t += e * e
                e = x02 - w2
                t += e * e
                e = x03 - w3
                t += e * e
                b0[j] = t
                t = b1[j]
                e = x10 - w0
                t += e * e
                e = x11 - w1
                t += e * e
                e = x12 - w2
                t += e * e
                e = x13 - w3
                t += e * e
                b1[j] = t
                t = b2[j]
                e = x20 - w0
                t += e * e
                e = x21 - w1
                t += e * e
                e = x22 - w2
                t += e * e
                e = x23 - w3
                t += e * e
                b2[j] = t
                t = b3[j]
                e = x30 - w0
                t += e * e
                e = x31 - w1
                t += e * e
                e = x32 - w2
                t += e * e
                e = x33 - w3
                t += e * e
                b3[j] = t
        for k in range(d4, d):             # the last d % 4 coordinates, one per pass
            xk = xt[k, lo:lo + m]
            x0 = xt[k, i0]
            x1 = xt[k, i0 + 1]
            x2 = xt[k, i0 + 2]
            x3 = xt[k, i0 + 3]
            for j in range(m):
                v = xk[j]
                e0 = x0 - v
                e1 = x1 - v
                e2 = x2 - v
                e3 = x3 - v
                b0[j] += e0 * e0
                b1[j] += e1 * e1
                b2[j] += e2 * e2
                b3[j] += e3 * e3
        for j in range(m):               # one loop per row: each vectorises
            b0[j] = math.sqrt(b0[j])
        for j in range(m):
            b1[j] = math.sqrt(b1[j])
        for j in range(m):
            b2[j] = math.sqrt(b2[j])
        for j in range(m):
            b3[j] = math.sqrt(b3[j])
        for j in range(m):
            a0 += b0[j]
            a1 += b1[j]
            a2 += b2[j]
            a3 += b3[j]
    out[i0] = a0
    out[i0 + 1] = a1
    out[i0 + 2] = a2
    out[i0 + 3] = a3


@parallel_kernel
def _pairwise_row_sums(xt, out):
    """out[i] = sum_{j > i} ||x_i - x_j||_2 for xt (d, n) = x transposed.

    Work items are pairs of 4-row groups, one from each end (g and G-1-g), so that every
    item has the same number of pairs; the last n % 4 rows run alone.
    """
    d, n = xt.shape
    G = n // 4
    items = (G + 1) // 2
    buf = np.empty((items, 4, PAIR_TILE))
    for it in numba.prange(items):
        _pair_rows4(xt, 4 * it, buf[it], out)
        if G - 1 - it != it:
            _pair_rows4(xt, 4 * (G - 1 - it), buf[it], out)
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
    if math.isnan(m["effective_dimension"]):
        why = " (floor(0.3 d) = 0 active coordinates)" if geometry.kind == "ebm" else ""
        warnings.warn(f"{geometry.label} at d={geometry.d} is a point mass{why}: "
                      f"effective dimension is undefined", RuntimeWarning, stacklevel=2)
    return {"geometry": geometry.kind, "d": geometry.d, **m, "n_samples": n}


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
