"""Geometry metrics of Sec. 2.4 against the plain-NumPy reference, plus known answers."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import run_with_threads
from reference import (ref_amenability, ref_concentration, ref_effective_dimension,
                       ref_mean_pairwise_distance)

from fastplan.engine.geometry import make_geometry
from fastplan.engine.metrics import (CONCENTRATION_DEFINITION, METRIC_STREAM, N_METRIC_SAMPLES, amenability,
                              concentration, effective_dimension, geometry_metrics,
                              mean_pairwise_distance)

KINDS = ("vae", "ebm", "vqvae")


def sample(kind, d, n=1500, seed=0):
    return make_geometry(kind, d, seed).sample(n, stream=7)


# ---------------------------------------------------------------------------------------
# each metric against the reference
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("d", [4, 13])
def test_metrics_match_reference(kind, d):
    x = sample(kind, d)
    assert effective_dimension(x) == pytest.approx(ref_effective_dimension(x), rel=1e-10)
    assert mean_pairwise_distance(x) == pytest.approx(ref_mean_pairwise_distance(x), rel=1e-12)
    # a sample exactly on the 2-sigma boundary may flip under rounding: allow one sample
    assert abs(concentration(x) - ref_concentration(x)) <= 1.0 / x.shape[0]


def test_reference_metrics_on_hand_checkable_data():
    """The reference itself on data with known answers."""
    # covariance diag(4, 1, 0): d_eff = 5^2 / 17
    x = np.array([[2, 1, 0], [-2, -1, 0], [2, -1, 0], [-2, 1, 0]], float)
    assert ref_effective_dimension(x) == pytest.approx(25 / 17, rel=1e-14)
    assert effective_dimension(x) == pytest.approx(25 / 17, rel=1e-12)
    # unit square corners: 4 sides of length 1 and 2 diagonals of length sqrt(2)
    sq = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
    want = (4 * 1.0 + 2 * math.sqrt(2)) / 6
    assert ref_mean_pairwise_distance(sq) == pytest.approx(want, rel=1e-14)
    assert mean_pairwise_distance(sq) == pytest.approx(want, rel=1e-14)
    # 1-d: sigma = sqrt(mean(dev^2)); points beyond 2 sigma are outside
    y = np.array([[0.0]] * 98 + [[10.0], [-10.0]])      # sigma = sqrt(2) -> |10| > 2.83
    assert ref_concentration(y) == concentration(y) == 0.98


def test_amenability_is_eq_12():
    for c, d_eff, d, r_bar in [(0.5, 3.2, 4, 2.0), (1.0, 1.0, 1, 0.0), (0.0, 30.0, 32, 14.5)]:
        want = 0.4 * c + 0.3 * (1 - d_eff / d) + 0.3 / (1 + r_bar / math.sqrt(d))
        assert ref_amenability(c, d_eff, d, r_bar) == pytest.approx(want, rel=1e-15)
        assert amenability(c, d_eff, d, r_bar) == pytest.approx(want, rel=1e-14)


def test_effective_dimension_invariances():
    x = sample("vae", 6)
    rot, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 6)))
    d0 = effective_dimension(x)
    assert effective_dimension(x @ rot.T) == pytest.approx(d0, rel=1e-10)   # rotation
    assert effective_dimension(3.0 * x + 5.0) == pytest.approx(d0, rel=1e-10)  # scale, shift
    assert 1.0 <= d0 <= 6.0


def test_isotropic_gaussian_known_answers():
    """N(0, I_d): d_eff ~ d, concentration ~ P(chi^2_d <= 4), r_bar ~ sqrt(2 d)."""
    n = 4000
    rng = np.random.default_rng(1)
    x1 = rng.normal(size=(n, 1))
    se = math.sqrt(0.9545 * 0.0455 / n)
    assert abs(concentration(x1) - 0.9544997) < 5 * se                 # the textbook 2-sigma
    x4 = rng.normal(size=(n, 4))
    p4 = 1 - math.exp(-2.0) * (1 + 2.0)                                # P(chi^2_4 <= 4)
    assert abs(concentration(x4) - p4) < 5 * math.sqrt(p4 * (1 - p4) / n)
    assert effective_dimension(x4) == pytest.approx(4.0, abs=0.05)
    # x, y ~ N(0, I_4): x - y ~ N(0, 2 I), so ||x - y|| = sqrt(2) chi_4, E chi_4 = sqrt(2) G(5/2) / G(2)
    e_chi4 = math.sqrt(2) * math.gamma(2.5) / math.gamma(2.0)
    assert mean_pairwise_distance(x4[:1500]) == pytest.approx(math.sqrt(2) * e_chi4, rel=0.02)


def test_pairwise_distance_bit_identical_for_1_and_2_threads(thread_counts):
    x = sample("vqvae", 9, n=2000)
    a, b = (run_with_threads(mean_pairwise_distance, t, x) for t in thread_counts)
    assert a == b


# ---------------------------------------------------------------------------------------
# geometry_metrics: the whole Sec. 2.4 row of one geometry
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_geometry_metrics_equal_reference_on_the_metric_sample(kind):
    g = make_geometry(kind, 8, 3)
    m = geometry_metrics(g, n=1200)
    x = g.sample(1200, stream=METRIC_STREAM)
    assert m["geometry"] == kind and m["d"] == 8 and m["n_samples"] == 1200
    d_eff, r_bar, c = ref_effective_dimension(x), ref_mean_pairwise_distance(x), ref_concentration(x)
    assert m["effective_dimension"] == pytest.approx(d_eff, rel=1e-10)
    assert m["mean_pairwise_distance"] == pytest.approx(r_bar, rel=1e-12)
    assert abs(m["concentration"] - c) <= 1.0 / 1200
    assert m["amenability"] == pytest.approx(
        ref_amenability(m["concentration"], d_eff, 8, r_bar), rel=1e-10)
    assert 0.0 <= m["concentration"] <= 1.0


@pytest.mark.parametrize("d", [4, 32])
def test_sparse_ebm_effective_dimension_close_to_d(d):
    """Paper: 3.9 at d=4 and 29.8 at d=32 (near full rank)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = geometry_metrics(make_geometry("ebm", d, 0))
    assert m["n_samples"] == N_METRIC_SAMPLES == 4000
    assert 0.9 * d <= m["effective_dimension"] <= d


@pytest.mark.parametrize("d", [4, 8, 16, 32])
@pytest.mark.parametrize("seed", [0, 1])
def test_vqvae_effective_dimension_at_most_k_minus_1(d, seed):
    """8 codes span at most a 7-dimensional affine subspace; the 0.0025 noise adds
    at most 0.0025 d to the trace, i.e. well under 0.1 to d_eff for d <= 32."""
    m = geometry_metrics(make_geometry("vqvae", d, seed), n=2000)
    assert 1.0 <= m["effective_dimension"] <= min(d, 7) + 0.1


@pytest.mark.parametrize("d", [1, 2, 3])
def test_sparse_ebm_small_d_gives_nan_with_warning(d):
    with pytest.warns(RuntimeWarning, match="point mass"):
        m = geometry_metrics(make_geometry("ebm", d, 0), n=200)
    assert math.isnan(m["effective_dimension"]) and math.isnan(m["amenability"])
    assert m["mean_pairwise_distance"] == 0.0
    assert m["concentration"] == 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_geometry_metrics_deterministic_from_d_and_seed(kind):
    a = geometry_metrics(make_geometry(kind, 6, 2), n=800)
    b = geometry_metrics(make_geometry(kind, 6, 2), n=800)
    assert a == b
    c = geometry_metrics(make_geometry(kind, 6, 2), n=800, seed=5)   # other sample, same geometry
    assert c["mean_pairwise_distance"] != a["mean_pairwise_distance"]


def test_concentration_definition_is_documented():
    assert "2" in CONCENTRATION_DEFINITION and "mean" in CONCENTRATION_DEFINITION


class _PointMass:
    """A duck-typed geometry (d, sample, mean, std, nothing else) whose samples are all zero."""

    d = 3

    def sample(self, n, seed=None, stream=0):
        return np.zeros((n, self.d))

    def mean(self):
        return np.zeros(self.d)

    def std(self):
        return np.zeros(self.d)


def test_metrics_of_a_duck_typed_point_mass_warn_and_give_nan():
    """A geometry without ``kind`` or ``label`` gets its metrics (NaN d_eff, one warning naming
    its type), not an AttributeError (found by the input fuzzing)."""
    with pytest.warns(RuntimeWarning, match="_PointMass at d=3 is a point mass"):
        m = geometry_metrics(_PointMass(), n=50)
    assert m["geometry"] == "_PointMass" and m["d"] == 3 and np.isnan(m["effective_dimension"])
    assert m["mean_pairwise_distance"] == 0.0 and m["concentration"] == 1.0
