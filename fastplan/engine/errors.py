"""Input checks shared by the public API: one clear error instead of a Numba traceback."""
from __future__ import annotations

import numbers

import numpy as np


#: Largest count (dimension, horizon, sample count, population) any check accepts: far beyond
#: memory, small enough that every size estimate stays a finite float.
MAX_INT = 2**62


class FastplanError(ValueError):
    """Bad input to fastplan (shown to CLI users as one line)."""


class FastplanWarning(UserWarning):
    """Legitimate but doubtful input or output: slow, capped, or not finite (the CLI shows
    it as one ``warning: ...`` line)."""


def check_choice(value, choices, what: str) -> str:
    """``value`` if it is one of ``choices``, else the one message for an unknown name."""
    if value not in choices:
        raise FastplanError(f"unknown {what} {value!r}; choose from {', '.join(choices)}")
    return value


def check_dim(d) -> int:
    """Validate a latent dimension ``d >= 1`` and return it as ``int``."""
    if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
        raise FastplanError(f"latent dimension d must be an integer >= 1, got {d!r}")
    if not 1 <= d <= MAX_INT:
        raise FastplanError(f"latent dimension d must be >= 1 (and <= 2**62), got {d}")
    return int(d)


def check_positive_int(value, name: str) -> int:
    """Validate a positive integer such as a horizon or a sample count."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or not 1 <= value <= MAX_INT:
        raise FastplanError(f"{name} must be an integer >= 1 (and <= 2**62), got {value!r}")
    return int(value)


def check_seed(seed) -> int:
    """Validate a seed: an integer in [0, 2**63)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise FastplanError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0 <= seed < 2**63:
        raise FastplanError(f"seed must be in [0, 2**63), got {seed}")
    return int(seed)


def check_stream(stream) -> int:
    """Validate a sample stream number: an integer in [0, 2**24)."""
    if isinstance(stream, (bool, np.bool_)) or not isinstance(stream, numbers.Integral) \
            or not 0 <= stream < 2**24:
        raise FastplanError(f"sample stream must be an integer in [0, 2**24), got {stream!r}")
    return int(stream)


def check_number(value, name: str, minimum: float | None = None) -> float:
    """A finite real number (``minimum``: the least value allowed), as ``float``.

    Numbers and numeric strings are accepted; bool, None, arrays of more than one value,
    complex numbers, NaN and inf are refused with one line."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise FastplanError(f"{name} must be a finite number, got {value!r}")
    if np.ndim(value) == 0 and isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        value = value.item()
    if not isinstance(value, (numbers.Real, str)):
        raise FastplanError(f"{name} must be a finite number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise FastplanError(f"{name} must be a finite number, got {value!r}") from None
    if not np.isfinite(v):
        raise FastplanError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and v < minimum:
        raise FastplanError(f"{name} must be >= {minimum:g}, got {v:g}")
    return v


def check_lambda(lam) -> float:
    """The smoothness weight lambda of Eq. 5: a finite number >= 0."""
    return check_number(lam, "lambda", minimum=0.0)


def check_scale(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` (n, d), finite, unless its squared pairwise distances and their sums over all rows
    could overflow (``4 n d max|x|^2`` not finite): then one line asking to rescale."""
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    if not np.isfinite(4.0 * x.size * scale * scale):
        raise FastplanError(f"{name} reach |x| = {scale:.3g}: their squared distances overflow; rescale them")
    return x


#: dtype kinds :func:`as_array` accepts: signed and unsigned integers and real floats.
REAL_KINDS = "iuf"


def as_array(x, name: str, shape: tuple | None = None, ndim: int | None = None,
             finite: bool = True) -> np.ndarray:
    """Convert to a C-contiguous float64 array of real numbers, checking shape (None = any
    size) and, with ``finite``, that it holds no NaN or inf.

    Lists and arrays of integers or floats of any precision, non-contiguous or read-only
    arrays are accepted (a float64 C-contiguous array is returned as it is, anything else
    copied); strings, None, bool, complex and object arrays (ragged lists, ``None``
    entries) are refused with one line, and a copy that cannot fit in memory
    (:mod:`fastplan.engine.budget`) is refused before it is made.
    """
    if x is None:
        raise FastplanError(f"{name} is missing (got None)")
    if isinstance(x, (str, bytes)):
        raise FastplanError(f"{name} must be a numeric array, got the string {x[:40]!r}")
    try:
        raw = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - ragged lists, objects that fail to convert
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FastplanError(f"{name} must be a numeric array: {msg}") from None
    if raw.dtype.kind not in REAL_KINDS:
        what = {"b": "bool", "c": "complex", "O": "objects (a ragged list or None entries?)",
                "U": "strings", "S": "bytes"}.get(raw.dtype.kind, str(raw.dtype))
        raise FastplanError(f"{name} must be a numeric array of real numbers, got {what}")
    if ndim is not None and raw.ndim != ndim:
        raise FastplanError(f"{name} must have {ndim} dimensions, got shape {raw.shape}")
    if shape is not None:
        if raw.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(raw.shape, shape)
        ):
            want = tuple("*" if w is None else w for w in shape)
            raise FastplanError(f"{name} must have shape {want}, got {raw.shape}")
    arr = raw
    if raw.dtype != np.float64 or not raw.flags.c_contiguous:
        from . import budget
        budget.check_memory(8 * raw.size, f"a float64 copy of {name} {raw.shape}")
        arr = np.array(raw, dtype=np.float64, order="C")
    if finite and not np.all(np.isfinite(arr)):
        raise FastplanError(f"{name} contains NaN or inf")
    return arr
