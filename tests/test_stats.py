"""The statistics of the paper layer: the paired seed bootstrap covers the true difference at
about its nominal rate, decides a large effect and leaves a null one undecided, is
deterministic, and the t intervals of table cells are right."""
from __future__ import annotations

import numpy as np
import pytest

from fastplan.paper import claims as C
from fastplan.paper.bootstrap import Paired
from fastplan.paper.results import Results
from fastplan.paper.stats import (Interval, boot_mean, boot_std, interval, make_stat, resample_indices,
                                  seeds_needed)


def paired_data(rng, n, diff, seed_sd=1.0, noise_sd=0.5):
    """Two planners on n paired seeds: a shared seed effect plus independent noise."""
    seed = rng.normal(0.0, seed_sd, n)
    a = 1.0 + seed + rng.normal(0.0, noise_sd, n)
    b = 1.0 + diff + seed + rng.normal(0.0, noise_sd, n)
    return a, b


def test_paired_bootstrap_covers_the_true_difference_at_its_nominal_rate():
    rng = np.random.default_rng(12345)
    n, true_diff, reps = 20, 0.3, 200
    idx = resample_indices(n, n_boot=2000)
    hits = 0
    for _ in range(reps):
        a, b = paired_data(rng, n, true_diff)
        iv = interval(boot_mean(b, idx) - boot_mean(a, idx), n)
        hits += iv.lo <= true_diff <= iv.hi
    assert 0.90 <= hits / reps <= 0.98, hits / reps


def test_pairing_makes_the_interval_narrower_than_unpaired():
    rng = np.random.default_rng(7)
    a, b = paired_data(rng, 30, 0.3, seed_sd=2.0, noise_sd=0.2)
    idx = resample_indices(30, n_boot=2000)
    paired = interval(boot_mean(b, idx) - boot_mean(a, idx), 30)
    rng2 = np.random.default_rng(8)
    unpaired_idx = rng2.integers(0, 30, size=idx.shape)          # a and b resampled apart
    unpaired_idx[0] = np.arange(30)
    unpaired = interval(boot_mean(b, idx) - boot_mean(a, unpaired_idx), 30)
    assert (paired.hi - paired.lo) < 0.3 * (unpaired.hi - unpaired.lo)
    assert paired.lo > 0 > unpaired.lo                           # only the paired interval decides


def _records(cem, mppi):
    """Records with CEM and MPPI on all three geometries at d=8, h=8 (same values per geometry)."""
    n = cem.size
    cols = {k: [] for k in ("planner", "geometry", "d", "horizon", "seed", "goal_distance")}
    for p, vals in (("cem", cem), ("mppi", mppi)):
        for g in ("vae", "ebm", "vqvae"):
            for s in range(n):
                for k, v in zip(cols, (p, g, 8, 8, s, vals[s])):
                    cols[k].append(v)
    return {k: np.asarray(v) for k, v in cols.items()}


def _mppi_worse(cem, mppi):
    res = Results(_records(cem, mppi))
    return next(c for c in C.evaluate(res, None, n_boot=2000) if c.key == "mppi_worse_than_cem")


def test_large_effect_is_supported_and_null_effect_undecided():
    rng = np.random.default_rng(2026)
    cem, mppi = paired_data(rng, 30, 1.0)
    c = _mppi_worse(cem, mppi)
    assert c.verdict == C.SUPPORTED and c.basis == C.BOOTSTRAP and c.interval.lo > 0
    assert c.seeds_needed is None
    cem, mppi = paired_data(rng, 30, 0.0)
    c = _mppi_worse(cem, mppi)
    assert c.verdict == C.UNDECIDED and c.interval.lo < 0 < c.interval.hi
    assert c.seeds_needed is None or c.seeds_needed > 30              # more seeds than we have
    c = _mppi_worse(mppi + 1.0, cem)                                  # MPPI clearly better: contradicted
    assert c.verdict == C.CONTRADICTED and c.interval.hi < 0


def test_seeds_needed_shrinks_like_one_over_sqrt_n():
    iv = Interval(estimate=0.1, lo=-0.05, hi=0.25, se=0.08, n=10)
    n = seeds_needed(iv)
    assert n == np.ceil(10 * (2.8015852 * 0.08 / 0.1) ** 2)          # (z_0.975 + z_0.80)^2 ...
    # at that many seeds the se has shrunk so that |effect| = 2.80 se: decided with 80% power
    assert 0.1 / (0.08 * np.sqrt(10 / n)) == pytest.approx(2.8016, abs=0.05)
    assert seeds_needed(Interval(0.0, -1, 1, 0.5, 10)) is None
    assert seeds_needed(Interval(float("nan"), np.nan, np.nan, np.nan, 10)) is None


def test_bootstrap_is_deterministic_and_row_zero_is_the_data():
    a = resample_indices(15, n_boot=100)
    assert np.array_equal(a, resample_indices(15, n_boot=100))
    assert np.array_equal(a[0], np.arange(15)) and a.shape == (101, 15)
    x = np.arange(15, dtype=float)
    assert boot_mean(x, a)[0] == x.mean() and boot_std(x, a)[0] == pytest.approx(x.std(ddof=1))
    x[3] = np.nan                                                   # a missing seed is left out
    assert boot_mean(x, a)[0] == pytest.approx(np.nanmean(x))


def test_the_same_data_give_the_same_verdicts_bit_for_bit():
    rng = np.random.default_rng(3)
    cem, mppi = paired_data(rng, 12, 0.4)
    one = _mppi_worse(cem, mppi).interval
    two = _mppi_worse(cem.copy(), mppi.copy()).interval
    assert (one.estimate, one.lo, one.hi, one.se) == (two.estimate, two.lo, two.hi, two.se)


def test_paired_statistics_follow_the_cells():
    rng = np.random.default_rng(4)
    cem, mppi = paired_data(rng, 8, 0.5)
    b = Paired(Results(_records(cem, mppi)), n_boot=50)
    m = b.mean("goal_distance", "mppi", "vae", 8, 8)
    assert m.shape == (51,) and m[0] == pytest.approx(mppi.mean())
    assert b.std("goal_distance", "cem", "ebm", 8, 8)[0] == pytest.approx(cem.std(ddof=1))
    assert b.gavg("goal_distance", "cem", 8, 8)[0] == pytest.approx(cem.mean())
    assert b.mean("goal_distance", "sgld", "vae", 8, 8) is None and b.n_used == 8


def test_t_interval_of_a_cell_covers_at_its_nominal_rate():
    rng = np.random.default_rng(99)
    hits = 0
    for _ in range(400):
        lo, hi = make_stat(rng.normal(2.0, 1.0, 10)).ci
        hits += lo <= 2.0 <= hi
    assert 0.92 <= hits / 400 <= 0.98
