"""The previous implementations of kernels made faster for issue 16 item 3 (the sweep around
planning), kept verbatim under the same JIT policy, so that tests can show the new ones give
the same bits (tests/test_sweep_phases.py)."""
from __future__ import annotations

import math

import numba
import numpy as np

from fastplan.engine import rng
from fastplan.engine.jit import kernel, parallel_kernel


@parallel_kernel
def sample_kernel_v1(family, centers, noise_std, k_active, key_comp, key_noise, key_supp, out):
    """fastplan.engine.geometry._sample_kernel before: one rng.normal call per coordinate."""
    n, d = out.shape
    n_centers = centers.shape[0]
    for i in numba.prange(n):
        if family == 0:
            c = np.int64(rng.u64(key_comp, np.uint64(i)) % np.uint64(n_centers))
            for j in range(d):
                out[i, j] = centers[c, j] + noise_std * rng.normal(key_noise, np.uint64(i * d + j))
        else:
            for j in range(d):
                out[i, j] = 0.0
            perm = np.arange(d)
            for m in range(k_active):
                w = rng.u64(key_supp, np.uint64(i * d + m))
                r = m + np.int64(w % np.uint64(d - m))
                tmp = perm[m]
                perm[m] = perm[r]
                perm[r] = tmp
                out[i, perm[m]] = noise_std * rng.normal(key_noise, np.uint64(i * d + m))


def sample_v1(geometry, n, seed=None, stream=0):
    """Geometry.sample (paper geometries) through :func:`sample_kernel_v1`."""
    seed = geometry.seed if seed is None else seed
    keys = [rng.key(seed, rng.stream_id(tag, stream))
            for tag in (rng.GEOM_SAMPLE_COMPONENT, rng.GEOM_SAMPLE_NOISE, rng.GEOM_SAMPLE_SUPPORT)]
    out = np.empty((n, geometry.d))
    family = 1 if geometry.kind == "ebm" else 0
    sample_kernel_v1(family, geometry.centers, geometry.component_std, geometry.n_active, *keys, out)
    return out


@kernel
def _pair_row_sum_v1(xt, i):
    d, n = xt.shape
    acc = 0.0
    for j in range(i + 1, n):
        s2 = 0.0
        for k in range(d):
            diff = xt[k, i] - xt[k, j]
            s2 += diff * diff
        acc += math.sqrt(s2)
    return acc


@parallel_kernel
def pairwise_row_sums_v0(xt, out):
    """The plain row-by-row pairwise kernel (the definition the faster ones reproduce)."""
    d, n = xt.shape
    for i in numba.prange(n):
        out[i] = _pair_row_sum_v1(xt, i)
