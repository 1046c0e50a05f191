"""The one JIT policy of fastplan (DESIGN.md, kernel convention 1).

Every compiled function in the package is declared through :func:`kernel` (a
serial helper, inlinable into other kernels) or :func:`parallel_kernel` (a
``prange`` kernel).  Both cache to disk and use NumPy's error model.  The
fastmath flags allow FMA contraction, reciprocal approximation of divisions and
ignoring the sign of zero, but *not* ``nnan``/``ninf``: NaN and inf propagate
exactly as in NumPy, so a diverging plan shows up as NaN rather than as garbage.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numba
from numba.core import caching as _caching

from .arithmetic import ARITHMETIC, DEFAULT as _DEFAULT_ARITHMETIC


def _source_hash() -> str:
    """Hash of every fastplan source file and the Numba version.

    Numba invalidates a cached kernel only when *its own* file changes, not when a helper
    it inlines changes; keying the cache folder on all sources makes stale kernels
    impossible (after an upgrade or an edit, kernels recompile once).  A non-default
    arithmetic mode (``FASTPLAN_ARITHMETIC=fast``) enters the hash too, so exact and fast
    kernels never share a folder (the exact mode's folder is unchanged).
    """
    pkg = Path(__file__).resolve().parent.parent      # the whole fastplan package
    h = hashlib.sha1(numba.__version__.encode())
    if ARITHMETIC != _DEFAULT_ARITHMETIC:
        h.update(f"arithmetic={ARITHMETIC}".encode())
    for path in sorted(pkg.rglob("*.py")):
        h.update(path.relative_to(pkg).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _cache_folder() -> str:
    """``<NUMBA_CACHE_DIR or ~/.cache/fastplan>/kernels-<hash>``, or a private temporary
    folder when that is not writable."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "fastplan")
    folder = os.path.join(base, f"kernels-{_source_hash()}")
    try:
        os.makedirs(folder, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, delete=True)
        probe.close()
    except OSError:   # unwritable home: fall back to a private temporary folder
        folder = os.path.join(tempfile.gettempdir(), f"fastplan-kernels-{os.getuid()}-{_source_hash()}")
        os.makedirs(folder, exist_ok=True)
    return folder


#: Folder of this process's kernel cache (fastplan's kernels only).
CACHE_DIR = _cache_folder()
_PACKAGE = str(Path(__file__).resolve().parent.parent)


class _FastplanCacheLocator(_caching._SourceFileBackedLocatorMixin, _caching._CacheLocator):
    """Numba cache locator for functions defined in fastplan's own source files only.

    Their kernels go to :data:`CACHE_DIR` (keyed on all fastplan sources); every other
    function in the process is located by Numba's own locators exactly as before, and
    ``numba.config`` is never touched.
    """

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(CACHE_DIR, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            inside = os.path.commonpath([os.path.realpath(py_file), _PACKAGE]) == _PACKAGE
        except ValueError:      # another drive, or a relative placeholder such as "<stdin>"
            inside = False
        if not inside:
            return None
        return super().from_function(py_func, py_file)


def _install_locator() -> None:
    """Put the fastplan locator first (once); it declines every function not in fastplan."""
    classes = _caching.CacheImpl._locator_classes
    if not any(k.__name__ == _FastplanCacheLocator.__name__ and k.__module__ == __name__
               for k in classes):
        classes.insert(0, _FastplanCacheLocator)


_install_locator()

#: fastmath flags shared by every kernel (NaN/inf semantics preserved).
FASTMATH = frozenset({"contract", "nsz", "arcp"})

_OPTIONS = dict(cache=True, error_model="numpy", fastmath=set(FASTMATH), nogil=True)


def kernel(fn=None, *, inline: bool = False):
    """Compile ``fn`` as a serial, cached kernel (usable inside other kernels).

    ``inline=True`` inlines the function into its callers at Numba-IR level (for tiny
    helpers on hot paths, so that the caller's loop can vectorise).
    """
    if fn is None:
        return lambda f: kernel(f, inline=inline)
    return numba.njit(inline="always" if inline else "never", **_OPTIONS)(fn)


def exact_kernel(fn=None, *, inline: bool = False):
    """Compile ``fn`` as a serial, cached kernel with strict IEEE arithmetic (no fastmath).

    Used for the random-number transforms, whose NumPy twin in ``tests/reference.py`` must
    reproduce every bit: without ``contract`` no multiply-add is fused.  Inline exact
    helpers only into exact callers (inlining at IR level adopts the caller's flags).
    """
    if fn is None:
        return lambda f: exact_kernel(f, inline=inline)
    # fastmath=False must be explicit: an unset option is inherited from the first
    # (fastmath) kernel that calls the helper, which would fuse multiply-adds.
    return numba.njit(inline="always" if inline else "never", cache=True, error_model="numpy",
                      fastmath=False, nogil=True)(fn)


def parallel_kernel(fn):
    """Compile ``fn`` as a cached ``parallel=True`` kernel (prange over problems x items)."""
    return numba.njit(parallel=True, **_OPTIONS)(fn)


def set_threads(n: int | None) -> int:
    """Set the number of Numba threads (``None``: leave as is); return the number in use.

    More than Numba's pool holds (``NUMBA_NUM_THREADS``) is capped, with a
    :class:`~fastplan.engine.errors.FastplanWarning`."""
    if n is not None:
        if n < 1:
            raise ValueError(f"threads must be >= 1, got {n}")
        cap = numba.config.NUMBA_NUM_THREADS
        if n > cap:
            import warnings

            from .errors import FastplanWarning
            warnings.warn(FastplanWarning(
                f"{n} threads asked for; capped to {cap}, the most Numba may use in this process "
                f"(NUMBA_NUM_THREADS, by default the number of cores)"), stacklevel=2)
        numba.set_num_threads(min(int(n), cap))
    return numba.get_num_threads()


def max_threads() -> int:
    """Largest thread count Numba can use in this process."""
    return int(numba.config.NUMBA_NUM_THREADS)


def cache_dir() -> str:
    """The folder holding this version's compiled kernels."""
    return CACHE_DIR
