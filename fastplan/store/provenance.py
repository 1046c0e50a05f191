"""Provenance recorded with every sweep session: versions, threads, command line, host."""
from __future__ import annotations

import datetime as _dt
import platform
import sys

import numpy as np


def provenance(threads: int | None = None, command_line: str | None = None,
               executor: str = "in-process") -> dict:
    """Provenance of a sweep session: versions, threads, command line, date, host."""
    import h5py
    import numba

    from .. import __version__
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
