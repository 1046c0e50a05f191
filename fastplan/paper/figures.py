"""Figures 1-8 of the paper from a results file (matplotlib, Agg canvas, PNG and PDF).

=========  ===============================================================================
fig1       Planning amenability (Eq. 12) vs latent dimension, per geometry.
fig2       Effective dimension (participation ratio, Eq. 13) vs latent dimension.
fig3       Goal distance per planner and geometry at d=8, h=8 (the paper's Table 1 as
           markers).
fig4       Geometry-averaged goal distance vs latent dimension (h=8): linear axes and
           log-log axes with the fitted slopes (slope > 1 = superlinear).
fig5       Goal distance vs planning horizon on VAE, d=8 (the paper's Table 3 as markers).
fig6       Distribution of goal distance over seeds on VAE, d=8, h=8.
fig7       Smoothness (Eq. 11) vs goal distance on VAE, d=8, h=8, per seed and per planner.
fig8       World-model rollouts (samples) per planner on VAE, d=8, h=8 (the paper's
           Table 4 as markers).
=========  ===============================================================================

Points are means over seeds; error bars are 95% Student-t confidence intervals of the mean
(drawn only where there is spread).  Every goal-distance figure also shows the baselines:
``a = 0`` (goal distance of the zero action sequence) and ``||s0 - s*||`` (the start's
distance), means over the same seeds.  Figures are built on ``matplotlib.figure.Figure``
directly (no pyplot state), so they are safe to build from any thread or process.
"""
from __future__ import annotations

import os

import numpy as np

from . import (PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS as PLANNERS, geometry_label, geometry_style,
               planner_label, planner_style)
from .results import BASE_D, BASE_GEOMETRY, BASE_H, PAPER_HORIZONS, Results
from .stats import make_stat
from .tables import _paper


GOAL_LABEL = r"Goal distance $\Vert s_T - s^*\Vert_2$ (state units)"
SMOOTH_LABEL = r"Smoothness $(1/T)\,\sum_t \Vert s_t - s_{t-1}\Vert_2$ (state units/step)"
DIM_LABEL = "Latent dimension d"
FIGSIZE = (7.6, 4.4)
DPI = 150

#: key -> (title, caption) as in the paper, adapted to what the figure shows.
FIGURES = {
    "fig1": ("Planning amenability vs latent dimension",
             "Planning amenability (Eq. 12) per geometry; mean and 95% CI over seeds. The legend gives the paper's "
             "reported range."),
    "fig2": ("Effective dimension vs latent dimension",
             "Effective dimension (participation ratio of the covariance eigenvalues, Eq. 13); dashed: full rank "
             "d_eff = d. The legend gives the paper's reported range."),
    "fig3": ("Goal distance per planner and geometry (d=8, h=8)",
             "Bars: mean over seeds, error bars: 95% CI of the mean; black diamonds: the paper's Table 1; "
             "dashed: a = 0 (no planning), dotted: ||s0 − s*|| (the same on every geometry)."),
    "fig4": ("Goal distance vs latent dimension (h=8, averaged over geometries)",
             "Left: linear axes. Right: log-log axes with the least-squares slope per planner; dashed grey: "
             "slope 1. A slope above 1 is superlinear growth. Black dashed: a = 0, black dotted: ||s0 − s*|| "
             "(they grow like √d too). Error bars: 95% CI of the mean."),
    "fig5": ("Goal distance vs planning horizon (VAE, d=8)",
             "Mean and 95% CI over seeds; hollow markers and dotted lines: the paper's Table 3 (CEM, diffusion); "
             "black dashed: a = 0, black dotted: ||s0 − s*||."),
    "fig6": ("Goal distance over seeds (VAE, d=8, h=8)",
             "Box: quartiles and median over seeds; dots: individual seeds; σ: std over seeds; "
             "black diamonds: the paper's Table 1 (means); dashed: a = 0, dotted: ||s0 − s*|| (means)."),
    "fig7": ("Smoothness vs goal distance (VAE, d=8, h=8)",
             "Small dots: single seeds; large markers with error bars: mean and 95% CI over seeds; "
             "hollow black-edged markers: the paper (Table 1 goal distance, Table 4 smoothness); vertical "
             "dashed: a = 0, dotted: ||s0 − s*|| (goal distances of the baselines)."),
    "fig8": ("World-model rollouts per planner (VAE, d=8, h=8)",
             "Samples = world-model rollouts a planner performed, counted in the kernel; black diamonds: the "
             "paper's Table 4. The baselines need no planning (a = 0 is one rollout)."),
}


def _new_figure(ncols: int = 1, figsize=FIGSIZE):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _legend_right(fig, ax):
    """One legend outside the axes, to the right (never over the data)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=8, loc="outside right upper")


def _no_data(ax, what: str):
    ax.text(0.5, 0.5, f"No data in the results file\nfor {what}", ha="center", va="center",
            transform=ax.transAxes, fontsize=11, color="0.35")


def _err(half):
    """Error-bar array (95% CI half-widths) with NaN -> 0, or None when there is no spread at all."""
    s = np.asarray(half, dtype=float)
    s = np.where(np.isfinite(s), s, 0.0)
    return s if np.any(s > 0) else None


_BASE_STYLE = {"zero_action_distance": ("--", "a = 0 (no planning)"),
               "initial_distance": (":", r"$\Vert s_0 - s^*\Vert$ (start)")}


def _hlines(ax, res: Results, geometry: str, d: int, horizon: int, label: bool = True):
    """Horizontal lines at the mean of each baseline in one cell."""
    for name, (ls, lab) in _BASE_STYLE.items():
        s = res.baseline(name, geometry, d, horizon)
        if not s.empty:
            ax.axhline(s.mean, color="black", ls=ls, lw=1.1, zorder=1, label=lab if label else None)


def _vlines(ax, res: Results, geometry: str, d: int, horizon: int):
    for name, (ls, lab) in _BASE_STYLE.items():
        s = res.baseline(name, geometry, d, horizon)
        if not s.empty:
            ax.axvline(s.mean, color="black", ls=ls, lw=1.1, zorder=1, label=lab)


def _log2_axis(ax, ticks):
    ticks = sorted(set(int(t) for t in ticks))
    if len(ticks) >= 2:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlim(ticks[0] / 1.25, ticks[-1] * 1.25)
    elif ticks:
        ax.set_xticks(ticks)


def _dodge(xs, i: int, n: int = len(PLANNERS), step: float = 0.035):
    """Shift x positions on a log2 axis a little per series so error bars do not overlap."""
    return [x * 2.0 ** (step * (i - (n - 1) / 2)) for x in xs]


# --------------------------------------------------------------------------- figures
def _geometry_metric_figure(res: Results, paper: dict, metric: str, ylabel: str, ranges_key: str,
                            identity: bool = False):
    fig, (ax,) = _new_figure()
    plotted = False
    for j, g in enumerate(KINDS):
        dims, mean, std = [], [], []
        for d in res.gdims:
            s = res.gstat(metric, g, d)
            if not s.empty:
                dims.append(d)
                mean.append(s.mean)
                std.append(s.half_width)
        pr = _paper(paper, ranges_key, g)
        label = geometry_label(g) + (f" (paper: {pr[0]}–{pr[1]})" if pr else "")
        if not dims:
            continue
        ax.errorbar(_dodge(dims, j, n=len(KINDS)), mean, yerr=_err(std), color=geometry_style(g)[0],
                    marker=geometry_style(g)[1],
                    capsize=3, lw=1.6, ms=6, label=label)
        plotted = True
    if identity and res.gdims:
        ds = np.asarray(res.gdims, dtype=float)
        ax.plot(ds, ds, ls="--", color="0.5", lw=1, label=r"full rank ($d_{\mathrm{eff}} = d$)")
    if not plotted:
        _no_data(ax, "the geometry metrics")
    _log2_axis(ax, res.gdims)
    ax.set_xlabel(DIM_LABEL)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if plotted:
        _legend_right(fig, ax)
    return fig


def fig1(res: Results, paper: dict):
    """Planning amenability vs d per geometry."""
    fig = _geometry_metric_figure(res, paper, "amenability", "Planning amenability $\\mathcal{A}$ (Eq. 12, unitless)",
                                  "amenability_ranges")
    fig.axes[0].set_title("Figure 1: planning amenability vs dimension", fontsize=11)
    return fig


def fig2(res: Results, paper: dict):
    """Effective dimension vs d per geometry, with the full-rank line."""
    fig = _geometry_metric_figure(res, paper, "effective_dimension",
                                  r"Effective dimension $d_{\mathrm{eff}}$ (Eq. 13, dimensions)",
                                  "effective_dimension_ranges", identity=True)
    ax = fig.axes[0]
    if res.gdims and len(res.gdims) >= 2:
        ax.set_yscale("log", base=2)
        ticks = [t for t in (1, 2, 4, 8, 16, 32, 64, 128) if t <= 1.3 * max(res.gdims)]
        ax.set_yticks(ticks)
        ax.set_yticklabels([str(t) for t in ticks])
    ax.set_title("Figure 2: effective dimension vs dimension", fontsize=11)
    return fig


def fig3(res: Results, paper: dict, d: int = BASE_D, horizon: int = BASE_H):
    """Grouped bars: goal distance per planner (groups) and geometry (bars)."""
    fig, (ax,) = _new_figure(figsize=(8.4, 4.4))
    x = np.arange(len(PLANNERS))
    width = 0.26
    any_data = False
    paper_x, paper_y, missing_x = [], [], []
    for j, g in enumerate(KINDS):
        xs = x + (j - 1) * width
        stats = [res.stat("goal_distance", p, g, d, horizon) for p in PLANNERS]
        mean = np.array([s.mean for s in stats])
        std = np.array([s.half_width for s in stats])
        ok = np.isfinite(mean)
        if ok.any():
            any_data = True
            ax.bar(xs[ok], mean[ok], width * 0.95, yerr=_err(std[ok]), capsize=2.5, color=geometry_style(g)[0],
                   label=f"{geometry_label(g)}-{d}d", error_kw={"lw": 1})
        for i, p in enumerate(PLANNERS):
            if not ok[i]:
                missing_x.append(xs[i])
            pv = _paper(paper, "table1", "values", p, g)
            if pv is not None:
                paper_x.append(xs[i])
                paper_y.append(pv)
    if paper_x:
        ax.plot(paper_x, paper_y, "D", mfc="white", mec="black", ms=5, mew=1.3, ls="", zorder=5,
                label="paper (Table 1)")
    _hlines(ax, res, KINDS[0], d, horizon)
    if not any_data:
        _no_data(ax, f"d={d}, h={horizon}")
    else:
        for xm in missing_x:
            ax.text(xm, 0.02, "missing", ha="center", va="bottom", fontsize=7, rotation=90, color="0.4",
                    transform=ax.get_xaxis_transform())
    ax.set_xticks(x)
    ax.set_xticklabels([planner_label(p) for p in PLANNERS])
    ax.set_xlabel("Planner")
    ax.set_ylabel(GOAL_LABEL)
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", alpha=0.3)
    _legend_right(fig, ax)
    ax.set_title(f"Figure 3: goal distance per planner and geometry (d={d}, h={horizon})", fontsize=11)
    return fig


def fig4(res: Results, paper: dict, horizon: int = BASE_H):
    """Geometry-averaged goal distance vs d, linear and log-log with slopes."""
    from .bootstrap import loglog_slope
    from .claims import scaling

    fig, (ax, axl) = _new_figure(ncols=2, figsize=(11.0, 4.4))
    all_dims, any_data, refs = set(), False, []
    for i, p in enumerate(PLANNERS):
        sc = scaling(res, p, horizon)
        if not sc["dims"]:
            continue
        any_data = True
        all_dims.update(sc["dims"])
        kw = dict(color=planner_style(p)[0], marker=planner_style(p)[1], capsize=3, lw=1.6, ms=5)
        xs = _dodge(sc["dims"], i)
        half = [(hi - lo) / 2 for lo, hi in sc["ci"]]
        ax.errorbar(xs, sc["G"], yerr=_err(half), **kw)
        slope = sc["slope"]
        lab = planner_label(p) + (f"\n(log-log slope {slope:.2f})" if np.isfinite(slope) else "")
        axl.errorbar(xs, sc["G"], yerr=_err(half), label=lab, **kw)
        refs.append((sc["dims"][0], sc["G"][0]))
    for name, (ls, lab) in _BASE_STYLE.items():
        pts = [(d, res.baseline_average(name, d, horizon)) for d in sorted(all_dims)]
        pts = [(d, st.mean) for d, st in pts if st is not None and not st.empty]
        if len(pts) >= 2:
            slope = loglog_slope([d for d, _ in pts], np.array([y for _, y in pts]))
            for a in (ax, axl):
                a.plot([d for d, _ in pts], [y for _, y in pts], color="black", ls=ls, lw=1.1,
                       label=f"{lab}\n(slope {slope:.2f})" if a is axl else None)
    if not any_data:
        _no_data(ax, f"goal distance on all three geometries (h={horizon})")
        _no_data(axl, "a log-log slope")
    else:
        d0 = min(all_dims)
        y0 = float(np.median([y for dd, y in refs if dd == d0] or [refs[0][1]]))
        ds = np.array(sorted(all_dims), dtype=float)
        if y0 > 0:
            axl.plot(ds, y0 * ds / ds[0], ls="--", color="0.5", lw=1, label="slope 1 (linear)")
        axl.set_yscale("log")
        fig.legend(*axl.get_legend_handles_labels(), fontsize=8, loc="outside right center")
    for a in (ax, axl):
        _log2_axis(a, all_dims)
        a.set_xlabel(DIM_LABEL)
        a.grid(alpha=0.3, which="both")
    ax.set_ylabel("Mean goal distance over geometries (state units)")
    axl.set_ylabel("Mean goal distance (log scale)")
    ax.set_title("Linear axes", fontsize=10)
    axl.set_title("Log-log axes", fontsize=10)
    fig.suptitle(f"Figure 4: goal distance vs latent dimension (h={horizon}, averaged over geometries)",
                 fontsize=11)
    return fig


def fig5(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D):
    """Goal distance vs horizon per planner, with the paper's Table 3."""
    fig, (ax,) = _new_figure()
    hs_all, any_data = set(), False
    for i, p in enumerate(PLANNERS):
        hs, mean, std = [], [], []
        for h in res.horizons:
            s = res.stat("goal_distance", p, geometry, d, h)
            if not s.empty:
                hs.append(h)
                mean.append(s.mean)
                std.append(s.half_width)
        if hs:
            any_data = True
            hs_all.update(hs)
            ax.errorbar(_dodge(hs, i), mean, yerr=_err(std), color=planner_style(p)[0], marker=planner_style(p)[1],
                        capsize=3, lw=1.6, ms=5, label=planner_label(p))
        pv = _paper(paper, "table3", "values", p)
        if pv:
            ph = sorted(int(h) for h in pv)
            hs_all.update(ph)
            ax.plot(ph, [pv[str(h)] for h in ph], ls=":", marker=planner_style(p)[1], mfc="none",
                    color=planner_style(p)[0], ms=7, lw=1.2, label=f"{planner_label(p)} (paper)")
    for name, (ls, lab) in _BASE_STYLE.items():
        pts = [(h, res.baseline(name, geometry, d, h)) for h in sorted(res.horizons)]
        pts = [(h, st.mean) for h, st in pts if not st.empty]
        if pts:
            ax.plot([h for h, _ in pts], [y for _, y in pts], color="black", ls=ls, lw=1.1, label=lab)
    if not any_data:
        _no_data(ax, f"{geometry_label(geometry)}, d={d}")
    _log2_axis(ax, hs_all or PAPER_HORIZONS)
    ax.set_xlabel("Planning horizon h (steps)")
    ax.set_ylabel(GOAL_LABEL)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    _legend_right(fig, ax)
    ax.set_title(f"Figure 5: goal distance vs horizon ({geometry_label(geometry)}, d={d})", fontsize=11)
    return fig


def fig6(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D, horizon: int = BASE_H):
    """Box plots and individual seeds of goal distance per planner."""
    fig, (ax,) = _new_figure()
    pos, data, any_data = [], [], False
    top = 0.0
    for i, p in enumerate(PLANNERS):
        s = res.stat("goal_distance", p, geometry, d, horizon)
        if s.empty:
            ax.text(i, 0.02, "missing", ha="center", va="bottom", fontsize=8, color="0.4", rotation=90)
            continue
        any_data = True
        pos.append(i)
        data.append(s.values)
        top = max(top, float(np.max(s.values)))
        # deterministic jitter (no random numbers): spread seeds evenly across the box
        jitter = np.linspace(-0.18, 0.18, s.n) if s.n > 1 else np.zeros(1)
        ax.plot(i + jitter, s.values, "o", ms=3.5, alpha=0.7, color=planner_style(p)[0], zorder=3)
    if data:
        bp = ax.boxplot(data, positions=pos, widths=0.55, showfliers=False, patch_artist=True, zorder=2)
        for patch, i in zip(bp["boxes"], pos):
            patch.set_facecolor(planner_style(PLANNERS[i])[0])
            patch.set_alpha(0.25)
        for med in bp["medians"]:
            med.set_color("black")
    px, py = [], []
    for i, p in enumerate(PLANNERS):
        pv = _paper(paper, "table1", "values", p, geometry)
        if pv is not None and d == BASE_D and horizon == BASE_H:
            px.append(i)
            py.append(pv)
            top = max(top, pv)
    if px:
        ax.plot(px, py, "D", mfc="white", mec="black", ms=6, mew=1.3, ls="", zorder=4,
                label="paper mean\n(Table 1)")
    _hlines(ax, res, geometry, d, horizon)
    for name in _BASE_STYLE:
        s = res.baseline(name, geometry, d, horizon)
        top = max(top, s.mean) if not s.empty else top
    _legend_right(fig, ax)
    if not any_data:
        _no_data(ax, f"{geometry_label(geometry)}, d={d}, h={horizon}")
    else:
        ax.set_ylim(0, top * 1.18 if top > 0 else 1)
        for i, vals in zip(pos, data):
            if len(vals) >= 2:
                ax.text(i, top * 1.1, f"σ={np.std(vals, ddof=1):.3f}", ha="center", fontsize=7.5)
    ax.set_xticks(range(len(PLANNERS)))
    ax.set_xticklabels([planner_label(p) for p in PLANNERS])
    ax.set_xlim(-0.6, len(PLANNERS) - 0.4)
    ax.set_xlabel("Planner")
    ax.set_ylabel(GOAL_LABEL)
    ax.grid(axis="y", alpha=0.3)
    n = max((len(v) for v in data), default=0)
    ax.set_title(f"Figure 6: goal distance over {n} seeds ({geometry_label(geometry)}, d={d}, h={horizon})",
                 fontsize=11)
    return fig


def fig7(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D, horizon: int = BASE_H):
    """Smoothness vs goal distance: seeds, means and the paper's points."""
    from matplotlib.lines import Line2D

    fig, (ax,) = _new_figure()
    handles, any_data, has_paper = [], False, False
    for p in PLANNERS:
        gd = res.seed_values("goal_distance", p, geometry, d, horizon)
        sm = res.seed_values("smoothness", p, geometry, d, horizon)
        seeds = [s for s in gd if s in sm and np.isfinite(gd[s]) and np.isfinite(sm[s])]
        c = planner_style(p)[0]
        if seeds:
            any_data = True
            x = np.array([gd[s] for s in seeds])
            y = np.array([sm[s] for s in seeds])
            ax.plot(x, y, ".", color=c, alpha=0.35, ms=5)
            xe, ye = make_stat(x).half_width, make_stat(y).half_width
            xe, ye = (xe if np.isfinite(xe) else 0.0), (ye if np.isfinite(ye) else 0.0)
            ax.errorbar([x.mean()], [y.mean()], xerr=[xe] if xe > 0 else None, yerr=[ye] if ye > 0 else None,
                        marker=planner_style(p)[1], color=c, ms=8, capsize=3, mec="black", mew=0.6, zorder=4)
            handles.append(Line2D([], [], color=c, marker=planner_style(p)[1], ls="", ms=7, mec="black",
                                  mew=0.6, label=planner_label(p)))
        pg = _paper(paper, "table1", "values", p, geometry)
        ps = _paper(paper, "table4", "values", p, "smoothness")
        if pg is not None and ps is not None and (d, horizon) == (BASE_D, BASE_H) and geometry == BASE_GEOMETRY:
            has_paper = True
            ax.plot([pg], [ps], marker=planner_style(p)[1], mfc="none", mec=c, ms=10, mew=1.8, ls="", zorder=5)
    if has_paper:
        handles.append(Line2D([], [], color="black", marker="o", mfc="none", ls="", ms=8, label="paper"))
    _vlines(ax, res, geometry, d, horizon)
    for name, (ls, lab) in _BASE_STYLE.items():
        if not res.baseline(name, geometry, d, horizon).empty:
            handles.append(Line2D([], [], color="black", ls=ls, lw=1.1, label=lab))
    if any_data:
        handles.append(Line2D([], [], color="0.4", marker=".", ls="", alpha=0.6, label="single seed"))
    else:
        _no_data(ax, f"{geometry_label(geometry)}, d={d}, h={horizon}")
    ax.set_xlabel(GOAL_LABEL)
    ax.set_ylabel(SMOOTH_LABEL)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if handles:
        fig.legend(handles=handles, fontsize=8, loc="outside right upper")
    ax.set_title(f"Figure 7: smoothness vs goal distance ({geometry_label(geometry)}, d={d}, h={horizon})",
                 fontsize=11)
    return fig


def fig8(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D, horizon: int = BASE_H):
    """Bars of samples (world-model rollouts) per planner, with the paper's Table 4."""
    fig, (ax,) = _new_figure()
    x = np.arange(len(PLANNERS))
    stats = [res.stat("samples", p, geometry, d, horizon) for p in PLANNERS]
    mean = np.array([s.mean for s in stats])
    std = np.array([s.half_width for s in stats])
    ok = np.isfinite(mean)
    pv = [_paper(paper, "table4", "values", p, "samples") for p in PLANNERS]
    vals = [v for v in list(mean[ok]) + [v for v in pv if v is not None] if v > 0]
    if ok.any():
        ax.bar(x[ok], mean[ok], 0.6, yerr=_err(std[ok]), capsize=3,
               color=[planner_style(p)[0] for p, k in zip(PLANNERS, ok) if k], alpha=0.85)
    else:
        _no_data(ax, f"{geometry_label(geometry)}, d={d}, h={horizon}")
    if vals and max(vals) / min(vals) > 20:
        ax.set_yscale("log")
    px = [x[i] for i, v in enumerate(pv) if v is not None]
    py = [v for v in pv if v is not None]
    if px:
        ax.plot(px, py, "D", mfc="white", mec="black", ms=7, mew=1.5, ls="", label="paper (Table 4)", zorder=4)
    if ax.get_yscale() != "log":
        ax.set_ylim(0, (max(vals) if vals else 1.0) * 1.12)
    labels = []
    for i, p in enumerate(PLANNERS):
        ours = f"{mean[i]:.0f}" if ok[i] else "missing"
        paper_txt = f"{pv[i]:.0f}" if pv[i] is not None else "—"
        labels.append(f"{planner_label(p)}\nours {ours}\npaper {paper_txt}")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, fontsize=8.5)
    ax.set_xlabel("Planner")
    ax.set_ylabel("World-model rollouts per plan (samples)")
    ax.grid(axis="y", alpha=0.3)
    handles, names = ax.get_legend_handles_labels()
    if ok.any():
        from matplotlib.patches import Patch

        handles.insert(0, Patch(facecolor="0.6", label="ours: mean over seeds"))
        names.insert(0, "ours: mean over seeds")
    if handles:
        fig.legend(handles, names, fontsize=8, loc="outside right upper")
    ax.set_title(f"Figure 8: rollouts per planner ({geometry_label(geometry)}, d={d}, h={horizon})", fontsize=11)
    return fig


BUILDERS = {"fig1": fig1, "fig2": fig2, "fig3": fig3, "fig4": fig4, "fig5": fig5, "fig6": fig6,
            "fig7": fig7, "fig8": fig8}


def save(fig, out_dir: str, key: str) -> list[str]:
    """Write ``fig`` as ``<key>.png`` and ``<key>.pdf`` in ``out_dir`` (atomic replace)."""
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"{key}.{ext}")
        tmp = path + ".tmp"
        meta = {"Software": None} if ext == "png" else {"Creator": None, "Producer": None, "CreationDate": None}
        fig.savefig(tmp, format=ext, metadata=meta)
        os.replace(tmp, path)
        paths.append(path)
    return paths


def write_figures(res: Results, paper: dict, out_dir: str) -> list[dict]:
    """Build and save Figures 1-8; return one dict per figure (key, title, caption, png, pdf)."""
    out = []
    for key, build in BUILDERS.items():
        fig = build(res, paper)
        png, pdf = save(fig, out_dir, key)
        title, caption = FIGURES[key]
        out.append({"key": key, "title": title, "caption": caption, "png": png, "pdf": pdf})
    return out
