"""The densities of a batch's P geometries as one set of stacked arrays, for planner kernels.

A batch may mix geometries (the paper's three, fitted ones) of different families and
component counts.  :func:`stack_densities` pads their :class:`~.geometry_density.DensityParams`
into arrays with a leading P axis (:class:`DensityStack`); inside a kernel
``dp = density_at(stack, p)`` is problem p's own ``DensityParams`` (views, no copy, padding
cut off), ready for :func:`~.geometry_kernels.log_density_one`, ``score_one`` and
``project_one``::

    for item in numba.prange(P):
        dp = density_at(dens, item)
        logp = log_density_one(dp, a)

``var_min`` (P,) is each geometry's smallest variance (mixtures: the smallest component
variance of any coordinate; the sparse EBM: its spike variance), the unit in which the
geometry-aware planners scale a score step (see :mod:`.planners.score_diffusion`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import geometry_density as gd
from .errors import FastplanError
from .jit import kernel


class DensityStack(NamedTuple):
    """P densities, padded to K = the most components and stacked (see module docstring).

    kind, projection, n_comp, k_active, full : (P,) int64; centers, std : (P, K, d);
    weights, log_norm : (P, K); prec_chol : (P, K or 0, d, d); slab_std, spike_std, radius,
    var_min : (P,) float64.
    """

    kind: np.ndarray
    projection: np.ndarray
    n_comp: np.ndarray
    centers: np.ndarray
    weights: np.ndarray
    std: np.ndarray
    k_active: np.ndarray
    log_norm: np.ndarray
    prec_chol: np.ndarray
    full: np.ndarray
    slab_std: np.ndarray
    spike_std: np.ndarray
    radius: np.ndarray
    var_min: np.ndarray


def smallest_variance(p: gd.DensityParams) -> float:
    """The geometry's smallest variance: mixtures min over components and coordinates of
    std^2; the sparse EBM its spike variance."""
    if p.kind == gd.SPARSE:
        return float(p.spike_std) ** 2
    return float(np.min(p.std)) ** 2


def stack_densities(geometries, who: str = "this planner") -> DensityStack:
    """Stack the densities of P geometries (each with the density interface).

    Raises
    ------
    FastplanError
        A geometry without ``density_params()`` (``who`` names what needs it), or geometries
        of different dimensions.
    """
    params = []
    for g in geometries:
        if not hasattr(g, "density_params"):
            raise FastplanError(f"{who} needs the geometry's density; geometry "
                                f"{getattr(g, 'kind', type(g).__name__)!r} has none")
        params.append(g.density_params())
    if not params:
        raise FastplanError("no geometries to stack")
    d = params[0].d
    if any(p.d != d for p in params):
        raise FastplanError("all geometries of a batch must share d")
    P = len(params)
    K = max(p.centers.shape[0] for p in params)
    Kf = max((p.prec_chol.shape[0] for p in params if p.full), default=0)
    centers = np.zeros((P, K, d))
    std = np.ones((P, K, d))
    weights = np.zeros((P, K))
    log_norm = np.full((P, K), -np.inf)
    prec = np.zeros((P, Kf, d, d))
    for i, p in enumerate(params):
        k = p.centers.shape[0]
        centers[i, :k] = p.centers
        std[i, :k] = p.std
        weights[i, :k] = p.weights
        log_norm[i, :k] = p.log_norm
        if p.full:
            prec[i, :k] = p.prec_chol
    ints = lambda name: np.array([int(getattr(p, name)) for p in params], dtype=np.int64)  # noqa: E731
    floats = lambda name: np.array([float(getattr(p, name)) for p in params])               # noqa: E731
    return DensityStack(kind=ints("kind"), projection=ints("projection"),
                        n_comp=np.array([p.centers.shape[0] for p in params], dtype=np.int64),
                        centers=centers, weights=weights, std=std, k_active=ints("k_active"),
                        log_norm=log_norm, prec_chol=prec, full=ints("full"),
                        slab_std=floats("slab_std"), spike_std=floats("spike_std"),
                        radius=floats("radius"),
                        var_min=np.array([smallest_variance(p) for p in params]))


@kernel(inline=True)
def density_of(kind, projection, n_comp, centers, weights, std, k_active, log_norm, prec_chol,
               full, slab_std, spike_std, radius, var_min, p):
    """Problem p's :class:`~.geometry_density.DensityParams` from the fields of a
    :class:`DensityStack` (views of their rows, padding cut off; ``var_min`` unused)."""
    K = n_comp[p]
    Kf = K * full[p]                  # full covariances: K factors, else none (no branch here:
    return gd.DensityParams(kind[p], projection[p], centers[p, :K], weights[p, :K], std[p, :K],
                            k_active[p], log_norm[p, :K], prec_chol[p, :Kf],   # inlined into
                            full[p], slab_std[p], spike_std[p], radius[p])     # parallel loops)


@kernel(inline=True)
def density_at(s, p):
    """Problem p's :class:`~.geometry_density.DensityParams` out of a :class:`DensityStack`."""
    return density_of(s.kind, s.projection, s.n_comp, s.centers, s.weights, s.std, s.k_active,
                      s.log_norm, s.prec_chol, s.full, s.slab_std, s.spike_std, s.radius,
                      s.var_min, p)
