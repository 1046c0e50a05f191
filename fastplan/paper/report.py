"""The reproduction report: tables, figures and ``report.md`` from one results file.

:func:`write_report` reads a results file (:func:`fastplan.store.load`), the geometry
metrics (stored in the file, or computed with :func:`fastplan.metrics.geometry_metrics`
for every (geometry, d, seed) the runs use) and the paper's reported numbers
(``data/paper_values.json``), then writes into ``out_dir``:

* ``table1.md`` .. ``table4.md`` and ``table1.csv`` .. ``table4.csv`` (:mod:`fastplan.tables`);
* ``fig1.png`` .. ``fig8.png`` and the same as PDF (:mod:`fastplan.paper.figures`, drawn by
  :mod:`fastplan.plot`), and ``sweep-<planner>-<hyperparameter>.png/.pdf`` when the file
  sweeps a hyperparameter;
* ``claims.json``: every claim of the paper with its verdict and numbers (:mod:`fastplan.claims`);
* ``report.md``: provenance, modelling choices, missing cells, the claims with verdicts
  computed from the data, our numbers beside the paper's for every table, the figures,
  and the paper's known inconsistencies.

:func:`reproduce` runs the paper's default sweep (resuming an existing file) and writes
the report next to it.
"""
from __future__ import annotations

import datetime as _dt
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
#: A small grid for smoke tests (``fastplan reproduce --quick``): every planner and geometry,
#: the paper's central cell d=8, h=8 and enough around it for Tables 1-4 to have numbers.
QUICK_GRID = {
    "planners": PAPER_GRID["planners"],
    "geometries": PAPER_GRID["geometries"],
    "dims": (4, 8),
    "horizons": (4, 8),
    "seeds": (0, 1, 2),
}

TABLE_KEYS = ("table1", "table2", "table3", "table4")
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
        return dict(stored), "stored in the results file"
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


_VERDICT_MARK = {"supported": "✅ supported", "not supported": "❌ not supported",
                 "insufficient data": "⚪ insufficient data"}


def render_report(*, results_path, res, tables, figures, claims, paper_claims, paper, provenance,
                  metrics_source, missing, uneven) -> str:
    """The text of ``report.md``."""
    from .. import __version__
    from .claims import EFFECTIVE_DIMENSION_TOLERANCE, SIX_X_RANGE
    from . import geometry_label, planner_label

    L = []
    add = L.append
    add("# fastplan reproduction report")
    add("")
    add(f"Results file: `{results_path}` · report written {_dt.datetime.now().isoformat(timespec='seconds')} "
        f"by fastplan {__version__}.")
    add("")
    src = paper.get("source", {})
    add(f"Paper: *{src.get('title', '?')}* ({src.get('venue', '?')}); reported values from "
        f"`data/paper_values.json`, transcribed from `{src.get('file', '?')}`.")
    add("")
    n_sup = sum(c.verdict == "supported" for c in claims)
    n_not = sum(c.verdict == "not supported" for c in claims)
    n_ins = sum(c.verdict == "insufficient data" for c in claims)
    add("## Summary")
    add("")
    add(f"- Runs in the file: {res.n_runs_total}; used in this report: {res.n_runs} "
        f"(one hyperparameter variant per planner, see *Modelling choices*).")
    add(f"- Planners: {', '.join(planner_label(p) for p in res.planners) or 'none'}; geometries: "
        f"{', '.join(geometry_label(g) for g in res.geometries) or 'none'}; d: {', '.join(map(str, res.dims)) or 'none'}; "
        f"h: {', '.join(map(str, res.horizons)) or 'none'}; seeds: {len(res.seeds)}.")
    add(f"- Claims of the paper checked: {len(claims)} — **{n_sup} supported, {n_not} not supported, "
        f"{n_ins} insufficient data** (verdicts computed from the data by `fastplan.claims`).")
    add(f"- Missing cells of the paper's grid: {'none' if not missing else str(len(missing)) + ' entries (see below)'}.")
    add("")

    add("## Claims of the paper")
    add("")
    add("Each verdict is computed from the results file by `fastplan.claims`; the last column applies the same "
        "check to the paper's own Tables 1, 3 and 4 (one number per cell, so claims that need seeds, other "
        "dimensions or geometry metrics show —).")
    add("")
    add("| # | Claim (paper) | Verdict (our data) | Numbers | Paper's own tables |")
    add("|---|---|---|---|---|")
    pc = {c.key: c for c in paper_claims}
    for i, c in enumerate(claims, 1):
        p = pc.get(c.key)
        pv = _VERDICT_MARK[p.verdict] if p is not None and p.verdict != "insufficient data" else "—"
        add(f"| {i} | {_fmt_value(c.statement, None)} | {_VERDICT_MARK[c.verdict]} | {_fmt_value(c.detail, None)} | {pv} |")
    add("")
    add("### How each claim is tested")
    add("")
    for i, c in enumerate(claims, 1):
        add(f"{i}. **{c.key}** — {c.definition}")
    add("")
    add("Definitions used above:")
    add("")
    add("- *Mean goal distance* of a cell (planner, geometry, d, h): the mean over seeds of ||s_T − s*||₂; "
        "*spread*: the sample standard deviation over seeds (ddof = 1); *n*: the number of seeds.")
    add("- *G(planner, d)*: per seed, the mean goal distance over the three geometries at h = 8; then the mean "
        "over seeds (the quantity of the paper's Figure 4).")
    add("- **Superlinear** growth with d means that the least-squares slope of log G against log d, over all "
        "dimensions in the file (d = 4, 8, 16 required), is **greater than 1**; linear growth has slope 1, "
        "growth like √d slope 0.5.")
    add(f"- **~6×** means the ratio G(CEM, 16) / G(CEM, 4) lies within a factor 2 of 6, i.e. in "
        f"[{SIX_X_RANGE[0]:g}, {SIX_X_RANGE[1]:g}].")
    add(f"- Effective-dimension ranges agree when both endpoints are within {EFFECTIVE_DIMENSION_TOLERANCE:.0%} "
        "of the paper's.")
    add("- *Best/lowest/highest* means strictly (a tie is not a win) among the paper's five planners or three "
        "geometries; if one is missing from the file the verdict is *insufficient data* unless a present one "
        "already contradicts the claim.")
    add("")

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
            f"{v['geometry_usage'] or '—'} | {v['gradient'] or '—'} | {'yes' if v['paper_defaults'] else 'no'} | "
            f"{_fmt_value(v['hyperparameters'])} |")
    add("")

    add("## Missing cells")
    add("")
    if missing:
        add("Cells of the paper's default grid (5 planners × 3 geometries × d ∈ {4, 8, 16, 32} × h ∈ {4, 8, 16} "
            "× 10 seeds) that the results file does not hold; tables and figures show them as *missing* and "
            "claims that need them report *insufficient data*:")
        add("")
        for line in missing:
            add(f"- {line}")
    else:
        add("None: the file holds every cell of the paper's default grid.")
    if uneven:
        add("")
        add("Cells with fewer seeds than the others:")
        add("")
        for line in uneven:
            add(f"- {line}")
    add("")

    add("## Tables: ours beside the paper's")
    add("")
    for t in tables:
        add(t.to_markdown(heading_level=3))
        add(f"CSV: [`{t.key}.csv`]({t.key}.csv) · Markdown: [`{t.key}.md`]({t.key}.md)")
        add("")

    add("## Figures")
    add("")
    if not figures:
        add("Figures were not written (`write_report(..., figures=False)`).")
        add("")
    for f in figures:
        if f.get("sweep"):
            continue
        n = f["key"][3:]
        add(f"### Figure {n}: {f['title']}")
        add("")
        add(f"![Figure {n}]({os.path.basename(f['png'])})")
        add("")
        add(f"*Figure {n}.* {f['caption']} PDF: [`{os.path.basename(f['pdf'])}`]({os.path.basename(f['pdf'])}).")
        add("")
    sweeps = [f for f in figures if f.get("sweep")]
    if sweeps:
        add("## Hyperparameter sweeps (beyond the paper)")
        add("")
        add("The file holds several values of these hyperparameters; the tables, figures and claims above use "
            "one variant per planner, and these figures show them all.")
        add("")
        for f in sweeps:
            add(f"### {f['title']}")
            add("")
            add(f"![{f['key']}]({os.path.basename(f['png'])})")
            add("")
            add(f"{f['caption']} PDF: [`{os.path.basename(f['pdf'])}`]({os.path.basename(f['pdf'])}).")
            add("")

    add("## Known inconsistencies in the paper")
    add("")
    add("Recorded in `data/paper_values.json`; they limit how closely any reproduction can match:")
    add("")
    for item in paper.get("known_inconsistencies", []):
        add(f"- {item}")
    add("")
    return "\n".join(L)


def write_report(results_path: str, out_dir: str, *, paper: dict | None = None,
                 metric_samples: int | None = None, figures: bool = True) -> dict:
    """Write Tables 1-4, Figures 1-8, ``claims.json`` and ``report.md`` for ``results_path``.

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
        (list of :class:`fastplan.claims.Claim`), ``missing`` (list of str).
    """
    from . import claims as claims_mod
    from . import figures as figures_mod
    from . import results as results_mod
    from . import tables as tables_mod

    results_path = os.fspath(results_path)
    records = load_records(results_path)
    out_dir = _prepare_out_dir(out_dir)
    paper = load_paper_values() if paper is None else paper
    gm, metrics_source = load_geometry_metrics(results_path, records, metric_samples)
    provenance = read_provenance(results_path)
    res = results_mod.Results(records, gm)

    tables = tables_mod.all_tables(res, paper)
    table_paths = []
    for t in tables:
        table_paths.append(_write_text(os.path.join(out_dir, f"{t.key}.md"), t.to_markdown(heading_level=1)))
        table_paths.append(_write_text(os.path.join(out_dir, f"{t.key}.csv"), t.to_csv()))
    all_res = results_mod.Results(records, gm, select=False)
    figs = figures_mod.write_figures(res, paper, out_dir, all_res) if figures else []
    claims = claims_mod.evaluate(res, paper)
    paper_claims = claims_mod.evaluate(claims_mod.paper_results(paper), paper)
    missing = missing_summary(res)
    uneven = _uneven_seeds(res)
    _write_text(os.path.join(out_dir, "claims.json"), json.dumps(_json_safe([
        {"key": c.key, "statement": c.statement, "definition": c.definition, "verdict": c.verdict,
         "detail": c.detail, "numbers": c.numbers,
         "verdict_on_paper_tables": next(p.verdict for p in paper_claims if p.key == c.key)}
        for c in claims]), indent=2, ensure_ascii=False) + "\n")
    text = render_report(results_path=results_path, res=res, tables=tables, figures=figs, claims=claims,
                         paper_claims=paper_claims, paper=paper, provenance=provenance,
                         metrics_source=metrics_source, missing=missing, uneven=uneven)
    report = _write_text(os.path.join(out_dir, "report.md"), text)
    return {"report": report, "tables": table_paths,
            "figures": [p for f in figs for p in (f["png"], f["pdf"])],
            "claims": claims, "missing": missing}


def reproduce(out_dir: str, *, quick: bool = False, threads: int | None = None, progress=None,
              command_line: str | None = None) -> dict:
    """Run the paper's default sweep into ``out_dir/runs.h5`` (resuming) and write the report there.

    ``quick=True`` runs :data:`QUICK_GRID` instead of :data:`PAPER_GRID`.
    """
    out_dir = _prepare_out_dir(out_dir)
    grid = QUICK_GRID if quick else PAPER_GRID
    results_path = os.path.join(out_dir, "runs.h5")
    sweep = importlib.import_module("fastplan.runs.sweep")
    sweep.run_sweep(results_path, planners=list(grid["planners"]), geometries=list(grid["geometries"]),
                    dims=list(grid["dims"]), horizons=list(grid["horizons"]), seeds=list(grid["seeds"]),
                    threads=threads, progress=progress, command_line=command_line)
    out = write_report(results_path, out_dir)
    out["results"] = results_path
    return out
