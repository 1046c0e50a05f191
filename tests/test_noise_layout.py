"""Planner noise drawn straight into sample-contiguous rows equals the sample-major stream."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from reference import ref_normals  # noqa: E402

from fastplan.engine import rng  # noqa: E402
from fastplan.engine.planners._common import fill_gaussian_cols  # noqa: E402


@pytest.mark.parametrize("T,d", [(4, 4), (3, 5), (5, 3), (1, 1), (2, 7)])
def test_fill_gaussian_cols_is_the_sample_major_stream(T, d):
    # T*d even uses the paired-row path, odd the transposing path; both must give normal
    # i*T*d + t*d + j of the stream to X[t, j, i], for any column range lo..hi
    seed, stream, N = 3, rng.stream_id(rng.PLAN_NOISE, 2, 0), 23
    key = rng.key(seed, stream)
    want = ref_normals(seed, stream, N * T * d).reshape(N, T, d).transpose(1, 2, 0)
    X = np.full((T, d, N), np.nan)
    z = np.empty(N * T * d)
    for lo, hi in ((0, 7), (7, 8), (8, 23)):
        fill_gaussian_cols(key, np.zeros((T, d)), np.ones((T, d)), X, lo, hi, z)
    assert np.array_equal(X, want)


def test_fill_pair_rows_matches_fill_normal():
    key = rng.key(9, rng.stream_id(rng.PLAN_NOISE, 0, 0))
    half, lo, n = 6, 5, 11
    flat = np.empty((lo + n) * 2 * half)
    rng.fill_normal(key, np.uint64(0), flat)
    for q in range(half):
        zc, zs = np.empty(n), np.empty(n)
        rng.fill_pair_rows(key, half, q, lo, zc, zs)
        idx = (np.arange(lo, lo + n) * half + q) * 2
        assert np.array_equal(zc, flat[idx]) and np.array_equal(zs, flat[idx + 1])
