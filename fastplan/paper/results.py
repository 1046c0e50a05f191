"""The results data layer: runs of a results file as columns, variants chosen per planner,
and cell statistics (:class:`Results`), shared by tables, figures, claims and the report."""
from __future__ import annotations

import json
import math
import numpy as np

from ..engine.geometry import canonical_kind
from ..engine.planners import DEFAULTS
from ..engine.registry import COST_OPTIONS
from . import PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS as PLANNERS, planner_order
from .stats import Stat, make_stat

#: Run-level metrics a results file holds (columns of :func:`fastplan.store.load`), and the
#: baselines: the goal distance of the zero action sequence ``a = 0`` and ``||s0 - s*||``.
RUN_METRICS = ("goal_distance", "smoothness", "cost", "samples", "steps", "wall_time")
BASELINES = ("zero_action_distance", "initial_distance")
#: Goal distance normalised by the ``a = 0`` distance of the same problem (1 = no better than
#: doing nothing), derived per run.
NORMALISED = "goal_ratio"
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

_STRING_COLUMNS = ("config_id", "geometry", "planner", "geometry_usage", "gradient", "hyperparameters",
                   "execution", "arithmetic")
_INT_COLUMNS = ("d", "horizon", "seed")


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
    if any(key in hp for key in COST_OPTIONS):     # a cost beyond Eq. 5 (prior, running, box, ...)
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
    Missing optional columns (geometry_usage, gradient, hyperparameters, config_id, execution,
    cost, steps, wall_time, the baselines) are filled with neutral values (NaN); the column
    ``goal_ratio`` (goal distance / ``a = 0`` distance) is derived.
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
    for name in RUN_METRICS + BASELINES:
        out[name] = np.asarray(out[name], dtype=float) if name in out else np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[NORMALISED] = out["goal_distance"] / out["zero_action_distance"]
    return out


def select_variants(records: dict) -> tuple[np.ndarray, list[dict]]:
    """Pick one configuration variant per planner.

    A *variant* is (planner, hyperparameters, geometry_usage, gradient, execution, arithmetic).
    A file may hold several per planner (e.g. a sweep with ``--set cem.population=400`` beside
    the defaults).  The report shows one: the paper's defaults with ``geometry_usage="prior"``,
    the default (latent) execution and exact arithmetic when present, otherwise the latent
    variant with the most runs (decoded-execution variants only when a planner has no other;
    exact arithmetic before ``FASTPLAN_ARITHMETIC=fast`` runs, which are never the paper's
    defaults).

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
    execution = np.asarray([e if e else "latent" for e in records["execution"]], dtype=object)
    arithmetic = np.asarray([a if a else "exact" for a in records["arithmetic"]], dtype=object)
    keys = list(zip(records["planner"], hp, records["geometry_usage"], records["gradient"], execution,
                    arithmetic))
    counts: dict = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    chosen = {}
    for planner in sorted({k[0] for k in counts}):
        options = [k for k in counts if k[0] == planner]
        options.sort(key=lambda k: (not _paper_variant(k), k[4] != "latent", k[5] != "exact",
                                    -counts[k], k[1], k[2], k[3], k[4], k[5]))
        chosen[planner] = options[0]
    keep = np.fromiter((chosen[k[0]] == k for k in keys), dtype=bool, count=n)
    variants = []
    for k in sorted(counts, key=lambda k: (_planner_rank(k[0]), k != chosen[k[0]], -counts[k])):
        try:
            hp_value = json.loads(k[1])
        except (TypeError, ValueError):
            hp_value = k[1]
        variants.append({"planner": k[0], "hyperparameters": hp_value, "geometry_usage": k[2],
                         "gradient": k[3], "execution": k[4], "arithmetic": k[5], "runs": counts[k],
                         "chosen": chosen[k[0]] == k, "paper_defaults": _paper_variant(k)})
    return keep, variants


def _paper_variant(k: tuple) -> bool:
    """A variant key (planner, hyperparameters, usage, gradient, execution, arithmetic) of the
    paper's configuration: its defaults, latent execution, exact arithmetic."""
    return _is_default(k[0], k[1], k[2]) and k[4] == "latent" and k[5] == "exact"


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
        self.all_records = rec
        self.n_runs_total = int(rec["planner"].size)
        if select and self.n_runs_total:
            keep, self.variants = select_variants(rec)
            rec = {k: v[keep] for k, v in rec.items()}
        else:
            self.variants = select_variants(rec)[1] if self.n_runs_total else []
        self.records = rec
        self.n_runs = int(rec["planner"].size)
        self.planners = planner_order(rec["planner"])
        self.geometries = _ordered(rec["geometry"], KINDS)
        self.dims = sorted({int(x) for x in rec["d"]})
        self.horizons = sorted({int(x) for x in rec["horizon"]})
        self.seeds = sorted({int(x) for x in rec["seed"]})
        self._index: dict = {}
        for i, key in enumerate(zip(rec["planner"], rec["geometry"], rec["d"], rec["horizon"])):
            self._index.setdefault((key[0], key[1], int(key[2]), int(key[3])), []).append(i)
        self._index = {k: np.asarray(v, dtype=np.int64)[np.argsort(rec["seed"][v], kind="stable")]
                       for k, v in self._index.items()}
        self._baseline_index: dict = {}
        for i, key in enumerate(zip(rec["geometry"], rec["d"], rec["horizon"], rec["seed"])):
            self._baseline_index.setdefault((key[0], int(key[1]), int(key[2])), {}).setdefault(int(key[3]), i)
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

    def baseline_values(self, name: str, geometry: str, d: int, horizon: int) -> dict:
        """``{seed: value}`` of a baseline (``zero_action_distance``, ``initial_distance``) in
        the cell (geometry, d, horizon), from any planner's run of that seed: the problem of a
        (d, seed) does not depend on the planner."""
        rows = self._baseline_index.get((geometry, int(d), int(horizon)), {})
        col = self.records[name]
        return {s: float(col[i]) for s, i in sorted(rows.items())}

    def baseline(self, name: str, geometry: str, d: int, horizon: int) -> Stat:
        """Statistic over seeds of a baseline in one cell (see :meth:`baseline_values`)."""
        return make_stat(list(self.baseline_values(name, geometry, d, horizon).values()))

    def baseline_average(self, name: str, d: int, horizon: int, geometries=KINDS) -> Stat | None:
        """Per-seed average over ``geometries`` of a baseline (as :meth:`geometry_average`)."""
        maps = [self.baseline_values(name, g, d, horizon) for g in geometries]
        if any(not m for m in maps):
            return None
        seeds = sorted(set.intersection(*(set(m) for m in maps)))
        return make_stat([np.mean([m[s] for m in maps]) for s in seeds]) if seeds else None

    def subset(self, seeds) -> "Results":
        """The same results restricted to ``seeds`` (runs and geometry metrics)."""
        keep = set(int(s) for s in seeds)
        rec = {k: v[np.isin(self.all_records["seed"], list(keep))] for k, v in self.all_records.items()
               if k != NORMALISED}
        gm = {k: v[np.isin(self.gm["seed"], list(keep))] for k, v in self.gm.items()} if self.gm else None
        return Results(rec, gm)

    # -- geometry metrics
    def gstat(self, metric: str, geometry: str, d: int) -> Stat:
        """Mean and spread over seeds of a geometry metric."""
        if not self.gm:
            return make_stat([])
        sel = (self.gm["geometry"] == geometry) & (self.gm["d"] == int(d))
        order = np.argsort(self.gm["seed"][sel], kind="stable")
        return make_stat(self.gm[metric][sel][order])
