"""``fastplan upgrade FILE``: rewrite a results file of an older format in today's (format 3):
each world model stored once under ``/worlds`` (format 1 held A, B, b per run), and each
configuration's per-run fields in one compound dataset ``runs`` (formats 1 and 2 held one dataset
per field).

Files of formats 1 and 2 stay readable and extendable as they are (a sweep appends to their old
configurations in their own layout); the upgrade makes them smaller and faster to extend.  Fields
an old configuration lacks are stored as readers gave them: NaN for the baselines and manifold
fields of files written before them, ``wall_time * batch_size`` for ``batch_wall_time``.  It runs under the
writer's lock (no sweep writes the file meanwhile; a journal a killed sweep left is folded in
first), writes a new file next to it and renames it over the old one atomically, so the file is
at every instant either the old or the new one.  Every number stays bit for bit: the worlds'
arrays and every per-run value are copied, and every other dataset and attribute as it is.
"""
from __future__ import annotations

import os

import numpy as np

from . import worlds
from .columns import columns, is_table
from .files import _h5py, _str, check_results_file
from .layout import FORMAT_VERSION, RUNS, TRACE_FIELD, field_dtype, table_dtype, table_fields
from .provenance import _now


def inline_configs(path) -> int:
    """Configurations of ``path`` whose runs hold their world models inline (format 1)."""
    path = check_results_file(path)
    with _h5py().File(path, "r") as f:
        return sum(1 for g in f.get("configs", {}).values() if "world" not in g and "A" in g)


def older_configs(path) -> int:
    """Configurations of ``path`` in an older layout (one dataset per field: formats 1 and 2)."""
    path = check_results_file(path)
    with _h5py().File(path, "r") as f:
        return sum(1 for g in f.get("configs", {}).values() if not is_table(g))


def upgrade(path, command_line: str | None = None) -> dict:
    """Rewrite ``path`` in today's format (see the module docstring); returns ``{"configs":
    configurations converted, "worlds": world models now stored, "bytes_before", "bytes_after"}``
    (nothing is rewritten when no configuration needs it)."""
    from .provenance import provenance
    from .writer import Writer
    path = os.path.realpath(check_results_file(path, deep=True))
    before = os.path.getsize(path)
    with Writer(path, provenance(command_line=command_line)) as w:   # the lock; a journal folded in
        todo = older_configs(path)
        if todo:
            w.rewrite(_convert, "upgrading")
    with _h5py().File(path, "r") as f:
        n_worlds = len(f.get(worlds.GROUP, {}))
    return {"configs": todo, "worlds": n_worlds, "bytes_before": before, "bytes_after": os.path.getsize(path)}


def _convert(src: str, dst: str) -> None:
    """Write ``dst``: ``src`` with every older configuration group rewritten as one table."""
    from .writer import _create, _write_worlds
    h5py = _h5py()
    with h5py.File(src, "r") as fs, h5py.File(dst, "w", libver=("v110", "latest")) as fd:
        for k, v in fs.attrs.items():
            fd.attrs[k] = v
        for name in fs:
            if name != "configs":
                fs.copy(fs[name], fd, name)
        out = fd.create_group("configs")
        entries = {}
        for cid, g in fs.get("configs", {}).items():
            if is_table(g):
                fs.copy(g, out, cid)
                continue
            gd = out.create_group(cid)
            for k, v in g.attrs.items():
                gd.attrs[k] = v
            _create(gd, RUNS, _table(columns(g), entries))
            if TRACE_FIELD in g:
                fs.copy(g[TRACE_FIELD], gd, TRACE_FIELD)
        if entries:
            _write_worlds(fd, list(entries.items()))
        fd.attrs["format_version"] = FORMAT_VERSION
        done = _str(fs.attrs.get("upgraded", ""))
        fd.attrs["upgraded"] = (done + "; " if done else "") + f"{_now()}: format {FORMAT_VERSION} (fastplan upgrade)"


def _table(c, entries: dict) -> np.ndarray:
    """The :data:`RUNS` table of an older configuration group's columns ``c`` (all rows, complete
    or not); the world models a group of format 1 holds inline go into ``entries`` (hash ->
    :func:`.worlds.entry`), and its rows refer to them."""
    from ..engine.worlds.tanh import TanhWorld
    n = c.n_rows
    values = {}
    if "world" not in c:
        A, B, b = (c[k] for k in worlds.INLINE_FIELDS)
        seeds = c["seed"]
        hashes = []
        for i in range(n):
            world = TanhWorld(A=A[i], B=B[i], b=b[i], seed=int(seeds[i]))
            hashes.append(world.content_hash())
            entries.setdefault(hashes[-1], worlds.entry(world))
        values["world"] = np.array(hashes, dtype=worlds.HASH_DTYPE)
    names = table_fields("executed_actions" in c)           # decoded configurations only
    for name in names:
        if name in values:
            continue
        if name in c:
            values[name] = np.asarray(c[name], dtype=field_dtype(name))
        elif name == "batch_wall_time":      # what readers derive for files written before it
            values[name] = c["wall_time"] * c["batch_size"]
        else:                                # a baseline or manifold field the file predates
            values[name] = np.full(n, np.nan)
    table = np.empty(n, dtype=table_dtype(names, {k: v.shape[1:] for k, v in values.items()}))
    for name in names:
        table[name] = values[name]
    return table
