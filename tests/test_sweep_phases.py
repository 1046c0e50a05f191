"""The work around planning in a sweep (issue 16 item 3), made faster without changing a bit.

Each faster path is compared with what it replaced, value for value (``np.array_equal`` on the
float bit patterns, never a tolerance):

* geometry samples (one ``rng.fill_normal`` per block of rows) against the previous kernel
  (one ``rng.normal`` call per coordinate, kept in ``tests/previous_kernels.py``);
* the pairwise-distance kernel (explicit FMA chains, four coordinates per pass over a tile that
  a block of row groups shares) against the plain
  row-by-row kernel;
* the covariance with BLAS on one thread against BLAS on its own threads;
* OOD thresholds from bounds (``engine/density_bounds.py``) against the quantile of every exact
  log density, and the bounds against the exact log densities (inputs far from the geometry,
  NaN and inf included);
* the results file's low-level attributes and dataset properties against h5py's own;
* ``bench/compare_results.py`` (the check run on a whole paper sweep before and after) finds a
  changed value and passes equal files.
"""
from __future__ import annotations

import os
import shutil
import threading

import h5py
import numpy as np
import pytest
from conftest import numba_threads
from previous_kernels import pairwise_row_sums_v0, sample_v1

from fastplan.engine import geometry_kernels as gk
from fastplan.engine import threads
from fastplan.engine.density_bounds import log_density_bounds, log_density_quantile
from fastplan.engine.geometry import N_OOD_SAMPLES, OOD_QUANTILE, OOD_STREAM, make_geometry
from fastplan.engine.geometry_fit import geometry_from_samples
from fastplan.engine.metrics import _pairwise_row_sums
from layouts import to_second_layout

PAPER = ("vae", "ebm", "vqvae")


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


# ------------------------------------------------------------------------- geometry samples

@pytest.mark.parametrize("kind", PAPER)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 7, 16, 33])
def test_samples_equal_the_previous_kernel(kind, d):
    g = make_geometry(kind, d, 3)
    for n, seed, stream in [(1, None, 0), (63, None, 1), (64, 5, 2), (65, None, 3), (1000, 7, 1)]:
        assert same_bits(g.sample(n, seed=seed, stream=stream), sample_v1(g, n, seed=seed, stream=stream))


@pytest.mark.parametrize("kind", PAPER)
def test_samples_of_the_paper_sweep_equal_the_previous_kernel(kind, thread_counts):
    """The metric samples (4000, stream 1) and OOD samples (20000, stream 3) of a paper cell."""
    g = make_geometry(kind, 32, 9)
    for n, stream in [(4000, 1), (N_OOD_SAMPLES, OOD_STREAM)]:
        want = sample_v1(g, n, stream=stream)
        for t in thread_counts:
            with numba_threads(t):
                assert same_bits(g.sample(n, stream=stream), want)


# ------------------------------------------------------------------------- pairwise distances

@pytest.mark.parametrize("d", [2, 4, 5, 6, 7, 8, 12, 32])
@pytest.mark.parametrize("n", [4, 7, 8, 131, 260, 1100])    # 1100: 275 groups in 18 blocks, 5 tiles
def test_pairwise_kernel_equals_the_plain_kernel(n, d, thread_counts):
    x = np.random.default_rng(n + 1000 * d).standard_normal((n, d)) * 2.0 + 1.0
    xt = np.ascontiguousarray(x.T)
    want = np.empty(n)
    pairwise_row_sums_v0(xt, want)
    for t in thread_counts:
        got = np.empty(n)
        with numba_threads(t):
            _pairwise_row_sums(xt, got)
        assert same_bits(got, want)


@pytest.mark.parametrize("kind, d", [("vqvae", 16), ("vae", 4), ("ebm", 32), ("vae", 32)])
def test_pairwise_kernel_on_a_paper_sample(kind, d):
    xt = np.ascontiguousarray(make_geometry(kind, d, 2).sample(4000, stream=1).T)
    want, got = np.empty(4000), np.empty(4000)
    pairwise_row_sums_v0(xt, want)
    _pairwise_row_sums(xt, got)
    assert same_bits(got, want)


# ------------------------------------------------------------------------- BLAS on one thread

def _blas_threads():
    return [lib.num_threads for lib in threads._blas_libs()]


def test_blas_single_gives_the_same_covariance_and_restores_the_threads():
    x = make_geometry("vae", 32, 0).sample(4000, stream=1)
    before = _blas_threads()
    assert before, "threadpoolctl finds NumPy's BLAS"
    want = np.cov(x, rowvar=False, bias=True)
    with threads.blas_single():
        assert all(n == 1 for n in _blas_threads())
        with threads.blas_single():                       # nested: still one, restored once
            got = np.cov(x, rowvar=False, bias=True)
        assert all(n == 1 for n in _blas_threads())
    assert _blas_threads() == before
    assert same_bits(got, want)


def test_blas_single_acts_from_the_main_thread_only():
    """A block in the main thread makes every thread's BLAS single; a block in another thread
    changes nothing (OpenBLAS does not reliably honour a change made there)."""
    before = _blas_threads()
    seen = []
    with threads.blas_single():
        t = threading.Thread(target=lambda: seen.append(_blas_threads()))
        t.start()
        t.join()
    assert seen == [[1] * len(before)] and _blas_threads() == before

    def worker():
        with threads.blas_single():
            seen.append(_blas_threads())
    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen[-1] == before and _blas_threads() == before


# ------------------------------------------------------------------------- OOD thresholds

def _exact_quantile(p, x):
    return float(np.quantile(gk.log_density_fast(p, x), OOD_QUANTILE, method="lower"))


@pytest.mark.parametrize("kind", PAPER)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 6, 8, 16, 32])
def test_ood_threshold_equals_the_quantile_of_every_exact_log_density(kind, d):
    for seed in (0, 7):
        g = make_geometry(kind, d, seed)
        p = g.density_params()
        x = g.sample(N_OOD_SAMPLES, stream=OOD_STREAM)
        assert same_bits(g.ood_threshold(), _exact_quantile(p, x))
        lo, hi = log_density_bounds(p, x)
        exact = gk.log_density_fast(p, x)
        assert np.all(lo <= exact) and np.all(exact <= hi)


@pytest.mark.parametrize("kind", PAPER)
@pytest.mark.parametrize("d", [3, 5, 9, 16])
def test_bounds_hold_off_the_geometry(kind, d):
    """Wide, shifted and partly sparse inputs, NaN and inf rows: the bounds contain the exact
    log density (non-finite rows get (-inf, inf)) and every quantile is exact."""
    g = make_geometry(kind, d, 4)
    p = g.density_params()
    rng = np.random.default_rng(d)
    x = np.concatenate([rng.standard_normal((500, d)) * s for s in (0.01, 1.0, 5.0, 40.0)]
                       + [g.sample(500, stream=5) + 0.3, g.sample(500, stream=6) * (rng.random((500, d)) < 0.5)])
    x[7, 0] = np.nan
    x[11, d - 1] = np.inf
    x[13, 0] = -np.inf
    lo, hi = log_density_bounds(p, x)
    exact = gk.log_density_fast(p, x)
    finite = np.all(np.isfinite(x), axis=1)
    assert np.all(lo[finite] <= exact[finite]) and np.all(exact[finite] <= hi[finite])
    assert np.all(np.isneginf(lo[~finite])) and np.all(np.isposinf(hi[~finite]))
    ok = x[finite]
    for q in (0.0, 0.01, 0.3, 0.99, 1.0):
        want = float(np.quantile(gk.log_density_fast(p, ok), q, method="lower"))
        assert same_bits(log_density_quantile(p, ok, q), want)
    assert np.isnan(log_density_quantile(p, x, 0.01)) and np.isnan(_exact_quantile(p, x))


@pytest.mark.parametrize("kind", PAPER)
def test_bounds_bit_identical_for_1_and_2_threads(kind, thread_counts):
    g = make_geometry(kind, 12, 1)
    x = g.sample(5000, stream=OOD_STREAM)
    outs = []
    for t in thread_counts:
        with numba_threads(t), threads.fixed():            # every call on all its threads
            outs.append(log_density_bounds(g.density_params(), x))
    assert same_bits(outs[0][0], outs[1][0]) and same_bits(outs[0][1], outs[1][1])


@pytest.mark.parametrize("covariance", ["diag", "full"])
def test_fitted_geometries_threshold_is_exact(covariance):
    g = geometry_from_samples(make_geometry("vae", 3, 5).sample(600, stream=11), kind="gmm", k=4, seed=1,
                              covariance=covariance)
    p = g.density_params()
    assert (log_density_bounds(p, g.sample(10)) is None) == (covariance == "full")
    assert same_bits(g.ood_threshold(), _exact_quantile(p, g.sample(N_OOD_SAMPLES, stream=OOD_STREAM)))


# ------------------------------------------------------------------------- results file

def test_low_level_attributes_equal_h5py_attributes(tmp_path):
    from fastplan.store.writer import _new_attrs
    items = {"config_id": "0123456789abcdef", "key": '{"d": 4}', "empty": "", "d": 4, "lam": 0.1,
             "big": 2**40, "unicode": "Sparse-EBM \u2013 top-k"}
    with h5py.File(tmp_path / "a.h5", "w", libver=("v110", "latest")) as f:
        ref, new = f.create_group("ref"), f.create_group("new")
        for k, v in items.items():
            ref.attrs[k] = v
        _new_attrs(new, items)
    with h5py.File(tmp_path / "a.h5", "r") as f:
        ref, new = f["ref"], f["new"]
        assert list(ref.attrs) == list(new.attrs)
        for k in items:
            a, b = ref.attrs.get_id(k), new.attrs.get_id(k)
            assert a.get_type().equal(b.get_type()) and a.shape == b.shape
            assert type(ref.attrs[k]) is type(new.attrs[k]) and ref.attrs[k] == new.attrs[k]


def test_created_datasets_equal_h5py_datasets(tmp_path):
    from fastplan.store.writer import _create, _rows_per_chunk
    arrays = {"f": np.arange(24.0).reshape(3, 2, 4), "i": np.arange(5, dtype=np.int64),
              "b": np.ones(3, dtype=bool), "s": np.array([b"vae", b"ebm"], dtype="S16")}
    with h5py.File(tmp_path / "d.h5", "w", libver=("v110", "latest")) as f:
        for k, v in arrays.items():
            for _ in range(2):                              # the second uses the cached properties
                name = f"{k}{_}"
                _create(f, name, v)
            f.create_dataset(f"{k}ref", data=v, maxshape=(None,) + v.shape[1:],
                             chunks=(_rows_per_chunk(v.shape[1:], v.shape[0]),) + v.shape[1:])
    with h5py.File(tmp_path / "d.h5", "r") as f:
        for k, v in arrays.items():
            ref = f[f"{k}ref"]
            for name in (f"{k}0", f"{k}1"):
                ds = f[name]
                assert ds.id.get_type().equal(ref.id.get_type())
                assert (ds.shape, ds.maxshape, ds.chunks, ds.dtype) == (ref.shape, ref.maxshape, ref.chunks, ref.dtype)
                assert np.array_equal(ds[()], v)


# ------------------------------------------------------------------------- the file comparison

def test_compare_results_finds_a_changed_value(tmp_path):
    from bench.compare_results import compare
    from fastplan.runs.sweep import run_sweep
    a = tmp_path / "a.h5"
    run_sweep(a, planners=["cem"], geometries=["vae", "ebm"], dims=[2], horizons=[3], seeds=[0, 1],
              progress="quiet", metric_samples=50)
    b = tmp_path / "b.h5"
    shutil.copyfile(a, b)
    assert compare(str(a), str(b)) == []
    assert compare.n_values > 0
    n_values = compare.n_values
    to_second_layout(b)                                    # one dataset per field: the same values
    assert compare(str(a), str(b)) == [] and compare.n_values == n_values
    with h5py.File(b, "r+") as f:
        cid = sorted(f["configs"])[0]
        ds = f["configs"][cid]["ood_threshold"]
        v = ds[()]
        v[0] = np.nextafter(v[0], np.inf)                  # one ulp
        ds[...] = v
        m = f["geometry_metrics"]["mean_pairwise_distance"]
        w = m[()]
        w[-1] = -w[-1]
        m[...] = w
    diffs = compare(str(a), str(b))
    assert any(f"configs/{cid}/ood_threshold" in line for line in diffs)
    assert any("geometry_metrics/mean_pairwise_distance" in line for line in diffs)
    assert len(diffs) == 2
    os.unlink(b)
