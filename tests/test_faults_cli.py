"""Fault injection on the command line and the Python API (issue 17): grids and plans that
cannot fit, NaN and inf, bad schedulers, SIGTERM, caps and slow inputs, poisoned journals, an
empty results file.  Each case is one ``Error:`` line with a non-zero exit (or one ``warning:``
line where the input is legitimate but slow), and nothing on disk is lost."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan.engine import budget
from fastplan.engine.errors import FastplanError, FastplanWarning
from fastplan.runs import estimate as estimate_mod
from fastplan.runs.sweep import prepare_sweep, run_sweep
from fastplan_cli.main import cli

TINY = ["--planners", "cem", "--geometries", "vae", "--dims", "2", "--horizons", "2",
        "--set", "cem.population=10", "--set", "cem.iterations=1", "--metric-samples", "0"]


def run(*args, env=None):
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code, out, err, *words, status=1):
    assert code == status, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def _free(monkeypatch, free):
    monkeypatch.setattr(estimate_mod.shutil, "disk_usage",
                        lambda p: shutil._ntuple_diskusage(2 * free, free, free))


# --------------------------------------------------------------------------- grids that cannot fit

def test_huge_seed_range_is_refused_by_disk_with_the_number_and_a_split(tmp_path, monkeypatch):
    _free(monkeypatch, 100 * 2**30)
    code, out, err = run("sweep", "--seeds", "0-999999", "--out", tmp_path / "h.h5",
                         env={"FASTPLAN_MEMORY_LIMIT": "1T"})
    line = one_line_error(code, out, err, "180,000,000 runs to compute (180 configurations x 1,000,000 seeds)",
                          "of results", "100 GiB free; split the seeds (about")
    assert re.search(r"need ~[\d.,]+ [GT]iB of results", line), line      # more than the 100 GiB free
    assert list(tmp_path.iterdir()) == []


def test_huge_seed_range_is_refused_by_memory_with_the_number_and_a_split(tmp_path, monkeypatch):
    _free(monkeypatch, 2**50)
    code, out, err = run("sweep", "--seeds", "0-999999", "--out", tmp_path / "h.h5",
                         env={"FASTPLAN_MEMORY_LIMIT": "8G"})
    one_line_error(code, out, err, "180,000,000 runs to compute", "of memory to keep track of",
                   "FASTPLAN_MEMORY_LIMIT allows 8.0 GiB", "split the seeds into sweeps of about")
    assert list(tmp_path.iterdir()) == []


def test_a_work_unit_too_big_for_memory_is_refused_and_leaves_no_file(tmp_path):
    code, out, err = run("sweep", "--planners", "cem", "--geometries", "vae", "--dims", "100000",
                         "--horizons", "4", "--seeds", "0", "--out", tmp_path / "n.h5",
                         env={"FASTPLAN_MEMORY_LIMIT": "16G"})
    one_line_error(code, out, err, "a work unit of 1 cem plan at d=100000, horizon 4 needs ~",
                   "GiB of memory; FASTPLAN_MEMORY_LIMIT allows 16.0 GiB")
    assert list(tmp_path.iterdir()) == []


def test_the_estimate_is_shown_and_close_to_the_disk_a_sweep_uses(tmp_path):
    path = tmp_path / "runs.h5"
    grid = dict(planners=["cem"], geometries=["vae", "ebm"], dims=[4, 8], horizons=[2, 3],
                seeds=range(6), overrides={"cem": {"population": 10, "iterations": 1}}, metric_samples=0)
    _, est = prepare_sweep(path, **grid)
    assert est.runs_todo == 48 and "estimate: ~" in est.line()
    run_sweep(path, progress="quiet", **grid)
    size = os.path.getsize(path)
    assert 0.7 * size <= est.disk_bytes <= 2.5 * size, (est.disk_bytes, size)
    _, again = prepare_sweep(path, **grid)
    assert again.runs_todo == 0
    code, out, err = run("sweep", *TINY, "--seeds", "0-1", "--out", tmp_path / "new.h5")
    assert code == 0, err
    assert "(estimate: ~" in err.splitlines()[0] and "of results" in err.splitlines()[0]


# --------------------------------------------------------------------------- plans that cannot fit

def test_the_machine_memory_limit_is_read_once_per_second(monkeypatch):
    """A sweep checks memory thousands of times: the cgroup file is read at most once per
    MACHINE_LIMITS_TTL, a new limit is seen after it, and FASTPLAN_MEMORY_LIMIT still wins."""
    from fastplan.engine import budget
    reads, clock = [], [100.0]
    monkeypatch.delenv("FASTPLAN_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(budget, "_cgroup_limit", lambda: reads.append(1) or 2**30 * len(reads))
    monkeypatch.setattr(budget, "physical_memory", lambda: 2**40)
    monkeypatch.setattr(budget.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(budget, "_MACHINE_LIMITS", [])
    assert budget.memory_limit() == (2**30, "its cgroup memory limit")
    for _ in range(1000):
        budget.check_memory(2**29, "half a GiB")
    assert len(reads) == 1
    clock[0] += budget.MACHINE_LIMITS_TTL + 0.01
    assert budget.memory_limit() == (2 * 2**30, "its cgroup memory limit") and len(reads) == 2
    with pytest.raises(FastplanError, match="needs ~3.0 GiB of memory; its cgroup memory limit allows 2.0 GiB"):
        budget.check_memory(3 * 2**30, "three GiB")
    monkeypatch.setenv("FASTPLAN_MEMORY_LIMIT", "1G")
    assert budget.memory_limit() == (2**30, "FASTPLAN_MEMORY_LIMIT")


def test_plan_too_big_for_memory_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("FASTPLAN_MEMORY_LIMIT", "16G")
    code, out, err = run("plan", "--dim", "100000")
    one_line_error(code, out, err, "the world model at d=100000 (A, B: d x d) needs ~", "use a smaller d")
    code, out, err = run("plan", "--set", "cem.population=1e9")
    one_line_error(code, out, err, "planning 1 problem with cem at d=8, horizon 8 needs ~", "TiB of memory")
    prob = fastplan.make_problem("vae", 4, 4, 0)
    t0 = time.perf_counter()
    with pytest.raises(FastplanError, match=r"planning 1 problem with cem at d=4, horizon 4 needs ~.* TiB"):
        fastplan.plan(prob, "cem", population=2**40)
    with pytest.raises(FastplanError, match="the world model at d=100000"):
        fastplan.make_problem("vae", 100000, 4, 0)
    assert time.perf_counter() - t0 < 2.0                  # refused, not attempted


def test_memory_estimates_grow_with_the_scratch_they_describe():
    hp = fastplan.engine.planners.resolve("cem", {})
    small = budget.plan_bytes("cem", hp, 1, 8, 8, threads=2)
    assert 10_000 < small < 50 * 2**20
    big = budget.plan_bytes("cem", dict(hp, population=200 * 1000), 1, 8, 8, threads=2)
    assert big > 1000 * (small - 8 * 2 * 8 * 8) * 0.5              # linear in the population
    for planner in ("mppi", "gradient", "sgld", "diffusion"):
        hp = fastplan.engine.planners.resolve(planner, {})
        assert budget.plan_bytes(planner, hp, 64, 16, 32, threads=2) > 64 * 2 * 32 * 32 * 8


# --------------------------------------------------------------------------- NaN and inf

@pytest.mark.parametrize("field, where", [("goal", "problem"), ("s0", "problem"), ("A", "world"),
                                          ("B", "world"), ("b", "world")])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_in_a_problem_are_refused(field, where, bad):
    prob = fastplan.make_problem("vae", 3, 2, 0)
    arr = np.array(getattr(prob if where == "problem" else prob.world, field), dtype=float)
    arr.flat[1] = bad
    if where == "problem":
        prob = dataclasses.replace(prob, **{field: arr})
    else:
        with pytest.raises(FastplanError, match=f"^{field} contains NaN or inf"):
            dataclasses.replace(prob.world, **{field: arr})             # refused when built
        good = np.array(getattr(prob.world, field), dtype=float)
        prob = dataclasses.replace(prob, world=dataclasses.replace(prob.world, **{field: good}))
        good.flat[1] = bad                                              # and when changed in place
    with pytest.raises(FastplanError, match=f"the problem's {field} contains NaN or inf"):
        fastplan.plan(prob, "cem", population=10, iterations=1)
    with pytest.raises(FastplanError, match=f"problem 1: {field} contains NaN or inf"):
        fastplan.plan_batch([fastplan.make_problem("vae", 3, 2, 1), prob], "cem", population=10, iterations=1)


def test_a_world_model_of_the_wrong_shape_is_refused():
    """Refused when the world model is built (B may have fewer columns than rows: n != d)."""
    prob = fastplan.make_problem("vae", 3, 2, 0)
    for field, value, words in (("A", np.ones((3, 4)), "A must be a square (n, n) matrix with n >= 1, got shape (3, 4)"),
                                ("A", np.ones(3), "A must have 2 dimensions, got shape (3,)"),
                                ("B", np.ones((2, 2)), "B must have shape (n, d) = (3, d) with d >= 1, got (2, 2)")):
        with pytest.raises(FastplanError, match=words.replace("(", r"\(").replace(")", r"\)")):
            dataclasses.replace(prob.world, **{field: value})
    narrow = dataclasses.replace(prob.world, B=np.ones((3, 2)))      # n = 3, d = 2: legal
    assert (narrow.n, narrow.d) == (3, 2)


def test_non_finite_plan_is_strict_json_with_finite_false_and_exit_3():
    code, out, err = run("plan", "--planner", "mppi", "--set", "noise_std=1e308", "--dim", "2",
                         "--horizon", "2", "--json")
    assert code == 3, err
    res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert res["finite"] is False and res["goal_distance"] is None and res["cost"] is None
    assert all(v is None for row in res["actions"] for v in row)
    assert err.strip() == ("warning: mppi: 1 of 1 plans are not finite (NaN or inf): the planner diverged; "
                           "check its hyperparameters")
    code, out, err = run("plan", "--planner", "mppi", "--set", "noise_std=1e308", "--dim", "2", "--horizon", "2")
    assert code == 3 and "finite           no: NaN or inf in the result" in out
    code, out, err = run("plan", "--dim", "2", "--horizon", "2", "--json")
    assert code == 0 and json.loads(out)["finite"] is True and err == ""


def test_a_sweep_counts_its_non_finite_runs(tmp_path):
    s = run_sweep(tmp_path / "r.h5", planners=["mppi"], geometries=["vae"], dims=[2], horizons=[2],
                  seeds=range(3), overrides={"mppi": {"noise_std": 1e308, "samples": 4, "iterations": 1}},
                  metric_samples=0, progress="quiet")
    assert s.not_finite == 3 and "3 of them are not finite (NaN or inf" in str(s)
    assert np.isnan(store.load(tmp_path / "r.h5")["cost"]).all()       # stored as such


# --------------------------------------------------------------------------- schedulers

@pytest.mark.parametrize("content, words", [("{x", "not JSON"), ("", "it is empty"),
                                             ("[1, 2]", 'no "address" in it')])
def test_a_bad_scheduler_file_is_one_line(tmp_path, content, words):
    sched = tmp_path / "sched.json"
    sched.write_text(content)
    code, out, err = run("sweep", *TINY, "--seeds", "0", "--out", tmp_path / "r.h5", "--scheduler-file", sched)
    one_line_error(code, out, err, f"{sched} is not a Dask scheduler file", words)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sched.json"]


def test_a_scheduler_that_does_not_answer_is_refused_within_seconds(tmp_path, monkeypatch):
    from fastplan.runs import distributed
    assert distributed.CONNECT_TIMEOUT <= 5                  # the command's default
    monkeypatch.setattr(distributed, "CONNECT_TIMEOUT", 1.0)  # (keeps this test short)
    t0 = time.monotonic()
    code, out, err = run("sweep", *TINY, "--seeds", "0", "--out", tmp_path / "r.h5",
                         "--scheduler", "tcp://127.0.0.1:1")
    one_line_error(code, out, err, "cannot connect to the Dask scheduler tcp://127.0.0.1:1")
    assert time.monotonic() - t0 < 6


# --------------------------------------------------------------------------- caps and slow inputs

def test_threads_above_the_pool_are_capped_with_a_warning():
    code, out, err = run("plan", "--dim", "2", "--horizon", "2", "--threads", "1000")
    assert code == 0
    assert err.startswith("warning: 1000 threads asked for; capped to "), err
    with pytest.warns(FastplanWarning, match="capped"):
        fastplan.engine.jit.set_threads(1000)


def test_huge_metric_samples_warn_with_an_estimate(tmp_path):
    with pytest.warns(FastplanWarning, match=r"metric_samples=10000000: one geometry-metric estimate "
                                             r"\(n\^2/2 pairwise distances\) will take ~.*\(rough estimate\)"):
        prepare_sweep(tmp_path / "r.h5", planners=["cem"], dims=[2], horizons=[2], seeds=[0],
                      metric_samples=10_000_000)
    assert list(tmp_path.iterdir()) == []


def test_geometry_with_a_million_samples_warns_with_an_estimate(monkeypatch):
    import fastplan.engine.metrics as metrics
    calls = []
    monkeypatch.setattr(metrics, "geometry_metrics", lambda g, n: calls.append(n) or {
        "geometry": g.kind, "d": g.d, "effective_dimension": 1.0, "mean_pairwise_distance": 1.0,
        "concentration": 1.0, "amenability": 1.0, "n_samples": n})
    code, out, err = run("geometry", "-n", "1000000", "--dims", "4", "--geometries", "vae")
    assert code == 0 and calls == [1000000]
    assert err.startswith("warning: --samples 1000000: the geometry metrics (n^2/2 pairwise distances "
                          "per geometry and d) will take ~"), err
    code, out, err = run("geometry", "-n", "100000000", "--dims", "32", env={"FASTPLAN_MEMORY_LIMIT": "16G"})
    one_line_error(code, out, err, "computing the geometry metrics with 100000000 samples at d=32 needs ~")


# --------------------------------------------------------------------------- SIGTERM

_SWEEP = ["sweep", "--planners", "cem", "--dims", "2", "3", "--horizons", "2", "3", "--seeds", "0-9",
          "--set", "cem.population=20", "--set", "cem.iterations=2", "--max-batch", "1",
          "--metric-samples", "0", "--threads", "1", "-q"]


def test_sigterm_folds_what_is_finished_and_exits_143_with_one_line(tmp_path):
    path = tmp_path / "runs.h5"
    proc = subprocess.Popen([sys.executable, "-m", "fastplan_cli.main", *_SWEEP, "--out", str(path)],
                            stderr=subprocess.PIPE, text=True)
    journal = tmp_path / "runs.h5.journal"
    t0 = time.monotonic()
    while not any(journal.glob("unit-*.npz")):
        assert proc.poll() is None, "the sweep ended before it was terminated"
        assert time.monotonic() - t0 < 60
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == ("Error: terminated by SIGTERM; files on disk are intact "
                                            "(re-run the same command to resume a sweep)")
    done = len(store.index(path)[0])
    assert 0 < done < 120 and not journal.exists()           # the finished runs were folded
    code, out, err = run(*_SWEEP, "--out", path)
    assert code == 0, err
    assert f"{120 - done} runs computed" in out
    assert len(store.index(path)[0]) == 120


def test_sigterm_during_a_long_kernel_exits_after_the_grace_period(tmp_path):
    from fastplan.engine.geometry import make_geometry
    from fastplan.engine.metrics import geometry_metrics
    geometry_metrics(make_geometry("vae", 2, 0), n=10)        # kernels in the disk cache: the child
    env = dict(os.environ, FASTPLAN_GRACE_SECONDS="1")        # is inside one within a second
    proc = subprocess.Popen([sys.executable, "-m", "fastplan_cli.main", "geometry", "-n", "1000000",
                             "--dims", "2", "--geometries", "vae"], stderr=subprocess.PIPE, text=True, env=env)
    first = proc.stderr.readline()                            # the slow-input warning: now computing
    assert first.startswith("warning: --samples 1000000"), first
    c0, t0 = _cpu_seconds(proc.pid), time.monotonic()
    while _cpu_seconds(proc.pid) < c0 + 2.0:                  # sampling and d_eff take < 0.7 s of CPU:
        assert time.monotonic() - t0 < 60                     # past 2 s it is in the pairwise kernel
        time.sleep(0.05)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=30)[1]
    assert proc.returncode == 143
    assert time.monotonic() - t0 < 10
    assert rest.strip() == ("Error: terminated by SIGTERM while a kernel was running; files on disk are "
                            "intact (re-run the same command to resume a sweep)")


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) process ``pid`` has used (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the store from the CLI

def test_report_on_an_empty_results_file_is_one_line(tmp_path):
    path = tmp_path / "empty.h5"
    with store.Writer(path, store.provenance()):
        pass
    code, out, err = run("report", path, "--out", tmp_path / "rep")
    one_line_error(code, out, err, "empty.h5 holds no runs yet, so there is nothing to report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.h5"]


def test_a_poisoned_journal_unit_is_named_and_the_sweep_goes_on(tmp_path):
    from fastplan.store.journal import _decode_result, _encode_result
    path = tmp_path / "r.h5"
    code, out, err = run("sweep", *TINY, "--seeds", "0-1", "--max-batch", "1", "--out", path)
    assert code == 0, err
    journal = tmp_path / "r.h5.journal"
    journal.mkdir()
    unit = _decode_result(_one_unit_bytes(tmp_path))
    unit["actions"] = np.zeros((1, 5, 2))                     # horizon 2 would be (1, 2, 2)
    name = "unit-00000000000000000001-1-000001.npz"
    (journal / name).write_bytes(_encode_result(unit))
    code, out, err = run("sweep", *TINY, "--seeds", "0-2", "--max-batch", "1", "--out", path)
    assert code == 0, err
    assert err.splitlines()[0] == (f"warning: journal unit {name} is invalid (actions has shape (1, 5, 2), "
                                   f"expected (1, 2, 2) for d=2, horizon 2); moved to r.h5.journal/rejected/, "
                                   f"not stored (its runs are recomputed)")
    assert "1 runs computed" in out
    assert sorted(store.load(path)["seed"].tolist()) == [0, 1, 2]
    code, out, err = run("ls", path)
    assert code == 0 and "note: 1 invalid journal units were set aside in r.h5.journal/rejected/" in err


def _one_unit_bytes(tmp_path):
    """A real journal unit (seed 2 of the TINY grid), as the writer encodes it."""
    from fastplan.runs.sweep import compute_unit, expand_grid, make_units
    from fastplan.store.journal import _encode_result
    grid = expand_grid(planners=["cem"], geometries=["vae"], dims=[2], horizons=[2], seeds=[2],
                       overrides={"cem": {"population": 10, "iterations": 1}})
    (unit,) = make_units(grid, metric_samples=0)
    fn = tmp_path / "one.npz"
    fn.write_bytes(_encode_result(compute_unit(unit)))
    return fn


def test_hard_linked_results_file_is_one_line_error(tmp_path):
    path = tmp_path / "r.h5"
    code, out, err = run("sweep", *TINY, "--seeds", "0", "--out", path)
    assert code == 0, err
    os.link(path, tmp_path / "alias.h5")
    code, out, err = run("sweep", *TINY, "--seeds", "0-1", "--out", tmp_path / "alias.h5")
    one_line_error(code, out, err, "has 2 hard links")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.h5", "r.h5"]


def test_library_errors_exit_1_as_the_docstring_says():
    from fastplan_cli._errors import friendly_errors
    assert "exit 1" in friendly_errors.__doc__ and "exit 2" not in friendly_errors.__doc__.split("(")[0]
    code, out, err = run("ls", "/nonexistent/x.h5")
    one_line_error(code, out, err, "no such file", status=1)
    assert math.isfinite(budget.WEIGHT_PER_SECOND)
