"""Latent geometries fitted from data (issue 12.2): empirical, Gaussian mixture (EM), k-means codebook.

``geometry_from_samples(x, kind, k, seed)`` turns an (n, d) array of latent actions into a
:class:`FittedGeometry` with the interface of the paper's three (:class:`~.geometry.GeometryBase`):

=============  ==================================================================================
``empirical``  sampling resamples the rows uniformly; density: Gaussian KDE on the rows with
               Scott's per-coordinate bandwidth ``h_j = std_j n^(-1/(d+4))``; projection: the
               nearest row.  Each density evaluation costs O(n d).
``gmm``        K-component Gaussian mixture fitted by EM (diagonal covariance by default,
               ``covariance="full"`` for full ones), initialised by k-means (k-means++ seeded by
               ``seed``); projection: onto the 99% ellipsoid of the nearest component (as the
               VAE mixture).
``kmeans``     k-means codebook (k-means++ then Lloyd) with isotropic noise estimated from the
               within-cluster residual, component weights = cluster sizes / n (the fitted twin
               of Eq. 3); projection: the nearest entry.
=============  ==================================================================================

Moments (``mean``, ``std``, ``cov``) are exact for the sampler.  These kinds are not in the
geometry registry (its factories take ``(d, seed)``; these take data); their fixed random-stream
ids 3, 4, 5 address the k-means++ draws (``rng.stream_id(rng.GEOM_FIT, id, restart)``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numba
import numpy as np

from . import fitting, rng
from . import geometry_density as gd
from .errors import FastplanError, as_array, check_dim, check_positive_int, check_scale, check_seed
from .geometry import GeometryBase, check_moments, check_sample_request
from .jit import parallel_kernel

FIT_KINDS = ("empirical", "gmm", "kmeans")
#: Fixed random-stream ids of the fitted kinds (never renumber: they address the fit's draws).
FIT_STREAM_IDS = {"empirical": 3, "gmm": 4, "kmeans": 5}
LABELS = {"empirical": "Empirical", "gmm": "GMM", "kmeans": "k-means codebook"}
COVARIANCES = ("diag", "full")


@parallel_kernel
def _sample_weighted_kernel(cum, centers, std, chol, key_comp, key_noise, out):
    """Row i: component c with cum[c-1] <= u_i < cum[c], then centers[c] + std[c] * z
    (or chol[c] @ z when chol holds K matrices); draws addressed by i only."""
    n, d = out.shape
    K = centers.shape[0]
    full = chol.shape[0] == K
    for i in numba.prange(n):
        u = rng.uniform(key_comp, np.uint64(i))
        lo = 0
        hi = K - 1
        while lo < hi:                     # first c with cum[c] > u
            mid = (lo + hi) // 2
            if cum[mid] > u:
                hi = mid
            else:
                lo = mid + 1
        z = np.empty(d)
        for j in range(d):
            z[j] = rng.normal(key_noise, np.uint64(i * d + j))
        for j in range(d):
            if full:
                acc = 0.0
                for m in range(j + 1):
                    acc += chol[lo, j, m] * z[m]
                out[i, j] = centers[lo, j] + acc
            else:
                out[i, j] = centers[lo, j] + std[lo, j] * z[j]


@dataclass(frozen=True, eq=False)
class FittedGeometry(GeometryBase):
    """A geometry fitted from latent data (see the module docstring).

    Attributes
    ----------
    kind : {"empirical", "gmm", "kmeans"}
    d, seed : int
    centers : (K, d)  component means / codebook entries / data rows
    weights : (K,)
    sample_std : (K, d)  per-coordinate noise of the sampler (0 for the empirical kind)
    density_std : (K, d)  per-coordinate std of the density's components
    covariances : (K, d, d) or None  full covariances (``gmm`` with ``covariance="full"``)
    info : dict  how it was fitted (n, k, iterations, log-likelihood, bandwidth, ...)
    """

    kind: str
    d: int
    seed: int
    centers: np.ndarray
    weights: np.ndarray
    sample_std: np.ndarray
    density_std: np.ndarray
    covariances: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        # built directly (not by geometry_from_samples): the kernels index every array by K, d
        if self.kind not in FIT_KINDS:
            raise FastplanError(f"unknown fitted geometry kind {self.kind!r}; choose from {', '.join(FIT_KINDS)}")
        d, seed = check_dim(self.d), check_seed(self.seed)
        centers = as_array(self.centers, "centers", (None, d))
        K = centers.shape[0]
        if K < 1:
            raise FastplanError("a fitted geometry needs at least one component")
        weights = as_array(self.weights, "weights", (K,))
        if np.any(weights < 0) or not weights.sum() > 0:
            raise FastplanError("component weights must be >= 0 with a positive sum")
        sample_std = as_array(self.sample_std, "sample_std", (K, d))
        density_std = as_array(self.density_std, "density_std", (K, d))
        if np.any(sample_std < 0) or not np.all(density_std > 0):
            raise FastplanError("sample_std must be >= 0 and density_std > 0")
        cov = self.covariances
        if cov is not None:
            cov = as_array(cov, "covariances", (K, d, d))
            if not np.allclose(cov, np.swapaxes(cov, 1, 2)) or np.any(np.linalg.eigvalsh(cov) <= 0):
                raise FastplanError("covariances must be symmetric positive definite (K, d, d) matrices")
        if not isinstance(self.info, dict):
            raise FastplanError(f"info must be a dict, got {type(self.info).__name__}")
        for name, value in (("d", d), ("seed", seed), ("centers", centers), ("weights", weights),
                            ("sample_std", sample_std), ("density_std", density_std), ("covariances", cov)):
            object.__setattr__(self, name, value)

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def n_active(self) -> int:
        return self.d

    def sample(self, n: int, seed: int | None = None, stream: int = 0) -> np.ndarray:
        """Draw ``n`` samples (n, d) addressed by ``(seed, stream)`` (seed defaults to the fit's)."""
        n, seed, stream = check_sample_request(n, seed, stream, self)
        keys = [rng.key(seed, rng.stream_id(tag, stream))
                for tag in (rng.GEOM_SAMPLE_COMPONENT, rng.GEOM_SAMPLE_NOISE)]
        out = np.empty((n, self.d))
        chol = self._chol
        _sample_weighted_kernel(self._cum, self.centers, self.sample_std, chol, *keys, out)
        return out

    @cached_property
    def _chol(self) -> np.ndarray:
        if self.covariances is None:
            return np.zeros((0, self.d, self.d))
        return np.ascontiguousarray(np.linalg.cholesky(self.covariances))

    @cached_property
    def _cum(self) -> np.ndarray:
        cum = np.cumsum(self.weights)
        cum[-1] = np.inf                   # every u < 1 finds a component
        return cum

    @cached_property
    def _moments(self):
        check_moments(self.d)
        w = self.weights
        mean = w @ self.centers
        dev = self.centers - mean
        cov = (dev * w[:, None]).T @ dev
        if self.covariances is not None:
            cov = cov + np.einsum("k,kij->ij", w, self.covariances)
        else:
            cov = cov + np.diag(w @ self.sample_std ** 2)
        for a in (mean, cov):
            a.setflags(write=False)
        return mean, cov

    def mean(self) -> np.ndarray:
        """Exact mean of the sampler, shape (d,)."""
        return self._moments[0].copy()

    def cov(self) -> np.ndarray:
        """Exact covariance of the sampler, shape (d, d)."""
        return self._moments[1].copy()

    def std(self) -> np.ndarray:
        """Exact per-coordinate std of the sampler, shape (d,)."""
        return np.sqrt(np.diag(self._moments[1]))

    @cached_property
    def _params(self) -> gd.DensityParams:
        projection = {"empirical": gd.PROJECT_NEAREST, "gmm": gd.PROJECT_BALL,
                      "kmeans": gd.PROJECT_NEAREST}[self.kind]
        return gd.mixture_params(self.centers, self.weights, self.density_std, projection=projection,
                                 cov=self.covariances)

    def density_params(self) -> gd.DensityParams:
        return self._params

    @property
    def density_note(self) -> str:
        i = self.info
        k, n = i.get("k", len(self.weights)), i.get("n", "?")
        if self.kind == "empirical":
            return (f"empirical: Gaussian KDE on {len(self.weights)} latents, Scott bandwidth "
                    f"h_j = std_j n^(-1/(d+4)) (mean h {np.mean(self.density_std[0]):.4g})")
        if self.kind == "gmm":
            if "note" in i:
                return f"GMM: {i['note']} ({k} component{'s' if k != 1 else ''})"
            cov = i.get("covariance", "full" if self.covariances is not None else "diag")
            return (f"GMM fitted by EM: {k} components, {cov} covariance, "
                    f"k-means++ init (seed {self.seed}), {n} latents")
        return (f"k-means codebook: {k} entries (k-means++ seed {self.seed}), isotropic noise "
                f"std {self.density_std[0, 0]:.4g} from the within-cluster residual")

    @cached_property
    def fingerprint(self) -> tuple:
        h = hashlib.sha1()
        for a in (self.centers, self.weights, self.density_std,
                  self.covariances if self.covariances is not None else np.zeros(0)):
            h.update(np.ascontiguousarray(a).tobytes())
        return (self.kind, self.d, self.seed, h.hexdigest())


def geometry_from_samples(x, kind: str = "gmm", k: int = 8, seed: int = 0, *,
                          covariance: str = "diag") -> FittedGeometry:
    """Build a latent geometry from an (n, d) array of latent actions.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Latent actions (finite numbers; n >= 2, and n >= k distinct rows for gmm / kmeans).
    kind : {"gmm", "kmeans", "empirical"}
        See the module docstring.
    k : int
        Components (gmm) or codebook entries (kmeans); ignored by ``empirical``.
    seed : int
        Seeds the k-means++ initialisation and is the default sample seed.
    covariance : {"diag", "full"}
        Covariance of the GMM's components.

    Returns
    -------
    FittedGeometry

    Examples
    --------
    >>> geom = fastplan.geometry_from_samples(latents, kind="gmm", k=8, seed=0)
    >>> geom.log_density(latents[:5]), geom.ood_rate(latents), geom.metrics()["amenability"]
    """
    kind_name = str(kind).strip().lower()
    if kind_name not in FIT_KINDS:
        raise FastplanError(f"unknown fitted geometry kind {kind!r}; choose from {', '.join(FIT_KINDS)}")
    x = as_array(x, "latents", ndim=2)
    n, d = x.shape
    if n < 2 or d < 1:
        raise FastplanError(f"latents must be an (n, d) array with n >= 2 and d >= 1, got shape {x.shape}")
    seed = check_seed(seed)
    if covariance not in COVARIANCES:
        raise FastplanError(f"covariance must be one of {', '.join(COVARIANCES)}, got {covariance!r}")
    check_scale(x, "latents")
    if not np.any(np.var(x, axis=0) > 0):
        raise FastplanError("all latents are identical: no geometry can be fitted")
    kind_id = FIT_STREAM_IDS[kind_name]
    info = {"n": n, "d": d, "kind": kind_name}
    if kind_name == "empirical":
        h = fitting.scott_bandwidth(x)
        info["bandwidth"] = h.tolist()
        return FittedGeometry(kind=kind_name, d=d, seed=seed, centers=_ro(x), weights=_ro(np.full(n, 1.0 / n)),
                              sample_std=_ro(np.zeros((n, d))), density_std=_ro(np.broadcast_to(h, (n, d))),
                              info=info)
    k = check_positive_int(k, "k (components)")
    n_distinct = np.unique(x, axis=0).shape[0]
    if n_distinct < k:
        raise FastplanError(f"k={k} needs at least {k} distinct latents, got {n_distinct}")
    info.update(k=k)
    if kind_name == "kmeans":
        centers, labels, iters, converged = fitting.kmeans(x, k, seed, kind_id)
        std, floored = fitting.codebook_noise(x, centers, labels)
        weights = np.bincount(labels, minlength=k) / n
        info.update(iterations=iters, converged=converged, noise_std=std, noise_floored=floored)
        noise = np.full((k, d), std)
        return FittedGeometry(kind=kind_name, d=d, seed=seed, centers=_ro(centers), weights=_ro(weights),
                              sample_std=_ro(noise), density_std=_ro(noise), info=info)
    fit = fitting.em_gmm(x, k, seed, kind_id, covariance=covariance)
    info.update(covariance=covariance, iterations=fit["iterations"], converged=fit["converged"],
                log_likelihood=fit["log_likelihood"])
    if covariance == "full":
        cov = fit["cov"]
        std = np.sqrt(np.einsum("kii->ki", cov))
        return FittedGeometry(kind=kind_name, d=d, seed=seed, centers=_ro(fit["means"]),
                              weights=_ro(fit["weights"]), sample_std=_ro(std), density_std=_ro(std),
                              covariances=_ro(cov), info=info)
    std = np.sqrt(fit["var"])
    return FittedGeometry(kind=kind_name, d=d, seed=seed, centers=_ro(fit["means"]), weights=_ro(fit["weights"]),
                          sample_std=_ro(std), density_std=_ro(std), info=info)


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64, order="C")
    a.setflags(write=False)
    return a
