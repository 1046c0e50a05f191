"""``fastplan ls`` and ``fastplan show``: what a results file holds."""
from __future__ import annotations

import json

import click

from ._errors import friendly_errors
from ._options import MultiValueCommand, ChoiceList, IntList, multi_option
from ._names import GEOMETRY_KINDS, GEOMETRY_USAGES, PLANNERS, canonical_geometry

SUMMARY_METRICS = (  # column, header, format
    ("goal_distance", "goal distance", "{:.4f}"),
    ("smoothness", "smoothness", "{:.4f}"),
    ("cost", "cost", "{:.4f}"),
    ("samples", "samples", "{:.0f}"),
    ("wall_time", "wall ms", "{:.2f}"),
    ("log_density", "log p", "{:.2f}"),
    ("ood_rate", "OOD", "{:.3f}"),
)
#: Shown when a decoded-execution configuration is among the rows (latent: realised = planned).
DECODED_METRICS = (
    ("realised_goal_distance", "realised", "{:.4f}"),
    ("exploitation_gap", "gap", "{:.4f}"),
)
#: Shown in the table: per-run statistics of these, then the batch time (wall_time is a share
#: of a batch's time, so its spread over seeds is no measurement; it stays in --json).
TABLE_METRICS = tuple(m for m in SUMMARY_METRICS if m[0] != "wall_time")


def non_default(planner: str, hp: dict, execution: str = "latent") -> str:
    """``name=value`` for every hyperparameter that differs from the paper's value (and the
    execution when it is not the default)."""
    from fastplan.engine.planners import DEFAULTS
    base = DEFAULTS.get(planner, {})
    diff = [f"{k}={v}" for k, v in sorted(hp.items()) if base.get(k) != v]
    if execution not in ("latent", ""):
        diff.append(f"execution={execution}")
    return " ".join(diff) if diff else "paper"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    def fmt(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def _journal_note(path: str) -> str | None:
    from fastplan.store.journal import pending_note
    return pending_note(path)


@click.command("ls")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per configuration.")
@friendly_errors
def ls(path, as_json):
    """List the configurations of a results file, one line each.

    Columns: geometry, d, horizon, planner, geometry usage, number of seeds, the
    hyperparameters that differ from the paper's ('paper' if none) and the configuration id.
    """
    from fastplan import store
    configs = store.list_configs(path)
    if as_json:
        for c in configs:
            click.echo(json.dumps({k: (v.tolist() if hasattr(v, "tolist") else v)
                                   for k, v in c.items() if k != "key"}))
        return
    attrs = store.file_attrs(path)
    n_runs = sum(c["n_seeds"] for c in configs)
    click.echo(f"{path}: {len(configs)} configurations, {n_runs} runs "
               f"(fastplan {attrs.get('fastplan_version', '?')}, last written {attrs.get('date', '?')}, "
               f"{attrs.get('n_sessions', 0)} sessions)")
    header = ["geometry", "d", "h", "planner", "usage", "seeds", "hyperparameters", "config"]
    rows = [[c["geometry"], str(c["d"]), str(c["horizon"]), c["planner"], c["geometry_usage"],
             str(c["n_seeds"]), non_default(c["planner"], c["hyperparameters"], c["execution"]), c["config_id"]]
            for c in configs]
    if rows:
        click.echo(_table(header, rows, right={1, 2, 5}))
    note = _journal_note(path)
    if note:
        click.echo(note, err=True)
    _inline_note(path)


def _inline_note(path: str) -> None:
    """A note on stderr when configurations of ``path`` are in an older layout."""
    from fastplan.store.upgrade import inline_configs, older_configs
    n, inline = older_configs(path), inline_configs(path)
    if n:
        what = (f"{inline} hold their world models per run, written before fastplan stored each once"
                if inline else "one dataset per field, written before format 3")
        click.echo(f"note: {n} configurations of {path} are in an older layout ({what}); "
                   f"`fastplan upgrade {path}` makes the file smaller and faster to extend", err=True)


@click.command("upgrade")
@click.argument("path", type=click.Path(dir_okay=False))
@friendly_errors
def upgrade(path):
    """Rewrite a results file of an older format in today's: each world model stored once
    (/worlds/<hash>, runs refer to it) and each configuration's runs in one table (format 3):
    the file gets smaller, every number stays.

    Older files stay readable and extendable without it. The file is replaced atomically,
    under the same lock as a sweep.
    """
    from fastplan.engine.budget import format_bytes
    from fastplan.store.upgrade import upgrade as run_upgrade
    from .cmd_sweep import command_line
    out = run_upgrade(path, command_line=command_line())
    if not out["configs"]:
        click.echo(f"{path}: every configuration is already in the current layout; nothing to do")
        return
    click.echo(f"{path}: {out['configs']} configurations now in format 3, referring to {out['worlds']} world "
               f"models stored once; {format_bytes(out['bytes_before'])} -> {format_bytes(out['bytes_after'])}")


def summarise(records: dict, keep) -> list[dict]:
    """Mean and sample std over seeds per configuration of the rows ``keep``, by the one rule
    of :mod:`fastplan.paper.stats` (ddof=1; std None for one seed; NaN runs counted apart)."""
    import numpy as np

    from fastplan.paper.stats import make_stat
    rows = []
    ids = records["config_id"][keep]
    for cid in dict.fromkeys(ids.tolist()):
        sel = np.flatnonzero(keep)[ids == cid]
        first = sel[0]
        row = {k: records[k][first].item() for k in ("config_id", "geometry", "d", "horizon", "planner",
                                                    "geometry_usage", "execution")}
        row["hyperparameters"] = json.loads(records["hyperparameters"][first])
        row["n_seeds"] = int(sel.size)
        for col, _, _ in SUMMARY_METRICS + DECODED_METRICS:
            x = records[col][sel].astype(float)
            if col == "wall_time":
                x = x * 1e3
            st = make_stat(x)
            row[col] = {"mean": None if st.empty else st.mean,
                        "std": None if st.n < 2 else st.std, "n_nan": st.n_nan}
        row["batch"] = batch_times(records, sel)
        rows.append(row)
    return rows


def batch_times(records: dict, sel) -> dict:
    """The kernel calls (batches) that planned the runs ``sel``: their planning times in ms
    (mean, std over batches; None for one batch), sizes and count.  A batch is identified
    by its measured time (one float per kernel call, shared by its runs)."""
    import numpy as np

    if "batch_wall_time" not in records:
        return {"n_batches": 0, "mean_ms": None, "std_ms": None, "sizes": []}
    seen = dict.fromkeys(zip(records["batch_wall_time"][sel].tolist(), records["batch_size"][sel].tolist()))
    times = np.array([t for t, _ in seen], dtype=float) * 1e3
    return {"n_batches": len(seen), "mean_ms": float(times.mean()) if times.size else None,
            "std_ms": float(times.std(ddof=1)) if times.size > 1 else None,
            "sizes": sorted({int(n) for _, n in seen})}


def _batch_cell(b: dict) -> str:
    """``8.80 ms / 30 runs``; several batches: ``8.80 ± 0.31 ms / 30 runs (3 batches)``."""
    if not b["n_batches"]:
        return "?"
    t = f"{b['mean_ms']:.2f}" + (f" ± {b['std_ms']:.2f}" if b["std_ms"] is not None else "")
    sizes = "/".join(str(s) for s in b["sizes"])
    more = f" ({b['n_batches']} batches)" if b["n_batches"] > 1 else ""
    return f"{t} ms / {sizes} runs{more}"


@click.command("show", cls=MultiValueCommand)
@click.argument("path", type=click.Path(dir_okay=False))
@multi_option("--planner", "--planners", "planner", type=ChoiceList(PLANNERS), default=None,
              help="Only these planners.")
@multi_option("--dim", "--dims", "dim", type=IntList(min=1), default=None, help="Only these d.")
@multi_option("--geometry", "--geometries", "geometry",
              type=ChoiceList(GEOMETRY_KINDS, normalize=canonical_geometry), default=None,
              help="Only these geometries.")
@multi_option("--horizon", "--horizons", "horizon", type=IntList(min=1), default=None,
              help="Only these horizons.")
@click.option("--usage", type=click.Choice(GEOMETRY_USAGES), default=None, help="Only this geometry usage.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per configuration.")
@friendly_errors
def show(path, planner, dim, geometry, horizon, usage, as_json):
    """Mean +- std over seeds of goal distance, smoothness, cost, samples, the mean log-density
    of the planned actions under the geometry and their OOD rate (and, for decoded-execution
    configurations, the realised goal distance and the exploitation gap); batch times.

    One line per configuration that matches the filters; std is the sample standard
    deviation over seeds (ddof=1). Runs are planned in batches (one kernel call for many
    seeds and geometries), so time is shown per batch: the planning time of the batch
    (compilation excluded) / the runs it planned, mean +- std over batches if several.

    \b
    Example:
      fastplan show runs.h5 --planner cem --dim 8
    """
    import numpy as np

    from fastplan import store
    rec = store.load(path)
    keep = np.ones(rec["seed"].size, dtype=bool)
    filters = {"planner": planner, "d": dim, "geometry": geometry, "horizon": horizon,
               "geometry_usage": (usage,) if usage else None}
    for col, values in filters.items():
        if values:
            keep &= np.isin(rec[col], np.asarray(list(values), dtype=rec[col].dtype))
    if not keep.any():
        what = ", ".join(f"{k}={' '.join(map(str, v))}" for k, v in filters.items() if v) or "any"
        raise click.ClickException(f"no runs in {path} match ({what}); see `fastplan ls {path}`")
    rows = summarise(rec, keep)
    if as_json:
        for r in rows:
            click.echo(json.dumps(r))
        return
    metrics = TABLE_METRICS + (DECODED_METRICS if any(r["execution"] != "latent" for r in rows) else ())
    header = (["geometry", "d", "h", "planner", "usage", "n"] + [h for _, h, _ in metrics]
              + ["batch time", "hyperparameters"])
    body = []
    for r in rows:
        cells = [r["geometry"], str(r["d"]), str(r["horizon"]), r["planner"], r["geometry_usage"],
                 str(r["n_seeds"])]
        for col, _, fmt in metrics:
            m, s = r[col]["mean"], r[col]["std"]
            cells.append(_pm(fmt, m, s))
        cells.append(_batch_cell(r["batch"]))
        cells.append(non_default(r["planner"], r["hyperparameters"], r["execution"]))
        body.append(cells)
    click.echo(_table(header, body, right=set(range(1, 3)) | set(range(5, 7 + len(metrics)))))
    note = _journal_note(path)
    if note:
        click.echo(note, err=True)


def _pm(fmt: str, mean, std) -> str:
    if mean is None:
        return "nan"
    if std is None:
        return fmt.format(mean)
    return f"{fmt.format(mean)} ± {fmt.format(std)}"
