"""The paired seed bootstrap over a :class:`~fastplan.paper.results.Results`.

:class:`Paired` hands out cell statistics as arrays of shape ``(1 + N_BOOT,)``: entry 0 on
the data, entries 1.. on the resamples of :func:`fastplan.paper.stats.resample_indices`.  All
cells share one matrix of resampled seeds, so a contrast of cells (planner A minus planner
B, d = 16 over d = 4, ...) is computed per resample from cells resampled *together*: the
pairing of seeds (same world, start and goal for a given (d, seed)) is kept.

A seed missing from a cell (or NaN there) is left out of that cell's statistic on every
resample that draws it; a cell with no seeds at all is ``None`` (missing).
"""
from __future__ import annotations

import numpy as np

from . import PAPER_GEOMETRIES as KINDS
from .results import Results
from .stats import N_BOOT, boot_mean, boot_std, resample_indices


class Paired:
    """Paired-bootstrap statistics of the cells of ``res``.

    Parameters
    ----------
    res : Results
    n_boot : int
        Resamples (the generator's seed is fixed: same data, same intervals).
    """

    def __init__(self, res: Results, n_boot: int = N_BOOT):
        self.res = res
        seeds = set(res.seeds)
        if res.gm:
            seeds |= {int(s) for s in res.gm["seed"]}
        self.seeds = sorted(seeds)
        self.pos = {s: i for i, s in enumerate(self.seeds)}
        self.idx = resample_indices(len(self.seeds), n_boot)
        self.counts: list[int] = []          # seeds with data in each cell used (see :meth:`reset`)
        self._cache: dict = {}

    def _cached(self, key, make):
        """(seed count, array) of a cell statistic, computed once per bootstrap."""
        if key not in self._cache:
            self._cache[key] = make()
        n, arr = self._cache[key]
        if arr is not None:
            self.counts.append(n)
        return arr

    def _stat(self, by_seed: dict, fn, need: int = 1):
        v = np.full(len(self.seeds), np.nan)
        for s, x in by_seed.items():
            if s in self.pos:
                v[self.pos[s]] = x
        n = int(np.isfinite(v).sum())
        return (n, fn(v, self.idx)) if n >= need else (n, None)

    def reset(self) -> None:
        """Start recording the cells of a new contrast (for its seed count)."""
        self.counts = []

    @property
    def n_used(self) -> int:
        """Fewest seeds with data among the cells used since :meth:`reset`."""
        return min(self.counts) if self.counts else 0

    # -- run cells
    def mean(self, metric: str, planner: str, geometry: str, d: int, h: int) -> np.ndarray | None:
        """Mean over seeds of one cell, per resample (None when the cell is missing)."""
        return self._cached(("mean", metric, planner, geometry, d, h), lambda: self._stat(
            self.res.seed_values(metric, planner, geometry, d, h), boot_mean))

    def std(self, metric: str, planner: str, geometry: str, d: int, h: int) -> np.ndarray | None:
        """Sample std over seeds (ddof=1) of one cell, per resample (None with < 2 seeds)."""
        return self._cached(("std", metric, planner, geometry, d, h), lambda: self._stat(
            self.res.seed_values(metric, planner, geometry, d, h), boot_std, need=2))

    def _avg(self, maps) -> tuple:
        if any(not m for m in maps):
            return 0, None
        common = set.intersection(*(set(m) for m in maps))
        return self._stat({s: float(np.mean([m[s] for m in maps])) for s in common}, boot_mean)

    def gavg(self, metric: str, planner: str, d: int, h: int, geometries=KINDS) -> np.ndarray | None:
        """G(planner, d): per seed the mean over ``geometries``, then the mean over seeds."""
        return self._cached(("gavg", metric, planner, d, h, tuple(geometries)), lambda: self._avg(
            [self.res.seed_values(metric, planner, g, d, h) for g in geometries]))

    def baseline(self, name: str, d: int, h: int, geometries=KINDS) -> np.ndarray | None:
        """Geometry-averaged baseline (``zero_action_distance``, ``initial_distance``)."""
        return self._cached(("baseline", name, d, h, tuple(geometries)), lambda: self._avg(
            [self.res.baseline_values(name, g, d, h) for g in geometries]))

    # -- geometry metrics
    def gmean(self, metric: str, geometry: str, d: int) -> np.ndarray | None:
        """Mean over seeds of a geometry metric (Sec. 2.4), per resample."""
        def make():
            if not self.res.gm:
                return 0, None
            gm = self.res.gm
            sel = (gm["geometry"] == geometry) & (gm["d"] == int(d))
            return self._stat({int(s): float(x) for s, x in zip(gm["seed"][sel], gm[metric][sel])}, boot_mean)
        return self._cached(("gmean", metric, geometry, d), make)


# --------------------------------------------------------------------------- vectorised helpers
def loglog_slope(x, Y) -> np.ndarray:
    """Least-squares slope of log Y against log x, column-wise.

    x : (k,) positive; Y : (k, m) (or (k,)).  NaN where k < 2 or a Y entry is <= 0.
    """
    x = np.asarray(x, dtype=float)
    Y = np.asarray(Y, dtype=float)
    one = Y.ndim == 1
    Y = Y[:, None] if one else Y
    if x.size < 2 or np.any(x <= 0):
        out = np.full(Y.shape[1], np.nan)
    else:
        lx = np.log(x)
        dx = lx - lx.mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            ly = np.where(Y > 0, np.log(np.where(Y > 0, Y, 1.0)), np.nan)
        out = (dx[:, None] * (ly - ly.mean(axis=0))).sum(axis=0) / np.sum(dx * dx)
    return out[0] if one else out


def ranks(X: np.ndarray) -> np.ndarray:
    """Ranks along axis 0 (average ranks of ties), column-wise; X : (k, m)."""
    from scipy.stats import rankdata
    return rankdata(np.asarray(X, dtype=float), method="average", axis=0) - 1.0


def spearman(X, Y) -> np.ndarray:
    """Spearman rank correlation of X and Y (k, m) column-wise (NaN when undefined, k < 3)."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    one = X.ndim == 1
    X, Y = (X[:, None], Y[:, None]) if one else (X, Y)
    if X.shape[0] < 3:
        out = np.full(X.shape[1], np.nan)
    else:
        rx, ry = ranks(X), ranks(Y)
        rx -= rx.mean(axis=0)
        ry -= ry.mean(axis=0)
        den = np.sqrt((rx * rx).sum(axis=0) * (ry * ry).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, (rx * ry).sum(axis=0) / np.where(den > 0, den, 1.0), np.nan)
    return out[0] if one else out
