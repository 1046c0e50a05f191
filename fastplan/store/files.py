"""Checks of results files and output paths, and small atomic-write / fsync helpers."""
from __future__ import annotations

import contextlib
import json
import os

from ..engine.errors import FastplanError
from .layout import FORMAT_VERSION, MARKER, MARKER_ATTR


def _h5py():
    import h5py
    return h5py


def check_results_file(path, deep: bool = False) -> str:
    """Check that ``path`` is a readable fastplan results file; return it as ``str``.

    Raises :class:`FastplanError` (one line) for a missing file, a non-HDF5 file, an HDF5
    file without the fastplan marker, a truncated or damaged file, or a newer format.
    ``deep=True`` also reads every index dataset (done before a sweep writes the file).
    Opens the file read-only: its bytes are never changed.
    """
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FastplanError(f"{path}: no such file")
    if os.path.isdir(path):
        raise FastplanError(f"{path} is a folder, not a results file")
    if not h5py.is_hdf5(path):
        raise FastplanError(f"{path} is not an HDF5 file (not a fastplan results file); refusing to use it")
    try:
        with h5py.File(path, "r") as f:
            marker = f.attrs.get(MARKER_ATTR)
            if isinstance(marker, bytes):
                marker = marker.decode()
            if marker != MARKER:
                raise FastplanError(f"{path} is an HDF5 file but not a fastplan results file "
                                    f"(no {MARKER_ATTR} marker); refusing to use it")
            version = int(f.attrs.get("format_version", 0))
            if version > FORMAT_VERSION:
                raise FastplanError(f"{path} has results format {version}; this fastplan reads "
                                    f"up to {FORMAT_VERSION} (upgrade fastplan)")
            if deep:
                _scan_index(f)   # reads every index dataset: damage shows up here
    except FastplanError:
        raise
    except Exception as exc:  # h5py raises OSError/KeyError/RuntimeError... for damaged files
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FastplanError(f"{path} is damaged or truncated and cannot be read ({msg})") from None
    return path


def check_output_path(path) -> str:
    """Check that a sweep may write ``path`` (before anything is written); return it.

    The folder must exist and be writable; an existing file must be a valid fastplan
    results file (see :func:`check_results_file`) and writable.  A symbolic link is
    followed: its target's folder must exist (a sweep never creates folders).
    """
    path = os.fspath(path)
    if not path:
        raise FastplanError("no output file given")
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(folder):
        if os.path.islink(path):
            raise FastplanError(f"{path} is a symbolic link to {os.path.realpath(path)}, whose folder "
                                f"{folder} does not exist")
        raise FastplanError(f"output folder {folder} does not exist")
    try:   # os.access is not enough (root, ACLs, read-only mounts): really try
        fd, probe = _mkstemp(folder, ".fastplan-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise FastplanError(f"output folder {folder} is not writable ({exc.strerror or exc})") from None
    if os.path.exists(path):
        check_results_file(path, deep=True)
        if not os.access(path, os.W_OK):
            raise FastplanError(f"{path} is read-only")
    return path


def _mkstemp(folder, prefix):
    import tempfile
    return tempfile.mkstemp(prefix=prefix, dir=folder)





def _write_bytes_atomic(fn: str, data: bytes):
    part = fn + ".part"
    with open(part, "wb") as fh:
        fh.write(data)
        fh.flush()
    os.replace(part, fn)


def _write_json_atomic(fn: str, obj):
    _write_bytes_atomic(fn, json.dumps(obj).encode())


def _fsync_file(fn: str):
    fd = os.open(fn, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: str):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

def _scan_index(f) -> tuple[set, set]:
    """(complete (config_id, seed) pairs, complete (geometry, d, seed, n_samples) metric keys)."""
    runs = set()
    if "configs" in f:
        from .columns import columns
        for cid, g in f["configs"].items():
            c = columns(g, ("seed", "complete"))
            seeds, done = c["seed"], c["complete"]
            for s, ok in zip(seeds.tolist(), done.tolist()):
                if ok:
                    runs.add((cid, int(s)))
    metrics = set()
    if "geometry_metrics" in f:
        g = f["geometry_metrics"]
        cols = [g[k][()] for k in ("geometry", "d", "seed", "n_samples", "complete")]
        for geom, d, s, n, ok in zip(*(c.tolist() for c in cols)):
            if ok:
                metrics.add((_str(geom), int(d), int(s), int(n)))
    return runs, metrics

def _str(x) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)
