"""What the writer checks around a fold: the file's identity, free disk space, a reservation
for the fold's growth, quiet clean-up of HDF5 objects after a failed write, one-line reasons.

A full disk inside HDF5 is the dangerous case: HDF5 then fails while flushing its caches as
objects close; h5py prints every failure as it deallocates objects (tens of thousands of
traceback lines) and HDF5, whose half-closed objects remain, crashes at exit (segfault,
measured on a tmpfs).  So the writer (1) checks that the folder has room for the copy, the
fold's growth and a ballast before it starts; when the disk is tight (less than
:data:`CAREFUL_FACTOR` times that), it (2) reserves that growth in the temporary file
with ``posix_fallocate`` (HDF5 allocates at its end of address space, inside the reservation,
and truncates the file to what it used on close; a disk without the room fails here, before
HDF5 runs), (3) keeps every HDF5 object of the fold open and flushes the file while they are
open, so a full disk surfaces as one exception, and (4) then deletes the ballast file, whose
space lets HDF5's unavoidable final flush succeed, closes the file with failures silenced and
reports one line.
"""
from __future__ import annotations

import contextlib
import errno
import gc
import os
import shutil
import sys

import numpy as np

from ..engine.errors import FastplanError

#: errno values that mean "the disk (or a quota, or a file-size limit) is full".
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
#: Largest HDF5 chunk the writer creates (see ``writer._rows_per_chunk``).
CHUNK_BYTES = 256 * 1024


def identity(path) -> tuple | None:
    """(st_dev, st_ino, st_size, st_mtime_ns) of ``path``, or None if it does not exist.

    A file replaced by another one (a new inode), or changed in place (size or mtime),
    has another identity."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def fold_reserve(results) -> int:
    """Bytes a fold of ``results`` (unit result dicts) may add to the file: 1.25 x their arrays,
    one partly filled chunk per dataset of every configuration it touches, and 256 KiB of
    metadata (measured growth: 1.1-1.3 x the arrays)."""
    from .worlds import worlds_nbytes
    data, per_config = 0, {}
    for r in results:
        data += worlds_nbytes(r)            # the world models it carries (stored once at most)
        rows = 0
        for v in r.values():
            if isinstance(v, np.ndarray):
                data += v.nbytes
                if v.ndim and v.shape[0]:
                    rows += min(CHUNK_BYTES, 64 * (v.nbytes // v.shape[0]))
        for cid in np.atleast_1d(r.get("config_ids", [r.get("geometry", "")])).tolist():
            per_config[str(cid)] = max(per_config.get(str(cid), 0), rows)
    return int(1.25 * data) + sum(per_config.values()) + 256 * 1024


#: Below this many times a fold's need in free space, the fold reserves its growth and keeps
#: a ballast (each costs a few ms per fold on ext4, so roomy disks go without).
CAREFUL_FACTOR = 10


def check_free_space(folder: str, need: int, what: str) -> bool:
    """Refuse (:class:`FastplanError`) when ``folder``'s file system has less than ``need``
    bytes free; return whether the disk is tight (less than :data:`CAREFUL_FACTOR` x ``need``
    free, or unknown), i.e. whether the fold should reserve its space and keep a ballast."""
    from ..engine.budget import format_bytes
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return True
    if free < need:
        raise FastplanError(f"no space left in {folder}: {what} needs ~{format_bytes(need)} free, "
                            f"the disk has {format_bytes(free)}")
    return free < CAREFUL_FACTOR * need


def reserve(fn: str, nbytes: int) -> None:
    """Reserve ``nbytes`` of disk after the end of ``fn`` (``posix_fallocate``), so that HDF5's
    writes into that range cannot meet a full disk.  HDF5 truncates the file to the bytes it
    used when it closes it.  Raises OSError (ENOSPC) at once if the disk lacks the room."""
    fd = os.open(fn, os.O_RDWR)
    try:
        reserve_fd(fd, nbytes)
    finally:
        os.close(fd)


def reserve_fd(fd: int, nbytes: int) -> None:
    """``posix_fallocate`` of ``nbytes`` after the end of the open file ``fd`` (a file system
    without the call is left as is)."""
    if nbytes <= 0 or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, os.fstat(fd).st_size, int(nbytes))
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise


@contextlib.contextmanager
def silent_unraisable():
    """Silence "Exception ignored in ..." reports (h5py objects failing to close) in the block."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        yield
    finally:
        sys.unraisablehook = hook


def ballast_size(grow: int) -> int:
    """Bytes of the ballast file kept during a fold of expected growth ``grow``: a quarter of
    it, 256 KiB to 64 MiB (64 KiB sufficed in every tmpfs trial)."""
    return int(min(max(grow // 4, 256 * 1024), 64 * 2**20))


def make_ballast(fn: str, nbytes: int) -> None:
    """Reserve ``nbytes`` in a ballast file ``fn``: deleted when a fold fails, it gives HDF5
    the room its final flush needs."""
    fd = os.open(fn, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        reserve_fd(fd, nbytes)
    finally:
        os.close(fd)


def discard(f, ballast: str | None) -> None:
    """Close the h5py file ``f`` after a failed write, without a traceback flood or a crash.

    HDF5 cannot close a file without flushing it, and a flush that meets a full disk leaves
    its objects half-closed (which crashes HDF5 at exit).  So the ballast file is deleted
    first: its space lets the final flush succeed, and every object closes cleanly.  The
    file's content is garbage for the caller to delete."""
    if ballast:
        with contextlib.suppress(OSError):
            os.unlink(ballast)
    close_quietly(f)


def close_quietly(f) -> None:
    """Close an h5py file after a failed write: every object in it, once, failures silenced."""
    with silent_unraisable():
        for _ in range(2):
            try:
                f.close()
                break
            except Exception:
                continue
        gc.collect()


def collect_quietly() -> None:
    """Free leftover h5py objects of a failed write (e.g. held by a traceback), silently."""
    with silent_unraisable():
        gc.collect()


def reason(exc: BaseException) -> tuple[bool, str]:
    """(is the disk full?, a short reason) of an exception raised while writing a file."""
    text = str(exc).strip()
    full = getattr(exc, "errno", None) in DISK_FULL
    for code in DISK_FULL:
        if f"errno = {code}," in text or os.strerror(code) in text:
            full = True
    if "error message = '" in text:             # HDF5: "... error message = 'No space left ...'"
        short = text.split("error message = '", 1)[1].split("'", 1)[0]
    elif isinstance(exc, OSError) and exc.strerror:
        short = exc.strerror
    else:
        short = text or type(exc).__name__
    short = short.strip().splitlines()[0] if short.strip() else type(exc).__name__
    return full, short
