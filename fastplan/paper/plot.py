"""Plotting API: the report's figures as functions of your own results (``fastplan.plot``).

Every function takes ``data`` (a results-file path, a :func:`fastplan.load` records dict or
DataFrame, tidy or not, or a :class:`~fastplan.paper.results.Results`) and an optional
matplotlib ``ax``; it draws into ``ax`` (a new one-column figure when None) and returns
``ax``.  Nothing here plans: it only reads results.

Conventions
-----------
* Points and bars are means over seeds.  Intervals (``interval=``):
  ``"ci"`` (default) a 95 % percentile-bootstrap interval of the mean over seeds (4000
  resamples, fixed generator, so the same data always gives the same figure).  It lies
  inside the range of the data, so it never goes below 0 for a non-negative quantity;
  ``"sd"`` mean +- the sample standard deviation (ddof 1), clipped at 0 below (the
  quantities drawn are non-negative); ``None`` no interval.  One seed: no interval.
* Distributions over seeds (:func:`goal_distance_over_seeds`) are box plots only with at
  least ``min_box`` (10) seeds; with fewer, the seeds are drawn as points with their mean.
* When the data hold several hyperparameter variants of a planner, the paper's defaults
  (else the variant with most runs) are drawn; :func:`hyperparameter_sweep` draws them all.
* Baselines (``baselines=True``, every goal-distance plot): the mean over seeds of the goal
  distance after rolling out ``a = 0`` (dashed) and of the start's distance ``||s0 - s*||``
  (dotted), thin black lines labelled :data:`BASELINE_LABELS` (legend keys after the data).
* Equal budgets: runs of a planner that differ only in the count its rollout budget sets
  (its registry ``for_budget``: ``iterations``; diffusion's ``steps``), as ``fastplan sweep
  --budget`` makes them, are equal-budget runs (:func:`budget_planners`,
  :func:`goal_distance_vs_budget`), never a hyperparameter sweep (:func:`sweeps`).
* ``paper=True`` (or a dict like ``data/paper_values.json``) adds the paper's reported
  values as white diamonds (hollow markers on lines).
* Sizes: :data:`ONE_COLUMN` (3.5 in) and :data:`TWO_COLUMN` (7.2 in) wide, text at 8 pt
  (:data:`STYLE`); :func:`figure` makes either.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os

import numpy as np

from . import PAPER_GEOMETRIES, geometry_label, geometry_style, planner_label, planner_style

ONE_COLUMN = 3.5        # inches: one column of a two-column paper
TWO_COLUMN = 7.2        # inches: the full text width
#: Matplotlib settings of fastplan's figures: every text at >= 8 pt at print size.
STYLE = {
    "font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "legend.fontsize": 8, "legend.title_fontsize": 8,
    "figure.titlesize": 9, "lines.linewidth": 1.3, "lines.markersize": 4.5,
    "errorbar.capsize": 2.0, "axes.linewidth": 0.7, "grid.linewidth": 0.5,
    "legend.frameon": False, "legend.handlelength": 1.6, "legend.columnspacing": 1.0,
    "savefig.dpi": 300, "figure.dpi": 150, "pdf.fonttype": 42,
}
INTERVALS = ("ci", "sd", None)
GOAL_LABEL = r"Goal distance $\Vert s_T - s^*\Vert_2$"
SMOOTH_LABEL = r"Smoothness (Eq. 11)"
DIM_LABEL = "Latent dimension $d$"
PAPER_MARKER = {"marker": "D", "mfc": "white", "mec": "black", "mew": 1.0, "ls": "", "zorder": 6}
#: The trivial baselines drawn in every goal-distance plot (``baselines=True``): thin dark
#: reference lines at the mean over seeds of the goal distance after rolling out ``a = 0``
#: (doing nothing) and of the start's distance ``||s0 - s*||``; run columns and legend labels.
BASELINES = {
    "zero_action_distance": {"ls": (0, (5, 2)), "label": "$a=0$ (no plan)"},
    "initial_distance": {"ls": (0, (1, 1.2)), "label": r"start $\Vert s_0-s^*\Vert$"},
}
BASELINE_LABELS = tuple(b["label"] for b in BASELINES.values())
_BASELINE_KW = {"color": "0.15", "lw": 0.9, "zorder": 1.5}

__all__ = ["ONE_COLUMN", "TWO_COLUMN", "STYLE", "BASELINE_LABELS", "figure", "style", "mean_interval",
           "goal_distance_by_planner", "goal_distance_vs_dim", "goal_distance_vs_horizon",
           "goal_distance_over_seeds", "smoothness_vs_goal", "rollouts_by_planner",
           "geometry_metric_vs_dim", "hyperparameter_sweep", "sweeps", "goal_distance_vs_budget",
           "budget_planners", "budget_cell", "anytime_curves"]


# --------------------------------------------------------------------------- figures and style
def style():
    """A context manager applying :data:`STYLE` (``with fastplan.plot.style(): ...``)."""
    import matplotlib
    return matplotlib.rc_context(STYLE)


def figure(width: str | float = "one", height: float | None = None, ncols: int = 1, *, pyplot: bool = True):
    """A new figure of paper size and its axes: ``fig, axes = figure("two", ncols=2)``.

    ``width``: ``"one"`` (3.5 in), ``"two"`` (7.2 in) or inches; ``height`` defaults to
    0.75 x the width of a panel, at most 2.8 in (2.6 in at one column).  ``pyplot=False`` builds a bare
    :class:`matplotlib.figure.Figure` (no global state; what the report uses).
    Returns ``(fig, ax)`` for one column of panels, else ``(fig, [ax, ...])``.
    """
    w = {"one": ONE_COLUMN, "two": TWO_COLUMN}.get(width, width)
    h = height if height is not None else min(0.75 * float(w) / ncols, 2.8)
    with style():
        if pyplot:
            import matplotlib.pyplot as plt
            fig = plt.figure(figsize=(float(w), h), layout="constrained")
        else:
            from matplotlib.figure import Figure
            fig = Figure(figsize=(float(w), h), layout="constrained")
        axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, (axes[0] if ncols == 1 else axes)


@contextlib.contextmanager
def _target(ax, width="one"):
    """Yield the axes to draw on: ``ax``, or a new paper-size one; drawn in :data:`STYLE`
    either way (fastplan's artists and labels at 8 pt; the rest of your figure is yours)."""
    if ax is None:
        _, ax = figure(width)
    with style():
        yield ax


# --------------------------------------------------------------------------- data
def _results(data, select: bool = True):
    """``data`` as a :class:`~fastplan.paper.results.Results` (see the module docstring)."""
    from .results import Results
    if isinstance(data, Results):
        return data
    metrics = None
    if isinstance(data, (str, os.PathLike)):
        from .. import store
        from .report import load_records
        path = os.fspath(data)
        records = load_records(path)
        metrics = store.load_geometry_metrics(path)
    elif hasattr(data, "columns") and hasattr(data, "to_numpy"):      # a DataFrame
        records = {c: _column(data[c]) for c in data.columns}
    elif isinstance(data, dict):
        records = dict(data)
    else:
        from ..engine.errors import FastplanError
        raise FastplanError(f"plot data must be a results file, a dict of columns or a DataFrame, "
                            f"got {type(data).__name__}")
    if "hyperparameters" not in records and "planner" in records:
        records["hyperparameters"] = _hp_json(records)
    return Results(records, metrics, select=select)


def _column(series) -> np.ndarray:
    """A DataFrame column as NumPy; nullable integers stay integers (NA -> None)."""
    if type(series.dtype).__module__.startswith("pandas"):        # an extension dtype (Int64, ...)
        return series.to_numpy(dtype=object, na_value=None)
    return series.to_numpy()


def _hp_json(records: dict) -> np.ndarray:
    """JSON hyperparameters rebuilt from a tidy frame's ``hp_*``, ``lam``, ``gradient`` columns."""
    n = len(np.asarray(records["planner"]).ravel())
    cols = {k[3:]: np.asarray(v, dtype=object) for k, v in records.items() if k.startswith("hp_")}
    for k in ("lam", "gradient"):
        if k in records:
            cols[k] = np.asarray(records[k], dtype=object)
    out = []
    for i in range(n):
        hp = {}
        for k, v in cols.items():
            x = v[i]
            if x is None or (isinstance(x, float) and np.isnan(x)) or (k == "gradient" and x == ""):
                continue
            if type(x).__name__ == "NAType":
                continue
            hp[k] = x.item() if hasattr(x, "item") else x
        out.append(json.dumps(hp, sort_keys=True))
    return np.asarray(out, dtype=object)


def _paper_values(paper):
    if paper is True:
        from .report import load_paper_values
        return load_paper_values()
    return paper or None


def _pv(paper, *path):
    """The paper's value at ``paper[path[0]][path[1]]...``, or None (also without ``paper``)."""
    from .tables import _paper
    return _paper(paper, *path) if paper else None


# --------------------------------------------------------------------------- statistics
def mean_interval(values, interval: str | None = "ci", level: float = 0.95, n_boot: int = 4000,
                  seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of ``values`` over seeds; low = high = mean without an interval.

    ``"ci"``: percentile bootstrap of the mean (inside the data's range, so >= 0 for a
    non-negative quantity); ``"sd"``: mean +- sample std, the low end clipped at 0.
    """
    if interval not in INTERVALS:
        from ..engine.errors import FastplanError
        raise FastplanError(f"interval must be 'ci', 'sd' or None, got {interval!r}")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan, np.nan, np.nan
    m = float(x.mean())
    if x.size < 2 or interval is None:
        return m, m, m
    if interval == "sd":
        s = float(x.std(ddof=1))
        return m, max(m - s, 0.0), m + s
    rng = np.random.default_rng(seed)
    boot = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return m, float(min(lo, m)), float(max(hi, m))


def _stats(value_lists, interval):
    """means (k,), yerr (2, k) or None (no spread anywhere)."""
    rows = np.array([mean_interval(v, interval) for v in value_lists], dtype=float).reshape(-1, 3)
    mean = rows[:, 0]
    err = np.vstack([mean - rows[:, 1], rows[:, 2] - mean])
    err = np.where(np.isfinite(err), err, 0.0)
    return mean, (err if np.any(err > 0) else None)


def _no_data(ax, what: str):
    ax.text(0.5, 0.5, f"no data for {what}", ha="center", va="center", transform=ax.transAxes, color="0.35")


def _planners(res, planners):
    return list(planners) if planners is not None else list(res.planners)


def _geometries(res, geometries):
    return list(geometries) if geometries is not None else list(res.geometries)


def _log2_x(ax, ticks):
    ticks = sorted({int(t) for t in ticks})
    if len(ticks) >= 2:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlim(ticks[0] / 1.2, ticks[-1] * 1.2)
    elif ticks:
        ax.set_xticks(ticks)


def _log_axis(ax, which: str = "y"):
    """Log axis with labelled ticks at 1, 2, 5 x 10^k (several ticks even on a short range)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(1, 10))))
    axis.set_minor_formatter(NullFormatter())


def _log_y(ax):
    _log_axis(ax, "y")


def _dodge(xs, i: int, n: int, step: float = 0.035):
    """Shift positions on a log2 axis a little per series so intervals do not overlap."""
    return [x * 2.0 ** (step * (i - (n - 1) / 2)) for x in xs]


def _legend_rank(label: str) -> int:
    """Legend order: data first, then reference lines (slope 1, full rank), then the baselines."""
    if any(label.startswith(b.rstrip(")")) for b in BASELINE_LABELS):     # also with a slope
        return 2
    return 1 if label.startswith(("slope 1", "full rank")) else 0


def legend_entries(axes, order=None, extra=()) -> tuple[list, list]:
    """(handles, labels) of ``axes`` (one or several), each label once, in ``order`` where
    given, reference lines and then the baselines last; ``extra``: proxy artists to add."""
    pairs: dict = {}
    for a in (axes if isinstance(axes, (list, tuple)) else [axes]):
        for h, lab in zip(*a.get_legend_handles_labels()):
            pairs.setdefault(lab, h)
    for h in extra:
        pairs.setdefault(h.get_label(), h)
    labels = [lab for lab in (order or []) if lab in pairs] + [lab for lab in pairs if lab not in (order or [])]
    labels.sort(key=_legend_rank)           # stable: the rest keeps its order
    return [pairs[lab] for lab in labels], labels


def _legend(ax, ncol: int = 3, order=None, extra=(), **kw):
    """A legend above the axes, outside the data; ``order``: labels in the wanted order;
    ``extra``: proxy artists (legend keys drawn nowhere else)."""
    handles, labels = legend_entries(ax, order, extra)
    if ax.get_position().width * ax.figure.get_figwidth() < 4.5:     # a narrow panel: three keys a row
        ncol = min(ncol, 3)
    if handles:
        ax.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(ncol, len(handles)),
                  borderaxespad=0.2, **kw)


# --------------------------------------------------------------------------- baselines
def _baseline_stat(res, name: str, geometries, d: int, horizon: int):
    """Mean over seeds of baseline ``name`` in (d, horizon): on one geometry, or per seed
    averaged over ``geometries`` (every one present); NaN when the data lack it."""
    geometries = list(geometries)
    st = (res.baseline(name, geometries[0], d, horizon) if len(geometries) == 1
          else res.baseline_average(name, d, horizon, geometries))
    return st.mean if st is not None and not st.empty and np.isfinite(st.mean) else float("nan")


def _baselines(ax, res, geometries, cells, xs=None, *, vertical: bool = False, slopes: bool = False) -> float:
    """Draw :data:`BASELINES` as thin reference lines with a legend label each.

    ``cells``: (d, horizon) per x position ``xs`` (a curve), or one (d, horizon) with
    ``xs=None`` (a horizontal line; ``vertical=True``: a vertical one, for goal distance on x).
    ``slopes``: put the log-log slope of each curve in its label.  Returns the largest mean
    drawn (NaN when none), for axis limits.
    """
    from .claims import loglog_slope
    top = float("nan")
    for name, st in BASELINES.items():
        kw = {**_BASELINE_KW, "ls": st["ls"]}
        if xs is None:
            v = _baseline_stat(res, name, geometries, *cells)
            if np.isfinite(v):
                (ax.axvline if vertical else ax.axhline)(v, label=st["label"], **kw)
                top = np.nanmax([top, v])
            continue
        pts = [(x, _baseline_stat(res, name, geometries, d, h)) for x, (d, h) in zip(xs, cells)]
        pts = [(x, v) for x, v in pts if np.isfinite(v)]
        if not pts:
            continue
        label = st["label"]
        if slopes and len(pts) >= 2:
            slope = f"slope {loglog_slope([x for x, _ in pts], [v for _, v in pts]):.2f}"
            label = label[:-1] + f"; {slope})" if label.endswith(")") else f"{label} ({slope})"
        if len(pts) == 1:
            ax.axhline(pts[0][1], label=label, **kw)
        else:
            ax.plot([x for x, _ in pts], [v for _, v in pts], label=label, **kw)
        top = np.nanmax([top, max(v for _, v in pts)])
    return top


# --------------------------------------------------------------------------- plots
def goal_distance_by_planner(data, ax=None, *, d: int = 8, horizon: int = 8, planners=None, geometries=None,
                             interval="ci", paper=False, baselines=True):
    """Grouped bars: mean goal distance per planner (groups) and geometry (bars) at (d, horizon)
    (the report's Figure 3); ``paper`` adds the paper's Table 1 as white diamonds;
    ``baselines`` the ``a = 0`` and start distances as lines across the axes (short ones over
    each geometry's bars when they differ between geometries)."""
    res = _results(data)
    paper = _paper_values(paper)
    planners, geoms = _planners(res, planners), _geometries(res, geometries)
    with _target(ax, "two") as ax:
        x = np.arange(len(planners))
        width = 0.8 / max(len(geoms), 1)
        any_data, px, py = False, [], []
        for j, g in enumerate(geoms):
            xs = x + (j - (len(geoms) - 1) / 2) * width
            mean, err = _stats([res.stat("goal_distance", p, g, d, horizon).values for p in planners], interval)
            ok = np.isfinite(mean)
            if ok.any():
                any_data = True
                ax.bar(xs[ok], mean[ok], width * 0.92, yerr=None if err is None else err[:, ok],
                       color=geometry_style(g)[0], label=f"{geometry_label(g)}", error_kw={"lw": 0.8})
            for i, p in enumerate(planners):
                if not ok[i]:
                    ax.text(xs[i], 0.02, "missing", ha="center", va="bottom", rotation=90, color="0.4",
                            transform=ax.get_xaxis_transform())
                v = _pv(paper, "table1", "values", p, g)
                if v is not None and (d, horizon) == (8, 8):
                    px.append(xs[i])
                    py.append(v)
        if px:
            ax.plot(px, py, ms=4, label="paper (Table 1)", **PAPER_MARKER)
        if baselines:
            _bar_baselines(ax, res, geoms, d, horizon, x, width)
        if not any_data:
            _no_data(ax, f"d={d}, h={horizon}")
        ax.set_xticks(x, [planner_label(p) for p in planners])
        ax.set_ylabel(GOAL_LABEL)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
        _legend(ax, ncol=len(geoms) + 3)
    return ax


def _bar_baselines(ax, res, geoms, d, horizon, x, width):
    """Baselines of grouped bars: one line when every geometry has the same (the problem of a
    (d, seed) is the same on every geometry), else a short line over each geometry's bars."""
    for name, st in BASELINES.items():
        vals = np.array([_baseline_stat(res, name, [g], d, horizon) for g in geoms])
        kw = {**_BASELINE_KW, "ls": st["ls"]}
        ok = np.isfinite(vals)
        if not ok.any():
            continue
        if ok.all() and np.allclose(vals, vals[0], rtol=1e-9, atol=0.0):
            ax.axhline(vals[0], label=st["label"], **kw)
            continue
        for n, j in enumerate(np.flatnonzero(ok)):
            xs = x + (j - (len(geoms) - 1) / 2) * width
            ax.hlines(np.full(xs.size, vals[j]), xs - width * 0.5, xs + width * 0.5,
                      label=st["label"] if n == 0 else "_" + st["label"],      # one legend key
                      colors=kw["color"], linestyles=[kw["ls"]], lw=kw["lw"], zorder=kw["zorder"])


def goal_distance_vs_dim(data, ax=None, *, horizon: int = 8, loglog: bool = False, planners=None,
                         geometries=PAPER_GEOMETRIES, interval="ci", baselines=True):
    """Geometry-averaged goal distance vs d (the report's Figure 4), one line per planner.

    Per seed, the goal distance is averaged over ``geometries`` (every one must be present
    at that d), then the mean and interval are over seeds.  ``loglog=True``: log-log axes,
    the least-squares slope of log G on log d in each label and a dashed slope-1 line.
    ``baselines``: the ``a = 0`` and start distances, averaged the same way, as thin black
    lines (with their slopes on log-log axes: both grow like sqrt(d)).
    """
    from .claims import loglog_slope
    res = _results(data)
    planners = _planners(res, planners)
    with _target(ax) as ax:
        dims_all, first = set(), []
        for i, p in enumerate(planners):
            dims, vals = [], []
            for d in res.dims:
                maps = [res.seed_values("goal_distance", p, g, d, horizon) for g in geometries]
                seeds = sorted(set.intersection(*(set(m) for m in maps))) if all(maps) else []
                if seeds:
                    dims.append(d)
                    vals.append([np.mean([m[s] for m in maps]) for s in seeds])
            if not dims:
                continue
            dims_all.update(dims)
            mean, err = _stats(vals, interval)
            label = planner_label(p)
            if loglog and len(dims) >= 2:
                label += f" (slope {loglog_slope(dims, list(mean)):.2f})"
            ax.errorbar(_dodge(dims, i, len(planners)), mean, yerr=err, color=planner_style(p)[0],
                        marker=planner_style(p)[1], label=label)
            first.append((dims[0], mean[0]))
        if not dims_all:
            _no_data(ax, f"goal distance on {', '.join(map(geometry_label, geometries))} (h={horizon})")
        elif loglog:
            ds = np.array(sorted(dims_all), dtype=float)
            d0 = ds[0]
            y0 = float(np.median([y for dd, y in first if dd == d0] or [first[0][1]]))
            ax.plot(ds, y0 * ds / d0, ls="-", color="0.55", lw=2.2, alpha=0.5, zorder=1, label="slope 1")
            _log_y(ax)
        if baselines and dims_all:
            ds = sorted(dims_all)
            _baselines(ax, res, geometries, [(dd, horizon) for dd in ds], ds, slopes=loglog)
        _log2_x(ax, dims_all)
        ax.set_xlabel(DIM_LABEL)
        ax.set_ylabel("Goal distance, mean over geometries")
        if not loglog:
            ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3, which="major")
        _legend(ax, ncol=2 if loglog else 3)
    return ax


def goal_distance_vs_horizon(data, ax=None, *, geometry: str = "vae", d: int = 8, planners=None,
                             interval="ci", paper=False, baselines=True):
    """Goal distance vs planning horizon on one geometry (the report's Figure 5); ``paper``
    adds the paper's Table 3 as hollow markers on dotted lines; ``baselines`` the ``a = 0``
    and start distances per horizon as thin black lines."""
    res = _results(data)
    paper = _paper_values(paper)
    planners = _planners(res, planners)
    with _target(ax) as ax:
        hs_all, any_data = set(), False
        for i, p in enumerate(planners):
            hs = [h for h in res.horizons if res.has(p, geometry, d, h)]
            color, marker = planner_style(p)
            if hs:
                any_data = True
                hs_all.update(hs)
                mean, err = _stats([res.stat("goal_distance", p, geometry, d, h).values for h in hs], interval)
                ax.errorbar(_dodge(hs, i, len(planners)), mean, yerr=err, color=color, marker=marker,
                            label=planner_label(p))
            pv = _pv(paper, "table3", "values", p)
            if pv and geometry == "vae" and d == 8:
                ph = sorted(int(h) for h in pv)
                hs_all.update(ph)
                ax.plot(ph, [pv[str(h)] for h in ph], ls=":", marker=marker, mfc="white", color=color, ms=5,
                        lw=1.0, label=f"{planner_label(p)} (paper)")
        if baselines:
            hs = [h for h in res.horizons if h in hs_all]
            _baselines(ax, res, [geometry], [(d, h) for h in hs], hs)
        if not any_data:
            _no_data(ax, f"{geometry_label(geometry)}, d={d}")
        _log2_x(ax, hs_all)
        ax.set_xlabel("Planning horizon $h$ (steps)")
        ax.set_ylabel(GOAL_LABEL)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        _legend(ax, ncol=3, order=[planner_label(p) for p in planners]
                + [f"{planner_label(p)} (paper)" for p in planners] + list(BASELINE_LABELS))
    return ax


def goal_distance_over_seeds(data, ax=None, *, geometry: str = "vae", d: int = 8, horizon: int = 8,
                             planners=None, min_box: int = 10, paper=False, baselines=True):
    """Goal distance of every seed per planner (the report's Figure 6).

    A box (quartiles, median, whiskers to 1.5 IQR) is drawn only with at least ``min_box``
    seeds; seeds are always drawn as points, and the mean as a black bar.  ``paper`` adds
    the paper's Table 1 means as white diamonds; ``baselines`` the means of the ``a = 0``
    and start distances as thin lines across the axes.
    """
    res = _results(data)
    paper = _paper_values(paper)
    planners = _planners(res, planners)
    with _target(ax) as ax:
        pos, data_, any_data, top = [], [], False, 0.0
        for i, p in enumerate(planners):
            v = res.stat("goal_distance", p, geometry, d, horizon).values
            if v.size == 0:
                ax.text(i, 0.02, "missing", ha="center", va="bottom", color="0.4", rotation=90,
                        transform=ax.get_xaxis_transform())
                continue
            any_data = True
            top = max(top, float(v.max()))
            jitter = np.linspace(-0.16, 0.16, v.size) if v.size > 1 else np.zeros(1)   # no randomness
            ax.plot(i + jitter, v, "o", ms=2.8, alpha=0.75, color=planner_style(p)[0], zorder=3)
            ax.plot([i - 0.25, i + 0.25], [v.mean()] * 2, color="black", lw=1.2, zorder=4)
            if v.size >= min_box:
                pos.append(i)
                data_.append(v)
        if data_:
            bp = ax.boxplot(data_, positions=pos, widths=0.55, showfliers=False, patch_artist=True, zorder=2,
                            medianprops={"color": "0.3", "lw": 0.8, "ls": "--"})
            for patch, i in zip(bp["boxes"], pos):
                patch.set_facecolor(planner_style(planners[i])[0])
                patch.set_alpha(0.2)
        px = [(i, _pv(paper, "table1", "values", p, geometry)) for i, p in enumerate(planners)]
        px = [(i, v) for i, v in px if v is not None and (d, horizon) == (8, 8)]
        if px:
            ax.plot([i for i, _ in px], [v for _, v in px], ms=4.5, label="paper mean (Table 1)", **PAPER_MARKER)
            top = max(top, max(v for _, v in px))
        if baselines:
            top = np.nanmax([top, _baselines(ax, res, [geometry], (d, horizon))])
        if any_data:
            ax.plot([], [], color="black", lw=1.2, label="mean over seeds")
            ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
        else:
            _no_data(ax, f"{geometry_label(geometry)}, d={d}, h={horizon}")
        ax.set_xticks(range(len(planners)), [planner_label(p) for p in planners])
        ax.set_xlim(-0.6, len(planners) - 0.4)
        ax.set_ylabel(GOAL_LABEL)
        ax.grid(axis="y", alpha=0.3)
        _legend(ax, ncol=2)
    return ax


def smoothness_vs_goal(data, ax=None, *, geometry: str = "vae", d: int = 8, horizon: int = 8, planners=None,
                       interval="ci", paper=False, baselines=True):
    """Smoothness (Eq. 11) against goal distance (the report's Figure 7): small dots are
    seeds, large markers means with intervals in both directions; ``paper`` adds the paper's
    points (Table 1 goal distance, Table 4 smoothness) as hollow markers; ``baselines`` the
    means of the ``a = 0`` and start distances as thin vertical lines."""
    from matplotlib.lines import Line2D
    res = _results(data)
    paper = _paper_values(paper)
    planners = _planners(res, planners)
    with _target(ax) as ax:
        handles, any_data, has_paper = [], False, False
        for p in planners:
            gd = res.seed_values("goal_distance", p, geometry, d, horizon)
            sm = res.seed_values("smoothness", p, geometry, d, horizon)
            seeds = [s for s in gd if s in sm and np.isfinite(gd[s]) and np.isfinite(sm[s])]
            color, marker = planner_style(p)
            if seeds:
                any_data = True
                x = np.array([gd[s] for s in seeds])
                y = np.array([sm[s] for s in seeds])
                ax.plot(x, y, ".", color=color, alpha=0.4, ms=3)
                (mx, xerr), (my, yerr) = _stats([x], interval), _stats([y], interval)
                ax.errorbar(mx, my, xerr=xerr, yerr=yerr, marker=marker, color=color, ms=5.5, mec="black",
                            mew=0.5, zorder=4)
                handles.append(Line2D([], [], color=color, marker=marker, ls="", ms=5, mec="black", mew=0.5,
                                      label=planner_label(p)))
            pg, ps = _pv(paper, "table1", "values", p, geometry), _pv(paper, "table4", "values", p, "smoothness")
            if pg is not None and ps is not None and (geometry, d, horizon) == ("vae", 8, 8):
                has_paper = True
                ax.plot([pg], [ps], marker=marker, mfc="white", mec=color, ms=6.5, mew=1.3, ls="", zorder=5)
        if has_paper:
            handles.append(Line2D([], [], color="black", marker="o", mfc="white", ls="", ms=5, label="paper"))
        if any_data:
            handles.append(Line2D([], [], color="0.4", marker=".", ls="", ms=4, label="one seed"))
        else:
            _no_data(ax, f"{geometry_label(geometry)}, d={d}, h={horizon}")
        if baselines:
            _baselines(ax, res, [geometry], (d, horizon), vertical=True)
            handles += [line for line in ax.lines if line.get_label() in BASELINE_LABELS]
        ax.set_xlabel(GOAL_LABEL)
        ax.set_ylabel(SMOOTH_LABEL)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if handles:
            ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
                      borderaxespad=0.2, handletextpad=0.4, columnspacing=0.8)
    return ax


def rollouts_by_planner(data, ax=None, *, geometry: str = "vae", d: int = 8, horizon: int = 8, planners=None,
                        paper=False):
    """World-model rollouts per plan ("samples", counted in the kernels) per planner (the
    report's Figure 8), log scale when they span more than 20x; the number is written on
    each bar; ``paper`` adds the paper's Table 4 as white diamonds."""
    res = _results(data)
    paper = _paper_values(paper)
    planners = _planners(res, planners)
    with _target(ax) as ax:
        x = np.arange(len(planners))
        mean = np.array([res.stat("samples", p, geometry, d, horizon).mean for p in planners])
        ok = np.isfinite(mean)
        pv = [_pv(paper, "table4", "values", p, "samples") if (geometry, d, horizon) == ("vae", 8, 8) else None
              for p in planners]
        vals = [v for v in list(mean[ok]) + [v for v in pv if v is not None] if v > 0]
        if ok.any():
            ax.bar(x[ok], mean[ok], 0.6, color=[planner_style(p)[0] for p, k in zip(planners, ok) if k],
                   alpha=0.85)
            for i in np.flatnonzero(ok):
                ax.annotate(f"{mean[i]:.0f}", (x[i], mean[i]), xytext=(0, 2), textcoords="offset points",
                            ha="center", va="bottom")
        else:
            _no_data(ax, f"{geometry_label(geometry)}, d={d}, h={horizon}")
        log = bool(vals) and max(vals) / min(vals) > 20
        if log:
            _log_y(ax)
        px = [(x[i], v) for i, v in enumerate(pv) if v is not None]
        if px:
            ax.plot([a for a, _ in px], [v for _, v in px], ms=5, label="paper (Table 4)", **PAPER_MARKER)
        if vals:
            ax.set_ylim((min(vals) / 2, max(vals) * 3) if log else (0, max(vals) * 1.15))
        ax.set_xticks(x, [planner_label(p) for p in planners])
        ax.set_ylabel("Rollouts per plan")
        ax.grid(axis="y", alpha=0.3)
        from matplotlib.patches import Patch        # the bars have the planners' colours: a neutral key
        _legend(ax, ncol=2, extra=[Patch(facecolor="0.55", alpha=0.85, label="ours (mean over seeds)")]
                if ok.any() else ())
    return ax


def geometry_metric_vs_dim(data, metric: str = "amenability", ax=None, *, geometries=None, interval="ci",
                           paper=False):
    """A geometry metric (Sec. 2.4) vs d per geometry (the report's Figures 1 and 2).

    ``metric``: ``amenability`` (Eq. 12), ``effective_dimension`` (Eq. 13, drawn on log2
    axes with the full-rank line d_eff = d on top of the curves), ``concentration`` or
    ``mean_pairwise_distance``.  The data must hold geometry metrics (a sweep stores them).
    ``paper`` puts the paper's reported range in each label.
    """
    from .results import GEOMETRY_METRICS
    if metric not in GEOMETRY_METRICS:
        from ..engine.errors import FastplanError
        raise FastplanError(f"metric must be one of {', '.join(GEOMETRY_METRICS)}, got {metric!r}")
    res = _results(data)
    paper = _paper_values(paper)
    labels = {"amenability": r"Planning amenability (Eq. 12)",
              "effective_dimension": r"Effective dimension $d_{\mathrm{eff}}$",
              "concentration": "Concentration c", "mean_pairwise_distance": "Mean pairwise distance"}
    ranges = {"amenability": "amenability_ranges", "effective_dimension": "effective_dimension_ranges"}
    geoms = list(geometries) if geometries is not None else list(res.ggeometries)
    with _target(ax) as ax:
        plotted = False
        for j, g in enumerate(geoms):
            dims = [d for d in res.gdims if not res.gstat(metric, g, d).empty]
            if not dims:
                continue
            mean, err = _stats([res.gstat(metric, g, d).values for d in dims], interval)
            pr = _pv(paper, ranges.get(metric, ""), g)
            label = geometry_label(g) + (f" (paper {pr[0]}–{pr[1]})" if pr else "")
            ax.errorbar(_dodge(dims, j, len(geoms)), mean, yerr=err, color=geometry_style(g)[0],
                        marker=geometry_style(g)[1], label=label)
            plotted = True
        if metric == "effective_dimension" and res.gdims:
            ds = np.asarray(res.gdims, dtype=float)
            ax.plot(ds, ds, ls=(0, (4, 3)), color="black", lw=0.9, zorder=6, label=r"full rank $d_{\mathrm{eff}}=d$")
            if len(ds) >= 2:
                ax.set_yscale("log", base=2)
                ticks = [t for t in (1, 2, 4, 8, 16, 32, 64, 128, 256) if t <= 1.3 * ds.max()]
                ax.set_yticks(ticks, [str(t) for t in ticks])
                ax.minorticks_off()
        if not plotted:
            _no_data(ax, "the geometry metrics")
        _log2_x(ax, res.gdims)
        ax.set_xlabel(DIM_LABEL)
        ax.set_ylabel(labels[metric])
        ax.grid(alpha=0.3)
        _legend(ax, ncol=1 if paper else 2)
    return ax


# --------------------------------------------------------------------------- sweeps and budgets
@functools.lru_cache(maxsize=None)
def _budget_knobs(planner: str) -> frozenset:
    """Hyperparameters a planner's rollout budget sets (its registry ``for_budget``: CEM's,
    MPPI's, gradient's and SGLD's ``iterations``, diffusion's ``steps``); empty when it has none."""
    from ..engine import registry
    from ..engine.errors import FastplanError
    try:
        spec = registry.planner(planner)
        if spec.for_budget is None:
            return frozenset()
        hp = spec.resolve()
        small, large = spec.at_budget(hp, 1000, 8, 8), spec.at_budget(hp, 100_000, 8, 8)
    except (FastplanError, KeyError, TypeError, ValueError):
        return frozenset()
    return frozenset(k for k in small if small[k] != large.get(k))


def _variant_key(v: dict, drop) -> tuple:
    """A variant without the hyperparameters ``drop``: what must be equal along a sweep."""
    rest = json.dumps({k: x for k, x in v["hyperparameters"].items() if k not in drop}, sort_keys=True)
    return rest, v["geometry_usage"], v["gradient"], v["execution"], v.get("arithmetic", "exact")


def sweeps(data) -> list[tuple[str, str]]:
    """(planner, hyperparameter) pairs along which the data hold more than one value, with
    everything else of the variant (other hyperparameters, geometry usage, execution) equal.

    The count a planner's rollout budget sets (its ``iterations``; diffusion's ``steps``) is
    not a hyperparameter sweep: runs that differ only in it are equal-budget runs
    (:func:`budget_planners`, :func:`goal_distance_vs_budget`).
    """
    res = _results(data, select=False)
    out = []
    by_planner: dict = {}
    for v in res.variants:
        if isinstance(v["hyperparameters"], dict):
            by_planner.setdefault(v["planner"], []).append(v)
    for p, vs in by_planner.items():
        keys = sorted(set().union(*(v["hyperparameters"] for v in vs)) - _budget_knobs(p))
        for k in keys:
            rest = {}
            for v in vs:
                rest.setdefault(_variant_key(v, {k}), set()).add(json.dumps(v["hyperparameters"].get(k)))
            if any(len(vals) > 1 for vals in rest.values()):
                out.append((p, k))
    return out


def _budget_groups(res) -> dict:
    """Per planner, the variants of its equal-budget runs: variants that differ only in the
    count its budget sets (``fastplan sweep --budget``; the paper's defaults count at the
    budget they spend).  Of several such groups, the one holding the paper's defaults, else
    the one with most runs."""
    groups: dict = {}
    for v in res.variants:
        knobs = _budget_knobs(v["planner"])
        if knobs and isinstance(v["hyperparameters"], dict):
            groups.setdefault(v["planner"], {}).setdefault(_variant_key(v, knobs), []).append(v)
    out = {}
    for p, by_rest in groups.items():
        knobs = _budget_knobs(p)
        many = [g for g in by_rest.values()
                if len({json.dumps([v["hyperparameters"].get(k) for k in sorted(knobs)]) for v in g}) > 1]
        if many:
            out[p] = max(many, key=lambda g: (any(v["paper_defaults"] for v in g), sum(v["runs"] for v in g)))
    return out


def budget_planners(data) -> list[str]:
    """Planners with equal-budget runs in the data (runs that differ only in the count their
    rollout budget sets, e.g. ``fastplan sweep --budget 1050 2000 6500``), in display order."""
    res = _results(data, select=False)
    return [p for p in res.planners if p in _budget_groups(res)]


def _seed_means(rec, mask, geoms, d: int, horizon: int, metric: str = "goal_distance") -> list:
    """Per seed, ``metric`` of the runs ``mask`` at (d, horizon) averaged over ``geoms`` (the
    seeds present on every one of them)."""
    per = []
    for g in geoms:
        m = mask & (rec["geometry"] == g) & (rec["d"] == d) & (rec["horizon"] == horizon)
        per.append(dict(zip(rec["seed"][m].tolist(), rec[metric][m].tolist())))
    seeds = sorted(set.intersection(*(set(p) for p in per))) if per and all(per) else []
    return [float(np.mean([p[s] for p in per])) for s in seeds]


def _default_cell(rec, mask, d, horizon) -> tuple[int, int]:
    dims = sorted({int(v) for v in rec["d"][mask]})
    hs = sorted({int(v) for v in rec["horizon"][mask]})
    d = d if d is not None else (8 if 8 in dims else dims[0])
    horizon = horizon if horizon is not None else (8 if 8 in hs else hs[0])
    return int(d), int(horizon)


def _variant_columns(res) -> tuple[np.ndarray, np.ndarray]:
    """Per run: canonical hyperparameter JSON, execution and arithmetic, as
    :attr:`Results.variants` has them."""
    from .results import _canonical_hp
    rec = res.records
    return (np.asarray([_canonical_hp(h) for h in rec["hyperparameters"]], dtype=object),
            np.asarray([e or "latent" for e in rec["execution"]], dtype=object),
            np.asarray([a or "exact" for a in rec["arithmetic"]], dtype=object))


def _variant_rows(res, cols, variant) -> np.ndarray:
    """Runs (bool mask over ``res.records``) of one variant; ``cols`` from :func:`_variant_columns`."""
    rec = res.records
    return ((rec["planner"] == variant["planner"]) & (cols[0] == json.dumps(variant["hyperparameters"], sort_keys=True))
            & (rec["geometry_usage"] == variant["geometry_usage"]) & (rec["gradient"] == variant["gradient"])
            & (cols[1] == variant["execution"]) & (cols[2] == variant.get("arithmetic", "exact")))


def _budget_cell(res, planners=None, d=None, horizon=None) -> tuple[int, int]:
    """(d, horizon) of the equal-budget plot: as given, else 8 when the budget runs have it,
    else their smallest."""
    groups, cols = _budget_groups(res), _variant_columns(res)
    masks = [_variant_rows(res, cols, v) for p in _planners(res, planners) if p in groups for v in groups[p]]
    if not masks:
        return int(d if d is not None else 8), int(horizon if horizon is not None else 8)
    return _default_cell(res.records, np.logical_or.reduce(masks), d, horizon)


def budget_cell(data, planners=None) -> tuple[int, int]:
    """The (d, horizon) :func:`goal_distance_vs_budget` draws by default for ``data``."""
    return _budget_cell(_results(data, select=False), planners)


def goal_distance_vs_budget(data, ax=None, *, geometry: str | None = None, d: int | None = None,
                            horizon: int | None = None, planners=None, geometries=None, interval="ci",
                            baselines=True):
    """Goal distance against the rollout budget, one line per planner (equal-budget runs,
    e.g. ``fastplan sweep --dims 8 --horizons 8 --budget 1050 2000 6500``; the report's
    equal-budget figure).

    x is the rollouts per plan each variant spent, counted in the kernels (within one
    iteration of the budget asked for), on a log axis; y the mean over seeds of the goal
    distance on ``geometry``, or (``geometry=None``) per seed averaged over ``geometries``
    (default: all in the data), with its interval.  ``d`` / ``horizon`` default to 8 when
    present.  A planner's paper defaults count at the budget they spend.  ``baselines``:
    the ``a = 0`` and start distances as thin lines (they do not depend on the budget).
    """
    res = _results(data, select=False)
    groups = _budget_groups(res)
    planners = [p for p in _planners(res, planners) if p in groups]
    rec = res.records
    geoms = [geometry] if geometry is not None else _geometries(res, geometries)
    d, horizon = _budget_cell(res, planners, d, horizon)
    cols = _variant_columns(res)
    with _target(ax) as ax:
        xs_all = []
        for p in planners:
            pts = []
            for v in groups[p]:
                m = _variant_rows(res, cols, v)
                cell = m & (rec["d"] == d) & (rec["horizon"] == horizon) & np.isin(rec["geometry"], geoms)
                vals = _seed_means(rec, m, geoms, d, horizon)
                spent = rec["samples"][cell]
                spent = spent[np.isfinite(spent)]
                if vals and spent.size:
                    pts.append((float(spent.mean()), vals))
            if not pts:
                continue
            pts.sort(key=lambda t: t[0])
            mean, err = _stats([v for _, v in pts], interval)
            color, marker = planner_style(p)
            xs = _dodge([x for x, _ in pts], planners.index(p), len(planners), step=0.03)
            ax.errorbar(xs, mean, yerr=err, color=color, marker=marker, label=planner_label(p))
            xs_all += [x for x, _ in pts]
        if baselines:
            _baselines(ax, res, geoms, (d, horizon))
        where = geometry_label(geometry) if geometry is not None else "mean over geometries"
        if not xs_all:
            _no_data(ax, f"equal-budget runs ({where}, d={d}, h={horizon})")
        elif min(xs_all) > 0:
            _log_axis(ax, "x")
            ax.set_xlim(min(xs_all) / 1.3, max(xs_all) * 1.3)
        ax.set_xlabel("Rollouts per plan (budget)")
        ax.set_ylabel(GOAL_LABEL if geometry is not None else "Goal distance, mean over geometries")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        _legend(ax, ncol=3)
    return ax


def hyperparameter_sweep(data, planner: str, param: str, ax=None, *, metric: str = "goal_distance",
                         x: str | None = None, geometries=None, d: int | None = None, horizon: int | None = None,
                         interval="ci", baselines=True):
    """One line per value of ``planner``'s hyperparameter ``param`` (e.g. a sweep run with
    ``fastplan sweep --planners cem --set cem.population=100,200,400``).

    ``metric`` (per seed, averaged over ``geometries``: default all in the data) against
    ``x``: ``"d"`` (default when the data hold several d), ``"horizon"``, or ``param``
    itself (one line).  ``d`` / ``horizon`` fix the other axis (default 8 when present,
    else the smallest).  Variants that differ in more than ``param`` are kept apart.
    ``baselines`` (goal distance only): the ``a = 0`` and start distances, averaged the same
    way, as thin black lines.
    """
    from ..engine.errors import FastplanError
    res = _results(data, select=False)
    rec = res.records
    sel = rec["planner"] == planner
    if not sel.any():
        raise FastplanError(f"no runs of planner {planner!r} in the data")
    hps = [json.loads(h) if h.startswith("{") else {} for h in rec["hyperparameters"]]
    values = np.array([json.dumps(hp.get(param)) for hp in hps], dtype=object)
    if not any(param in hps[i] for i in np.flatnonzero(sel)):
        raise FastplanError(f"{planner} runs have no hyperparameter {param!r}")
    rest = np.array([json.dumps({k: v for k, v in hp.items() if k != param}, sort_keys=True) + u
                     for hp, u in zip(hps, rec["geometry_usage"])], dtype=object)
    geoms = list(geometries) if geometries is not None else res.geometries
    dims = sorted({int(v) for v in rec["d"][sel]})
    hs = sorted({int(v) for v in rec["horizon"][sel]})
    if x is None:
        x = "d" if len(dims) > 1 else "horizon" if len(hs) > 1 else param
    if x not in ("d", "horizon", param):
        raise FastplanError(f"x must be 'd', 'horizon' or {param!r}, got {x!r}")
    d = d if d is not None else (8 if 8 in dims else dims[0])
    horizon = horizon if horizon is not None else (8 if 8 in hs else hs[0])

    def cell(mask, dd, hh):
        """Per-seed averages over geometries of the runs ``mask`` at (dd, hh)."""
        return _seed_means(rec, mask, geoms, dd, hh, metric)

    def sort_key(v):
        try:
            return (0, float(json.loads(v)), v)
        except (TypeError, ValueError):
            return (1, 0.0, v)

    groups = sorted(set(rest[sel]))
    swept = [g for g in groups if len(set(values[sel & (rest == g)])) > 1]
    if swept:       # only the variants along which ``param`` varies (not e.g. budget runs beside them)
        groups = swept
        sel = sel & np.isin(rest, groups)
    vals = sorted(set(values[sel]), key=sort_key)
    with _target(ax) as ax:
        import matplotlib
        cmap = matplotlib.colormaps["viridis"]
        if x == param:
            for gi, grp in enumerate(groups):
                xs, cells = [], []
                for v in vals:
                    c = cell(sel & (rest == grp) & (values == v), d, horizon)
                    if c:
                        xs.append(float(json.loads(v)))
                        cells.append(c)
                if xs:
                    mean, err = _stats(cells, interval)
                    ax.errorbar(xs, mean, yerr=err, marker="o", color=planner_style(planner)[0],
                                label=f"{planner_label(planner)}" + (f" (variant {gi + 1})" if len(groups) > 1 else ""))
            if vals and all(sort_key(v)[0] == 0 and float(json.loads(v)) > 0 for v in vals):
                ticks = sorted({float(json.loads(v)) for v in vals})
                ax.set_xscale("log")
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
                ax.minorticks_off()
            if baselines and metric == "goal_distance":
                _baselines(ax, res, geoms, (d, horizon))
            ax.set_xlabel(f"{planner_label(planner)} {param}")
        else:
            axis_vals = dims if x == "d" else hs
            k = 0
            n_lines = sum(1 for grp in groups for v in vals if (sel & (rest == grp) & (values == v)).any())
            for grp in groups:
                for v in vals:
                    mask = sel & (rest == grp) & (values == v)
                    if not mask.any():
                        continue
                    xs, cells = [], []
                    for a in axis_vals:
                        c = cell(mask, a, horizon) if x == "d" else cell(mask, d, a)
                        if c:
                            xs.append(a)
                            cells.append(c)
                    if not xs:
                        continue
                    mean, err = _stats(cells, interval)
                    color = cmap(0.1 + 0.75 * k / max(n_lines - 1, 1))
                    ax.errorbar(_dodge(xs, k, n_lines), mean, yerr=err, marker="o", color=color,
                                label=f"{json.loads(v)}" + (f" (variant {groups.index(grp) + 1})"
                                                            if len(groups) > 1 else ""))
                    k += 1
            if baselines and metric == "goal_distance":
                _baselines(ax, res, geoms, [(a, horizon) if x == "d" else (d, a) for a in axis_vals], axis_vals)
            _log2_x(ax, axis_vals)
            ax.set_xlabel(DIM_LABEL if x == "d" else "Planning horizon $h$ (steps)")
        names = {"goal_distance": GOAL_LABEL, "smoothness": SMOOTH_LABEL, "cost": "Cost (Eq. 5)",
                 "samples": "Rollouts per plan"}
        ax.set_ylabel(names.get(metric, metric))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        n_keys = len(legend_entries(ax)[0])
        ncol = 3 if n_keys > 8 else 2 if n_keys > 3 else n_keys      # filled column by column: values, then baselines
        _legend(ax, ncol=ncol, title=None if x == param else f"{planner_label(planner)} {param}")
    return ax


def _trace_curves(data, d, horizon, geometry, budget, planners):
    """``[(label, planner, rollouts (R,), best (n, R))]`` from a results file's stored traces
    (one curve per planner and gradient mode: the configurations with the longest traces, or
    those whose runs end closest to ``budget``), or from ``{label: Trace or BatchResult}``."""
    if isinstance(data, dict) and all(hasattr(v, "best") or hasattr(v, "trace") for v in data.values()):
        out = []
        for label, tr in data.items():
            tr = getattr(tr, "trace", tr)
            if tr is None:
                continue
            best = np.atleast_2d(tr.best)
            out.append((str(label), str(label), np.atleast_2d(tr.rollouts)[0], best))
        return out
    from .. import store
    groups: dict = {}
    for cfg in store.load_traces(os.fspath(data)):
        if int(cfg["d"]) != d or int(cfg["horizon"]) != horizon:
            continue
        if geometry is not None and cfg["geometry"] != geometry:
            continue
        if planners is not None and cfg["planner"] not in planners:
            continue
        key = (cfg["planner"], cfg.get("gradient", ""), json.dumps(cfg["hyperparameters"], sort_keys=True))
        groups.setdefault(key, []).append(cfg["trace"])
    by_row: dict = {}
    for (planner, grad, _), traces in groups.items():
        tr = np.concatenate(traces)
        end = float(tr[0, -1, 2])
        score = -tr.shape[1] if budget is None else abs(end - budget)
        row = (planner, grad)
        if row not in by_row or score < by_row[row][0]:
            by_row[row] = (score, tr)
    from . import planner_order
    out = []
    for planner in planner_order([p for p, _ in by_row]):
        for (p, grad), (_, tr) in sorted(by_row.items(), key=lambda kv: (kv[0][1] not in ("", "fd"), kv[0])):
            if p == planner:
                label = planner_label(p) + (f" ({grad})" if grad else "")
                out.append((label, p, tr[0, :, 2], tr[:, :, 0]))
    return out


def anytime_curves(data, ax=None, *, d: int = 8, horizon: int = 8, geometry: str | None = None,
                   budget: int | None = None, planners=None, interval="ci", points: int = 60):
    """Best cost found so far (Eq. 5) against world-model rollouts spent, one line per planner
    (mean over seeds, and geometries unless ``geometry``; ``interval`` as elsewhere): anytime
    curves from per-iteration traces.

    ``data``: a results file written with ``fastplan sweep --traces`` (for each planner the
    configuration with the longest traces, or the one ending closest to ``budget``), or
    ``{label: Trace or BatchResult}`` from ``plan_batch(..., return_trace=True)``.  Both axes are
    logarithmic; long traces are drawn at ``points`` log-spaced rows; a planner's second variant
    (the gradient planner's adjoint beside its finite differences) is dashed.  A planner with a fixed
    schedule (diffusion, MBD) is drawn as it ran at that budget: its early rows are not what it
    would reach with a smaller budget.
    """
    curves = _trace_curves(data, d, horizon, geometry, budget, planners)
    with _target(ax) as ax:
        if not curves:
            _no_data(ax, f"traces at d={d}, h={horizon} (sweep with --traces)")
            return ax
        lo_y = np.inf
        seen = set()
        for label, planner, x, best in curves:
            R = x.shape[0]
            idx = np.unique(np.round(np.geomspace(1, R, min(points, R))).astype(int) - 1)
            stats = np.array([mean_interval(best[:, i], interval) for i in idx])
            color, marker = planner_style(planner)
            ax.plot(x[idx], stats[:, 0], color=color, label=label, ls="--" if planner in seen else "-")
            seen.add(planner)
            ax.plot(x[idx][-1:], stats[-1:, 0], color=color, marker=marker, ls="")
            if interval is not None and best.shape[0] > 1:
                ax.fill_between(x[idx], stats[:, 1], stats[:, 2], color=color, alpha=0.15, lw=0)
            lo_y = min(lo_y, float(np.nanmin(stats[:, 1])))
        ax.set_xscale("log")
        if np.isfinite(lo_y) and lo_y > 0:
            _log_y(ax)
        ax.set_xlabel("World-model rollouts")
        ax.set_ylabel("Best cost so far (Eq. 5)")
        ax.grid(alpha=0.3, which="major")
        _legend(ax, ncol=3)
    return ax
