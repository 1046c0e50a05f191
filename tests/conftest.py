"""Shared test helpers: the plain-NumPy reference on sys.path and a Numba thread switch."""
from __future__ import annotations

import contextlib
import os
import sys

import pytest

_TESTS = os.path.dirname(os.path.abspath(__file__))
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)   # so that `from reference import ...` works everywhere


@contextlib.contextmanager
def numba_threads(n: int):
    """Run the block with ``n`` Numba threads, restoring the previous count afterwards."""
    import numba

    if n > numba.config.NUMBA_NUM_THREADS:
        raise RuntimeError(f"cannot use {n} Numba threads: NUMBA_NUM_THREADS="
                           f"{numba.config.NUMBA_NUM_THREADS}")
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def run_with_threads(fn, n: int, *args, **kwargs):
    """Call ``fn(*args, **kwargs)`` with ``n`` Numba threads; restore the count afterwards."""
    with numba_threads(n):
        return fn(*args, **kwargs)


@pytest.fixture
def with_threads():
    """Fixture form of :func:`run_with_threads`: ``with_threads(n, fn, *args, **kwargs)``."""

    def call(n, fn, *args, **kwargs):
        return run_with_threads(fn, n, *args, **kwargs)

    return call


@pytest.fixture
def thread_counts():
    """Thread counts a determinism test compares: (1, 2), or (1,) plus a clear failure if 2
    threads are unavailable (NUMBA_NUM_THREADS=1 would make the test vacuous)."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.fail("thread-determinism tests need NUMBA_NUM_THREADS >= 2")
    return (1, 2)
