"""Runs on a user's own inputs in ``fastplan report``: kept apart from the paper's comparison.

A configuration is *own* when it was planned with a user's world model, latents or starts and
goals (its ``inputs`` attribute, ``fastplan sweep --world/--latents/--starts-goals``) or on a
geometry that is not registered (one fitted to latents: ``gmm``, ``empirical``, ``kmeans``).
Such runs answer the user's question, not the paper's: they never enter the paper's tables,
figures or claims.  The report gives them one table (:func:`own_table`): per configuration the
goal distance, its baselines and the plans' out-of-distribution rate, each as a mean with its
95% interval over seeds (:mod:`fastplan.paper.stats`).
"""
from __future__ import annotations

import json

import numpy as np

from .stats import make_stat
from .tables import Table, _stat_csv, _STAT_HEADER

#: Columns of the own-inputs table: (record column, header, CSV metric name).
COLUMNS = (("goal_distance", "Goal distance ‖s_T − s*‖", "goal_distance"),
           ("zero_action_distance", "a = 0 (baseline)", "zero_action_distance"),
           ("initial_distance", "‖s0 − s*‖", "initial_distance"),
           ("ood_rate", "OOD rate", "ood_rate"))


def own_mask(results_path: str, records: dict, list_configs=None) -> np.ndarray:
    """Boolean (runs,) mask of the runs on a user's own inputs (module docstring).

    ``list_configs(path)`` gives the configurations' attributes (None: the default
    :func:`fastplan.store.list_configs`; False: none, only the geometry decides).
    """
    from ..engine import registry

    if list_configs is None:
        from ..store import list_configs

    geometries = registry.geometries()          # ``in`` knows every alias ("VQ-VAE", "vq-vae", ...)
    names = np.asarray(records["geometry"]).astype(str).ravel()
    mask = np.array([g not in geometries for g in names], dtype=bool)
    if "config_id" in records and list_configs is not False:
        own_ids = [c["config_id"] for c in list_configs(results_path) if c.get("inputs")]
        mask |= np.isin(np.asarray(records["config_id"]).astype(str), own_ids)
    return mask


def subset(records: dict, mask: np.ndarray) -> dict:
    """The records of the runs in ``mask`` (every per-run column sliced)."""
    n = mask.size
    return {k: (np.asarray(v)[mask] if np.ndim(v) and len(v) == n else v) for k, v in records.items()}


def own_table(records: dict) -> Table:
    """One row per configuration on own inputs: planner, geometry, d, h, its cost and
    hyperparameter changes, then mean [95% interval] (n) of each column of :data:`COLUMNS`."""
    from ..engine import registry
    from . import planner_label

    keys = ["planner", "geometry", "d", "horizon", "hyperparameters"]
    cols = {k: np.asarray(records[k]).astype(str if k in ("planner", "geometry", "hyperparameters") else int)
            for k in keys}
    cells = sorted(set(zip(*(cols[k] for k in keys))), key=lambda c: (c[2], c[3], c[1], c[0], c[4]))
    header = ["Planner", "Geometry", "d", "h", "Changed from defaults", *[c[1] for c in COLUMNS]]
    rows, csv_rows = [], []
    for cell in cells:
        m = np.ones(len(cols["d"]), bool)
        for k, v in zip(keys, cell):
            m &= cols[k] == v
        planner, geometry, d, h, hp_text = cell
        try:
            hp = json.loads(hp_text)
            base = registry.planner(planner).defaults if planner in registry.planners() else {}
            changed = {k: v for k, v in hp.items() if base.get(k) != v}
        except (TypeError, ValueError):
            changed = {"hyperparameters": hp_text}
        what = ", ".join(f"{k}={v}" for k, v in sorted(changed.items())) or "none"
        stats = [make_stat(np.asarray(records[c], float)[m]) if c in records else make_stat([])
                 for c, _, _ in COLUMNS]
        label = planner_label(planner) if planner in registry.planners() else planner
        rows.append([label, geometry, d, h, what, *[s.fmt(metric) for s, (_, _, metric) in zip(stats, COLUMNS)]])
        for s, (_, _, metric) in zip(stats, COLUMNS):
            csv_rows.append([planner, geometry, d, h, what, metric, *_stat_csv(s)])
    caption = ("Runs on your own inputs (a world model, latents or starts and goals given to the sweep, "
               "or a geometry fitted to latents). They answer your question, not the paper's, so they "
               "are not in the paper's tables, figures or claims. Cells: mean [95% confidence interval] "
               "(n seeds), Student's t over seeds; *a = 0* is the goal distance of the zero action "
               "sequence, the OOD rate the share of planned actions below the geometry's 1% log-density "
               "quantile.")
    return Table(key="own_inputs", title="Runs on your own inputs", caption=caption, header=header,
                 rows=rows, csv_header=["planner", "geometry", "d", "horizon", "changed", "metric", *_STAT_HEADER],
                 csv_rows=csv_rows)


def render_own_only(results_path: str, table: Table, provenance_lines: list) -> str:
    """``report.md`` of a file that holds only runs on own inputs: the table and provenance."""
    from .. import __version__

    lines = ["# fastplan report", "", f"Results file: `{results_path}` · report by fastplan {__version__}.", "",
             "The file holds only runs on your own inputs, so there is no comparison with the paper "
             "(its tables, figures and claims need the paper's world models and geometries: "
             "`fastplan sweep` without --world/--latents/--starts-goals).", "",
             table.to_markdown(heading_level=2)]
    return "\n".join(lines + provenance_lines) + "\n"


__all__ = ["own_mask", "own_table", "render_own_only", "subset"]
