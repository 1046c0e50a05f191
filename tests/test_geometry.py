"""The three latent geometries of Sec. 2.1: exact moments, samplers and determinism.

Statistical tests use 20000 samples and tolerances of 5 standard errors computed from the
sample size, so a wrong variance, a wrong number of active coordinates or a biased
support choice fails them, while a correct sampler passes (all draws are seeded, so the
outcome is deterministic).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import run_with_threads
from reference import ref_normals

from fastplan.engine import rng
from fastplan.engine.geometry import KINDS, LABELS, K, canonical_kind, make_geometry

N = 20_000
Z = 5.0   # tolerance in standard errors


def nearest(x, centers):
    """Index of the nearest center and the residual x - center, for x (n, d)."""
    d2 = np.sum((x[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    k = np.argmin(d2, axis=1)
    return k, x - centers[k]


def assert_moments(g, x):
    """Sample mean and covariance of x (n, d) agree with g.mean(), g.cov() within Z SE."""
    n = x.shape[0]
    mu, C = g.mean(), g.cov()
    se_mean = np.sqrt(np.diag(C) / n)
    assert np.all(np.abs(x.mean(axis=0) - mu) <= Z * se_mean), "sample mean off"
    dev = x - mu
    prod = dev[:, :, None] * dev[:, None, :]                  # (n, d, d)
    se_cov = np.sqrt(prod.var(axis=0) / n)                     # SE of each covariance entry
    err = np.abs(prod.mean(axis=0) - C)
    assert np.all(err <= Z * se_cov + 1e-12), f"covariance off by up to {np.max(err / se_cov):.1f} SE"
    # pooled over coordinates: the total variance tr(C) = E||x - mean||^2 (a sharper test)
    r2 = np.sum(dev**2, axis=1)
    assert abs(r2.mean() - np.trace(C)) <= Z * r2.std() / math.sqrt(n), "total variance off"


# ---------------------------------------------------------------------------------------
# construction, names and exact moments
# ---------------------------------------------------------------------------------------

def test_kinds_aliases_and_labels():
    for name, kind in [("vae", "vae"), ("VAE", "vae"), ("ebm", "ebm"), ("sparse-ebm", "ebm"),
                       ("Sparse-EBM", "ebm"), ("vqvae", "vqvae"), ("vq-vae", "vqvae"), ("VQ-VAE", "vqvae")]:
        assert canonical_kind(name) == kind
        assert make_geometry(name, 4, 0).kind == kind
    assert LABELS == {"vae": "VAE", "ebm": "Sparse-EBM", "vqvae": "VQ-VAE"}


@pytest.mark.parametrize("kind", ["vae", "vqvae"])
def test_centers_are_seeded_normals_with_variance_4(kind):
    d, seed = 5, 3
    g = make_geometry(kind, d, seed)
    assert g.centers.shape == (K, d) and K == 8
    stream = rng.stream_id(rng.GEOM_CENTERS, KINDS.index(kind))   # one stream per kind
    want = 2.0 * ref_normals(seed, stream, K * d).reshape(K, d)
    np.testing.assert_array_equal(g.centers, want)
    assert not g.centers.flags.writeable
    # across many seeds the centers are N(0, 4): variance within 5 SE
    c = np.concatenate([make_geometry(kind, 32, s).centers.ravel() for s in range(20)])
    assert abs(c.mean()) < Z * 2.0 / math.sqrt(c.size)
    assert abs(c.var() - 4.0) < Z * 4.0 * math.sqrt(2.0 / c.size)


def test_vae_means_and_vqvae_codebook_are_independent():
    """Same (d, seed): the VAE modes and the VQ-VAE codes are different draws."""
    a, b = make_geometry("vae", 6, 1).centers, make_geometry("vqvae", 6, 1).centers
    assert not np.any(a == b)


@pytest.mark.parametrize("kind", ["vae", "vqvae"])
def test_mixture_exact_mean_and_cov(kind):
    g = make_geometry(kind, 6, 2)
    mu_k = g.centers
    sigma2 = {"vae": 0.25, "vqvae": 0.0025}[kind]
    mean = mu_k.mean(axis=0)
    # law of total covariance: E[x x^T] - mean mean^T with E[x x^T] = mean_k(mu_k mu_k^T) + sigma^2 I
    second = np.einsum("ki,kj->ij", mu_k, mu_k) / K + sigma2 * np.eye(6)
    np.testing.assert_allclose(g.mean(), mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g.cov(), second - np.outer(mean, mean), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.std(), np.sqrt(np.diag(g.cov())), rtol=1e-14)
    assert g.component_std == math.sqrt(sigma2)


@pytest.mark.parametrize("d", [1, 2, 3, 4, 7, 10, 32])
def test_sparse_ebm_exact_mean_and_cov(d):
    g = make_geometry("ebm", d, 0)
    k = (3 * d) // 10
    assert g.n_active == k
    np.testing.assert_array_equal(g.mean(), np.zeros(d))
    np.testing.assert_allclose(g.cov(), np.eye(d) * 2.25 * k / d, rtol=1e-14, atol=0)
    np.testing.assert_allclose(g.std(), np.full(d, math.sqrt(2.25 * k / d)), rtol=1e-14, atol=0)


def test_n_active_is_exact_floor_for_many_d():
    """floor(0.3 d) computed in floating point must equal the integer floor(3 d / 10)."""
    for d in range(1, 2001):
        assert make_geometry("ebm", d, 0).n_active == (3 * d) // 10, d


# ---------------------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, d", [("vae", 4), ("vae", 8), ("ebm", 8), ("ebm", 10), ("vqvae", 8)])
def test_sample_moments_match_exact(kind, d):
    g = make_geometry(kind, d, 0)
    x = g.sample(N)
    assert x.shape == (N, d) and x.dtype == np.float64 and x.flags.c_contiguous
    assert np.all(np.isfinite(x))
    assert_moments(g, x)


def test_vae_component_std_is_half_and_components_uniform():
    d = 16
    g = make_geometry("vae", d, 0)
    c = g.centers
    sep = np.min([np.linalg.norm(c[i] - c[j]) for i in range(K) for j in range(i)])
    assert sep > 12 * 0.5, "centers too close to identify components; pick another seed"
    k, res = nearest(g.sample(N), c)
    m = res.size
    assert abs(res.mean()) < Z * 0.5 / math.sqrt(m)
    assert abs(res.var() - 0.25) < Z * 0.25 * math.sqrt(2.0 / m)          # variance 0.25
    counts = np.bincount(k, minlength=K)
    assert np.all(np.abs(counts - N / K) < Z * math.sqrt(N * (1 / K) * (1 - 1 / K)))


@pytest.mark.parametrize("d", [4, 8, 32])
def test_vqvae_noise_std_and_codebook_use(d):
    g = make_geometry("vqvae", d, 1)
    k, res = nearest(g.sample(N), g.centers)
    m = res.size
    assert abs(res.mean()) < Z * 0.05 / math.sqrt(m)
    assert abs(res.var() - 0.0025) < Z * 0.0025 * math.sqrt(2.0 / m)      # N(0, 0.0025 I)
    assert np.max(np.linalg.norm(res, axis=1)) < 0.05 * (math.sqrt(d) + 5)  # every sample near a code
    counts = np.bincount(k, minlength=K)
    assert np.all(np.abs(counts - N / K) < Z * math.sqrt(N * (1 / K) * (1 - 1 / K)))


@pytest.mark.parametrize("d", [4, 5, 10, 16, 32])
def test_sparse_ebm_exact_sparsity_pattern(d):
    k = (3 * d) // 10
    x = make_geometry("ebm", d, 0).sample(N)
    active = x != 0.0
    assert np.all(active.sum(axis=1) == k), "every row must have exactly floor(0.3 d) nonzeros"
    # each coordinate is active with probability k/d
    p = k / d
    per_coord = active.sum(axis=0)
    assert np.all(np.abs(per_coord - N * p) < Z * math.sqrt(N * p * (1 - p)))
    # active values are N(0, 2.25)
    v = x[active]
    assert abs(v.mean()) < Z * 1.5 / math.sqrt(v.size)
    assert abs(v.var() - 2.25) < Z * 2.25 * math.sqrt(2.0 / v.size)
    frac_1sd = np.mean(np.abs(v) <= 1.5)
    assert abs(frac_1sd - 0.682689492) < Z * math.sqrt(0.6827 * 0.3173 / v.size)


def test_sparse_ebm_support_is_a_uniform_subset():
    """Pairs of active coordinates occur with probability k(k-1) / (d(d-1)) each:
    the support is a uniformly random k-subset (sampling without replacement)."""
    d, k = 10, 3
    active = make_geometry("ebm", d, 5).sample(N) != 0.0
    pair = active.T.astype(np.int64) @ active.astype(np.int64)     # (d, d) co-occurrence counts
    p = k * (k - 1) / (d * (d - 1))
    off = pair[~np.eye(d, dtype=bool)]
    assert np.all(np.abs(off - N * p) < Z * math.sqrt(N * p * (1 - p)))
    # and the active pattern is not tied to the row: consecutive rows differ
    assert np.mean(np.all(active[1:] == active[:-1], axis=1)) < 0.05


@pytest.mark.parametrize("d", [1, 2, 3])
def test_sparse_ebm_small_d_is_exactly_zero(d):
    g = make_geometry("ebm", d, 0)
    assert g.n_active == 0
    x = g.sample(500)
    assert x.shape == (500, d)
    assert np.all(x == 0.0) and not np.any(np.signbit(x))


@pytest.mark.parametrize("kind", ["vae", "vqvae"])
def test_dense_geometries_work_at_d_1(kind):
    g = make_geometry(kind, 1, 0)
    x = g.sample(N)
    assert x.shape == (N, 1)
    assert_moments(g, x)


# ---------------------------------------------------------------------------------------
# determinism
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_deterministic_from_kind_d_seed(kind):
    a, b = make_geometry(kind, 8, 4), make_geometry(kind, 8, 4)
    np.testing.assert_array_equal(a.centers, b.centers)
    np.testing.assert_array_equal(a.sample(300), b.sample(300))
    np.testing.assert_array_equal(a.sample(300, seed=9, stream=2), b.sample(300, seed=9, stream=2))
    # other seed / stream -> other samples
    assert not np.array_equal(a.sample(300), make_geometry(kind, 8, 5).sample(300))
    assert not np.array_equal(a.sample(300, stream=0), a.sample(300, stream=1))
    assert not np.array_equal(a.sample(300, seed=4), a.sample(300, seed=6))


@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_rows_are_addressed_independently_of_n(kind):
    """Row i uses only the draws addressed by i: sample(n)[:m] == sample(m)."""
    g = make_geometry(kind, 7, 2)
    np.testing.assert_array_equal(g.sample(1000)[:37], g.sample(37))


@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_sampling_bit_identical_for_1_and_2_threads(kind, thread_counts):
    g = make_geometry(kind, 9, 3)
    outs = [run_with_threads(g.sample, t, 5000, seed=1, stream=4) for t in thread_counts]
    np.testing.assert_array_equal(outs[0], outs[1])
