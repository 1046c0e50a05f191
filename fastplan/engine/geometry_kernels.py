"""Numba twins of the geometry densities, for use inside kernels (planners, metrics).

Every helper takes the geometry's :class:`~.geometry_density.DensityParams` ``p`` (a namedtuple
of arrays and scalars: pass it to a kernel as one argument, the cache keeps working) and one
action vector ``a`` of shape (d,)::

    from fastplan.engine.geometry_kernels import log_density_one, score_one, project_one

    @parallel_kernel
    def my_kernel(p, X, ...):
        for i in numba.prange(X.shape[0]):
            logp = score_one(p, X[i], grad[i])     # grad_a log p(a) into grad[i], returns log p(a)

``log_density_one(p, a) -> float``; ``score_one(p, a, out) -> float`` (log p, and the score into
``out``); ``project_one(p, a, out)``.  They are serial (no prange) and the mixture paths
allocate nothing; the sparse EBM's allocate two small (d+1, k+1) tables (score) or one (k+1)
row (log-density).  Their results equal the NumPy functions of :mod:`.geometry_density` to
rounding (tested).  ``*_rows`` are parallel row-wise wrappers (prange over rows; bit-identical
for any thread count).
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .geometry_density import BALL_SLACK, LOG_2PI, PROJECT_NEAREST, PROJECT_TOPK, SPARSE, DensityParams, _rows
from .jit import kernel, parallel_kernel


@kernel(inline=True)
def _logaddexp(x, y):
    """log(exp(x) + exp(y)); exact to rounding (a term below exp(-40) of the other is dropped)."""
    if x >= y:
        if y == -np.inf or y - x < -40.0:
            return x
        return x + math.log1p(math.exp(y - x))
    if x == -np.inf or x - y < -40.0:
        return y
    return y + math.log1p(math.exp(x - y))


@kernel(inline=True)
def _has_nan(a):
    for j in range(a.shape[0]):
        if math.isnan(a[j]):
            return True
    return False


@kernel(inline=True)
def _diag_term(centers, std, log_norm, k, a):
    """(log w_k + log N(a; mu_k, diag std_k^2), squared Mahalanobis radius)."""
    s = 0.0
    for j in range(a.shape[0]):
        v = (a[j] - centers[k, j]) / std[k, j]
        s += v * v
    return log_norm[k] - 0.5 * s, s


@kernel(inline=True)
def _full_term(centers, prec_chol, log_norm, k, a):
    """(log w_k + log N(a; mu_k, Sigma_k), squared Mahalanobis radius), prec_chol[k] = L_k^{-1}."""
    s = 0.0
    for i in range(a.shape[0]):
        acc = 0.0
        for j in range(i + 1):
            acc += prec_chol[k, i, j] * (a[j] - centers[k, j])
        s += acc * acc
    return log_norm[k] - 0.5 * s, s


@kernel(inline=True)
def _component(centers, std, prec_chol, log_norm, full, k, a):
    if full:
        return _full_term(centers, prec_chol, log_norm, k, a)
    return _diag_term(centers, std, log_norm, k, a)


@kernel(inline=True)
def _lse_add(m, s, c):
    """One step of an online log-sum-exp: (max, sum of exp(. - max)) after adding c."""
    if c > m:
        return c, (s * math.exp(m - c) + 1.0 if m > -np.inf else 1.0)
    if c > -np.inf:
        return m, s + math.exp(c - m)
    return m, s


@kernel
def _diag_logpdf(centers, std, log_norm, a):
    m = -np.inf
    s = 0.0
    for k in range(centers.shape[0]):
        m, s = _lse_add(m, s, _diag_term(centers, std, log_norm, k, a)[0])
    return m + math.log(s) if m > -np.inf else m


@kernel
def _full_logpdf(centers, prec_chol, log_norm, a):
    m = -np.inf
    s = 0.0
    for k in range(centers.shape[0]):
        m, s = _lse_add(m, s, _full_term(centers, prec_chol, log_norm, k, a)[0])
    return m + math.log(s) if m > -np.inf else m


@kernel(inline=True)
def _mixture_logpdf(centers, std, prec_chol, log_norm, full, a):
    """Online log-sum-exp over the components (no allocation).  Diagonal and full covariances
    are separate functions: one loop holding both ran 17x slower."""
    if full:
        return _full_logpdf(centers, prec_chol, log_norm, a)
    return _diag_logpdf(centers, std, log_norm, a)


@kernel(inline=True)
def _sparse_constants(p, d):
    k = p.k_active
    logc = math.lgamma(d + 1.0) - math.lgamma(k + 1.0) - math.lgamma(d - k + 1.0)
    return -math.log(p.spike_std) - 0.5 * LOG_2PI, -math.log(p.slab_std) - 0.5 * LOG_2PI, logc


@kernel
def _sparse_logpdf(p, a):
    """Eq. 2 smoothed (see :mod:`.geometry_density`): O(d k) recursion on one (k+1) row."""
    d = a.shape[0]
    k = p.k_active
    c0, c1, logc = _sparse_constants(p, d)
    E = np.full(k + 1, -np.inf)
    E[0] = 0.0
    base = 0.0
    s0, s1 = p.spike_std, p.slab_std
    for j in range(d):
        lsp = -0.5 * (a[j] / s0) ** 2 + c0
        lj = -0.5 * (a[j] / s1) ** 2 + c1 - lsp
        base += lsp
        for m in range(min(j + 1, k), 0, -1):
            E[m] = _logaddexp(E[m], E[m - 1] + lj)
    return base + E[k] - logc


@kernel
def log_density_one(p, a):
    """log p(a) of one action vector a (d,) (serial; for use inside kernels)."""
    if _has_nan(a):
        return np.nan
    if p.kind == SPARSE:
        return _sparse_logpdf(p, a)
    return _mixture_logpdf(p.centers, p.std, p.prec_chol, p.log_norm, p.full, a)


@kernel
def _sparse_score(p, a, out):
    d = a.shape[0]
    k = p.k_active
    c0, c1, logc = _sparse_constants(p, d)
    s0sq = p.spike_std * p.spike_std
    s1sq = p.slab_std * p.slab_std
    l = np.empty(d)
    F = np.full((d + 1, k + 1), -np.inf)        # F[i, m] = log e_m(exp(l_0..l_{i-1}))
    G = np.full((d + 1, k + 1), -np.inf)        # G[i, m] = log e_m(exp(l_i..l_{d-1}))
    F[:, 0] = 0.0
    G[:, 0] = 0.0
    base = 0.0
    s0, s1 = p.spike_std, p.slab_std
    for j in range(d):
        lsp = -0.5 * (a[j] / s0) ** 2 + c0
        l[j] = -0.5 * (a[j] / s1) ** 2 + c1 - lsp
        base += lsp
        for m in range(1, k + 1):
            F[j + 1, m] = _logaddexp(F[j, m], F[j, m - 1] + l[j])
    for i in range(d - 1, -1, -1):
        for m in range(1, k + 1):
            G[i, m] = _logaddexp(G[i + 1, m], G[i + 1, m - 1] + l[i])
    total = F[d, k]
    for j in range(d):
        w = 0.0                                  # P(j in S | a)
        if k > 0:
            rest = -np.inf
            for m in range(k):
                rest = _logaddexp(rest, F[j, m] + G[j + 1, k - 1 - m])
            w = math.exp(l[j] + rest - total)
        out[j] = -a[j] * ((1.0 - w) / s0sq + w / s1sq)
    return base + total - logc


@kernel
def _mixture_score(centers, std, prec_chol, log_norm, full, a, out):
    """Two passes, no allocation: log-sum-exp, then responsibilities times component scores."""
    d = a.shape[0]
    lse = _mixture_logpdf(centers, std, prec_chol, log_norm, full, a)
    for j in range(d):
        out[j] = 0.0
    if full:
        for k in range(centers.shape[0]):
            r = math.exp(_full_term(centers, prec_chol, log_norm, k, a)[0] - lse)
            for i in range(d):                   # -r L^{-T} z, z = L^{-1}(a - mu), row by row
                zi = 0.0
                for j in range(i + 1):
                    zi += prec_chol[k, i, j] * (a[j] - centers[k, j])
                for j in range(i + 1):
                    out[j] -= r * prec_chol[k, i, j] * zi
        return lse
    for k in range(centers.shape[0]):
        r = math.exp(_diag_term(centers, std, log_norm, k, a)[0] - lse)
        for j in range(d):
            sd = std[k, j]
            out[j] -= r * (a[j] - centers[k, j]) / (sd * sd)
    return lse


@kernel
def score_one(p, a, out):
    """Write grad_a log p(a) of one action a (d,) into out (d,); return log p(a) (serial)."""
    if _has_nan(a):
        out[:] = np.nan
        return np.nan
    if p.kind == SPARSE:
        return _sparse_score(p, a, out)
    return _mixture_score(p.centers, p.std, p.prec_chol, p.log_norm, p.full, a, out)


@kernel
def project_one(p, a, out):
    """Write the projection of one action a (d,) into out (d,) (see
    :func:`fastplan.engine.geometry_density.project`; no allocation)."""
    d = a.shape[0]
    if _has_nan(a):
        out[:] = np.nan
        return
    if p.projection == PROJECT_TOPK:            # keep a_j if fewer than k coordinates beat it
        k_active = p.k_active
        for j in range(d):
            beaten = 0
            for i in range(d):
                if abs(a[i]) > abs(a[j]) or (abs(a[i]) == abs(a[j]) and i < j):
                    beaten += 1
            out[j] = a[j] if beaten < k_active else 0.0
        return
    centers, std, prec_chol, log_norm, full = p.centers, p.std, p.prec_chol, p.log_norm, p.full
    nearest = p.projection == PROJECT_NEAREST
    best = 0
    bd = np.inf
    for k in range(centers.shape[0]):
        if nearest:
            s = 0.0
            for j in range(d):
                v = a[j] - centers[k, j]
                s += v * v
        else:
            s = _component(centers, std, prec_chol, log_norm, full, k, a)[1]
        if s < bd:
            bd = s
            best = k
    if nearest:
        out[:] = centers[best]
        return
    rmin = math.sqrt(bd)
    if rmin <= p.radius * (1.0 + BALL_SLACK):
        out[:] = a
        return
    t = p.radius / rmin
    for j in range(d):
        mu = centers[best, j]
        out[j] = mu + t * (a[j] - mu)


@parallel_kernel
def log_density_rows(p, X, out):
    """out[i] = log p(X[i]) for X (n, d) (prange over rows)."""
    for i in numba.prange(X.shape[0]):
        out[i] = log_density_one(p, X[i])


@kernel
def log_density_rows_serial(p, X, out):
    """Serial twin of :func:`log_density_rows` (no thread launch: for a handful of rows)."""
    for i in range(X.shape[0]):
        out[i] = log_density_one(p, X[i])


@parallel_kernel
def score_rows(p, X, grad, logp):
    """grad[i] = score of X[i], logp[i] = log p(X[i]) for X (n, d) (prange over rows)."""
    for i in numba.prange(X.shape[0]):
        logp[i] = score_one(p, X[i], grad[i])


@parallel_kernel
def project_rows(p, X, out):
    """out[i] = projection of X[i] for X (n, d) (prange over rows)."""
    for i in numba.prange(X.shape[0]):
        project_one(p, X[i], out[i])


def log_density_fast(p: DensityParams, a) -> np.ndarray:
    """log p(a) for actions (..., d) through :func:`log_density_one` (parallel from 2048 rows
    on; the same bits either way)."""
    x, lead = _rows(p, a)
    out = np.empty(x.shape[0])
    (log_density_rows if x.shape[0] >= 2048 else log_density_rows_serial)(p, x, out)
    return out.reshape(lead)
