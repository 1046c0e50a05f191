"""Figures 1-8 of the paper, the equal-budget figure and the hyperparameter-sweep figures.

=========  ===============================================================================
fig1       Planning amenability (Eq. 12) vs latent dimension, per geometry.
fig2       Effective dimension (participation ratio, Eq. 13) vs latent dimension.
fig3       Goal distance per planner and geometry at d=8, h=8 (the paper's Table 1 as
           white diamonds).
fig4       Geometry-averaged goal distance vs latent dimension (h=8): linear axes and
           log-log axes with the fitted slopes (slope > 1 = superlinear).
fig5       Goal distance vs planning horizon on VAE, d=8 (the paper's Table 3 as hollow
           markers).
fig6       Goal distance over seeds on VAE, d=8, h=8 (boxes only with >= 10 seeds).
fig7       Smoothness (Eq. 11) vs goal distance on VAE, d=8, h=8, per seed and per planner.
fig8       World-model rollouts (samples) per planner on VAE, d=8, h=8 (the paper's
           Table 4 as white diamonds).
budget     Goal distance against rollouts per plan at equal budgets, one line per planner
           and a panel per geometry (beyond the paper; when the file has budget runs).
sweep-*    One line per value of a hyperparameter the file sweeps (beyond the paper).
=========  ===============================================================================

Every figure that draws goal distance (3-7, budget, sweeps) also draws the trivial
baselines, the ``a = 0`` distance and ``||s0 - s*||``, as thin black lines with a legend entry
(:data:`fastplan.plot.BASELINE_LABELS`).  Runs that differ only in the count a planner's
budget sets (``fastplan sweep --budget``) are equal-budget runs, never a hyperparameter sweep.

Every figure is drawn by the public plotting API (:mod:`fastplan.plot`) at paper size (one
column 3.5 in, two columns 7.2 in; text at 8 pt) with no figure number in it: numbers and
captions belong to the report.  Figures are built on ``matplotlib.figure.Figure`` directly
(no pyplot state), so they are safe to build from any thread or process.
"""
from __future__ import annotations

import os

import numpy as np

from . import PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS as PLANNERS, geometry_label, planner_label
from . import plot
from .results import BASE_D, BASE_GEOMETRY, BASE_H, Results

CI = ("Intervals: 95 % percentile-bootstrap intervals of the mean over seeds (they stay inside the range "
      "of the data, so never below 0).")
#: The baselines in a caption: what the thin black lines are.
BASE = ("Thin black lines: the baselines, means over the same seeds of the goal distance after rolling out "
        "a = 0 (dashed; no planning) and of the start's distance ||s0 − s*|| (dotted).")

#: key -> (title, caption, width).  Captions describe exactly what is drawn.
FIGURES = {
    "fig1": ("Planning amenability vs latent dimension",
             "Planning amenability (Eq. 12) per geometry: mean over seeds. The legend gives the paper's reported "
             "range. " + CI, "one"),
    "fig2": ("Effective dimension vs latent dimension",
             "Effective dimension (participation ratio of the covariance eigenvalues, Eq. 13) per geometry, on "
             "log2 axes. Dashed black line, drawn on top: full rank d_eff = d (the sparse EBM lies on it). The "
             "legend gives the paper's reported range. " + CI, "one"),
    "fig3": ("Goal distance per planner and geometry (d=8, h=8)",
             "Bars: mean goal distance over seeds; white diamonds: the paper's Table 1. " + BASE
             + " {bar_baselines} " + CI, "two"),
    "fig4": ("Goal distance vs latent dimension (h=8, averaged over geometries)",
             "Per seed, the goal distance averaged over the three geometries; mean over seeds. (a) linear "
             "axes. (b) log-log axes; the legend gives each planner's and each baseline's least-squares log-log "
             "slope; thick grey line: slope 1. A slope above 1 is superlinear growth. " + BASE
             + " They are averaged over the geometries like the planners. " + CI, "two"),
    "fig5": ("Goal distance vs planning horizon (VAE, d=8)",
             "Mean over seeds per planner; hollow markers on dotted lines: the paper's Table 3 (CEM, "
             "diffusion). " + BASE + " The a = 0 distance depends on the horizon (h steps of the world "
             "without control), the start's does not. " + CI, "one"),
    "fig6": ("Goal distance over seeds (VAE, d=8, h=8)",
             "Dots: single seeds; black bars: means over seeds; white diamonds: the paper's Table 1 means. "
             + BASE + " {boxes}", "one"),
    "fig7": ("Smoothness vs goal distance (VAE, d=8, h=8)",
             "Small dots: single seeds; large markers: means over seeds with intervals in both directions; "
             "hollow markers: the paper (Table 1 goal distance, Table 4 smoothness). "
             + BASE.replace("Thin black lines", "Thin vertical black lines") + " " + CI, "one"),
    "fig8": ("World-model rollouts per planner (VAE, d=8, h=8)",
             "Bars: world-model rollouts per plan counted in the kernels (mean over seeds, written on each "
             "bar); white diamonds: the paper's Table 4. No baselines: they plan nothing (a = 0 is one "
             "rollout).", "one"),
}
MIN_BOX = 10


def _new(width: str, ncols: int = 1, height: float | None = None):
    return plot.figure(width, height, ncols, pyplot=False)


def fig1(res: Results, paper: dict):
    fig, ax = _new("one")
    plot.geometry_metric_vs_dim(res, "amenability", ax, geometries=KINDS, paper=paper)
    return fig


def fig2(res: Results, paper: dict):
    fig, ax = _new("one")
    plot.geometry_metric_vs_dim(res, "effective_dimension", ax, geometries=KINDS, paper=paper)
    return fig


def fig3(res: Results, paper: dict, d: int = BASE_D, horizon: int = BASE_H):
    fig, ax = _new("two", height=2.6)
    plot.goal_distance_by_planner(res, ax, d=d, horizon=horizon, planners=PLANNERS, geometries=KINDS, paper=paper)
    return fig


def fig4(res: Results, paper: dict, horizon: int = BASE_H):
    fig, (ax, axl) = _new("two", ncols=2, height=3.0)
    plot.goal_distance_vs_dim(res, ax, horizon=horizon, planners=PLANNERS)
    plot.goal_distance_vs_dim(res, axl, horizon=horizon, planners=PLANNERS, loglog=True)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    _shared_legend(fig, [axl], ncol=3)          # one legend for both: the labels with slopes
    ax.set_title("(a) linear axes", loc="left")
    axl.set_title("(b) log-log axes", loc="left")
    axl.set_ylabel("Goal distance (log scale)")
    return fig


def fig5(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D):
    fig, ax = _new("one", height=3.0)
    plot.goal_distance_vs_horizon(res, ax, geometry=geometry, d=d, planners=PLANNERS, paper=paper)
    return fig


def fig6(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D, horizon: int = BASE_H):
    fig, ax = _new("one")
    plot.goal_distance_over_seeds(res, ax, geometry=geometry, d=d, horizon=horizon, planners=PLANNERS,
                                  min_box=MIN_BOX, paper=paper)
    return fig


def fig7(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D, horizon: int = BASE_H):
    fig, ax = _new("one", height=2.9)
    plot.smoothness_vs_goal(res, ax, geometry=geometry, d=d, horizon=horizon, planners=PLANNERS, paper=paper)
    return fig


def fig8(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D, horizon: int = BASE_H):
    fig, ax = _new("one")
    plot.rollouts_by_planner(res, ax, geometry=geometry, d=d, horizon=horizon, planners=PLANNERS, paper=paper)
    return fig


BUILDERS = {"fig1": fig1, "fig2": fig2, "fig3": fig3, "fig4": fig4, "fig5": fig5, "fig6": fig6,
            "fig7": fig7, "fig8": fig8}


def _box_note(res: Results) -> str:
    n = [res.stat("goal_distance", p, BASE_GEOMETRY, BASE_D, BASE_H).n for p in PLANNERS]
    if n and min(n) >= MIN_BOX:
        return (f"Boxes: quartiles over seeds, whiskers to 1.5 IQR, dashed line the median (n = {min(n)}"
                + (f"-{max(n)}" if max(n) > min(n) else "") + " seeds).")
    if max(n, default=0) >= MIN_BOX:
        return f"Boxes (quartiles, whiskers to 1.5 IQR, dashed median) only where there are at least {MIN_BOX} seeds."
    return f"No boxes: {max(n, default=0)} seeds are too few for quartiles (boxes need at least {MIN_BOX})."


def save(fig, out_dir: str, key: str) -> list[str]:
    """Write ``fig`` as ``<key>.png`` (300 dpi) and ``<key>.pdf`` in ``out_dir`` (atomic replace)."""
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"{key}.{ext}")
        tmp = path + ".tmp"
        meta = {"Software": None} if ext == "png" else {"Creator": None, "Producer": None, "CreationDate": None}
        fig.savefig(tmp, format=ext, metadata=meta, dpi=300 if ext == "png" else None)
        os.replace(tmp, path)
        paths.append(path)
    return paths


def _bar_baselines_note(res: Results, d: int = BASE_D, horizon: int = BASE_H) -> str:
    """How Figure 3 draws the baselines (see :func:`fastplan.plot.goal_distance_by_planner`)."""
    means = [[res.baseline(name, g, d, horizon).mean for g in KINDS] for name in plot.BASELINES]
    if all(np.all(np.isfinite(m)) and np.allclose(m, m[0], rtol=1e-9, atol=0.0) for m in means):
        return "They span all bars: every geometry has the same worlds, starts and goals at a (d, seed)."
    return "Drawn over each geometry's bars: the baselines differ between geometries."


def budget_figure(all_res: Results):
    """(key, title, caption, builder) of the equal-budget figure, or None without budget runs.

    One panel per geometry (shared y axis), one line per planner: goal distance against the
    rollouts per plan it spent, with the baselines; every seed of the file.
    """
    planners = plot.budget_planners(all_res)
    if not planners:
        return None
    d, horizon = plot.budget_cell(all_res)
    geoms = [g for g in all_res.geometries if g in KINDS] or list(all_res.geometries)
    names = ", ".join(planner_label(p) for p in planners)
    title = f"Goal distance at equal rollout budgets (d={d}, h={horizon})"
    caption = (f"Equal-budget runs beyond the paper (`fastplan sweep --budget`): each planner ({names}) "
               "at several rollout budgets, its iteration count (diffusion: denoising steps) set to spend the "
               "budget; a planner's paper defaults count at the budget they spend. x: rollouts per plan as "
               "counted in the kernels (within one iteration of the budget; log axis); y: mean goal distance "
               f"over all the file's seeds; one panel per geometry ({', '.join(geometry_label(g) for g in geoms)}), "
               "same y axis. " + BASE + " " + CI)

    def build():
        n = len(geoms)
        fig, axes = _new("two" if n > 1 else "one", ncols=n, height=2.6 if n > 1 else None)
        axes = list(axes) if n > 1 else [axes]
        for i, (ax, g) in enumerate(zip(axes, geoms)):
            plot.goal_distance_vs_budget(all_res, ax, geometry=g, d=d, horizon=horizon, planners=planners)
            if n > 1:
                ax.set_title(f"({'abcdefgh'[i]}) {geometry_label(g)}", loc="left")
            if i:
                ax.set_ylabel("")
        top = max(ax.get_ylim()[1] for ax in axes)
        for ax in axes:
            ax.set_ylim(0, top)
        if n > 1:
            _shared_legend(fig, axes, ncol=len(planners) + 2)
        return fig
    return ("budget", title, caption, build)


def _shared_legend(fig, axes, ncol: int):
    """One legend above the figure for the panels ``axes`` (each label once, baselines last)."""
    handles, labels = plot.legend_entries(axes)
    for a in axes:
        if a.get_legend() is not None:
            a.get_legend().remove()
    if handles:
        fig.legend(handles, labels, loc="outside upper center", ncol=min(ncol, len(labels)))


def sweep_figures(all_res: Results) -> list[tuple[str, str, str, object]]:
    """(key, title, caption, builder) of a figure per hyperparameter the file sweeps (equal-budget
    runs are not sweeps: see :func:`budget_figure`)."""
    out = []
    for planner, param in plot.sweeps(all_res):
        key = f"sweep-{planner}-{param}"
        title = f"{planner_label(planner)}: goal distance by {param}"
        caption = (f"Hyperparameter sweep beyond the paper: one line per value of {planner_label(planner)}'s "
                   f"`{param}` (other hyperparameters equal); per seed the goal distance averaged over the "
                   f"geometries in the file, then the mean over all the file's seeds. " + BASE + " " + CI)

        def build(p=planner, k=param):
            fig, ax = _new("one", height=2.9)
            plot.hyperparameter_sweep(all_res, p, k, ax)
            return fig
        out.append((key, title, caption, build))
    return out


def write_figures(res: Results, paper: dict, out_dir: str, all_res: Results | None = None) -> list[dict]:
    """Build and save Figures 1-8 and, from ``all_res`` (every variant, every seed), the
    equal-budget figure when it holds budget runs and one figure per swept hyperparameter;
    one dict per figure (key, title, caption, png, pdf, section: ``"paper"``, ``"budget"`` or
    ``"sweep"``)."""
    out = []
    notes = {"boxes": _box_note(res), "bar_baselines": _bar_baselines_note(res)}
    with plot.style():
        for key, build in BUILDERS.items():
            png, pdf = save(build(res, paper), out_dir, key)
            title, caption, _ = FIGURES[key]
            out.append({"key": key, "title": title, "caption": caption.format(**notes),
                        "png": png, "pdf": pdf, "section": "paper"})
        extra = []
        if all_res is not None:
            budget = budget_figure(all_res)
            extra = ([(*budget, "budget")] if budget else []) + [(*f, "sweep") for f in sweep_figures(all_res)]
        for key, title, caption, build, section in extra:
            png, pdf = save(build(), out_dir, key)
            out.append({"key": key, "title": title, "caption": caption, "png": png, "pdf": pdf, "section": section})
    return out
