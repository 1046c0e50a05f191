"""World models stored once per results file (``/worlds/<hash>``), runs referring to them by hash;
files of the first layout (A, B, b per run) readable, extendable and upgradable."""
from __future__ import annotations

import io
import json
import os

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan.engine.errors import FastplanError
from fastplan.engine.world import make_world
from fastplan.engine.worlds.mlp import random_mlp
from fastplan.runs.sweep import Config, Grid, compute_unit, make_units
from fastplan.store.journal import _decode_result, _encode_result, check_unit
from fastplan_cli.main import cli
from layouts import runs_view, to_second_layout
from test_store import recheck_file, small_sweep

DIMS, SEEDS = (2, 3), (0, 1)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("worlds") / "runs.h5"
    small_sweep(path, planners=("cem", "diffusion"), dims=DIMS, seeds=SEEDS)
    return path


def _unit_results(d=2, horizon=2, seeds=(0, 1, 2)):
    hp = json.dumps({"elite_fraction": 0.1, "iterations": 1, "lam": 0.1, "population": 10},
                    sort_keys=True, separators=(",", ":"))
    grid = Grid(configs=tuple(Config(g, d, horizon, "cem", "prior", hp) for g in ("vae", "ebm")),
                seeds=tuple(seeds))
    return [compute_unit(u) for u in make_units(grid, max_batch=64, metric_samples=0)]


def _writer(path):
    return store.Writer(path, store.provenance(command_line="test"), commit_interval=1e9)


def to_first_layout(path) -> None:
    """Rewrite a results file in place into the layout fastplan wrote before world models were
    stored once: A, B, b per run in every configuration, no /worlds, format_version 1."""
    to_second_layout(path)
    with h5py.File(path, "r+") as f:
        for g in f["configs"].values():
            hashes = [h.decode() for h in g["world"][()]]
            for name in ("A", "B", "b"):
                g.create_dataset(name, data=np.stack([f["worlds"][h][name][()] for h in hashes]),
                                 maxshape=(None,) + f["worlds"][hashes[0]][name].shape, chunks=True)
            del g["world"]
        del f["worlds"]
        f.attrs["format_version"] = 1


# --------------------------------------------------------------------------- dedup

def test_each_world_is_stored_once_and_every_run_resolves_to_its_problem(swept):
    with h5py.File(swept, "r") as f:
        assert f.attrs["format_version"] == 3
        stored = sorted(f["worlds"])
        runs = sum(runs_view(g)["seed"].shape[0] for g in f["configs"].values())
        refs = [h.decode() for g in f["configs"].values() for h in runs_view(g)["world"][()]]
        for g in f["configs"].values():
            assert list(g) == ["runs"]                      # one table per configuration
            assert not {"A", "B", "b"} & set(g["runs"].dtype.names)   # no world arrays per run
    assert runs == 2 * 3 * 2 * 2 * 2                       # planners x geometries x dims x horizons x seeds
    assert len(stored) == len(DIMS) * len(SEEDS)           # one copy per (d, seed) world
    assert sorted(set(refs)) == stored and len(refs) == runs
    want = {make_world(d, s).content_hash(): (d, s) for d in DIMS for s in SEEDS}
    assert set(stored) == set(want)
    info = {w["content_hash"]: w for w in store.list_worlds(swept)}
    for h, (d, s) in want.items():
        assert info[h]["family"] == "tanh" and (info[h]["n"], info[h]["d"]) == (d, d)
        assert info[h]["provenance"] == [{"family": "tanh", "n": d, "d": d, "seed": s}]
        assert info[h]["runs"] == 2 * 3 * 2                # planners x geometries x horizons
    for c in store.list_configs(swept):
        _, arr = store.read_config(swept, c["config_id"])
        models = store.read_worlds(swept, c["config_id"])
        for i, s in enumerate(arr["seed"].tolist()):
            w = make_world(c["d"], s)
            assert arr["world"][i] == w.content_hash()
            for name in ("A", "B", "b"):
                np.testing.assert_array_equal(arr[name][i], getattr(w, name))
                np.testing.assert_array_equal(getattr(models[arr["world"][i]], name), getattr(w, name))
    assert recheck_file(swept) == runs


def test_n_units_with_the_same_world_store_one_copy(tmp_path):
    results = _unit_results()
    with _writer(tmp_path / "r.h5") as w:
        for r in results:
            w.add(r)
            w.commit()                          # one fold each: the later ones find it stored
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert len(f["worlds"]) == 3            # seeds 0, 1, 2 at d = 2; two geometries share them
    rec = store.load(tmp_path / "r.h5")
    assert rec["seed"].size == 6


def test_a_second_origin_of_a_stored_world_is_added_to_its_provenance(tmp_path):
    r = _unit_results(seeds=(0,))[0]
    h = str(r["world"][0])
    other = {**r, "worlds": {h: {**r["worlds"][h], "provenance": {**r["worlds"][h]["provenance"],
                                                                   "source": "/somewhere/w.npz"}}},
             "config_ids": r["config_ids"], "seeds": r["seeds"] + 5}
    with _writer(tmp_path / "r.h5") as w:
        w.add(r)
        w.add(other)
    (info,) = store.list_worlds(tmp_path / "r.h5")
    assert [p.get("source") for p in info["provenance"]] == [None, "/somewhere/w.npz"]
    assert info["runs"] == 4                                 # 2 geometries x 2 units


def test_an_mlp_world_round_trips_through_the_file_and_its_hash_recomputes(tmp_path):
    r = _unit_results(seeds=(0,))[0]
    mlp = random_mlp(2, 2, hidden=(5, 4), activation="elu", residual=True, seed=3)
    h = mlp.content_hash()
    unit = {**r, "world": np.array([h, h]), "worlds": {h: store.worlds.entry(mlp)}}
    check_unit(_decode_result(io.BytesIO(_encode_result(unit))))   # through a journal file
    with _writer(tmp_path / "r.h5") as w:
        w.add(unit)
    back = store.read_worlds(tmp_path / "r.h5")[h]
    assert back.content_hash() == h and back.activations == mlp.activations and back.residual
    for a, b in zip(back.weights + back.biases, mlp.weights + mlp.biases):
        np.testing.assert_array_equal(a, b)
    _, arr = store.read_config(tmp_path / "r.h5", str(r["config_ids"][0]))
    assert arr["world"].tolist() == [h] and "A" not in arr       # A, B, b only for the paper's family


def test_broken_world_references_are_refused(tmp_path):
    r = _unit_results(seeds=(0, 1))[0]
    h = str(r["world"][0])
    tampered = {**r["worlds"][h], "arrays": {**r["worlds"][h]["arrays"], "b": r["worlds"][h]["arrays"]["b"] + 1e-12}}
    cases = [
        ({k: v for k, v in r.items() if k != "world"}, "has no 'world'"),
        ({**r, "worlds": {k: v for k, v in r["worlds"].items() if k != h}}, "does not carry it"),
        ({**r, "worlds": {**r["worlds"], h: tampered}}, "whose arrays hash to"),
        ({**r, "world": r["world"][:1]}, "expected (4,) hashes"),              # 2 geometries x 2 seeds
    ]
    for bad, words in cases:
        with pytest.raises(FastplanError, match=None) as err:
            check_unit(bad)
        assert words in str(err.value)
    with pytest.raises(FastplanError, match="does not carry it"):
        with _writer(tmp_path / "r.h5") as w:
            w.add(cases[1][0])
    assert store.load(tmp_path / "r.h5")["seed"].size == 0


def test_a_unit_journaled_by_the_first_layout_is_folded_with_refs(tmp_path):
    r = _unit_results(seeds=(0, 1))[0]
    old = {k: v for k, v in r.items() if k not in ("world", "worlds", "n")}
    for name in ("A", "B", "b"):
        old[name] = np.stack([r["worlds"][str(h)]["arrays"][name] for h in r["world"]])
    path = tmp_path / "r.h5"
    journal = tmp_path / "r.h5.journal"
    journal.mkdir()
    (journal / f"unit-{1:020d}-1-000001.npz").write_bytes(_encode_result(dict(old, session_uuid="x")))
    with _writer(path):
        pass                                                   # folds the journal left behind
    with h5py.File(path, "r") as f:
        assert sorted(f["worlds"]) == sorted({str(h) for h in r["world"]})
    assert recheck_file(path) == 4


# --------------------------------------------------------------------------- the first layout

@pytest.fixture
def old_file(swept, tmp_path):
    old = tmp_path / "old.h5"
    old.write_bytes(swept.read_bytes())
    to_first_layout(old)
    return old


def test_a_file_of_the_first_layout_reads_as_before(swept, old_file):
    new, old = store.load(swept), store.load(old_file)
    assert new.keys() == old.keys()
    for k in new:
        np.testing.assert_array_equal(new[k], old[k])
    for c in store.list_configs(swept)[::5]:
        _, a = store.read_config(swept, c["config_id"])
        _, b = store.read_config(old_file, c["config_id"])
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])
    assert set(store.read_worlds(old_file)) == {w["content_hash"] for w in store.list_worlds(swept)}
    assert recheck_file(old_file) == 48
    code = CliRunner().invoke(cli, ["ls", str(old_file)])
    assert code.exit_code == 0 and "fastplan upgrade" in code.stderr


def test_a_sweep_extends_a_file_of_the_first_layout(old_file):
    small_sweep(old_file, planners=("cem", "mppi"), dims=(3,), seeds=(0, 1, 2))
    with h5py.File(old_file, "r") as f:
        layouts = {("runs" in g, "A" in g) for g in f["configs"].values()}
        assert layouts == {(True, False), (False, True)}       # new configurations in format 3, old ones stay
        assert f.attrs["format_version"] == 3
        for g in f["configs"].values():
            if "runs" not in g:
                assert len({g[k].shape[0] for k in g if k in ("seed", "A", "world", "actions", "complete")}) == 1
    assert recheck_file(old_file) == 48 + 6 + 18        # cem's seed 2 in 6 configurations; mppi's 18 runs


def test_upgrade_rewrites_the_first_layout_bit_for_bit_and_smaller(swept, old_file):
    size = os.path.getsize(old_file)
    r = CliRunner().invoke(cli, ["upgrade", str(old_file)])
    assert r.exit_code == 0, r.stderr
    assert "24 configurations now in format 3, referring to 4 world models stored once" in r.stdout
    assert os.path.getsize(old_file) < size
    with h5py.File(old_file, "r") as f:
        assert f.attrs["format_version"] == 3 and "upgraded" in f.attrs
        assert all(list(g) == ["runs"] for g in f["configs"].values())
    new, up = store.load(swept), store.load(old_file)
    for k in new:
        np.testing.assert_array_equal(new[k], up[k])
    assert store.list_worlds(old_file) == store.list_worlds(swept)
    assert recheck_file(old_file) == 48
    small_sweep(old_file, planners=("cem",), dims=(3,), seeds=(0, 1, 2))   # and it stays extendable
    assert recheck_file(old_file) == 48 + 6
    again = CliRunner().invoke(cli, ["upgrade", str(old_file)])
    assert again.exit_code == 0 and "nothing to do" in again.stdout


def test_upgrade_of_a_file_that_is_not_a_results_file_is_one_line(tmp_path):
    (tmp_path / "x.h5").write_text("nope")
    r = CliRunner().invoke(cli, ["upgrade", str(tmp_path / "x.h5")])
    assert r.exit_code != 0 and r.stderr.count("\n") == 1 and "not an HDF5 file" in r.stderr
    assert (tmp_path / "x.h5").read_text() == "nope"


def test_a_file_of_a_newer_format_is_refused(swept, tmp_path):
    newer = tmp_path / "newer.h5"
    newer.write_bytes(swept.read_bytes())
    with h5py.File(newer, "r+") as f:
        f.attrs["format_version"] = store.FORMAT_VERSION + 1
    with pytest.raises(FastplanError, match="this fastplan reads up to 3"):
        store.load(newer)


def test_the_file_is_smaller_per_run_than_with_worlds_inline(swept, old_file):
    """Here 4 worlds serve 48 runs (12 each); inline they cost 12x their bytes."""
    assert os.path.getsize(swept) < os.path.getsize(old_file)
    assert fastplan.store.layout.run_bytes(32, 8) < 8 * (2 * 32 * 32)     # less than A and B alone
