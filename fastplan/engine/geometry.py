"""The three latent-action geometries of Sec. 2.1.

===========  ==============================================================================
``vae``      Eq. 1: equal-weight mixture of K=8 Gaussians, centers ``mu_k ~ N(0, 4 I)``,
             component variance ``sigma^2 = 0.25``.
``ebm``      Eq. 2 (sparse EBM): ``k = floor(0.3 d)`` coordinates chosen uniformly without
             replacement are ``N(0, 2.25)``; the others are exactly 0.  When ``k = 0``
             (d <= 3) every sample is the zero vector: the geometry is a point mass at 0,
             its covariance is 0 and its effective dimension is undefined (NaN).
``vqvae``    Eq. 3: ``c_k + eps`` with ``k ~ Uniform{1..K}``, K=8 codebook entries
             ``c_k ~ N(0, 4 I)``, ``eps ~ N(0, 0.0025 I)``.
===========  ==============================================================================

A geometry is fixed by ``(kind, d, seed)``: the seed fixes the centers / codebook.
Samples are drawn with their own ``(seed, stream)`` address so that a planner's
initial draws never coincide with the draws used for the metrics (sample streams:
0 default, 1 Sec. 2.4 metrics, 2 planners' initial draws, 3 OOD calibration).

Every geometry is an object with a density (:class:`GeometryBase`): sampling, exact mean and
per-coordinate std, ``log_density``, its analytic ``score``, ``project`` onto the high-density
set, the out-of-distribution threshold and rate, and the Sec. 2.4 metrics.  The densities
(:mod:`.geometry_density`): the VAE mixture and the noisy codebook exactly as Eq. 1 and Eq. 3;
the sparse EBM as Eq. 2 with its exact zeros smoothed into ``N(0, EBM_SPIKE_STD^2)`` spikes.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np

from . import geometry_density as gd
from . import geometry_kernels as gk
from . import budget, registry, rng, threads
from .jit import parallel_kernel
from .errors import FastplanError, as_array, check_dim, check_positive_int, check_seed, check_stream

K = 8                   # mixture components / codebook entries (Sec. 2.1)
CENTER_STD = 2.0        # centers ~ N(0, 4 I)
VAE_STD = 0.5           # component variance 0.25
EBM_RHO = 0.3           # active fraction
EBM_STD = 1.5           # active values ~ N(0, 2.25)
VQ_STD = 0.05           # codebook noise ~ N(0, 0.0025 I)
EBM_SPIKE_STD = 0.05    # smoothed Eq. 2 density: inactive coordinates ~ N(0, 0.05^2) (as Eq. 3's noise)

OOD_STREAM = 3          # sample stream of the OOD calibration (1: metrics, 2: planners' draws)
N_OOD_SAMPLES = 20_000  # samples behind the OOD threshold (its 1% quantile: 200 tail samples)
OOD_QUANTILE = 0.01     # the threshold is this quantile of the geometry's own log-densities

_MIXTURE, _SPARSE = 0, 1


def canonical_kind(kind: str) -> str:
    """Map a geometry name or alias (``sparse-ebm``, ``VQ-VAE``) to its registered kind."""
    return registry.geometries().canonical(kind)


def __getattr__(name):
    # live views of the geometry registry (the paper's three first)
    if name == "KINDS":
        return registry.geometries().names()
    if name == "LABELS":
        return {s.name: s.label for s in registry.geometries()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Rows per work item of :func:`_sample_kernel` (their noise is one :func:`rng.fill_normal` call).
SAMPLE_BLOCK = 64


@parallel_kernel
def _sample_kernel(family, centers, noise_std, k_active, key_comp, key_noise, key_supp, out):
    """Fill ``out`` (n, d) with samples; row i uses only draws addressed by i.

    Mixture families: row i is ``centers[c_i] + noise_std * z`` with c_i from word i of the
    component stream and z the normals ``i*d .. i*d + d - 1`` of the noise stream.  Sparse:
    the first ``k_active`` entries of a random permutation of the coordinates (word
    ``i*d + m`` of the support stream) hold ``noise_std`` times normals ``i*d + m``.  The
    normals of a block of :data:`SAMPLE_BLOCK` rows come from one :func:`rng.fill_normal`
    call (one Box-Muller pair per two normals, vectorised), bit-identical to drawing each
    with :func:`rng.normal`.
    """
    n, d = out.shape
    n_centers = centers.shape[0]
    n_blocks = (n + SAMPLE_BLOCK - 1) // SAMPLE_BLOCK
    for blk in numba.prange(n_blocks):
        lo = blk * SAMPLE_BLOCK
        hi = min(n, lo + SAMPLE_BLOCK)
        if family == 0:
            z = np.empty((hi - lo) * d)
            rng.fill_normal(key_noise, np.uint64(lo * d), z)
            for i in range(lo, hi):
                c = np.int64(rng.u64(key_comp, np.uint64(i)) % np.uint64(n_centers))
                base = (i - lo) * d
                for j in range(d):
                    out[i, j] = centers[c, j] + noise_std * z[base + j]
        else:
            z = np.empty(max(k_active, 1))
            perm = np.empty(d, dtype=np.int64)
            for i in range(lo, hi):
                for j in range(d):
                    out[i, j] = 0.0
                if k_active == 0:
                    continue
                rng.fill_normal(key_noise, np.uint64(i * d), z)
                # partial Fisher-Yates: the first k_active entries of a random permutation
                for j in range(d):
                    perm[j] = j
                for m in range(k_active):
                    w = rng.u64(key_supp, np.uint64(i * d + m))
                    r = m + np.int64(w % np.uint64(d - m))
                    tmp = perm[m]
                    perm[m] = perm[r]
                    perm[r] = tmp
                    out[i, perm[m]] = noise_std * z[m]


#: How the per-run manifold metrics are defined (recorded in results files).
MANIFOLD_DEFINITION = (
    "log_density: mean over t of log p_geom(a_t); VAE and VQ-VAE exact mixtures (Eq. 1, Eq. 3), "
    f"sparse EBM Eq. 2 smoothed (inactive coordinates N(0, {EBM_SPIKE_STD}^2)); "
    "ood_rate: fraction of a_t with log p_geom(a_t) < ood_threshold, the "
    f"{OOD_QUANTILE:g} quantile (method 'lower') of log p_geom over {N_OOD_SAMPLES} geometry "
    f"samples (sample stream {OOD_STREAM} under the run's seed)")

_THRESHOLDS: dict = {}   # OOD thresholds by geometry fingerprint (geometries are rebuilt per run)


class GeometryBase:
    """The interface of every latent geometry (the paper's three and those fitted from data).

    A subclass provides ``kind``, ``d``, ``seed``, ``label``, ``sample(n, seed=None,
    stream=0)``, ``mean()``, ``std()``, ``cov()``, :meth:`density_params`, ``density_note`` and
    ``fingerprint``; the rest follows from those.  Actions are arrays of shape (..., d); NaN
    input gives NaN output (a diverged plan is reported, not refused).
    """

    def density_params(self) -> gd.DensityParams:          # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def density_note(self) -> str:
        """One line stating the density (subclasses say more)."""
        return f"{self.kind}: the density of its density_params()"

    @cached_property
    def fingerprint(self) -> tuple:
        """Identifies the density for caches (subclasses: a hash of their parameters)."""
        return (type(self).__name__, uuid.uuid4().hex)

    @property
    def projection_note(self) -> str:
        """One line naming the projection onto the high-density set."""
        return gd.PROJECTIONS[self.density_params().projection]

    def log_density(self, a) -> np.ndarray:
        """log p(a) for actions (..., d); shape (...)."""
        return gd.log_density(self.density_params(), a)

    def score(self, a) -> np.ndarray:
        """Analytic score grad_a log p(a) for actions (..., d); shape (..., d)."""
        return gd.score(self.density_params(), a)

    def project(self, a) -> np.ndarray:
        """Actions (..., d) mapped onto the high-density set (idempotent; see
        :func:`fastplan.engine.geometry_density.project`)."""
        return gd.project(self.density_params(), a)

    def ood_threshold(self) -> float:
        """log-density threshold of the 99% highest-density region: the 1% quantile
        (``method="lower"``) of log p over N_OOD_SAMPLES = 20000 of the geometry's own samples
        (sample stream 3 under its seed), computed once per geometry.  Exact log densities are
        evaluated only for the samples whose cheap bounds reach the quantile; the threshold is
        the same float (:mod:`.density_bounds`)."""
        from .density_bounds import log_density_quantile
        key = self.fingerprint
        if key not in _THRESHOLDS:
            x = self.sample(N_OOD_SAMPLES, stream=OOD_STREAM)
            if len(_THRESHOLDS) >= 4096:
                _THRESHOLDS.clear()
            _THRESHOLDS[key] = log_density_quantile(self.density_params(), x, OOD_QUANTILE)
        return _THRESHOLDS[key]

    def is_ood(self, a) -> np.ndarray:
        """True where an action (..., d) lies outside the 99% high-density region
        (``log p(a) < ood_threshold()``; NaN counts as outside); shape (...)."""
        logp = gk.log_density_fast(self.density_params(), a)   # the calibration's own arithmetic
        return ~(logp >= self.ood_threshold())

    def ood_rate(self, a) -> float:
        """Fraction of the actions (..., d) outside the 99% high-density region."""
        ood = self.is_ood(a)
        if ood.size == 0:
            raise FastplanError("the OOD rate of no actions is undefined: give at least one action")
        return float(np.mean(ood))

    def metrics(self, n: int = 4000, seed: int | None = None) -> dict:
        """The Sec. 2.4 metrics from ``n`` samples (see :func:`fastplan.engine.metrics.geometry_metrics`)."""
        from .metrics import geometry_metrics
        return geometry_metrics(self, n=n, seed=seed)


@dataclass(frozen=True, eq=False)
class Geometry(GeometryBase):
    """A latent-action geometry fixed by ``(kind, d, seed)``.

    Attributes
    ----------
    kind : {"vae", "ebm", "vqvae"}
    d : int
        Latent dimension.
    seed : int
        Seed of the centers / codebook.
    centers : ndarray, shape (K, d)
        Mixture means (VAE) or codebook entries (VQ-VAE); empty (0, d) for the sparse EBM.
    """

    kind: str
    d: int
    seed: int
    centers: np.ndarray

    def __post_init__(self):
        # built directly (not by make_geometry): the kernels index centers by d, so check it
        kind = canonical_kind(self.kind)
        d, seed = check_dim(self.d), check_seed(self.seed)
        centers = as_array(self.centers, "centers", (None, d))
        if kind in ("vae", "vqvae") and centers.shape[0] != K:
            raise FastplanError(f"a {kind} geometry has {K} centres (K, d) = ({K}, {d}), got {centers.shape}")
        for name, value in (("kind", kind), ("d", d), ("seed", seed), ("centers", centers)):
            object.__setattr__(self, name, value)

    @property
    def label(self) -> str:
        return registry.geometry(self.kind).label

    def __repr__(self) -> str:
        from .display import geometry_repr
        return geometry_repr(self)

    @property
    def n_active(self) -> int:
        """Active coordinates per sample (sparse EBM: floor(0.3 d); others: d)."""
        return int(np.floor(EBM_RHO * self.d + 1e-9)) if self.kind == "ebm" else self.d

    @property
    def component_std(self) -> float:
        """Std of the Gaussian around a center (or of an active EBM coordinate)."""
        return {"vae": VAE_STD, "ebm": EBM_STD, "vqvae": VQ_STD}[self.kind]

    def sample(self, n: int, seed: int | None = None, stream: int = 0) -> np.ndarray:
        """Draw ``n`` samples, shape (n, d), addressed by ``(seed, stream)``.

        ``seed`` defaults to the geometry's seed; ``stream`` (< 2**24) separates uses.
        """
        n, seed, stream = check_sample_request(n, seed, stream, self)
        keys = [rng.key(seed, rng.stream_id(tag, stream))
                for tag in (rng.GEOM_SAMPLE_COMPONENT, rng.GEOM_SAMPLE_NOISE, rng.GEOM_SAMPLE_SUPPORT)]
        out = np.empty((n, self.d))
        family = _SPARSE if self.kind == "ebm" else _MIXTURE
        with threads.limited(threads.threads_for(n * self.d * 5e-9)):   # few rows: 1 thread
            _sample_kernel(family, self.centers, self.component_std, self.n_active, *keys, out)
        return out

    @cached_property
    def _moments(self) -> tuple[np.ndarray, np.ndarray]:
        """(exact mean, exact per-coordinate std), read-only, computed once per geometry
        (the centers are read-only, so they cannot go stale)."""
        mean = np.zeros(self.d) if self.kind == "ebm" else self.centers.mean(axis=0)
        std = np.sqrt(np.diag(self.cov()))
        mean.setflags(write=False)
        std.setflags(write=False)
        return mean, std

    def mean(self) -> np.ndarray:
        """Exact mean, shape (d,)."""
        return self._moments[0].copy()

    def cov(self) -> np.ndarray:
        """Exact covariance, shape (d, d) (mixture: within + between components)."""
        check_moments(self.d)
        if self.kind == "ebm":
            return np.eye(self.d) * (EBM_STD**2 * self.n_active / self.d)
        dev = self.centers - self.centers.mean(axis=0)
        return dev.T @ dev / self.centers.shape[0] + np.eye(self.d) * self.component_std**2

    def std(self) -> np.ndarray:
        """Exact per-coordinate standard deviation, shape (d,)."""
        return self._moments[1].copy()

    @cached_property
    def _params(self) -> gd.DensityParams:
        if self.kind == "ebm":
            return gd.sparse_params(self.d, self.n_active, EBM_STD, EBM_SPIKE_STD)
        if self.kind not in ("vae", "vqvae"):
            raise FastplanError(f"geometry kind {self.kind!r} has no density")
        projection = gd.PROJECT_BALL if self.kind == "vae" else gd.PROJECT_NEAREST
        return gd.mixture_params(self.centers, np.ones(K), self.component_std, projection=projection)

    def density_params(self) -> gd.DensityParams:
        """The density as plain arrays, for Numba kernels (see :class:`~.geometry_density.DensityParams`)."""
        return self._params

    @property
    def density_note(self) -> str:
        """One line stating the density used for log p, the score and the OOD rate."""
        if self.kind == "ebm":
            return (f"sparse EBM, Eq. 2 smoothed: support uniform over floor(0.3 d)-subsets, "
                    f"N(0, {EBM_STD**2:g}) on it, N(0, {EBM_SPIKE_STD}^2) off it")
        return (f"{self.label}, exact (Eq. {1 if self.kind == 'vae' else 3}): equal-weight mixture "
                f"of {K} N(c_k, {self.component_std**2:g} I)")

    @cached_property
    def fingerprint(self) -> tuple:
        """(kind, d, seed, hash of the centres): identifies the density for caches."""
        return (self.kind, self.d, self.seed, hashlib.sha1(self.centers.tobytes()).hexdigest())


def make_geometry(kind: str, d: int, seed: int) -> Geometry:
    """Build the registered geometry ``kind`` at dimension ``d`` with parameters fixed by ``seed``."""
    spec = registry.geometry(kind)
    d, seed = check_dim(d), check_seed(seed)
    budget.check_memory(8 * 2 * K * d, f"the {spec.name} geometry at d={d} ({K} centres)", "use a smaller d")
    return spec.make(d, seed)


def check_sample_request(n, seed, stream, geometry) -> tuple[int, int, int]:
    """(n, seed, stream) of a ``sample`` call, checked: n >= 1 samples whose (n, d) array fits
    in memory, a seed (None: the geometry's) and a stream in [0, 2**24)."""
    n = check_positive_int(n, "number of samples")
    seed = geometry.seed if seed is None else check_seed(seed)
    stream = check_stream(stream)
    budget.check_memory(8 * 2 * n * geometry.d, f"{n} samples at d={geometry.d}", "draw fewer samples")
    return n, seed, stream


def check_moments(d: int) -> None:
    """Refuse exact moments whose (d, d) covariance cannot fit in memory."""
    budget.check_memory(8 * 4 * d * d, f"the geometry's (d, d) covariance at d={d}", "use a smaller d")


def _mixture_centers(kind: str, d: int, seed: int) -> np.ndarray:
    """K centres ~ N(0, 4 I) from the stream of the kind's fixed id: VAE modes and VQ-VAE
    codes are drawn independently of each other."""
    stream = registry.geometry(kind).stream_id
    centers = rng.normals(seed, rng.stream_id(rng.GEOM_CENTERS, stream), (K, d)) * CENTER_STD
    centers.setflags(write=False)
    return centers


def _make_vae(d: int, seed: int) -> Geometry:
    """Eq. 1 (registry factory)."""
    return Geometry(kind="vae", d=d, seed=seed, centers=_mixture_centers("vae", d, seed))


def _make_vqvae(d: int, seed: int) -> Geometry:
    """Eq. 3 (registry factory)."""
    return Geometry(kind="vqvae", d=d, seed=seed, centers=_mixture_centers("vqvae", d, seed))


def _make_ebm(d: int, seed: int) -> Geometry:
    """Eq. 2 (registry factory): no centres."""
    centers = np.zeros((0, d))
    centers.setflags(write=False)
    return Geometry(kind="ebm", d=d, seed=seed, centers=centers)
