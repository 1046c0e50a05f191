"""`fastplan plan`: one problem, one planner, one result."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan_cli.main import cli
from test_store import small_sweep


def run(*args):
    result = CliRunner().invoke(cli, ["plan", *[str(a) for a in args]])
    return result.exit_code, result.stdout, result.stderr


def test_json_result_equals_the_python_api():
    code, out, err = run("--planner", "cem", "--geometry", "vq-vae", "--dim", 4, "--horizon", 3, "--seed", 7,
                         "--set", "population=20", "--set", "cem.iterations=2", "--json")
    assert code == 0, err
    got = json.loads(out)
    want = fastplan.plan(fastplan.make_problem("vqvae", 4, 3, 7), "cem", seed=7, population=20, iterations=2)
    assert (got["planner"], got["geometry"], got["d"], got["horizon"], got["seed"]) == ("cem", "vqvae", 4, 3, 7)
    for key in ("goal_distance", "smoothness", "cost", "samples", "steps"):
        assert got[key] == getattr(want, key), key           # JSON floats round-trip exactly
    np.testing.assert_array_equal(np.array(got["actions"]), want.actions)
    np.testing.assert_array_equal(np.array(got["states"]), want.states)
    assert got["hyperparameters"] == {"population": 20, "iterations": 2, "elite_fraction": 0.1, "lam": 0.1}
    assert got["samples"] == 40 and got["wall_time"] > 0 and got["geometry_usage"] == "prior"


def test_text_output_lists_every_quantity():
    code, out, err = run("--planner", "gradient", "--dim", 3, "--horizon", 2, "--set", "iterations=3",
                         "--gradient", "adjoint")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "Gradient on VAE, d=3, horizon 2, seed 0 (geometry usage: prior)"
    labels = [line.split()[0] for line in lines[1:]]
    assert labels == ["goal", "smoothness", "cost", "samples", "steps", "wall", "hyperparameters"]
    assert "gradient=adjoint" in lines[-1] and "iterations=3" in lines[-1]
    want = fastplan.plan(fastplan.make_problem("vae", 3, 2, 0), "gradient", seed=0, iterations=3,
                         gradient="adjoint")
    assert f"{want.goal_distance:.6f}" in lines[1]
    assert lines[4].split()[1] == str(want.samples)


def test_geometry_usage_is_applied_and_reported():
    a = json.loads(run("--dim", 3, "--horizon", 2, "--set", "population=20", "--set", "iterations=2",
                       "--json")[1])
    b = json.loads(run("--dim", 3, "--horizon", 2, "--set", "population=20", "--set", "iterations=2",
                       "--geometry-usage", "none", "--json")[1])
    assert a["geometry_usage"] == "prior" and b["geometry_usage"] == "none"
    assert a["actions"] != b["actions"]


def test_plan_equals_the_run_stored_by_a_sweep(tmp_path):
    path = tmp_path / "r.h5"
    small_sweep(path, planners=("sgld",), geometries=("ebm",), dims=(3,), horizons=(2,), seeds=(1,),
                metric_samples=0)
    rec = store.load(path)
    code, out, err = run("--planner", "sgld", "--geometry", "sparse-ebm", "--dim", 3, "--horizon", 2,
                         "--seed", 1, "--set", "iterations=3", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["cost"] == rec["cost"][0] and got["samples"] == rec["samples"][0]
    assert json.loads(rec["hyperparameters"][0]) == got["hyperparameters"]


@pytest.mark.parametrize("args, words", [
    (["--dim", "0"], ["--dim", "0"]),
    (["--horizon", "-1"], ["--horizon"]),
    (["--seed", "x"], ["--seed"]),
    (["--set", "population=abc"], ["population"]),
    (["--set", "popsize=3"], ["popsize"]),
    (["--set", "mppi.samples=3"], ["mppi", "cem"]),
    (["--set", "population=20,30"], ["one value"]),
    (["--gradient", "adjoint"], ["--gradient", "cem"]),
    (["--set", "nonsense"], ["--set"]),
])
def test_bad_input_is_one_line(args, words):
    code, out, err = run(*args)
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    for w in words:
        assert w in lines[0], lines[0]


@pytest.mark.parametrize("args", [["--planner", "astar"], ["--geometry", "gan"]])
def test_unknown_names_are_refused(args):
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert args[1] in err and "Error" in err
