"""Results format 3: a configuration's per-run fields in one compound dataset ``runs``; files of
format 2 (one dataset per field) read the same, extend in their own layout, and upgrade to
format 3 with every stored bit unchanged."""
from __future__ import annotations

import os
import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from bench.compare_results import compare
from fastplan import store
from fastplan.store.upgrade import upgrade
from fastplan_cli.main import cli
from layouts import runs_view, to_second_layout
from test_store import recheck_file, small_sweep

SWEEP = dict(planners=("cem", "gradient"), dims=(2, 3), seeds=(0, 1))


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("format3") / "runs.h5"
    small_sweep(path, **SWEEP)
    small_sweep(path, planners=("cem",), dims=(2,), horizons=(2,), seeds=(0, 1), execution="decoded")
    return path


@pytest.fixture
def second(swept, tmp_path):
    path = tmp_path / "second.h5"
    shutil.copyfile(swept, path)
    to_second_layout(path)
    return path


def _everything(path) -> dict:
    """What the readers give for a file: load, list_configs, read_config of each, worlds, index."""
    out = {"load": store.load(path), "index": store.index(path),
           "worlds": sorted(store.read_worlds(path)), "list_worlds": store.list_worlds(path)}
    for c in store.list_configs(path):
        out[c["config_id"]] = (c, store.read_config(path, c["config_id"]))
    return out


def _assert_same(a, b):
    assert type(a) is type(b) or (isinstance(a, np.ndarray) and isinstance(b, np.ndarray))
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), b.view(np.int64))      # bit for bit, NaN included
        else:
            assert np.array_equal(a, b)
    else:
        assert a == b


def test_a_format3_file_holds_one_table_per_configuration_and_rechecks(swept):
    with h5py.File(swept, "r") as f:
        assert f.attrs["format_version"] == store.FORMAT_VERSION == 3
        groups = list(f["configs"].values())
        assert len(groups) == 2 * 3 * 2 * 2 + 3
        for g in groups:
            assert list(g) == ["runs"]
            t = g["runs"]
            assert t.dtype.names[-1] == "complete" and t.maxshape == (None,) and t.chunks is not None
            d, h = int(g.attrs["d"]), int(g.attrs["horizon"])
            assert t.dtype["actions"].shape == (h, d) and t.dtype["states"].shape == (h + 1, d)
            assert ("executed_actions" in t.dtype.names) == (g.attrs["execution"] == "decoded")
    assert recheck_file(swept) == 2 * 3 * 2 * 2 * 2 + 3 * 2


def test_a_format2_file_reads_the_same_values(swept, second):
    with h5py.File(second, "r") as f:
        assert all("runs" not in g and "seed" in g for g in f["configs"].values())
    _assert_same(_everything(swept), _everything(second))
    assert compare(str(swept), str(second)) == []
    assert recheck_file(second) == recheck_file(swept)
    r = CliRunner().invoke(cli, ["ls", str(second)])
    assert r.exit_code == 0 and "fastplan upgrade" in r.stderr and "format 3" in r.stderr


def test_upgrade_2_to_3_gives_the_same_bits(swept, second):
    r = CliRunner().invoke(cli, ["upgrade", str(second)])
    assert r.exit_code == 0, r.stderr
    assert "27 configurations now in format 3" in r.stdout
    with h5py.File(swept, "r") as fa, h5py.File(second, "r") as fb:
        assert fb.attrs["format_version"] == 3 and "upgraded" in fb.attrs
        assert sorted(fa["configs"]) == sorted(fb["configs"])
        for cid, ga in fa["configs"].items():
            a, b = ga["runs"][()], fb["configs"][cid]["runs"][()]
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()      # every field, wall times included
            assert dict(ga.attrs) == dict(fb["configs"][cid].attrs)
    _assert_same(_everything(swept), _everything(second))
    assert CliRunner().invoke(cli, ["upgrade", str(second)]).stdout.endswith("nothing to do\n")


def test_a_format2_file_without_newer_fields_upgrades_to_what_it_read(second):
    """A file written before the baselines, the manifold fields and batch times: the upgrade
    stores what the readers gave (NaN; wall_time * batch_size)."""
    with h5py.File(second, "r+") as f:
        for g in f["configs"].values():
            for name in (*store.BASELINE_FIELDS, *store.MANIFOLD_FIELDS, "batch_wall_time"):
                del g[name]
    before = _everything(second)
    assert np.isnan(before["load"]["log_density"]).all()
    assert upgrade(second)["configs"] == 27
    _assert_same(before, _everything(second))


def test_a_sweep_extends_a_format2_file_in_both_layouts(swept, second, tmp_path):
    n_before = store.load(swept)["seed"].size
    small_sweep(second, planners=("cem", "mppi"), dims=(2,), horizons=(2,), seeds=(0, 1, 2))
    with h5py.File(second, "r") as f:
        assert f.attrs["format_version"] == 3
        for g in f["configs"].values():
            view = runs_view(g)
            if g.attrs["planner"] == "mppi":
                assert "runs" in g                                 # a new configuration: format 3
            else:
                assert "runs" not in g                             # an old one keeps its layout
            assert view["seed"].shape == view["complete"].shape
    rec = store.load(second)
    assert rec["seed"].size == n_before + 3 + 3 * 3        # cem's seed 2, mppi's 3 seeds, 3 geometries each
    assert recheck_file(second) == rec["seed"].size
    third = tmp_path / "third.h5"                             # the same sweeps, all in format 3
    shutil.copyfile(swept, third)
    small_sweep(third, planners=("cem", "mppi"), dims=(2,), horizons=(2,), seeds=(0, 1, 2))
    _assert_same(store.load(third)["goal_distance"], rec["goal_distance"])
    assert compare(str(third), str(second)) == []


def test_a_format3_table_grows_in_place_of_new_datasets(tmp_path):
    path = tmp_path / "r.h5"
    small_sweep(path, planners=("cem",), dims=(2,), horizons=(2,), seeds=(0,))
    size = os.path.getsize(path)
    small_sweep(path, planners=("cem",), dims=(2,), horizons=(2,), seeds=(0, 1, 2))
    with h5py.File(path, "r") as f:
        for g in f["configs"].values():
            assert list(g) == ["runs"] and g["runs"].shape == (3,)
            assert sorted(g["runs"]["seed"].tolist()) == [0, 1, 2] and g["runs"]["complete"].all()
    assert os.path.getsize(path) > size and recheck_file(path) == 9
