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

from . import budget
from .jit import parallel_kernel
from .errors import FastplanError, as_array, check_positive_int
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
    cov = np.cov(x, rowvar=False, bias=True).reshape(x.shape[1], x.shape[1])
    lam = np.linalg.eigvalsh(cov)
    denom = float(np.sum(lam**2))
    if denom == 0.0:
        return float("nan")
    return float(np.sum(lam) ** 2 / denom)


@parallel_kernel
def _pairwise_row_sums(x, out):
    """out[i] = sum_{j > i} ||x_i - x_j||_2 for x (n, d); one row per item."""
    n, d = x.shape
    for i in numba.prange(n):
        acc = 0.0
        for j in range(i + 1, n):
            s2 = 0.0
            for k in range(d):
                diff = x[i, k] - x[j, k]
                s2 += diff * diff
            acc += math.sqrt(s2)
        out[i] = acc


def mean_pairwise_distance(samples: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs i < j of samples (n, d) (the r-bar of Eq. 12)."""
    x = as_array(samples, "samples", ndim=2)
    n = x.shape[0]
    if n < 2:
        raise FastplanError(f"mean pairwise distance needs at least 2 samples, got {n}")
    rows = np.empty(n)
    _pairwise_row_sums(x, rows)
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
    x = as_array(samples, "samples", ndim=2)
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
    for kind, d, seed in keys:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = geometry_metrics(make_geometry(kind, d, seed), n=n)
        for k in METRIC_NAMES:
            cols[k].append(m[k])
    out = {"geometry": np.array([k[0] for k in keys], dtype=object),
           "d": np.array([k[1] for k in keys], dtype=np.int64),
           "seed": np.array([k[2] for k in keys], dtype=np.int64)}
    out.update({k: np.array(v, dtype=np.float64) for k, v in cols.items()})
    return out
