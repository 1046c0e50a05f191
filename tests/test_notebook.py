"""Notebook-grade objects: short reprs, warm starts (init_actions), honest timings, the tidy
frame, batch times in ``fastplan show``, ``python -m fastplan`` and packaging."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan.engine.errors import FastplanError
from fastplan.runs.sweep import run_sweep
from layouts import runs_view, to_second_layout

TINY = {"cem": {"population": 20, "iterations": 2}, "mppi": {"samples": 20, "iterations": 2},
        "gradient": {"iterations": 3, "gradient": "adjoint"}, "sgld": {"iterations": 3, "gradient": "adjoint"},
        "diffusion": {"samples": 6, "steps": 3}}


def test_reprs_are_short_and_informative():
    prob = fastplan.make_problem("vae", 8, 8, 0)
    assert repr(prob).startswith("Problem(vae, d=8, T=8, seed=0")
    assert repr(prob.geometry) == "Geometry(vae, d=8, seed=0, 8 centres)"
    assert "active coordinates" in repr(fastplan.make_geometry("ebm", 8, 0))
    assert repr(prob.world).startswith("TanhWorld(d=8, seed=0")
    probs = [fastplan.make_problem(g, 8, 8, s) for g in ("vae", "ebm", "vqvae") for s in range(10)]
    batch = fastplan.plan_batch(probs, "cem", **TINY["cem"])
    text = repr(batch)
    assert len(text.splitlines()) <= 6 and len(text) < 600            # not 10,000 characters of arrays
    assert "30 problems" in text and "seeds 0-9" in text and "population=20" in text
    assert f"{batch.goal_distance.mean():.4g}" in text and "40 rollouts per plan" in text
    one = batch[4]
    assert len(repr(one).splitlines()) == 2 and "batch of 30" in repr(one)
    assert one.batch_wall_time == batch.wall_time and one.batch_size == 30
    assert one.wall_time == pytest.approx(batch.wall_time / 30)
    for obj in (batch, one):
        html = obj._repr_html_()
        assert html.startswith("<table>") and "goal distance" in html and "<td>" in html


def test_first_plan_reports_compilation_apart_from_wall_time(monkeypatch):
    from fastplan.engine import api
    prob = fastplan.make_problem("vae", 4, 3, 1)
    monkeypatch.setattr(api, "_WARM", set())           # as in a fresh process
    first = fastplan.plan(prob, "mppi", **TINY["mppi"])
    again = fastplan.plan(prob, "mppi", **TINY["mppi"])
    assert first.compile_time > 0 and again.compile_time == 0.0
    np.testing.assert_array_equal(first.actions, again.actions)       # warming changes nothing
    assert first.trace is None and first.batch_size == 1 and first.batch_wall_time == first.wall_time


@pytest.mark.parametrize("planner", ["cem", "mppi", "gradient", "sgld", "diffusion"])
def test_init_actions_start_each_planner_at_the_given_plan(planner):
    prob = fastplan.make_problem("vqvae", 3, 4, 2)
    good = fastplan.plan(prob, "cem", population=200, iterations=10).actions
    hp = TINY[planner]
    cold = fastplan.plan(prob, planner, **hp)
    warm = fastplan.plan(prob, planner, init_actions=good, **hp)
    base = fastplan.plan(prob, planner, **hp)
    np.testing.assert_array_equal(cold.actions, base.actions)         # None = the usual start, bit for bit
    if planner in ("mppi", "gradient", "sgld"):
        # these start at the plan itself; a few small steps keep them near it
        assert warm.cost < cold.cost
        assert np.abs(warm.actions - good).max() < np.abs(cold.actions - good).max()
    elif planner == "cem":
        assert not np.array_equal(warm.actions, cold.actions)
    if planner == "gradient":                   # zero iterations of work = exactly the start
        still = fastplan.plan(prob, "gradient", init_actions=good, iterations=1, lr=0.0, gradient="adjoint")
        np.testing.assert_array_equal(still.actions, good)
    # one (T, d) plan for a batch = the same plan per problem
    probs = [prob, fastplan.make_problem("vqvae", 3, 4, 3)]
    b = fastplan.plan_batch(probs, planner, init_actions=good, **hp)
    np.testing.assert_array_equal(b.actions[0], warm.actions)
    with pytest.raises(FastplanError, match="init_actions must have shape"):
        fastplan.plan(prob, planner, init_actions=np.zeros((3, 4)), **hp)
    with pytest.raises(FastplanError, match="NaN"):
        fastplan.plan(prob, planner, init_actions=np.full((4, 3), np.nan), **hp)


def test_diffusion_initial_samples_are_centred_on_the_warm_start():
    from fastplan.engine.api import stack
    probs = [fastplan.make_problem("vae", 3, 4, s) for s in (0, 1)]
    centre = np.arange(12.0).reshape(4, 3)
    batch = stack(probs, init_actions=centre)
    for usage in ("prior", "none"):
        draws = batch.centred_draws(4000, usage, batch.init_actions)
        assert draws.shape == (2, 4000, 4, 3)
        np.testing.assert_allclose(draws.mean(axis=1), np.broadcast_to(centre, (2, 4, 3)), atol=0.25)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("nb") / "runs.h5")
    run_sweep(path, planners=["cem", "mppi"], geometries=["vae", "ebm"], dims=[3], horizons=[2, 3],
              seeds=[0, 1, 2], overrides={"cem": {"population": [10, 20], "iterations": 2},
                                          "mppi": TINY["mppi"]},
              progress="quiet", metric_samples=16)
    return path


def test_batch_time_is_stored_and_shown_per_batch(sweep_file):
    rec = store.load(sweep_file)
    assert {"batch_wall_time", "batch_size"} <= set(rec)
    np.testing.assert_allclose(rec["wall_time"] * rec["batch_size"], rec["batch_wall_time"], rtol=1e-12)
    assert set(rec["batch_size"].tolist()) == {6}           # 2 geometries x 3 seeds per kernel call
    result = CliRunner().invoke(__import__("fastplan_cli.main", fromlist=["cli"]).cli,
                                ["show", sweep_file, "--planner", "mppi"])
    assert result.exit_code == 0, result.output
    assert "batch time" in result.output and "/ 6 runs" in result.output
    assert "wall ms" not in result.output                   # no per-run spread of equal shares
    assert re.search(r"\d ms / 6 runs", result.output) and "ms ± 0.00" not in result.output
    row = json.loads(CliRunner().invoke(__import__("fastplan_cli.main", fromlist=["cli"]).cli,
                                        ["show", sweep_file, "--planner", "mppi", "--json"]).output.splitlines()[0])
    assert row["batch"]["n_batches"] == 1 and row["batch"]["sizes"] == [6]
    sel = (rec["config_id"] == row["config_id"])
    assert row["batch"]["mean_ms"] == pytest.approx(1e3 * rec["batch_wall_time"][sel][0])


def test_old_files_without_batch_times_read_and_resume(tmp_path, sweep_file):
    import shutil

    import h5py
    path = str(tmp_path / "old.h5")
    shutil.copy(sweep_file, path)
    to_second_layout(path)
    with h5py.File(path, "a") as f:                 # as written before batch times were stored
        for g in f["configs"].values():
            del g["batch_wall_time"]
    rec = store.load(path)
    np.testing.assert_allclose(rec["batch_wall_time"], rec["wall_time"] * rec["batch_size"])
    run_sweep(path, planners=["mppi"], geometries=["vae", "ebm"], dims=[3], horizons=[2, 3], seeds=[0, 1, 2, 3],
              overrides={"mppi": TINY["mppi"]}, progress="quiet", metric_samples=0)
    with h5py.File(path, "r") as f:
        for g in f["configs"].values():
            if g.attrs["planner"] == "mppi":
                assert runs_view(g)["batch_wall_time"].shape == runs_view(g)["seed"].shape == (4,)
    assert store.load(path)["seed"].size == rec["seed"].size + 4


def test_tidy_frame_has_one_column_per_hyperparameter(sweep_file):
    df = fastplan.load(sweep_file, as_frame=True)
    assert {"hp_population", "hp_iterations", "hp_elite_fraction", "hp_samples", "hp_noise_std"} <= set(df.columns)
    cem = df[df.planner == "cem"]
    assert sorted(set(cem.hp_population.tolist())) == [10, 20]
    assert cem.hp_samples.isna().all() and df[df.planner == "mppi"].hp_population.isna().all()
    assert set(cem.variant) == {"iterations=2 population=10", "iterations=2 population=20"}
    # a sweep is one groupby away
    means = cem.groupby("hp_population").goal_distance.mean()
    assert list(means.index) == [10, 20]


def test_frame_without_pandas_is_one_clear_error(sweep_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)        # import pandas -> ImportError
    with pytest.raises(FastplanError, match=r'pip install "fastplan\[pandas\]"'):
        fastplan.load(sweep_file, as_frame=True)
    assert isinstance(fastplan.load(sweep_file), dict)      # the dict needs no pandas


def test_python_dash_m_fastplan_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "fastplan", "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and fastplan.__version__ in out.stdout
    out = subprocess.run([sys.executable, "-m", "fastplan", "nosuchcommand"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "Error" in out.stderr


def test_package_is_typed_and_dir_lists_the_new_names():
    from importlib import resources
    assert resources.files("fastplan").joinpath("py.typed").is_file()
    assert {"MPC", "closed_loop", "plot", "plan", "load"} <= set(dir(fastplan))
    import fastplan.plot as fplot
    assert callable(fplot.goal_distance_by_planner) and fplot.ONE_COLUMN == 3.5 and fplot.TWO_COLUMN == 7.2
