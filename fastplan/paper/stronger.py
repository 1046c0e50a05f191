"""Beyond the paper: every planner at equal rollout budgets, with paired intervals.

The paper's five planners (as Table 5 runs them, plus the gradient planner with the engine's
adjoint gradients) and the planners registered beyond them (iCEM, adaptive MPPI, Adam, MBD) at
the same numbers of world-model rollouts per plan (d = h = 8, the paper's three geometries).
The paper's tables, figures and claims never see these rows (the paper layer keeps its list).

Cells: goal distance, ``mean [95% t interval] (n)`` over seeds per geometry, and the per-seed mean
over the three geometries.  Contrast: each row minus the *best paper planner at that budget*
(lowest three-geometry mean among the paper's rows), per seed and geometry averaged, with a
paired seed-bootstrap 95% interval (:class:`fastplan.paper.bootstrap.Paired`: same worlds,
starts and goals on every resample).  ``better`` / ``worse``: the interval lies below / above 0;
``tie``: it holds 0.  The reference is chosen on the data, so its own contrast is 0 and the
others' are conservative by that selection.

:func:`beyond_sweeps` lists the runs; :func:`write_beyond` writes ``beyond.md``/``.csv`` (and the
anytime figure when the file holds traces); ``fastplan beyond OUT`` does both.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from . import PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS, geometry_label, planner_label
from .stats import fmt_num, interval, make_stat

#: Budgets (rollouts per plan): the paper's diffusion, CEM/MPPI and finite-difference gradient counts.
BUDGETS = (1050, 2000, 6500)
D = H = 8


@dataclass(frozen=True)
class Row:
    """A row of the table: a planner with fixed overrides (e.g. the adjoint gradient)."""

    key: str            # the name the row's runs carry in the table's Results
    planner: str
    overrides: tuple    # ((hyperparameter, value), ...)
    paper: bool

    @property
    def label(self) -> str:
        extra = ", ".join(f"{v}" for _, v in self.overrides)
        return planner_label(self.planner) + (f" ({extra})" if extra else "")


def rows() -> list[Row]:
    """The paper's five as Table 5 runs them (finite differences), the gradient planner with
    adjoint gradients, then the stronger planners of :mod:`fastplan.engine.beyond` (the
    geometry-aware planners have their own experiment, ``fastplan beyond-geometry``)."""
    from ..engine.beyond import PLANNERS as STRONGER
    out = [Row(p, p, (("gradient", "fd"),) if p in ("gradient", "sgld") else (), True) for p in PAPER_PLANNERS]
    out.insert(3, Row("gradient (adjoint)", "gradient", (("gradient", "adjoint"),), True))
    for spec in STRONGER:
        if spec.for_budget is not None:
            out.append(Row(spec.name, spec.name, (), False))
    return out


def row_hyperparameters(row: Row, budget: int, d: int = D, horizon: int = H) -> dict:
    """The row's hyperparameters at ``budget`` rollouts (its registry ``for_budget``)."""
    from ..engine import registry
    spec = registry.planner(row.planner)
    return spec.at_budget(spec.resolve(dict(row.overrides)), budget, horizon, d)


def beyond_sweeps(seeds: int = 100, budgets=BUDGETS, traces: bool = True) -> list[dict]:
    """Keyword arguments of :func:`fastplan.runs.sweep.run_sweep` for the table: every row at every
    budget, d = h = 8, the paper's geometries, seeds 0..seeds-1 (no geometry metrics); with
    ``traces`` the runs at the largest budget store their traces (the anytime figure)."""
    all_rows = rows()
    base = {"geometries": list(KINDS), "dims": [D], "horizons": [H], "seeds": list(range(seeds)),
            "metric_samples": 0}
    budgets = sorted(set(int(b) for b in budgets))
    parts = [(budgets[:-1], False), (budgets[-1:], True)] if traces else [(budgets, False)]
    fd = [r.planner for r in all_rows if dict(r.overrides).get("gradient") != "adjoint"]
    adjoint = [r.planner for r in all_rows if dict(r.overrides).get("gradient") == "adjoint"]
    return [{**base, "planners": planners, "gradient": mode, "budgets": bs, **({"traces": True} if tr else {})}
            for bs, tr in parts if bs for planners, mode in ((fd, "fd"), (adjoint, "adjoint"))]


def budget_view(records: dict, budget: int, d: int = D, horizon: int = H):
    """The runs of every row at ``budget`` as a :class:`~fastplan.paper.results.Results` whose
    planner column is the row key (None when there are none), and ``{row key: hyperparameters}``."""
    from .results import Results, _canonical_hp, normalize_records

    rec = normalize_records(records)
    hp = np.asarray([_canonical_hp(h) for h in rec["hyperparameters"]], dtype=object)
    base = (rec["d"] == d) & (rec["horizon"] == horizon) & np.isin(rec["geometry_usage"], ["prior", ""])
    planner = rec["planner"].copy()
    keep = np.zeros(planner.size, dtype=bool)
    want = {}
    for row in rows():
        want[row.key] = row_hyperparameters(row, budget, d, horizon)
        sel = base & (rec["planner"] == row.planner) & (hp == _canonical_hp(json.dumps(want[row.key])))
        planner[sel] = row.key
        keep |= sel
    if not keep.any():
        return None, want
    sub = {k: v[keep] for k, v in {**rec, "planner": planner}.items() if k != "goal_ratio"}
    return Results(sub, None, select=False), want


@dataclass
class Contrast:
    """A row minus the reference, geometry-averaged over seeds, with its paired interval."""

    estimate: float
    lo: float
    hi: float
    n: int

    @property
    def verdict(self) -> str:
        if not np.isfinite(self.lo):
            return "—"
        return "better" if self.hi < 0 else "worse" if self.lo > 0 else "tie"

    def fmt(self) -> str:
        if not np.isfinite(self.estimate):
            return "—"
        return (f"{self.estimate:+.3f} [{self.lo:+.3f}, {self.hi:+.3f}] {self.verdict}"
                if np.isfinite(self.lo) else f"{self.estimate:+.3f}")


def budget_contrasts(res, keys, reference: str, d: int = D, horizon: int = H) -> dict:
    """``{key: Contrast}``: geometry-averaged goal distance of each row minus ``reference``."""
    from .bootstrap import Paired

    boot = Paired(res)
    ref = boot.gavg("goal_distance", reference, d, horizon)
    out = {}
    for key in keys:
        boot.reset()
        mine = boot.gavg("goal_distance", key, d, horizon)
        if mine is None or ref is None:
            out[key] = Contrast(float("nan"), float("nan"), float("nan"), 0)
            continue
        iv = interval(mine - ref, boot.n_used)
        out[key] = Contrast(iv.estimate, iv.lo, iv.hi, iv.n)
    return out


def beyond_table(records: dict, budgets=BUDGETS, d: int = D, horizon: int = H):
    """The table (:class:`fastplan.paper.tables.Table`) of every row at every budget; None when the
    records hold no budget run of a planner beyond the paper."""
    from .tables import Table, _STAT_HEADER, _stat_csv

    all_rows = rows()
    header = ["Budget", "Planner", *[f"{geometry_label(g)}" for g in KINDS], "All three",
              "Δ vs best paper planner", "Rollouts"]
    md, csv_rows, missing, found = [], [], [], False
    for B in budgets:
        res, want = budget_view(records, B, d, horizon)
        if res is None:
            missing.append(f"every planner at budget {B}")
            continue
        found |= any(not r.paper and res.has(r.key, g, d, horizon) for r in all_rows for g in KINDS)
        avg = {r.key: res.geometry_average("goal_distance", r.key, d, horizon) for r in all_rows}
        paper_means = {r.key: avg[r.key].mean for r in all_rows if r.paper and avg[r.key] is not None}
        reference = min(paper_means, key=paper_means.get) if paper_means else None
        contrasts = budget_contrasts(res, [r.key for r in all_rows], reference, d, horizon) if reference else {}
        best = min((a.mean for a in avg.values() if a is not None), default=np.nan)
        for r in all_rows:
            cells = []
            for g in KINDS:
                s = res.stat("goal_distance", r.key, g, d, horizon)
                cells.append(s.fmt())
                if s.empty:
                    missing.append(f"{r.label} on {geometry_label(g)} at budget {B}")
                csv_rows.append([B, r.key, g, d, horizon, *_stat_csv(s), "", "", "",
                                 json.dumps(want[r.key], sort_keys=True)])
            a = avg[r.key]
            allg = a.fmt() if a is not None else "missing"
            if a is not None and a.mean == best:
                allg = f"**{allg}**"
            c = contrasts.get(r.key)
            sa = res.stat("samples", r.key, KINDS[0], d, horizon)
            label = f"{r.label}{' (reference)' if r.key == reference else ''}"
            md.append([B, label if r.paper else f"*{label}*", *cells, allg,
                       c.fmt() if c is not None and r.key != reference else "—",
                       fmt_num(sa.mean, "samples") if not sa.empty else "—"])
            if a is not None:
                csv_rows.append([B, r.key, "all", d, horizon, *_stat_csv(a),
                                 *((c.estimate, c.lo, c.hi) if c is not None else ("", "", "")),
                                 json.dumps(want[r.key], sort_keys=True)])
    if not found:
        return None
    zero = [make_stat(list(_zero(records, g, d, horizon))) for g in KINDS]
    md.append(["any", "a = 0 (baseline)", *[z.fmt() for z in zero], "—", "—", "0"])
    return Table(
        key="beyond", title=f"Beyond the paper: every planner at equal rollout budgets (d={d}, h={horizon})",
        caption=("Goal distance ‖s_T − s*‖ per geometry: mean [95% t interval] (n seeds); *All three*: the per-seed "
                 "mean over the three geometries (best per budget in bold). *Δ*: that mean minus the best paper "
                 "planner's at the same budget (the reference), with a paired seed-bootstrap 95% interval "
                 "(4000 resamples); *better*/*worse*: the interval excludes 0. Planners beyond the paper in "
                 "italics. Each planner's iteration count (MBD: noise levels) is set by its registry "
                 "`for_budget`; Rollouts: the mean counted by the kernels."),
        header=header, rows=md,
        csv_header=["budget", "planner", "geometry", "d", "horizon", *_STAT_HEADER, "delta", "delta_lo",
                    "delta_hi", "hyperparameters"],
        csv_rows=csv_rows, missing=missing)


def _zero(records, geometry, d, horizon):
    """``a = 0`` goal distances of the distinct (seed) problems of a cell."""
    from .results import normalize_records
    rec = normalize_records(records)
    sel = (rec["geometry"] == geometry) & (rec["d"] == d) & (rec["horizon"] == horizon)
    seen = {}
    for s, z in zip(rec["seed"][sel], rec["zero_action_distance"][sel]):
        seen.setdefault(int(s), float(z))
    return [seen[s] for s in sorted(seen)]


def write_beyond(results_path: str, out_dir: str, budgets=BUDGETS, figure: bool = True) -> dict:
    """Write ``beyond.md`` and ``beyond.csv`` (and ``anytime.png``/``.pdf`` when the file holds
    traces) into ``out_dir``; returns their paths and the table."""
    from ..engine.errors import FastplanError
    from .report import _prepare_out_dir, _write_text, fill_baselines, load_records

    records, _ = fill_baselines(results_path, load_records(results_path))
    table = beyond_table(records, budgets)
    if table is None:
        raise FastplanError(f"{results_path} holds no budget runs of a planner beyond the paper "
                            "(run fastplan beyond OUT, or a sweep with --budget)")
    out_dir = _prepare_out_dir(out_dir)
    paths = [_write_text(os.path.join(out_dir, "beyond.md"), table.to_markdown(heading_level=1)),
             _write_text(os.path.join(out_dir, "beyond.csv"), table.to_csv())]
    if figure:
        paths += anytime_figure(results_path, out_dir, max(budgets))
    return {"table": table, "paths": paths}


def anytime_figure(results_path: str, out_dir: str, budget: int) -> list[str]:
    """``anytime.png`` and ``.pdf``: best cost so far against rollouts of every row at ``budget``
    (d = h = 8, the three geometries pooled), from the traces in the file; [] without traces."""
    from .. import store
    from .plot import TWO_COLUMN, anytime_curves, figure as new_figure

    if not any(int(c["d"]) == D and int(c["horizon"]) == H for c in store.load_traces(results_path)):
        return []
    fig, ax = new_figure(TWO_COLUMN, 3.2, pyplot=False)
    anytime_curves(results_path, ax, d=D, horizon=H, budget=budget)
    out = []
    for ext in ("png", "pdf"):
        path = os.path.join(out_dir, f"anytime.{ext}")
        fig.savefig(path + ".tmp", format=ext)
        os.replace(path + ".tmp", path)
        out.append(path)
    return out


def run_beyond(out_dir: str, *, seeds: int = 100, budgets=BUDGETS, traces: bool = True,
               threads: int | None = None, progress=None, command_line: str | None = None) -> dict:
    """Run :func:`beyond_sweeps` into ``out_dir/runs.h5`` (resuming) and write the table there."""
    import importlib

    from .report import _prepare_out_dir

    out_dir = _prepare_out_dir(out_dir)
    results_path = os.path.join(out_dir, "runs.h5")
    sweep = importlib.import_module("fastplan.runs.sweep")
    for kwargs in beyond_sweeps(seeds, budgets, traces):
        sweep.run_sweep(results_path, threads=threads, progress=progress, command_line=command_line, **kwargs)
    out = write_beyond(results_path, out_dir, budgets)
    out["results"] = results_path
    return out
