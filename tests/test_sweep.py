"""Sweeps: grid expansion, work units, the pure compute step, threads, executors, kills."""
from __future__ import annotations

import io
import json
import pickle
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from fastplan import store
from fastplan.runs.progress import Progress, format_seconds
from fastplan.runs.sweep import (Grid, compute_unit, expand_grid, make_units, run_sweep)
from test_store import TINY, recheck_file, small_sweep

VOLATILE = {"wall_time", "batch_wall_time", "batch_size", "threads", "session"}   # measurements, not results


def content(path) -> dict:
    """Every stored result keyed by (config_id, seed) / metric key, without the measurements."""
    out = {}
    for c in store.list_configs(path):
        attrs, arr = store.read_config(path, c["config_id"])
        for i, s in enumerate(arr["seed"].tolist()):
            out[(c["config_id"], s)] = {k: v[i] for k, v in arr.items() if k not in VOLATILE}
    m = store.load_geometry_metrics(path)
    for i in range(len(m["d"])):
        out[("metrics", m["geometry"][i], int(m["d"][i]), int(m["seed"][i]))] = {
            k: m[k][i] for k in store.METRIC_FLOATS}
    return out


def assert_same_content(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name], err_msg=f"{key} {name}")


# --------------------------------------------------------------------------- grid and units

def test_default_grid_is_the_paper_grid():
    grid = expand_grid()
    assert len(grid.configs) == 5 * 3 * 4 * 3 and grid.seeds == tuple(range(10))
    assert grid.n_runs == 1800
    assert len({c.config_id for c in grid.configs}) == 180
    assert {c.d for c in grid.configs} == {4, 8, 16, 32} and {c.horizon for c in grid.configs} == {4, 8, 16}
    from fastplan.engine.planners import DEFAULTS
    for c in grid.configs:
        hp = c.hyperparameters
        want = dict(DEFAULTS[c.planner])
        assert hp == want                    # paper values, gradient mode "fd" included
        assert c.geometry_usage == "prior"
    units = make_units(grid)
    plan_units = [u for u in units if u.kind == "plan"]
    # every (planner, d, horizon) is one batch over all geometries and seeds
    assert len(plan_units) == 5 * 4 * 3 and {len(u.seeds) for u in plan_units} == {30}
    assert sorted(len(u.seeds) for u in units if u.kind == "metrics") == [10] * 12


def test_overrides_gradient_mode_and_value_lists_make_distinct_configurations():
    g1 = expand_grid(planners=["cem", "sgld"], geometries=["vae"], dims=[4], horizons=[4], seeds=[0])
    g2 = expand_grid(planners=["cem", "sgld"], geometries=["vae"], dims=[4], horizons=[4], seeds=[0],
                     gradient="adjoint")
    ids1 = {c.planner: c.config_id for c in g1.configs}
    ids2 = {c.planner: c.config_id for c in g2.configs}
    assert ids1["cem"] == ids2["cem"] and ids1["sgld"] != ids2["sgld"]
    assert json.loads(g2.configs[1].hp_json)["gradient"] == "adjoint"
    g3 = expand_grid(planners=["cem"], geometries=["vae", "sparse-ebm"], dims=[4], horizons=[4], seeds=[0, 0, 1],
                     overrides={"CEM": {"population": ["100", 200, 200.0], "lam": 0.2}})
    pops = sorted(c.hyperparameters["population"] for c in g3.configs)
    assert pops == [100, 100, 200, 200] and g3.seeds == (0, 1)
    assert {c.hyperparameters["lam"] for c in g3.configs} == {0.2}
    assert {c.geometry for c in g3.configs} == {"vae", "ebm"}
    # an explicit override of the gradient mode wins over gradient=
    g4 = expand_grid(planners=["gradient"], geometries=["vae"], dims=[4], horizons=[4], seeds=[0],
                     gradient="adjoint", overrides={"gradient": {"gradient": "fd"}})
    assert g4.configs[0].hyperparameters["gradient"] == "fd"


def test_make_units_skips_done_runs_and_splits_big_batches():
    grid = expand_grid(planners=["cem"], geometries=["vae", "ebm"], dims=[2], horizons=[2], seeds=range(5))
    units = make_units(grid, metric_samples=0)
    assert len(units) == 1 and len(units[0].seeds) == 10
    assert units[0].geometries == ("vae",) * 5 + ("ebm",) * 5
    done = {(grid.configs[0].config_id, s) for s in (0, 1, 2)}
    units = make_units(grid, done, metric_samples=0, max_batch=3)
    items = [(c, s) for u in units for c, s in zip(u.config_ids, u.seeds)]
    assert len(items) == 7 and not set(items) & done
    assert sorted(len(u.seeds) for u in units) == [2, 2, 3]
    metric = make_units(grid, {(c.config_id, s) for c in grid.configs for s in grid.seeds},
                        {("vae", 2, 0, 100)}, metric_samples=100)
    assert [(u.kind, u.geometries, u.seeds) for u in metric] == [
        ("metrics", ("vae",), (1, 2, 3, 4)), ("metrics", ("ebm",), (0, 1, 2, 3, 4))]


def test_compute_unit_is_pure_deterministic_and_picklable(tmp_path, monkeypatch):
    grid = expand_grid(planners=["mppi"], geometries=["vae", "vqvae"], dims=[3], horizons=[2], seeds=[0, 1],
                       overrides={"mppi": TINY["mppi"]})
    (unit,) = make_units(grid, metric_samples=0)
    unit = pickle.loads(pickle.dumps(unit))
    monkeypatch.chdir(tmp_path)
    r1 = compute_unit(unit)
    r2 = pickle.loads(pickle.dumps(compute_unit(unit)))
    assert list(tmp_path.iterdir()) == []                     # touched no file
    assert r1.keys() == r2.keys()
    for k in r1:
        if k not in ("wall_time", "warm_time"):
            _assert_same(r1[k], r2[k], k)
    assert sorted(r1["worlds"]) == sorted(set(r1["world"].tolist())) and len(r1["worlds"]) == 2  # (d, seed)
    assert r1["actions"].shape == (4, 2, 3) and r1["states"].shape == (4, 3, 3)
    assert r1["geometries"].tolist() == ["vae", "vae", "vqvae", "vqvae"]
    assert r1["seeds"].tolist() == [0, 1, 0, 1]
    # a round-trip through the journal encoding is lossless
    back = store.journal._decode_result(io.BytesIO(store.journal._encode_result(r1)))
    assert back.keys() == r1.keys()
    for k in r1:
        _assert_same(back[k], r1[k], k)


def _assert_same(a, b, where):
    """Equal unit-result values: arrays bit for bit, dicts (the world models) entry by entry."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


# --------------------------------------------------------------------------- determinism

def test_the_sweeps_problems_are_make_problems_with_shared_parts():
    """The sweep's cached problems equal make_problem's field for field, and share one world
    (with start and goal) per (d, seed) and one geometry per (kind, d, seed)."""
    import fastplan
    from fastplan.runs import sweep
    sweep.clear_problem_caches()
    for kind, d, T, seed in [("vae", 4, 4, 0), ("ebm", 8, 16, 3), ("vqvae", 16, 8, 7), ("VQ-VAE", 4, 8, 0)]:
        ours, ref = sweep._problem(kind, d, T, seed), fastplan.make_problem(kind, d, T, seed)
        assert (ours.T, ours.seed, ours.geometry.kind, ours.geometry.d) == (ref.T, ref.seed, ref.geometry.kind, d)
        for a, b in [(ours.s0, ref.s0), (ours.goal, ref.goal), (ours.world.A, ref.world.A),
                     (ours.world.B, ref.world.B), (ours.world.b, ref.world.b),
                     (ours.geometry.centers, ref.geometry.centers)]:
            assert a.dtype == b.dtype and np.array_equal(a, b) and not a.flags.writeable
        assert ours.world.content_hash() == ref.world.content_hash()
        assert ours.geometry.fingerprint == ref.geometry.fingerprint
    a, b, c = sweep._problem("vae", 4, 4, 0), sweep._problem("ebm", 4, 8, 0), sweep._problem("vae", 4, 16, 0)
    assert a.world is b.world is c.world and a.s0 is b.s0 and a.geometry is c.geometry
    assert a.geometry is not b.geometry and sweep._problem("vae", 4, 4, 1).world is not a.world
    with pytest.raises(Exception, match="horizon"):
        sweep._problem("vae", 4, 0, 0)
    sweep.clear_problem_caches()
    assert sweep._problem("vae", 4, 4, 0).world is not a.world


def test_threads_one_and_two_give_identical_files(tmp_path, thread_counts):
    files = []
    for n in thread_counts:
        path = tmp_path / f"t{n}.h5"
        s = small_sweep(path, threads=n, horizons=(3,))
        assert s.threads == n
        assert set(store.load(path)["seed"].tolist()) == {0, 1}
        assert store.file_attrs(path)["threads"] == n
        files.append(path)
    assert_same_content(content(files[0]), content(files[1]))


def test_custom_executor_order_and_batching_do_not_change_results(tmp_path):
    ref = tmp_path / "ref.h5"
    small_sweep(ref, planners=("cem", "diffusion"), dims=(2,))

    def reversed_executor(fn, units):
        return [fn(u) for u in reversed(list(units))]

    other = tmp_path / "other.h5"
    s = small_sweep(other, planners=("cem", "diffusion"), dims=(2,), executor=reversed_executor, max_batch=1,
                    threads=1)
    assert s.units == 2 * 3 * 2 * 2 + 3 * 2       # one run per plan unit, one seed per metric unit
    assert_same_content(content(ref), content(other))
    assert recheck_file(other) == 24


# --------------------------------------------------------------------------- kills

_KILLED_SWEEP = textwrap.dedent("""
    import sys, time
    from fastplan.runs.sweep import run_sweep
    def slow(fn, units):
        for u in units:
            yield fn(u)
            time.sleep(0.03)
    run_sweep(sys.argv[1], planners=["cem"], dims=(2, 3), horizons=(2, 3), seeds=range(4),
              overrides={"cem": {"population": 20, "iterations": 2}}, progress="quiet",
              metric_samples=64, max_batch=1, commit_interval=0.0, executor=slow,
              command_line="killed sweep", threads=1)
""")
_GRID = dict(planners=("cem",), dims=(2, 3), horizons=(2, 3), seeds=range(4),
             overrides={"cem": {"population": 20, "iterations": 2}}, metric_samples=64, threads=1)


def _journal_runs(path) -> set:
    runs = set()
    for fn in (path.parent / (path.name + ".journal")).glob("unit-*.npz"):
        try:
            r = store.journal._decode_result(str(fn))
        except Exception:
            continue
        runs |= store.writer._result_keys(r)[0]
    return runs


def _wait_for_progress(proc, path, timeout=180.0):
    journal = path.parent / (path.name + ".journal")
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended before it could be killed (rc={proc.returncode})")
        if any(journal.glob("unit-*.npz")):
            return
        time.sleep(0.005)
    raise AssertionError("sweep made no progress")


def test_sweep_killed_repeatedly_at_random_moments_resumes_to_the_same_content(tmp_path):
    ref = tmp_path / "ref.h5"
    run_sweep(ref, progress="quiet", **_GRID)
    path = tmp_path / "runs.h5"
    script = tmp_path / "sweep.py"
    script.write_text(_KILLED_SWEEP)
    rng = random.Random(4)
    counts = []
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(path)])
        try:
            _wait_for_progress(proc, path)
            time.sleep(rng.uniform(0.0, 0.25))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # the file is readable, and what it holds re-checks
        in_file = {(c, s) for c, s in store.index(path)[0]}
        recheck_file(path)
        counts.append(len(in_file | _journal_runs(path)))
    assert 0 < counts[0] <= counts[1] <= counts[2] < 48, counts
    summary = run_sweep(path, progress="quiet", **_GRID)
    assert summary.runs_before == counts[-1]
    assert summary.runs_computed == 48 - counts[-1]
    assert_same_content(content(ref), content(path))
    assert recheck_file(path) == 48
    assert not (tmp_path / "runs.h5.journal").exists()
    assert not list(tmp_path.glob(".runs.h5.tmp-*"))
    sess = store.sessions(path)
    assert sess[0]["command_line"] == "killed sweep" and len(sess) >= 2


# --------------------------------------------------------------------------- progress

def _drive(progress):
    progress.start(configs_total=4, configs_done=1, runs_total=8, runs_done=2, weight_total=10.0, units=3)
    progress.advance(runs=2, configs=1, weight=5.0)
    progress.advance(runs=4, configs=2, weight=5.0)
    progress.finish()


def test_progress_modes():
    out = io.StringIO()
    _drive(Progress("lines", stream=out, interval=0.0))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("sweep: 4 configurations, 8 runs; 2 already done, 6 to compute in 3 work units")
    assert "2/4 configurations, 4/8 runs (50%)" in lines[1] and "ETA" in lines[1] and "runs/s" in lines[1]
    assert "4/4 configurations, 8/8 runs (100%)" in lines[-1] and "elapsed" in lines[-1]
    out = io.StringIO()
    bar = Progress("bar", stream=out)            # tqdm's bar, advanced by work-unit weight
    bar.start(configs_total=4, configs_done=1, runs_total=8, runs_done=2, weight_total=10.0, units=3)
    bar.advance(runs=2, configs=1, weight=5.0)
    assert (bar._bar.n, bar._bar.total) == (5.0, 10.0)    # half the weight after the first unit
    bar.advance(runs=4, configs=2, weight=5.0)
    bar.finish()
    text = out.getvalue()
    last = text.rstrip("\n").split("\r")[-1]
    assert last.startswith("sweep: 100%|") and "8/8 runs" in last and "4/4 configs" in last
    assert text.endswith("\n")
    out = io.StringIO()
    _drive(Progress("quiet", stream=out))
    assert out.getvalue() == ""

    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    assert Progress("auto", stream=FakeTTY()).mode == "bar"
    assert Progress("auto", stream=io.StringIO()).mode == "lines"
    assert format_seconds(3725) == "1:02:05" and format_seconds(65) == "1:05" and format_seconds(None) == "?"
    with pytest.raises(ValueError):
        Progress("fancy")


def test_eta_weighs_units_by_their_cost():
    grid = Grid(configs=expand_grid(planners=["cem"], geometries=["vae"], dims=[4, 32], horizons=[8],
                                    seeds=[0]).configs, seeds=(0,))
    small, big = make_units(grid, metric_samples=0)
    assert big.weight > 20 * small.weight


def test_eta_model_fits_a_fixed_cost_per_unit_plus_a_cost_per_weight():
    from fastplan.runs.progress import fit_unit_time
    a, b = fit_unit_time([(w, 0.5 + 2e-3 * w) for w in (10.0, 100.0, 1000.0)])
    assert a == pytest.approx(0.5) and b == pytest.approx(2e-3)
    assert fit_unit_time([(10.0, 1.0)]) == (0.0, 0.1)
    a, b = fit_unit_time([(10.0, 3.0), (1000.0, 1.0)])       # more weight, less time: per unit
    assert (a, b) == (2.0, 0.0)
    p = Progress("quiet")
    p.start(configs_total=2, configs_done=0, runs_total=4, runs_done=0, weight_total=30.0, units=3)
    assert p.eta is None
    p._obs = [(10.0, 1.0)]
    p.units_done, p.weight_done = 1, 10.0
    assert p.eta == pytest.approx(2.0)
