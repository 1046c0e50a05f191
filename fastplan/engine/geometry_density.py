"""Densities of the latent geometries: log-density, score and projection, in NumPy and Numba.

Every geometry reduces to one :class:`DensityParams` (plain arrays and scalars, a namedtuple,
so Numba kernels take it as one argument and cache) of one of two families:

``MIXTURE``  ``p(a) = sum_k w_k N(a; mu_k, Sigma_k)`` with diagonal ``Sigma_k = diag(std_k^2)``
             or, when ``full == 1``, a full ``Sigma_k`` given by ``prec_chol[k] = L_k^{-1}``
             (``Sigma_k = L_k L_k^T``, L_k lower triangular).  The VAE mixture (Eq. 1), the
             noisy VQ-VAE codebook (Eq. 3) and the geometries fitted from data.
``SPARSE``   the smoothed sparse EBM (Eq. 2): a support S uniform over the k-subsets of
             {1..d}, ``a_j ~ N(0, slab_std^2)`` on S and ``a_j ~ N(0, spike_std^2)`` off S
             (Eq. 2 with its exact zeros replaced by a narrow Gaussian spike).  Its density is
             ``prod_j N(a_j; 0, s0^2) * e_k(r) / C(d, k)`` with ``r_j = N(a_j; 0, s1^2) /
             N(a_j; 0, s0^2)`` and e_k the k-th elementary symmetric polynomial, computed by an
             O(d k) recursion in log space.  Its score is
             ``-a_j ((1 - w_j) / s0^2 + w_j / s1^2)``, with ``w_j = P(j in S | a)``.

The projection onto the high-density set (:data:`PROJECT_NEAREST`, :data:`PROJECT_BALL`,
:data:`PROJECT_TOPK`) is part of the parameters; see :func:`project`.

NumPy functions here take actions of shape (..., d); their Numba twins for one action vector
(serial, for use inside other kernels) are in :mod:`.geometry_kernels`.  NaN input gives NaN
output.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

MIXTURE, SPARSE = 0, 1
PROJECT_NEAREST, PROJECT_BALL, PROJECT_TOPK = 0, 1, 2
PROJECTIONS = {PROJECT_NEAREST: "nearest centre", PROJECT_BALL: "99% ball of the nearest component",
               PROJECT_TOPK: "keep the k largest |a_j|"}
#: Mass of the high-density region that projections map onto (mixture components' balls).
HDR_MASS = 0.99
#: Relative slack before a point counts as outside a component's ball (keeps projection
#: idempotent under rounding).
BALL_SLACK = 1e-9
LOG_2PI = math.log(2.0 * math.pi)
_CHUNK_ELEMENTS = 1 << 21   # rows x components x d handled at once by the NumPy mixture code


class DensityParams(NamedTuple):
    """A geometry's density as plain arrays (hand it to the Numba helpers as one argument).

    Attributes
    ----------
    kind : int
        :data:`MIXTURE` or :data:`SPARSE`.
    projection : int
        :data:`PROJECT_NEAREST`, :data:`PROJECT_BALL` or :data:`PROJECT_TOPK`.
    centers : ndarray (K, d)
        Component means (K = 0 for SPARSE).
    weights : ndarray (K,)
        Mixture weights (sum 1).
    std : ndarray (K, d)
        Per-component, per-coordinate std (diagonal mixtures; also filled for full ones with
        the marginal stds).
    k_active : int
        SPARSE: active coordinates k = floor(rho d); else d.
    log_norm : ndarray (K,)
        ``log w_k`` plus the log normaliser of component k.
    prec_chol : ndarray (K, d, d) or (0, d, d)
        ``L_k^{-1}`` (lower triangular) when ``full == 1``.
    full : int
        1 when components have full covariances.
    slab_std, spike_std : float
        SPARSE: std of the active and of the inactive coordinates.
    radius : float
        Mahalanobis radius of a component's HDR_MASS ball, ``sqrt(chi2_d^{-1}(0.99))``.
    """

    kind: int
    projection: int
    centers: np.ndarray
    weights: np.ndarray
    std: np.ndarray
    k_active: int
    log_norm: np.ndarray
    prec_chol: np.ndarray
    full: int
    slab_std: float
    spike_std: float
    radius: float

    @property
    def d(self) -> int:
        return self.centers.shape[1]


# --------------------------------------------------------------------------- constructors

def _frozen(x, dtype=np.float64):
    arr = np.ascontiguousarray(x, dtype=dtype)
    arr.setflags(write=False)
    return arr


def mixture_params(centers, weights, std, projection: int = PROJECT_BALL, cov=None) -> DensityParams:
    """Parameters of a Gaussian mixture.

    centers : (K, d); weights : (K,) (normalised here); std : scalar, (K,), or (K, d) per
    coordinate; cov : optional (K, d, d) full covariances (then ``std`` is ignored).
    """
    centers = np.atleast_2d(np.asarray(centers, dtype=np.float64))
    K, d = centers.shape
    w = np.asarray(weights, dtype=np.float64).reshape(K)
    w = w / w.sum()
    if cov is not None:
        cov = np.asarray(cov, dtype=np.float64).reshape(K, d, d)
        L = np.linalg.cholesky(cov)
        prec = np.linalg.inv(L)
        prec = np.tril(prec)
        stds = np.sqrt(np.einsum("kii->ki", cov))
        log_norm = np.log(w) + np.sum(np.log(np.einsum("kii->ki", prec)), axis=1) - 0.5 * d * LOG_2PI
        full = 1
    else:
        stds = np.broadcast_to(np.asarray(std, dtype=np.float64).reshape(-1, 1) if np.ndim(std) == 1
                               else np.asarray(std, dtype=np.float64), (K, d)).copy()
        prec = np.zeros((0, d, d))
        log_norm = np.log(w) - np.sum(np.log(stds), axis=1) - 0.5 * d * LOG_2PI
        full = 0
    return DensityParams(kind=MIXTURE, projection=int(projection), centers=_frozen(centers),
                         weights=_frozen(w), std=_frozen(stds), k_active=int(d),
                         log_norm=_frozen(log_norm), prec_chol=_frozen(prec), full=full,
                         slab_std=0.0, spike_std=0.0, radius=hdr_radius(d))


@functools.lru_cache(maxsize=None)
def hdr_radius(d: int) -> float:
    """Mahalanobis radius of the HDR_MASS ball of a d-dimensional Gaussian, sqrt(chi2_d^{-1}(0.99))."""
    return math.sqrt(chi2_quantile(HDR_MASS, d))


def sparse_params(d: int, k_active: int, slab_std: float, spike_std: float) -> DensityParams:
    """Parameters of the smoothed sparse EBM (module docstring), projection top-k."""
    return DensityParams(kind=SPARSE, projection=PROJECT_TOPK, centers=_frozen(np.zeros((0, d))),
                         weights=_frozen(np.zeros(0)), std=_frozen(np.zeros((0, d))),
                         k_active=int(k_active), log_norm=_frozen(np.zeros(0)),
                         prec_chol=_frozen(np.zeros((0, d, d))), full=0, slab_std=float(slab_std),
                         spike_std=float(spike_std), radius=0.0)


# --------------------------------------------------------------------------- chi-square quantile

def _gammainc_lower(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) (series / Lentz continued fraction)."""
    if x <= 0.0:
        return 0.0
    log_pref = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return min(1.0, total * math.exp(log_pref))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    dd = 1.0 / b
    h = dd
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        dd = an * dd + b
        dd = tiny if abs(dd) < tiny else dd
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        dd = 1.0 / dd
        delta = dd * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return max(0.0, 1.0 - math.exp(log_pref) * h)


def chi2_quantile(q: float, dof: int) -> float:
    """Quantile ``q`` of the chi-square law with ``dof`` degrees of freedom (bisection, ~1e-13)."""
    lo, hi = 0.0, dof + 40.0 * math.sqrt(2.0 * dof) + 100.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _gammainc_lower(0.5 * dof, 0.5 * mid) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return 0.5 * (lo + hi)


# --------------------------------------------------------------------------- NumPy

def _rows(p: DensityParams, a):
    """(n, d) float64 view of a (..., d) array and the leading shape."""
    from .errors import FastplanError, as_array
    a = as_array(a, "actions", finite=False)        # NaN in, NaN out (a diverged plan)
    if a.ndim < 1 or a.shape[-1] != p.d:
        raise FastplanError(f"actions must have shape (..., {p.d}), got {a.shape}")
    # writable as well as C-contiguous: a read-only array would compile the kernels again
    return np.require(a.reshape(-1, p.d), requirements=("C", "W")), a.shape[:-1]


def _chunks(n: int, per_row: int):
    step = max(1, _CHUNK_ELEMENTS // max(per_row, 1))
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _component_terms(p: DensityParams, x):
    """Component log-densities (n, K) and whitened residuals z (n, K, d) of rows x (n, d)."""
    diff = x[:, None, :] - p.centers[None, :, :]
    if p.full:
        z = np.einsum("kij,nkj->nki", p.prec_chol, diff)
    else:
        z = diff / p.std[None]
    return p.log_norm[None, :] - 0.5 * np.sum(z * z, axis=2), z


def _logsumexp(v, axis):
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.max(v, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(v - m), axis=axis))


def _sparse_terms(p: DensityParams, x):
    """log N(x; 0, s0^2), log-ratio l = log N(x; 0, s1^2) - log N(x; 0, s0^2), each (n, d)."""
    s0, s1 = p.spike_std, p.slab_std
    lsp = -0.5 * (x / s0) ** 2 - math.log(s0) - 0.5 * LOG_2PI
    lsl = -0.5 * (x / s1) ** 2 - math.log(s1) - 0.5 * LOG_2PI
    return lsp, lsl - lsp


def _esp(l, k):
    """Prefix table F (d+1, k+1, n): F[i, m] = log e_m(exp(l_1..l_i)), rows of l (n, d)."""
    n, d = l.shape
    F = np.full((d + 1, k + 1, n), -np.inf)
    F[:, 0] = 0.0
    with np.errstate(invalid="ignore"):
        for j in range(d):
            if k:
                F[j + 1, 1:] = np.logaddexp(F[j, 1:], F[j, :-1] + l[:, j])
    return F


def _log_binom(d: int, k: int) -> float:
    return math.lgamma(d + 1) - math.lgamma(k + 1) - math.lgamma(d - k + 1)


def log_density(p: DensityParams, a) -> np.ndarray:
    """log p(a) for actions (..., d); returns shape (...)."""
    x, lead = _rows(p, a)
    n = x.shape[0]
    out = np.empty(n)
    if p.kind == SPARSE:
        for lo, hi in _chunks(n, (p.d + 1) * (p.k_active + 1)):
            lsp, l = _sparse_terms(p, x[lo:hi])
            out[lo:hi] = lsp.sum(axis=1) + _esp(l, p.k_active)[-1, -1] - _log_binom(p.d, p.k_active)
    else:
        K = p.centers.shape[0]
        for lo, hi in _chunks(n, K * p.d * (p.d if p.full else 1)):
            comp, _ = _component_terms(p, x[lo:hi])
            out[lo:hi] = _logsumexp(comp, axis=1)
    return out.reshape(lead)


def score(p: DensityParams, a) -> np.ndarray:
    """The score grad_a log p(a) for actions (..., d); returns shape (..., d)."""
    x, lead = _rows(p, a)
    n, d = x.shape
    out = np.empty((n, d))
    if p.kind == SPARSE:
        k = p.k_active
        s0sq, s1sq = p.spike_std ** 2, p.slab_std ** 2
        for lo, hi in _chunks(n, 2 * (d + 1) * (k + 1)):
            xc = x[lo:hi]
            if k == 0:
                out[lo:hi] = -xc / s0sq
                continue
            _, l = _sparse_terms(p, xc)
            F = _esp(l, k)
            G = _esp(l[:, ::-1], k)[::-1]          # G[i, m] = log e_m(exp(l_{i+1..d}))
            total = F[-1, -1]
            # log e_{k-1}(r without j) = logsumexp_m F[j, m] + G[j+1, k-1-m]
            pairs = F[:-1, :k] + G[1:, k - 1::-1]  # (d, k, n)
            with np.errstate(invalid="ignore"):
                rest = _logsumexp(pairs, axis=1)   # (d, n)
                w = np.exp(l.T + rest - total[None, :]).T
            out[lo:hi] = -xc * ((1.0 - w) / s0sq + w / s1sq)
    else:
        K = p.centers.shape[0]
        for lo, hi in _chunks(n, 2 * K * d * (d if p.full else 1)):
            comp, z = _component_terms(p, x[lo:hi])
            r = np.exp(comp - _logsumexp(comp, axis=1)[:, None])    # responsibilities (n, K)
            if p.full:
                g = np.einsum("kji,nkj->nki", p.prec_chol, z)         # Sigma^{-1} (a - mu)
            else:
                g = z / p.std[None]
            out[lo:hi] = -np.einsum("nk,nkd->nd", r, g)
    return out.reshape(lead + (d,))


def project(p: DensityParams, a) -> np.ndarray:
    """Map actions (..., d) onto the geometry's high-density set.

    ``PROJECT_NEAREST``: the nearest centre (Euclidean).  ``PROJECT_TOPK``: keep the k largest
    |a_j| (ties: the lower index), zero the rest.  ``PROJECT_BALL``: a point inside some
    component's HDR_MASS ball (Mahalanobis radius :attr:`DensityParams.radius`) is kept; any
    other point is shrunk along the segment to the centre of the component with the smallest
    Mahalanobis radius until it lies on that ball.  Each is idempotent.
    """
    x, lead = _rows(p, a)
    n, d = x.shape
    out = np.empty((n, d))
    if p.projection == PROJECT_TOPK:
        k = p.k_active
        order = np.argsort(-np.abs(x), axis=1, kind="stable")
        keep = np.zeros((n, d), dtype=bool)
        np.put_along_axis(keep, order[:, :k], True, axis=1)
        out[:] = np.where(keep, x, 0.0)
        out[np.isnan(x).any(axis=1)] = np.nan
        return out.reshape(lead + (d,))
    K = p.centers.shape[0]
    for lo, hi in _chunks(n, K * d * (d if p.full else 1)):
        xc = x[lo:hi]
        if p.projection == PROJECT_NEAREST:
            d2 = np.sum((xc[:, None, :] - p.centers[None]) ** 2, axis=2)
            out[lo:hi] = p.centers[np.argmin(d2, axis=1)]
        else:
            _, z = _component_terms(p, xc)
            rho = np.sqrt(np.sum(z * z, axis=2))                    # (n, K)
            kstar = np.argmin(rho, axis=1)
            rmin = rho[np.arange(hi - lo), kstar]
            mu = p.centers[kstar]
            inside = rmin <= p.radius * (1.0 + BALL_SLACK)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = np.where(inside, 1.0, p.radius / rmin)
            out[lo:hi] = np.where(inside[:, None], xc, mu + t[:, None] * (xc - mu))
        out[lo:hi][np.isnan(xc).any(axis=1)] = np.nan
    return out.reshape(lead + (d,))
