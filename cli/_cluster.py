"""Cluster options for the commands that run sweeps: ``--workers``, ``--scheduler``,
``--scheduler-file``.

Light on purpose: importing this module imports click only; Dask is imported when a
cluster is actually asked for (so ``fastplan --help`` stays instant and Dask stays an
optional extra).

Example::

    @click.command()
    @cluster_options
    def sweep(..., workers, scheduler, scheduler_file):
        with executor_from_options(workers, scheduler, scheduler_file) as (executor, name):
            run_sweep(..., executor=executor, executor_name=name)
"""
from __future__ import annotations

import contextlib
import os

import click

from ._options import BoundedInt, OptionValueError

__all__ = ["cluster_options", "executor_from_options"]


def cluster_options(fn):
    """Add ``--workers N``, ``--scheduler ADDRESS`` and ``--scheduler-file FILE`` to a command.

    The command receives ``workers``, ``scheduler`` and ``scheduler_file`` (None when not
    given); pass them to :func:`executor_from_options`, which rejects combinations.
    """
    fn = click.option(
        "--scheduler-file", "scheduler_file", default=None, metavar="FILE",
        help="Use the Dask cluster whose scheduler wrote FILE (dask scheduler --scheduler-file, "
             "dask-jobqueue). Needs fastplan[dask].")(fn)
    fn = click.option(
        "--scheduler", "scheduler", default=None, metavar="ADDRESS",
        help="Use a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (workers need the same "
             "fastplan). Needs fastplan[dask].")(fn)
    fn = click.option(
        "--workers", "workers", type=BoundedInt(min=1), default=None, metavar="N",
        help="Run on a local Dask cluster of N worker processes (Numba threads per worker: "
             "cores // N, or --threads). Needs fastplan[dask].")(fn)
    return fn


def executor_from_options(workers=None, scheduler=None, scheduler_file=None, threads=None,
                          quiet: bool = False):
    """A context manager yielding ``(executor, executor_name)`` for ``run_sweep``.

    Parameters
    ----------
    workers, scheduler, scheduler_file
        The values of :func:`cluster_options`; at most one may be given.  None of them:
        ``(None, "in-process")``, the in-process sweep, without importing Dask.
    threads : int, optional
        Numba threads per worker (the command's ``--threads``).
    quiet : bool
        If False, one line per cluster step goes to stderr.

    Raises
    ------
    OptionValueError
        Two of the options together, an empty address, a missing scheduler file (one line,
        exit status 2).
    """
    given = [name for name, value in (("--workers", workers), ("--scheduler", scheduler),
                                      ("--scheduler-file", scheduler_file)) if value is not None]
    if len(given) > 1:
        raise OptionValueError(f"{' and '.join(given)} cannot be used together: give one")
    if not given:
        return contextlib.nullcontext((None, "in-process"))
    if scheduler is not None and not str(scheduler).strip():
        raise OptionValueError("invalid value for '--scheduler': empty address")
    if scheduler_file is not None:
        if not os.path.exists(scheduler_file):
            raise OptionValueError(f"invalid value for '--scheduler-file': {scheduler_file}: no such file")
        if os.path.isdir(scheduler_file):
            raise OptionValueError(f"invalid value for '--scheduler-file': {scheduler_file} is a folder")
    from fastplan.runs.distributed import cluster_executor   # lazy: Dask only when asked for

    say = None if quiet else (lambda line: click.echo(line, err=True))
    return cluster_executor(workers=workers, scheduler=str(scheduler).strip() if scheduler else None,
                            scheduler_file=scheduler_file, threads_per_worker=threads, say=say)
