"""Statistics over seeds: one rule for every table, figure, claim and CLI summary.

A cell's values are its runs' finite values ordered by seed; NaN/inf runs are counted apart.
The spread is the sample standard deviation (ddof=1), undefined (NaN) for fewer than two seeds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class Stat:
    """Mean and spread over seeds of one cell.

    Attributes
    ----------
    values : ndarray, shape (n,)
        Finite values, ordered by seed.
    n_nan : int
        Runs of the cell whose value is NaN/inf (excluded from the statistics).
    """

    values: np.ndarray
    n_nan: int = 0

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.n else float("nan")

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (ddof=1); NaN for fewer than 2 seeds."""
        return float(np.std(self.values, ddof=1)) if self.n >= 2 else float("nan")

    @property
    def empty(self) -> bool:
        return self.n == 0

    def fmt(self, metric: str = "goal_distance") -> str:
        """``mean ± std (n)``; ``mean (1)`` for one seed; ``missing`` for none."""
        if self.empty:
            return "missing" if not self.n_nan else f"all NaN ({self.n_nan})"
        tail = f"{self.n}" + (f", {self.n_nan} NaN" if self.n_nan else "")
        if self.n < 2:
            return f"{fmt_num(self.mean, metric)} ({tail})"
        return f"{fmt_num(self.mean, metric)} ± {fmt_num(self.std, metric)} ({tail})"


def make_stat(values) -> Stat:
    v = np.asarray(values, dtype=float).ravel()
    ok = np.isfinite(v)
    return Stat(values=v[ok], n_nan=int(np.sum(~ok)))


def fmt_num(x: float, metric: str = "goal_distance") -> str:
    """Format a number for a table: integers for counts, 3 decimals otherwise."""
    if x is None or not np.isfinite(x):
        return "—"
    if metric in ("samples", "steps"):
        return f"{x:.0f}"
    if abs(x) >= 100:
        return f"{x:.1f}"
    if x != 0 and abs(x) < 0.01:
        return f"{x:.2g}"
    return f"{x:.3f}"
