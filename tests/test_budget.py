"""Equal rollout budgets: each paper planner's ``for_budget`` gives the requested rollouts (as
the kernels count them) within one iteration's worth; sweeps and the CLI run them; the report
finds them (Table 5)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan.engine import registry
from fastplan.engine.errors import FastplanError
from fastplan.runs.sweep import expand_grid

PAPER = ("cem", "mppi", "gradient", "sgld", "diffusion")


def per_iteration(planner, hp, T, d):
    """Rollouts one iteration (diffusion: one denoising step) adds."""
    if planner == "cem":
        return hp["population"]
    if planner in ("mppi", "diffusion"):
        return hp["samples"]
    return 2 if hp["gradient"] == "adjoint" else T * d + 1


CASES = [(p, T, d, "fd") for p in PAPER for T, d in ((8, 8), (4, 6))] + \
        [(p, 8, 8, "adjoint") for p in ("gradient", "sgld")]


@pytest.mark.parametrize("budget", (1050, 2000, 6500))
@pytest.mark.parametrize("planner,T,d,gradient", CASES)
def test_budget_gives_the_requested_rollouts(planner, budget, T, d, gradient):
    spec = registry.planner(planner)
    base = spec.resolve({"gradient": gradient} if "gradient" in spec.defaults else {})
    hp = spec.at_budget(base, budget, T, d)
    res = fastplan.plan(fastplan.make_problem("vae", d, T, 0), planner, **hp)
    assert abs(int(res.samples) - budget) <= per_iteration(planner, hp, T, d) / 2 + 1, (hp, res.samples)
    changed = {k for k in hp if hp[k] != base[k]}
    assert changed <= {"iterations", "steps"}       # only the iteration count moves


def test_paper_defaults_are_their_own_budgets():
    for planner, budget in (("cem", 2000), ("mppi", 2000), ("gradient", 6500), ("diffusion", 1050)):
        spec = registry.planner(planner)
        assert spec.at_budget(spec.resolve(), budget, 8, 8) == spec.resolve(), planner


def test_budget_validation():
    spec = registry.planner("cem")
    with pytest.raises(FastplanError, match="integer >= 1"):
        spec.at_budget(spec.resolve(), 0, 8, 8)
    assert spec.at_budget(spec.resolve(), 1, 8, 8)["iterations"] == 1          # at least one iteration
    bare = registry.PlannerSpec(name="bare", label="Bare", defaults={"lam": 0.1}, kernels=object(), stream_id=999)
    with pytest.raises(FastplanError, match="cannot run at a rollout budget"):
        bare.at_budget({"lam": 0.1}, 1000, 8, 8)


def test_grid_with_budgets():
    grid = expand_grid(planners=["cem", "diffusion"], geometries=["vae", "ebm"], dims=[8], horizons=[8],
                       seeds=[0], budgets=[1050, 2000])
    hps = {(c.planner, json.loads(c.hp_json).get("iterations", json.loads(c.hp_json).get("steps")))
           for c in grid.configs}
    assert hps == {("cem", 5), ("cem", 10), ("diffusion", 20), ("diffusion", 39)}
    assert len(grid.configs) == 8
    one = expand_grid(planners=["cem"], geometries=["vae"], dims=[8], horizons=[8], seeds=[0],
                      budgets=[2000, 2010])                                    # one configuration
    assert len(one.configs) == 1
    with pytest.raises(FastplanError):
        expand_grid(planners=["cem"], dims=[8], horizons=[8], seeds=[0], budgets=[])


def test_cli_budget_sweep(tmp_path):
    from fastplan import store
    from fastplan_cli.main import cli

    out = tmp_path / "runs.h5"
    res = CliRunner().invoke(cli, ["sweep", "--planners", "cem", "diffusion", "--dims", "3", "--horizons", "2",
                                   "--seeds", "0", "1", "--budget", "300", "1050", "--metric-samples", "0",
                                   "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rec = store.load(out)
    got = {p: sorted(set(rec["samples"][rec["planner"] == p].tolist())) for p in ("cem", "diffusion")}
    assert got == {"cem": [400, 1000], "diffusion": [300, 1050]}      # population 200 x round(B / 200)
    bad = CliRunner().invoke(cli, ["sweep", "--budget", "0", "--out", str(tmp_path / "x.h5")])
    assert bad.exit_code != 0 and "Error:" in bad.output


def test_report_table5_at_equal_budgets(tmp_path):
    from fastplan.paper.report import write_report
    from fastplan.runs.sweep import run_sweep

    path = tmp_path / "runs.h5"
    run_sweep(path, planners=["cem", "diffusion"], dims=[8], horizons=[8], seeds=[0, 1], progress="quiet",
              metric_samples=0, budgets=[1050, 2000, 6500])
    out = write_report(str(path), str(tmp_path / "rep"), figures=False, metric_samples=50)
    assert any(p.endswith("table5.md") for p in out["tables"])
    text = open(tmp_path / "rep" / "table5.md", encoding="utf-8").read()
    for budget, setting in ((1050, "iterations=5"), (6500, "iterations=32"), (2000, "steps=39")):
        assert f"| {budget} |" in text and setting in text
    assert "| 1050 | Diffusion |" in text and "paper defaults" in text and "| 2000 | MPPI | missing |" in text
    rows = [r.split(",") for r in open(tmp_path / "rep" / "table5.csv", encoding="utf-8").read().splitlines()[1:]]
    cem_6500 = [r for r in rows if r[0] == "6500" and r[1] == "cem"]
    assert len(cem_6500) == 3 and all(float(r[-2]) == 6400 for r in cem_6500)   # rollouts counted: 32 x 200
