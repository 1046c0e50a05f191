"""The results store: one HDF5 file indexed by configuration, safe against kills.

A *configuration* is (geometry, d, horizon, planner, geometry usage, every hyperparameter
including ``lam`` and the gradient mode).  Its id is the first 16 hex digits of the SHA-256
of the canonical JSON of that key (:func:`config_key`, :func:`config_id`); the seed is the
row inside the configuration.

File layout (everything readable with h5py + NumPy alone)::

    /                          attrs: fastplan_format="fastplan-results", format_version,
                               created, date, fastplan/numba/numpy/h5py/hdf5 versions,
                               threads, command_line (of the last session), n_sessions,
                               concentration_definition
    /configs/<config_id>/      attrs: config_id, key (canonical JSON), geometry, d, horizon,
                               planner, geometry_usage, gradient ("" if none), lam,
                               hyperparameters (JSON)
        seed                   (n,)        int64
        A, B                   (n, d, d)   float64   world model of Eq. 4
        b, s0, goal            (n, d)      float64
        actions                (n, T, d)   float64   planned a_1..a_T
        states                 (n, T+1, d) float64   s_0..s_T under Eq. 4
        goal_distance, smoothness, cost    (n,) float64   ||s_T - s*||, Eq. 11, Eq. 5
        samples, steps         (n,)        int64     rollouts / single-step evaluations
        wall_time              (n,)        float64   planning time of the batch / batch size
        batch_size, threads, session       (n,) int64
        complete               (n,)        bool      set last; a row counts only when True
    /geometry_metrics/         attrs: concentration_definition
        geometry (n,) S16, d, seed, n_samples (n,) int64, effective_dimension,
        mean_pairwise_distance, concentration, amenability (n,) float64, session, complete
    /sessions/<k>/             attrs: provenance of the k-th sweep that wrote to the file

Crash safety (measured: writing in place with ``flush()`` after every unit left 1 of 100
SIGKILLed files with a dangling object, so the file is never written in place):

1. every finished work unit is first saved to ``<file>.journal/`` (write to a temporary
   name, then ``os.replace``: a unit file is complete or absent);
2. every few seconds the writer copies the results file to a temporary file next to it,
   appends the journaled units, closes and fsyncs it, and ``os.replace``-s it over the
   results file (atomic), then deletes the journaled units it folded in;
3. a new sweep folds any journal left by a killed one in first.  Rows already complete in
   the file are never written twice, so a kill between steps 2 and 3 is harmless.

So the results file is at every instant a complete, closed HDF5 file, and a SIGKILL loses
at most the unit being computed.  One sweep at a time may write a file (a lock in the
journal folder); readers may read while a sweep runs.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import time
import uuid

import numpy as np

from ._validate import FastplanError

MARKER_ATTR = "fastplan_format"
MARKER = "fastplan-results"
FORMAT_VERSION = 1

#: Per-run datasets of a configuration group, in the order they are written (``complete`` last).
RUN_FIELDS = ("seed", "A", "B", "b", "s0", "goal", "actions", "states", "goal_distance",
              "smoothness", "cost", "samples", "steps", "wall_time", "batch_size", "threads",
              "session")
INT_FIELDS = {"seed", "samples", "steps", "batch_size", "threads", "session"}
METRIC_FIELDS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                 "mean_pairwise_distance", "concentration", "amenability", "session")
METRIC_FLOATS = ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability")

#: Columns of :func:`load` (one row per run), in order.
RECORD_COLUMNS = ("config_id", "geometry", "d", "horizon", "planner", "geometry_usage",
                  "gradient", "lam", "seed", "goal_distance", "smoothness", "cost", "samples",
                  "steps", "wall_time", "hyperparameters")
#: Columns of :func:`load_geometry_metrics`.
METRIC_COLUMNS = ("geometry", "d", "seed", "n_samples", "effective_dimension",
                  "mean_pairwise_distance", "concentration", "amenability")


# --------------------------------------------------------------------------- configuration keys

def canonical_json(obj) -> str:
    """Canonical JSON (sorted keys, no spaces; floats written by ``repr`` so they round-trip)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_key(geometry: str, d: int, horizon: int, planner: str, geometry_usage: str,
               hyperparameters: dict) -> dict:
    """The key of a configuration: everything that determines a run except its seed."""
    return {"geometry": str(geometry), "d": int(d), "horizon": int(horizon),
            "planner": str(planner), "geometry_usage": str(geometry_usage),
            "hyperparameters": dict(hyperparameters)}


def config_id(key: dict) -> str:
    """16 hex digits of SHA-256 over :func:`canonical_json` of a :func:`config_key`."""
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- checks

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
    results file (see :func:`check_results_file`) and writable.
    """
    path = os.fspath(path)
    if not path:
        raise FastplanError("no output file given")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
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


# --------------------------------------------------------------------------- reading

def _scan_index(f) -> tuple[set, set]:
    """(complete (config_id, seed) pairs, complete (geometry, d, seed, n_samples) metric keys)."""
    runs = set()
    if "configs" in f:
        for cid, g in f["configs"].items():
            seeds = g["seed"][()]
            done = g["complete"][()]
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


def _attrs(obj) -> dict:
    return {k: (_str(v) if isinstance(v, (bytes, str)) else v.item() if hasattr(v, "item") else v)
            for k, v in obj.attrs.items()}


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
            a = _attrs(g)
            a["hyperparameters"] = json.loads(a["hyperparameters"])
            done = g["complete"][()]
            seeds = np.sort(g["seed"][()][done])
            a["seeds"] = seeds
            a["n_seeds"] = int(seeds.size)
            out.append(a)
    out.sort(key=_config_sort_key)
    return out


def _config_sort_key(a: dict):
    from .planners import PLANNERS
    from .geometry import KINDS
    p = a["planner"]
    return (PLANNERS.index(p) if p in PLANNERS else 99, p,
            KINDS.index(a["geometry"]) if a["geometry"] in KINDS else 99, a["geometry"],
            int(a["d"]), int(a["horizon"]), a["geometry_usage"], a.get("key", ""))


def read_config(path, config_id: str) -> tuple[dict, dict]:
    """(attributes, arrays) of one configuration: every per-run dataset, complete rows only,
    sorted by seed.  ``hyperparameters`` in the attributes is a dict."""
    with _reading(path) as f:
        if "configs" not in f or config_id not in f["configs"]:
            raise FastplanError(f"{path} has no configuration {config_id!r}")
        g = f["configs"][config_id]
        a = _attrs(g)
        a["hyperparameters"] = json.loads(a["hyperparameters"])
        done = g["complete"][()]
        arrays = {k: g[k][()][done] for k in RUN_FIELDS}
    order = np.argsort(arrays["seed"], kind="stable")
    return a, {k: v[order] for k, v in arrays.items()}


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
        ``steps``, ``wall_time``, ``hyperparameters`` (JSON string).  Rows are sorted by
        planner, geometry, d, horizon, configuration and seed.
    """
    cols = {k: [] for k in RECORD_COLUMNS}
    with _reading(path) as f:
        groups = sorted(((_attrs(g), g) for g in f.get("configs", {}).values()),
                        key=lambda ag: _config_sort_key(ag[0]))
        for a, g in groups:
            done = g["complete"][()]
            seed = g["seed"][()][done]
            order = np.argsort(seed, kind="stable")
            n = int(seed.size)
            for k in ("config_id", "geometry", "d", "horizon", "planner", "geometry_usage",
                      "gradient", "lam", "hyperparameters"):
                cols[k].append(np.full(n, a[k], dtype=object))
            cols["seed"].append(seed[order])
            for k in ("goal_distance", "smoothness", "cost", "samples", "steps", "wall_time"):
                cols[k].append(g[k][()][done][order])
    out = {}
    for k, parts in cols.items():
        arr = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        out[k] = _typed(k, arr)
    return _maybe_frame(out, as_frame)


_INT_COLUMNS = {"d", "horizon", "seed", "samples", "steps", "n_samples"}
_FLOAT_COLUMNS = {"lam", "goal_distance", "smoothness", "cost", "wall_time", *METRIC_FLOATS}


def _typed(name, arr):
    if name in _INT_COLUMNS:
        return arr.astype(np.int64)
    if name in _FLOAT_COLUMNS:
        return arr.astype(np.float64)
    return arr.astype(str)


def _maybe_frame(cols: dict, as_frame: bool):
    if not as_frame:
        return cols
    try:
        import pandas as pd
    except ImportError:
        raise FastplanError("as_frame=True needs pandas (pip install pandas)") from None
    return pd.DataFrame(cols)


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
    from .geometry import KINDS
    rank = np.array([KINDS.index(g) if g in KINDS else 99 for g in out["geometry"]], dtype=np.int64)
    order = np.lexsort((out["n_samples"], out["seed"], out["d"], out["geometry"], rank))
    return _maybe_frame({k: v[order] for k, v in out.items()}, as_frame)


# --------------------------------------------------------------------------- provenance

def provenance(threads: int | None = None, command_line: str | None = None,
               executor: str = "in-process") -> dict:
    """Provenance of a sweep session: versions, threads, command line, date, host."""
    import h5py
    import numba

    from . import __version__
    return {
        "fastplan_version": __version__, "numba_version": numba.__version__,
        "numpy_version": np.__version__, "h5py_version": h5py.__version__,
        "hdf5_version": h5py.version.hdf5_version, "python_version": platform.python_version(),
        "platform": platform.platform(), "host": platform.node(),
        "threads": int(threads if threads is not None else numba.get_num_threads()),
        "command_line": command_line if command_line is not None else " ".join(sys.argv),
        "date": _now(), "executor": executor,
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- journal records

def _encode_result(result: dict) -> bytes:
    """A work-unit result (dict of arrays and JSON-able scalars) as npz bytes (no pickle)."""
    arrays, meta = {}, {}
    for k, v in result.items():
        if isinstance(v, np.ndarray):
            arrays[k] = v
        else:
            meta[k] = v
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.array(json.dumps(meta)), **arrays)
    return buf.getvalue()


def _decode_result(data) -> dict:
    with np.load(data, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files if k != "__meta__"}
        out.update(json.loads(str(z["__meta__"])))
    return out


# --------------------------------------------------------------------------- writer

class Writer:
    """The only object that writes a results file (see the module docstring).

    Use as a context manager::

        with Writer("runs.h5", provenance(...)) as w:
            done_runs, done_metrics = w.done()
            for result in results:          # dicts from fastplan.sweep.compute_unit
                w.add(result)               # journaled at once, folded in every few seconds

    Parameters
    ----------
    path : str or path-like
        Results file (created if missing).  Checked before anything is written.
    session : dict
        Provenance of this session (:func:`provenance`).
    commit_interval : float
        Least seconds between two folds of the journal into the file (the interval grows
        to 20x the time a fold takes, so copying a large file never dominates).
    """

    def __init__(self, path, session: dict, commit_interval: float = 5.0):
        self.path = os.path.realpath(check_output_path(path))   # replace the target, not a symlink
        self.session = dict(session)
        self.session.setdefault("uuid", uuid.uuid4().hex)
        self.commit_interval = float(commit_interval)
        self.journal = self.path + ".journal"
        self._lock_fd = None
        self._pending: list[tuple[str, dict]] = []   # (journal file, result)
        self._last_commit = time.monotonic()
        self._commit_cost = 0.0
        self._seq = 0
        self.runs_written = 0
        self._open()

    # -- setup ---------------------------------------------------------------------------
    def _open(self):
        import fcntl
        os.makedirs(self.journal, exist_ok=True)
        fd = os.open(os.path.join(self.journal, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise FastplanError(f"another fastplan sweep is writing {self.path} "
                                f"(lock in {self.journal}); wait for it to finish") from None
        self._lock_fd = fd
        for stale in glob.glob(self._tmp_pattern()):
            with contextlib.suppress(OSError):
                os.unlink(stale)
        _write_json_atomic(os.path.join(self.journal, f"session-{self.session['uuid']}.json"),
                           self.session)
        self._replay()
        self._committed = index(self.path) if os.path.exists(self.path) else (set(), set())
        if not os.path.exists(self.path) or self._pending:
            self.commit()

    def _tmp_pattern(self):
        folder, name = os.path.split(self.path)
        return os.path.join(folder, f".{name}.tmp-*")

    def _replay(self):
        """Queue the complete unit files a killed sweep left in the journal."""
        for fn in sorted(glob.glob(os.path.join(self.journal, "unit-*.npz"))):
            try:
                result = _decode_result(fn)
            except Exception:          # a file cut short by a crash: its unit is recomputed
                with contextlib.suppress(OSError):
                    os.unlink(fn)
                continue
            self._pending.append((fn, result))
        for fn in glob.glob(os.path.join(self.journal, "*.part")):
            with contextlib.suppress(OSError):
                os.unlink(fn)

    # -- public --------------------------------------------------------------------------
    def done(self) -> tuple[set, set]:
        """(complete (config_id, seed) pairs, complete metric keys), journal included."""
        runs, metrics = set(self._committed[0]), set(self._committed[1])
        for _, r in self._pending:
            r_runs, r_metrics = _result_keys(r)
            runs |= r_runs
            metrics |= r_metrics
        return runs, metrics

    def add(self, result: dict) -> None:
        """Journal one work-unit result now; fold it into the file when the interval is due."""
        self._seq += 1
        name = f"unit-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.npz"
        fn = os.path.join(self.journal, name)
        result = dict(result)
        result["session_uuid"] = self.session["uuid"]
        _write_bytes_atomic(fn, _encode_result(result))
        self._pending.append((fn, result))
        if time.monotonic() - self._last_commit >= max(self.commit_interval, 20 * self._commit_cost):
            self.commit()

    def commit(self) -> None:
        """Fold the journal into the results file: copy, append, fsync, atomic replace."""
        t0 = time.monotonic()
        h5py = _h5py()
        folder, name = os.path.split(self.path)
        tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}")
        try:
            if os.path.exists(self.path):
                shutil.copyfile(self.path, tmp)
                shutil.copymode(self.path, tmp)
                mode = "r+"
            else:
                mode = "w"
            with h5py.File(tmp, mode, libver=("v110", "latest")) as f:
                if mode == "w":
                    _init_file(f)
                runs, metrics = set(self._committed[0]), set(self._committed[1])
                sessions_of = {}
                for _, result in self._pending:
                    u = result.get("session_uuid", self.session["uuid"])
                    if u not in sessions_of:
                        sessions_of[u] = self._session_index(f, u)
                batch = [(r, sessions_of[r.get("session_uuid", self.session["uuid"])])
                         for _, r in self._pending]
                written = self.runs_written + _write_results(f, batch, runs, metrics)
                self._session_index(f, self.session["uuid"], written)
                _update_file_attrs(f, self.session)
            _fsync_file(tmp)
            os.replace(tmp, self.path)
            _fsync_dir(folder)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._committed = (runs, metrics)
        self.runs_written = written
        for fn, _ in self._pending:
            with contextlib.suppress(OSError):
                os.unlink(fn)
        self._pending = []
        self._last_commit = time.monotonic()
        self._commit_cost = self._last_commit - t0

    def close(self) -> None:
        """Fold what is left, remove the journal and release the lock."""
        if self._lock_fd is None:
            return
        try:
            if self._pending:
                self.commit()
        finally:
            self._release()

    def _release(self):
        import fcntl
        if not glob.glob(os.path.join(self.journal, "unit-*")):
            for fn in glob.glob(os.path.join(self.journal, "*")):
                with contextlib.suppress(OSError):
                    os.unlink(fn)
            with contextlib.suppress(OSError):
                os.rmdir(self.journal)
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
            return False
        try:               # Ctrl-C / an error: keep the finished units if we can ...
            self.close()
        except Exception:  # ... else they stay in the journal for the next sweep
            if self._lock_fd is not None:
                self._release()
        return False

    # -- helpers -------------------------------------------------------------------------
    def _session_index(self, f, session_uuid: str, runs_written: int | None = None) -> int:
        g = f.require_group("sessions")
        for k in g:
            if _str(g[k].attrs.get("uuid", "")) == session_uuid:
                if runs_written is not None:
                    g[k].attrs["date_last_write"] = _now()
                    g[k].attrs["runs_written"] = runs_written
                return int(k)
        info = self.session if session_uuid == self.session["uuid"] else self._journal_session(session_uuid)
        k = len(g)
        s = g.create_group(str(k))
        for key, val in info.items():
            s.attrs[key] = val
        s.attrs["uuid"] = session_uuid
        s.attrs["date_last_write"] = _now()
        s.attrs["runs_written"] = runs_written or 0
        return k

    def _journal_session(self, session_uuid: str) -> dict:
        fn = os.path.join(self.journal, f"session-{session_uuid}.json")
        try:
            with open(fn) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {"command_line": "unknown (session of a killed sweep)", "date": ""}


def _result_keys(result: dict) -> tuple[set, set]:
    if result["kind"] == "plan":
        return ({(str(c), int(s)) for c, s in zip(result["config_ids"].tolist(), result["seeds"].tolist())},
                set())
    n = int(result["n_samples"])
    return set(), {(str(result["geometry"]), int(result["d"]), int(s), n)
                   for s in result["seeds"].tolist()}


def _init_file(f):
    from .metrics import CONCENTRATION_DEFINITION
    f.attrs[MARKER_ATTR] = MARKER
    f.attrs["format_version"] = FORMAT_VERSION
    f.attrs["created"] = _now()
    f.attrs["concentration_definition"] = CONCENTRATION_DEFINITION
    f.attrs["description"] = ("fastplan results: one group per configuration under /configs, "
                              "one row per seed; see the fastplan README, 'Results file layout'")
    f.require_group("configs")


def _update_file_attrs(f, session: dict):
    for key in ("fastplan_version", "numba_version", "numpy_version", "h5py_version",
                "hdf5_version", "threads", "command_line", "executor"):
        if key in session:
            f.attrs[key] = session[key]
    f.attrs["date"] = _now()
    f.attrs["n_sessions"] = len(f["sessions"]) if "sessions" in f else 0


def _rows_per_chunk(row_shape, first_rows: int) -> int:
    """Rows per HDF5 chunk: the first write's row count, capped at about 256 KiB."""
    row_bytes = 8 * int(np.prod(row_shape, dtype=np.int64)) if row_shape else 8
    return int(max(1, min(first_rows, (256 * 1024) // max(row_bytes, 1))))


def _append(g, name, values, dtype):
    values = np.asarray(values, dtype=dtype)
    if name not in g:
        g.create_dataset(name, shape=(0,) + values.shape[1:], maxshape=(None,) + values.shape[1:],
                         dtype=dtype, chunks=(_rows_per_chunk(values.shape[1:], values.shape[0]),) + values.shape[1:])
    ds = g[name]
    n0 = ds.shape[0]
    ds.resize(n0 + values.shape[0], axis=0)
    ds[n0:] = values
    return n0


def _write_results(f, batch, runs: set, metrics: set) -> int:
    """Append the rows of many unit results, one append per dataset and configuration.

    ``batch`` is a list of (result, session index).  Rows already complete (in ``runs`` /
    ``metrics``, updated here) or repeated are skipped.  Returns the number of runs added.
    """
    plan_rows: dict[str, list] = {}     # config_id -> [(result, row, session, batch size)]
    metric_rows: list = []              # [(result, row, session)]
    for result, session in batch:
        if result["kind"] == "metrics":
            n = int(result["n_samples"])
            geom, d = str(result["geometry"]), int(result["d"])
            for i, s in enumerate(result["seeds"].tolist()):
                key = (geom, d, int(s), n)
                if key not in metrics:
                    metrics.add(key)
                    metric_rows.append((result, i, session))
            continue
        cids = [str(c) for c in result["config_ids"].tolist()]
        for i, (cid, s) in enumerate(zip(cids, result["seeds"].tolist())):
            if (cid, int(s)) not in runs:
                runs.add((cid, int(s)))
                plan_rows.setdefault(cid, []).append((result, i, session, len(cids)))
    added = 0
    for cid, rows in plan_rows.items():
        added += _append_config_rows(f, cid, rows)
    if metric_rows:
        _append_metric_rows(f, metric_rows)
    return added


def _append_config_rows(f, cid: str, rows: list) -> int:
    result0, i0 = rows[0][0], rows[0][1]
    hp = result0["hyperparameters"]
    hp = json.loads(hp) if isinstance(hp, str) else hp
    geometry = str(result0["geometries"][i0])
    key = config_key(geometry, result0["d"], result0["horizon"], result0["planner"],
                     result0["geometry_usage"], hp)
    if config_id(key) != cid:
        raise FastplanError(f"work unit result for {cid} does not match its configuration key")
    g = f.require_group("configs").get(cid)
    if g is None:
        g = f["configs"].create_group(cid)
        g.attrs["config_id"] = cid
        g.attrs["key"] = canonical_json(key)
        g.attrs["geometry"] = geometry
        g.attrs["d"] = int(result0["d"])
        g.attrs["horizon"] = int(result0["horizon"])
        g.attrs["planner"] = result0["planner"]
        g.attrs["geometry_usage"] = result0["geometry_usage"]
        g.attrs["gradient"] = str(hp.get("gradient", ""))
        g.attrs["lam"] = float(hp["lam"])
        g.attrs["hyperparameters"] = canonical_json(hp)
    cols = {name: [] for name in RUN_FIELDS}
    for result, i, session, size in rows:
        for name in ("A", "B", "b", "s0", "goal", "actions", "states", "goal_distance",
                     "smoothness", "cost", "samples", "steps"):
            cols[name].append(result[name][i])
        cols["seed"].append(int(result["seeds"][i]))
        cols["wall_time"].append(float(result["wall_time"]) / size)
        cols["batch_size"].append(size)
        cols["threads"].append(int(result.get("threads", 0)))
        cols["session"].append(session)
    for name in RUN_FIELDS:
        _append(g, name, np.stack(cols[name]) if np.ndim(cols[name][0]) else np.array(cols[name]),
                np.int64 if name in INT_FIELDS else np.float64)
    n0 = _append(g, "complete", np.zeros(len(rows), dtype=bool), bool)
    g["complete"][n0:] = True          # last: the rows count from now on
    return len(rows)


def _append_metric_rows(f, rows: list):
    from .metrics import CONCENTRATION_DEFINITION
    g = f.require_group("geometry_metrics")
    g.attrs["concentration_definition"] = CONCENTRATION_DEFINITION
    cols = {
        "geometry": np.array([str(r["geometry"]).encode() for r, _, _ in rows], dtype="S16"),
        "d": np.array([int(r["d"]) for r, _, _ in rows]),
        "seed": np.array([int(r["seeds"][i]) for r, i, _ in rows]),
        "n_samples": np.array([int(r["n_samples"]) for r, _, _ in rows]),
        "session": np.array([s for _, _, s in rows]),
        **{name: np.array([float(r[name][i]) for r, i, _ in rows]) for name in METRIC_FLOATS},
    }
    for name in METRIC_FIELDS:
        dtype = "S16" if name == "geometry" else np.float64 if name in METRIC_FLOATS else np.int64
        _append(g, name, cols[name], dtype)
    n0 = _append(g, "complete", np.zeros(len(rows), dtype=bool), bool)
    g["complete"][n0:] = True


# --------------------------------------------------------------------------- small file helpers

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
