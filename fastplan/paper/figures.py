"""Figures 1-8 of the paper and the hyperparameter-sweep figures, from a results file.

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
sweep-*    One line per value of a hyperparameter the file sweeps (beyond the paper).
=========  ===============================================================================

Every figure is drawn by the public plotting API (:mod:`fastplan.plot`) at paper size (one
column 3.5 in, two columns 7.2 in; text at 8 pt) with no figure number in it: numbers and
captions belong to the report.  Figures are built on ``matplotlib.figure.Figure`` directly
(no pyplot state), so they are safe to build from any thread or process.
"""
from __future__ import annotations

import os

from . import PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS as PLANNERS, planner_label
from . import plot
from .results import BASE_D, BASE_GEOMETRY, BASE_H, Results

CI = ("Intervals: 95 % percentile-bootstrap intervals of the mean over seeds (they stay inside the range "
      "of the data, so never below 0).")

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
             "Bars: mean goal distance over seeds; white diamonds: the paper's Table 1. " + CI, "two"),
    "fig4": ("Goal distance vs latent dimension (h=8, averaged over geometries)",
             "Per seed, the goal distance averaged over the three geometries; mean over seeds. (a) linear "
             "axes. (b) log-log axes; the legend gives each planner's least-squares log-log slope; dashed: slope 1. "
             "A slope above 1 is superlinear growth. " + CI, "two"),
    "fig5": ("Goal distance vs planning horizon (VAE, d=8)",
             "Mean over seeds per planner; hollow markers on dotted lines: the paper's Table 3 (CEM, "
             "diffusion). " + CI, "one"),
    "fig6": ("Goal distance over seeds (VAE, d=8, h=8)",
             "Dots: single seeds; black bars: means over seeds; white diamonds: the paper's Table 1 means. "
             "{boxes}", "one"),
    "fig7": ("Smoothness vs goal distance (VAE, d=8, h=8)",
             "Small dots: single seeds; large markers: means over seeds with intervals in both directions; "
             "hollow markers: the paper (Table 1 goal distance, Table 4 smoothness). " + CI, "one"),
    "fig8": ("World-model rollouts per planner (VAE, d=8, h=8)",
             "Bars: world-model rollouts per plan counted in the kernels (mean over seeds, written on each "
             "bar); white diamonds: the paper's Table 4.", "one"),
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
    handles, labels = axl.get_legend_handles_labels()      # one legend for both: labels with slopes
    for a in (ax, axl):
        if a.get_legend() is not None:
            a.get_legend().remove()
    if handles:
        order = sorted(range(len(labels)), key=lambda i: labels[i] == "slope 1")
        fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside upper center",
                   ncol=3)
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


def sweep_figures(all_res: Results) -> list[tuple[str, str, str, object]]:
    """(key, title, caption, builder) of a figure per hyperparameter the file sweeps."""
    out = []
    for planner, param in plot.sweeps(all_res):
        key = f"sweep-{planner}-{param}"
        title = f"{planner_label(planner)}: goal distance by {param}"
        caption = (f"Hyperparameter sweep beyond the paper: one line per value of {planner_label(planner)}'s "
                   f"`{param}` (other hyperparameters equal); per seed the goal distance averaged over the "
                   f"geometries in the file, then the mean over seeds. " + CI)

        def build(p=planner, k=param):
            fig, ax = _new("one")
            plot.hyperparameter_sweep(all_res, p, k, ax)
            return fig
        out.append((key, title, caption, build))
    return out


def write_figures(res: Results, paper: dict, out_dir: str, all_res: Results | None = None) -> list[dict]:
    """Build and save Figures 1-8 and, when ``all_res`` (every variant) holds a hyperparameter
    sweep, one figure per swept hyperparameter; one dict per figure (key, title, caption,
    png, pdf, sweep)."""
    out = []
    with plot.style():
        for key, build in BUILDERS.items():
            png, pdf = save(build(res, paper), out_dir, key)
            title, caption, _ = FIGURES[key]
            out.append({"key": key, "title": title, "caption": caption.format(boxes=_box_note(res)),
                        "png": png, "pdf": pdf, "sweep": False})
        for key, title, caption, build in sweep_figures(all_res) if all_res is not None else []:
            png, pdf = save(build(), out_dir, key)
            out.append({"key": key, "title": title, "caption": caption, "png": png, "pdf": pdf, "sweep": True})
    return out
