"""The beyond-the-paper table (fastplan/paper/stronger.py, ``fastplan beyond``): rows at equal
budgets found by their hyperparameters, paired contrasts against the best paper planner with the
right verdicts, nothing without runs beyond the paper, and the command end to end."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fastplan.engine.errors import FastplanError
from fastplan.paper.stronger import BUDGETS, beyond_sweeps, beyond_table, row_hyperparameters, rows


def records(effects: dict, seeds=range(30), budgets=BUDGETS, noise=0.05):
    """Synthetic runs of every row at every budget: goal distance = 1 + effect + shared seed noise
    (+ a little of its own), so contrasts are paired."""
    rng = np.random.default_rng(0)
    seed_noise = {s: rng.normal(0, 0.3) for s in seeds}
    cols = {k: [] for k in ("geometry", "d", "horizon", "planner", "seed", "goal_distance", "samples",
                            "hyperparameters", "geometry_usage", "zero_action_distance")}
    for B in budgets:
        for row in rows():
            hp = row_hyperparameters(row, B)
            for g in ("vae", "ebm", "vqvae"):
                for s in seeds:
                    cols["geometry"].append(g)
                    cols["d"].append(8)
                    cols["horizon"].append(8)
                    cols["planner"].append(row.planner)
                    cols["seed"].append(s)
                    cols["goal_distance"].append(1.0 + effects.get(row.key, 0.0) + seed_noise[s] + rng.normal(0, noise))
                    cols["samples"].append(B)
                    cols["hyperparameters"].append(json.dumps(hp))
                    cols["geometry_usage"].append("prior")
                    cols["zero_action_distance"].append(2.0 + seed_noise[s])
    return {k: np.asarray(v) for k, v in cols.items()}


def test_rows_are_the_papers_five_the_adjoint_gradient_and_the_new_planners():
    keys = [r.key for r in rows()]
    assert keys[:6] == ["cem", "mppi", "gradient", "gradient (adjoint)", "sgld", "diffusion"]
    assert set(keys[6:]) >= {"icem", "amppi", "adam", "mbd"}
    assert all(r.paper for r in rows()[:6]) and not any(r.paper for r in rows()[6:])
    assert row_hyperparameters(rows()[3], 2000)["gradient"] == "adjoint"
    assert row_hyperparameters(rows()[3], 2000)["iterations"] == 1000        # 2 rollouts per iteration
    sweeps = beyond_sweeps(seeds=5)
    assert [(s["gradient"], s["budgets"], s.get("traces", False)) for s in sweeps] == [
        ("fd", [1050, 2000], False), ("adjoint", [1050, 2000], False), ("fd", [6500], True),
        ("adjoint", [6500], True)]                    # traces at the largest budget only
    assert sweeps[1]["planners"] == ["gradient"] and "icem" in sweeps[0]["planners"]


def test_contrasts_find_a_large_effect_and_call_a_null_one_a_tie():
    # CEM is the best paper planner; iCEM much better, MBD the same as CEM, Adam much worse
    effects = {"cem": -0.2, "mppi": 0.3, "gradient": 0.5, "gradient (adjoint)": 0.1, "sgld": 0.6,
               "diffusion": 0.2, "icem": -0.6, "mbd": -0.2, "adam": 0.4, "amppi": 0.0}
    table = beyond_table(records(effects))
    text = table.to_markdown()
    for B in BUDGETS:
        lines = {ln.split(" | ")[1]: ln for ln in text.splitlines() if ln.startswith(f"| {B} |")}
        assert "(reference)" in lines["CEM (reference)"]
        assert lines["*iCEM*"].rstrip(" |").split(" | ")[-2].endswith("better")
        assert lines["*MBD*"].rstrip(" |").split(" | ")[-2].endswith("tie")
        assert lines["*Adam (adjoint)*"].rstrip(" |").split(" | ")[-2].endswith("worse")
        assert "**" in lines["*iCEM*"]                      # best three-geometry mean in bold
    rows_csv = list(csv.DictReader(io.StringIO(table.to_csv())))
    icem = [r for r in rows_csv if r["planner"] == "icem" and r["geometry"] == "all"]
    assert len(icem) == 3 and all(float(r["delta"]) == pytest.approx(-0.4, abs=0.05) for r in icem)
    assert all(float(r["delta_hi"]) < 0 for r in icem)


def test_no_table_without_runs_beyond_the_paper():
    rec = records({})
    keep = np.isin(rec["planner"], ["cem", "mppi", "gradient", "sgld", "diffusion"])
    assert beyond_table({k: v[keep] for k, v in rec.items()}) is None


def test_fastplan_beyond_end_to_end(tmp_path):
    from fastplan_cli.main import cli

    out = tmp_path / "b"
    res = CliRunner().invoke(cli, ["beyond", "--out", str(out), "--seeds", "2", "--budget", "300", "-q"])
    assert res.exit_code == 0, res.output
    text = (out / "beyond.md").read_text(encoding="utf-8")
    for label in ("CEM", "Gradient (adjoint)", "*iCEM*", "*MPPI (adaptive)*", "*Adam (adjoint)*", "*MBD*"):
        assert f"| 300 | {label}" in text
    assert "a = 0 (baseline)" in text
    assert (out / "anytime.png").stat().st_size > 10_000 and (out / "anytime.pdf").exists()
    from fastplan import store
    traced = store.load_traces(out / "runs.h5")
    assert {c["planner"] for c in traced} >= {"cem", "icem", "adam", "diffusion"}
    assert all(c["trace"].shape[0] == 2 and (np.diff(c["trace"][:, :, 0], axis=1) <= 0).all() for c in traced)
    with pytest.raises(FastplanError, match="no budget runs"):
        from fastplan.paper.stronger import write_beyond
        from fastplan.runs.sweep import run_sweep
        run_sweep(tmp_path / "c.h5", planners=["cem"], dims=[3], horizons=[2], seeds=[0], progress="quiet",
                  metric_samples=0)
        write_beyond(str(tmp_path / "c.h5"), str(tmp_path / "c"))
