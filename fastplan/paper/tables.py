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
import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..engine.geometry import KINDS, LABELS as GEOMETRY_LABELS, canonical_kind
from ..engine.planners import DEFAULTS, LABELS as PLANNER_LABELS, PLANNERS

#: Run-level metrics a results file holds (columns of :func:`fastplan.store.load`).
RUN_METRICS = ("goal_distance", "smoothness", "cost", "samples", "steps", "wall_time")
#: Geometry metrics (columns of :func:`fastplan.store.load_geometry_metrics`).
GEOMETRY_METRICS = ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability")

#: The cell of the paper's central comparison (Table 1, Table 4, Figures 3, 6, 7, 8).
BASE_D = 8
BASE_H = 8
BASE_GEOMETRY = "vae"
#: Dimensions and horizons of the paper's planning experiments (Sec. 3).
PAPER_DIMS = (4, 8, 16)
PAPER_HORIZONS = (4, 8, 16)
#: Dimensions of the paper's geometry figures (Figures 1 and 2).
PAPER_GEOMETRY_DIMS = (4, 8, 16, 32)

_STRING_COLUMNS = ("config_id", "geometry", "planner", "geometry_usage", "gradient", "hyperparameters")
_INT_COLUMNS = ("d", "horizon", "seed")


def planner_label(p: str) -> str:
    return PLANNER_LABELS.get(p, p)


def geometry_label(g: str) -> str:
    return GEOMETRY_LABELS.get(g, g)


# --------------------------------------------------------------------------- statistics
@dataclass(frozen=True)
class Stat:
    """Mean and spread over seeds of one cell.

    Attributes
    ----------
    values : ndarray, shape (n,)
        Finite values, ordered by seed.
    n_nan : int
        Runs of the cell whose value is NaN/inf (excluded from the statistics).
    """

    values: np.ndarray
    n_nan: int = 0

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.n else float("nan")

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (ddof=1); NaN for fewer than 2 seeds."""
        return float(np.std(self.values, ddof=1)) if self.n >= 2 else float("nan")

    @property
    def empty(self) -> bool:
        return self.n == 0

    def fmt(self, metric: str = "goal_distance") -> str:
        """``mean ± std (n)``; ``mean (1)`` for one seed; ``missing`` for none."""
        if self.empty:
            return "missing" if not self.n_nan else f"all NaN ({self.n_nan})"
        tail = f"{self.n}" + (f", {self.n_nan} NaN" if self.n_nan else "")
        if self.n < 2:
            return f"{fmt_num(self.mean, metric)} ({tail})"
        return f"{fmt_num(self.mean, metric)} ± {fmt_num(self.std, metric)} ({tail})"


def make_stat(values) -> Stat:
    v = np.asarray(values, dtype=float).ravel()
    ok = np.isfinite(v)
    return Stat(values=v[ok], n_nan=int(np.sum(~ok)))


def fmt_num(x: float, metric: str = "goal_distance") -> str:
    """Format a number for a table: integers for counts, 3 decimals otherwise."""
    if x is None or not np.isfinite(x):
        return "—"
    if metric in ("samples", "steps"):
        return f"{x:.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.2g}"
    return f"{x:.3f}"


# --------------------------------------------------------------------------- data layer
def _as_str_array(col) -> np.ndarray:
    out = []
    for x in np.asarray(col, dtype=object).ravel():
        if isinstance(x, (bytes, np.bytes_)):
            x = x.decode("utf-8", "replace")
        out.append(str(x))
    return np.asarray(out, dtype=object)


def _canonical_hp(text: str) -> str:
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except (TypeError, ValueError):
        return str(text)


def _is_default(planner: str, hp_text: str, usage: str) -> bool:
    """True when ``hp_text`` holds the paper's hyperparameters of ``planner``."""
    if planner not in DEFAULTS or usage not in ("prior", ""):
        return False
    try:
        hp = json.loads(hp_text)
    except (TypeError, ValueError):
        return False
    if not isinstance(hp, dict):
        return False
    for key, want in DEFAULTS[planner].items():
        got = hp.get(key)
        if isinstance(want, str):
            if str(got) != want:
                return False
        else:
            try:
                if not math.isclose(float(got), float(want), rel_tol=1e-9, abs_tol=0.0):
                    return False
            except (TypeError, ValueError):
                return False
    return True


def normalize_records(records: dict) -> dict:
    """Validate and normalise a dict of equal-length run columns (see module docstring).

    Strings are decoded, geometry aliases mapped to their kind, planner names lowered.
    Missing optional columns (geometry_usage, gradient, hyperparameters, config_id, cost,
    steps, wall_time) are filled with neutral values.
    """
    if records is None:
        raise ValueError("the results file holds no runs")
    required = ("geometry", "d", "horizon", "planner", "seed", "goal_distance")
    missing = [c for c in required if c not in records]
    if missing:
        raise ValueError(f"results are missing the column(s) {', '.join(missing)}")
    n = len(np.asarray(records["geometry"]).ravel())
    out = {}
    for name, col in records.items():
        arr = np.asarray(col).ravel() if not isinstance(col, list) else np.asarray(col, dtype=object)
        if arr.size != n:
            raise ValueError(f"column {name!r} has {arr.size} rows, expected {n}")
        out[name] = arr
    for name in _STRING_COLUMNS:
        out[name] = _as_str_array(out[name]) if name in out else np.asarray([""] * n, dtype=object)
    out["geometry"] = np.asarray([canonical_kind(g) for g in out["geometry"]], dtype=object)
    out["planner"] = np.asarray([p.strip().lower() for p in out["planner"]], dtype=object)
    for name in _INT_COLUMNS:
        out[name] = np.asarray(out[name], dtype=np.int64)
    for name in RUN_METRICS:
        out[name] = np.asarray(out[name], dtype=float) if name in out else np.full(n, np.nan)
    return out


def select_variants(records: dict) -> tuple[np.ndarray, list[dict]]:
    """Pick one configuration variant per planner.

    A *variant* is (planner, hyperparameters, geometry_usage, gradient).  A file may hold
    several per planner (e.g. a sweep with ``--set cem.population=400`` beside the
    defaults).  The report shows one: the paper's defaults with ``geometry_usage="prior"``
    when present, otherwise the variant with the most runs.

    Returns
    -------
    keep : ndarray of bool, shape (n_runs,)
        Runs of the chosen variants.
    variants : list of dict
        One entry per variant: planner, hyperparameters (dict or text), geometry_usage,
        gradient, runs, chosen (bool), paper_defaults (bool).
    """
    n = records["planner"].size
    hp = np.asarray([_canonical_hp(h) for h in records["hyperparameters"]], dtype=object)
    keys = list(zip(records["planner"], hp, records["geometry_usage"], records["gradient"]))
    counts: dict = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    chosen = {}
    for planner in sorted({k[0] for k in counts}):
        options = [k for k in counts if k[0] == planner]
        options.sort(key=lambda k: (not _is_default(planner, k[1], k[2]), -counts[k], k[1], k[2], k[3]))
        chosen[planner] = options[0]
    keep = np.fromiter((chosen[k[0]] == k for k in keys), dtype=bool, count=n)
    variants = []
    for k in sorted(counts, key=lambda k: (_planner_rank(k[0]), k != chosen[k[0]], -counts[k])):
        try:
            hp_value = json.loads(k[1])
        except (TypeError, ValueError):
            hp_value = k[1]
        variants.append({"planner": k[0], "hyperparameters": hp_value, "geometry_usage": k[2],
                         "gradient": k[3], "runs": counts[k], "chosen": chosen[k[0]] == k,
                         "paper_defaults": _is_default(k[0], k[1], k[2])})
    return keep, variants


def _planner_rank(p: str):
    return (PLANNERS.index(p), p) if p in PLANNERS else (len(PLANNERS), p)


def _ordered(values, canonical) -> list:
    vals = set(values)
    return [v for v in canonical if v in vals] + sorted(v for v in vals if v not in canonical)


class Results:
    """Run records and geometry metrics of one results file, indexed by cell.

    Parameters
    ----------
    records : dict of 1-D arrays
        One row per run (columns of :func:`fastplan.store.load`).
    geometry_metrics : dict of 1-D arrays, optional
        Columns geometry, d, seed, effective_dimension, mean_pairwise_distance,
        concentration, amenability (one row per (geometry, d, seed)).
    select : bool
        Keep only one hyperparameter variant per planner (see :func:`select_variants`).
    """

    def __init__(self, records: dict, geometry_metrics: dict | None = None, *, select: bool = True):
        rec = normalize_records(records)
        self.n_runs_total = int(rec["planner"].size)
        if select and self.n_runs_total:
            keep, self.variants = select_variants(rec)
            rec = {k: v[keep] for k, v in rec.items()}
        else:
            self.variants = select_variants(rec)[1] if self.n_runs_total else []
        self.records = rec
        self.n_runs = int(rec["planner"].size)
        self.planners = _ordered(rec["planner"], PLANNERS)
        self.geometries = _ordered(rec["geometry"], KINDS)
        self.dims = sorted({int(x) for x in rec["d"]})
        self.horizons = sorted({int(x) for x in rec["horizon"]})
        self.seeds = sorted({int(x) for x in rec["seed"]})
        self._index: dict = {}
        for i, key in enumerate(zip(rec["planner"], rec["geometry"], rec["d"], rec["horizon"])):
            self._index.setdefault((key[0], key[1], int(key[2]), int(key[3])), []).append(i)
        self._index = {k: np.asarray(v, dtype=np.int64)[np.argsort(rec["seed"][v], kind="stable")]
                       for k, v in self._index.items()}
        self.gm = self._normalize_gm(geometry_metrics)
        self.gdims = sorted({int(x) for x in self.gm["d"]}) if self.gm else []
        self.ggeometries = _ordered(self.gm["geometry"], KINDS) if self.gm else []

    @staticmethod
    def _normalize_gm(gm):
        if gm is None or "geometry" not in gm or len(np.asarray(gm["geometry"]).ravel()) == 0:
            return {}
        out = {"geometry": np.asarray([canonical_kind(g) for g in _as_str_array(gm["geometry"])], dtype=object),
               "d": np.asarray(gm["d"], dtype=np.int64).ravel(),
               "seed": (np.asarray(gm["seed"], dtype=np.int64).ravel() if "seed" in gm
                        else np.zeros(len(np.asarray(gm["d"]).ravel()), dtype=np.int64))}
        for name in GEOMETRY_METRICS:
            out[name] = (np.asarray(gm[name], dtype=float).ravel() if name in gm
                         else np.full(out["d"].size, np.nan))
        # one row per (geometry, d, seed): the one computed from the most samples
        n_samples = np.asarray(gm["n_samples"], dtype=float).ravel() if "n_samples" in gm else np.zeros(out["d"].size)
        best: dict = {}
        for i, key in enumerate(zip(out["geometry"], out["d"], out["seed"])):
            if key not in best or n_samples[i] > n_samples[best[key]]:
                best[key] = i
        keep = np.asarray(sorted(best.values()), dtype=np.int64)
        return {k: v[keep] for k, v in out.items()}

    # -- run cells
    def has(self, planner: str, geometry: str, d: int, horizon: int) -> bool:
        return (planner, geometry, int(d), int(horizon)) in self._index

    def seed_values(self, metric: str, planner: str, geometry: str, d: int, horizon: int) -> dict:
        """``{seed: value}`` of ``metric`` in one cell (empty when the cell is missing)."""
        idx = self._index.get((planner, geometry, int(d), int(horizon)))
        if idx is None:
            return {}
        return {int(s): float(v) for s, v in zip(self.records["seed"][idx], self.records[metric][idx])}

    def stat(self, metric: str, planner: str, geometry: str, d: int, horizon: int) -> Stat:
        """Mean and spread over seeds of ``metric`` in one cell."""
        return make_stat(list(self.seed_values(metric, planner, geometry, d, horizon).values()))

    def geometry_average(self, metric: str, planner: str, d: int, horizon: int,
                         geometries=KINDS) -> Stat | None:
        """Statistic over seeds of the per-seed average across ``geometries``.

        Seeds are those present in every geometry; ``None`` when a geometry is missing
        (the average would not be comparable to the paper's Figure 4).
        """
        maps = [self.seed_values(metric, planner, g, d, horizon) for g in geometries]
        if any(not m for m in maps):
            return None
        seeds = sorted(set.intersection(*(set(m) for m in maps)))
        if not seeds:
            return None
        return make_stat([np.mean([m[s] for m in maps]) for s in seeds])

    def missing(self, planners, geometries, dims, horizons) -> list[tuple]:
        """Cells (planner, geometry, d, horizon) of the given grid with no runs."""
        return [(p, g, int(d), int(h)) for p in planners for g in geometries for d in dims for h in horizons
                if not self.has(p, g, d, h)]

    # -- geometry metrics
    def gstat(self, metric: str, geometry: str, d: int) -> Stat:
        """Mean and spread over seeds of a geometry metric."""
        if not self.gm:
            return make_stat([])
        sel = (self.gm["geometry"] == geometry) & (self.gm["d"] == int(d))
        order = np.argsort(self.gm["seed"][sel], kind="stable")
        return make_stat(self.gm[metric][sel][order])


# --------------------------------------------------------------------------- tables
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
    planners = _ordered(list(PLANNERS) + res.planners, PLANNERS)
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
    planners = _ordered(list(PLANNERS) + res.planners, PLANNERS)
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
    planners = _ordered(list(PLANNERS) + res.planners, PLANNERS)
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
    planners = _ordered(list(PLANNERS) + res.planners, PLANNERS)
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
