"""The counter-based RNG (fastplan/rng.py) against its plain-NumPy twin, bit for bit."""
from __future__ import annotations

import math

import numpy as np
import pytest
from reference import ref_key, ref_normals, ref_stream_id, ref_uniforms, ref_words

from fastplan.engine import rng

ADDRESSES = [
    (0, 0),
    (1, 1),
    (12345, rng.stream_id(rng.PLAN_NOISE, 3, 17)),
    (2**63 - 1, rng.stream_id(2**16 - 1, 2**24 - 1, 2**24 - 1)),   # largest seed and stream
]


@pytest.mark.parametrize("seed, stream", ADDRESSES)
def test_keys_and_words_bit_exact(seed, stream):
    assert int(rng.key(seed, stream)) == int(ref_key(seed, stream))
    np.testing.assert_array_equal(rng.words(seed, stream, 257), ref_words(seed, stream, 257))


@pytest.mark.parametrize("seed, stream", ADDRESSES)
def test_normals_bit_exact(seed, stream):
    n = 20001   # odd: the last Box-Muller pair is used by half
    got = rng.normals(seed, stream, n)
    want = ref_normals(seed, stream, n)
    assert got.dtype == np.float64 and got.shape == (n,)
    np.testing.assert_array_equal(got, want)


def test_normals_shape_is_row_major_fill():
    got = rng.normals(7, 9, (3, 5, 2))
    np.testing.assert_array_equal(got.ravel(), ref_normals(7, 9, 30))


def test_uniforms_bit_exact():
    got = rng.uniforms(3, 4, 500)
    np.testing.assert_array_equal(got, ref_uniforms(3, 4, 500))
    assert got.min() >= 0.0 and got.max() < 1.0


@pytest.mark.parametrize("start", [0, 1, 2, 7])
@pytest.mark.parametrize("n", [1, 2, 5, 64])
def test_fill_normal_at_any_offset_and_single_draws(start, n):
    """fill_normal(start) and normal(key, i) address the same draw i of the stream."""
    k = rng.key(11, 22)
    out = np.empty(n)
    rng.fill_normal(k, np.uint64(start), out)
    want = ref_normals(11, 22, n, start=start)
    np.testing.assert_array_equal(out, want)
    singles = np.array([rng.normal(k, np.uint64(start + i)) for i in range(n)])
    np.testing.assert_array_equal(singles, want)


def test_stream_id_packing_and_range_checks():
    assert rng.stream_id(5, 6, 7) == ref_stream_id(5, 6, 7) == (5 << 48) | (6 << 24) | 7
    assert int(rng.stream_of(5, 6, 7)) == rng.stream_id(5, 6, 7)
    for bad in [(-1, 0, 0), (2**16, 0, 0), (1, 2**24, 0), (1, 0, 2**24), (1, -1, 0)]:
        with pytest.raises(ValueError):
            rng.stream_id(*bad)


def test_purpose_tags_are_distinct():
    tags = [rng.WORLD_A, rng.WORLD_B, rng.WORLD_BIAS, rng.START, rng.GOAL, rng.GEOM_CENTERS,
            rng.GEOM_SAMPLE_COMPONENT, rng.GEOM_SAMPLE_NOISE, rng.GEOM_SAMPLE_SUPPORT,
            rng.PLAN_INIT, rng.PLAN_NOISE, rng.PLAN_LANGEVIN, rng.METRICS]
    assert len(set(tags)) == len(tags)


def test_different_addresses_give_different_draws():
    base = rng.normals(0, 0, 64)
    assert not np.array_equal(base, rng.normals(1, 0, 64))   # other seed
    assert not np.array_equal(base, rng.normals(0, 1, 64))   # other stream
    # seed and stream are not interchangeable (the key mixes them asymmetrically)
    assert not np.array_equal(rng.normals(1, 2, 64), rng.normals(2, 1, 64))


def test_normal_moments():
    """200000 draws: mean, variance, skewness, kurtosis within 5 standard errors."""
    n = 200_000
    z = rng.normals(42, rng.stream_id(rng.METRICS), n)
    se = 1.0 / math.sqrt(n)
    assert abs(z.mean()) < 5 * se
    assert abs(z.var() - 1.0) < 5 * math.sqrt(2.0) * se        # Var(z^2) = 2
    assert abs(np.mean(z**3)) < 5 * math.sqrt(15.0) * se       # Var(z^3) = 15
    assert abs(np.mean(z**4) - 3.0) < 5 * math.sqrt(96.0) * se  # Var(z^4) = 105 - 9
    # the tails exist but are bounded by the 32-bit radius: |z| <= sqrt(-2 log(0.5 / 2**32))
    assert 4.0 < np.abs(z).max() <= math.sqrt(-2.0 * math.log(0.5 / 2**32))
    # consecutive draws (cos/sin of one pair, and across pairs) are uncorrelated
    for lag in (1, 2):
        assert abs(np.mean(z[:-lag] * z[lag:])) < 5 * se


def test_uniform_distribution():
    n = 100_000
    u = rng.uniforms(9, rng.stream_id(rng.METRICS, 1), n)
    counts = np.bincount((u * 10).astype(int), minlength=10)
    se = math.sqrt(n * 0.1 * 0.9)
    assert np.all(np.abs(counts - n / 10) < 5 * se)


def test_reference_transforms_are_accurate():
    """The Cephes log/sin/cos of the Box-Muller transform agree with the C library to a few ulp
    (checked on the reference twin, which the kernels match bit for bit)."""
    from reference import ref_log_unit, ref_sincos_turns

    u = np.concatenate([ref_uniforms(1, 2, 20000), [1.0, 0.5, 2.0**-32, 2.0**-63, 0.7071067811865476]])
    u = u[u > 0]
    ulp = np.spacing(np.abs(np.log(u)))
    assert np.all(np.abs(ref_log_unit(u) - np.log(u)) <= 2 * ulp + 1e-300)
    t = ref_uniforms(3, 4, 20000)
    s, c = ref_sincos_turns(t)
    # (np.sin(2 pi t) itself carries the rounding of 2 pi t, up to ~7e-16 near t = 1)
    assert np.max(np.abs(s - np.sin(2 * np.pi * t))) < 2e-15
    assert np.max(np.abs(c - np.cos(2 * np.pi * t))) < 2e-15
    exact = np.array([0.0, 0.25, 0.5, 0.75])
    s, c = ref_sincos_turns(exact)
    np.testing.assert_array_equal(s, [0.0, 1.0, 0.0, -1.0])
    np.testing.assert_array_equal(c, [1.0, 0.0, -1.0, 0.0])
