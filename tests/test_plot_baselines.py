"""Baselines in every goal-distance figure and equal-budget runs apart from hyperparameter
sweeps (fastplan.plot and the report's figures).  Hand-made records, except one tiny real
sweep through ``fastplan report``."""
from __future__ import annotations

import json
import os

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import fastplan.plot as fplot  # noqa: E402
from fastplan.paper import figures as F  # noqa: E402
from fastplan.paper import planner_label  # noqa: E402
from fastplan.paper.report import load_paper_values  # noqa: E402
from fastplan.paper.results import Results  # noqa: E402
from fastplan.paper.tables import budget_hyperparameters  # noqa: E402
from test_claims import make_geometry_metrics, make_records  # noqa: E402
from test_plot import with_population_sweep  # noqa: E402

PAPER = load_paper_values()
ZERO, START = fplot.BASELINE_LABELS
GOAL_FIGURES = ("fig3", "fig4", "fig5", "fig6", "fig7")
BUDGETS = (1050, 2000, 6500)


def with_budgets(records: dict, budgets=BUDGETS, planners=("cem", "mppi", "diffusion")) -> dict:
    """``records`` plus runs at each budget (d=8, h=8) with the hyperparameters ``fastplan sweep
    --budget`` gives (none where they are the paper's defaults: the same configuration), spending
    ``budget`` rollouts, goal distance falling like rollouts^-0.3 from the defaults' runs."""
    parts = [records]
    for p in planners:
        cell = (records["planner"] == p) & (records["d"] == 8) & (records["horizon"] == 8)
        for budget in budgets:
            hp = budget_hyperparameters(p, budget, 8, 8)
            if _defaults_at(p, budget):
                continue
            extra = {k: v[cell].copy() for k, v in records.items()}
            extra["hyperparameters"] = np.array([json.dumps(hp)] * cell.sum())
            extra["goal_distance"] = extra["goal_distance"] * (budget / extra["samples"]) ** -0.3
            extra["samples"] = np.full(cell.sum(), float(budget))
            parts.append(extra)
    return {k: np.concatenate([q[k] for q in parts]) for k in records}


def _defaults_at(planner: str, budget: int) -> bool:
    """True when ``budget`` gives ``planner`` the paper's defaults (e.g. CEM at 2000)."""
    from fastplan.engine.planners import DEFAULTS
    hp = budget_hyperparameters(planner, budget, 8, 8)
    return hp == {**hp, **DEFAULTS[planner]}


@pytest.fixture(scope="module")
def res10():
    return Results(make_records(dims=(4, 8, 16, 32), seeds=range(10)), make_geometry_metrics())


def _which(label: str):
    """ZERO or START for a baseline's label (with a slope, or "_"-prefixed off the legend), else None."""
    label = label.lstrip("_")
    return ZERO if label.startswith(ZERO.rstrip(")")) else START if label.startswith(START) else None


def _baseline_lines(fig) -> dict:
    """ZERO / START -> artists of that baseline drawn in ``fig`` (lines and line collections)."""
    out: dict = {}
    for ax in fig.axes:
        for a in ax.lines + ax.collections:
            if _which(a.get_label()):
                out.setdefault(_which(a.get_label()), []).append(a)
    return out


def _legend_texts(fig) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes] + list(fig.legends)
    return [t.get_text() for lg in legends if lg is not None for t in lg.get_texts()]


def test_every_goal_distance_figure_draws_both_baselines_in_its_legend(res10):
    for key in GOAL_FIGURES:
        fig = F.BUILDERS[key](res10, PAPER)
        lines = _baseline_lines(fig)
        assert set(lines) == {ZERO, START}, key
        texts = _legend_texts(fig)
        for label in (ZERO, START):
            assert any(t.startswith(label.rstrip(")")) for t in texts), (key, label)
        assert "baselines" in F.FIGURES[key][1] and "a = 0" in F.FIGURES[key][1], key     # the caption says so
        assert [_which(t) for t in texts[-2:]] == [ZERO, START], key                        # baselines last
        assert not any(_which(t) for t in texts[:-2]), key
    for key in ("fig1", "fig2", "fig8"):                       # no goal distance, no baselines
        assert _baseline_lines(F.BUILDERS[key](res10, PAPER)) == {}, key
    plt.close("all")


def test_baselines_sit_at_the_means_of_the_stored_columns(res10):
    rec = res10.records
    at = (rec["geometry"] == "vae") & (rec["d"] == 8) & (rec["horizon"] == 8) & (rec["planner"] == "cem")
    zero, start = rec["zero_action_distance"][at].mean(), rec["initial_distance"][at].mean()
    for key in ("fig3", "fig6"):                              # horizontal lines across the axes
        lines = _baseline_lines(F.BUILDERS[key](res10, PAPER))
        assert lines[ZERO][0].get_ydata()[0] == pytest.approx(zero)
        assert lines[START][0].get_ydata()[0] == pytest.approx(start)
    lines = _baseline_lines(F.fig7(res10, PAPER))             # goal distance on x: vertical lines
    assert lines[ZERO][0].get_xdata()[0] == pytest.approx(zero)
    fig = F.fig4(res10, PAPER)                                 # per d, averaged over geometries
    for line in _baseline_lines(fig)[START]:
        ds = line.get_xdata()
        want = [res10.baseline_average("initial_distance", d, 8).mean for d in ds]
        assert list(ds) == [4, 8, 16, 32] and np.allclose(line.get_ydata(), want)
    assert any("start" in t and "slope 0.50" in t for t in _legend_texts(fig))   # 2.5 sqrt(d/8): slope 1/2
    line = _baseline_lines(F.fig5(res10, PAPER))[ZERO][0]     # per horizon
    assert list(line.get_xdata()) == res10.horizons
    assert np.allclose(line.get_ydata(), [res10.baseline("zero_action_distance", "vae", 8, h).mean
                                          for h in res10.horizons])
    ax = fplot.goal_distance_over_seeds(res10, baselines=False)
    assert _baseline_lines(ax.figure) == {}
    plt.close("all")


def test_bars_get_one_baseline_per_geometry_when_the_geometries_differ():
    rec = make_records(dims=(8,), horizons=(8,), seeds=range(3))
    same = fplot.goal_distance_by_planner(rec)
    assert len(_baseline_lines(same.figure)[ZERO]) == 1                 # one line across the axes
    assert "span all bars" in F._bar_baselines_note(Results(rec))
    rec["zero_action_distance"] = rec["zero_action_distance"] * np.where(rec["geometry"] == "ebm", 1.5, 1.0)
    ax = fplot.goal_distance_by_planner(rec)
    heights = sorted({round(float(s[0, 1]), 9) for c in _baseline_lines(ax.figure)[ZERO] for s in c.get_segments()})
    assert heights == pytest.approx([2.0, 3.0])                          # VAE and VQ-VAE at 2.0, EBM at 3.0
    assert [t for t in _legend_texts(ax.figure)].count(ZERO) == 1       # labelled once
    assert "each geometry's bars" in F._bar_baselines_note(Results(rec))
    plt.close("all")


def test_budget_runs_are_equal_budget_runs_not_sweeps():
    rec = with_population_sweep(with_budgets(make_records(dims=(4, 8), horizons=(8,), seeds=range(4))))
    assert fplot.sweeps(rec) == [("cem", "population")]        # iterations / steps are not swept
    assert fplot.budget_planners(rec) == ["cem", "mppi", "diffusion"]
    assert fplot.budget_cell(rec) == (8, 8)
    assert fplot.budget_planners(make_records(dims=(8,), horizons=(8,), seeds=range(2))) == []
    ax = fplot.goal_distance_vs_budget(rec, geometry="vae")
    drawn = {c.get_label(): c.lines[0] for c in ax.containers}
    assert list(drawn) == [planner_label(p) for p in ("cem", "mppi", "diffusion")]
    plain = Results(make_records(dims=(8,), horizons=(8,), seeds=range(4)))
    for p in ("cem", "diffusion"):
        xs = np.array(drawn[planner_label(p)].get_xdata())
        default = plain.stat("samples", p, "vae", 8, 8).mean     # the paper's defaults count at their budget
        spent = sorted({default} | {float(b) for b in BUDGETS if not _defaults_at(p, b)})
        assert len(xs) == len(spent) == 3
        assert np.allclose(xs / np.array(spent), xs[0] / spent[0], rtol=1e-12)    # dodged by a constant factor
        ys = drawn[planner_label(p)].get_ydata()
        assert np.all(np.diff(ys) < 0)                                            # the made-up trend
        assert plain.stat("goal_distance", p, "vae", 8, 8).mean == pytest.approx(ys[spent.index(default)])
    assert set(_baseline_lines(ax.figure)) == {ZERO, START} and ax.get_xscale() == "log"
    ax.figure.canvas.draw()
    lo, hi = ax.get_xlim()
    shown = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi and t.get_text()]
    assert shown == ["1000", "2000", "5000"]                  # log ticks at 1, 2, 5 x 10^k, labelled plainly
    # the hyperparameter sweep draws only the population variants, not the budget runs beside them
    ax = fplot.hyperparameter_sweep(rec, "cem", "population")
    assert [c.get_label() for c in ax.containers] == ["100", "200", "400"]
    assert set(_baseline_lines(ax.figure)) == {ZERO, START}
    plt.close("all")


def test_report_puts_budget_runs_in_their_own_section(tmp_path, monkeypatch):
    from test_report import fake_store

    from fastplan.paper.report import write_report
    rec = with_population_sweep(with_budgets(make_records(dims=(4, 8), horizons=(8,), seeds=range(3))))
    fake_store(monkeypatch, rec, make_geometry_metrics(dims=(4, 8)))
    monkeypatch.setattr(F, "BUILDERS", {})           # only the figures beyond the paper
    results = tmp_path / "runs.h5"
    results.write_bytes(b"stand-in")
    out = write_report(str(results), str(tmp_path / "rep"))
    text = open(out["report"], encoding="utf-8").read()
    budget = text.split("## Equal rollout budgets (beyond the paper)")[1].split("## Hyperparameter sweeps")[0]
    assert "budget.png" in budget and "Table 5 gives the numbers" in budget
    sweeps = text.split("## Hyperparameter sweeps (beyond the paper)")[1].split("## Known inconsistencies")[0]
    assert "sweep-cem-population.png" in sweeps and "iterations" not in sweeps and "steps" not in sweeps
    files = sorted(os.listdir(tmp_path / "rep"))
    assert "budget.pdf" in files and [f for f in files if f.startswith("sweep-")] == [
        "sweep-cem-population.pdf", "sweep-cem-population.png"]
    fig = F.budget_figure(Results(rec, make_geometry_metrics(dims=(4, 8)), select=False))[3]()
    assert [a.get_title(loc="left") for a in fig.axes] == ["(a) VAE", "(b) Sparse-EBM", "(c) VQ-VAE"]
    assert len({a.get_ylim() for a in fig.axes}) == 1          # panels on one y scale
    assert fig.get_size_inches()[0] == pytest.approx(7.2)
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    assert min(t.get_fontsize() for t in texts) >= 8
    assert set(_baseline_lines(fig)) == {ZERO, START} and _legend_texts(fig).count(ZERO) == 1
    plt.close("all")


def test_report_from_a_tiny_real_budget_sweep(tmp_path):
    from click.testing import CliRunner

    from fastplan.runs.sweep import run_sweep
    from fastplan_cli.cmd_report import report
    path = str(tmp_path / "runs.h5")
    run_sweep(path, planners=["cem", "diffusion"], geometries=["vae", "ebm"], dims=[2], horizons=[2], seeds=[0, 1],
              budgets=[200, 600], progress="quiet", metric_samples=50)
    res = CliRunner().invoke(report, [path, "--out", str(tmp_path / "rep"), "--metric-samples", "50"])
    assert res.exit_code == 0, res.output
    files = os.listdir(tmp_path / "rep")
    assert "budget.png" in files and not any(f.startswith("sweep-") for f in files)
    text = open(tmp_path / "rep" / "report.md", encoding="utf-8").read()
    assert "## Equal rollout budgets (beyond the paper)" in text and "## Hyperparameter sweeps" not in text
    assert "(d=2, h=2)" in text.split("## Equal rollout budgets")[1]
