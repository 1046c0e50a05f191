"""Sweeps on a Dask cluster: an executor for :func:`fastplan.sweep.run_sweep`.

Dask distributed is an optional dependency (``pip install "fastplan[dask]"``); it is
imported only when a cluster is asked for.  The division of labour is the sweep's:
workers run the pure :func:`fastplan.sweep.compute_unit` (a work unit in, NumPy arrays
out) and only the driver writes the HDF5 file, as results arrive.  So the cluster changes
where arithmetic happens, never what is stored: results are bit-identical to an
in-process sweep (the kernels are deterministic for any thread count, DESIGN.md kernel
convention 4).

Threads
    Dask does not manage Numba's thread pool.  A local cluster of ``N`` worker processes
    gets one Dask thread per worker and ``max(1, cores // N)`` Numba threads per worker
    (``NUMBA_NUM_THREADS`` in the worker environment, and :func:`fastplan.engine.jit.set_threads`
    before every unit: Numba's thread count is per calling thread, so a worker plugin
    setting it once would not reach the threads that run tasks), hence
    workers x Numba threads = cores.  On an existing cluster a worker gives each unit as
    many Numba threads as it has Dask threads (``dask worker --nthreads K`` or
    dask-jobqueue's ``cores / processes``) and runs one unit at a time, so again
    workers x Numba threads = cores.

Compilation
    Workers read and write the same on-disk kernel cache as the driver
    (:func:`fastplan.engine.jit.cache_dir`; ``NUMBA_CACHE_DIR`` moves it, and local workers are
    started with the driver's).  Before the first unit, one worker runs
    :func:`fastplan.warmup.warmup` for the sweep's planners (compiling what the cache
    lacks), then the others do (loading from the cache).  The warm-up also checks that
    every worker runs the same fastplan sources, Numba and NumPy as the driver.

Faults
    Units are submitted with ``retries`` (an exception inside a unit is retried on another
    worker).  A worker that dies costs only the units it had not returned: the scheduler
    re-runs them elsewhere (up to ``distributed.scheduler.allowed-failures`` worker deaths
    per unit, default 3).  The driver consumes results as they complete
    (``distributed.as_completed``) and keeps at most ``max_in_flight`` units submitted, so
    memory stays bounded however large the grid.  A killed driver leaves a readable file
    (the store's journal); a local cluster's worker processes exit with it; the same
    command resumes.

Example
-------
>>> from fastplan.runs.distributed import cluster_executor      # doctest: +SKIP
>>> from fastplan.runs.sweep import run_sweep
>>> if __name__ == "__main__":       # worker processes are spawned: guard scripts
...     with cluster_executor(workers=4) as (executor, name):
...         run_sweep("runs.h5", executor=executor, executor_name=name)
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import threading
import time
import uuid

from ..engine.errors import FastplanError, check_positive_int

INSTALL_HINT = 'Dask is not installed: pip install "fastplan[dask]"'
#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT = 5.0

#: One unit at a time per worker process (Numba's pool is shared by the whole process).
_UNIT_LOCK = threading.Lock()


def _distributed():
    """Import ``distributed`` lazily; a clear :class:`FastplanError` if it is missing."""
    try:
        import distributed
    except ImportError:
        raise FastplanError(INSTALL_HINT) from None
    return distributed


def available_cores() -> int:
    """CPU cores this process may use (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):   # pragma: no cover - macOS/Windows
        return os.cpu_count() or 1


# --------------------------------------------------------------------------- worker side

def _dask_threads() -> int:
    """Dask threads of the worker running this task (1 outside a worker)."""
    try:
        from distributed import get_worker
        return int(get_worker().state.nthreads)
    except Exception:
        return 1


def _loaded_source_hash() -> str:
    """Hash of the fastplan sources and Numba version this process loaded (keys its cache)."""
    from ..engine import jit as _jit
    return os.path.basename(_jit.cache_dir()).rsplit("-", 1)[-1]


def worker_info() -> dict:
    """What the driver checks about a worker: sources, versions, cache folder, threads."""
    import numba
    import numpy as np

    from .. import __version__
    from ..engine import jit as _jit
    return {"pid": os.getpid(), "host": platform.node(), "cores": available_cores(),
            "fastplan_version": __version__, "source_hash": _loaded_source_hash(),
            "numba_version": numba.__version__, "numpy_version": np.__version__,
            "cache_dir": _jit.cache_dir(), "numba_max_threads": _jit.max_threads(),
            "numba_threads": numba.get_num_threads()}


def _set_unit_threads(numba_threads: int | None) -> int:
    from ..engine.jit import set_threads
    return set_threads(numba_threads or _dask_threads())


def run_unit(fn, unit, numba_threads: int | None = None):
    """Run ``fn(unit)`` on a worker with its share of Numba threads, one unit at a time.

    Parameters
    ----------
    fn : callable
        :func:`fastplan.sweep.compute_unit` (pure: a unit in, a dict of arrays out).
    unit : fastplan.sweep.WorkUnit
    numba_threads : int, optional
        Numba threads for this unit (default: the worker's Dask threads).
    """
    with _UNIT_LOCK:
        _set_unit_threads(numba_threads)
        return fn(unit)


def warm_worker(planners, numba_threads: int | None = None) -> dict:
    """Compile (or load from the shared cache) the kernels of ``planners`` on this worker."""
    from .warmup import warmup
    with _UNIT_LOCK:
        _set_unit_threads(numba_threads)
        t0 = time.perf_counter()
        warmup(planners=list(planners))
        info = worker_info()
    info["warmup_seconds"] = time.perf_counter() - t0
    try:
        from distributed import get_worker
        info["address"] = get_worker().address
    except Exception:   # pragma: no cover - only ever called on a worker
        info["address"] = ""
    return info


# --------------------------------------------------------------------------- driver side

def _check_same_build(infos: list[dict], local: dict) -> None:
    """Refuse workers whose results could differ from the driver's (other sources/versions)."""
    for info in infos:
        for key, what in (("source_hash", "fastplan sources"), ("numba_version", "Numba"),
                          ("numpy_version", "NumPy")):
            if info.get(key) != local[key]:
                raise FastplanError(
                    f"Dask worker {info.get('address') or info.get('host')} runs other {what} than this "
                    f"driver ({info.get(key)} vs {local[key]}); results would not be identical: install the "
                    f"same fastplan, Numba and NumPy on every worker")


class DaskExecutor:
    """``executor(compute_unit, units)`` for :func:`fastplan.sweep.run_sweep` on a Dask client.

    Parameters
    ----------
    client : distributed.Client
    numba_threads : int, optional
        Numba threads per worker for every unit; default: each worker's Dask threads.
    retries : int
        Retries of a unit that raises (>= 2 recommended; worker deaths are handled by the
        scheduler separately, see the module docstring).
    max_in_flight : int, optional
        Most units submitted and not yet consumed (default: max(8, 4 x Dask threads)).
    say : callable, optional
        Receives one line of text per step (warm-up), e.g. ``print``.

    Attributes
    ----------
    worker_info : dict
        ``{worker address: worker_info() dict}`` of the workers warmed so far.
    units_submitted : int
        Submissions so far (a unit re-run by Dask after a worker death counts once).
    """

    def __init__(self, client, numba_threads: int | None = None, retries: int = 2,
                 max_in_flight: int | None = None, say=None, cluster=None):
        self.client = client
        self.cluster = cluster
        self.numba_threads = numba_threads
        self.retries = int(retries)
        self.max_in_flight = max_in_flight
        self.say = say or (lambda line: None)
        self.worker_info: dict = {}
        self.units_submitted = 0
        self._warm: set = set()          # (worker address, planner)

    # -- warm-up -------------------------------------------------------------------------

    def warm(self, planners) -> dict:
        """Warm every connected worker for ``planners``: one first, then the rest.

        The first worker compiles what the kernel cache lacks; the others then load the
        cache instead of compiling the same kernels at the same time.  Returns the
        ``worker_info`` of the workers warmed now.
        """
        planners = tuple(sorted(set(planners)))
        if not self.client.nthreads():
            self.say("dask: waiting for a worker to join")
            self.client.wait_for_workers(1)
        addresses = sorted(self.client.nthreads())
        todo = [a for a in addresses if any((a, p) not in self._warm for p in planners)]
        if not todo:
            return {}
        local = worker_info()
        t0 = time.perf_counter()
        infos = {}
        for batch in (todo[:1], todo[1:]):
            futures = [self.client.submit(warm_worker, planners, self.numba_threads, workers=[a],
                                          allow_other_workers=True, pure=False,
                                          key=f"fastplan-warmup-{uuid.uuid4().hex}")
                       for a in batch]
            try:
                gathered = self.client.gather(futures)
            except Exception as exc:
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise FastplanError(f"warming up the Dask workers failed ({type(exc).__name__}: {msg}); "
                                    f"is the same fastplan installed on every worker?") from None
            for info in gathered:
                _check_same_build([info], local)
                infos[info["address"]] = info
        for a, info in infos.items():
            self.worker_info[a] = info
            self._warm.update((a, p) for p in planners)
        self.say(f"dask: {len(infos)} workers warmed up in {time.perf_counter() - t0:.1f} s "
                 f"(kernel cache {local['cache_dir']})")
        return infos

    # -- the executor ----------------------------------------------------------------------

    def __call__(self, fn, units):
        """Compute ``units`` on the cluster; yield each result as soon as it arrives."""
        units = list(units)
        if not units:
            return
        distributed = _distributed()
        from distributed.scheduler import KilledWorker
        self.warm({u.planner for u in units if getattr(u, "planner", "")})
        # heaviest first: the last units to finish are then short ones (smaller makespan)
        order = sorted(units, key=lambda u: -float(getattr(u, "weight", 0.0)))
        window = self.max_in_flight or max(8, 4 * sum(self.client.nthreads().values()))
        queue = iter(order)
        pending = {}
        completed = distributed.as_completed()

        def submit_next() -> None:
            unit = next(queue, None)
            if unit is None:
                return
            fut = self.client.submit(run_unit, fn, unit, self.numba_threads, pure=False,
                                     retries=self.retries,
                                     key=f"fastplan-{unit.kind}-{uuid.uuid4().hex}")
            pending[fut.key] = (fut, unit)
            completed.add(fut)
            self.units_submitted += 1

        for _ in range(window):
            submit_next()
        try:
            for fut in completed:
                _, unit = pending.pop(fut.key)
                try:
                    result = fut.result()
                except KilledWorker:
                    raise FastplanError(
                        f"a work unit ({unit.kind}, d={unit.d}) killed several Dask workers in turn "
                        f"(out of memory?); finished results are saved, re-run to resume") from None
                fut.release()
                submit_next()            # keep the workers busy while the driver writes
                yield result
        finally:
            if pending:                  # stopped early (an error, or the driver gave up)
                with contextlib.suppress(Exception):
                    self.client.cancel([f for f, _ in pending.values()])


def _scheduler_address(path: str) -> str:
    """The ``address`` of a Dask scheduler file, or one clear :class:`FastplanError`."""
    import json
    if not os.path.isfile(path):
        raise FastplanError(f"{path}: no such scheduler file")
    text = None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        info = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        why = "it is empty" if text is not None and not text.strip() else \
            f"not JSON: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        raise FastplanError(f"{path} is not a Dask scheduler file ({why}); write one with "
                            f"`dask scheduler --scheduler-file {path}`") from None
    address = info.get("address") if isinstance(info, dict) else None
    if not isinstance(address, str) or not address.strip():
        raise FastplanError(f"{path} is not a Dask scheduler file (no \"address\" in it); write one "
                            f"with `dask scheduler --scheduler-file {path}`")
    return address


def _local_cluster_env(numba_threads: int) -> dict:
    """Environment of local worker processes: Numba's pool size and the driver's cache."""
    from ..engine import jit as _jit
    env = {"NUMBA_NUM_THREADS": str(numba_threads)}
    folder = _jit.cache_dir()
    if os.path.basename(folder).startswith("kernels-"):     # <base>/kernels-<hash>
        env["NUMBA_CACHE_DIR"] = os.path.dirname(folder)
    return env


@contextlib.contextmanager
def cluster_executor(workers: int | None = None, scheduler: str | None = None,
                     scheduler_file: str | None = None, threads_per_worker: int | None = None, *,
                     retries: int = 2, max_in_flight: int | None = None,
                     dashboard_address: str | None = "auto", timeout: float | None = None, say=None):
    """A Dask executor for :func:`fastplan.sweep.run_sweep`, as a context manager.

    Give exactly one of ``workers``, ``scheduler`` and ``scheduler_file``.

    Parameters
    ----------
    workers : int, optional
        Start a local cluster of this many worker processes (one Dask thread each);
        closed on exit.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    scheduler_file : str, optional
        Scheduler file written by ``dask scheduler --scheduler-file`` or dask-jobqueue.
    threads_per_worker : int, optional
        Numba threads per worker.  Default: ``max(1, cores // workers)`` for a local
        cluster; each worker's Dask thread count on an existing cluster.
    retries : int
        Retries of a unit that raises (default 2).
    max_in_flight : int, optional
        Most units submitted but not yet consumed (bounded memory).
    dashboard_address : str or None
        Dashboard of a local cluster, e.g. ``":8787"`` (needs bokeh); None for none;
        ``"auto"``: ``":8787"`` if bokeh is installed, else none.
    timeout : float, optional
        Seconds to wait for an existing scheduler to answer (default
        :data:`CONNECT_TIMEOUT`, 5 s: a scheduler that does not answer is refused quickly).
    say : callable, optional
        Receives one line of text per step (cluster started, workers warmed).

    Yields
    ------
    (DaskExecutor, str)
        The executor and its description for the results file's provenance
        (``run_sweep(..., executor=executor, executor_name=name)``).

    Raises
    ------
    FastplanError
        Dask missing (with the install command), not exactly one target, bad counts, a
        scheduler that cannot be reached, workers running other fastplan/Numba/NumPy.
    """
    given = [n for n, v in (("workers", workers), ("scheduler", scheduler),
                            ("scheduler_file", scheduler_file)) if v is not None]
    if len(given) != 1:
        raise FastplanError("give exactly one of workers, scheduler, scheduler_file"
                            + (f" (got {', '.join(given)})" if given else ""))
    if threads_per_worker is not None:
        threads_per_worker = check_positive_int(threads_per_worker, "threads per worker")
    retries = int(retries)
    if retries < 0:
        raise FastplanError(f"retries must be >= 0, got {retries}")
    say = say or (lambda line: None)
    distributed = _distributed()
    cluster = None
    if workers is not None:
        workers = check_positive_int(workers, "workers")
        numba_threads = threads_per_worker or max(1, available_cores() // workers)
        if dashboard_address == "auto":
            dashboard_address = ":8787" if importlib.util.find_spec("bokeh") else None
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True,
            env=_local_cluster_env(numba_threads), dashboard_address=dashboard_address,
            # without a dashboard the scheduler still serves HTTP (health, metrics): on any
            # free port, so that a second cluster does not warn about a busy port 8787
            scheduler_kwargs=None if dashboard_address else {"dashboard_address": ":0"})
        try:
            client = distributed.Client(cluster)
        except BaseException:
            cluster.close()
            raise
        name = (f"dask local cluster: {workers} worker{'s' if workers > 1 else ''} x "
                f"{numba_threads} Numba thread{'s' if numba_threads > 1 else ''}")
        link = getattr(cluster, "dashboard_link", None) if dashboard_address else None
        say(f"{name}" + (f" (dashboard {link})" if link else ""))
    else:
        numba_threads = threads_per_worker
        target = scheduler if scheduler is not None else scheduler_file
        if scheduler_file is not None:
            target = f"{_scheduler_address(scheduler_file)} (from {scheduler_file})"
        try:
            client = distributed.Client(address=scheduler, scheduler_file=scheduler_file,
                                        timeout=CONNECT_TIMEOUT if timeout is None else timeout)
        except Exception as exc:     # OSError, TimeoutError, and whatever distributed raises
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FastplanError(f"cannot connect to the Dask scheduler {target}: {msg}") from None
        n = len(client.nthreads())
        per = f"{numba_threads} Numba threads per worker" if numba_threads else \
            "Numba threads = Dask threads per worker"
        name = f"dask scheduler {client.scheduler.address}: {n} workers at start, {per}"
        say(name)
    try:
        yield DaskExecutor(client, numba_threads=numba_threads, retries=retries,
                           max_in_flight=max_in_flight, say=say, cluster=cluster), name
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
