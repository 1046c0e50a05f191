"""``fastplan report`` on files with runs on a user's own inputs (fastplan/paper/own.py): those runs
get their own table and never enter the paper's tables; a file of only such runs gets a report."""
from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import store
from fastplan.engine.worlds.mlp import random_mlp
from fastplan.paper.own import own_mask
from fastplan.paper.report import load_records

TINY = ["--planners", "cem", "--horizons", "3", "--seeds", "0-2", "--set", "cem.population=20",
        "--set", "cem.iterations=2", "--metric-samples", "0", "-q"]


def _cli(*args):
    from fastplan_cli.main import cli
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own")
    fastplan.save_world(random_mlp(n=4, d=3, hidden=(8,), activation="tanh", residual=True, seed=3),
                        folder / "m.npz")
    np.save(folder / "lat.npy", np.random.default_rng(0).normal(size=(200, 3)))
    return folder


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_file_of_own_runs_gets_its_own_report(inputs, tmp_path):
    out = tmp_path / "u.h5"
    _cli("sweep", "--world", str(inputs / "m.npz"), "--latents", str(inputs / "lat.npy"), "--out", str(out), *TINY)
    summary = _cli("report", str(out), "--out", str(tmp_path / "rep"))
    assert "own_inputs" in summary and "claims" not in summary
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "Runs on your own inputs" in text and "no comparison with the paper" in text
    rows = _rows(tmp_path / "rep" / "own_inputs.csv")
    gd = [r for r in rows if r["metric"] == "goal_distance"]
    assert len(gd) == 1 and gd[0]["geometry"] == "gmm" and gd[0]["n"] == "3"
    rec = store.load(str(out))
    assert float(gd[0]["mean"]) == pytest.approx(np.mean(rec["goal_distance"]), rel=1e-12)


def test_own_runs_stay_out_of_the_papers_tables(inputs, tmp_path):
    paper = tmp_path / "p.h5"
    _cli("sweep", "--dims", "3", "--geometries", "vae", "--out", str(paper), *TINY)
    _cli("report", str(paper), "--out", str(tmp_path / "rep_p"))
    mixed = tmp_path / "m.h5"
    shutil.copy(paper, mixed)
    # the paper's geometry, but the user's world model: still the user's question
    _cli("sweep", "--dims", "3", "--geometries", "vae", "--world", str(inputs / "m.npz"), "--out", str(mixed), *TINY)
    records = load_records(str(mixed))
    mask = own_mask(str(mixed), records)
    assert mask.sum() == 3 and (~mask).sum() == 3
    _cli("report", str(mixed), "--out", str(tmp_path / "rep_m"))
    for name in ("table1.csv", "table4.csv", "baselines.csv"):
        assert (tmp_path / "rep_p" / name).read_bytes() == (tmp_path / "rep_m" / name).read_bytes(), name
    assert not (tmp_path / "rep_p" / "own_inputs.csv").exists()
    own = [r for r in _rows(tmp_path / "rep_m" / "own_inputs.csv") if r["metric"] == "goal_distance"]
    assert len(own) == 1 and own[0]["geometry"] == "vae"
    assert "Runs on your own inputs" in (tmp_path / "rep_m" / "report.md").read_text()
