"""Sweeps on a real local Dask cluster (2 worker processes): identical results, a worker
killed mid-sweep, a driver killed mid-sweep and resumed, existing-scheduler connections,
and the CLI's cluster options.  Requires dask[distributed] (the test extra)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import click
import psutil
import pytest
from click.testing import CliRunner

from fastplan import store
from fastplan.engine import jit as _jit
from fastplan.engine.errors import FastplanError
from fastplan.runs.distributed import INSTALL_HINT, cluster_executor
from fastplan.runs.sweep import run_sweep
from fastplan_cli._cluster import cluster_options, executor_from_options

REPO = Path(__file__).resolve().parent.parent
TINY = {"cem": {"population": 20, "iterations": 2}, "mppi": {"samples": 10, "iterations": 2},
        "gradient": {"iterations": 3}, "sgld": {"iterations": 3}, "diffusion": {"samples": 5, "steps": 4}}
GRID = dict(planners=tuple(TINY), dims=(2, 3), horizons=(2, 3), seeds=(0, 1), overrides=TINY,
            metric_samples=64)
N_RUNS = 5 * 3 * 2 * 2 * 2
#: Per-run fields that are measurements of how a run was computed, not results.
MEASUREMENTS = {"wall_time", "batch_wall_time", "batch_size", "threads", "session"}


def content(path) -> dict:
    """Every stored result of a file keyed by (config_id, seed) / metric key, as raw bytes."""
    out = {}
    for c in store.list_configs(path):
        attrs, arr = store.read_config(path, c["config_id"])
        out[(c["config_id"], "attrs")] = json.dumps(attrs, sort_keys=True, default=str)
        for i, s in enumerate(arr["seed"].tolist()):
            out[(c["config_id"], s)] = {k: (v.dtype.str, v[i].shape, v[i].tobytes())
                                        for k, v in arr.items() if k not in MEASUREMENTS}
    m = store.load_geometry_metrics(path)
    for i in range(len(m["d"])):
        key = ("metrics", m["geometry"][i], int(m["d"][i]), int(m["seed"][i]), int(m["n_samples"][i]))
        out[key] = {k: m[k][i].tobytes() for k in store.METRIC_FLOATS}
    return out


def assert_identical(a: dict, b: dict):
    assert a.keys() == b.keys(), (len(a), len(b))
    for key in a:
        assert a[key] == b[key], key


@pytest.fixture(scope="module")
def ref(tmp_path_factory):
    """The in-process sweep of the tiny grid (compiles in this process, so that the
    workers started afterwards load the kernels from the shared cache)."""
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    s = run_sweep(path, progress="quiet", **GRID)
    assert s.runs_computed == N_RUNS
    return content(path)


@pytest.fixture(scope="module")
def dask_cluster(ref):
    with cluster_executor(workers=2, dashboard_address=None) as (executor, name):
        yield executor, name


def _worker_pids(executor) -> dict:
    return executor.client.run(os.getpid)


# --------------------------------------------------------------------------- identical results

def test_cluster_sweep_is_bit_identical_to_the_in_process_sweep(tmp_path, ref, dask_cluster):
    executor, name = dask_cluster
    assert name == "dask local cluster: 2 workers x 1 Numba thread"     # 2 cores / 2 workers
    path = tmp_path / "dask.h5"
    before = executor.units_submitted
    s = run_sweep(path, progress="quiet", executor=executor, executor_name=name, **GRID)
    assert s.runs_computed == N_RUNS and s.runs_before == 0
    assert executor.units_submitted - before == s.units
    assert_identical(ref, content(path))
    # provenance names the cluster; every run says it ran on 1 Numba thread in a worker
    assert store.sessions(path)[-1]["executor"] == name
    assert set(store.load(path)["seed"].tolist()) == {0, 1}
    for c in store.list_configs(path):
        _, arr = store.read_config(path, c["config_id"])
        assert arr["threads"].tolist() == [1] * len(arr["seed"])
    # two worker processes, each with a Numba pool of 1 thread, on the driver's kernel cache
    infos = list(executor.worker_info.values())
    assert len({i["pid"] for i in infos}) == 2 and os.getpid() not in {i["pid"] for i in infos}
    assert {i["numba_max_threads"] for i in infos} == {1}
    assert {i["cache_dir"] for i in infos} == {_jit.cache_dir()}
    # a re-run computes nothing and submits nothing
    before = executor.units_submitted
    again = run_sweep(path, progress="quiet", executor=executor, executor_name=name, **GRID)
    assert again.runs_computed == 0 and executor.units_submitted == before


# --------------------------------------------------------------------------- a worker killed

class KillOnce:
    """Wraps ``compute_unit``: the first unit to start anywhere SIGKILLs its own worker
    process (mid-unit, before returning); every later call computes normally."""

    def __init__(self, fn, marker: str):
        self.fn, self.marker = fn, marker

    def __call__(self, unit):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return self.fn(unit)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def test_worker_killed_mid_sweep_costs_only_its_unit(tmp_path, ref, dask_cluster):
    executor, name = dask_cluster
    pids_before = set(_worker_pids(executor).values())
    marker = tmp_path / "killed.pid"
    results = []

    def killing_executor(fn, units):
        for r in executor(KillOnce(fn, str(marker)), units):
            results.append(r)
            yield r

    path = tmp_path / "killed-worker.h5"
    s = run_sweep(path, progress="quiet", executor=killing_executor, executor_name=name,
                  max_batch=1, **GRID)                          # 132 small units
    victim = int(marker.read_text())
    assert victim in pids_before                                # a worker of the cluster died ...
    assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == psutil.STATUS_ZOMBIE
    # ... and nothing was lost: every unit returned exactly once, the file is complete
    assert s.runs_computed == N_RUNS and len(results) == s.units == 132
    assert len({r["unit_id"] for r in results}) == 132
    assert_identical(ref, content(path))
    # the nanny replaced the dead worker
    executor.client.wait_for_workers(2, timeout=60)
    assert victim not in set(_worker_pids(executor).values())


# --------------------------------------------------------------------------- the driver killed

_DRIVER = textwrap.dedent("""
    import json, os, sys, time
    from fastplan.runs.distributed import cluster_executor
    from fastplan.runs.sweep import run_sweep
    if __name__ == "__main__":
        out, pids, grid = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        with cluster_executor(workers=2, dashboard_address=None) as (ex, name):
            with open(pids + ".tmp", "w") as f:
                json.dump(list(ex.client.run(os.getpid).values()), f)
            os.replace(pids + ".tmp", pids)
            def slowed(fn, units):       # results arrive over seconds, so the kill lands mid-sweep
                for r in ex(fn, units):
                    time.sleep(0.05)
                    yield r
            run_sweep(out, progress="quiet", executor=slowed, executor_name=name, max_batch=1,
                      commit_interval=0.0, command_line="driver to be killed", **grid)
""")


def _wait(predicate, timeout, what, proc=None):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the sweep ended before {what} (rc={proc.returncode})")
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_driver_killed_mid_sweep_leaves_a_readable_file_and_resumes(tmp_path, ref, dask_cluster):
    executor, name = dask_cluster
    path, pids_file = tmp_path / "runs.h5", tmp_path / "workers.json"
    journal = tmp_path / "runs.h5.journal"
    grid = {**GRID, "planners": list(GRID["planners"]), "dims": list(GRID["dims"]),
            "horizons": list(GRID["horizons"]), "seeds": list(GRID["seeds"])}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(path), str(pids_file), json.dumps(grid)],
                            cwd=REPO, env=env)
    worker_pids = []
    try:
        _wait(pids_file.exists, 120, "the cluster to start", proc)
        worker_pids = json.loads(pids_file.read_text())
        _wait(lambda: path.exists() and len(store.index(path)[0]) > 0, 120, "the first results", proc)
        time.sleep(random.Random(7).uniform(0.0, 0.2))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    try:
        # the local cluster's worker processes exit with their driver (no orphans)
        _wait(lambda: not any(_alive(p) for p in worker_pids), 30, "the orphaned workers to exit")
    finally:
        for p in worker_pids:                     # only if the assertion above failed
            if _alive(p):
                os.kill(p, signal.SIGKILL)
    assert len(worker_pids) == 2
    # the file is readable and every run it holds is intact
    killed = content(path)
    runs = {k for k in killed if isinstance(k[1], int)}
    assert 0 < len(runs) < N_RUNS, len(runs)
    for key in killed:
        assert killed[key] == ref[key], key
    # the same sweep resumes (here on the test's cluster) and ends with the uninterrupted content
    s = run_sweep(path, progress="quiet", executor=executor, executor_name=name, **GRID)
    assert s.runs_before >= len(runs) and s.runs_before + s.runs_computed == N_RUNS
    assert s.runs_computed > 0
    assert_identical(ref, content(path))
    assert not journal.exists()
    assert store.sessions(path)[0]["command_line"] == "driver to be killed"


# --------------------------------------------------------------------------- existing clusters

def test_existing_scheduler_by_address_and_by_scheduler_file(tmp_path, ref, dask_cluster):
    executor, _ = dask_cluster
    address = executor.client.scheduler.address
    sched_file = tmp_path / "scheduler.json"
    sched_file.write_text(json.dumps({"address": address}))
    small = {**GRID, "planners": ("cem", "diffusion"),
             "overrides": {"cem": TINY["cem"], "diffusion": TINY["diffusion"]}}
    for kw in ({"scheduler": address}, {"scheduler_file": str(sched_file)}):
        path = tmp_path / f"{next(iter(kw))}.h5"
        with cluster_executor(**kw) as (ex, name):
            assert name.startswith(f"dask scheduler {address}: 2 workers")
            s = run_sweep(path, progress="quiet", executor=ex, executor_name=name, **small)
            # Numba threads = the worker's Dask threads (1) on an existing cluster
            assert {i["numba_threads"] for i in ex.worker_info.values()} == {1}
        assert s.runs_computed == 2 * 3 * 2 * 2 * 2
        got = content(path)
        assert got and all(got[k] == ref[k] for k in got)
    # closing a client of an existing cluster leaves the cluster running
    assert len(executor.client.nthreads()) == 2


def test_cluster_errors_are_one_clear_line(tmp_path, monkeypatch):
    with pytest.raises(FastplanError, match="exactly one of workers, scheduler, scheduler_file"):
        with cluster_executor(workers=2, scheduler="tcp://127.0.0.1:1"):
            pass
    with pytest.raises(FastplanError, match="workers must be"):
        with cluster_executor(workers=0):
            pass
    with pytest.raises(FastplanError, match="no such scheduler file"):
        with cluster_executor(scheduler_file=str(tmp_path / "missing.json")):
            pass
    t0 = time.monotonic()
    with pytest.raises(FastplanError, match="cannot connect to the Dask scheduler tcp://127.0.0.1:9"):
        with cluster_executor(scheduler="tcp://127.0.0.1:9", timeout=1):
            pass
    assert time.monotonic() - t0 < 20
    monkeypatch.setitem(sys.modules, "distributed", None)          # as if Dask were not installed
    with pytest.raises(FastplanError) as err:
        with cluster_executor(workers=2):
            pass
    assert str(err.value) == INSTALL_HINT == 'Dask is not installed: pip install "fastplan[dask]"'


@click.command()
@cluster_options
def _cmd(workers, scheduler, scheduler_file):
    from fastplan_cli._errors import friendly_errors

    @friendly_errors
    def body():
        with executor_from_options(workers, scheduler, scheduler_file, quiet=True) as (ex, name):
            click.echo(f"{name} {ex is None}")

    body()


def test_cli_cluster_options(tmp_path, monkeypatch):
    runner = CliRunner()
    r = runner.invoke(_cmd, [])
    assert r.exit_code == 0 and r.output == "in-process True\n"
    r = runner.invoke(_cmd, ["--help"])
    assert "--workers N" in r.output and "--scheduler ADDRESS" in r.output and "--scheduler-file FILE" in r.output
    for args, msg in [
        (["--workers", "2", "--scheduler", "tcp://h:8786"], "--workers and --scheduler cannot be used together"),
        (["--scheduler", "tcp://h:8786", "--scheduler-file", "s.json"],
         "--scheduler and --scheduler-file cannot be used together"),
        (["--workers", "0"], "invalid value for '--workers': 0 is below the minimum 1"),
        (["--workers", "two"], "invalid value for '--workers': 'two' is not an integer"),
        (["--scheduler-file", str(tmp_path / "nope.json")], "no such file"),
        (["--scheduler", " "], "empty address"),
    ]:
        r = runner.invoke(_cmd, args)
        assert r.exit_code == 2, (args, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and msg in lines[0], (args, r.output)
    monkeypatch.setitem(sys.modules, "distributed", None)
    r = runner.invoke(_cmd, ["--workers", "2"])
    assert r.exit_code != 0
    assert r.output.strip() == 'Error: Dask is not installed: pip install "fastplan[dask]"'
