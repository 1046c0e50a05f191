"""Geometries fitted from data (issue 12.2): recovery of known mixtures, exact moments,
determinism, the interface shared with the paper's geometries, and input validation.

Recovery tolerances are stated per test; they are several standard errors wide for the
sample sizes used (e.g. 1200 latents of a component with std 0.4: SE of its mean 0.012).
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import run_with_threads

import fastplan
from fastplan.engine import fitting
from fastplan.engine.errors import FastplanError
from fastplan.engine.geometry import make_geometry
from fastplan.engine.geometry_fit import geometry_from_samples

TRUE_W = np.array([0.5, 0.3, 0.2])
TRUE_MU = np.array([[0.0, 0.0, 0.0], [3.0, -2.0, 1.0], [-2.5, 2.0, 3.0]])
TRUE_STD = np.array([[0.5, 0.3, 0.4], [0.3, 0.6, 0.3], [0.4, 0.4, 0.7]])


def known_mixture(n=4000, seed=0):
    """n draws of the known 3-component diagonal mixture above (NumPy's generator: test data)."""
    g = np.random.default_rng(seed)
    comp = g.choice(3, size=n, p=TRUE_W)
    return TRUE_MU[comp] + TRUE_STD[comp] * g.standard_normal((n, 3))


def match(est, true):
    """Index of the estimated component nearest to each true centre (all distinct)."""
    idx = [int(np.argmin(np.sum((est - c) ** 2, axis=1))) for c in true]
    assert len(set(idx)) == len(idx)
    return idx


@pytest.mark.parametrize("covariance", ["diag", "full"])
def test_gmm_recovers_means_weights_and_spreads(covariance):
    """Means within 0.05, weights within 0.02, stds within 8% (n = 4000)."""
    g = geometry_from_samples(known_mixture(), kind="gmm", k=3, seed=0, covariance=covariance)
    i = match(g.centers, TRUE_MU)
    assert np.max(np.abs(g.centers[i] - TRUE_MU)) < 0.05
    assert np.max(np.abs(g.weights[i] - TRUE_W)) < 0.02
    std = g.density_std[i]
    assert np.max(np.abs(std / TRUE_STD - 1)) < 0.08
    if covariance == "full":
        off = g.covariances[i] - np.einsum("ki,ij->kij", std ** 2, np.eye(3))
        assert np.max(np.abs(off)) < 0.03         # the true components are diagonal
    assert g.info["converged"]


def test_kmeans_codebook_recovers_a_noisy_codebook():
    """VQ-VAE samples (8 codes ~ N(0, 4I), noise std 0.05, d = 8): codes within 0.01,
    noise std within 5%, weights within 0.03 of 1/8."""
    vq = make_geometry("vqvae", 8, 2)
    g = geometry_from_samples(vq.sample(4000, stream=3), kind="kmeans", k=8, seed=0)
    i = match(g.centers, vq.centers)
    assert np.max(np.abs(g.centers[i] - vq.centers)) < 0.01
    assert g.info["noise_std"] == pytest.approx(0.05, rel=0.05) and not g.info["noise_floored"]
    assert np.max(np.abs(g.weights - 1 / 8)) < 0.03
    on_entry = (g.project(g.sample(500, stream=1))[:, None, :] == g.centers[None]).all(axis=2)
    assert on_entry.sum(axis=1).tolist() == [1] * 500


def test_kmeans_on_exact_codes_floors_the_noise():
    codes = np.repeat(np.eye(4) * 3.0, 50, axis=0)
    g = geometry_from_samples(codes, kind="kmeans", k=4, seed=0)
    assert g.info["noise_floored"]
    assert g.info["noise_std"] == pytest.approx(fitting.NOISE_FLOOR * np.sqrt(np.mean(np.var(codes, axis=0))))
    np.testing.assert_array_equal(np.sort(g.project(codes), axis=0), np.sort(codes, axis=0))


def test_empirical_resamples_rows_and_uses_scott_kde():
    x = known_mixture(500, seed=3)
    g = geometry_from_samples(x, kind="empirical", seed=4)
    s = g.sample(2000, stream=1)
    rows = {tuple(r) for r in x}
    assert all(tuple(r) in rows for r in s)                         # exactly data rows
    np.testing.assert_allclose(g.mean(), x.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g.cov(), np.cov(x, rowvar=False, bias=True), rtol=1e-10, atol=1e-12)
    h = np.std(x, axis=0, ddof=1) * 500 ** (-1 / 7)
    np.testing.assert_allclose(g.density_std[0], h, rtol=1e-12)
    np.testing.assert_array_equal(g.project(x), x)                  # rows are fixed points


@pytest.mark.parametrize("kind, kw", [("gmm", {}), ("gmm", {"covariance": "full"}), ("kmeans", {})])
def test_sample_moments_match_the_exact_moments(kind, kw):
    g = geometry_from_samples(known_mixture(2000, seed=5), kind=kind, k=3, seed=0, **kw)
    x = g.sample(40_000, stream=2)
    n = len(x)
    se = np.sqrt(np.diag(g.cov()) / n)
    assert np.all(np.abs(x.mean(axis=0) - g.mean()) < 5 * se)
    dev = x - g.mean()
    prod = dev[:, :, None] * dev[:, None, :]
    assert np.all(np.abs(prod.mean(axis=0) - g.cov()) < 5 * np.sqrt(prod.var(axis=0) / n) + 1e-12)
    np.testing.assert_allclose(g.std(), np.sqrt(np.diag(g.cov())))


@pytest.mark.parametrize("kind", ["gmm", "kmeans", "empirical"])
def test_fits_and_samples_are_deterministic(kind, thread_counts):
    x = known_mixture(1500, seed=6)
    a = geometry_from_samples(x, kind=kind, k=3, seed=9)
    b = geometry_from_samples(x, kind=kind, k=3, seed=9)
    for f in ("centers", "weights", "density_std", "sample_std"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    s1, s2 = (run_with_threads(a.sample, n, 3000, stream=2) for n in thread_counts)
    np.testing.assert_array_equal(s1, s2)
    assert not np.array_equal(a.sample(100, seed=1), a.sample(100, seed=2))


def test_kmeans_restarts_pick_the_least_inertia():
    x = known_mixture(800, seed=7)
    best = fitting.kmeans(x, 3, 0, 5)
    inertia = float(np.sum((x - best[0][best[1]]) ** 2))
    for r in range(fitting.KMEANS_N_INIT):
        from fastplan.engine import rng
        c, lab, _, _ = fitting.lloyd(x, fitting.kmeans_pp(x, 3, 0, rng.stream_id(rng.GEOM_FIT, 5, r)))
        assert inertia <= float(np.sum((x - c[lab]) ** 2)) + 1e-9


def test_fitted_geometry_has_the_paper_interface_and_plans():
    x = make_geometry("vae", 4, 1).sample(1000, stream=3)
    g = fastplan.geometry_from_samples(x, kind="gmm", k=8, seed=0)
    m = g.metrics(n=500)
    assert m["geometry"] == "gmm" and m["d"] == 4 and 0 < m["effective_dimension"] <= 4
    assert g.label == "GMM" and "EM" in g.density_note and g.projection_note
    prob = fastplan.make_problem(g, 4, 3, seed=2)
    assert prob.geometry is g
    res = fastplan.plan(prob, "cem", population=20, iterations=2, execution="decoded")
    assert np.isfinite(res.goal_distance) and np.isfinite(res.realised_goal_distance)
    np.testing.assert_array_equal(res.executed_actions, g.project(res.actions))
    with pytest.raises(FastplanError, match="dimension 4"):
        fastplan.make_problem(g, 5, 3, seed=2)


@pytest.mark.parametrize("x, kw, words", [
    (np.zeros(10), {}, "2 dimensions"),
    (np.zeros((1, 3)), {}, "n >= 2"),
    (np.full((5, 2), np.nan), {}, "NaN"),
    (np.array([[1.0, np.inf], [0.0, 1.0]]), {}, "NaN or inf"),
    ([["a", "b"], ["c", "d"]], {}, "numeric"),
    (np.ones((10, 2)), {}, "identical"),
    (np.arange(10.0).reshape(5, 2), {"k": 8}, "at least 8 distinct"),
    (np.repeat(np.eye(2), 5, axis=0), {"k": 3}, "at least 3 distinct"),
    (np.arange(10.0).reshape(5, 2), {"k": 0}, "k"),
    (np.arange(10.0).reshape(5, 2), {"kind": "vae"}, "unknown fitted geometry kind"),
    (np.arange(10.0).reshape(5, 2), {"covariance": "tied"}, "covariance"),
    (np.arange(10.0).reshape(5, 2), {"seed": -1}, "seed"),
])
def test_bad_input_is_one_fastplan_error(x, kw, words):
    kw = {"kind": "gmm", "k": 2, **kw}
    with pytest.raises(FastplanError) as exc:
        geometry_from_samples(x, **kw)
    msg = str(exc.value)
    assert "\n" not in msg and words in msg
