"""Tables 1-4 of the paper from a results file, with the paper's numbers beside ours.

This module also holds :class:`Results`, the small data layer the tables, the figures
(:mod:`fastplan.figures`) and the claim checker (:mod:`fastplan.claims`) share: it takes
the run records of a results file (one row per run, see :func:`fastplan.store.load`) and
the geometry metrics, and answers "mean and spread over seeds of metric X in cell
(planner, geometry, d, horizon)".

Statistics
----------
Every cell is summarised over seeds as ``mean ± std (n)``: the arithmetic mean, the sample
standard deviation (``ddof=1``; undefined for ``n = 1``) and the number of seeds ``n``
with a finite value.  Runs whose metric is NaN (a diverged plan) are not averaged; they
are counted and shown as ``k NaN``.

Tables (Sec. 3 of the paper)
----------------------------
=========  ===========================================================================
table1     Goal distance ``||s_T - s*||_2`` by planner and geometry at d=8, h=8.
table2     Goal-distance range [min, max] across geometries (of the per-geometry means)
           by planner and latent dimension, at h=8 (the paper does not state Table 2's
           horizon; we use its default h=8).
table3     Goal distance by planner and horizon on VAE, d=8.
table4     Smoothness (Eq. 11) and samples (world-model rollouts) by planner at d=8,
           h=8 on VAE.
=========  ===========================================================================
"""
from __future__ import annotations

import csv
import io
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


_CELL_NOTE = ("Cells: mean ± sample std over seeds (n seeds); "
              "the paper reports means only.")


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
            csv_rows.append([p, g, d, horizon, s.mean, s.std, s.n, s.n_nan, "" if pv is None else pv])
            if s.empty:
                missing.append(f"{planner_label(p)} on {geometry_label(g)} (d={d}, h={horizon})")
        rows.append(row)
    return Table(
        key="table1", title=f"Table 1: goal distance by planner and geometry at d={d}, h={horizon}",
        caption=(f"Final goal distance ||s_T − s*||₂ (lower is better). {_CELL_NOTE} "
                 "Best mean per geometry in bold."),
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", "mean", "std", "n", "n_nan", "paper"],
        csv_rows=csv_rows, missing=missing)


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
                csv_rows.append([p, d, horizon, "", "", "", "", "", "", "", "", 0,
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
            csv_rows.append([p, d, horizon, gmin, smin.mean, smin.std, smin.n, gmax, smax.mean, smax.std,
                             smax.n, len(present), pr[0] if pr else "", pr[1] if pr else ""])
    return Table(
        key="table2", title=f"Table 2: goal-distance range across geometries by dimension (h={horizon})",
        caption=("For each planner and d, the geometry with the lowest and the highest mean goal distance "
                 f"(mean ± std over seeds (n), then the geometry). {_CELL_NOTE} The paper reports CEM and "
                 "diffusion only and does not state Table 2's horizon; we use h=8. "
                 "Note the paper's Table 2 disagrees with its own Table 1 at d=8."),
        header=header, rows=rows,
        csv_header=["planner", "d", "horizon", "min_geometry", "min_mean", "min_std", "min_n",
                    "max_geometry", "max_mean", "max_std", "max_n", "geometries_present",
                    "paper_min", "paper_max"],
        csv_rows=csv_rows, missing=missing)


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
            csv_rows.append([p, geometry, d, h, s.mean, s.std, s.n, s.n_nan, "" if pv is None else pv])
            if s.empty and (h in PAPER_HORIZONS or h in res.horizons):
                missing.append(f"{planner_label(p)} at h={h} ({geometry_label(geometry)}, d={d})")
        rows.append(row)
    return Table(
        key="table3", title=f"Table 3: goal distance by planning horizon on {geometry_label(geometry)}-{d}d",
        caption=f"Goal distance ||s_T − s*||₂ by horizon h. {_CELL_NOTE} The paper reports CEM and diffusion only.",
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", "mean", "std", "n", "n_nan", "paper"],
        csv_rows=csv_rows, missing=missing)


def table4(res: Results, paper: dict, geometry: str = BASE_GEOMETRY, d: int = BASE_D,
           horizon: int = BASE_H) -> Table:
    """Smoothness (Eq. 11) and samples by planner on ``geometry`` at ``d``, ``horizon``."""
    planners = list(PLANNERS)
    header = ["Planner", "Smoothness (ours)", "Smoothness (paper)", "Samples (ours)", "Samples (paper)"]
    rows, csv_rows, missing = [], [], []
    for p in planners:
        sm = res.stat("smoothness", p, geometry, d, horizon)
        sa = res.stat("samples", p, geometry, d, horizon)
        psm = _paper(paper, "table4", "values", p, "smoothness")
        psa = _paper(paper, "table4", "values", p, "samples")
        rows.append([planner_label(p), sm.fmt("smoothness"), fmt_num(psm) if psm is not None else "—",
                     sa.fmt("samples"), fmt_num(psa, "samples") if psa is not None else "—"])
        csv_rows.append([p, geometry, d, horizon, sm.mean, sm.std, sm.n, "" if psm is None else psm,
                         sa.mean, sa.std, sa.n, "" if psa is None else psa])
        if sm.empty:
            missing.append(f"{planner_label(p)} ({geometry_label(geometry)}, d={d}, h={horizon})")
    return Table(
        key="table4",
        title=f"Table 4: smoothness and samples at d={d}, h={horizon} on {geometry_label(geometry)}",
        caption=("Smoothness = (1/T) Σ_t ||s_t − s_{t−1}||₂ (Eq. 11, lower is smoother); samples = "
                 f"world-model rollouts the planner performed, counted in the kernel. {_CELL_NOTE}"),
        header=header, rows=rows,
        csv_header=["planner", "geometry", "d", "horizon", "smoothness_mean", "smoothness_std", "smoothness_n",
                    "smoothness_paper", "samples_mean", "samples_std", "samples_n", "samples_paper"],
        csv_rows=csv_rows, missing=missing)


def all_tables(res: Results, paper: dict) -> list[Table]:
    """Tables 1-4 in order."""
    return [table1(res, paper), table2(res, paper), table3(res, paper), table4(res, paper)]
