"""Manifold metrics and decoded execution (issue 13.1-13.2): the API, the results file
(new fields, old files read as NaN), the configuration key, the CLI and the paper layer."""
from __future__ import annotations

import hashlib
import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan.engine.errors import FastplanError
from fastplan.engine.manifold import execute_decoded, manifold_metrics
from fastplan.runs.sweep import expand_grid, run_sweep
from fastplan_cli.main import cli
from test_store import TINY, recheck_file, world_arrays
from layouts import field_names, runs_view, to_second_layout

GRID = dict(planners=("cem", "diffusion"), dims=(4,), horizons=(3,), seeds=(0, 1),
            overrides={p: TINY[p] for p in ("cem", "diffusion")}, progress="quiet", metric_samples=0)


def numpy_goal_distance(problem, actions):
    """||s_T - s*|| of actions (T, d) rolled through Eq. 4 in plain NumPy."""
    s = problem.s0
    for a in actions:
        s = np.tanh(problem.world.A @ s + problem.world.B @ a + problem.world.b)
    return float(np.linalg.norm(s - problem.goal))


@pytest.mark.parametrize("kind", ["vae", "ebm", "vqvae"])
def test_decoded_execution_rolls_out_the_projected_actions(kind):
    prob = fastplan.make_problem(kind, 6, 4, 3)
    lat = fastplan.plan(prob, "cem", population=30, iterations=3)
    dec = fastplan.plan(prob, "cem", population=30, iterations=3, execution="decoded")
    np.testing.assert_array_equal(lat.actions, dec.actions)        # planning is unchanged
    assert lat.goal_distance == dec.goal_distance and lat.cost == dec.cost
    assert lat.execution == "latent" and lat.exploitation_gap == 0.0
    assert lat.realised_goal_distance == lat.goal_distance
    np.testing.assert_array_equal(lat.executed_actions, lat.actions)
    proj = prob.geometry.project(dec.actions)
    np.testing.assert_array_equal(dec.executed_actions, proj)
    assert not np.array_equal(proj, dec.actions)
    assert dec.realised_goal_distance == pytest.approx(numpy_goal_distance(prob, proj), rel=1e-10)
    assert dec.exploitation_gap == dec.realised_goal_distance - dec.goal_distance
    post = execute_decoded(prob, dec.actions)
    assert post["goal_distance"] == dec.realised_goal_distance
    assert post["exploitation_gap"] == dec.exploitation_gap
    np.testing.assert_array_equal(post["executed_actions"], proj)


def test_manifold_metrics_are_the_geometry_density_and_ood_rate():
    probs = [fastplan.make_problem(k, 5, 4, s) for k, s in (("vae", 0), ("ebm", 1), ("vqvae", 2))]
    res = fastplan.plan_batch(probs, "cem", population=20, iterations=2)
    m = manifold_metrics([p.geometry for p in probs], res.actions)
    for i, p in enumerate(probs):
        logp = p.geometry.log_density(res.actions[i])
        assert m["log_density"][i] == pytest.approx(logp.mean(), rel=1e-12)
        assert m["ood_rate"][i] == np.mean(logp < p.geometry.ood_threshold())
        assert m["ood_threshold"][i] == p.geometry.ood_threshold()
    own = np.stack([p.geometry.sample(4, stream=6) for p in probs])
    assert np.all(manifold_metrics([p.geometry for p in probs], own)["log_density"] > m["log_density"])


def test_bad_execution_and_inputs_are_refused():
    prob = fastplan.make_problem("vae", 3, 2, 0)
    with pytest.raises(FastplanError, match="unknown execution"):
        fastplan.plan(prob, "cem", execution="real")
    with pytest.raises(FastplanError, match="unknown execution"):
        expand_grid(execution="decode")
    with pytest.raises(FastplanError, match="actions"):
        execute_decoded(prob, np.zeros((3, 3)))
    with pytest.raises(FastplanError, match="Problem"):
        execute_decoded("vae", np.zeros((2, 3)))


def test_default_configuration_ids_are_unchanged():
    """The key of a default configuration has no execution entry: its id is the one computed
    before the option existed; a decoded configuration is another one."""
    latent = expand_grid(**{k: GRID[k] for k in ("planners", "dims", "horizons", "seeds", "overrides")})
    decoded = expand_grid(execution="decoded",
                          **{k: GRID[k] for k in ("planners", "dims", "horizons", "seeds", "overrides")})
    for a, b in zip(latent.configs, decoded.configs):
        old_key = {"geometry": a.geometry, "d": a.d, "horizon": a.horizon, "planner": a.planner,
                   "geometry_usage": a.geometry_usage, "hyperparameters": a.hyperparameters}
        canon = json.dumps(old_key, sort_keys=True, separators=(",", ":"))
        assert a.key == old_key and a.config_id == hashlib.sha256(canon.encode()).hexdigest()[:16]
        assert b.key == {**old_key, "execution": "decoded"} and b.config_id != a.config_id


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    path = tmp_path_factory.mktemp("manifold") / "runs.h5"
    run_sweep(path, **GRID)
    run_sweep(path, execution="decoded", **GRID)
    return path


def test_every_run_stores_manifold_fields_and_decoded_runs_their_actions(both):
    assert recheck_file(both) == 24
    with h5py.File(both, "r") as f:
        assert "log_density" in f.attrs["manifold_metrics"] and "20000" in f.attrs["manifold_metrics"]
        assert "decoded" in f.attrs["execution_modes"]
        for grp in f["configs"].values():
            g = runs_view(grp)
            execution = grp.attrs["execution"]
            assert grp.attrs["density"] and grp.attrs["projection"]
            for name in store.MANIFOLD_FIELDS:
                assert np.all(np.isfinite(g[name][()])), name
            if execution == "latent":
                assert "executed_actions" not in field_names(g)
                np.testing.assert_array_equal(g["realised_goal_distance"][()], g["goal_distance"][()])
                assert np.all(g["exploitation_gap"][()] == 0.0)
            else:
                assert execution == "decoded" and json.loads(grp.attrs["key"])["execution"] == "decoded"
                for i in range(g["seed"].shape[0]):       # re-check the realised distance: NumPy only
                    s = g["s0"][i]
                    A, B, b = world_arrays(f, g, i)
                    for a in g["executed_actions"][i]:
                        s = np.tanh(A @ s + B @ a + b)
                    want = np.linalg.norm(s - g["goal"][i])
                    assert g["realised_goal_distance"][i] == pytest.approx(want, rel=1e-10)
                    assert g["exploitation_gap"][i] == pytest.approx(want - g["goal_distance"][i], abs=1e-12)


def test_load_and_read_config_give_the_new_columns(both):
    rec = store.load(both)
    assert tuple(rec) == store.RECORD_COLUMNS and len(rec["seed"]) == 24
    assert set(rec["execution"].tolist()) == {"latent", "decoded"}
    lat, dec = rec["execution"] == "latent", rec["execution"] == "decoded"
    np.testing.assert_array_equal(rec["goal_distance"][lat], rec["goal_distance"][dec])   # same plans
    np.testing.assert_array_equal(rec["log_density"][lat], rec["log_density"][dec])
    assert np.any(rec["exploitation_gap"][dec] != 0)
    probs = [fastplan.make_problem(g, 4, 3, s) for g, s in zip(rec["geometry"][lat], rec["seed"][lat])]
    cfg = [c for c in store.list_configs(both) if c["execution"] == "latent"][0]
    attrs, arr = store.read_config(both, cfg["config_id"])
    assert attrs["execution"] == "latent" and "executed_actions" not in arr
    prob = fastplan.make_problem(attrs["geometry"], 4, 3, int(arr["seed"][0]))
    m = manifold_metrics([prob.geometry], arr["actions"][:1])
    assert arr["log_density"][0] == m["log_density"][0] and arr["ood_rate"][0] == m["ood_rate"][0]
    assert len(probs) == 12


def test_files_written_before_the_manifold_fields_read_nan_and_extend(tmp_path):
    """Strip the new fields (a file of the previous version): it loads with NaN, and a sweep
    that adds seeds to its configurations pads the old rows with NaN."""
    path = tmp_path / "old.h5"
    run_sweep(path, **{**GRID, "seeds": (0,)})
    to_second_layout(path)                     # the previous version's layout: one dataset per field
    with h5py.File(path, "r+") as f:
        for name in ("manifold_metrics", "execution_modes"):
            del f.attrs[name]
        for g in f["configs"].values():
            for name in (*store.MANIFOLD_FIELDS, ):
                del g[name]
            for name in ("execution", "density", "projection"):
                del g.attrs[name]
    rec = store.load(path)
    assert np.all(np.isnan(rec["log_density"])) and set(rec["execution"].tolist()) == {"latent"}
    cid = store.list_configs(path)[0]["config_id"]
    assert np.isnan(store.read_config(path, cid)[1]["exploitation_gap"]).all()
    run_sweep(path, **GRID)                                            # seed 1 joins every config
    rec = store.load(path)
    first, second = rec["seed"] == 0, rec["seed"] == 1
    assert np.all(np.isnan(rec["log_density"][first])) and np.all(np.isfinite(rec["log_density"][second]))
    assert recheck_file(path) == 12
    with h5py.File(path, "r") as f:
        assert "manifold_metrics" in f.attrs
        for g in f["configs"].values():
            assert g["log_density"].shape == g["seed"].shape


def test_paper_layer_uses_the_latent_runs(both):
    from fastplan.paper.results import normalize_records, select_variants
    rec = normalize_records(store.load(both))
    keep, variants = select_variants(rec)
    assert set(rec["execution"][keep].tolist()) == {"latent"}
    assert {v["execution"] for v in variants} == {"latent", "decoded"}
    assert all(v["chosen"] == (v["execution"] == "latent") for v in variants)


def test_cli_sweep_and_plan_with_decoded_execution(tmp_path):
    path = tmp_path / "cli.h5"
    r = CliRunner().invoke(cli, ["sweep", "--out", str(path), "--planners", "cem", "--dims", "3", "--horizons", "2",
                                 "--seeds", "0", "--set", "cem.population=20", "--set", "cem.iterations=2",
                                 "--metric-samples", "0", "--execution", "decoded", "--quiet"])
    assert r.exit_code == 0, r.output
    assert set(store.load(path)["execution"].tolist()) == {"decoded"}
    r = CliRunner().invoke(cli, ["show", str(path)])
    assert r.exit_code == 0 and "gap" in r.stdout and "execution=decoded" in r.stdout
    r = CliRunner().invoke(cli, ["plan", "--geometry", "vq-vae", "--dim", "3", "--horizon", "2", "--set",
                                 "population=20", "--set", "iterations=2", "--execution", "decoded", "--json"])
    got = json.loads(r.stdout)
    want = fastplan.plan(fastplan.make_problem("vqvae", 3, 2, 0), "cem", seed=0, population=20, iterations=2,
                         execution="decoded")
    assert got["execution"] == "decoded" and got["realised_goal_distance"] == want.realised_goal_distance
    assert got["exploitation_gap"] == want.exploitation_gap
    np.testing.assert_array_equal(np.array(got["executed_actions"]), want.executed_actions)
    r = CliRunner().invoke(cli, ["plan", "--dim", "3", "--horizon", "2", "--set", "iterations=2",
                                 "--execution", "decoded"])
    labels = [line.split()[0] for line in r.stdout.splitlines()[1:]]
    assert labels[-4:] == ["realised", "exploitation", "log", "OOD"]
    r = CliRunner().invoke(cli, ["plan", "--execution", "projected"])
    assert r.exit_code != 0 and "projected" in r.stderr


class _PlainGeometry:
    """A registered geometry with only the planner interface (no density)."""

    def __init__(self, d, seed):
        self.kind, self.d, self.seed, self.label = "plain-test", d, seed, "Plain"

    def sample(self, n, seed=None, stream=0):
        return np.zeros((n, self.d))

    def mean(self):
        return np.zeros(self.d)

    def std(self):
        return np.ones(self.d)


def test_a_registered_geometry_without_a_density_sweeps_with_nan_fields(tmp_path):
    from fastplan.engine import registry
    registry.register_geometry(registry.GeometrySpec(name="plain-test", label="Plain", factory=_PlainGeometry,
                                                     stream_id=9001))
    try:
        path = tmp_path / "plain.h5"
        run_sweep(path, **{**GRID, "planners": ("cem",), "geometries": ("plain-test",)})
        rec = store.load(path)
        assert np.all(np.isnan(rec["log_density"])) and np.all(np.isnan(rec["ood_rate"]))
        assert np.all(rec["exploitation_gap"] == 0.0)
        with pytest.raises(FastplanError, match="no projection"):
            run_sweep(path, execution="decoded", **{**GRID, "planners": ("cem",), "geometries": ("plain-test",)})
    finally:
        registry.geometries().unregister("plain-test")
