"""The reproduction report: tables, figures and ``report.md`` from one results file.

:func:`write_report` reads a results file (:func:`fastplan.store.load`), the geometry
metrics (stored in the file, or computed with :func:`fastplan.metrics.geometry_metrics`
for every (geometry, d, seed) the runs use) and the paper's reported numbers
(``data/paper_values.json``), then writes into ``out_dir``:

* ``table1.md`` .. ``table4.md`` and ``.csv`` at the paper's 10 seeds, ``table5`` (equal
  budgets, when the file has budget runs) and ``baselines`` at all seeds (:mod:`.tables`);
* ``fig1.png`` .. ``fig8.png`` and the same as PDF (:mod:`.figures`, drawn by
  :mod:`fastplan.plot`; every goal-distance figure with the ``a = 0`` and start baselines),
  ``budget.png/.pdf`` when the file has equal-budget runs (``fastplan sweep --budget``), and
  ``sweep-<planner>-<hyperparameter>.png/.pdf`` when it sweeps a hyperparameter;
* ``claims.json``: every claim of the paper with its verdict, interval and numbers at all
  seeds and at the paper's seeds (:mod:`.claims`, :mod:`.verdicts`);
* ``report.md``: provenance, modelling choices, missing cells, the claims with verdicts
  computed from the data, our numbers beside the paper's for every table, the figures,
  and the paper's known inconsistencies.  Nothing in it depends on the clock: the same
  file gives the same bytes.

:func:`reproduce` runs the paper's default sweep at 10 seeds, the cells the verdicts need
at 100 seeds and the equal-budget runs (resuming an existing file), and writes the report
next to it.
"""
from __future__ import annotations

import importlib
import json
import math
import os
from pathlib import Path

import numpy as np

from ..engine.errors import FastplanError

#: The paper's default grid (Sec. 3; d=32 is used by the geometry figures).
PAPER_GRID = {
    "planners": ("cem", "mppi", "gradient", "sgld", "diffusion"),
    "geometries": ("vae", "ebm", "vqvae"),
    "dims": (4, 8, 16, 32),
    "horizons": (4, 8, 16),
    "seeds": tuple(range(10)),
}
#: Seeds of the verdicts (``fastplan reproduce --seeds``): the cells the claims need run at
#: this many seeds (the tables keep the paper's 10): d = 4..32 at h = 8 (Table 1, the scaling
#: claims) and d = 8 at h = 4, 16 (the horizon claims).
VERDICT_SEEDS = 100
VERDICT_CELLS = ({"dims": (4, 8, 16, 32), "horizons": (8,)}, {"dims": (8,), "horizons": (4, 16)})
#: Every planner at equal rollout budgets (Table 5): the paper's diffusion, CEM/MPPI and gradient counts.
BUDGET_CELL = {"dims": (8,), "horizons": (8,), "budgets": (1050, 2000, 6500)}
#: A small grid for smoke tests (``fastplan reproduce --quick``): every planner and geometry,
#: the paper's central cell d=8, h=8 and enough around it for Tables 1-5 to have numbers.
QUICK_GRID = {
    "planners": PAPER_GRID["planners"],
    "geometries": PAPER_GRID["geometries"],
    "dims": (4, 8),
    "horizons": (4, 8),
    "seeds": (0, 1, 2),
    "budgets": BUDGET_CELL["budgets"],
}

TABLE_KEYS = ("table1", "table2", "table3", "table4")
#: Tables beyond the paper's: equal budgets (when the file holds budget runs) and the baselines.
EXTRA_TABLE_KEYS = ("table5", "baselines")
FIGURE_KEYS = tuple(f"fig{i}" for i in range(1, 9))


# --------------------------------------------------------------------------- inputs
def load_paper_values(path: str | os.PathLike | None = None) -> dict:
    """The paper's reported numbers (``data/paper_values.json``, package ``fastplan_data``)."""
    if path is None:
        try:
            from fastplan_data import DATA_DIR
            path = Path(DATA_DIR) / "paper_values.json"
        except ImportError:
            path = Path(__file__).resolve().parents[1] / "data" / "paper_values.json"
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _store():
    return importlib.import_module("fastplan.store")


def load_records(results_path: str) -> dict:
    """Run records of a results file (columns of :func:`fastplan.store.load`)."""
    if not os.path.exists(results_path):
        raise FastplanError(f"results file {results_path!r} does not exist")
    if os.path.isdir(results_path):
        raise FastplanError(f"{results_path!r} is a folder, not a results file")
    records = _store().load(results_path)
    if hasattr(records, "to_dict") and not isinstance(records, dict):   # a pandas DataFrame
        records = {c: records[c].to_numpy() for c in records.columns}
    return dict(records)


def fill_baselines(results_path: str, records: dict) -> tuple[dict, int]:
    """Compute the baselines a results file lacks (files written before fastplan stored them).

    ``zero_action_distance`` (goal distance of ``a = 0``) and ``initial_distance``
    (``||s0 - s*||``) of every run whose value is missing or NaN are recomputed from the stored
    A, B, b, s0 and goal (:func:`fastplan.engine.cost.baselines`).  Returns the records and the
    number of runs filled (0 when the store cannot read configurations).
    """
    from ..engine.cost import baselines

    n = len(np.asarray(records["seed"]).ravel())
    cols = {k: np.array(records[k], dtype=float) if k in records else np.full(n, np.nan)
            for k in ("zero_action_distance", "initial_distance")}
    todo = ~(np.isfinite(cols["zero_action_distance"]) & np.isfinite(cols["initial_distance"]))
    read_config = getattr(_store(), "read_config", None)
    if not todo.any() or read_config is None or "config_id" not in records:
        return {**records, **cols}, 0
    cids = np.asarray(records["config_id"]).astype(str)
    seeds = np.asarray(records["seed"]).astype(np.int64)
    for cid in dict.fromkeys(cids[todo].tolist()):
        attrs, arr = read_config(results_path, cid)
        zero, init = baselines(arr["A"], arr["B"], arr["b"], arr["s0"], arr["goal"], int(attrs["horizon"]))
        at = {int(s): i for i, s in enumerate(arr["seed"].tolist())}
        for row in np.flatnonzero(todo & (cids == cid)):
            i = at.get(int(seeds[row]))
            if i is not None:
                cols["zero_action_distance"][row], cols["initial_distance"][row] = zero[i], init[i]
    return {**records, **cols}, int(todo.sum())


def load_geometry_metrics(results_path: str, records: dict, n_samples: int | None = None) -> tuple[dict, str]:
    """Geometry metrics for every (geometry, d, seed) of ``records``.

    Taken from the file (:func:`fastplan.store.load_geometry_metrics`) where it holds them;
    the (geometry, d, seed) it lacks are computed with :func:`fastplan.metrics.geometry_metrics`.

    Returns
    -------
    metrics : dict of 1-D arrays
        Columns geometry, d, seed, effective_dimension, mean_pairwise_distance,
        concentration, amenability.
    source : str
        Where they came from (shown in the report).
    """
    from ..engine.geometry import canonical_kind

    stored = None
    loader = getattr(_store(), "load_geometry_metrics", None)
    if loader is not None:
        stored = loader(results_path)
        if hasattr(stored, "to_dict") and not isinstance(stored, dict):   # a pandas DataFrame
            stored = {c: stored[c].to_numpy() for c in stored.columns}
    if stored is None or "geometry" not in stored or len(np.asarray(stored["geometry"]).ravel()) == 0:
        stored = None
    wanted = _geometry_keys(records)
    have = set()
    if stored is not None:
        have = {(canonical_kind(_text(g)), int(d), int(s)) for g, d, s in
                zip(np.asarray(stored["geometry"]).ravel(), np.asarray(stored["d"]).ravel(),
                    np.asarray(stored["seed"]).ravel())}
    todo = sorted(wanted - have)
    how = f"computed by fastplan.metrics.geometry_metrics ({n_samples or 'default'} samples per geometry)"
    if not todo:
        return (dict(stored) if stored is not None else {}), "stored in the results file"
    computed = compute_geometry_metrics(todo, n_samples)
    if stored is None:
        return computed, how + " because the results file holds none"
    merged = {k: np.concatenate([np.asarray(stored[k]).ravel().astype(object if k == "geometry" else float),
                                 np.asarray(computed[k]).astype(object if k == "geometry" else float)])
              for k in computed}
    return merged, (f"stored in the results file; {len(todo)} (geometry, d, seed) missing from it were " + how)


def _geometry_keys(records: dict) -> set:
    from ..engine.geometry import canonical_kind

    return {(canonical_kind(_text(g)), int(d), int(s))
            for g, d, s in zip(np.asarray(records["geometry"]).ravel(), np.asarray(records["d"]).ravel(),
                               np.asarray(records["seed"]).ravel())}


def compute_geometry_metrics(keys, n_samples: int | None = None) -> dict:
    """Geometry metrics of every (geometry, d, seed) in ``keys`` (or of the run records ``keys``),
    by the engine's one metrics loop (:func:`fastplan.engine.metrics.metric_columns`)."""
    from ..engine.metrics import N_METRIC_SAMPLES, metric_columns

    if isinstance(keys, dict):
        keys = sorted(_geometry_keys(keys))
    return metric_columns(keys, n=N_METRIC_SAMPLES if n_samples is None else int(n_samples))


def _text(x) -> str:
    return x.decode("utf-8", "replace") if isinstance(x, (bytes, np.bytes_)) else str(x)


def _plain(value):
    """HDF5 attribute -> JSON-friendly Python value."""
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind in "OSU" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_provenance(results_path: str) -> dict:
    """Provenance of a results file.

    Returns ``{"file": {...}, "sessions": [{...}, ...]}``: the file-level attributes and
    one dict per sweep session that wrote to the file (:func:`fastplan.store.file_attrs`,
    :func:`fastplan.store.sessions`); falls back to the raw HDF5 root attributes.
    """
    store = _store()
    out = {"file": {}, "sessions": []}
    try:
        if callable(getattr(store, "file_attrs", None)):
            out["file"] = {str(k): _plain(v) for k, v in store.file_attrs(results_path).items()}
        if callable(getattr(store, "sessions", None)):
            out["sessions"] = [{str(k): _plain(v) for k, v in s.items()} for s in store.sessions(results_path)]
        if out["file"] or out["sessions"]:
            return out
    except (OSError, ValueError, KeyError):
        pass
    try:
        import h5py

        with h5py.File(results_path, "r") as f:
            out["file"] = {str(k): _plain(v) for k, v in f.attrs.items()}
    except (OSError, ImportError):
        pass
    return out


# --------------------------------------------------------------------------- writing
def _write_text(path: str, text: str) -> str:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def _prepare_out_dir(out_dir: str) -> str:
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise FastplanError(f"output {out_dir!r} exists and is not a folder")
    parent = os.path.dirname(os.path.abspath(out_dir))
    if not os.path.isdir(parent):
        raise FastplanError(f"cannot create {out_dir!r}: folder {parent!r} does not exist")
    os.makedirs(out_dir, exist_ok=True)
    if not os.access(out_dir, os.W_OK):
        raise FastplanError(f"output folder {out_dir!r} is not writable")
    return out_dir


def missing_summary(res, grid: dict = PAPER_GRID, limit: int = 40) -> list[str]:
    """Human-readable list of the cells of ``grid`` that the results do not hold.

    Whole planners, geometries, dimensions and horizons that are absent are reported in
    one line each; the remaining gaps are grouped by (planner, geometry, d).
    """
    from . import geometry_label, planner_label

    lines = []
    planners = [p for p in grid["planners"] if p in res.planners]
    geoms = [g for g in grid["geometries"] if g in res.geometries]
    dims = [d for d in grid["dims"] if d in res.dims]
    hs = [h for h in grid["horizons"] if h in res.horizons]
    for p in grid["planners"]:
        if p not in res.planners:
            lines.append(f"planner **{planner_label(p)}**: not in the file")
    for g in grid["geometries"]:
        if g not in res.geometries:
            lines.append(f"geometry **{geometry_label(g)}**: not in the file")
    for d in grid["dims"]:
        if d not in res.dims:
            lines.append(f"dimension **d={d}**: not in the file")
    for h in grid["horizons"]:
        if h not in res.horizons:
            lines.append(f"horizon **h={h}**: not in the file")
    groups: dict = {}
    for p, g, d, h in res.missing(planners, geoms, dims, hs):
        groups.setdefault((p, g, d), []).append(h)
    rest = [f"{planner_label(p)} on {geometry_label(g)} at d={d}: h={', '.join(map(str, h))}"
            for (p, g, d), h in groups.items()]
    if len(rest) > limit:
        rest = rest[:limit] + [f"... and {len(rest) - limit} more"]
    lines += rest
    seeds = set(grid.get("seeds", ()))
    if seeds and res.seeds and not seeds <= set(res.seeds):
        lines.append(f"seeds {', '.join(map(str, sorted(seeds - set(res.seeds))))}: not in the file "
                     f"(the paper uses {len(seeds)} seeds)")
    return lines


def _uneven_seeds(res, limit: int = 20) -> list[str]:
    from . import geometry_label, planner_label

    counts = {k: len(v) for k, v in res._index.items()}
    if not counts:
        return []
    top = max(counts.values())
    out = [f"{planner_label(p)} on {geometry_label(g)}, d={d}, h={h}: {n} of {top} seeds"
           for (p, g, d, h), n in sorted(counts.items()) if n < top]
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def seed_design(res) -> list[str]:
    """One line per seed count: the (d, h) whose cells have that many seeds (all planners and
    geometries unless said)."""
    by_dh: dict = {}
    for (p, g, d, h), idx in res._index.items():
        by_dh.setdefault((d, h), set()).add(len(idx))
    groups: dict = {}
    for dh, ns in sorted(by_dh.items()):
        groups.setdefault(max(ns), []).append((dh, len(ns) > 1))
    if len(groups) <= 1:
        return []
    return [f"{n} seeds: (d, h) = " + ", ".join(f"({d}, {h})" + (" (some cells fewer)" if uneven else "")
                                               for (d, h), uneven in cells)
            for n, cells in sorted(groups.items(), reverse=True)]


def _execution_note(variant: dict) -> str:
    """" (decoded execution)" for a variant whose environment received projected actions,
    " (fast arithmetic)" for one planned under ``FASTPLAN_ARITHMETIC=fast``."""
    execution = variant.get("execution", "latent")
    arithmetic = variant.get("arithmetic", "exact")
    return ("" if execution in ("latent", "") else f" ({execution} execution)") + \
        ("" if arithmetic in ("exact", "") else f" ({arithmetic} arithmetic)")


def _fmt_value(v, limit: int | None = 160) -> str:
    """A value for a Markdown table cell (pipes escaped, one line, optionally shortened)."""
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else "NaN"
    if isinstance(v, (list, dict)):
        v = json.dumps(v, sort_keys=True)
    v = str(v).replace("|", "\\|").replace("\n", " ")
    return v if limit is None or len(v) <= limit else v[:limit - 3] + "..."


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def provenance_lines(provenance: dict) -> list:
    """The report's *Provenance* section (Markdown lines) from :func:`read_provenance`."""
    L = []
    add = L.append
    add("## Provenance")
    add("")
    file_attrs = provenance.get("file", {})
    sess = provenance.get("sessions", [])
    if file_attrs:
        add("Recorded in the results file:")
        add("")
        add("| Attribute | Value |")
        add("|---|---|")
        for k in sorted(file_attrs):
            add(f"| {_fmt_value(k)} | {_fmt_value(file_attrs[k])} |")
        add("")
    if sess:
        keys = [k for k in ("date", "command_line", "threads", "executor", "fastplan_version", "numba_version",
                            "numpy_version", "h5py_version", "python_version", "host") if any(k in s for s in sess)]
        add(f"Sweep sessions that wrote to the file ({len(sess)}):")
        add("")
        add("| # | " + " | ".join(keys) + " |")
        add("|---|" + "---|" * len(keys))
        for i, s_ in enumerate(sess, 1):
            add(f"| {i} | " + " | ".join(_fmt_value(s_.get(k, "")) for k in keys) + " |")
        add("")
    if not file_attrs and not sess:
        add("The results file records no provenance.")
        add("")
    return L


def render_report(*, results_path, res, tables, figures, claims, paper_claims, paper, provenance,
                  metrics_source, missing, uneven, claims_paper_seeds=None, n_paper=None, seed_design=(),
                  extra_tables=()) -> str:
    """The text of ``report.md`` (no clock time in it: the same file gives the same bytes)."""
    from .. import __version__
    from . import geometry_label, planner_label

    n_paper = len(res.seeds) if n_paper is None else n_paper

    L = []
    add = L.append
    add("# fastplan reproduction report")
    add("")
    add(f"Results file: `{results_path}` · report by fastplan {__version__}.")
    add("")
    src = paper.get("source", {})
    add(f"Paper: *{src.get('title', '?')}* ({src.get('venue', '?')}); reported values from "
        f"`data/paper_values.json`, transcribed from `{src.get('file', '?')}`.")
    add("")
    from . import verdicts

    add("## Summary")
    add("")
    add(f"- Runs in the file: {res.n_runs_total}; used in this report: {res.n_runs} "
        f"(one hyperparameter variant per planner, see *Modelling choices*).")
    add(f"- Planners: {', '.join(planner_label(p) for p in res.planners) or 'none'}; geometries: "
        f"{', '.join(geometry_label(g) for g in res.geometries) or 'none'}; d: {', '.join(map(str, res.dims)) or 'none'}; "
        f"h: {', '.join(map(str, res.horizons)) or 'none'}; seeds: {len(res.seeds)}.")
    add(f"- Seeds: tables and figures use the paper's {n_paper} seeds; verdicts use all {len(res.seeds)} "
        + ("(the paper's seeds are all there are)." if claims_paper_seeds is None else
           "where a cell has them (see *Seeds*)."))
    add(f"- Claims of the paper checked: {len(claims)} — **{verdicts.fmt_counts(claims)}** at {len(res.seeds)} "
        "seeds" + (f"; {verdicts.fmt_counts(claims_paper_seeds)} at the paper's {n_paper}"
                   if claims_paper_seeds is not None else "")
        + " (paired seed-bootstrap 95% intervals, `fastplan.paper.claims`).")
    add(f"- Missing cells of the paper's grid: {'none' if not missing else str(len(missing)) + ' entries (see below)'}.")
    add("")
    L.extend(verdicts.render(claims, claims_paper_seeds, paper_claims, len(res.seeds), n_paper))

    L.extend(provenance_lines(provenance))

    add("## Modelling choices")
    add("")
    usages = sorted(set(res.records["geometry_usage"]))
    grads = sorted({g for g, p in zip(res.records["gradient"], res.records["planner"]) if p in ("gradient", "sgld")})
    add(f"- Geometry usage (how the latent geometry enters the planners): {', '.join(f'`{u}`' for u in usages) or 'not recorded'}.")
    add(f"- Gradient estimator of the gradient and SGLD planners: {', '.join(f'`{g}`' for g in grads) or 'not recorded / not run'}.")
    conc = next((v for k, v in provenance.get("file", {}).items() if "concentration" in k.lower()), None)
    if conc is None:
        from ..engine.metrics import CONCENTRATION_DEFINITION
        conc = f"{CONCENTRATION_DEFINITION} (fastplan's current definition; not recorded in the file)"
    add(f"- Concentration c of Eq. 12: {conc}.")
    add(f"- Geometry metrics: {metrics_source}.")
    add("- Hyperparameter variants in the file (the report uses the one marked *used*: the paper's defaults "
        "when present, else the variant with most runs):")
    add("")
    add("| Planner | Used | Runs | Geometry usage | Gradient | Paper defaults | Hyperparameters |")
    add("|---|---|---|---|---|---|---|")
    for v in res.variants:
        add(f"| {planner_label(v['planner'])} | {'used' if v['chosen'] else 'not shown'} | {v['runs']} | "
            f"{v['geometry_usage'] or '—'}{_execution_note(v)} | {v['gradient'] or '—'} | "
            f"{'yes' if v['paper_defaults'] else 'no'} | "
            f"{_fmt_value(v['hyperparameters'])} |")
    add("")

    add("## Missing cells")
    add("")
    if missing:
        add("Cells of the paper's default grid (5 planners × 3 geometries × d ∈ {4, 8, 16, 32} × h ∈ {4, 8, 16} "
            "× 10 seeds) that the results file does not hold; tables and figures show them as *missing* and "
            "claims that need them are *undecided* (missing cells):")
        add("")
        for line in missing:
            add(f"- {line}")
    else:
        add("None: the file holds every cell of the paper's default grid.")
    if uneven:
        add("")
        add(f"Cells with fewer of the paper's {n_paper} seeds than the others:")
        add("")
        for line in uneven:
            add(f"- {line}")
    add("")
    if seed_design:
        add("## Seeds")
        add("")
        add("Seeds per cell (planner, geometry, d, h) in the file; the verdicts use every seed a cell has, the "
            f"tables and figures the paper's {n_paper}:")
        add("")
        for line in seed_design:
            add(f"- {line}")
        add("")

    add("## Tables: ours beside the paper's")
    add("")
    for t in tables:
        add(t.to_markdown(heading_level=3))
        add(f"CSV: [`{t.key}.csv`]({t.key}.csv) · Markdown: [`{t.key}.md`]({t.key}.md)")
        add("")
    if extra_tables:
        add(f"## Beyond the paper's tables (all {len(res.seeds)} seeds)")
        add("")
        for t in extra_tables:
            add(t.to_markdown(heading_level=3))
            add(f"CSV: [`{t.key}.csv`]({t.key}.csv) · Markdown: [`{t.key}.md`]({t.key}.md)")
            add("")

    add("## Figures")
    add("")
    if not figures:
        add("Figures were not written (`write_report(..., figures=False)`).")
        add("")
    for f in figures:
        if f.get("section", "paper") != "paper":
            continue
        n = f["key"][3:]
        add(f"### Figure {n}: {f['title']}")
        add("")
        add(f"![Figure {n}]({os.path.basename(f['png'])})")
        add("")
        add(f"*Figure {n}.* {f['caption']} PDF: [`{os.path.basename(f['pdf'])}`]({os.path.basename(f['pdf'])}).")
        add("")
    budget = [f for f in figures if f.get("section") == "budget"]
    if budget:
        add("## Equal rollout budgets (beyond the paper)")
        add("")
        add("The file holds equal-budget runs: planners whose runs differ only in the iteration count "
            "(diffusion: denoising steps) that a rollout budget sets (`fastplan sweep --budget`). They are shown "
            "here, not as hyperparameter sweeps"
            + ("; Table 5 gives the numbers at 1050, 2000 and 6500 rollouts."
               if any(t.key == "table5" for t in extra_tables) else "."))
        add("")
        _beyond_figures(add, budget)
    sweeps = [f for f in figures if f.get("section") == "sweep"]
    if sweeps:
        add("## Hyperparameter sweeps (beyond the paper)")
        add("")
        add("The file holds several values of these hyperparameters; the tables, figures and claims above use "
            "one variant per planner, and these figures show them all.")
        add("")
        _beyond_figures(add, sweeps)

    add("## Known inconsistencies in the paper")
    add("")
    add("Recorded in `data/paper_values.json`; they limit how closely any reproduction can match:")
    add("")
    for item in paper.get("known_inconsistencies", []):
        add(f"- {item}")
    add("")
    return "\n".join(L)


def _beyond_figures(add, figures) -> None:
    """A figure beyond the paper's: its title as a heading, the image, the caption."""
    for f in figures:
        add(f"### {f['title']}")
        add("")
        add(f"![{f['key']}]({os.path.basename(f['png'])})")
        add("")
        add(f"{f['caption']} PDF: [`{os.path.basename(f['pdf'])}`]({os.path.basename(f['pdf'])}).")
        add("")


def write_report(results_path: str, out_dir: str, *, paper: dict | None = None,
                 metric_samples: int | None = None, figures: bool = True) -> dict:
    """Write Tables 1-4 (and 5), Figures 1-8, ``claims.json`` and ``report.md`` for ``results_path``.

    Tables and figures show the paper's view (the file's seeds among 0-9, as the paper ran
    10 seeds); claims are decided at every seed of the file and, beside, at the paper's seeds.
    Baselines the file lacks are recomputed from its stored problems (:func:`fill_baselines`).

    Parameters
    ----------
    results_path : str
        A fastplan results file (HDF5).
    out_dir : str
        Output folder (created if needed; its parent must exist).  Existing report
        files in it are replaced atomically; nothing else is touched.
    paper : dict, optional
        The paper's values; default ``data/paper_values.json``.
    metric_samples : int, optional
        Samples per geometry when the geometry metrics have to be computed.
    figures : bool
        Write Figures 1-8 (the slow part, ~1 s each); ``False`` writes only text files.

    Returns
    -------
    dict
        ``report``, ``tables`` (list of paths), ``figures`` (list of paths), ``claims``
        (list of :class:`fastplan.paper.claims.Claim`, all seeds), ``claims_paper_seeds`` (the
        same at the paper's seeds; None when those are all the file has), ``missing`` (list of str).
    """
    from . import claims as claims_mod
    from . import figures as figures_mod
    from . import own
    from . import results as results_mod
    from . import tables as tables_mod
    from . import verdicts

    results_path = os.fspath(results_path)
    records = load_records(results_path)
    if len(records.get("seed", ())) == 0:      # e.g. a sweep killed before its first fold
        from ..store.journal import pending_units
        waiting = pending_units(results_path)
        raise FastplanError(
            f"{results_path} holds no runs yet, so there is nothing to report"
            + (f" ({len(waiting)} finished work units wait in its journal: re-run the sweep to fold them in)"
               if waiting else f" (run a sweep into it first: fastplan sweep --out {results_path})"))
    out_dir = _prepare_out_dir(out_dir)
    paper = load_paper_values() if paper is None else paper
    records, _ = fill_baselines(results_path, records)
    mine = own.own_mask(results_path, records, getattr(_store(), "list_configs", False))
    own_tables = [own.own_table(own.subset(records, mine))] if mine.any() else []
    if mine.all():          # only the user's own inputs: no comparison with the paper
        paths = _write_table_files(out_dir, own_tables)
        text = own.render_own_only(results_path, own_tables[0], provenance_lines(read_provenance(results_path)))
        return {"report": _write_text(os.path.join(out_dir, "report.md"), text), "tables": paths,
                "figures": [], "claims": [], "claims_paper_seeds": None, "missing": []}
    records = own.subset(records, ~mine)
    gm, metrics_source = load_geometry_metrics(results_path, records, metric_samples)
    provenance = read_provenance(results_path)
    res = results_mod.Results(records, gm)
    seeds10 = paper_seeds(res.seeds)
    res10 = res if seeds10 == res.seeds else res.subset(seeds10)

    tables = tables_mod.all_tables(res10, paper)
    extra = [t for t in (tables_mod.table5(res, paper), tables_mod.baseline_table(res)) if t is not None]
    extra += own_tables
    table_paths = _write_table_files(out_dir, tables + extra)
    all_res = results_mod.Results(records, gm, select=False)
    figs = figures_mod.write_figures(res10, paper, out_dir, all_res) if figures else []
    claims = claims_mod.evaluate(res, paper)
    claims10 = claims_mod.evaluate(res10, paper) if res10 is not res else None
    paper_claims = claims_mod.evaluate(claims_mod.paper_results(paper), paper)
    missing = missing_summary(res10)
    uneven = _uneven_seeds(res10)
    _write_text(os.path.join(out_dir, "claims.json"), json.dumps(_json_safe(
        verdicts.to_json(claims, claims10, paper_claims, len(seeds10))), indent=2, ensure_ascii=False) + "\n")
    text = render_report(results_path=results_path, res=res, tables=tables, figures=figs, claims=claims,
                         paper_claims=paper_claims, paper=paper, provenance=provenance,
                         metrics_source=metrics_source, missing=missing, uneven=uneven,
                         claims_paper_seeds=claims10, n_paper=len(seeds10), seed_design=seed_design(res),
                         extra_tables=extra)
    report = _write_text(os.path.join(out_dir, "report.md"), text)
    return {"report": report, "tables": table_paths,
            "figures": [p for f in figs for p in (f["png"], f["pdf"])],
            "claims": claims, "claims_paper_seeds": claims10, "missing": missing}


def _write_table_files(out_dir: str, tables) -> list:
    """Each table as ``<key>.md`` and ``<key>.csv`` in ``out_dir``; their paths."""
    paths = []
    for t in tables:
        paths.append(_write_text(os.path.join(out_dir, f"{t.key}.md"), t.to_markdown(heading_level=1)))
        paths.append(_write_text(os.path.join(out_dir, f"{t.key}.csv"), t.to_csv()))
    return paths


def paper_seeds(seeds) -> list:
    """The paper's view of a file's seeds: its seeds among the paper's 0-9, else its first 10."""
    seeds = sorted(int(s) for s in seeds)
    own = [s for s in seeds if s in PAPER_GRID["seeds"]]
    return own if own else seeds[:len(PAPER_GRID["seeds"])]


def reproduce_sweeps(quick: bool = False, seeds: int = VERDICT_SEEDS) -> list[dict]:
    """The sweeps of ``fastplan reproduce``: keyword arguments of :func:`fastplan.runs.sweep.run_sweep`.

    Default: the paper's grid at its 10 seeds; the cells the verdicts need (:data:`VERDICT_CELLS`)
    at ``seeds`` seeds; every planner at the :data:`BUDGET_CELL` budgets at ``seeds`` seeds.
    ``quick``: :data:`QUICK_GRID` (and its budgets at d=8, h=8 if it lists any).
    """
    grid = QUICK_GRID if quick else PAPER_GRID
    base = {"planners": list(grid["planners"]), "geometries": list(grid["geometries"])}
    out = [{**base, "dims": list(grid["dims"]), "horizons": list(grid["horizons"]), "seeds": list(grid["seeds"])}]
    if quick:
        if grid.get("budgets"):
            out.append({**base, "dims": [8], "horizons": [8], "seeds": list(grid["seeds"]),
                        "budgets": list(grid["budgets"])})
        return out
    if seeds > len(grid["seeds"]):
        for cells in VERDICT_CELLS:
            out.append({**base, "dims": list(cells["dims"]), "horizons": list(cells["horizons"]),
                        "seeds": list(range(seeds))})
    out.append({**base, "dims": list(BUDGET_CELL["dims"]), "horizons": list(BUDGET_CELL["horizons"]),
                "seeds": list(range(max(seeds, len(grid["seeds"])))), "budgets": list(BUDGET_CELL["budgets"])})
    return out


def reproduce(out_dir: str, *, quick: bool = False, seeds: int = VERDICT_SEEDS, threads: int | None = None,
              progress=None, command_line: str | None = None) -> dict:
    """Run the sweeps of :func:`reproduce_sweeps` into ``out_dir/runs.h5`` (resuming) and write
    the report there.  ``quick=True`` runs :data:`QUICK_GRID` instead.
    """
    out_dir = _prepare_out_dir(out_dir)
    results_path = os.path.join(out_dir, "runs.h5")
    sweep = importlib.import_module("fastplan.runs.sweep")
    for kwargs in reproduce_sweeps(quick, seeds):
        sweep.run_sweep(results_path, threads=threads, progress=progress, command_line=command_line, **kwargs)
    out = write_report(results_path, out_dir)
    out["results"] = results_path
    return out
