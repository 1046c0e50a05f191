"""The opt-in fast arithmetic (``FASTPLAN_ARITHMETIC=fast``): the float-accuracy tanh against
NumPy with explicit bounds, and a process in fast mode against this (exact) one: plans,
thread counts, configuration keys, the kernel cache, resuming a file, the paper layer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import fastplan
from fastplan import store
from fastplan.engine import arithmetic, fastmath, jit
from fastplan.engine.errors import FastplanError
from fastplan.paper.results import normalize_records, select_variants
from fastplan.runs.sweep import expand_grid, run_sweep

#: Measured on the grid of test_tanh_fast_error_bound: 2.56e-7 absolute and relative (largest
#: where the clamp saturates it at 1 - 2.6e-7), 3.87 float32 ulps.
ABS_BOUND = 3e-7
REL_BOUND = 3e-7
F32_ULPS = 4.0
#: Fast minus exact plans of the (non-chaotic) diffusion planner at d = 4, h = 4: measured 7.4e-8.
PLAN_BOUND = 1e-5


@numba.njit(fastmath={"contract", "nsz", "arcp"}, error_model="numpy")
def _tanh_fast_all(x, out):
    for i in range(x.size):
        out[i] = fastmath.tanh_fast(x[i])


def _tanh_fast(x):
    out = np.empty_like(x)
    _tanh_fast_all(np.ascontiguousarray(x, dtype=np.float64), out)
    return out


def _grid():
    tiny = np.geomspace(1e-300, 1e-3, 20_001)
    pos = np.concatenate([tiny, np.linspace(0.0, 12.0, 600_001), np.geomspace(12.0, 1e300, 1_001),
                          [7.9, np.nextafter(fastmath._FAST_CLAMP, 0), fastmath._FAST_CLAMP, 8.0, 20.0]])
    return np.concatenate([pos, -pos])


def test_tanh_fast_error_bound():
    x = _grid()
    got, want = _tanh_fast(x), np.tanh(x)
    err = np.abs(got - want)
    assert err.max() <= ABS_BOUND
    nonzero = want != 0
    assert (err[nonzero] / np.abs(want[nonzero])).max() <= REL_BOUND       # |x| >= 1e-300
    ulp32 = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    assert (err / ulp32).max() <= F32_ULPS
    # not a copy of the exact tanh: it does differ (by more than the exact one's 3 ulp)
    assert err.max() > 1e-8


def test_tanh_fast_odd_monotone_and_special_values():
    x = np.sort(_grid())
    y = _tanh_fast(x)
    assert np.array_equal(_tanh_fast(-x), -y)                      # exactly odd
    # non-decreasing up to rounding: at the clamp it falls by 3.3e-16 from the float64 before
    assert np.all(np.diff(y) >= -1e-15)
    assert np.all(np.diff(_tanh_fast(np.linspace(-7.9, 7.9, 1_000_001))) >= 0.0)
    assert np.all(np.abs(y) < 1.0)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324])
    s = _tanh_fast(special)
    assert s[0] == 0.0 and s[1] == 0.0
    assert np.abs(s[2:4] - np.array([1.0, -1.0])).max() <= ABS_BOUND and s[2] == -s[3]
    assert np.isnan(s[4])                                          # NaN propagates
    assert np.abs(s[5:7] - np.array([1.0, -1.0])).max() <= ABS_BOUND
    assert abs(s[7]) <= ABS_BOUND


def test_default_mode_is_exact():
    assert arithmetic.ARITHMETIC == fastplan.ARITHMETIC == "exact"
    assert fastmath.tanh is fastmath.tanh_exact and fastmath.tanh is not fastmath.tanh_fast


def test_mode_from_env():
    assert arithmetic.mode_from_env({}) == "exact"
    assert arithmetic.mode_from_env({"FASTPLAN_ARITHMETIC": ""}) == "exact"
    assert arithmetic.mode_from_env({"FASTPLAN_ARITHMETIC": " Fast "}) == "fast"
    with pytest.raises(FastplanError, match="FASTPLAN_ARITHMETIC='fastest' is not an arithmetic mode") as e:
        arithmetic.mode_from_env({"FASTPLAN_ARITHMETIC": "fastest"})
    assert "\n" not in str(e.value)


def test_config_key_names_only_non_exact_arithmetic():
    args = ("vae", 8, 8, "cem", "prior", {"lam": 0.1})
    exact = store.config_key(*args)
    assert store.config_key(*args, arithmetic="exact") == exact and "arithmetic" not in exact
    fast = store.config_key(*args, arithmetic="fast")
    assert fast == {**exact, "arithmetic": "fast"}
    assert store.config_id(fast) != store.config_id(exact)


def test_bad_mode_is_one_line_error(tmp_path):
    env = {**os.environ, "FASTPLAN_ARITHMETIC": "quick", "NUMBA_CACHE_DIR": str(tmp_path)}
    cli = subprocess.run([sys.executable, "-m", "fastplan_cli.main", "plan", "--planner", "cem"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert cli.returncode != 0
    assert cli.stderr.strip().splitlines() == [
        "Error: FASTPLAN_ARITHMETIC='quick' is not an arithmetic mode; choose from exact, fast"]
    lib = subprocess.run([sys.executable, "-c", "import fastplan.engine.fastmath"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert lib.returncode != 0
    assert lib.stderr.strip().splitlines()[-1] == (
        "fastplan.engine.errors.FastplanError: FASTPLAN_ARITHMETIC='quick' is not an arithmetic mode; "
        "choose from exact, fast")


_SWEEP = dict(planners=("diffusion",), geometries=("vae",), dims=(4,), horizons=(4,), seeds=(0, 1),
              metric_samples=0, progress="quiet")

_CHILD = textwrap.dedent("""
    import json, os, sys
    import numba, numpy as np
    import fastplan
    from fastplan.engine import fastmath, jit
    from fastplan.runs.sweep import expand_grid, run_sweep
    sweep = json.loads(sys.argv[3])
    probs = [fastplan.make_problem(g, d=4, horizon=4, seed=s) for g in ("vae", "ebm", "vqvae") for s in (0, 1)]
    runs = {}
    for n in (1, 2):
        numba.set_num_threads(n)
        runs[n] = fastplan.plan_batch(probs, "diffusion")
    run_sweep(sys.argv[2], **sweep)
    cfg = expand_grid(**{k: v for k, v in sweep.items() if k not in ("metric_samples", "progress")}).configs[0]
    np.savez(sys.argv[1], a1=runs[1].actions, a2=runs[2].actions, c1=runs[1].cost, c2=runs[2].cost)
    print(json.dumps({"arithmetic": fastplan.ARITHMETIC, "fast_tanh": fastmath.tanh is fastmath.tanh_fast,
                      "cache": os.path.basename(jit.CACHE_DIR), "repr": repr(runs[2]),
                      "result": runs[2][0].arithmetic, "key": cfg.key, "id": cfg.config_id}))
""")


def test_fast_process_plans_keys_threads_and_resume(tmp_path):
    out, h5 = tmp_path / "fast.npz", tmp_path / "runs.h5"
    env = {**os.environ, "FASTPLAN_ARITHMETIC": "fast", "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "NUMBA_NUM_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(out), str(h5), json.dumps(_SWEEP)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["arithmetic"] == info["result"] == "fast" and info["fast_tanh"]
    assert "fast arithmetic" in info["repr"].splitlines()[0]
    # its own kernel cache folder, never this (exact) process's
    assert info["cache"].startswith("kernels-") and info["cache"] != os.path.basename(jit.CACHE_DIR)
    # the configuration says so; the same grid here (exact) is another configuration
    exact_cfg = expand_grid(**{k: v for k, v in _SWEEP.items() if k not in ("metric_samples", "progress")}).configs[0]
    assert info["key"] == {**exact_cfg.key, "arithmetic": "fast"} and "arithmetic" not in exact_cfg.key
    assert info["id"] != exact_cfg.config_id

    fast = np.load(out)
    assert np.all(np.isfinite(fast["a2"])) and np.all(np.isfinite(fast["c2"]))
    assert np.array_equal(fast["a1"], fast["a2"]) and np.array_equal(fast["c1"], fast["c2"])  # 1 vs 2 threads
    probs = [fastplan.make_problem(g, d=4, horizon=4, seed=s) for g in ("vae", "ebm", "vqvae") for s in (0, 1)]
    exact = fastplan.plan_batch(probs, "diffusion")
    diff = np.abs(fast["a2"] - exact.actions)
    assert 0.0 < diff.max() <= PLAN_BOUND                     # changed, by rounding-level amounts
    assert np.abs(fast["c2"] - exact.cost).max() <= PLAN_BOUND

    # resuming the fast file in exact mode adds exact runs beside the fast ones, never mixed
    run_sweep(h5, **_SWEEP)
    rec = store.load(h5)
    assert sorted(rec["arithmetic"].tolist()) == ["exact", "exact", "fast", "fast"]
    ids = {a: set(rec["config_id"][rec["arithmetic"] == a].tolist()) for a in ("exact", "fast")}
    assert ids == {"exact": {exact_cfg.config_id}, "fast": {info["id"]}}
    for a in ("exact", "fast"):
        assert sorted(rec["seed"][rec["arithmetic"] == a].tolist()) == [0, 1]
    # the paper layer takes the exact runs as the paper's configuration, never the fast ones
    keep, variants = select_variants(normalize_records(rec))
    assert set(rec["arithmetic"][keep].tolist()) == {"exact"}
    by = {v["arithmetic"]: v for v in variants}
    assert by["exact"]["paper_defaults"] and by["exact"]["chosen"]
    assert not by["fast"]["paper_defaults"] and not by["fast"]["chosen"]
    # a file holding fast runs only: shown (the only variant), but not as the paper's
    only_fast = {k: v[rec["arithmetic"] == "fast"] for k, v in rec.items()}
    keep, variants = select_variants(normalize_records(only_fast))
    assert keep.all() and [v["paper_defaults"] for v in variants] == [False]


def test_a_worker_in_the_other_mode_refuses_the_unit(tmp_path):
    """A work unit made by a driver in fast mode, computed by this (exact) process as a Dask
    worker would: one line naming both modes, before anything is planned or written."""
    import dataclasses

    from fastplan.runs.sweep import compute_unit, expand_grid, make_units

    grid = expand_grid(planners=["cem"], geometries=["vae"], dims=[2], horizons=[2], seeds=[0],
                       overrides={"cem": {"population": 8, "iterations": 1}})
    unit = make_units(grid, metric_samples=0)[0]
    assert unit.arithmetic == "exact" and compute_unit(unit)["kind"] == "plan"
    fast = dataclasses.replace(unit, arithmetic="fast")
    assert fast.unit_id != unit.unit_id
    with pytest.raises(FastplanError, match=r"^this process runs exact arithmetic but the sweep asked "
                                            r"for fast: set FASTPLAN_ARITHMETIC=fast on every worker$"):
        compute_unit(fast)
    assert list(tmp_path.iterdir()) == []
