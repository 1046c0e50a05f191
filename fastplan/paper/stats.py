"""Statistics over seeds: one rule for every table, figure, claim and CLI summary.

Cells
-----
A cell's values are its runs' finite values ordered by seed; NaN/inf runs are counted apart.
The spread is the sample standard deviation (ddof=1), undefined (NaN) for fewer than two seeds.
The **95% confidence interval of a cell mean** is Student's t interval,
``mean ± t_{0.975, n-1} · std / sqrt(n)`` (seeds are independent replicates; the interval
needs no random numbers, so tables are reproducible byte for byte).

Contrasts (claims)
------------------
A claim is decided by a *contrast* θ, a function of cell statistics that is > 0 exactly when
the claim holds.  Its interval is a **paired seed bootstrap**: one matrix of resampled seed
positions (``N_BOOT`` resamples of the n seeds, drawn with replacement by NumPy's PCG64 from
the fixed seed ``BOOT_SEED``) is applied to every cell at once, so a resample keeps each seed's
world, start and goal together across planners, geometries and horizons.  θ is recomputed on
each resample; the interval is the 2.5 and 97.5 percentiles (percentile bootstrap).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Level of every interval in the paper layer.
LEVEL = 0.95
#: Bootstrap resamples and the fixed seed of their generator (reproducible reports).
N_BOOT = 4000
BOOT_SEED = 20260614
#: z of a two-sided 95% test plus z of 80% power: the seed-count estimate of undecided claims.
Z_DECIDE = 1.959963984540054 + 0.8416212335729143


def t_quantile(n: int, level: float = LEVEL) -> float:
    """Two-sided Student-t quantile ``t_{(1+level)/2, n-1}`` (NaN for n < 2)."""
    if n < 2:
        return float("nan")
    from scipy.stats import t
    return float(t.ppf(0.5 + level / 2.0, n - 1))


@dataclass(frozen=True)
class Stat:
    """Mean, spread and 95% interval over seeds of one cell.

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
    def half_width(self) -> float:
        """Half-width of the 95% t interval of the mean (0 when every seed agrees)."""
        return t_quantile(self.n) * self.std / math.sqrt(self.n) if self.n >= 2 else float("nan")

    @property
    def ci(self) -> tuple[float, float]:
        """95% Student-t interval of the mean (NaN, NaN) for fewer than 2 seeds."""
        h = self.half_width
        return (self.mean - h, self.mean + h)

    @property
    def empty(self) -> bool:
        return self.n == 0

    def fmt(self, metric: str = "goal_distance") -> str:
        """``mean [lo, hi] (n)`` with the 95% interval; ``mean (1)`` for one seed; ``missing`` for none."""
        if self.empty:
            return "missing" if not self.n_nan else f"all NaN ({self.n_nan})"
        tail = f"{self.n}" + (f", {self.n_nan} NaN" if self.n_nan else "")
        if self.n < 2:
            return f"{fmt_num(self.mean, metric)} ({tail})"
        if self.std == 0:
            return f"{fmt_num(self.mean, metric)} ({tail})"
        lo, hi = self.ci
        return f"{fmt_num(self.mean, metric)} [{fmt_num(lo, metric)}, {fmt_num(hi, metric)}] ({tail})"


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


# --------------------------------------------------------------------------- paired bootstrap
def resample_indices(n: int, n_boot: int = N_BOOT, seed: int = BOOT_SEED) -> np.ndarray:
    """Seed positions of the paired bootstrap, shape (1 + n_boot, n).

    Row 0 is the identity (the data themselves: the point estimate); rows 1.. are ``n_boot``
    resamples with replacement from a generator with a fixed seed (same n, same rows).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    idx = np.empty((1 + n_boot, n), dtype=np.int64)
    idx[0] = np.arange(n)
    if n:
        idx[1:] = rng.integers(0, n, size=(n_boot, n))
    return idx


def boot_mean(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Mean of ``values`` (n,) (NaN = missing seed) on every row of ``idx``: shape (rows,)."""
    x = values[idx]
    ok = np.isfinite(x)
    cnt = ok.sum(axis=1)
    s = np.where(ok, x, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)


def boot_std(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sample std (ddof=1) of ``values`` on every row of ``idx`` (NaN with < 2 finite values)."""
    x = values[idx]
    ok = np.isfinite(x)
    cnt = ok.sum(axis=1)
    m = np.where(cnt > 0, np.where(ok, x, 0.0).sum(axis=1) / np.maximum(cnt, 1), 0.0)
    ss = np.where(ok, (x - m[:, None]) ** 2, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt >= 2, np.sqrt(ss / np.maximum(cnt - 1, 1)), np.nan)


@dataclass(frozen=True)
class Interval:
    """A contrast θ on the data (``estimate``), its bootstrap ``lo``/``hi`` and spread ``se``."""

    estimate: float
    lo: float
    hi: float
    se: float
    n: int

    @property
    def exact(self) -> bool:
        """True when no resample moves θ (no seed variation: e.g. sample counts)."""
        return bool(np.isfinite(self.estimate) and self.se == 0.0)


def interval(theta: np.ndarray, n: int, level: float = LEVEL) -> Interval:
    """Percentile interval of θ from its values on the rows of :func:`resample_indices`.

    ``theta[0]`` is the estimate; NaN resamples (a cell with no seed in the resample) are
    dropped.  A NaN estimate gives an all-NaN interval.
    """
    theta = np.asarray(theta, dtype=float).ravel()
    est = float(theta[0])
    boots = theta[1:]
    boots = boots[np.isfinite(boots)]
    if not np.isfinite(est) or boots.size == 0:
        return Interval(est, float("nan"), float("nan"), float("nan"), n)
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(boots, [a, 1.0 - a])
    se = float(np.std(boots, ddof=1)) if boots.size > 1 else 0.0
    if np.all(boots == boots[0]):
        lo = hi = float(boots[0])
        se = 0.0
    return Interval(est, float(lo), float(hi), se, n)


def seeds_needed(iv: Interval, z: float = Z_DECIDE) -> float | None:
    """Seeds at which an interval of the observed effect would exclude 0 with 80% power.

    ``n_needed = n · (z · se / θ)²`` with ``z = z_0.975 + z_0.80``: the bootstrap standard
    error shrinks like 1/sqrt(n), so the interval ``θ ± 1.96 se`` excludes 0 once
    ``|θ| ≥ 1.96 se(n)``, with probability 0.8 at ``|θ| = 2.80 se(n)``.  Assumes the
    observed effect is the true one; None when θ is 0 or not finite (no estimate).
    """
    if not (np.isfinite(iv.estimate) and np.isfinite(iv.se)) or iv.estimate == 0 or iv.n < 2:
        return None
    return float(math.ceil(iv.n * (z * iv.se / iv.estimate) ** 2))
