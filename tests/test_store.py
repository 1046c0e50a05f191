"""The results store: layout re-checked with h5py + NumPy alone, loaders, journal, refusals."""
from __future__ import annotations

import hashlib
import json
import os

import h5py
import numpy as np
import pytest

from fastplan import store
from fastplan.engine.errors import FastplanError
from fastplan.runs.sweep import run_sweep
from layouts import field_names, runs_view

#: Hyperparameters small enough for tests (the paper's values are tested elsewhere).
TINY = {"cem": {"population": 20, "iterations": 2}, "mppi": {"samples": 10, "iterations": 2},
        "gradient": {"iterations": 3}, "sgld": {"iterations": 3}, "diffusion": {"samples": 5, "steps": 4}}
PLANNERS = ("cem", "mppi", "gradient", "sgld", "diffusion")


def small_sweep(path, planners=PLANNERS, **kw):
    """A tiny sweep: d in {2, 3}, h in {2, 3}, 2 seeds, tiny hyperparameters."""
    args = dict(planners=planners, dims=(2, 3), horizons=(2, 3), seeds=(0, 1),
                overrides={p: TINY[p] for p in planners}, progress="quiet", metric_samples=64)
    args.update(kw)
    return run_sweep(path, **args)


# --------------------------------------------------------------------------- plain NumPy re-check

def recheck_file(path, rtol=1e-10, atol=1e-12) -> int:
    """Re-check every stored run from the file alone (h5py + NumPy, no fastplan).

    Re-rolls the stored actions through the stored A, B, b from s0 (Eq. 4) and compares the
    stored states, goal distance, smoothness (Eq. 11) and cost (Eq. 5); checks shapes, the
    configuration id and the attributes.  Returns the number of runs checked.
    """
    n_checked = 0
    with h5py.File(path, "r") as f:
        assert f.attrs["fastplan_format"] == "fastplan-results"
        for attr in ("format_version", "fastplan_version", "numba_version", "numpy_version",
                     "h5py_version", "threads", "command_line", "date", "concentration_definition"):
            assert attr in f.attrs, attr
        for cid, grp in f["configs"].items():
            g = runs_view(grp)                 # per-run fields of either layout
            key = json.loads(grp.attrs["key"])
            canon = json.dumps(key, sort_keys=True, separators=(",", ":"))
            assert hashlib.sha256(canon.encode()).hexdigest()[:16] == cid
            hp = json.loads(grp.attrs["hyperparameters"])
            assert hp == key["hyperparameters"]
            assert (grp.attrs["geometry"], grp.attrs["d"], grp.attrs["horizon"], grp.attrs["planner"],
                    grp.attrs["geometry_usage"]) == (key["geometry"], key["d"], key["horizon"],
                                                     key["planner"], key["geometry_usage"])
            assert grp.attrs["lam"] == hp["lam"]
            assert grp.attrs["gradient"] == hp.get("gradient", "")
            d, T, lam = int(grp.attrs["d"]), int(grp.attrs["horizon"]), float(grp.attrs["lam"])
            done = g["complete"][()]
            assert done.all()
            seeds = g["seed"][()]
            assert len(set(seeds.tolist())) == seeds.size, "a seed stored twice"
            A, B, b = (np.stack(x) for x in zip(*(world_arrays(f, g, i) for i in range(seeds.size))))
            s0, goal = g["s0"][()], g["goal"][()]
            actions, states = g["actions"][()], g["states"][()]
            assert A.shape == B.shape == (seeds.size, d, d)
            assert actions.shape == (seeds.size, T, d) and states.shape == (seeds.size, T + 1, d)
            for i in range(seeds.size):
                s = s0[i].copy()
                traj = [s]
                for t in range(T):
                    s = np.tanh(A[i] @ s + B[i] @ actions[i, t] + b[i])
                    traj.append(s)
                traj = np.array(traj)
                np.testing.assert_allclose(states[i], traj, rtol=rtol, atol=atol)
                gd = np.linalg.norm(traj[-1] - goal[i])
                sm = np.mean(np.linalg.norm(np.diff(traj, axis=0), axis=1))
                np.testing.assert_allclose(g["goal_distance"][i], gd, rtol=rtol, atol=atol)
                np.testing.assert_allclose(g["smoothness"][i], sm, rtol=rtol, atol=atol)
                np.testing.assert_allclose(g["cost"][i], gd + lam * sm, rtol=rtol, atol=atol)
                assert g["samples"][i] > 0 and g["steps"][i] >= g["samples"][i]
                assert g["wall_time"][i] >= 0
                z = s0[i].copy()                   # the a = 0 baseline: T steps of Eq. 4 with zero actions
                for t in range(T):
                    z = np.tanh(A[i] @ z + b[i])
                np.testing.assert_allclose(g["zero_action_distance"][i], np.linalg.norm(z - goal[i]),
                                           rtol=rtol, atol=atol)
                np.testing.assert_allclose(g["initial_distance"][i], np.linalg.norm(s0[i] - goal[i]),
                                           rtol=rtol, atol=atol)
                n_checked += 1
    return n_checked


def world_arrays(f, g, i):
    """A, B, b of run i of configuration g (a :func:`layouts.runs_view`): from ``/worlds/<hash>``
    (each world stored once), or inline in a group written before that layout."""
    if "world" in field_names(g):
        w = f["worlds"][g["world"][i].decode()]
        assert w.attrs["content_hash"] == g["world"][i].decode() and w.attrs["family"] == "tanh"
        return w["A"][()], w["B"][()], w["b"][()]
    return g["A"][i], g["B"][i], g["b"][i]


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "runs.h5"
    summary = small_sweep(path)
    return path, summary


def test_every_stored_run_rechecks_with_plain_numpy(sweep_file):
    path, summary = sweep_file
    # 5 planners x 3 geometries x 2 dims x 2 horizons = 60 configurations, 2 seeds each
    assert summary.configurations == 60 and summary.runs_computed == 120
    assert recheck_file(path) == 120


def test_world_model_and_states_are_the_problem_the_seed_defines(sweep_file):
    """Stored A, B, b, s0, goal equal fastplan.make_problem(geometry, d, horizon, seed)."""
    import fastplan
    path, _ = sweep_file
    checked = 0
    for c in store.list_configs(path)[::7]:
        _, arr = store.read_config(path, c["config_id"])
        for i, s in enumerate(arr["seed"].tolist()):
            prob = fastplan.make_problem(c["geometry"], c["d"], c["horizon"], s)
            for name, want in (("A", prob.world.A), ("B", prob.world.B), ("b", prob.world.b),
                               ("s0", prob.s0), ("goal", prob.goal)):
                np.testing.assert_array_equal(arr[name][i], want)
            checked += 1
    assert checked >= 8


def test_stored_results_equal_a_direct_plan_batch_call(sweep_file):
    import fastplan
    path, _ = sweep_file
    c = next(c for c in store.list_configs(path) if c["planner"] == "cem" and c["d"] == 3)
    _, arr = store.read_config(path, c["config_id"])
    probs = [fastplan.make_problem(c["geometry"], 3, c["horizon"], s) for s in arr["seed"].tolist()]
    res = fastplan.plan_batch(probs, "cem", geometry_usage="prior", **TINY["cem"])
    np.testing.assert_array_equal(arr["actions"], res.actions)
    np.testing.assert_array_equal(arr["goal_distance"], res.goal_distance)
    np.testing.assert_array_equal(arr["samples"], res.samples)


def test_load_columns_and_types(sweep_file):
    path, _ = sweep_file
    rec = store.load(path)
    assert tuple(rec) == store.RECORD_COLUMNS
    assert {len(v) for v in rec.values()} == {120}
    assert all(v.ndim == 1 for v in rec.values())
    assert rec["d"].dtype == np.int64 and rec["goal_distance"].dtype == np.float64
    assert set(rec["planner"].tolist()) == set(PLANNERS)
    assert set(rec["geometry"].tolist()) == {"vae", "ebm", "vqvae"}
    assert set(rec["gradient"][rec["planner"] == "sgld"].tolist()) == {"fd"}
    assert set(rec["gradient"][rec["planner"] == "cem"].tolist()) == {""}
    hp = json.loads(rec["hyperparameters"][rec["planner"] == "cem"][0])
    assert hp["population"] == 20 and hp["iterations"] == 2 and hp["lam"] == 0.1
    # same numbers as the per-configuration arrays
    c = store.list_configs(path)[0]
    _, arr = store.read_config(path, c["config_id"])
    sel = rec["config_id"] == c["config_id"]
    np.testing.assert_array_equal(rec["seed"][sel], arr["seed"])
    np.testing.assert_array_equal(rec["cost"][sel], arr["cost"])


def test_load_as_frame_with_or_without_pandas(sweep_file):
    path, _ = sweep_file
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(FastplanError, match="pandas"):
            store.load(path, as_frame=True)
    else:
        df = store.load(path, as_frame=True)        # tidy: one column per hyperparameter
        plain = [c for c in store.RECORD_COLUMNS if c != "hyperparameters"]
        assert list(df.columns[:len(plain)]) == plain and len(df) == 120
        assert "hyperparameters" not in df.columns and "variant" in df.columns
        rec = store.load(path)
        for i in (0, 57, 119):
            hp = json.loads(rec["hyperparameters"][i])
            for k, v in hp.items():
                col = k if k in ("lam", "gradient") else f"hp_{k}"
                assert df[col].iloc[i] == v
            missing = {c[3:] for c in df.columns if c.startswith("hp_")} - set(hp)
            assert all(pandas.isna(df[f"hp_{k}"].iloc[i]) for k in missing) and missing
        assert str(df["hp_population"].dtype) == "Int64"


def test_geometry_metrics_are_stored_per_geometry_dim_seed(sweep_file):
    import fastplan
    path, _ = sweep_file
    m = store.load_geometry_metrics(path)
    assert tuple(m) == store.METRIC_COLUMNS
    assert len(m["d"]) == 3 * 2 * 2            # geometries x dims x seeds
    assert set(zip(m["geometry"].tolist(), m["d"].tolist(), m["seed"].tolist())) == {
        (g, d, s) for g in ("vae", "ebm", "vqvae") for d in (2, 3) for s in (0, 1)}
    i = int(np.flatnonzero((m["geometry"] == "vqvae") & (m["d"] == 3) & (m["seed"] == 1))[0])
    want = fastplan.geometry_metrics(fastplan.make_geometry("vqvae", 3, 1), n=64)
    assert m["amenability"][i] == want["amenability"]
    assert m["concentration"][i] == want["concentration"]
    assert store.file_attrs(path)["concentration_definition"].startswith("radial")


def test_provenance(sweep_file):
    import numba
    path, _ = sweep_file
    a = store.file_attrs(path)
    assert a["numba_version"] == numba.__version__ and a["numpy_version"] == np.__version__
    assert a["h5py_version"] == h5py.__version__ and a["format_version"] == store.FORMAT_VERSION
    sess = store.sessions(path)
    assert len(sess) == 1 and sess[0]["runs_written"] == 120 and sess[0]["threads"] >= 1


def test_config_id_depends_on_every_part_of_the_key():
    base = store.config_key("vae", 8, 8, "cem", "prior", {"population": 200, "lam": 0.1})
    ids = {store.config_id(base)}
    for change in ({"geometry": "ebm"}, {"d": 4}, {"horizon": 4}, {"planner": "mppi"},
                   {"geometry_usage": "none"}, {"hyperparameters": {"population": 201, "lam": 0.1}},
                   {"hyperparameters": {"population": 200, "lam": 0.2}}):
        ids.add(store.config_id({**base, **change}))
    assert len(ids) == 8
    # key order does not matter
    assert store.config_id(store.config_key("vae", 8, 8, "cem", "prior", {"lam": 0.1, "population": 200})) \
        == store.config_id(base)


# --------------------------------------------------------------------------- journal and crash safety

def _one_result(seed=5, population=20):
    from fastplan.runs.sweep import Grid, Config, compute_unit, make_units
    hp = json.dumps({"elite_fraction": 0.1, "iterations": 2, "lam": 0.1, "population": population},
                    sort_keys=True, separators=(",", ":"))
    grid = Grid(configs=(Config("vae", 2, 2, "cem", "prior", hp),), seeds=(seed,))
    (unit,) = make_units(grid, metric_samples=0)
    return compute_unit(unit)


def test_journal_of_a_crashed_writer_is_folded_in(tmp_path):
    path = tmp_path / "r.h5"
    w = store.Writer(path, store.provenance(command_line="test"), commit_interval=1e9)
    assert os.path.exists(path) and not store.load(path)["seed"].size
    w.add(_one_result(seed=5))
    before = path.read_bytes()
    w._release()                      # "crash": lock gone, journal left behind, no commit
    assert path.read_bytes() == before
    assert len(list((tmp_path / "r.h5.journal").glob("unit-*.npz"))) == 1
    # a unit file cut short by the crash, and a stale temporary results file
    (tmp_path / "r.h5.journal" / "unit-99999999999999999999-1-000001.npz").write_bytes(b"PK\x03\x04trunc")
    (tmp_path / ".r.h5.tmp-12345").write_bytes(b"garbage")
    with store.Writer(path, store.provenance(command_line="test2")) as w2:
        runs, _ = w2.done()
        assert len(runs) == 1
    rec = store.load(path)
    assert rec["seed"].tolist() == [5]
    assert not (tmp_path / "r.h5.journal").exists()
    assert not (tmp_path / ".r.h5.tmp-12345").exists()
    assert [s["command_line"] for s in store.sessions(path)] == ["test", "test2"]
    assert recheck_file(path) == 1


def test_duplicate_rows_are_never_written_twice(tmp_path):
    path = tmp_path / "r.h5"
    r = _one_result(seed=3)
    with store.Writer(path, store.provenance()) as w:
        w.add(r)
        w.commit()
        w.add(r)              # e.g. replayed journal after a kill between replace and cleanup
    assert store.load(path)["seed"].tolist() == [3]


def test_second_writer_is_refused_while_one_holds_the_file(tmp_path):
    path = tmp_path / "r.h5"
    with store.Writer(path, store.provenance()):
        before = path.read_bytes()
        with pytest.raises(FastplanError, match="another fastplan sweep is writing"):
            store.Writer(path, store.provenance())
        assert path.read_bytes() == before


def test_complete_sweep_rerun_leaves_file_bytes_unchanged(tmp_path):
    path = tmp_path / "r.h5"
    small_sweep(path, planners=("cem",), seeds=(0,))
    before = path.read_bytes()
    s = small_sweep(path, planners=("cem",), seeds=(0,))
    assert s.runs_computed == 0 and s.runs_before == 12
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]


def test_other_settings_coexist_and_leave_existing_runs_intact(tmp_path):
    path = tmp_path / "r.h5"
    small_sweep(path, planners=("cem",), seeds=(0,), dims=(2,), horizons=(2,))
    first = store.load(path)
    s = small_sweep(path, planners=("cem",), seeds=(0,), dims=(2,), horizons=(2,),
                    overrides={"cem": {"population": 30, "iterations": 2}})
    assert s.runs_computed == 3
    both = store.load(path)
    assert len(both["seed"]) == 6 and len(set(both["config_id"].tolist())) == 6
    for cid in set(first["config_id"].tolist()):
        a = first["cost"][first["config_id"] == cid]
        b = both["cost"][both["config_id"] == cid]
        np.testing.assert_array_equal(a, b)
    s = small_sweep(path, planners=("cem",), seeds=(0,), dims=(2,), horizons=(2,), geometry_usage="none")
    assert s.runs_computed == 3 and len(store.load(path)["seed"]) == 9
    assert recheck_file(path) == 9


# --------------------------------------------------------------------------- refusals

def _bad_files(tmp_path, good_file):
    text = tmp_path / "notes.h5"
    text.write_text("not an hdf5 file\n")
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    truncated = tmp_path / "truncated.h5"
    data = good_file.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.h5"
    empty.write_bytes(b"")
    return {"not an HDF5 file": text, "not a fastplan results file": foreign,
            "damaged or truncated": truncated, "not an HDF5 file ": empty}


@pytest.mark.parametrize("kind", ["not an HDF5 file", "not a fastplan results file",
                                  "damaged or truncated", "not an HDF5 file "])
def test_bad_existing_files_are_refused_and_untouched(tmp_path, sweep_file, kind):
    path = _bad_files(tmp_path, sweep_file[0])[kind]
    before = path.read_bytes()
    for call in (lambda: small_sweep(path, planners=("cem",)), lambda: store.load(path),
                 lambda: store.list_configs(path), lambda: store.Writer(path, {})):
        with pytest.raises(FastplanError, match=kind.strip()) as exc:
            call()
        assert "\n" not in str(exc.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.h5", "foreign.h5", "truncated.h5", "empty.h5"])


def test_missing_output_folder_is_refused(tmp_path):
    with pytest.raises(FastplanError, match="does not exist"):
        small_sweep(tmp_path / "nope" / "r.h5", planners=("cem",))
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("bad, match", [
    (dict(planners=("cem", "astar")), "unknown planner"),
    (dict(geometries=("vae", "gan")), "unknown geometry"),
    (dict(dims=(0,)), "d must be >= 1"),
    (dict(dims=()), "empty grid"),
    (dict(seeds=[]), "empty grid"),
    (dict(planners=()), "empty grid"),
    (dict(overrides={"cem": {"population": []}}), "empty grid"),
    (dict(overrides={"cem": {"popsize": 3}}), "no hyperparameter"),
    (dict(overrides={"mppi": {"samplez": 3}}), "no hyperparameter"),
    (dict(overrides={"astar": {"samples": 3}}), "unknown planner"),
    (dict(geometry_usage="maybe"), "geometry usage"),
    (dict(gradient="exact"), "gradient mode"),
])
def test_bad_grids_are_refused_before_the_file_is_touched(tmp_path, sweep_file, bad, match):
    path = tmp_path / "r.h5"
    path.write_bytes(sweep_file[0].read_bytes())
    before = path.read_bytes()
    args = dict(planners=("cem",))
    args.update(bad)
    with pytest.raises(FastplanError, match=match):
        small_sweep(path, **args) if "overrides" in bad else run_sweep(path, progress="quiet", **args)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.h5"]
