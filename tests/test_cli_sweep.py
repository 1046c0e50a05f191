"""`fastplan sweep`, `fastplan ls`, `fastplan show`, `fastplan warmup`: the command line."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from fastplan import store
from fastplan_cli.main import cli
from test_store import recheck_file
from test_sweep import assert_same_content, content

TINY_SETS = ["--set", "cem.population=20", "--set", "cem.iterations=2", "--set", "mppi.samples=10",
             "--set", "mppi.iterations=2", "--set", "gradient.iterations=3", "--set", "sgld.iterations=3",
             "--set", "diffusion.samples=5", "--set", "diffusion.steps=4"]
SMALL = ["--dims", "2", "3", "--horizons", "2", "3", "--seeds", "0-1", "--metric-samples", "64", *TINY_SETS]


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code, out, err, *words):
    assert code != 0
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "runs.h5"
    code, out, err = run("sweep", *SMALL, "--out", path)
    assert code == 0, err
    return path, out, err


def test_sweep_writes_a_file_that_rechecks(swept):
    path, out, err = swept
    assert "120 runs computed" in out and "60 configurations" in out
    # not a terminal: plain lines on stderr, first and last
    lines = err.strip().splitlines()
    assert lines[0].startswith("sweep: 60 configurations, 120 runs; 0 already done")
    assert lines[-1].startswith("sweep: 60/60 configurations, 120/120 runs (100%)")
    assert recheck_file(path) == 120
    assert store.file_attrs(path)["command_line"].startswith("fastplan ")


def test_same_command_again_computes_nothing_and_leaves_the_file(swept):
    path, _, _ = swept
    before = path.read_bytes()
    code, out, err = run("sweep", *SMALL, "--out", path, "--quiet")
    assert code == 0 and err == ""
    assert "already there; nothing to compute" in out
    assert path.read_bytes() == before


def test_more_seeds_compute_only_the_new_ones(tmp_path, swept):
    path = tmp_path / "runs.h5"
    shutil.copyfile(swept[0], path)
    old = content(path)
    small = [a if a != "0-1" else "0-2" for a in SMALL]
    code, out, err = run("sweep", *small, "--planners", "cem", "--out", path)
    assert code == 0, err
    assert "12 runs computed" in out and "(24 were already there)" in out
    new = content(path)
    assert {k: new[k] for k in old} .keys() == old.keys()
    assert_same_content(old, {k: new[k] for k in old})
    assert len(store.load(path)["seed"]) == 132


def test_ls_lists_every_configuration(swept):
    path, _, _ = swept
    code, out, err = run("ls", path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}: 60 configurations, 120 runs")
    assert lines[1].split() == ["geometry", "d", "h", "planner", "usage", "seeds", "hyperparameters", "config"]
    rows = [line.split() for line in lines[3:]]
    assert len(rows) == 60
    cem = [r for r in rows if r[3] == "cem"]
    assert len(cem) == 12 and all(r[5] == "2" and r[6:8] == ["iterations=2", "population=20"] for r in cem)
    sgld = [r for r in rows if r[3] == "sgld"][0]
    assert sgld[4] == "prior" and sgld[6] == "iterations=3"
    code, out, _ = run("ls", path, "--json")
    objs = [json.loads(line) for line in out.splitlines()]
    assert len(objs) == 60 and {o["n_seeds"] for o in objs} == {2}


def test_show_gives_mean_and_std_over_seeds(swept):
    path, _, _ = swept
    code, out, err = run("show", path, "--planner", "cem", "--dim", "3")
    assert code == 0, err
    rows = out.splitlines()[2:]
    assert len(rows) == 6 and all(" cem " in r for r in rows)
    code, out, err = run("show", path, "--planner", "cem", "--dim", "3", "--geometry", "vq-vae",
                         "--horizon", "2", "--json")
    (row,) = [json.loads(line) for line in out.splitlines()]
    rec = store.load(path)
    sel = (rec["planner"] == "cem") & (rec["d"] == 3) & (rec["geometry"] == "vqvae") & (rec["horizon"] == 2)
    assert row["n_seeds"] == 2 == sel.sum()
    for col in ("goal_distance", "smoothness", "cost", "samples"):
        assert row[col]["mean"] == pytest.approx(rec[col][sel].mean(), rel=1e-12)
        assert row[col]["std"] == pytest.approx(rec[col][sel].std(ddof=1), rel=1e-12)
    assert row["wall_time"]["mean"] == pytest.approx(1e3 * rec["wall_time"][sel].mean(), rel=1e-12)
    code, out, err = run("show", path, "--planner", "mppi", "--dim", "7")
    assert_one_line_error(code, out, err, "no runs", "d=7")


def test_threads_one_and_two_give_identical_results(tmp_path):
    paths = []
    for n in (1, 2):
        path = tmp_path / f"t{n}.h5"
        code, out, err = run("sweep", *SMALL, "--planners", "cem", "sgld", "--threads", n, "--out", path, "-q")
        assert code == 0, err
        assert store.file_attrs(path)["threads"] == n
        paths.append(path)
    a, b = content(paths[0]), content(paths[1])
    assert len(a) == 48 + 12
    assert_same_content(a, b)


def test_overrides_sweep_value_lists_and_shared_lam(tmp_path):
    path = tmp_path / "r.h5"
    code, out, err = run("sweep", "--planners", "cem", "diffusion", "--geometries", "vae", "--dims", "2",
                         "--horizons", "2", "--seeds", "0", "--metric-samples", "0", "--set", "lam=0.3",
                         "--set", "cem.population=20,30", "--set", "cem.iterations=2",
                         "--set", "diffusion.samples=5", "--out", path, "-q")
    assert code == 0, err
    configs = store.list_configs(path)
    assert sorted((c["planner"], c["hyperparameters"].get("population")) for c in configs) == [
        ("cem", 20), ("cem", 30), ("diffusion", None)]
    assert {c["lam"] for c in configs} == {0.3}
    assert store.load_geometry_metrics(path)["d"].size == 0


# --------------------------------------------------------------------------- bad input

def _copy(src, dst):
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize("args, words", [
    (["--planners", "cem", "astar"], ["--planners", "astar"]),
    (["--geometries", "gan"], ["--geometries", "gan"]),
    (["--dims", "4", "0"], ["--dims", "0"]),
    (["--dims", "-3"], ["--dims", "-3"]),
    (["--seeds", "5-4"], ["--seeds", "empty"]),
    (["--horizons", "0"], ["--horizons"]),
    (["--planners", "cem", "--set", "cem.population=20,"], ["--set"]),
    (["--planners", "cem", "--set", "cem.popsize=3"], ["popsize"]),
    (["--planners", "cem", "--set", "cem.population=abc"], ["population"]),
    (["--planners", "cem", "--set", "mppi.samplez=3"], ["mppi", "samplez"]),
    (["--planners", "cem", "--set", "mppi.samples=0"], ["mppi.samples"]),
    (["--planners", "cem", "--set", "population"], ["--set"]),
])
def test_bad_grid_is_one_line_error_and_file_untouched(tmp_path, swept, args, words):
    path = _copy(swept[0], tmp_path / "runs.h5")
    before = path.read_bytes()
    code, out, err = run("sweep", *args, "--out", path)
    assert_one_line_error(code, out, err, *words)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["runs.h5"]


def _bad_file(tmp_path, kind, good):
    path = tmp_path / "runs.h5"
    if kind == "text":
        path.write_text("planner,goal\ncem,0.1\n")
    elif kind == "foreign":
        with h5py.File(path, "w") as f:
            f["data"] = np.arange(4.0)
            f.attrs["creator"] = "someone else"
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) * 2 // 3])
    return path


@pytest.mark.parametrize("kind, words", [("text", ["not an HDF5 file"]),
                                         ("foreign", ["not a fastplan results file"]),
                                         ("truncated", ["damaged or truncated"])])
def test_bad_existing_file_is_refused_and_untouched(tmp_path, swept, kind, words):
    path = _bad_file(tmp_path, kind, swept[0])
    before = path.read_bytes()
    for cmd in (["sweep", *SMALL, "--planners", "cem", "--out", path], ["ls", path], ["show", path]):
        code, out, err = run(*cmd)
        assert_one_line_error(code, out, err, str(path), *words)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["runs.h5"]


def test_missing_output_folder(tmp_path):
    code, out, err = run("sweep", *SMALL, "--out", tmp_path / "missing" / "runs.h5")
    assert_one_line_error(code, out, err, "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_read_only_output_folder(tmp_path, swept):
    """A read-only folder, new and existing file.  As root, permission bits do not bind, so
    the command runs without CAP_DAC_OVERRIDE (setpriv) to make the folder really read-only."""
    folder = tmp_path / "ro"
    folder.mkdir()
    existing = _copy(swept[0], folder / "runs.h5")
    before = existing.read_bytes()
    folder.chmod(0o555)
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root: need setpriv (util-linux) to drop CAP_DAC_OVERRIDE"
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    try:
        for target in ("runs.h5", "new.h5"):
            proc = subprocess.run(prefix + [sys.executable, "-m", "fastplan_cli.main", "sweep", *SMALL,
                                            "--planners", "cem", "--out", str(folder / target)],
                                  capture_output=True, text=True, timeout=120)
            assert proc.returncode != 0
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: output folder") \
                and "not writable" in lines[0], proc.stderr
    finally:
        folder.chmod(0o755)
    assert existing.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["runs.h5"]


# --------------------------------------------------------------------------- a real kill

def test_sigkilled_sweep_resumes_with_the_same_command(tmp_path):
    args = ["sweep", "--planners", "cem", "--dims", "2", "3", "--horizons", "2", "3", "--seeds", "0-3",
            "--set", "cem.population=20", "--set", "cem.iterations=2", "--max-batch", "1",
            "--metric-samples", "1000", "--threads", "1", "-q"]
    ref = tmp_path / "ref"
    ref.mkdir()
    code, _, err = run(*args, "--out", ref / "runs.h5")
    assert code == 0, err
    work = tmp_path / "work"
    work.mkdir()
    path = work / "runs.h5"
    proc = subprocess.Popen([sys.executable, "-m", "fastplan_cli.main", *args, "--out", str(path)])
    journal = work / "runs.h5.journal"
    try:
        t0 = time.monotonic()
        while not any(journal.glob("unit-*.npz")):
            assert proc.poll() is None, "the sweep ended before it was killed"
            assert time.monotonic() - t0 < 180, "the sweep made no progress"
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # readable right after the kill; the finished units wait in the journal
    code, out, err = run("ls", path)
    assert code == 0, err
    assert "interrupted" in err
    code, out, err = run(*[a for a in args if a != "-q"], "--out", path)
    assert code == 0, err
    done_before = int(out.split("(")[-1].split(" were already there")[0])
    assert 0 < done_before < 48
    assert f"{48 - done_before} runs computed" in out
    assert_same_content(content(ref / "runs.h5"), content(path))
    assert recheck_file(path) == 48
    assert sorted(p.name for p in work.iterdir()) == ["runs.h5"]


def test_warmup_command():
    code, out, err = run("warmup")
    assert code == 0, err
    for name in ("cem, prior", "mppi, none", "gradient (adjoint), prior", "sgld (fd), none", "diffusion, prior"):
        assert name in out
    assert out.strip().splitlines()[-1].startswith("warm-up done in ")


def test_cli_lists_match_the_library():
    from fastplan.engine.geometry import KINDS
    from fastplan.engine.planners import GEOMETRY_USAGES, GRADIENT_MODES, PLANNERS
    from fastplan_cli import cmd_sweep
    assert tuple(cmd_sweep.PLANNERS) == PLANNERS and tuple(cmd_sweep.GEOMETRY_KINDS) == KINDS
    assert cmd_sweep.GEOMETRY_USAGES == GEOMETRY_USAGES and cmd_sweep.GRADIENT_MODES == GRADIENT_MODES


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys; from fastplan_cli.main import cli; from click.testing import CliRunner; "
            "r = CliRunner().invoke(cli, ['sweep', '--help']); assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(cli, ['show', '--help']); assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(cli, ['plan', '--help']); assert r.exit_code == 0, r.output; "
            "heavy = [m for m in ('numba', 'h5py', 'matplotlib', 'fastplan.runs.sweep') if m in sys.modules]; "
            "print(heavy)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
