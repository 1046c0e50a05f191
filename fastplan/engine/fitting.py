"""Fitting latent geometries to data: k-means++ / Lloyd, EM for Gaussian mixtures, KDE bandwidth.

Plain NumPy on an (n, d) array of latent actions, deterministic for a seed: the k-means++
draws come from :mod:`fastplan.engine.rng` (tag ``GEOM_FIT``), squared distances (hence
assignments) are computed elementwise, and ties go to the lower index.  Means and
covariances of the M-step are matrix products (BLAS).
"""
from __future__ import annotations

import math

import numpy as np

from . import geometry_density as gd
from . import rng
from .errors import FastplanError

KMEANS_MAX_ITER = 300
KMEANS_N_INIT = 10     # k-means++ restarts; the best (least inertia) is kept
EM_MAX_ITER = 200
EM_TOL = 1e-6          # stop when the mean log-likelihood per latent changes by less
REG_COVAR = 1e-6       # added to every variance, times the data's mean variance
NOISE_FLOOR = 1e-3     # least codebook noise std, times the data's RMS std
_CHUNK = 1 << 21


def sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, K) of rows x (n, d) to centres c (K, d), chunked."""
    n, d = x.shape
    out = np.empty((n, c.shape[0]))
    step = max(1, _CHUNK // max(c.shape[0] * d, 1))
    for lo in range(0, n, step):
        diff = x[lo:lo + step, None, :] - c[None, :, :]
        out[lo:lo + step] = np.sum(diff * diff, axis=2)
    return out


def kmeans_pp(x: np.ndarray, k: int, seed: int, stream: int) -> np.ndarray:
    """k-means++ initial centres (k, d): the first row chosen uniformly, each next one with
    probability proportional to its squared distance to the nearest chosen centre; one
    uniform of ``(seed, stream)`` per centre."""
    n = x.shape[0]
    u = rng.uniforms(seed, stream, k)
    idx = [min(int(u[0] * n), n - 1)]
    d2 = sq_dist(x, x[idx[0]][None])[:, 0]
    for c in range(1, k):
        cum = np.cumsum(d2)
        if not cum[-1] > 0:
            raise FastplanError(f"the latents hold fewer than {k} distinct points; choose a smaller k")
        i = int(np.searchsorted(cum, u[c] * cum[-1], side="right"))
        i = min(i, n - 1)
        idx.append(i)
        d2 = np.minimum(d2, sq_dist(x, x[i][None])[:, 0])
    return x[idx].copy()


def lloyd(x: np.ndarray, centers: np.ndarray, max_iter: int = KMEANS_MAX_ITER):
    """Lloyd iterations from ``centers`` until the assignment stops changing.

    An emptied cluster is re-seeded with the latent farthest from its centre.  Returns
    (centers (K, d), labels (n,), iterations, converged).
    """
    centers = centers.copy()
    K = centers.shape[0]
    labels = None
    for it in range(1, max_iter + 1):
        d2 = sq_dist(x, centers)
        new = np.argmin(d2, axis=1)
        counts = np.bincount(new, minlength=K)
        while not counts.all():     # re-seed an empty cluster (n >= K: some cluster has two)
            own = np.where(counts[new] > 1, d2[np.arange(x.shape[0]), new], -1.0)
            far = int(np.argmax(own))
            counts[new[far]] -= 1
            new[far] = int(np.flatnonzero(counts == 0)[0])
            counts[new[far]] += 1
            d2[far] = 0.0
        if labels is not None and np.array_equal(new, labels):
            return centers, labels, it, True
        labels = new
        for j in range(K):
            centers[j] = x[labels == j].mean(axis=0)
    return centers, labels, max_iter, False


def kmeans(x: np.ndarray, k: int, seed: int, kind_id: int, n_init: int = KMEANS_N_INIT):
    """k-means++ then Lloyd, ``n_init`` times (restart r draws from stream
    ``stream_id(GEOM_FIT, kind_id, r)``); the run with the least within-cluster sum of
    squares wins (ties: the first).  Returns (centers, labels, iterations, converged)."""
    best, best_inertia = None, np.inf
    for r in range(n_init):
        centers, labels, it, ok = lloyd(x, kmeans_pp(x, k, seed, rng.stream_id(rng.GEOM_FIT, kind_id, r)))
        inertia = float(np.sum((x - centers[labels]) ** 2))
        if inertia < best_inertia:
            best, best_inertia = (centers, labels, it, ok), inertia
    if best is None:
        raise FastplanError("k-means found no finite clustering of the latents (overflow?); rescale them")
    return best


def _m_step(x, resp, covariance: str, reg: float):
    nk = resp.sum(axis=0) + 10.0 * np.finfo(float).eps
    weights = nk / nk.sum()
    means = (resp.T @ x) / nk[:, None]
    K, d = means.shape
    if covariance == "full":
        cov = np.empty((K, d, d))
        for j in range(K):
            dev = x - means[j]
            cov[j] = (dev * resp[:, j:j + 1]).T @ dev / nk[j] + reg * np.eye(d)
        return weights, means, cov
    var = np.empty((K, d))
    for j in range(K):
        dev = x - means[j]
        var[j] = (resp[:, j] @ (dev * dev)) / nk[j] + reg
    return weights, means, var


def _params(weights, means, spread, covariance):
    if covariance == "full":
        return gd.mixture_params(means, weights, None, cov=spread)
    return gd.mixture_params(means, weights, np.sqrt(spread))


def _log_resp(p, x):
    """Per-component log terms (n, K) and per-latent log-likelihood (n,)."""
    n = x.shape[0]
    K = p.centers.shape[0]
    comp = np.empty((n, K))
    step = max(1, _CHUNK // max(K * p.d * (p.d if p.full else 1), 1))
    for lo in range(0, n, step):
        comp[lo:lo + step] = gd._component_terms(p, x[lo:lo + step])[0]
    ll = gd._logsumexp(comp, axis=1)
    return comp - ll[:, None], ll


def em_gmm(x: np.ndarray, k: int, seed: int, kind_id: int, covariance: str = "diag",
           max_iter: int = EM_MAX_ITER, tol: float = EM_TOL) -> dict:
    """Fit a k-component Gaussian mixture by EM, initialised from :func:`kmeans` (seeded).

    Every variance gets ``REG_COVAR * mean data variance`` added (keeps components proper).
    Returns a dict with weights (k,), means (k, d), ``var`` (k, d) or ``cov`` (k, d, d),
    ``log_likelihood`` (mean per latent), ``iterations``, ``converged``.
    """
    reg = REG_COVAR * float(np.mean(np.var(x, axis=0)))
    _, labels, _, _ = kmeans(x, k, seed, kind_id)
    resp = np.zeros((x.shape[0], k))
    resp[np.arange(x.shape[0]), labels] = 1.0
    weights, means, spread = _m_step(x, resp, covariance, reg)
    previous = -np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        log_resp, ll = _log_resp(_params(weights, means, spread, covariance), x)
        mean_ll = float(np.mean(ll))
        weights, means, spread = _m_step(x, np.exp(log_resp), covariance, reg)
        if abs(mean_ll - previous) < tol:
            converged = True
            break
        previous = mean_ll
    _, ll = _log_resp(_params(weights, means, spread, covariance), x)
    out = {"weights": weights, "means": means, "log_likelihood": float(np.mean(ll)),
           "iterations": it, "converged": converged}
    out["cov" if covariance == "full" else "var"] = spread
    return out


def codebook_noise(x: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> tuple[float, bool]:
    """Isotropic noise std of a k-means codebook from the within-cluster residual,
    ``sqrt(sum ||x_i - c(i)||^2 / ((n - K) d))`` (``n d`` when n = K), floored at
    ``NOISE_FLOOR`` times the data's RMS std.  Returns (std, floored)."""
    n, d = x.shape
    K = centers.shape[0]
    resid = float(np.sum((x - centers[labels]) ** 2))
    std = math.sqrt(resid / (max(n - K, 1) * d)) if n > K else 0.0
    floor = NOISE_FLOOR * math.sqrt(float(np.mean(np.var(x, axis=0))))
    return (std, False) if std >= floor else (floor, True)


def scott_bandwidth(x: np.ndarray) -> np.ndarray:
    """Per-coordinate KDE bandwidth (d,), Scott's rule ``std_j n^(-1/(d+4))`` (ddof 1), with a
    constant coordinate given ``NOISE_FLOOR`` times the RMS std of the others."""
    n, d = x.shape
    std = np.std(x, axis=0, ddof=1) if n > 1 else np.zeros(d)
    rms = math.sqrt(float(np.mean(std ** 2)))
    return np.maximum(std, NOISE_FLOOR * rms) * n ** (-1.0 / (d + 4))
