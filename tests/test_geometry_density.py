"""Densities of the latent geometries: log-density, analytic score, projection, OOD rate.

Tolerances: the analytic score agrees with a central finite difference of the log-density
(step 1e-6) to rtol 1e-5 (atol 1e-6 times the largest |score| of the batch, for coordinates
where the score crosses 0).  Numba helpers agree with the NumPy functions to 1e-12 relative
(mixtures; 1e-9 for the sparse EBM's score, whose posterior inclusion weights come from
differences of log-terms of size up to 1e4).  The OOD rate of 4000 fresh samples must lie in
[0.5%, 2%] (the threshold is their 1% quantile over 20000 other samples: the rate's standard
deviation is about 0.17%).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from conftest import run_with_threads
from scipy import stats
from scipy.special import logsumexp

from fastplan.engine import geometry_density as gd
from fastplan.engine import geometry_kernels as gk
from fastplan.engine.errors import FastplanError
from fastplan.engine.geometry import EBM_SPIKE_STD, make_geometry
from fastplan.engine.geometry_fit import geometry_from_samples

PAPER = ["vae", "ebm", "vqvae"]


def _fitted(kind, d=3, **kw):
    x = make_geometry("vae", d, 5).sample(600, stream=11)
    return geometry_from_samples(x, kind=kind, k=4, seed=1, **kw)


GEOMETRIES = {
    **{f"{k}-d{d}": (lambda k=k, d=d: make_geometry(k, d, 3)) for k in PAPER for d in (1, 2, 5, 16)},
    "gmm-diag": lambda: _fitted("gmm"),
    "gmm-full": lambda: _fitted("gmm", covariance="full"),
    "kmeans": lambda: _fitted("kmeans"),
    "empirical": lambda: _fitted("empirical"),
}


def near_samples(g, n=200):
    """Geometry samples moved off their exact values (so every score is informative)."""
    x = g.sample(n, stream=9)
    return x + 0.3 * g.std().mean() * np.random.default_rng(0).standard_normal(x.shape) + 0.01


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_score_is_the_gradient_of_the_log_density(name):
    g = GEOMETRIES[name]()
    x = near_samples(g)
    eps = 1e-6
    fd = np.stack([(g.log_density(x + eps * e) - g.log_density(x - eps * e)) / (2 * eps)
                   for e in np.eye(g.d)], axis=-1)
    sc = g.score(x)
    assert sc.shape == x.shape and np.all(np.isfinite(sc))
    np.testing.assert_allclose(fd, sc, rtol=1e-5, atol=1e-6 * np.abs(sc).max())


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_numba_helpers_equal_numpy(name):
    g = GEOMETRIES[name]()
    p = g.density_params()
    x = np.concatenate([near_samples(g, 100), g.sample(50, stream=4), 5 * near_samples(g, 50)])
    lp, lp2, grad = np.empty(len(x)), np.empty(len(x)), np.empty_like(x)
    gk.log_density_rows(p, x, lp)
    gk.score_rows(p, x, grad, lp2)
    np.testing.assert_allclose(lp, g.log_density(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(lp, lp2)
    rtol = 1e-9 if p.kind == gd.SPARSE else 1e-11
    np.testing.assert_allclose(grad, g.score(x), rtol=rtol, atol=rtol * np.abs(grad).max())
    one = np.empty(g.d)
    assert gk.log_density_one(p, x[3]) == lp[3]
    assert gk.score_one(p, x[3], one) == lp[3] and np.array_equal(one, grad[3])
    proj = np.empty_like(x)
    gk.project_rows(p, x, proj)
    np.testing.assert_allclose(proj, g.project(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(gk.log_density_fast(p, x), lp)


@pytest.mark.parametrize("kind", PAPER)
def test_row_kernels_bit_identical_for_1_and_2_threads(kind, thread_counts):
    g = make_geometry(kind, 8, 1)
    p = g.density_params()
    x = near_samples(g, 3000)

    def run():
        lp, grad, proj = np.empty(len(x)), np.empty_like(x), np.empty_like(x)
        gk.score_rows(p, x, grad, lp)
        gk.project_rows(p, x, proj)
        return lp, grad, proj, gk.log_density_fast(p, x)

    a, b = (run_with_threads(run, n) for n in thread_counts)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_nan_in_nan_out_and_shapes():
    g = make_geometry("ebm", 6, 0)
    x = np.zeros((2, 3, 6))
    x[1, 2, 0] = np.nan
    for f in (g.log_density, g.score, g.project):
        out = f(x)
        assert out.shape[:2] == (2, 3)
        assert np.all(np.isnan(out[1, 2])) and np.all(np.isfinite(out[0]))
    assert g.log_density(np.zeros(6)).shape == ()
    with pytest.raises(FastplanError, match=r"shape \(\.\.\., 6\)"):
        g.log_density(np.zeros((3, 5)))


# ---------------------------------------------------------------------------------------
# normalisation: integrals in 1-d, scipy in 2-d and the sparse EBM against its definition
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["vae-d1", "ebm-d1", "vqvae-d1"])
def test_one_dimensional_densities_integrate_to_one(name):
    g = GEOMETRIES[name]()
    lo, hi = g.mean()[0] - 12 * g.std()[0] - 1, g.mean()[0] + 12 * g.std()[0] + 1
    t = np.linspace(lo, hi, 400_001)
    assert np.trapezoid(np.exp(g.log_density(t[:, None])), t) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kind", ["gmm", "kmeans", "empirical"])
def test_fitted_one_dimensional_densities_integrate_to_one(kind):
    x = make_geometry("vae", 1, 2).sample(300, stream=3)
    g = geometry_from_samples(x, kind=kind, k=3, seed=0)
    t = np.linspace(x.min() - 8, x.max() + 8, 200_001)
    assert np.trapezoid(np.exp(g.log_density(t[:, None])), t) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("kind, std", [("vae", 0.5), ("vqvae", 0.05)])
def test_two_dimensional_mixtures_match_scipy(kind, std):
    g = make_geometry(kind, 2, 4)
    x = near_samples(g, 300)
    terms = [stats.multivariate_normal(c, std**2 * np.eye(2)).logpdf(x) for c in g.centers]
    want = logsumexp(terms, axis=0) - math.log(len(terms))
    np.testing.assert_allclose(g.log_density(x), want, rtol=1e-10)


def test_full_covariance_gmm_matches_scipy():
    g = _fitted("gmm", d=2, covariance="full")
    x = near_samples(g, 300)
    want = logsumexp([math.log(w) + stats.multivariate_normal(m, c).logpdf(x)
                      for w, m, c in zip(g.weights, g.centers, g.covariances)], axis=0)
    np.testing.assert_allclose(g.log_density(x), want, rtol=1e-10)


@pytest.mark.parametrize("d", [1, 2, 4, 8, 10])
def test_sparse_ebm_density_is_its_definition(d):
    """Eq. 2 smoothed: a uniform k-subset S, N(0, 2.25) on S, N(0, 0.05^2) off S; the O(dk)
    recursion equals the explicit sum over all C(d, k) supports (scipy.stats.norm)."""
    g = make_geometry("ebm", d, 0)
    k = g.n_active
    x = near_samples(g, 50)
    slab = stats.norm(0, 1.5).logpdf(x)
    spike = stats.norm(0, EBM_SPIKE_STD).logpdf(x)
    terms = [np.sum(np.where(np.isin(np.arange(d), S), slab, spike), axis=1)
             for S in itertools.combinations(range(d), k)]
    want = np.logaddexp.reduce(terms, axis=0) - math.log(math.comb(d, k))
    np.testing.assert_allclose(g.log_density(x), want, rtol=1e-11)


def test_chi2_quantile_matches_scipy():
    for q, dof in [(0.99, 1), (0.99, 2), (0.99, 8), (0.99, 32), (0.5, 3), (0.01, 100), (0.999, 400)]:
        assert gd.chi2_quantile(q, dof) == pytest.approx(stats.chi2.ppf(q, dof), rel=1e-10)


# ---------------------------------------------------------------------------------------
# projections
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_projection_is_idempotent(name):
    g = GEOMETRIES[name]()
    x = np.concatenate([near_samples(g), 4 * near_samples(g, 100)])
    y = g.project(x)
    np.testing.assert_array_equal(g.project(y), y)


@pytest.mark.parametrize("d", [2, 8, 16])
def test_codebook_projection_maps_samples_onto_their_entries(d):
    """VQ-VAE samples c_k + N(0, 0.0025 I) land exactly on an entry, within 6 noise stds
    per coordinate of the sample (the generating entry, when the codes are apart)."""
    g = make_geometry("vqvae", d, 1)
    x = g.sample(2000, stream=5)
    y = g.project(x)
    on_entry = (y[:, None, :] == g.centers[None]).all(axis=2)
    assert on_entry.sum(axis=1).tolist() == [1] * len(x)
    assert np.max(np.abs(x - y)) < 6 * 0.05


@pytest.mark.parametrize("d", [1, 4, 8, 32])
def test_sparse_projection_keeps_samples_and_the_k_largest(d):
    g = make_geometry("ebm", d, 2)
    x = g.sample(500, stream=5)
    np.testing.assert_array_equal(g.project(x), x)          # Eq. 2 samples are fixed points
    z = np.random.default_rng(1).standard_normal((200, d))
    y = g.project(z)
    k = g.n_active
    assert np.all(np.count_nonzero(y, axis=1) == k)
    kept = np.abs(z) * (y != 0)
    dropped = np.abs(z) * (y == 0)
    if 0 < k < d:
        assert np.all(kept.max(axis=1) >= dropped.max(axis=1))
        assert np.all(np.sort(np.abs(z), axis=1)[:, -k:].sum(axis=1) == pytest.approx(kept.sum(axis=1)))


@pytest.mark.parametrize("d", [2, 8, 32])
def test_mixture_ball_projection(d):
    """VAE: samples inside some component's 99% ball stay (about 99% of them); the rest, and
    far points, land on the ball of the component with the smallest Mahalanobis radius."""
    g = make_geometry("vae", d, 3)
    p = g.density_params()
    x = g.sample(4000, stream=5)
    y = g.project(x)
    fixed = np.all(y == x, axis=1).mean()
    assert fixed >= 0.98
    far = 3.0 * near_samples(g, 300)
    r_far = np.sqrt(np.sum(((far[:, None, :] - g.centers[None]) / 0.5) ** 2, axis=2))
    outside = r_far.min(axis=1) > p.radius
    assert outside.sum() > 100
    moved = g.project(far)
    np.testing.assert_array_equal(moved[~outside], far[~outside])
    r = np.sqrt(np.sum(((moved[:, None, :] - g.centers[None]) / 0.5) ** 2, axis=2))
    assert np.allclose(r.min(axis=1)[outside], p.radius, rtol=1e-12)
    assert np.array_equal(np.argmin(r, axis=1), np.argmin(r_far, axis=1))
    assert p.radius == pytest.approx(math.sqrt(stats.chi2.ppf(0.99, d)), rel=1e-10)


# ---------------------------------------------------------------------------------------
# out-of-distribution rate
# ---------------------------------------------------------------------------------------

OOD_CASES = [(k, d) for k in PAPER for d in (2, 4, 8, 16, 32) if not (k == "ebm" and d < 4)]


@pytest.mark.parametrize("kind, d", OOD_CASES)
def test_own_fresh_samples_have_an_ood_rate_near_one_percent(kind, d):
    g = make_geometry(kind, d, 7)
    rate = g.ood_rate(g.sample(4000, stream=4))
    assert 0.005 <= rate <= 0.02, rate


@pytest.mark.parametrize("name", ["gmm-diag", "gmm-full", "kmeans", "empirical"])
def test_fitted_geometries_ood_rate_near_one_percent(name):
    g = GEOMETRIES[name]()
    assert 0.005 <= g.ood_rate(g.sample(4000, stream=4)) <= 0.02


def test_ood_threshold_is_the_calibrated_quantile_and_cached():
    from fastplan.engine.geometry import N_OOD_SAMPLES, OOD_STREAM
    g = make_geometry("vae", 6, 11)
    thr = g.ood_threshold()
    logp = g.log_density(g.sample(N_OOD_SAMPLES, stream=OOD_STREAM))
    assert thr == pytest.approx(np.quantile(logp, 0.01, method="lower"), rel=1e-12)
    assert np.mean(logp < thr) == pytest.approx(0.01, abs=1e-3)
    assert make_geometry("vae", 6, 11).ood_threshold() == thr       # cached per geometry, same value
    assert make_geometry("vae", 6, 12).ood_threshold() != thr
    far = g.mean() + 50.0
    assert g.is_ood(far) and g.ood_rate(np.stack([far, g.centers[0]])) == 0.5


def test_sparse_point_mass_has_no_ood_samples():
    """d <= 3: floor(0.3 d) = 0, every sample is 0, the density N(0, 0.05^2 I) is maximal there."""
    g = make_geometry("ebm", 3, 0)
    assert g.ood_rate(g.sample(100, stream=4)) == 0.0
    assert g.is_ood(np.ones(3))
