"""The plotting API (fastplan.plot) and the report's figures: sizes, fonts, intervals that
respect non-negative quantities, boxes only with enough seeds, log ticks, captions that match
what is drawn, hyperparameter sweeps.  Hand-made records: no planning, no kernels."""
from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import fastplan.plot as fplot  # noqa: E402
from fastplan.paper import figures as F  # noqa: E402
from fastplan.paper.report import load_paper_values  # noqa: E402
from fastplan.paper.results import Results  # noqa: E402
from test_claims import make_geometry_metrics, make_records  # noqa: E402

PAPER = load_paper_values()


def with_population_sweep(records: dict, values=(100, 400)) -> dict:
    """``records`` plus CEM runs at other populations (goal distance scaled by 100/population)."""
    cem = records["planner"] == "cem"
    parts = [records]
    for pop in values:
        extra = {k: v[cem].copy() for k, v in records.items()}
        hp = dict(json.loads(extra["hyperparameters"][0]), population=pop)
        extra["hyperparameters"] = np.array([json.dumps(hp)] * cem.sum())
        extra["goal_distance"] = extra["goal_distance"] * (200 / pop) ** 0.5
        parts.append(extra)
    return {k: np.concatenate([p[k] for p in parts]) for k in records}


@pytest.fixture(scope="module")
def res10():
    return Results(make_records(dims=(4, 8, 16, 32), seeds=range(10)), make_geometry_metrics())


def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]


def test_mean_interval_respects_a_non_negative_quantity():
    skewed = [0.01, 0.02, 0.01, 0.03, 4.0]
    m, lo, hi = fplot.mean_interval(skewed)                # bootstrap CI of the mean
    assert lo >= min(skewed) > 0 and lo <= m <= hi <= max(skewed)
    assert fplot.mean_interval(skewed) == (m, lo, hi)       # reproducible
    m, lo, hi = fplot.mean_interval(skewed, "sd")
    assert lo == 0.0 and hi == pytest.approx(m + np.std(skewed, ddof=1))      # clipped, not negative
    assert fplot.mean_interval([0.5]) == (0.5, 0.5, 0.5)
    assert fplot.mean_interval([0.5, 0.7], None) == (0.6, 0.6, 0.6)
    with pytest.raises(ValueError, match="interval"):
        fplot.mean_interval([1.0, 2.0], "95%")


@pytest.mark.parametrize("interval", ["ci", "sd"])
def test_drawn_error_bars_never_go_below_zero(interval):
    rec = make_records(dims=(8,), horizons=(8,), seeds=range(6))
    rec["goal_distance"] = rec["goal_distance"] * np.where(rec["seed"] == 0, 40.0, 0.05)   # a wild seed
    ax = fplot.goal_distance_by_planner(rec, interval=interval)
    lows = [seg[:, 1].min() for coll in ax.collections for seg in coll.get_segments()]
    assert lows and min(lows) >= 0.0
    matplotlib.pyplot.close("all")


def test_every_function_draws_into_a_given_or_new_axes(res10):
    calls = [lambda ax: fplot.goal_distance_by_planner(res10, ax),
             lambda ax: fplot.goal_distance_vs_dim(res10, ax),
             lambda ax: fplot.goal_distance_vs_dim(res10, ax, loglog=True),
             lambda ax: fplot.goal_distance_vs_horizon(res10, ax),
             lambda ax: fplot.goal_distance_over_seeds(res10, ax),
             lambda ax: fplot.smoothness_vs_goal(res10, ax),
             lambda ax: fplot.rollouts_by_planner(res10, ax),
             lambda ax: fplot.geometry_metric_vs_dim(res10, "amenability", ax),
             lambda ax: fplot.geometry_metric_vs_dim(res10, "effective_dimension", ax)]
    for call in calls:
        fig, ax = fplot.figure("one", pyplot=False)
        assert call(ax) is ax and (ax.lines or ax.patches)
        w, h = call(None).figure.get_size_inches()           # a new paper-size figure
        assert (w, h) == pytest.approx((3.5, 2.625)) or (w, h) == pytest.approx((7.2, 2.8))
    matplotlib.pyplot.close("all")


def test_tidy_frame_plots_like_the_records_dict():
    pd = pytest.importorskip("pandas")  # noqa: F841  (pandas is a test dependency)
    from fastplan.store.frame import tidy_frame
    rec = with_population_sweep(make_records(dims=(4, 8), horizons=(8,), seeds=range(3)))
    rec["batch_wall_time"] = np.ones(rec["seed"].size)
    rec["batch_size"] = np.ones(rec["seed"].size, dtype=np.int64)
    rec["lam"] = np.full(rec["seed"].size, 0.1)
    frame = tidy_frame(rec)
    drawn = []
    for data in (rec, frame):
        ax = fplot.hyperparameter_sweep(data, "cem", "population")
        lines = {c.get_label(): c.lines[0].get_ydata().tolist() for c in ax.containers}
        bars = sorted(p.get_height() for p in fplot.goal_distance_by_planner(data, d=8, horizon=8).patches)
        drawn.append((lines, bars))
    assert drawn[0][0].keys() == {"100", "200", "400"}
    assert drawn[0] == drawn[1]
    matplotlib.pyplot.close("all")


def test_boxes_only_with_enough_seeds():
    few = fplot.goal_distance_over_seeds(make_records(dims=(8,), horizons=(8,), seeds=range(4)))
    many = fplot.goal_distance_over_seeds(make_records(dims=(8,), horizons=(8,), seeds=range(10)))
    boxes = lambda ax: [p for p in ax.patches if isinstance(p, matplotlib.patches.PathPatch)]  # noqa: E731
    assert boxes(few) == [] and len(boxes(many)) == 5
    assert len(few.lines) >= 10           # seeds as points and a mean bar per planner
    matplotlib.pyplot.close("all")


def test_report_figures_are_paper_sized_with_readable_text_and_no_figure_numbers(res10):
    for key, build in F.BUILDERS.items():
        with fplot.style():
            fig = build(res10, PAPER)
        width = fig.get_size_inches()[0]
        assert width == pytest.approx(3.5 if F.FIGURES[key][2] == "one" else 7.2), key
        texts = _texts(fig)
        assert texts and min(t.get_fontsize() for t in texts) >= 8, key
        assert not any(t.get_text().lower().startswith("figure") for t in texts), key


def test_log_log_panel_has_several_labelled_ticks(res10):
    fig = F.fig4(res10, PAPER)
    axl = fig.axes[1]
    fig.canvas.draw()
    lo, hi = axl.get_ylim()
    shown = [t for t in axl.get_yticks() if lo <= t <= hi]
    assert axl.get_yscale() == "log" and len(shown) >= 3
    assert any("slope" in t.get_text() for t in _texts(fig))


def test_reference_line_is_drawn_above_the_curves(res10):
    ax = F.fig2(res10, PAPER).axes[0]
    ref = next(line for line in ax.lines if "full rank" in line.get_label())
    others = [line.get_zorder() for line in ax.lines if line is not ref]
    assert ref.get_zorder() > max(others)


def test_captions_match_what_is_drawn(res10):
    for key in ("fig3", "fig6", "fig8"):
        caption = F.FIGURES[key][1]
        assert "white diamonds" in caption and "cross" not in caption
        ax = F.BUILDERS[key](res10, PAPER).axes[0]
        paper_marks = [line for line in ax.lines if line.get_marker() == "D" and line.get_markerfacecolor() == "white"]
        assert paper_marks, key
    few = Results(make_records(dims=(8,), horizons=(8,), seeds=range(3)))
    assert "No boxes" in F._box_note(few) and "n = 10" in F._box_note(res10)


def test_report_shows_a_hyperparameter_sweep(tmp_path, monkeypatch):
    from test_report import fake_store

    from fastplan.paper.report import write_report
    rec = with_population_sweep(make_records(dims=(4, 8, 16), seeds=range(3)))
    assert fplot.sweeps(rec) == [("cem", "population")]
    assert fplot.sweeps(make_records(dims=(4, 8), seeds=range(2))) == []
    fake_store(monkeypatch, rec, make_geometry_metrics())
    monkeypatch.setattr(F, "BUILDERS", {})           # only the sweep figure (the rest: test_report)
    results = tmp_path / "runs.h5"
    results.write_bytes(b"stand-in")
    out = write_report(str(results), str(tmp_path / "rep"))
    text = open(out["report"], encoding="utf-8").read()
    assert "## Hyperparameter sweeps (beyond the paper)" in text and "sweep-cem-population.png" in text
    assert (tmp_path / "rep" / "sweep-cem-population.pdf").is_file()
    # the paper's verdicts use the defaults only: the same as without the sweep's variants
    fake_store(monkeypatch, make_records(dims=(4, 8, 16), seeds=range(3)), make_geometry_metrics())
    plain = write_report(str(results), str(tmp_path / "plain"))
    verdicts = lambda o: [(c.key, c.verdict) for c in o["claims"]]  # noqa: E731
    assert verdicts(out) == verdicts(plain)
    ax = fplot.hyperparameter_sweep(rec, "cem", "population")
    assert [c.get_label() for c in ax.containers] == ["100", "200", "400"]      # one line per value
    g = {c.get_label(): c.lines[0].get_ydata() for c in ax.containers}
    assert np.all(g["400"] < g["200"]) and np.all(g["200"] < g["100"])    # the made-up trend is drawn
    with pytest.raises(ValueError, match="no hyperparameter"):
        fplot.hyperparameter_sweep(rec, "cem", "lr")
    matplotlib.pyplot.close("all")
