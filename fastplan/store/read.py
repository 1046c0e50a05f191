"""Reading a results file: its index, configurations, runs as columns, geometry metrics."""
from __future__ import annotations

import contextlib
import json
import os

import numpy as np

from ..engine import registry
from ..engine.errors import FastplanError
from . import worlds
from .columns import columns
from .files import _h5py, _scan_index, _str, check_results_file
from .layout import (BASELINE_FIELDS, DECODED_FIELDS, DEFAULT_EXECUTION, MANIFOLD_FIELDS, METRIC_COLUMNS,
                     METRIC_FLOATS, RECORD_COLUMNS, DEFAULT_ARITHMETIC, RUN_FIELDS, TEXT_FIELDS, TRACE_FIELD)


def _attrs(obj) -> dict:
    return {k: (_str(v) if isinstance(v, (bytes, str)) else v.item() if hasattr(v, "item") else v)
            for k, v in obj.attrs.items()}


def _config_attrs(g) -> dict:
    """A configuration group's attributes; ``execution`` is "latent" in files written before it,
    ``arithmetic`` "exact" unless a ``FASTPLAN_ARITHMETIC=fast`` sweep wrote the configuration;
    ``inputs`` (a user's world / latents / starts files: paths and content hashes) is a dict,
    empty for the paper's own."""
    a = _attrs(g)
    a.setdefault("execution", DEFAULT_EXECUTION)
    a.setdefault("arithmetic", DEFAULT_ARITHMETIC)
    a["inputs"] = json.loads(a["inputs"]) if "inputs" in a else {}
    return a


def _optional_column(c, name: str, done) -> np.ndarray:
    """A per-run field of complete rows (``c``: :func:`.columns.columns`) that files written
    before it lack (the manifold fields, the baselines): NaN there."""
    if name in c:
        return c[name][done]
    return np.full(int(np.count_nonzero(done)), np.nan)


def index(path) -> tuple[set, set]:
    """Complete runs and geometry metrics in a results file (empty sets if it does not exist)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return set(), set()
    check_results_file(path, deep=True)
    with _h5py().File(path, "r") as f:
        return _scan_index(f)


def file_attrs(path) -> dict:
    """File-level provenance attributes of a results file."""
    with _reading(path) as f:
        return _attrs(f)


def sessions(path) -> list[dict]:
    """Provenance of every sweep session that wrote to the file, in order."""
    with _reading(path) as f:
        if "sessions" not in f:
            return []
        return [_attrs(f["sessions"][k]) for k in sorted(f["sessions"], key=int)]


@contextlib.contextmanager
def _reading(path):
    """Open a checked results file read-only; damage met while reading -> FastplanError."""
    path = check_results_file(path)
    try:
        with _h5py().File(path, "r") as f:
            yield f
    except FastplanError:
        raise
    except (OSError, KeyError, RuntimeError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FastplanError(f"{path} is damaged and cannot be read ({msg})") from None


def list_configs(path) -> list[dict]:
    """One dict per configuration: its attributes plus ``seeds`` (sorted) and ``n_seeds``.

    ``hyperparameters`` is returned as a dict.  Only complete runs count.
    """
    out = []
    with _reading(path) as f:
        for cid, g in f.get("configs", {}).items():
            a = _config_attrs(g)
            a["hyperparameters"] = json.loads(a["hyperparameters"])
            c = columns(g, ("seed", "complete"))
            done = c["complete"]
            seeds = np.sort(c["seed"][done])
            a["seeds"] = seeds
            a["n_seeds"] = int(seeds.size)
            out.append(a)
    out.sort(key=_config_sort_key)
    return out


def load_traces(path) -> list[dict]:
    """Per-iteration traces stored by ``fastplan sweep --traces``: one dict per configuration
    that holds them, its attributes (``hyperparameters`` a dict) plus ``seeds`` (n,) and
    ``trace`` (n, R, 3) of (best cost so far, mean cost, cumulative rollouts), complete runs with
    a trace only, sorted by seed.  Empty when the file holds none."""
    out = []
    with _reading(path) as f:
        for cid, g in f.get("configs", {}).items():
            if TRACE_FIELD not in g:
                continue
            a = _config_attrs(g)
            a["hyperparameters"] = json.loads(a["hyperparameters"])
            c = columns(g, ("seed", "complete"))
            tr = g[TRACE_FIELD][()]
            keep = c["complete"] & np.isfinite(tr).all(axis=(1, 2))
            order = np.argsort(c["seed"][keep], kind="stable")
            a["seeds"] = c["seed"][keep][order]
            a["trace"] = tr[keep][order]
            out.append(a)
    out.sort(key=_config_sort_key)
    return out


def _config_sort_key(a: dict):
    PLANNERS = registry.planners().names()
    KINDS = registry.geometries().names()
    p = a["planner"]
    return (PLANNERS.index(p) if p in PLANNERS else 99, p,
            KINDS.index(a["geometry"]) if a["geometry"] in KINDS else 99, a["geometry"],
            int(a["d"]), int(a["horizon"]), a["geometry_usage"],
            a.get("execution", DEFAULT_EXECUTION) != DEFAULT_EXECUTION, a.get("key", ""))


def read_config(path, config_id: str) -> tuple[dict, dict]:
    """(attributes, arrays) of one configuration: every per-run dataset, complete rows only,
    sorted by seed.  ``hyperparameters`` in the attributes is a dict.  The manifold fields
    (:data:`MANIFOLD_FIELDS`) are NaN in files written before them; ``executed_actions`` is
    present for decoded configurations only, ``trace`` (n, R, 3) for configurations swept with
    traces (NaN rows for runs computed without).

    ``world`` (n,) holds each run's world-model hash (:func:`read_worlds` gives the models);
    when they are all of the paper's family, ``A`` (n, d, d), ``B`` (n, d, d) and ``b`` (n, d)
    are their arrays per run, resolved through ``/worlds`` (or read inline from a file written
    before world models were stored once)."""
    with _reading(path) as f:
        g = _config_group(f, path, config_id)
        a = _config_attrs(g)
        a["hyperparameters"] = json.loads(a["hyperparameters"])
        c = columns(g)
        done = c["complete"]
        arrays = {k: _field(c, k)[done] for k in RUN_FIELDS if k not in TEXT_FIELDS}
        hashes, models = worlds.resolve(f, c, done)
        arrays["world"] = hashes
        arrays.update(worlds.stacked_tanh(hashes, models))
        # absent in files written before the baselines and the manifold fields
        arrays.update({k: _optional_column(c, k, done) for k in BASELINE_FIELDS + MANIFOLD_FIELDS})
        arrays.update({k: c[k][done] for k in DECODED_FIELDS + (TRACE_FIELD,) if k in c})
    order = np.argsort(arrays["seed"], kind="stable")
    return a, {k: v[order] for k, v in arrays.items()}


def _config_group(f, path, config_id: str):
    if "configs" not in f or config_id not in f["configs"]:
        raise FastplanError(f"{path} has no configuration {config_id!r}")
    return f["configs"][config_id]


def read_worlds(path, config_id: str | None = None) -> dict:
    """The world models of a results file as :class:`~fastplan.engine.worlds.World` objects,
    by content hash: those stored under ``/worlds`` (every one, or those the complete runs of
    ``config_id`` refer to), and those a file written before them holds inline per run."""
    with _reading(path) as f:
        if config_id is not None:
            c = columns(_config_group(f, path, config_id))
            return worlds.resolve(f, c, c["complete"])[1]
        out = {h: worlds.world_from_group(grp) for h, grp in f.get(worlds.GROUP, {}).items()}
        for g in f.get("configs", {}).values():
            c = columns(g, ("seed", "complete"))
            if "world" not in c:
                out.update(worlds.resolve(f, c, c["complete"])[1])
        return out


def list_worlds(path) -> list[dict]:
    """One dict per world model stored under ``/worlds``: ``content_hash``, ``family``, ``n``,
    ``d``, ``provenance`` (list of dicts: a seed, or a source file), ``arrays`` (names), and
    ``runs`` (how many complete runs refer to it)."""
    with _reading(path) as f:
        group = f.get(worlds.GROUP, {})
        out = {h: worlds.group_info(h, grp) for h, grp in group.items()}
        for g in f.get("configs", {}).values():
            c = columns(g, ("world", "complete"))
            if "world" in c:
                for h in worlds.hashes_of(c, c["complete"]).tolist():
                    if h in out:
                        out[h]["runs"] = out[h].get("runs", 0) + 1
    return [dict(info, runs=info.get("runs", 0)) for info in out.values()]


def _field(c, name: str) -> np.ndarray:
    """A per-run field (``c``: :func:`.columns.columns`); ``batch_wall_time`` of files written
    before it was stored is derived as ``wall_time * batch_size`` (what those files' shares
    were made from)."""
    if name == "batch_wall_time" and name not in c:
        return c["wall_time"] * c["batch_size"]
    return c[name]


def load(path, as_frame: bool = False):
    """All runs of a results file as records: one row per complete run.

    Parameters
    ----------
    path : str or path-like
        A fastplan results file.
    as_frame : bool
        Return a ``pandas.DataFrame`` (requires pandas) instead of a dict.

    Returns
    -------
    dict of str -> ndarray (n_runs,)
        Columns :data:`RECORD_COLUMNS`: ``config_id``, ``geometry``, ``d``, ``horizon``,
        ``planner``, ``geometry_usage``, ``gradient`` ("" for planners without one),
        ``lam``, ``seed``, ``goal_distance``, ``smoothness``, ``cost``, ``samples``,
        ``steps``, ``wall_time`` (the run's share of its batch), ``batch_wall_time`` (the
        batch's planning time), ``batch_size``, ``hyperparameters`` (JSON string),
        ``zero_action_distance`` and ``initial_distance`` (the baselines), ``execution``
        ("latent" or "decoded"), ``log_density``, ``ood_rate``, ``realised_goal_distance``,
        ``exploitation_gap`` (NaN in files written before them), ``arithmetic`` ("exact",
        or "fast" for runs of a ``FASTPLAN_ARITHMETIC=fast`` sweep).  Rows are sorted by planner,
        geometry, d, horizon, configuration and seed.
    pandas.DataFrame (``as_frame=True``)
        Tidy: the same rows and columns, but one column ``hp_<name>`` per hyperparameter
        (missing where a planner lacks it; ``lam`` and ``gradient`` keep their own
        columns) and a ``variant`` column (``population=400``, or ``paper``) in place of
        the JSON string.  Needs pandas (``pip install "fastplan[pandas]"``).
    """
    cols = {k: [] for k in RECORD_COLUMNS}
    with _reading(path) as f:
        groups = sorted(((_config_attrs(g), g) for g in f.get("configs", {}).values()),
                        key=lambda ag: _config_sort_key(ag[0]))
        for a, g in groups:
            c = columns(g, _LOAD_FIELDS)
            done = c["complete"]
            seed = c["seed"][done]
            order = np.argsort(seed, kind="stable")
            n = int(seed.size)
            for k in ("config_id", "geometry", "d", "horizon", "planner", "geometry_usage",
                      "gradient", "lam", "hyperparameters", "execution", "arithmetic"):
                cols[k].append(np.full(n, a[k], dtype=object))
            cols["seed"].append(seed[order])
            for k in ("goal_distance", "smoothness", "cost", "samples", "steps", "wall_time",
                      "batch_wall_time", "batch_size"):
                cols[k].append(_field(c, k)[done][order])
            for k in BASELINE_FIELDS + ("log_density", "ood_rate", "realised_goal_distance", "exploitation_gap"):
                cols[k].append(_optional_column(c, k, done)[order])     # NaN where a file predates them
    out = {}
    for k, parts in cols.items():
        arr = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        out[k] = _typed(k, arr)
    if not as_frame:
        return out
    from .frame import tidy_frame
    return tidy_frame(out)


#: The per-run fields :func:`load` reads.
_LOAD_FIELDS = ("complete", "seed", "goal_distance", "smoothness", "cost", "samples", "steps", "wall_time",
                "batch_wall_time", "batch_size", *BASELINE_FIELDS, *MANIFOLD_FIELDS)

_INT_COLUMNS = {"d", "horizon", "seed", "samples", "steps", "n_samples", "batch_size"}
_FLOAT_COLUMNS = {"lam", "goal_distance", "smoothness", "cost", "wall_time", "batch_wall_time",
                  *METRIC_FLOATS, *BASELINE_FIELDS, *MANIFOLD_FIELDS}


def _typed(name, arr):
    if name in _INT_COLUMNS:
        return arr.astype(np.int64)
    if name in _FLOAT_COLUMNS:
        return arr.astype(np.float64)
    return arr.astype(str)


def _maybe_frame(cols: dict, as_frame: bool):
    if not as_frame:
        return cols
    from .frame import pandas
    return pandas().DataFrame(cols)


def load_geometry_metrics(path, as_frame: bool = False):
    """Geometry metrics (Sec. 2.4) stored by sweeps, one row per (geometry, d, seed, n_samples).

    Returns a dict of equal-length 1-D arrays with columns :data:`METRIC_COLUMNS` (or a
    pandas DataFrame with ``as_frame=True``), sorted by geometry, d, seed.  The
    concentration definition is ``file_attrs(path)["concentration_definition"]``.
    """
    with _reading(path) as f:
        if "geometry_metrics" in f:
            g = f["geometry_metrics"]
            done = g["complete"][()]
            raw = {k: g[k][()][done] for k in METRIC_COLUMNS}
        else:
            raw = {k: np.empty(0) for k in METRIC_COLUMNS}
    raw["geometry"] = np.array([_str(x) for x in raw["geometry"]], dtype=object)
    out = {k: _typed(k, v) for k, v in raw.items()}
    KINDS = registry.geometries().names()
    rank = np.array([KINDS.index(g) if g in KINDS else 99 for g in out["geometry"]], dtype=np.int64)
    order = np.lexsort((out["n_samples"], out["seed"], out["d"], out["geometry"], rank))
    return _maybe_frame({k: v[order] for k, v in out.items()}, as_frame)
