"""The thread policy: how many threads a call gets and how a batch is spread over them.

Why (README, "On a busy machine"): Numba's OpenMP layer splits a ``prange`` loop statically,
one equal block per thread, and its threads *spin* at every fork-join.  On a machine whose
cores are shared with other processes, one of our threads is descheduled now and then, and
every fork-join waits for it (while its partner spins on a core it could have used): two
threads ran up to 20x slower than one.  The policy avoids fork-joins that have little work
behind them and balances the rest dynamically:

* **Batches** of P >= 2 problems (:func:`map_dynamic`): a small pool of Python threads, each
  running the planner kernel with *one* Numba thread on a slice of the problems (no OpenMP
  team, no spinning), takes slices from a shared counter, so a thread that gets more CPU
  plans more problems.  Waiting threads sleep.  There are no more threads than cores that
  other processes leave free (:func:`free_cores`), at least one.  Slices are results-neutral:
  a problem's plan does not depend on the batch it is in (tests/test_planners.py).
* **Single problems** (P smaller than the thread count, the only case with a fork-join per
  iteration): all threads only when each fork-join has enough work to gain from them
  (:data:`FORK_JOIN_MIN_S`) *and* the machine has idle cores, now and over the last moments
  (:func:`machine_idle`); otherwise one thread.
* **Small parallel kernels** (geometry samples, rollouts): one thread below
  :data:`SMALL_WORK_S` of estimated work (:func:`threads_for`).

The thread count a user sets (:func:`fastplan.engine.jit.set_threads`) is an upper bound; no
policy decision changes a result (every kernel is bit-identical for any thread count).
``numba.set_num_threads`` is per calling thread; :func:`limited` restores it.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time

import numba

#: One-thread seconds per unit of ``rollouts * T * (4 d^2 + 30 d)``, measured on the paper's
#: grid: 0.07 ns (the whole default grid on one thread), up to 0.14 ns on its small cells.
SECONDS_PER_UNIT = 6e-11
#: Below this much estimated work a call runs on one thread: a fork-join or a hand-over to
#: another thread costs about as much.
SMALL_WORK_S = 3e-4
#: Least estimated work of one slice of a batch (hand-over costs ~20-50 us).
ITEM_WORK_S = 1e-3
#: Most slices per thread: more balance the load better, fewer cost less Python.
ITEMS_PER_THREAD = 4
#: A single problem uses every thread (sample chunks, a fork-join per iteration) only from
#: this much estimated work per fork-join on, and only on a machine with idle cores.
#: Measured on 2 cores (one plan, 2 threads / 1 thread): CEM d=h=4 (9 us per fork-join)
#: 0.81x, CEM d=h=8 (48 us) 0.63x, diffusion d=h=8 (one fork-join) 0.75x; finite-difference
#: gradient d=h=8 (8 us) 1.04x, d=h=4 (0.8 us) 1.83x.
FORK_JOIN_MIN_S = 1e-5
#: Our own OpenMP workers may still spin this long after a multi-threaded call.
_SPIN_WINDOW_S = 5e-3

_state = threading.local()
_last_parallel_end = [0.0]
_pool = None
_pool_lock = threading.Lock()


@contextlib.contextmanager
def limited(n: int):
    """Run the block with at most ``n`` (>= 1) Numba threads in this thread; restore after."""
    before = numba.get_num_threads()
    n = max(1, min(int(n), before))
    if n != before:
        numba.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            numba.set_num_threads(before)
        if n > 1:
            _last_parallel_end[0] = time.monotonic()


_blas_lock = threading.Lock()
_blas = {"depth": 0, "libs": None, "saved": ()}


def _blas_libs() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded in this process (once; [] when
    threadpoolctl is not installed)."""
    if _blas["libs"] is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas["libs"] = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:        # no threadpoolctl, or a BLAS it cannot drive: leave BLAS alone
            _blas["libs"] = []
    return _blas["libs"]


@contextlib.contextmanager
def blas_single():
    """Run the block with NumPy's BLAS on one thread, for every thread of the process.

    OpenBLAS runs a matrix product of more than a few million flops (the (d, d) covariance of
    4000 samples at d = 32, Eq. 13) on its own threads, which spin and wait for each other as
    Numba's OpenMP threads did: on a busy 2-core machine one such 1 ms product took 185-350 ms,
    and the sweep's geometry metrics call it from two threads at once.  The BLAS thread count
    is a process-wide setting, and OpenBLAS honours a change reliably only from the main
    thread (measured: a worker thread's change was sometimes ignored), so the switch acts only
    there (nested blocks: the outermost one sets and restores); elsewhere it changes nothing.
    Wrap the calls that spread work over threads (:func:`map_dynamic`) in it.  OpenBLAS
    splits a product over rows and columns, never over the summed index, so the result has
    the same bits on any number of threads (tests/test_sweep_phases.py).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    with _blas_lock:
        if _blas["depth"] == 0:
            libs = _blas_libs()
            _blas["saved"] = tuple(lib.num_threads for lib in libs)
            for lib in libs:
                lib.set_num_threads(1)
        _blas["depth"] += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                for lib, n in zip(_blas_libs(), _blas["saved"]):
                    lib.set_num_threads(n)


def plan_seconds(planner: str, hp: dict, T: int, d: int) -> float:
    """One-thread seconds of one plan: the work measure of :mod:`fastplan.engine.budget`
    (``rollouts x T x (4 d^2 + 30 d)``) at :data:`SECONDS_PER_UNIT`.  (The budget's own rate
    is deliberately conservative, for warnings; the policy needs the measured one.)"""
    from . import budget
    units = budget.plan_seconds(planner, hp, 1, T, d, threads=1) * budget.WEIGHT_PER_SECOND
    return units * SECONDS_PER_UNIT


_procfs = {"pid": None}


def _proc_read(name: str) -> bytes:
    """The start of ``/proc/<name>`` through a descriptor kept open per process (2-5 us)."""
    if _procfs["pid"] != os.getpid():
        _procfs.clear()
        _procfs["pid"] = os.getpid()
    fd = _procfs.get(name)
    if fd is None:
        fd = _procfs[name] = os.open(f"/proc/{name}", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    return os.pread(fd, 256, 0)


def _runnable_others() -> int | None:
    """Runnable threads of other processes right now (Linux ``/proc/loadavg``), or None."""
    try:
        running = int(_proc_read("loadavg").split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return running - 1          # the reading thread itself


#: Shortest window over which :func:`_recent_others` measures (``/proc/stat`` counts in 10 ms).
_WINDOW_MIN_S = 0.25
#: A window older than this is not "recent": the next check starts a new one.
_WINDOW_MAX_S = 30.0
_window = {"sample": None, "others": None}


def _cpu_sample():
    """(busy CPU seconds of the whole machine, CPU seconds of this process, wall clock)."""
    vals = [int(x) for x in _proc_read("stat").split(b"\n", 1)[0].split()[1:9]]
    t = os.times()
    return ((sum(vals) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK"), t.user + t.system,
            time.monotonic())


def _recent_others() -> float | None:
    """Cores used by other processes, averaged since the previous check (at least
    :data:`_WINDOW_MIN_S` ago, else the last value is kept); None when unknown."""
    try:
        now = _cpu_sample()
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    last = _window["sample"]
    if last is None or now[2] - last[2] > _WINDOW_MAX_S:
        _window["sample"], _window["others"] = now, None
    elif now[2] - last[2] >= _WINDOW_MIN_S:
        _window["others"] = max(0.0, ((now[0] - last[0]) - (now[1] - last[1])) / (now[2] - last[2]))
        _window["sample"] = now
    return _window["others"]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def free_cores(threads: int) -> float:
    """Cores that other processes leave free: right now (their runnable threads) and lately
    (their CPU time since the previous check), whichever is fewer.  Our own OpenMP workers,
    which may spin for a moment after a ``threads``-thread call, are not counted as others.
    Infinite where /proc is missing."""
    others = _runnable_others()
    if others is None:
        return float("inf")
    if time.monotonic() - _last_parallel_end[0] < _SPIN_WINDOW_S:
        others = max(0, others - (threads - 1))
    recent = _recent_others()
    return _cores() - max(float(others), recent if recent is not None else 0.0)


def machine_idle(threads: int) -> bool:
    """True when ``threads`` threads of ours would each find a free core (a quarter of a
    core of recent use by others is tolerated)."""
    return free_cores(threads) >= threads - 0.25


def threads_for(work_s: float) -> int:
    """Numba threads for one parallel kernel call of ``work_s`` estimated one-thread seconds:
    one below :data:`SMALL_WORK_S`, else the calling thread's count."""
    if work_s < SMALL_WORK_S and not getattr(_state, "fixed", False):
        return 1
    return numba.get_num_threads()


@contextlib.contextmanager
def fixed():
    """Switch the policy off in this thread for the block: every call is one kernel call on
    all of this thread's Numba threads (fastplan's behaviour before the policy; for
    measurements and for tests that need a particular work split)."""
    before = getattr(_state, "fixed", False)
    _state.fixed = True
    try:
        yield
    finally:
        _state.fixed = before


def workers_for(n_items: int, free: float | None = None) -> int:
    """Threads for ``n_items`` independent items (:func:`map_dynamic`): as many as there are
    free cores (:func:`free_cores`), at least one, at most the calling thread's Numba count.
    A thread more than the free cores only queues for a core (and under Linux's autogroup
    scheduling gets this process no more CPU)."""
    threads = numba.get_num_threads()
    if threads == 1 or n_items < 2:
        return 1
    if free is None:
        free = free_cores(threads)
    return int(min(threads, n_items, max(1.0, free + 0.5)))


def batch_split(P: int, seconds_each: float, fork_joins: int = 1) -> tuple[int, int, int]:
    """How to run P problems of ``seconds_each`` estimated work: ``(workers, slices, numba
    threads per worker)``.  ``workers == 1`` runs one kernel call in the calling thread.
    ``fork_joins``: parallel loops one kernel call runs when there are fewer problems than
    threads (the planners' ``iterations``; 1 for diffusion)."""
    threads = numba.get_num_threads()
    if getattr(_state, "fixed", False):
        return 1, 1, threads
    total = P * seconds_each
    if threads == 1 or total < SMALL_WORK_S:
        return 1, 1, 1
    free = free_cores(threads)
    if P < threads and total >= FORK_JOIN_MIN_S * max(1, fork_joins) and free >= threads - 0.25:
        return 1, 1, threads                 # sample chunks over every thread
    workers = workers_for(P, free)
    if workers == 1:
        return 1, 1, 1
    slices = int(min(P, ITEMS_PER_THREAD * workers, max(workers, total // ITEM_WORK_S)))
    return workers, slices, 1


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor
            _pool = ThreadPoolExecutor(max_workers=max(1, int(numba.config.NUMBA_NUM_THREADS) - 1),
                                       thread_name_prefix="fastplan")
        return _pool


def _forget_pool():          # a forked child has none of the parent's threads
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def map_dynamic(fn, n_items: int, workers: int) -> list:
    """``[fn(0), ..., fn(n_items - 1)]`` computed by ``workers`` threads (this one included),
    each with one Numba thread, taking items in order from a shared counter.

    Items must be independent; results come back in item order whoever computed them.  The
    calling thread works too, so the call finishes even if no pool thread is free; items not
    started when it runs out of work are left to it, and an error stops the remaining items.
    """
    results = [None] * n_items
    counter = itertools.count()
    failed = []

    def work():
        with limited(1):
            while not failed:
                i = next(counter)
                if i >= n_items:
                    return
                try:
                    results[i] = fn(i)
                except BaseException as exc:
                    failed.append(exc)
                    raise

    helpers = [_executor().submit(work) for _ in range(max(0, min(workers, n_items) - 1))]
    try:
        work()
    finally:
        if not failed:
            failed.append(None)                        # stop the helpers (done, or error here)
        for fut in helpers:
            if not fut.cancel():
                fut.exception()                        # wait; an error is re-raised below
    errors = [e for e in failed if e is not None]
    if errors:
        raise errors[0]
    return results
