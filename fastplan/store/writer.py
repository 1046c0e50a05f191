"""The journaled writer: units journaled first, folded into a copy, atomically replaced."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import time
import uuid

import numpy as np

from ..engine.errors import FastplanError
from .files import _fsync_dir, _fsync_file, _h5py, _write_bytes_atomic, _write_json_atomic, check_output_path
from .journal import UNIT_PATTERN, _decode_result, _encode_result, journal_dir
from .keys import canonical_json, config_id, config_key
from .layout import FORMAT_VERSION, INT_FIELDS, MARKER, MARKER_ATTR, METRIC_FIELDS, METRIC_FLOATS, RUN_FIELDS
from .provenance import _now
from .files import _str
from .read import index


class Writer:
    """The only object that writes a results file (see the module docstring).

    Use as a context manager::

        with Writer("runs.h5", provenance(...)) as w:
            done_runs, done_metrics = w.done()
            for result in results:          # dicts from fastplan.runs.sweep.compute_unit
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
        self.journal = journal_dir(self.path)
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
        for fn in sorted(glob.glob(os.path.join(self.journal, UNIT_PATTERN))):
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
    from ..engine.metrics import CONCENTRATION_DEFINITION
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
        cols["batch_wall_time"].append(float(result["wall_time"]))
        cols["batch_size"].append(size)
        cols["threads"].append(int(result.get("threads", 0)))
        cols["session"].append(session)
    if "batch_wall_time" not in g and "seed" in g and g["seed"].shape[0]:
        # a group written before batch times were stored: its rows get theirs first
        _append(g, "batch_wall_time", g["wall_time"][()] * g["batch_size"][()], np.float64)
    for name in RUN_FIELDS:
        _append(g, name, np.stack(cols[name]) if np.ndim(cols[name][0]) else np.array(cols[name]),
                np.int64 if name in INT_FIELDS else np.float64)
    n0 = _append(g, "complete", np.zeros(len(rows), dtype=bool), bool)
    g["complete"][n0:] = True          # last: the rows count from now on
    return len(rows)


def _append_metric_rows(f, rows: list):
    from ..engine.metrics import CONCENTRATION_DEFINITION
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
