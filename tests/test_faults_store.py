"""Fault injection on the results store (issue 17): full disks at every fold step (patched, and a
real small tmpfs), interrupts at every line of a fold, poisoned journal units, a results file
swapped under the writer, hard links, dangling symlinks, an empty results file."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from fastplan import store
from fastplan.engine.errors import FastplanError, FastplanWarning
from fastplan.runs.sweep import Config, Grid, compute_unit, make_units, run_sweep
from fastplan.store import guard, writer as writer_mod
from fastplan.store.journal import _encode_result, check_unit, rejected_units
from layouts import runs_view

TINY_HP = {"elite_fraction": 0.1, "iterations": 1, "lam": 0.1, "population": 10}


def _results(n=6, d=2, horizon=2):
    """``n`` one-run plan results (seeds 0..n-1) and one metrics result, computed once."""
    hp = json.dumps(TINY_HP, sort_keys=True, separators=(",", ":"))
    grid = Grid(configs=(Config("vae", d, horizon, "cem", "prior", hp),), seeds=tuple(range(n)))
    return [compute_unit(u) for u in make_units(grid, max_batch=1, metric_samples=16)]


@pytest.fixture(scope="module")
def results():
    return _results()


@pytest.fixture(autouse=True)
def tight_disk(monkeypatch):
    """Every fold as on a nearly full disk: reserved growth, a ballast, a flush before close
    (on a roomy disk folds skip them; the real full disk below is tight by itself)."""
    monkeypatch.setattr(guard, "CAREFUL_FACTOR", float("inf"))


def _plans(results):
    return [r for r in results if r["kind"] == "plan"]


def _stored_seeds(path) -> list:
    return sorted(store.load(path)["seed"].tolist())


def _writer(path, **kw):
    return store.Writer(path, store.provenance(command_line="test"), commit_interval=1e9, **kw)


def _leftovers(folder) -> list:
    """Temporary or ballast files a fold left behind."""
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


# --------------------------------------------------------------------------- a full disk, patched

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FailingH5py:
    """h5py whose File() raises ENOSPC (opening the copy fails)."""

    def __getattr__(self, name):
        return getattr(h5py, name)

    File = staticmethod(_enospc)


def _nth_call_fails(fn, n, fail=_enospc):
    """``fn`` whose ``n``-th call calls ``fail`` instead (raising)."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            fail()
        return fn(*args, **kwargs)
    return wrapped


FOLD_STEPS = {
    "copy": lambda mp: mp.setattr(writer_mod.shutil, "copyfile", _enospc),
    "reserve": lambda mp: mp.setattr(guard, "reserve", _enospc),
    "ballast": lambda mp: mp.setattr(guard, "make_ballast", _enospc),
    "open": lambda mp: mp.setattr(writer_mod, "_h5py", lambda: _FailingH5py()),
    "first append": lambda mp: mp.setattr(writer_mod, "_append", _nth_call_fails(writer_mod._append, 1)),
    # inside an append: the table (format 3: one per configuration) resized, its rows not yet written
    "mid append": lambda mp: mp.setattr(h5py.Dataset, "__setitem__", _nth_call_fails(h5py.Dataset.__setitem__, 1)),
    "attrs": lambda mp: mp.setattr(writer_mod, "_update_file_attrs", _enospc),
    "flush": lambda mp: mp.setattr(h5py.File, "flush", _enospc),
    "fsync": lambda mp: mp.setattr(writer_mod, "_fsync_file", _enospc),
    "replace": lambda mp: mp.setattr(writer_mod.os, "replace", _enospc),
}


@pytest.mark.parametrize("step", list(FOLD_STEPS))
def test_full_disk_at_each_fold_step_is_one_error_and_loses_nothing(tmp_path, results, monkeypatch, step):
    path = tmp_path / "r.h5"
    plans = _plans(results)
    with _writer(path) as w:
        w.add(plans[0])
        w.commit()
    before = path.read_bytes()
    with pytest.raises(FastplanError) as err:
        with _writer(path) as w:
            w.add(plans[1])
            w.add(plans[2])
            with monkeypatch.context() as mp:
                FOLD_STEPS[step](mp)
                w.commit()
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"no space left in {tmp_path}"), msg
    assert f"wait in {tmp_path}/r.h5.journal/" in msg and "re-run the same command" in msg
    assert path.read_bytes() == before                          # the file is as it was
    assert len(store.pending_units(path) if hasattr(store, "pending_units") else
               list((tmp_path / "r.h5.journal").glob("unit-*.npz"))) == 2   # the journal is kept
    assert _leftovers(tmp_path) == []
    with _writer(path) as w:                                    # the next sweep folds them in
        assert len(w.done()[0]) == 3
    assert _stored_seeds(path) == [0, 1, 2]
    assert not (tmp_path / "r.h5.journal").exists()


def test_journal_write_on_a_full_disk_is_one_error(tmp_path, results, monkeypatch):
    path = tmp_path / "r.h5"
    plans = _plans(results)
    with pytest.raises(FastplanError, match=r"cannot save a finished work unit in .*r\.h5\.journal/ "
                                            r"\(No space left on device\).*free space in"):
        with _writer(path) as w:
            w.add(plans[0])
            monkeypatch.setattr(writer_mod, "_write_bytes_atomic", _enospc)
            w.add(plans[1])
    assert _stored_seeds(path) == [0]          # the unit journaled before was folded on the way out
    assert not list(tmp_path.glob("r.h5.journal/*.part"))


def test_fold_refused_up_front_when_the_folder_lacks_room(tmp_path, results, monkeypatch):
    path = tmp_path / "r.h5"
    with _writer(path) as w:
        w.add(_plans(results)[0])
        before = path.read_bytes()
        monkeypatch.setattr(guard.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**6, 10**6 - 1000, 1000))
        with pytest.raises(FastplanError, match=r"^no space left in .*: folding 1 finished runs into r\.h5 "
                                                r"needs ~.* free, the disk has 1000 bytes"):
            w.commit()
        assert path.read_bytes() == before
        with pytest.raises(FastplanError, match="no space left"):
            w.add(_plans(results)[1])             # no more folds after a failed one
    assert len(list((tmp_path / "r.h5.journal").glob("unit-*.npz"))) == 1


# --------------------------------------------------------------------------- a full disk, real

_REAL_DISK_SCRIPT = textwrap.dedent("""
    import json, os, pickle, subprocess, sys
    from fastplan import store
    folder, results_file, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    results = pickle.load(open(results_file, "rb"))
    path = os.path.join(folder, "r.h5")
    if mode == "fsize":                       # no tmpfs: a file-size limit gives EFBIG instead
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))
    err = None
    try:
        with store.Writer(path, store.provenance(command_line="t"), commit_interval=0) as w:
            for r in results:
                w.add(r)
    except store.FastplanError if hasattr(store, "FastplanError") else Exception as exc:
        err = str(exc)
    if mode == "tmpfs":
        subprocess.run(["mount", "-o", "remount,size=64m", folder], check=True)
    else:
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    stored_before = sorted(store.load(path)["seed"].tolist()) if os.path.exists(path) else []
    journal = sorted(os.listdir(path + ".journal")) if os.path.exists(path + ".journal") else []
    with store.Writer(path, store.provenance(command_line="resume")) as w:
        pass
    print(json.dumps({"error": err, "stored_before": stored_before, "journal": journal,
                      "stored_after": sorted(store.load(path)["seed"].tolist()),
                      "left": sorted(os.listdir(folder))}))
""")


def _real_disk_command(folder):
    """Run the script on a real full disk: a private 1 MiB tmpfs (root) or RLIMIT_FSIZE."""
    if os.geteuid() == 0 and shutil.which("unshare") and subprocess.run(
            ["unshare", "-m", "true"], capture_output=True).returncode == 0:
        return "tmpfs", ["unshare", "-m", "sh", "-c",
                         f'mount -t tmpfs -o size=1m tmpfs "{folder}" && exec "$0" "$@"', sys.executable]
    return "fsize", [sys.executable]


def test_real_full_disk_during_folds_gives_one_line_and_resumes(tmp_path):
    import pickle
    results = _results(n=60, d=16, horizon=3)          # ~0.6 MiB, twice with the journal
    results_file = tmp_path / "results.pkl"
    results_file.write_bytes(pickle.dumps(results))
    script = tmp_path / "fill.py"
    script.write_text(_REAL_DISK_SCRIPT)
    folder = tmp_path / "disk"
    folder.mkdir()
    mode, prefix = _real_disk_command(folder)
    p = subprocess.run(prefix + [str(script), str(folder), str(results_file), mode],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (mode, p.returncode, p.stderr[-3000:])     # no crash, no segfault
    assert p.stderr.count("Traceback") == 0 and len(p.stderr.splitlines()) <= 2, p.stderr[-3000:]
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["error"] is not None and "\n" not in out["error"], out
    assert out["error"].startswith(("no space left in", "cannot save a finished work unit")), out
    assert str(folder) in out["error"]
    seeds = list(range(60))
    assert len(out["stored_before"]) < 60 and len(set(out["stored_before"])) == len(out["stored_before"])
    assert out["stored_after"] == seeds, out                # nothing lost, nothing twice
    assert out["left"] == ["r.h5"], out


# --------------------------------------------------------------------------- interrupts at every line

#: The writer's fold and its bookkeeping.  The lines that write the copy (_copy, _fold_open
#: and the row helpers) are one step for an interrupt: tested by FOLD_STEPS' KeyboardInterrupt
#: twin below.
_TRACED = {writer_mod.Writer.__dict__[name].__code__ for name in (
    "__exit__", "close", "commit", "_settle", "_fold", "_release")}


class _Inject:
    """Raise KeyboardInterrupt at the ``k``-th distinct line the writer's fold executes
    (``k=None``: record the lines only)."""

    def __init__(self, k=None):
        self.k, self.seen, self.fired = k, [], False

    def __call__(self, frame, event, arg):
        if frame.f_code not in _TRACED:
            return None
        return self._line

    def _line(self, frame, event, arg):
        if event == "line":
            where = (frame.f_code.co_filename, frame.f_lineno)
            if where not in self.seen:
                self.seen.append(where)
                if self.k is not None and len(self.seen) - 1 == self.k and not self.fired:
                    self.fired = True
                    raise KeyboardInterrupt(f"injected at {where}")
        return self._line

    def __enter__(self):
        sys.settrace(self)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        return False


def _interrupted_sweep(path, plans, k, where):
    """A sweep interrupted at line ``k`` of a fold (``where``: "fold" or the "exit" fold after
    a first Ctrl-C); returns the injector.  The interrupted process then ends (its lock goes
    with it)."""
    inj = _Inject(k)
    try:
        with _writer(path) as w:
            w.add(plans[0])
            w.commit()
            w.add(plans[1])
            if where == "fold":
                with inj:
                    w.commit()
                w.add(plans[2])
            else:
                sys.settrace(inj)
                raise KeyboardInterrupt("first Ctrl-C")   # the exit fold is interrupted again
    except KeyboardInterrupt:
        pass
    finally:
        sys.settrace(None)
        _end_of_process(path)
    return inj


def _end_of_process(path):
    """Close every descriptor of ``path``'s journal lock, as the end of an interrupted process
    would (an interrupt inside the writer's release can leave one open)."""
    lock = os.path.realpath(str(path) + ".journal/lock")
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == lock:
            os.close(int(fd))


@pytest.mark.parametrize("where", ["fold", "exit"])
def test_interrupt_at_every_line_of_a_fold_never_stores_a_run_twice(tmp_path, results, where, monkeypatch):
    plans = _plans(results)
    for name in ("_fsync_file", "_fsync_dir"):         # durability is not under test: ~150 folds
        monkeypatch.setattr(writer_mod, name, lambda fn: None)
    n_lines = len(_interrupted_sweep(tmp_path / "probe.h5", plans, None, where).seen)
    assert n_lines > (40 if where == "fold" else 60)         # the whole fold was traced
    for k in range(n_lines):
        path = tmp_path / f"r{k}.h5"
        inj = _interrupted_sweep(path, plans, k, where)
        assert inj.fired
        stored = _stored_seeds(path)                         # readable after every interrupt
        assert len(stored) == len(set(stored)), (k, inj.seen[k], stored)
        assert 0 in stored
        with _writer(path):                                  # the next sweep folds the journal
            pass
        final = _stored_seeds(path)
        expected = [0, 1, 2] if where == "fold" and 2 in final else [0, 1]
        assert final == expected, (k, inj.seen[k], final)
        assert _leftovers(tmp_path) == [], (k, inj.seen[k])
        assert not (tmp_path / f"r{k}.h5.journal").exists()
        path.unlink()


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("step", ["copy", "open", "mid append", "flush"])
def test_interrupt_while_the_copy_is_written_keeps_everything(tmp_path, results, monkeypatch, step):
    path = tmp_path / "r.h5"
    plans = _plans(results)
    patch = {"copy": (writer_mod.shutil, "copyfile", _interrupt),
             "open": (writer_mod, "_h5py", lambda: type("H", (), {"File": staticmethod(_interrupt)})),
             "mid append": (h5py.Dataset, "__setitem__", _nth_call_fails(h5py.Dataset.__setitem__, 1, _interrupt)),
             "flush": (h5py.File, "flush", _interrupt)}[step]
    with pytest.raises(KeyboardInterrupt):
        with _writer(path) as w:
            w.add(plans[0])
            w.commit()
            w.add(plans[1])
            with monkeypatch.context() as mp:
                mp.setattr(*patch)
                w.commit()
    assert _stored_seeds(path) == [0, 1]          # folded on the way out, once
    assert _leftovers(tmp_path) == [] and not (tmp_path / "r.h5.journal").exists()


def test_settle_after_an_interrupt_just_after_the_replace(tmp_path, results, monkeypatch):
    """The window of the issue: Ctrl-C right after os.replace; close() must not re-append."""
    path = tmp_path / "r.h5"
    plans = _plans(results)
    real = writer_mod.os.replace

    def replace_then_interrupt(src, dst):
        real(src, dst)
        if str(dst) == str(path):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        with _writer(path) as w:
            w.add(plans[0])
            w.add(plans[1])
            monkeypatch.setattr(writer_mod.os, "replace", replace_then_interrupt)
            w.commit()
    monkeypatch.setattr(writer_mod.os, "replace", real)
    assert _stored_seeds(path) == [0, 1]
    assert not (tmp_path / "r.h5.journal").exists()


# --------------------------------------------------------------------------- poisoned journal units

def _poisoned(results):
    """(name, unit result, words of its reason) for units that decode but are invalid."""
    plan = dict(_plans(results)[3])
    out = []
    bad = dict(plan, actions=np.zeros((1, 3, 2)))                            # horizon 2 -> (1, 2, 2)
    out.append(("actions shape", bad, "actions has shape (1, 3, 2), expected (1, 2, 2) for d=2, horizon 2"))
    out.append(("wrong horizon", dict(plan, horizon=4), "does not match its key"))
    out.append(("missing key", {k: v for k, v in plan.items() if k != "actions"}, "has no 'actions'"))
    out.append(("strings", dict(plan, cost=np.array(["x"])), "cost has dtype <U1, expected numbers"))
    out.append(("states rows", dict(plan, states=np.zeros((2, 3, 2))), "states has shape (2, 3, 2)"))
    metrics = next(r for r in results if r["kind"] == "metrics")
    out.append(("metric length", dict(metrics, concentration=np.zeros(2)), "concentration has shape (2,)"))
    out.append(("kind", dict(plan, kind="other"), "unknown kind 'other'"))
    return out


def test_every_poisoned_unit_is_refused_by_check_unit(results):
    for r in results:
        check_unit(r)                                        # the real ones pass
    for name, unit, words in _poisoned(results):
        with pytest.raises(FastplanError) as err:
            check_unit(unit)
        assert words in str(err.value), (name, str(err.value))


def test_poisoned_journal_units_are_named_set_aside_and_never_block(tmp_path, results):
    path = tmp_path / "r.h5"
    plans = _plans(results)
    with _writer(path) as w:
        w.add(plans[0])
    journal = tmp_path / "r.h5.journal"
    journal.mkdir()
    poisoned = _poisoned(results)
    names = []
    for i, (_, unit, _) in enumerate(poisoned):
        name = f"unit-{i:020d}-1-{i:06d}.npz"
        (journal / name).write_bytes(_encode_result(dict(unit, session_uuid="x")))
        names.append(name)
    good = f"unit-{99:020d}-1-000099.npz"
    (journal / good).write_bytes(_encode_result(dict(plans[1], session_uuid="x")))
    with pytest.warns(FastplanWarning) as caught:
        with _writer(path) as w:
            assert len(w.rejected) == len(poisoned)
    messages = [str(c.message) for c in caught]
    for name, (_, _, words) in zip(names, poisoned):
        line = next(m for m in messages if name in m)
        assert words in line and "moved to r.h5.journal/rejected/, not stored" in line, line
    assert _stored_seeds(path) == [0, 1]                      # the valid unit is folded, the rest not
    rejected = rejected_units(path)
    assert [os.path.basename(p) for p in rejected] == names
    for p, (_, _, words) in zip(rejected, poisoned):
        assert words in open(p + ".reason.txt").read()
    assert store.journal.pending_note(path).startswith(f"note: {len(names)} invalid journal units")
    with _writer(path) as w:                                  # the file is not blocked
        w.add(plans[2])
    assert _stored_seeds(path) == [0, 1, 2]
    with h5py.File(path, "r") as f:                           # every stored shape fits its key
        for g in f["configs"].values():
            assert runs_view(g)["actions"].shape[1:] == (g.attrs["horizon"], g.attrs["d"])


def test_an_invalid_result_is_refused_before_it_is_journaled(tmp_path, results):
    path = tmp_path / "r.h5"
    bad = dict(_plans(results)[0], actions=np.zeros((1, 5, 2)))
    with pytest.raises(FastplanError, match=r"a work unit result is invalid: it actions has shape"):
        with _writer(path) as w:
            w.add(bad)
    assert _stored_seeds(path) == [] and not (tmp_path / "r.h5.journal").exists()


# --------------------------------------------------------------------------- a swapped results file

def _foreign(path):
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(5.0)


@pytest.mark.parametrize("how", ["replaced", "overwritten in place", "another fastplan file", "deleted"])
def test_results_file_swapped_under_the_writer_is_refused(tmp_path, results, how):
    path = tmp_path / "r.h5"
    plans = _plans(results)
    other = tmp_path / "other.h5"
    if how == "another fastplan file":
        with _writer(other) as w:
            w.add(plans[5])
    else:
        _foreign(other)
    with pytest.raises(FastplanError) as err:
        with _writer(path) as w:
            w.add(plans[0])
            w.commit()
            if how == "overwritten in place":
                with open(path, "r+b") as fh:
                    fh.write(other.read_bytes())
                    fh.truncate()
            elif how == "deleted":
                path.unlink()
            else:
                os.replace(other, path)
            swapped = path.read_bytes() if path.exists() else None
            w.add(plans[1])
            w.commit()
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    assert ("deleted or moved away" if how == "deleted" else "replaced or changed by another program") in msg
    assert "refused: nothing was written into it, and the 1 finished work units (1 run) wait in" in msg
    assert (path.read_bytes() if path.exists() else None) == swapped      # not written into
    assert len(list((tmp_path / "r.h5.journal").glob("unit-*.npz"))) == 1  # the journal is kept


def test_a_sweep_whose_file_is_swapped_midway_exits_with_the_journal_kept(tmp_path):
    path = tmp_path / "runs.h5"
    foreign = tmp_path / "foreign.h5"
    _foreign(foreign)

    def swapping(fn, units):
        for i, u in enumerate(units):
            if i == 2:
                os.replace(foreign, path)
            yield fn(u)
    with pytest.raises(FastplanError, match="replaced or changed by another program"):
        run_sweep(path, planners=["cem"], geometries=["vae"], dims=[2], horizons=[2], seeds=range(4),
                  overrides={"cem": TINY_HP}, metric_samples=0, max_batch=1, progress="quiet",
                  commit_interval=0, executor=swapping)
    with h5py.File(path, "r") as f:                                        # foreign and untouched
        assert list(f) == ["data"]
    assert list((tmp_path / "runs.h5.journal").glob("unit-*.npz"))
    with pytest.raises(FastplanError, match="not a fastplan results file"):
        run_sweep(path, planners=["cem"], dims=[2], horizons=[2], seeds=[0], progress="quiet")


# --------------------------------------------------------------------------- links and empty files

def test_hard_links_are_refused(tmp_path, results):
    path = tmp_path / "r.h5"
    with _writer(path) as w:
        w.add(_plans(results)[0])
    os.link(path, tmp_path / "alias.h5")
    before = path.read_bytes()
    for name in ("r.h5", "alias.h5"):
        with pytest.raises(FastplanError, match=r"has 2 hard links \(names of the same file\).*sweep into a copy"):
            _writer(tmp_path / name)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.h5", "r.h5"]


def test_dangling_symlink_creates_no_folders(tmp_path):
    link = tmp_path / "link.h5"
    os.symlink(tmp_path / "missing" / "deeper" / "runs.h5", link)
    with pytest.raises(FastplanError, match=r"link\.h5 is a symbolic link to .*missing/deeper/runs\.h5, "
                                            r"whose folder .*missing/deeper does not exist"):
        run_sweep(link, planners=["cem"], dims=[2], horizons=[2], seeds=[0], progress="quiet")
    assert not (tmp_path / "missing").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.h5"]


def test_a_symlink_to_an_existing_folder_still_works(tmp_path, results):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.h5"
    os.symlink(tmp_path / "real" / "runs.h5", link)
    with _writer(link) as w:
        w.add(_plans(results)[0])
    assert _stored_seeds(tmp_path / "real" / "runs.h5") == [0]


def test_report_on_a_file_with_no_runs_is_one_clear_error(tmp_path):
    from fastplan.paper.report import write_report
    path = tmp_path / "empty.h5"
    with _writer(path):
        pass
    with pytest.raises(FastplanError, match=r"empty\.h5 holds no runs yet, so there is nothing to report"):
        write_report(path, tmp_path / "rep")
    assert not (tmp_path / "rep").exists()
