"""The journal of a results file: the folder ``<file>.journal/``, its unit files (a finished
work unit encoded as one .npz file each) and their encoding."""
from __future__ import annotations

import glob
import io
import json
import math
import os

import numpy as np

from ..engine.errors import FastplanError
from . import worlds
from .keys import config_id, config_key


#: Name of the one member of a packed unit file that holds every array's bytes.
PACKED = "__packed__"
_ALIGN = 64


def _encode_result(result: dict) -> bytes:
    """A work-unit result (dict of arrays and JSON-able scalars) as npz bytes (no pickle);
    the world models it carries under ``worlds/<hash>/<name>`` (:func:`.worlds.flatten`).

    The arrays' bytes go into one member (:data:`PACKED`, each array at a 64-byte aligned
    offset; name, dtype, shape and offset in the JSON meta): a unit has ~65 arrays, and one
    zip member per array was most of the time spent journaling.  Arrays of object or
    structured dtype keep a member each (none of the sweep's do)."""
    arrays, meta = worlds.flatten(result)
    meta = {"__worlds__": meta} if meta else {}
    for k, v in result.items():
        if k == "worlds":
            continue
        if isinstance(v, np.ndarray):
            arrays[k] = v
        else:
            meta[k] = v
    index, parts, members, size = [], [], {}, 0
    for name, a in arrays.items():
        a = np.asarray(a)
        if a.dtype.hasobject or a.dtype.names is not None:
            members[name] = a
            continue
        pad = -size % _ALIGN
        if pad:
            parts.append(bytes(pad))
            size += pad
        index.append([name, a.dtype.str, list(a.shape), size])
        parts.append(np.ascontiguousarray(a).tobytes())
        size += a.nbytes
    meta["__index__"] = index
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta)),
             **{PACKED: np.frombuffer(b"".join(parts), dtype=np.uint8)}, **members)
    return buf.getvalue()


def _decode_result(data) -> dict:
    """The result :func:`_encode_result` wrote (or an older unit file, one member per array);
    a unit journaled before world models were stored once (A, B, b per run) comes back in
    today's form (:func:`.worlds.refs_from_inline`)."""
    with np.load(data, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k not in ("__meta__", PACKED)}
        meta = json.loads(str(z["__meta__"]))
        packed = z[PACKED] if PACKED in z.files else None
    for name, dtype, shape, offset in meta.pop("__index__", []):
        dt, count = np.dtype(dtype), int(np.prod(shape, dtype=np.int64))
        arrays[name] = (np.frombuffer(packed, dtype=dt, count=count, offset=offset).reshape(shape).copy()
                        if count and dt.itemsize else np.empty(shape, dtype=dt))
    flat = meta.pop("__worlds__", None)
    prefix = worlds.GROUP + "/"
    out = {k: v for k, v in arrays.items() if not k.startswith(prefix)}
    out.update(meta)
    if flat is not None:
        out["worlds"] = worlds.unflatten(arrays, flat)
    return worlds.refs_from_inline(out)


#: File-name pattern of journaled units inside the journal folder.
UNIT_PATTERN = "unit-*.npz"


def journal_dir(path) -> str:
    """The journal folder of results file ``path``: ``<path>.journal``."""
    return os.fspath(path) + ".journal"


def pending_units(path) -> list[str]:
    """Journaled units of ``path`` not yet folded into it (an interrupted or running sweep)."""
    return sorted(glob.glob(os.path.join(journal_dir(os.path.abspath(path)), UNIT_PATTERN)))


def pending_note(path) -> str | None:
    """One line about units waiting in the journal of ``path`` (and units set aside as
    invalid), or None."""
    units, rejected = pending_units(path), rejected_units(path)
    notes = []
    if units:
        notes.append(f"note: {len(units)} finished work units of an interrupted (or running) sweep wait "
                     f"in {os.path.basename(journal_dir(path))}/; re-running the sweep folds them in")
    if rejected:
        notes.append(f"note: {len(rejected)} invalid journal units were set aside in "
                     f"{os.path.basename(journal_dir(path))}/{REJECTED}/ (never stored; see the "
                     f".reason.txt beside each)")
    return "\n".join(notes) or None


#: Sub-folder of the journal holding units that decoded but were invalid (never stored).
REJECTED = "rejected"


def rejected_units(path) -> list[str]:
    """Units of ``path``'s journal that were set aside as invalid (``<file>.journal/rejected/``)."""
    return sorted(glob.glob(os.path.join(journal_dir(os.path.abspath(path)), REJECTED, UNIT_PATTERN)))


def reject_unit(fn: str, reason: str) -> str:
    """Move the unit file ``fn`` into the journal's ``rejected/`` folder, with its reason in
    ``<name>.reason.txt``; return its new path.  It is never stored; its runs are recomputed."""
    folder = os.path.join(os.path.dirname(fn), REJECTED)
    os.makedirs(folder, exist_ok=True)
    dest = os.path.join(folder, os.path.basename(fn))
    with open(dest + ".reason.txt", "w", encoding="utf-8") as fh:
        fh.write(reason + "\n")
    os.replace(fn, dest)
    return dest


# --------------------------------------------------------------------------- validity

def check_unit(result) -> None:
    """Refuse (:class:`FastplanError`, naming the problem) a unit result the writer could not
    store exactly: missing keys, a configuration id that does not match its key, arrays whose
    shapes disagree with the key's d and horizon (:data:`~fastplan.store.layout.RUN_SHAPES`)
    or with the number of runs, non-numeric arrays, world references without their world or
    whose world does not hash to them (:func:`.worlds.check_refs`)."""
    if not isinstance(result, dict):
        raise FastplanError(f"is a {type(result).__name__}, not a dict of arrays")
    kind = result.get("kind")
    if kind == "plan":
        _check_plan_unit(result)
    elif kind == "metrics":
        _check_metrics_unit(result)
    else:
        raise FastplanError(f"has unknown kind {kind!r}")


def _need(result: dict, key: str):
    if key not in result:
        raise FastplanError(f"has no {key!r}")
    return result[key]


def _vector(result: dict, key: str, n: int | None = None, integer: bool = False) -> np.ndarray:
    arr = np.asarray(_need(result, key))
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        want = f"({n},)" if n is not None else "one dimension"
        raise FastplanError(f"{key} has shape {arr.shape}, expected {want}")
    if integer and arr.dtype.kind not in "iu":
        raise FastplanError(f"{key} has dtype {arr.dtype}, expected integers")
    return arr


def _count(result: dict, key: str, least: int = 1) -> int:
    v = _need(result, key)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < least:
        raise FastplanError(f"{key} is {v!r}, expected an integer >= {least}")
    return int(v)


def _numeric(result: dict, name: str, lead: int, row: tuple | None, what: str) -> None:
    arr = np.asarray(_need(result, name))
    if arr.dtype.kind not in "biuf":
        raise FastplanError(f"{name} has dtype {arr.dtype}, expected numbers")
    if arr.ndim < 1 or arr.shape[0] != lead or (row is not None and arr.shape[1:] != row):
        want = f"({lead}, ...)" if row is None else str((lead,) + row)
        raise FastplanError(f"{name} has shape {arr.shape}, expected {want}{what}")


def _check_plan_unit(r: dict) -> None:
    from .layout import DERIVED_FIELDS, RUN_FIELDS, TEXT_FIELDS, TRACE_FIELD, row_shape
    cids = _vector(r, "config_ids")
    P = cids.shape[0]
    if P == 0:
        raise FastplanError("holds no runs")
    seeds = _vector(r, "seeds", P, integer=True)
    if seeds.min() < 0:
        raise FastplanError(f"seeds has a negative seed {int(seeds.min())}")
    geometries = _vector(r, "geometries", P)
    d, T = _count(r, "d"), _count(r, "horizon")
    planner, usage = str(_need(r, "planner")), str(_need(r, "geometry_usage"))
    hp = _need(r, "hyperparameters")
    execution = str(r.get("execution", "latent"))
    try:
        hp = json.loads(hp) if isinstance(hp, str) else dict(hp)
        extra = r.get("inputs_key") or None
        extra = json.loads(extra) if isinstance(extra, str) else extra
        ids = {}
        for cid, geom in zip(cids.tolist(), geometries.tolist()):
            if (cid, geom) not in ids:
                ids[(cid, geom)] = config_id(config_key(geom, d, T, planner, usage, hp, execution, extra,
                                                        str(r.get("arithmetic", "exact"))))
    except (TypeError, ValueError) as exc:
        raise FastplanError(f"has an unreadable configuration key ({exc})") from None
    for (cid, geom), real in ids.items():
        if real != str(cid):
            raise FastplanError(f"configuration {cid} does not match its key ({planner}, {geom}, d={d}, "
                                f"horizon {T}, {usage}, the hyperparameters): its key gives {real}")
    n = worlds.check_refs(r, P, d)
    what = f" for d={d}, horizon {T}" + (f", n={n}" if n != d else "")
    for name in RUN_FIELDS:
        if name not in DERIVED_FIELDS and name not in TEXT_FIELDS:
            _numeric(r, name, P, row_shape(name, d, T, n), what)
    if TRACE_FIELD in r:           # optional per-run traces (R, 3) of a sweep with --traces
        _numeric(r, TRACE_FIELD, P, None, what)
        if np.ndim(r[TRACE_FIELD]) != 3 or np.shape(r[TRACE_FIELD])[2] != 3:
            raise FastplanError(f"{TRACE_FIELD} has shape {np.shape(r[TRACE_FIELD])}, expected ({P}, R, 3)")
    wall = _need(r, "wall_time")
    if isinstance(wall, (bool, np.bool_)) or not isinstance(wall, (int, float, np.number)) \
            or not math.isfinite(float(wall)) or wall < 0:
        raise FastplanError(f"wall_time is {wall!r}, expected a finite number >= 0")


def _check_metrics_unit(r: dict) -> None:
    from .layout import METRIC_FLOATS
    str(_need(r, "geometry"))
    d = _count(r, "d")
    _count(r, "n_samples", least=2)
    seeds = _vector(r, "seeds", integer=True)
    if seeds.shape[0] == 0:
        raise FastplanError("holds no seeds")
    for name in METRIC_FLOATS:
        _numeric(r, name, seeds.shape[0], (), f" (one per seed, d={d})")
