"""Input checks shared by the public API: one clear error instead of a Numba traceback."""
from __future__ import annotations

import numbers

import numpy as np


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
    if isinstance(d, bool) or not isinstance(d, numbers.Integral):
        raise FastplanError(f"latent dimension d must be an integer >= 1, got {d!r}")
    if d < 1:
        raise FastplanError(f"latent dimension d must be >= 1, got {d}")
    return int(d)


def check_positive_int(value, name: str) -> int:
    """Validate a positive integer such as a horizon or a sample count."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise FastplanError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_seed(seed) -> int:
    """Validate a seed: an integer in [0, 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise FastplanError(f"seed must be a non-negative integer, got {seed!r}")
    if not 0 <= seed < 2**63:
        raise FastplanError(f"seed must be in [0, 2**63), got {seed}")
    return int(seed)


def as_array(x, name: str, shape: tuple | None = None, ndim: int | None = None) -> np.ndarray:
    """Convert to a finite, C-contiguous float64 array, checking shape (None = any size)."""
    if x is None:
        raise FastplanError(f"{name} is missing (got None)")
    try:
        arr = np.ascontiguousarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FastplanError(f"{name} must be a numeric array: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise FastplanError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(arr.shape, shape)
        ):
            want = tuple("*" if w is None else w for w in shape)
            raise FastplanError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise FastplanError(f"{name} contains NaN or inf")
    return arr
