"""Per-iteration traces of plans: best cost so far, mean cost and cumulative rollouts.

A planner's kernel module that can record a trace provides ``trace_rows(hp, T, d) -> R`` and fills
``inputs["trace"]``, an array (P, R, 3) put there between its ``prepare`` and ``run``, with one row
per iteration: (cheapest Eq. 5 cost evaluated so far, mean cost of the row's evaluations,
rollouts performed so far).  Recording changes no plan (the kernels only write the array).
What a row is, per planner, is in the README ("Anytime curves").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FastplanError


@dataclass(frozen=True)
class Trace:
    """Traces of one plan (arrays of shape (R,)) or of a batch ((P, R)).

    best : cheapest Eq. 5 cost evaluated up to and including the row (non-increasing)
    mean : mean Eq. 5 cost of the row's evaluations (for a descent: the iterate's cost)
    rollouts : world-model rollouts performed up to and including the row (increasing; the last
        row's count is the plan's ``samples``)
    """

    best: np.ndarray
    mean: np.ndarray
    rollouts: np.ndarray

    @classmethod
    def from_array(cls, arr: np.ndarray) -> "Trace":
        """From a kernel's (..., R, 3) array."""
        return cls(best=arr[..., 0].copy(), mean=arr[..., 1].copy(),
                   rollouts=arr[..., 2].astype(np.int64))

    def __getitem__(self, p) -> "Trace":
        return Trace(self.best[p], self.mean[p], self.rollouts[p])

    def __len__(self) -> int:
        return int(self.best.shape[0])

    def as_array(self) -> np.ndarray:
        """The (..., R, 3) float array (best, mean, rollouts)."""
        return np.stack([self.best, self.mean, self.rollouts.astype(np.float64)], axis=-1)

    def __repr__(self) -> str:
        if self.best.ndim == 1 and self.best.size:
            return (f"Trace({self.best.size} rows: best {self.best[0]:.4g} -> {self.best[-1]:.4g} "
                    f"over {int(self.rollouts[-1])} rollouts)")
        return f"Trace(shape {self.best.shape})"


def trace_rows(module, name: str, hp: dict, T: int, d: int) -> int:
    """Rows of one plan's trace; :class:`FastplanError` for a planner that records none."""
    rows = getattr(module, "trace_rows", None)
    if rows is None:
        raise FastplanError(f"planner {name} records no per-iteration trace (its kernel module has "
                            "no trace_rows)")
    return int(rows(hp, T, d))


def new_trace(module, name: str, hp: dict, P: int, T: int, d: int) -> np.ndarray:
    """The (P, R, 3) array a kernel fills, NaN until written."""
    return np.full((P, trace_rows(module, name, hp, T, d), 3), np.nan)
