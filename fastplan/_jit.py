"""The one JIT policy of fastplan (DESIGN.md, kernel convention 1).

Every compiled function in the package is declared through :func:`kernel` (a
serial helper, inlinable into other kernels) or :func:`parallel_kernel` (a
``prange`` kernel).  Both cache to disk and use NumPy's error model.  The
fastmath flags allow FMA contraction, reciprocal approximation of divisions and
ignoring the sign of zero, but *not* ``nnan``/``ninf``: NaN and inf propagate
exactly as in NumPy, so a diverging plan shows up as NaN rather than as garbage.
"""
from __future__ import annotations

import os

import numba

#: fastmath flags shared by every kernel (NaN/inf semantics preserved).
FASTMATH = frozenset({"contract", "nsz", "arcp"})

_OPTIONS = dict(cache=True, error_model="numpy", fastmath=set(FASTMATH), nogil=True)


def kernel(fn):
    """Compile ``fn`` as a serial, cached kernel (usable inside other kernels)."""
    return numba.njit(**_OPTIONS)(fn)


def parallel_kernel(fn):
    """Compile ``fn`` as a cached ``parallel=True`` kernel (prange over problems x items)."""
    return numba.njit(parallel=True, **_OPTIONS)(fn)


def set_threads(n: int | None) -> int:
    """Set the number of Numba threads (``None``: leave as is); return the number in use."""
    if n is not None:
        if n < 1:
            raise ValueError(f"threads must be >= 1, got {n}")
        numba.set_num_threads(min(int(n), numba.config.NUMBA_NUM_THREADS))
    return numba.get_num_threads()


def max_threads() -> int:
    """Largest thread count Numba can use in this process."""
    return int(numba.config.NUMBA_NUM_THREADS)


def cache_dir() -> str | None:
    """The kernel cache folder when set through ``NUMBA_CACHE_DIR``, else ``None``."""
    return os.environ.get("NUMBA_CACHE_DIR") or None
