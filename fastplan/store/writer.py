"""The journaled writer: units journaled first, folded into a copy, atomically replaced."""
from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import threading
import time
import uuid
import warnings

import numpy as np

from ..engine.errors import FastplanError, FastplanWarning
from . import guard, worlds
from .files import _fsync_dir, _fsync_file, _h5py, _write_bytes_atomic, _write_json_atomic, check_output_path
from .journal import REJECTED, UNIT_PATTERN, _decode_result, _encode_result, check_unit, journal_dir, reject_unit
from .keys import canonical_json, config_id, config_key
from .columns import is_table
from .layout import (BASELINE_FIELDS, DECODED_FIELDS, DEFAULT_EXECUTION, FORMAT_VERSION, MANIFOLD_FIELDS, MARKER,
                     MARKER_ATTR, METRIC_FIELDS, METRIC_FLOATS, RUN_FIELDS, RUNS, TEXT_FIELDS, TRACE_FIELD,
                     field_dtype, table_dtype, table_fields)
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

    Faults (README, "Faults and limits"): a fold that fails (a full disk, an I/O error, a
    results file replaced under the sweep) raises one :class:`FastplanError` naming the
    folder and leaves the file as it was and the finished units in the journal; no fold is
    tried after it.  A fold interrupted at any point (Ctrl-C) is settled by the next call:
    no run is ever stored twice.  Journal units that decode but are invalid are moved to
    ``<file>.journal/rejected/`` (never stored) with a :class:`FastplanWarning`.

    Attributes
    ----------
    rejected : list of (str, str)
        (unit file now in ``rejected/``, reason) for every unit set aside by this writer.
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
        self.rejected: list[tuple[str, str]] = []
        self._identity = None     # guard.identity() of the file as this writer last left it
        self._inflight = None     # a fold whose os.replace may have happened, not yet settled
        self._broken = None       # after a failed fold: its one-line message (no more folds)
        self._open()

    # -- setup ---------------------------------------------------------------------------
    def _open(self):
        import fcntl
        try:
            os.mkdir(self.journal)            # never creates missing parent folders
        except FileExistsError:
            if not os.path.isdir(self.journal):
                raise FastplanError(f"{self.journal} exists and is not a folder; move it away") from None
        except OSError as exc:
            raise FastplanError(f"cannot create the journal folder {self.journal} "
                                f"({exc.strerror or exc})") from None
        fd = os.open(os.path.join(self.journal, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise FastplanError(f"another fastplan sweep is writing {self.path} "
                                f"(lock in {self.journal}); wait for it to finish") from None
        self._lock_fd = fd
        try:
            self._open_locked()
        except BaseException:
            self._release()
            raise

    def _open_locked(self):
        links = os.stat(self.path).st_nlink if os.path.exists(self.path) else 1
        if links > 1:      # the lock is per name, and the atomic replace would split the names
            raise FastplanError(
                f"{self.path} has {links} hard links (names of the same file); a sweep replaces the "
                f"file atomically, so the other names would keep the old content and escape the lock: "
                f"sweep into a copy (cp) or remove the other names")
        for stale in glob.glob(self._tmp_pattern()):
            with contextlib.suppress(OSError):
                os.unlink(stale)
        _write_json_atomic(os.path.join(self.journal, f"session-{self.session['uuid']}.json"),
                           self.session)
        self._identity = guard.identity(self.path)
        self._replay()
        self._committed = index(self.path) if os.path.exists(self.path) else (set(), set())
        if not os.path.exists(self.path) or self._pending:
            self.commit()

    def _tmp_pattern(self):
        folder, name = os.path.split(self.path)
        return os.path.join(folder, f".{name}.tmp-*")

    def _replay(self):
        """Queue the complete unit files a killed sweep left in the journal; set aside
        (``rejected/``) the ones that decode but could not be stored exactly."""
        for fn in sorted(glob.glob(os.path.join(self.journal, UNIT_PATTERN))):
            try:
                result = _decode_result(fn)
            except Exception:          # a file cut short by a crash: its unit is recomputed
                with contextlib.suppress(OSError):
                    os.unlink(fn)
                continue
            try:
                check_unit(result)
            except FastplanError as exc:
                self._reject(fn, str(exc))
                continue
            self._pending.append((fn, result))
        for fn in glob.glob(os.path.join(self.journal, "*.part")):
            with contextlib.suppress(OSError):
                os.unlink(fn)

    def _reject(self, fn: str, why: str) -> None:
        name = os.path.basename(fn)
        try:
            dest = reject_unit(fn, f"{name} {why}")
        except OSError as exc:
            raise FastplanError(f"journal unit {name} is invalid ({why}) and cannot be moved to "
                                f"{self.journal}/{REJECTED}/ ({exc.strerror or exc})") from None
        self.rejected.append((dest, why))
        warnings.warn(FastplanWarning(
            f"journal unit {name} is invalid ({why}); moved to "
            f"{os.path.basename(self.journal)}/{REJECTED}/, not stored (its runs are recomputed)"),
            stacklevel=4)

    # -- public --------------------------------------------------------------------------
    def done(self) -> tuple[set, set]:
        """(complete (config_id, seed) pairs, complete metric keys), journal included."""
        self._settle()
        runs, metrics = set(self._committed[0]), set(self._committed[1])
        for _, r in self._pending:
            r_runs, r_metrics = _result_keys(r)
            runs |= r_runs
            metrics |= r_metrics
        return runs, metrics

    def add(self, result: dict) -> None:
        """Journal one work-unit result now; fold it into the file when the interval is due.

        Raises :class:`FastplanError` for a result that could not be stored exactly (see
        :func:`fastplan.store.journal.check_unit`) and when the journal cannot be written."""
        if self._broken:
            raise FastplanError(self._broken)
        result = worlds.refs_from_inline(result)       # a result in the first layout's form
        try:
            check_unit(result)
        except FastplanError as exc:
            raise FastplanError(f"a work unit result is invalid: it {exc}") from None
        self._seq += 1
        name = f"unit-{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}.npz"
        fn = os.path.join(self.journal, name)
        result = dict(result)
        result["session_uuid"] = self.session["uuid"]
        try:
            _write_bytes_atomic(fn, _encode_result(result))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(fn + ".part")
            full, why = guard.reason(exc)
            raise FastplanError(
                f"cannot save a finished work unit in {self.journal}/ ({why}); the runs finished "
                f"before it are safe (in {os.path.basename(self.path)} or its journal): "
                + ("free space in " + os.path.dirname(self.path) if full else "fix the cause")
                + " and re-run the same command") from None
        self._pending.append((fn, result))
        if time.monotonic() - self._last_commit >= max(self.commit_interval, 20 * self._commit_cost):
            self.commit()

    def commit(self) -> None:
        """Fold the journal into the results file: copy, append, fsync, atomic replace.

        Before anything is written: the file must still be the one this writer opened or
        last wrote (:func:`guard.identity`), and its folder must have room for the copy and
        the fold's growth (reserved in the copy).  A failure leaves the file as it was and
        the units in the journal, and raises one :class:`FastplanError`."""
        self._settle()
        if self._broken:
            raise FastplanError(self._broken)
        t0 = time.monotonic()
        folder, name = os.path.split(self.path)
        tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}")
        ballast = tmp + ".ballast"
        units = list(self._pending)
        message = None
        try:
            self._check_identity()
            grow = guard.fold_reserve([r for _, r in units])
            size = self._identity[2] if self._identity is not None else 0
            tight = guard.check_free_space(folder, size + grow + guard.ballast_size(grow),
                                           f"folding {_n_runs(units)} finished runs into {name}"
                                           if units else f"writing {name}")
            self._copy(tmp)
            if tight:           # a full disk must fail here, before HDF5 runs, or find a ballast
                guard.reserve(tmp, grow)
                guard.make_ballast(ballast, guard.ballast_size(grow))
            runs, metrics, written = self._fold(tmp, units, ballast if tight else None)
            if tight:
                os.unlink(ballast)
            _fsync_file(tmp)
            self._inflight = (guard.identity(tmp), runs, metrics, written, [fn for fn, _ in units])
            os.replace(tmp, self.path)
            _fsync_dir(folder)
        except BaseException as exc:
            for fn in (ballast, tmp):
                with contextlib.suppress(OSError):
                    os.unlink(fn)
            if not isinstance(exc, Exception):        # Ctrl-C, SIGTERM: settled by the next call
                raise
            message = self._fold_error(exc, units)
        if message is not None:                        # raised outside the handler: the failed
            guard.collect_quietly()                    # write's h5py objects are freed silently
            self._broken = message
            raise FastplanError(message)
        self._settle()
        self._last_commit = time.monotonic()
        self._commit_cost = self._last_commit - t0

    def rewrite(self, build, what: str) -> None:
        """Replace the results file by a new one that ``build(path, tmp)`` writes to ``tmp`` from
        the file at ``path`` (e.g. :func:`fastplan.store.upgrade.upgrade`), under this writer's
        lock and checks (the file is still the one it opened; the folder has room for a copy):
        fsynced, then atomically renamed over it.  A failure leaves the file as it was and
        raises one :class:`FastplanError` (``what`` names the operation)."""
        self._settle()
        if self._broken:
            raise FastplanError(self._broken)
        folder, name = os.path.split(self.path)
        tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}")
        self._check_identity()
        size = self._identity[2] if self._identity is not None else 0
        guard.check_free_space(folder, size + 1024 * 1024, f"{what} {name}")
        try:
            build(self.path, tmp)
            _fsync_file(tmp)
            os.replace(tmp, self.path)
            _fsync_dir(folder)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, FastplanError) or not isinstance(exc, Exception):
                raise
            full, why = guard.reason(exc)
            raise FastplanError(f"could not finish {what} {name} in {folder} ({why}); {name} is as it was"
                                + ("; free space and try again" if full else "")) from None
        self._identity = guard.identity(self.path)

    def close(self) -> None:
        """Fold what is left, remove the journal and release the lock (after a failed fold
        the journal is kept for the next sweep)."""
        if self._lock_fd is None:
            return
        try:
            self._settle()
            if self._pending and not self._broken:
                self.commit()
        finally:
            self._release()

    def _release(self):
        fd = self._lock_fd
        if fd is None:
            return
        if not glob.glob(os.path.join(self.journal, "unit-*")):
            for fn in glob.glob(os.path.join(self.journal, "*")):
                with contextlib.suppress(OSError):
                    os.unlink(fn)
            with contextlib.suppress(OSError):
                os.rmdir(self.journal)      # stays when rejected/ holds units
        self._lock_fd = None                # first: an interrupt here never closes fd twice
        os.close(fd)                        # closing the file releases its lock

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
            return False
        try:               # Ctrl-C / an error: keep the finished units if we can ...
            self.close()
        except Exception:  # ... else they stay in the journal for the next sweep
            pass
        finally:
            if self._lock_fd is not None:
                self._release()
        return False

    # -- the fold --------------------------------------------------------------------------
    def _settle(self) -> None:
        """Finish the bookkeeping of a fold that was interrupted (or not) after its replace.

        The fold landed iff the results file is now the temporary file it wrote (same
        identity); then its runs count as committed and its units leave the journal.
        Idempotent: an interrupt inside this method is settled by the next call."""
        inflight = self._inflight
        if inflight is None:
            return
        ident, runs, metrics, written, fns = inflight
        if ident is not None and guard.identity(self.path) == ident:
            self._committed = (runs, metrics)
            self.runs_written = written
            self._identity = ident
            folded = set(fns)
            self._pending = [u for u in self._pending if u[0] not in folded]
            for fn in fns:
                with contextlib.suppress(OSError):
                    os.unlink(fn)
        self._inflight = None

    def _check_identity(self) -> None:
        """Refuse to fold into a file other than the one this writer opened or last wrote."""
        now = guard.identity(self.path)
        if now == self._identity:
            return
        if self._identity is None:
            what = "was created by another program while this sweep was creating it"
        elif now is None:
            what = "was deleted or moved away while this sweep was writing it"
        else:
            what = "was replaced or changed by another program while this sweep was writing it"
        raise FastplanError(f"{self.path} {what}")

    def _copy(self, tmp: str) -> None:
        """The temporary file: a copy of the results file, or a new empty results file."""
        if self._identity is not None:
            shutil.copyfile(self.path, tmp)
            shutil.copymode(self.path, tmp)
            return
        f = _h5py().File(tmp, "w", libver=("v110", "latest"))
        with guard.silent_unraisable():
            try:
                _init_file(f)
                f.close()
            except BaseException:
                guard.discard(f, None)
                raise

    def _fold(self, tmp: str, units: list, ballast: str | None) -> tuple[set, set, int]:
        """Append ``units`` to the temporary file; return (runs, metrics, runs written)."""
        f = _h5py().File(tmp, "r+", libver=("v110", "latest"))
        _HELD.objects = []                   # every object stays open until the file closes
        try:
            with guard.silent_unraisable():  # a failing HDF5 reports once, below, not per object
                return self._fold_open(f, units, ballast)
        finally:
            _HELD.objects = None             # closed with the file: freed silently

    def _fold_open(self, f, units: list, ballast: str | None) -> tuple[set, set, int]:
        try:
            if _str(f.attrs.get(MARKER_ATTR, "")) != MARKER:
                raise FastplanError(f"{self.path} is no longer a fastplan results file "
                                    f"(no {MARKER_ATTR} marker)")
            runs, metrics = set(self._committed[0]), set(self._committed[1])
            sessions_of = {}
            for _, result in units:
                u = result.get("session_uuid", self.session["uuid"])
                if u not in sessions_of:
                    sessions_of[u] = self._session_index(f, u)
            batch = [(r, sessions_of[r.get("session_uuid", self.session["uuid"])]) for _, r in units]
            written = self.runs_written + _write_results(f, batch, runs, metrics)
            self._session_index(f, self.session["uuid"], written)
            _update_file_attrs(f, self.session)
            if ballast:          # a tight disk: a full one shows up here, while all is open
                f.flush()
            f.close()
        except BaseException:
            guard.discard(f, ballast)
            raise
        return runs, metrics, written

    def _fold_error(self, exc: Exception, units: list) -> str:
        """The one line reported for a failed fold (nothing was written into the file)."""
        folder, base = os.path.split(self.path)
        n = _n_runs(units)
        wait = (f"the {len(units)} finished work units ({n} run{'s' if n != 1 else ''}) wait in "
                f"{self.journal}/")
        kept = f"nothing is lost: {base} is as it was and {wait}"
        again = "free space and re-run the same command to fold them in"
        if isinstance(exc, FastplanError):
            why = str(exc)
            if why.startswith("no space left"):
                return f"{why}; {kept}; {again}"
            return (f"{why}; refused: nothing was written into it, and {wait} (put the sweep's own "
                    f"file back or move this one away, then re-run the same command)")
        full, why = guard.reason(exc)
        if full:
            return f"no space left in {folder} while folding into {base} ({why}); {kept}; {again}"
        return (f"could not write {base} in {folder} ({type(exc).__name__}: {why}); {kept}; "
                f"re-run the same command to fold them in")

    # -- helpers -------------------------------------------------------------------------
    def _session_index(self, f, session_uuid: str, runs_written: int | None = None) -> int:
        g = _hold(f.require_group("sessions"))
        for k in g:
            gk = _hold(g[k])
            if _str(gk.attrs.get("uuid", "")) == session_uuid:
                if runs_written is not None:
                    gk.attrs["date_last_write"] = _now()
                    gk.attrs["runs_written"] = runs_written
                return int(k)
        info = self.session if session_uuid == self.session["uuid"] else self._journal_session(session_uuid)
        k = len(g)
        s = _hold(g.create_group(str(k)))
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


def _n_runs(units: list) -> int:
    """Runs in a list of (journal file, result) (metric units count none)."""
    return sum(len(r["seeds"]) for _, r in units if r.get("kind") == "plan")


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
    _manifold_attrs(f)
    f.attrs["description"] = ("fastplan results: one group per configuration under /configs, "
                              "one row per seed; see the fastplan README, 'Results file layout'")
    f.require_group("configs")


def _manifold_attrs(f):
    """Root attributes stating how the per-run manifold fields are defined (issue 13)."""
    from ..engine.geometry import MANIFOLD_DEFINITION
    from ..engine.manifold import EXECUTION_DEFINITION
    f.attrs["manifold_metrics"] = MANIFOLD_DEFINITION
    f.attrs["execution_modes"] = EXECUTION_DEFINITION


def _update_file_attrs(f, session: dict):
    for key in ("fastplan_version", "numba_version", "numpy_version", "h5py_version",
                "hdf5_version", "threads", "command_line", "executor"):
        if key in session:
            f.attrs[key] = session[key]
    f.attrs["date"] = _now()
    f.attrs["n_sessions"] = len(_hold(f["sessions"])) if "sessions" in f else 0


def _rows_per_chunk(row_shape, first_rows: int, item_bytes: int = 8) -> int:
    """Rows per HDF5 chunk: the first write's row count, capped at about 256 KiB (a value
    counted as ``item_bytes``: 8, or a compound row's size)."""
    row_bytes = item_bytes * int(np.prod(row_shape, dtype=np.int64)) if row_shape else item_bytes
    return int(max(1, min(first_rows, (256 * 1024) // max(row_bytes, 1))))


def _create(g, name, values):
    """A new extensible dataset ``name`` in group ``g`` holding ``values`` (rows on axis 0).

    What ``g.create_dataset(name, data=values, maxshape=(None, ...), chunks=...)`` does, in
    a few calls of h5py's low-level API: a sweep creates ~26 datasets per configuration,
    and the high-level call's Python overhead was most of the time spent storing results.
    The file type and creation properties of a (dtype, chunk shape) are made once per
    process (:func:`_create_props`).
    """
    from h5py import h5d, h5s
    rest = values.shape[1:]
    space = h5s.create_simple(values.shape, (h5s.UNLIMITED,) + rest)
    rows = _rows_per_chunk(rest, values.shape[0], values.dtype.itemsize if values.dtype.names else 8)
    ftype, dcpl = _create_props(values.dtype, (rows,) + rest)
    dset = _hold(h5d.create(g.id, name.encode(), ftype, space, dcpl=dcpl))  # open until the file closes
    if values.size:
        dset.write(h5s.ALL, h5s.ALL, np.ascontiguousarray(values), mtype=ftype if values.dtype.names else None)


_PROPS: dict = {}


def _create_props(dtype, chunks: tuple):
    """(HDF5 file type, dataset creation property list) of a dataset of ``dtype`` with
    ``chunks`` (chunked, no time stamps, as h5py's create_dataset), made once per process."""
    key = (str(dtype.descr) if dtype.names else dtype.str, chunks)     # ``.str`` of a compound: its size
    props = _PROPS.get(key)
    if props is None:
        from h5py import h5p, h5t
        dcpl = h5p.create(h5p.DATASET_CREATE)
        dcpl.set_chunk(chunks)
        dcpl.set_obj_track_times(False)             # as h5py's create_dataset
        props = _PROPS[key] = (h5t.py_create(dtype, logical=1), dcpl)
    return props


def _new_attrs(obj, items: dict) -> None:
    """``obj.attrs[name] = value`` for attributes ``obj`` does not have yet: what h5py's
    ``AttributeManager.create`` writes (same file types and dataspaces), without its check for
    an existing attribute and with the types of a dtype made once per process."""
    from h5py import h5a, h5s
    from h5py._hl.base import array_for_new_object
    for name, value in items.items():
        data = array_for_new_object(value)
        htype, mtype = _attr_types(data.dtype)
        attr = h5a.create(obj.id, name.encode(), htype, h5s.create_simple(data.shape))
        attr.write(data, mtype=mtype)
        attr.close()


_ATTR_TYPES: dict = {}


def _attr_types(dtype):
    """(file type, memory type) of attributes of ``dtype``, as h5py makes them."""
    key = (dtype.str, dtype.metadata and tuple(sorted(dtype.metadata.items(), key=str)))
    types = _ATTR_TYPES.get(key)
    if types is None:
        from h5py import h5t
        types = _ATTR_TYPES[key] = (h5t.py_create(dtype, logical=True), h5t.py_create(dtype))
    return types


def _append(g, name, values, dtype, new=False):
    """Append rows ``values`` to dataset ``name`` of ``g`` (created if ``new`` or missing);
    returns the first new row's index."""
    values = np.asarray(values, dtype=dtype)
    if new or name not in g:
        _create(g, name, values)
        return 0
    ds = _hold(g[name])
    n0 = ds.shape[0]
    ds.resize(n0 + values.shape[0], axis=0)
    ds[n0:] = values
    return n0


#: ``.objects``: h5py objects opened during this thread's fold in progress, kept open until
#: the file is closed: an object closed on its own flushes, and a flush that meets a full
#: disk inside h5py's deallocator cannot be reported (it is printed per object, and leaves
#: HDF5 broken).
_HELD = threading.local()


def _hold(obj):
    held = getattr(_HELD, "objects", None)
    if held is not None:
        held.append(obj)
    return obj


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
    needed = {}                         # (hash, provenance) -> entry, for the rows written now
    for rows in plan_rows.values():
        for result, i, _, _ in rows:
            h = str(result["world"][i])
            e = result["worlds"][h]
            needed.setdefault((h, canonical_json(e["provenance"])), e)
    if needed:
        _write_worlds(f, [(h, e) for (h, _), e in needed.items()])
    for cid, rows in plan_rows.items():
        added += _append_config_rows(f, cid, rows)
    if plan_rows:
        _at_least(f, FORMAT_VERSION)       # an older file may now hold groups of this layout
    if metric_rows:
        _append_metric_rows(f, metric_rows)
    return added


def _write_worlds(f, entries) -> None:
    """Store each world model of ``entries`` ((hash, unit entry) pairs) the file lacks, once,
    under ``/worlds/<hash>/``; a stored one gains the entry's provenance if it is new."""
    g = _hold(f.require_group(worlds.GROUP))
    for h, e in entries:
        have = _hold(g.get(h))
        prov = dict(e["provenance"])
        if have is not None:
            known = json.loads(_str(have.attrs["provenance"]))
            if prov not in known:
                have.attrs["provenance"] = canonical_json(known + [prov])
            continue
        w = _hold(g.create_group(h))
        for name, a in sorted(e["arrays"].items()):
            a = np.asarray(a)
            data = a.astype(np.bytes_) if a.dtype.kind == "U" else a
            _hold(w.create_dataset(name, data=data)).attrs["dtype"] = a.dtype.str
        w.attrs["family"] = str(e["family"])
        w.attrs["n"] = int(prov.get("n", -1))
        w.attrs["d"] = int(prov.get("d", -1))
        w.attrs["content_hash"] = h
        w.attrs["provenance"] = canonical_json([prov])
    _at_least(f, 2)                        # a file of the first layout now holds /worlds


def _at_least(f, version: int) -> None:
    """Raise the file's ``format_version`` to ``version`` (an older file now holds its objects)."""
    if int(f.attrs.get("format_version", 0)) < version:
        f.attrs["format_version"] = version


def _append_config_rows(f, cid: str, rows: list) -> int:
    result0, i0 = rows[0][0], rows[0][1]
    hp = result0["hyperparameters"]
    hp = json.loads(hp) if isinstance(hp, str) else hp
    geometry = str(result0["geometries"][i0])
    execution = str(result0.get("execution", DEFAULT_EXECUTION))
    extra = result0.get("inputs_key") or None
    extra = json.loads(extra) if isinstance(extra, str) else extra
    arithmetic = str(result0.get("arithmetic", "exact"))
    key = config_key(geometry, result0["d"], result0["horizon"], result0["planner"],
                     result0["geometry_usage"], hp, execution, extra, arithmetic)
    if config_id(key) != cid:
        raise FastplanError(f"work unit result for {cid} does not match its configuration key")
    g = _hold(_hold(f.require_group("configs")).get(cid))
    new = g is None
    if new:
        g = _hold(_hold(f["configs"]).create_group(cid))
        attrs = {"config_id": cid, "key": canonical_json(key), "geometry": geometry,
                 "d": int(result0["d"]), "horizon": int(result0["horizon"]), "planner": result0["planner"],
                 "geometry_usage": result0["geometry_usage"], "gradient": str(hp.get("gradient", "")),
                 "lam": float(hp["lam"]), "hyperparameters": canonical_json(hp), "execution": execution}
        for name in ("density", "projection"):
            if f"{name}_notes" in result0:
                attrs[name] = str(result0[f"{name}_notes"][i0])
        if arithmetic != "exact":         # FASTPLAN_ARITHMETIC=fast (absent: exact)
            attrs["arithmetic"] = arithmetic
        if result0.get("inputs"):        # where a user's world / latents / starts came from
            inputs = result0["inputs"]
            attrs["inputs"] = inputs if isinstance(inputs, str) else canonical_json(inputs)
        _new_attrs(g, attrs)
    if "manifold_metrics" not in f.attrs:   # a file written before the manifold fields
        _manifold_attrs(f)
    decoded = execution != DEFAULT_EXECUTION
    if new or is_table(g):                 # format 3: one compound dataset per configuration
        n_old = 0 if new else int(_hold(g[RUNS]).shape[0])
        _append_table(g, rows, decoded, new)
        _append_traces(g, rows, n_old, new)
        return len(rows)
    fields = RUN_FIELDS
    if "world" not in g and "A" in g:      # a group of the first layout: kept as it is
        fields = ("seed",) + worlds.INLINE_FIELDS + RUN_FIELDS[2:]
    values = _row_values(rows, fields)
    if "batch_wall_time" not in g and "seed" in g and g["seed"].shape[0]:
        # a group written before batch times were stored: its rows get theirs first
        _append(g, "batch_wall_time", g["wall_time"][()] * g["batch_size"][()], np.float64)
    n_before = g["complete"].shape[0] if "complete" in g else 0
    for name in fields:
        _append(g, name, values[name], field_dtype(name))
    n_old = g["complete"].shape[0] if "complete" in g else 0
    extra = MANIFOLD_FIELDS + (DECODED_FIELDS if decoded else ())
    extras = _row_values(rows, extra)
    for name in extra:
        if n_old and name not in g:       # rows of an older version: NaN
            _append(g, name, np.full((n_old,) + extras[name].shape[1:], np.nan), np.float64)
        _append(g, name, extras[name], np.float64)
    _append_traces(g, rows, n_old, False)
    baselines = _row_values(rows, BASELINE_FIELDS)
    for name in BASELINE_FIELDS:    # optional: NaN for rows of older files and older journal units
        if n_before and name not in g:
            _append(g, name, np.full(n_before, np.nan), np.float64)
        _append(g, name, baselines[name], np.float64)
    n0 = _append(g, "complete", np.zeros(len(rows), dtype=bool), bool)   # last: the rows count from now on
    _hold(g["complete"])[n0:] = True
    return len(rows)


def _row_values(rows: list, fields) -> dict:
    """``name -> (len(rows), ...) array`` of the per-run fields ``fields`` of ``rows`` ((unit
    result, row, session, batch size)), in their stored dtypes: copied from the units, or set
    by the writer (the seed, times, batch size, threads, session); a manifold, decoded or
    baseline field a unit lacks (a unit journaled by an older version) is NaN; ``complete`` is
    True.  Rows are taken per unit, with one fancy index per field."""
    result0, i0 = rows[0][0], rows[0][1]
    parts = []                             # (result, row indices, session, batch size) per run of rows
    for result, i, session, size in rows:
        last = parts[-1] if parts else None
        if last is not None and last[0] is result and last[2] == session and last[3] == size:
            last[1].append(i)
        else:
            parts.append((result, [i], session, size))
    n = len(rows)
    out = {}
    for name in fields:
        dtype = field_dtype(name)
        if name == "complete":
            out[name] = np.ones(n, dtype=bool)
            continue
        if name in worlds.INLINE_FIELDS:
            col = [np.asarray(r["worlds"][str(r["world"][i])]["arrays"][name]) for r, i, _, _ in rows]
            out[name] = np.asarray(np.stack(col), dtype=dtype)
            continue
        if name in TEXT_FIELDS:
            out[name] = np.array([str(r[name][i]).encode() for r, i, _, _ in rows], dtype=dtype)
            continue
        chunks = []
        for r, idx, session, size in parts:
            k = len(idx)
            if name == "seed":
                v = np.asarray(r["seeds"])[idx]
            elif name == "wall_time":
                v = np.full(k, float(r["wall_time"]) / size)
            elif name == "batch_wall_time":
                v = np.full(k, float(r["wall_time"]))
            elif name == "batch_size":
                v = np.full(k, size)
            elif name == "threads":
                v = np.full(k, int(r.get("threads", 0)))
            elif name == "session":
                v = np.full(k, session)
            elif name in r:                # copied from the unit (checked by check_unit)
                v = np.asarray(r[name])[idx]
            elif name in BASELINE_FIELDS:  # a unit journaled before the baselines
                v = np.full(k, np.nan)
            else:                          # ... or before the manifold fields
                v = np.full((k,) + (np.shape(result0[name][i0]) if name in result0 else ()), np.nan)
            chunks.append(np.asarray(v, dtype=dtype))
        out[name] = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    return out


def _append_table(g, rows: list, decoded: bool, new: bool) -> None:
    """Append ``rows`` to the compound dataset :data:`RUNS` of a format-3 configuration group
    (created if ``new``), ``complete`` True: the whole row is one write."""
    if new:
        values = _row_values(rows, table_fields(decoded))
        table = np.empty(len(rows), dtype=table_dtype(values, {k: v.shape[1:] for k, v in values.items()}))
    else:
        ds = _hold(g[RUNS])
        values = _row_values(rows, ds.dtype.names)
        table = np.empty(len(rows), dtype=ds.dtype)
    for name, v in values.items():
        table[name] = v
    _append(g, RUNS, table, table.dtype, new)


def _append_traces(g, rows: list, n_old: int, new: bool) -> None:
    """The optional per-run traces (:data:`~fastplan.store.layout.TRACE_FIELD`, (R, 3) each):
    appended when this fold's units carry them or the group already holds them; a row without
    one (an older run, a unit computed without ``--traces``) is NaN."""
    have = [r[TRACE_FIELD][i] for r, i, _, _ in rows if TRACE_FIELD in r]
    if not have and TRACE_FIELD not in g:
        return
    shape = tuple(g[TRACE_FIELD].shape[1:]) if TRACE_FIELD in g else np.shape(have[0])
    values = np.stack([np.asarray(r[TRACE_FIELD][i], dtype=np.float64)
                       if TRACE_FIELD in r and np.shape(r[TRACE_FIELD][i]) == shape
                       else np.full(shape, np.nan) for r, i, _, _ in rows])
    if TRACE_FIELD not in g and n_old:        # rows written before traces: NaN
        _append(g, TRACE_FIELD, np.full((n_old,) + shape, np.nan), np.float64)
    _append(g, TRACE_FIELD, values, np.float64, new)


def _append_metric_rows(f, rows: list):
    from ..engine.metrics import CONCENTRATION_DEFINITION
    g = _hold(f.require_group("geometry_metrics"))
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
    _hold(g["complete"])[n0:] = True
