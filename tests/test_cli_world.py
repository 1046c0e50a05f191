"""`fastplan plan` and `fastplan sweep` with a user's --world, --latents and --starts-goals."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan.engine.geometry import make_geometry
from fastplan.engine.geometry_fit import geometry_from_samples
from fastplan.engine.problem import Problem
from fastplan.engine.world import make_world, start_and_goal
from fastplan.engine.worlds import save_world
from fastplan.engine.worlds.mlp import random_mlp
from fastplan_cli.main import cli
from test_cli_geometry import assert_one_line_error
from test_store import recheck_file

CEM = ("--planner", "cem", "--set", "population=20", "--set", "iterations=2")
SWEEP = ("--planners", "cem", "--horizons", "2", "--set", "cem.population=20", "--set", "cem.iterations=2",
         "--metric-samples", "16", "--quiet")


def run(*args):
    r = CliRunner().invoke(cli, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A saved tanh world (d = 3, not one a sweep seed draws), latents, starts and goals."""
    folder = tmp_path_factory.mktemp("inputs")
    world = make_world(3, 1234)
    save_world(world, folder / "world.npz")
    x = make_geometry("vqvae", 3, 5).sample(400, stream=9)
    np.save(folder / "lat.npy", x)
    rs = np.random.default_rng(0)
    s0, goal = rs.normal(0, 0.5, (4, 3)), rs.normal(0, 0.5, (4, 3))
    np.savez(folder / "sg.npz", s0=s0, goal=goal)
    save_world(random_mlp(4, 3, hidden=(8,), activation="tanh", residual=True, seed=1, scale=0.8),
               folder / "mlp.npz")                               # n = 4 states, d = 3 actions
    return folder, world, x, s0, goal


def _plan_json(*args):
    code, out, err = run("plan", *CEM, "--horizon", 3, "--json", *args)
    assert code == 0, err
    return json.loads(out)


def _same_plan(got, problem, seed):
    want = fastplan.plan(problem, "cem", seed=seed, population=20, iterations=2)
    np.testing.assert_array_equal(np.array(got["actions"]), want.actions)
    assert got["cost"] == want.cost and got["goal_distance"] == want.goal_distance


# --------------------------------------------------------------------------- fastplan plan

def test_plan_in_a_saved_world(files):
    folder, world, *_ = files
    got = _plan_json("--world", folder / "world.npz", "--seed", 2)
    s0, goal = start_and_goal(3, 2)
    _same_plan(got, Problem(make_geometry("vae", 3, 2), world, s0, goal, 3, 2), 2)
    assert got["d"] == 3 and got["world"] == world.content_hash() != make_world(3, 2).content_hash()
    info = got["inputs"]["world"]
    assert info["path"] == str(folder / "world.npz") and info["content_hash"] == world.content_hash()
    assert _plan_json("--world", folder / "world.npz", "--dim", 3, "--seed", 2)["actions"] == got["actions"]


def test_plan_with_latents_fits_the_geometry_for_the_seed(files):
    folder, _, x, *_ = files
    got = _plan_json("--latents", folder / "lat.npy", "--fit", "kmeans", "--k", 4, "--seed", 1)
    geom = geometry_from_samples(x, kind="kmeans", k=4, seed=1)
    s0, goal = start_and_goal(3, 1)
    _same_plan(got, Problem(geom, make_world(3, 1), s0, goal, 3, 1), 1)
    assert got["geometry"] == "kmeans" and got["inputs"]["latents"]["fit"] == "kmeans"
    code, out, err = run("plan", *CEM, "--horizon", 3, "--latents", folder / "lat.npy", "--seed", 1)
    assert code == 0, err
    assert "GMM fitted to lat.npy" in out.splitlines()[0] and "lat.npy (content hash" in out


def test_plan_with_starts_and_goals_uses_the_seed_s_row(files):
    folder, world, _, s0, goal = files
    got = _plan_json("--starts-goals", folder / "sg.npz", "--world", folder / "world.npz", "--seed", 3)
    np.testing.assert_array_equal(got["s0"], s0[3])
    np.testing.assert_array_equal(got["goal"], goal[3])
    _same_plan(got, Problem(make_geometry("vae", 3, 3), world, s0[3], goal[3], 3, 3), 3)
    alone = _plan_json("--starts-goals", folder / "sg.npz", "--seed", 0)      # the paper's world, d = n
    assert alone["d"] == 3 and alone["world"] == make_world(3, 0).content_hash()
    np.testing.assert_array_equal(alone["s0"], s0[0])


def test_plan_in_a_learned_mlp_world(files):
    folder = files[0]
    mlp = fastplan.engine.worlds.load_world(folder / "mlp.npz")
    got = _plan_json("--world", folder / "mlp.npz", "--seed", 2)
    s0, goal = start_and_goal(4, 2)                              # drawn as the paper's, of dimension n
    _same_plan(got, Problem(make_geometry("vae", 3, 2), mlp, s0, goal, 3, 2), 2)
    assert got["d"] == 3 and len(got["s0"]) == 4 and np.array(got["states"]).shape == (4, 4)
    assert got["world"] == mlp.content_hash() and got["inputs"]["world"]["family"] == "mlp"


def test_plan_without_inputs_is_unchanged():
    got = _plan_json("--dim", 3, "--seed", 4)
    _same_plan(got, fastplan.make_problem("vae", 3, 3, 4), 4)
    assert "inputs" not in got and got["world"] == make_world(3, 4).content_hash()


# --------------------------------------------------------------------------- fastplan sweep

def test_sweep_in_a_saved_world_stores_it_once_with_its_source(files, tmp_path):
    folder, world, *_ = files
    out = tmp_path / "mine.h5"
    code, _, err = run("sweep", *SWEEP, "--world", folder / "world.npz", "--seeds", "0-2", "--out", out)
    assert code == 0, err
    h = world.content_hash()
    (info,) = store.list_worlds(out)
    assert info["content_hash"] == h and info["runs"] == 3 * 3         # 3 geometries x 3 seeds
    assert info["provenance"] == [{"family": "tanh", "n": 3, "d": 3, "source": str(folder / "world.npz")}]
    for c in store.list_configs(out):
        assert c["d"] == 3 and c["inputs"]["world"]["content_hash"] == h
        assert json.loads(c["key"])["world"] == h
        attrs, arr = store.read_config(out, c["config_id"])
        assert set(arr["world"].tolist()) == {h}
        for i, s in enumerate(arr["seed"].tolist()):
            s0, goal = start_and_goal(3, s)
            np.testing.assert_array_equal(arr["s0"][i], s0)
            prob = Problem(make_geometry(c["geometry"], 3, s), world, s0, goal, 2, s)
            res = fastplan.plan(prob, "cem", seed=s, population=20, iterations=2)
            np.testing.assert_array_equal(arr["actions"][i], res.actions)
    assert recheck_file(out) == 9
    paper = store.config_id(store.config_key("vae", 3, 2, "cem", "prior",
                                             fastplan.engine.planners.resolve("cem", {"population": 20, "iterations": 2})))
    assert paper not in {c["config_id"] for c in store.list_configs(out)}      # other configurations
    code, _, err = run("sweep", *SWEEP, "--world", folder / "world.npz", "--seeds", "0-2", "--out", out)
    assert code == 0 and "nothing to compute" in run("sweep", *SWEEP, "--world", folder / "world.npz",
                                                      "--seeds", "0-2", "--out", out)[1]


def test_sweep_in_an_mlp_world_rechecks_with_numpy(files, tmp_path):
    folder = files[0]
    mlp = fastplan.engine.worlds.load_world(folder / "mlp.npz")
    out = tmp_path / "mlp.h5"
    code, _, err = run("sweep", *SWEEP, "--world", folder / "mlp.npz", "--geometries", "vae", "ebm",
                       "--seeds", "0-1", "--out", out)
    assert code == 0, err
    (info,) = store.list_worlds(out)
    assert (info["family"], info["n"], info["d"], info["runs"]) == ("mlp", 4, 3, 4)
    for c in store.list_configs(out):
        attrs, arr = store.read_config(out, c["config_id"])
        (back,) = store.read_worlds(out, c["config_id"]).values()
        assert back.content_hash() == mlp.content_hash() and "A" not in arr
        assert arr["s0"].shape == (2, 4) and arr["actions"].shape == (2, 2, 3) and arr["states"].shape == (2, 3, 4)
        for i in range(2):                                       # NumPy re-check of the stored run
            s = [arr["s0"][i]]
            for a in arr["actions"][i]:
                s.append(back.step(s[-1], a))
            np.testing.assert_allclose(arr["states"][i], np.array(s), rtol=1e-10, atol=1e-12)
            gd = np.linalg.norm(s[-1] - arr["goal"][i])
            np.testing.assert_allclose(arr["goal_distance"][i], gd, rtol=1e-10)
            s = arr["s0"][i]
            for _ in range(2):
                s = back.step(s, np.zeros(3))
            np.testing.assert_allclose(arr["zero_action_distance"][i], np.linalg.norm(s - arr["goal"][i]),
                                       rtol=1e-10)


def test_sweep_with_latents_and_starts_goals(files, tmp_path):
    folder, world, x, s0, goal = files
    out = tmp_path / "lat.h5"
    code, _, err = run("sweep", *SWEEP, "--latents", folder / "lat.npy", "--fit", "kmeans", "--k", 4,
                       "--starts-goals", folder / "sg.npz", "--seeds", "0-3", "--out", out)
    assert code == 0, err
    (c,) = store.list_configs(out)
    assert (c["geometry"], c["d"], c["n_seeds"]) == ("kmeans", 3, 4)
    assert set(c["inputs"]) == {"latents", "starts_goals"}
    assert c["inputs"]["starts_goals"]["path"] == str(folder / "sg.npz")
    _, arr = store.read_config(out, c["config_id"])
    np.testing.assert_array_equal(arr["s0"], s0)
    np.testing.assert_array_equal(arr["goal"], goal)
    for s in range(4):
        prob = Problem(geometry_from_samples(x, kind="kmeans", k=4, seed=s), make_world(3, s), s0[s], goal[s], 2, s)
        res = fastplan.plan(prob, "cem", seed=s, population=20, iterations=2)
        np.testing.assert_array_equal(arr["actions"][s], res.actions)
    assert len(store.load_geometry_metrics(out)["seed"]) == 0           # none for a fitted geometry
    with h5py.File(out, "r") as f:
        assert len(f["worlds"]) == 4                                     # the paper's, one per seed


# --------------------------------------------------------------------------- bad inputs

def _bad_files(folder, tmp_path):
    (tmp_path / "text.npz").write_text("not numpy\n")
    np.savez(tmp_path / "nofamily.npz", A=np.eye(3))
    np.savez(tmp_path / "sg_wrong_n.npz", s0=np.zeros((4, 5)), goal=np.zeros((4, 5)))
    np.savez(tmp_path / "sg_mismatch.npz", s0=np.zeros((4, 3)), goal=np.zeros((3, 3)))
    np.savez(tmp_path / "sg_nogoal.npz", s0=np.zeros((4, 3)))
    np.savez(tmp_path / "sg_nan.npz", s0=np.full((4, 3), np.nan), goal=np.zeros((4, 3)))
    np.save(tmp_path / "lat5.npy", np.random.default_rng(0).normal(size=(50, 5)))
    return [
        (["--world", tmp_path / "missing.npz"], ["missing.npz", "does not exist"]),
        (["--world", tmp_path / "text.npz"], ["cannot read world model"]),
        (["--world", tmp_path / "nofamily.npz"], ["no 'family' entry"]),
        (["--latents", tmp_path / "missing.npy"], ["missing.npy", "no such file"]),
        (["--starts-goals", tmp_path / "missing.npz"], ["missing.npz", "no such file"]),
        (["--starts-goals", tmp_path / "text.npz"], ["is not a NumPy .npz file"]),
        (["--starts-goals", tmp_path / "sg_nogoal.npz"], ["has no array goal"]),
        (["--starts-goals", tmp_path / "sg_mismatch.npz"], ["must both be (K, n)", "(4, 3) and (3, 3)"]),
        (["--starts-goals", tmp_path / "sg_nan.npz"], ["s0 in sg_nan.npz contains NaN or inf"]),
        (["--world", folder / "world.npz", "--starts-goals", tmp_path / "sg_wrong_n.npz"],
         ["have n=5", "state dimension is 3"]),
        (["--world", folder / "world.npz", "--latents", tmp_path / "lat5.npy"], ["have d=5", "action dimension is 3"]),
        (["--latents", tmp_path / "lat5.npy", "--starts-goals", folder / "sg.npz"], ["have n=3", "latents have d=5"]),
        (["--fit", "kmeans"], ["--fit needs --latents"]),
    ]


@pytest.mark.parametrize("command", ["plan", "sweep"])
def test_bad_inputs_are_one_line_errors_and_nothing_is_written(files, tmp_path, command):
    folder = files[0]
    out = tmp_path / "never.h5"
    tail = ["--json"] if command == "plan" else ["--out", out]
    beyond = (["--starts-goals", folder / "sg.npz", "--seed" if command == "plan" else "--seeds", "4"],
              ["seed 4 has no row", "sg.npz: 4 rows, seeds 0-3"])            # a seed past the rows
    for args, words in _bad_files(folder, tmp_path) + [beyond]:
        code, stdout, err = run(command, *(CEM[:2] if command == "plan" else SWEEP), *args, *tail)
        assert_one_line_error(code, stdout, err, *words)
        assert not out.exists() and not (tmp_path / "never.h5.journal").exists()


@pytest.mark.parametrize("command, dims, geometry", [("plan", "--dim", "--geometry"),
                                                     ("sweep", "--dims", "--geometries")])
def test_dimensions_and_geometries_that_do_not_match_the_inputs(files, tmp_path, command, dims, geometry):
    folder = files[0]
    tail = ["--json"] if command == "plan" else ["--out", tmp_path / "never.h5"]
    base = CEM[:2] if command == "plan" else SWEEP
    cases = [
        (["--world", folder / "world.npz", dims, "4"],
         [f"{dims} 4 does not match the world model's action dimension d=3", f"give {dims} 3"]),
        (["--latents", folder / "lat.npy", dims, "8"], [f"{dims} 8 does not match the latents' dimension d=3"]),
        (["--starts-goals", folder / "sg.npz", dims, "4"], ["state dimension n=3 (the paper's world has n = d)"]),
        (["--latents", folder / "lat.npy", geometry, "vae"], [f"{geometry} does not apply to --latents"]),
    ]
    for args, words in cases:
        code, out, err = run(command, *base, *args, *tail)
        assert_one_line_error(code, out, err, *words)
    assert not (tmp_path / "never.h5").exists()


def test_a_results_file_is_untouched_by_a_refused_sweep(files, tmp_path):
    folder = files[0]
    out = tmp_path / "runs.h5"
    assert run("sweep", *SWEEP, "--dims", 2, "--seeds", 0, "--out", out)[0] == 0
    before = out.read_bytes()
    code, stdout, err = run("sweep", *SWEEP, "--world", folder / "world.npz", "--dims", 2, "--out", out)
    assert_one_line_error(code, stdout, err, "--dims 2 does not match")
    assert out.read_bytes() == before


def test_inputs_travel_to_workers_without_what_they_built(files):
    import pickle

    from fastplan.runs.inputs import load_inputs
    folder, world, x, s0, goal = files
    inputs = load_inputs(folder / "world.npz", folder / "lat.npy", folder / "sg.npz", fit="kmeans", k=4)
    here = inputs.problem("kmeans", 3, 2, 1)
    there = pickle.loads(pickle.dumps(inputs))
    assert inputs._cache and there._cache == {} and there.key_json == inputs.key_json
    again = there.problem("kmeans", 3, 2, 1)
    assert again.world.content_hash() == world.content_hash() == here.world.content_hash()
    np.testing.assert_array_equal(again.geometry.centers, here.geometry.centers)
    np.testing.assert_array_equal(again.s0, s0[1])
