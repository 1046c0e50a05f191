"""``fastplan upgrade FILE``: rewrite a results file of format 1 (each run holding its world
model's A, B, b) so that each world model is stored once under ``/worlds`` (format 2).

Files of format 1 stay readable and extendable as they are (a sweep appends to their old
configurations in their own layout); the upgrade only makes them smaller.  It runs under the
writer's lock (no sweep writes the file meanwhile; a journal a killed sweep left is folded in
first), writes a new file next to it and renames it over the old one atomically, so the file is
at every instant either the old or the new one.  Every number stays bit for bit: the worlds'
arrays are copied, and every other dataset is copied as it is.
"""
from __future__ import annotations

import os

import numpy as np

from . import worlds
from .files import _h5py, _str, check_results_file
from .layout import FORMAT_VERSION
from .provenance import _now


def inline_configs(path) -> int:
    """Configurations of ``path`` whose runs hold their world models inline (format 1)."""
    path = check_results_file(path)
    with _h5py().File(path, "r") as f:
        return sum(1 for g in f.get("configs", {}).values() if "world" not in g and "A" in g)


def upgrade(path, command_line: str | None = None) -> dict:
    """Store each world model of ``path`` once (see the module docstring); returns
    ``{"configs": configurations converted, "worlds": world models now stored, "bytes_before",
    "bytes_after"}`` (nothing is rewritten when no configuration needs it)."""
    from .provenance import provenance
    from .writer import Writer
    path = os.path.realpath(check_results_file(path, deep=True))
    before = os.path.getsize(path)
    with Writer(path, provenance(command_line=command_line)) as w:   # the lock; a journal folded in
        todo = inline_configs(path)
        if todo:
            w.rewrite(_convert, "upgrading")
    with _h5py().File(path, "r") as f:
        n_worlds = len(f.get(worlds.GROUP, {}))
    return {"configs": todo, "worlds": n_worlds, "bytes_before": before, "bytes_after": os.path.getsize(path)}


def _convert(src: str, dst: str) -> None:
    """Write ``dst``: ``src`` with every inline configuration's A, B, b replaced by world hashes."""
    from ..engine.worlds.tanh import TanhWorld
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
            if "world" in g or "A" not in g:
                fs.copy(g, out, cid)
                continue
            gd = out.create_group(cid)
            for k, v in g.attrs.items():
                gd.attrs[k] = v
            A, B, b = (g[k][()] for k in worlds.INLINE_FIELDS)
            seeds = g["seed"][()]
            hashes = []
            for i in range(A.shape[0]):
                world = TanhWorld(A=A[i], B=B[i], b=b[i], seed=int(seeds[i]))
                h = world.content_hash()
                hashes.append(h)
                entries.setdefault(h, worlds.entry(world))
            _create(gd, "world", np.array(hashes, dtype=worlds.HASH_DTYPE))
            for name in g:
                if name not in worlds.INLINE_FIELDS:
                    fs.copy(g[name], gd, name)
        if entries:
            _write_worlds(fd, list(entries.items()))
        fd.attrs["format_version"] = FORMAT_VERSION
        done = _str(fs.attrs.get("upgraded", ""))
        fd.attrs["upgraded"] = (done + "; " if done else "") + f"{_now()}: world models stored once (fastplan upgrade)"
