"""Tables 1-4 of the paper from a results file, with the paper's numbers beside ours.

This module also holds :class:`Results`, the small data layer the tables, the figures
(:mod:`fastplan.figures`) and the claim checker (:mod:`fastplan.claims`) share: it takes
the run records of a results file (one row per run, see :func:`fastplan.store.load`) and
the geometry metrics, and answers "mean and spread over seeds of metric X in cell
(planner, geometry, d, horizon)".

Statistics
----------
Every cell is summarised over seeds as ``mean [lo, hi] (n)``: the arithmetic mean, its 95%
Student-t confidence interval (:mod:`fastplan.paper.stats`) and the number of seeds ``n``
with a finite value; the CSV files also hold the sample standard deviation (``ddof=1``).
Runs whose metric is NaN (a diverged plan) are not averaged; they are counted and shown as
``k NaN``.  Every goal-distance table also has two baseline rows: ``a = 0`` (the goal
distance after rolling out the zero action sequence) and ``||s0 − s*||`` (the start's
distance), means over the same seeds.

Tables (Sec. 3 of the paper)
----------------------------
=========  ===========================================================================
table1     Goal distance ``||s_T - s*||_2`` by planner and geometry at d=8, h=8.
table2     Goal-distance range [min, max] across geometries (of the per-geometry means)
           by planner and latent dimension, at h=8 (the paper does not state Table 2's
           horizon; we use its default h=8).
table3     Goal distance by planner and horizon on VAE, d=8.
table4     Smoothness (Eq. 11), goal distance and samples (world-model rollouts) by
           planner at d=8, h=8 on VAE.
table5     Goal distance at equal rollout budgets (d=8, h=8), when the file holds runs
           of ``fastplan sweep --budget``.
=========  ===========================================================================
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import numpy as np

from . import PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS as PLANNERS, geometry_label, planner_label
from .results import BASE_D, BASE_GEOMETRY, BASE_H, PAPER_DIMS, PAPER_HORIZONS, Results
from .stats import fmt_num


@dataclass
class Table:
    """One table: Markdown rows for people, tidy CSV rows for programs."""

    key: str
    title: str
    caption: str
    header: list
    rows: list
    csv_header: list
    csv_rows: list
    missing: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def to_markdown(self, heading_level: int = 3) -> str:
        lines = [f"{'#' * heading_level} {self.title}", "", self.caption, ""]
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("|" + "|".join(["---"] + [":-:"] * (len(self.header) - 1)) + "|")
        for row in self.rows:
            lines.append("| " + " | ".join(str(c) for c in row) + " |")
        lines.append("")
        for note in self.notes:
            lines.append(f"- {note}")
        if self.missing:
            lines.append(f"- **Missing cells** (not in the results file): {'; '.join(self.missing)}.")
        if self.notes or self.missing:
            lines.append("")
        return "\n".join(lines)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.csv_header)
        for row in self.csv_rows:
            w.writerow(["" if (isinstance(x, float) and not np.isfinite(x)) else x for x in row])
        return buf.getvalue()


_CELL_NOTE = ("Cells: mean [95% confidence interval] (n seeds), the interval Student's t over seeds; "
              "the paper reports means only.")
#: Baseline rows: (CSV name, label, record column).
BASELINE_ROWS = (("zero_action", "a = 0 (baseline)", "zero_action_distance"),
                 ("initial", "‖s0 − s*‖ (baseline)", "initial_distance"))
_BASELINE_NOTE = ("Baselines: *a = 0* is the goal distance after rolling out the zero action sequence "
                  "(no planning); *‖s0 − s*‖* the start's distance to the goal; both over the same seeds.")


def _stat_csv(s) -> list:
    """mean, std, ci_low, ci_high, n, n_nan of a cell for the CSV files."""
    lo, hi = s.ci
    return [s.mean, s.std, lo, hi, s.n, s.n_nan]


_STAT_HEADER = ["mean", "std", "ci_low", "ci_high", "n", "n_nan"]


def _add_baselines(res: Results, columns, rows: list, csv_rows: list) -> None:
    """One row per baseline: per column (geometry, d, h) our cell and "—" for the paper."""
    for key, label, col in BASELINE_ROWS:
        row = [label]
        for g, d, h in columns:
            s = res.baseline(col, g, d, h)
            row += [s.fmt(), "—"]
            csv_rows.append([key, g, d, h, *_stat_csv(s), ""])
        rows.append(row)


def _bold_best(cells: dict, values: dict) -> dict:
    """Bold the cell with the lowest finite value."""
    finite = {k: v for k, v in values.items() if v is not None and np.isfinite(v)}
    if len(finite) < 2:
        return cells
    best = min(finite, key=finite.get)
    out = dict(cells)
    out[best] = f"**{cells[best]}**"
    return out


def _paper(paper: dict, *path):
    """The value at ``paper[path[0]][path[1]]...`` of the paper's reported values, or None."""
    node = paper
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def table1(res: Results, paper: dict, d: int = BASE_D, horizon: int = BASE_H) -> Table:
    """Goal distance by planner (rows) and geometry (columns) at ``d``, ``horizon``."""
    planners = list(PLANNERS)
    geoms = list(KINDS)
    header = ["Planner"]
    for g in geoms:
        header += [f"{geometry_label(g)}-{d}d (ours)", f"{geometry_label(g)}-{d}d (paper)"]
    ours = {(p, g): res.stat("goal_distance", p, g, d, horizon) for p in planners for g in geoms}
    bold_ours, bold_paper = {}, {}
    for g in geoms:
        cells = {p: ours[p, g].fmt() for p in planners}
        bold_ours[g] = _bold_best(cells, {p: ours[p, g].mean for p in planners})
        pv = {p: _paper(paper, "table1", "values", p, g) for p in planners}
        pcells = {p: fmt_num(v) if v is not None else "—" for p, v in pv.items()}
        bold_paper[g] = _bold_best(pcells, pv)
    rows, csv_rows, missing = [], [], []
    for p in planners:
        row = [planner_label(p)]
        for g in geoms:
            row += [bold_ours[g][p], bold_paper[g][p]]
            s = ours[p, g]
            pv = _paper(paper, "table1", "values", p, g)
            csv_rows.append([p, g, d, horizon, *_stat_csv(s), "" if pv is None else pv])
            if s.empty:
                missing.append(f"{planner_label(p)} on {geometry_label(g)} (d={d}, h={horizon})")
        rows.append(row)
    _add_baselines(res, [(g, d, horizon) for g in geoms], rows, csv_rows)
    return Table(
        key="table1", title=f"Table 1: goal distance by planner and geometry at d={d}, h={horizon}",
        caption=(f"Final goal distance ||s_T − s*||₂ (lower is better). {_CELL_NOTE} "
                 "Best mean per geometry in bold."),
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", *_STAT_HEADER, "paper"],
        csv_rows=csv_rows, missing=missing, notes=[_BASELINE_NOTE])


def table2(res: Results, paper: dict, horizon: int = BASE_H) -> Table:
    """Range [min, max] across geometries of the per-geometry mean goal distance, by planner and d."""
    planners = list(PLANNERS)
    dims = sorted(set(PAPER_DIMS) | set(res.dims))
    header = ["Planner", "d", "Ours: min over geometries", "Ours: max over geometries", "Paper: [min, max]"]
    rows, csv_rows, missing = [], [], []
    for p in planners:
        for d in dims:
            stats = {g: res.stat("goal_distance", p, g, d, horizon) for g in KINDS}
            present = {g: s for g, s in stats.items() if not s.empty}
            absent = [g for g in KINDS if g not in present]
            pr = _paper(paper, "table2", "values", p, str(d))
            ptxt = f"{fmt_num(pr[0])}–{fmt_num(pr[1])}" if pr else "—"
            if not present:
                missing.append(f"{planner_label(p)} at d={d} (h={horizon}, all geometries)")
                rows.append([planner_label(p), d, "missing", "missing", ptxt])
                csv_rows.append([p, d, horizon, "", "", "", "", "", "", "", "", "", "", "", "", 0,
                                 pr[0] if pr else "", pr[1] if pr else ""])
                continue
            gmin = min(present, key=lambda g: present[g].mean)
            gmax = max(present, key=lambda g: present[g].mean)
            smin, smax = present[gmin], present[gmax]
            partial = f" (only {len(present)}/3 geometries)" if absent else ""
            for g in absent:
                missing.append(f"{planner_label(p)} on {geometry_label(g)} at d={d} (h={horizon})")
            if len(present) > 1 and all(present[g].values.shape == smin.values.shape
                                        and np.allclose(present[g].values, smin.values, rtol=1e-4, atol=0)
                                        for g in present):
                same = f"same to 1e-4 on {'all' if not absent else 'the'} {len(present)} geometries"
                rows.append([planner_label(p), d, f"{smin.fmt()} ({same})", f"{smax.fmt()} ({same}){partial}", ptxt])
            else:
                rows.append([planner_label(p), d, f"{smin.fmt()} {geometry_label(gmin)}",
                             f"{smax.fmt()} {geometry_label(gmax)}{partial}", ptxt])
            csv_rows.append([p, d, horizon, gmin, smin.mean, smin.std, *smin.ci, smin.n, gmax, smax.mean,
                             smax.std, *smax.ci, smax.n, len(present), pr[0] if pr else "", pr[1] if pr else ""])
    for key, label, col in BASELINE_ROWS:
        for d in dims:
            s = res.baseline_average(col, d, horizon)
            if s is None or s.empty:
                continue
            rows.append([label, d, f"{s.fmt()} (same on every geometry)", "", "—"])
            csv_rows.append([key, d, horizon, "all", s.mean, s.std, *s.ci, s.n, "all", s.mean, s.std, *s.ci,
                             s.n, len(KINDS), "", ""])
    return Table(
        key="table2", title=f"Table 2: goal-distance range across geometries by dimension (h={horizon})",
        caption=("For each planner and d, the geometry with the lowest and the highest mean goal distance "
                 f"(mean [95% CI] over seeds (n), then the geometry). {_CELL_NOTE} The paper reports CEM and "
                 "diffusion only and does not state Table 2's horizon; we use h=8. "
                 "Note the paper's Table 2 disagrees with its own Table 1 at d=8."),
        header=header, rows=rows,
        csv_header=["planner", "d", "horizon", "min_geometry", "min_mean", "min_std", "min_ci_low", "min_ci_high",
                    "min_n", "max_geometry", "max_mean", "max_std", "max_ci_low", "max_ci_high", "max_n",
                    "geometries_present", "paper_min", "paper_max"],
        csv_rows=csv_rows, missing=missing, notes=[_BASELINE_NOTE + " They do not depend on the geometry."])


def table3(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D) -> Table:
    """Goal distance by planner (rows) and horizon (columns) on ``geometry`` at ``d``."""
    planners = list(PLANNERS)
    horizons = sorted(set(PAPER_HORIZONS) | set(res.horizons))
    header = ["Planner"]
    for h in horizons:
        header += [f"h={h} (ours)", f"h={h} (paper)"]
    rows, csv_rows, missing = [], [], []
    for p in planners:
        row = [planner_label(p)]
        for h in horizons:
            s = res.stat("goal_distance", p, geometry, d, h)
            pv = _paper(paper, "table3", "values", p, str(h))
            row += [s.fmt(), fmt_num(pv) if pv is not None else "—"]
            csv_rows.append([p, geometry, d, h, *_stat_csv(s), "" if pv is None else pv])
            if s.empty and (h in PAPER_HORIZONS or h in res.horizons):
                missing.append(f"{planner_label(p)} at h={h} ({geometry_label(geometry)}, d={d})")
        rows.append(row)
    _add_baselines(res, [(geometry, d, h) for h in horizons], rows, csv_rows)
    return Table(
        key="table3", title=f"Table 3: goal distance by planning horizon on {geometry_label(geometry)}-{d}d",
        caption=f"Goal distance ||s_T − s*||₂ by horizon h. {_CELL_NOTE} The paper reports CEM and diffusion only.",
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", *_STAT_HEADER, "paper"],
        csv_rows=csv_rows, missing=missing, notes=[_BASELINE_NOTE + " a = 0 depends on h (T steps of "
                                                     "the free dynamics)."])


def table4(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D,
           horizon: int = BASE_H) -> Table:
    """Smoothness (Eq. 11), goal distance and samples by planner on ``geometry`` at ``d``, ``horizon``."""
    planners = list(PLANNERS)
    header = ["Planner", "Smoothness (ours)", "Smoothness (paper)", "Goal distance (ours)", "Samples (ours)",
              "Samples (paper)"]
    rows, csv_rows, missing = [], [], []
    for p in planners:
        sm = res.stat("smoothness", p, geometry, d, horizon)
        gd = res.stat("goal_distance", p, geometry, d, horizon)
        sa = res.stat("samples", p, geometry, d, horizon)
        psm = _paper(paper, "table4", "values", p, "smoothness")
        psa = _paper(paper, "table4", "values", p, "samples")
        rows.append([planner_label(p), sm.fmt("smoothness"), fmt_num(psm) if psm is not None else "—",
                     gd.fmt(), sa.fmt("samples"), fmt_num(psa, "samples") if psa is not None else "—"])
        csv_rows.append([p, geometry, d, horizon, sm.mean, sm.std, *sm.ci, sm.n, "" if psm is None else psm,
                         gd.mean, *gd.ci, sa.mean, sa.std, sa.n, "" if psa is None else psa])
        if sm.empty:
            missing.append(f"{planner_label(p)} ({geometry_label(geometry)}, d={d}, h={horizon})")
    for key, label, col in BASELINE_ROWS:
        s = res.baseline(col, geometry, d, horizon)
        rows.append([label, "—", "—", s.fmt(), "—", "—"])
        csv_rows.append([key, geometry, d, horizon, "", "", "", "", "", "", s.mean, *s.ci, "", "", "", ""])
    return Table(
        key="table4",
        title=f"Table 4: smoothness and samples at d={d}, h={horizon} on {geometry_label(geometry)}",
        caption=("Smoothness = (1/T) Σ_t ||s_t − s_{t−1}||₂ (Eq. 11, lower is smoother); goal distance as in "
                 "Table 1; samples = world-model rollouts the planner performed, counted in the kernel. "
                 f"{_CELL_NOTE}"),
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", "smoothness_mean", "smoothness_std",
                    "smoothness_ci_low", "smoothness_ci_high", "smoothness_n", "smoothness_paper",
                    "goal_distance_mean", "goal_distance_ci_low", "goal_distance_ci_high",
                    "samples_mean", "samples_std", "samples_n", "samples_paper"],
        csv_rows=csv_rows, missing=missing, notes=[_BASELINE_NOTE])


#: Rollout budgets of the equal-budget table (the paper's diffusion, CEM/MPPI and gradient counts).
BUDGETS = (1050, 2000, 6500)


def budget_hyperparameters(planner: str, budget: int, horizon: int, d: int, gradient: str = "fd") -> dict:
    """The paper planner's hyperparameters at ``budget`` rollouts (its registry ``for_budget``)."""
    from ..engine import registry
    from ..engine.planners import DEFAULTS

    spec = registry.planner(planner)
    base = dict(DEFAULTS[planner])
    if "gradient" in base:
        base["gradient"] = gradient
    return spec.at_budget(spec.resolve(base), budget, horizon, d)


def budget_results(res: Results, budget: int, d: int = BASE_D, horizon: int = BASE_H) -> tuple[Results | None, dict]:
    """Runs of the paper's planners at ``budget`` rollouts (``fastplan sweep --budget``), any geometry.

    Returns the :class:`Results` of those runs (None when there are none) and, per planner,
    the hyperparameters a budget run has.  Runs are found by their hyperparameters (those of
    :func:`budget_hyperparameters`, geometry usage ``prior``), so the paper's default runs count
    at the budget their defaults spend (e.g. CEM at 2000).
    """
    from .results import _canonical_hp

    rec = res.all_records
    want = {p: budget_hyperparameters(p, budget, horizon, d) for p in PLANNERS}
    keys = {p: _canonical_hp(json.dumps(hp)) for p, hp in want.items()}
    hp = np.asarray([_canonical_hp(h) for h in rec["hyperparameters"]], dtype=object)
    keep = ((rec["d"] == d) & (rec["horizon"] == horizon) & np.isin(rec["geometry_usage"], ["prior", ""])
            & np.fromiter((keys.get(p) == h for p, h in zip(rec["planner"], hp)), dtype=bool, count=hp.size))
    if not keep.any():
        return None, want
    sub = {k: v[keep] for k, v in rec.items() if k != "goal_ratio"}
    return Results(sub, None, select=False), want


def table5(res: Results, paper: dict, budgets=BUDGETS, d: int = BASE_D, horizon: int = BASE_H) -> Table | None:
    """Goal distance of the paper's planners at equal rollout budgets; None without budget runs.

    Written only when the file holds a budget run that is not a paper default (a run of
    ``fastplan sweep --budget``); a planner's defaults count at the budget they spend.
    """
    from ..engine.planners import DEFAULTS
    from .results import _canonical_hp

    geoms = list(KINDS)
    found = {B: budget_results(res, B, d, horizon) for B in budgets}
    defaults = {p: _canonical_hp(json.dumps(DEFAULTS[p] | ({"gradient": "fd"} if "gradient" in DEFAULTS[p] else {})))
                for p in PLANNERS}
    extra = any(r is not None and any(_canonical_hp(h) != defaults.get(p) for p, h in
                                      zip(r.records["planner"], r.records["hyperparameters"]))
                for r, _ in found.values())
    if not extra:
        return None
    header = ["Budget", "Planner", *[f"{geometry_label(g)}-{d}d" for g in geoms], "Rollouts (mean)", "Setting"]
    rows, csv_rows, missing = [], [], []
    for B, (rb, want) in found.items():
        stats = {(p, g): (rb.stat("goal_distance", p, g, d, horizon) if rb is not None else None)
                 for p in PLANNERS for g in geoms}
        bold = {}
        for g in geoms:
            cells = {p: (stats[p, g].fmt() if stats[p, g] is not None else "missing") for p in PLANNERS}
            bold[g] = _bold_best(cells, {p: (stats[p, g].mean if stats[p, g] is not None else None) for p in PLANNERS})
        for p in PLANNERS:
            sa = rb.stat("samples", p, geoms[0], d, horizon) if rb is not None else None
            knob = {k: v for k, v in want[p].items() if v != DEFAULTS[p].get(k)} or "paper defaults"
            setting = knob if isinstance(knob, str) else ", ".join(f"{k}={v}" for k, v in knob.items())
            rows.append([B, planner_label(p), *[bold[g][p] for g in geoms],
                         fmt_num(sa.mean, "samples") if sa is not None and not sa.empty else "—", setting])
            for g in geoms:
                s = stats[p, g]
                if s is None or s.empty:
                    missing.append(f"{planner_label(p)} on {geometry_label(g)} at budget {B}")
                    csv_rows.append([B, p, g, d, horizon, "", "", "", "", 0, 0, "", setting])
                else:
                    csv_rows.append([B, p, g, d, horizon, *_stat_csv(s), sa.mean if sa is not None else "", setting])
    zero = [res.baseline("zero_action_distance", g, d, horizon) for g in geoms]
    rows.append(["any", BASELINE_ROWS[0][1], *[z.fmt() for z in zero], "—", "no planning"])
    return Table(
        key="table5", title=f"Table 5: goal distance at equal rollout budgets (d={d}, h={horizon})",
        caption=("Every planner at the same number of world-model rollouts per plan: its iteration count "
                 "(diffusion: denoising steps) set by its registry `for_budget` to come closest to the budget "
                 "(`fastplan sweep --budget`). 1050, 2000 and 6500 are the paper's diffusion, CEM/MPPI and "
                 f"gradient budgets. {_CELL_NOTE} Best mean per geometry and budget in bold."),
        header=header, rows=rows,
        csv_header=["budget", "planner", "geometry", "d", "horizon", *_STAT_HEADER, "rollouts_mean", "setting"],
        csv_rows=csv_rows, missing=missing)


def baseline_table(res: Results, d: int = BASE_D, horizon: int = BASE_H) -> Table:
    """Each planner against doing nothing: goal distance / ``a = 0`` distance per geometry."""
    geoms = list(KINDS)
    header = ["Planner", *[f"{geometry_label(g)}-{d}d" for g in geoms], "Seeds where a = 0 is closer"]
    rows, csv_rows, missing = [], [], []
    for p in PLANNERS:
        row, worse, total = [planner_label(p)], 0, 0
        for g in geoms:
            s = res.stat("goal_ratio", p, g, d, horizon)
            row.append(s.fmt("ratio"))
            worse += int(np.sum(s.values > 1.0))
            total += s.n
            csv_rows.append([p, g, d, horizon, *_stat_csv(s), int(np.sum(s.values > 1.0))])
            if s.empty:
                missing.append(f"{planner_label(p)} on {geometry_label(g)} (d={d}, h={horizon})")
        row.append(f"{worse} of {total}" if total else "—")
        rows.append(row)
    return Table(
        key="baselines", title=f"Planners against doing nothing (d={d}, h={horizon})",
        caption=("Goal distance divided by the goal distance of the zero action sequence a = 0 on the same "
                 "problem (same world, start and goal): below 1, planning helped; above 1, the planner ends "
                 f"farther from the goal than doing nothing. {_CELL_NOTE}"),
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", *_STAT_HEADER, "seeds_worse_than_zero_action"],
        csv_rows=csv_rows, missing=missing)


def all_tables(res: Results, paper: dict) -> list[Table]:
    """Tables 1-4 in order."""
    return [table1(res, paper), table2(res, paper), table3(res, paper), table4(res, paper)]
