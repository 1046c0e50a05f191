"""Memory and time estimates, checked before anything large is allocated.

A plan's memory is its inputs (the stacked world models, ``2 P d^2`` floats), the geometry's
prior moments, the planner's scratch (each kernel module's ``scratch_bytes``, written next to
the allocations it describes) and the outputs.  Requests that cannot fit in this machine's
memory are refused with :class:`FastplanError` naming the number; slow but legitimate ones get
a :class:`FastplanWarning` with a time estimate.  No psutil: the memory is ``os.sysconf``
(physical pages), lowered by a cgroup limit (``/sys/fs/cgroup/memory.max``) or by the
environment variable ``FASTPLAN_MEMORY_LIMIT`` (bytes, or with a K/M/G/T suffix).

Speeds are rough constants measured on one core (x86-64, 2024): a thread does about
:data:`WEIGHT_PER_SECOND` units of the sweep's work measure ``rollouts x T x (4 d^2 + 30 d)``
(0.8e9 to 6e9 measured over the five planners at d = 4..32) and :data:`PAIRS_PER_SECOND`
pairwise-distance terms ``pairs x d`` (4e8 to 6e8).  Estimates are good to a factor of ~3.
"""
from __future__ import annotations

import math
import os
import re
import time
import warnings

from .errors import FastplanError, FastplanWarning

#: Work measure (rollouts x T x (4 d^2 + 30 d)) one Numba thread does per second (rough).
WEIGHT_PER_SECOND = 2e9
#: Pairwise-distance terms (pairs x d) one Numba thread does per second (rough).
PAIRS_PER_SECOND = 5e8
#: Dense eigenvalue work per second (LAPACK geev, ~25 d^3 flops), rough.
FLOPS_PER_SECOND = 5e9
#: A single computation estimated to take longer than this is warned about.
SLOW_SECONDS = 60.0
_F8 = 8   # bytes of a float64 / int64


# --------------------------------------------------------------------------- the machine

def physical_memory() -> int | None:
    """Physical memory in bytes (``os.sysconf``), or None where the OS does not say."""
    try:
        n = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None
    return int(n) if n > 0 else None


def _parse_bytes(text: str) -> int | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", str(text).lower())
    if not m:
        return None
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def _cgroup_limit() -> int | None:
    for fn in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(fn) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


#: Seconds the machine's memory limits (physical pages, cgroup file) are reused before they
#: are read again: a sweep checks memory thousands of times, and each read opens two files.
MACHINE_LIMITS_TTL = 1.0
_MACHINE_LIMITS: list = []      # [(monotonic time read, physical bytes, cgroup bytes)]


def _machine_limits() -> tuple[int | None, int | None]:
    """(physical memory, cgroup limit), read at most once per :data:`MACHINE_LIMITS_TTL`."""
    now = time.monotonic()
    if not _MACHINE_LIMITS or now - _MACHINE_LIMITS[0][0] > MACHINE_LIMITS_TTL:
        _MACHINE_LIMITS[:] = [(now, physical_memory(), _cgroup_limit())]
    return _MACHINE_LIMITS[0][1], _MACHINE_LIMITS[0][2]


def memory_limit() -> tuple[int | None, str]:
    """(bytes one computation may use, where that number comes from)."""
    env = os.environ.get("FASTPLAN_MEMORY_LIMIT")
    if env:
        n = _parse_bytes(env)
        if n is None:
            raise FastplanError(f"FASTPLAN_MEMORY_LIMIT={env!r} is not a size (e.g. 8G)")
        return n, "FASTPLAN_MEMORY_LIMIT"
    phys, cg = _machine_limits()
    if cg is not None and (phys is None or cg < phys):
        return cg, "its cgroup memory limit"
    return phys, "physical memory"


def format_bytes(n: float) -> str:
    """``1.5 GiB``, ``120 MiB``, ``12 KiB``."""
    n = float(n)
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            v = n / size
            return f"{v:,.0f} {unit}" if v >= 100 else f"{v:.1f} {unit}"
    return f"{n:.0f} bytes"


def format_duration(s: float) -> str:
    """``40 s``, ``12 min``, ``3.5 h``, ``4 days``, ``2 years``."""
    if not math.isfinite(s):
        return "forever"
    for unit, size, least in (("years", 365 * 86400, 2), ("days", 86400, 2), ("h", 3600, 1),
                              ("min", 60, 1)):
        if s >= least * size:
            v = s / size
            return f"{v:,.0f} {unit}" if v >= 10 else f"{v:.1f} {unit}"
    return f"{max(s, 1.0):.0f} s"


def threads_now() -> int:
    import numba
    return int(numba.get_num_threads())


# --------------------------------------------------------------------------- estimates

def world_bytes(d: int) -> int:
    """Peak memory of building one world model of Eq. 4: G, A, B (d, d) and the eigenvalue
    solver's copy and work arrays (about 3 d^2 more)."""
    return _F8 * 6 * d * d


def world_seconds(d: int) -> float:
    """Time of building one world model: the eigenvalues of a d x d matrix (~25 d^3 flops)."""
    return 25.0 * float(d) ** 3 / FLOPS_PER_SECOND


def plan_bytes(planner: str, hp: dict, P: int, T: int, d: int, threads: int | None = None,
               usage: str = "prior") -> int:
    """Peak memory of planning P problems (d, horizon T) with ``planner`` and ``hp``.

    The stacked world models and states (``2 P d^2 + 3 P d``), the prior moments of a
    geometry (its (d, d) covariance, ``usage="prior"``), the planner's scratch (its kernel
    module's ``scratch_bytes(P, T, d, hp, threads)``), the outputs and the final evaluation.
    """
    from . import registry
    threads = threads or threads_now()
    inputs = 2 * P * d * d + 3 * P * d
    moments = 2 * d * d if usage == "prior" else 0
    outputs = P * T * d + P * (T + 1) * d + 3 * P
    scratch = 0
    scratch_fn = getattr(registry.planner(planner).module(), "scratch_bytes", None)
    if scratch_fn is not None:
        scratch = int(scratch_fn(int(P), int(T), int(d), hp, int(threads)))
    return _F8 * (inputs + moments + outputs) + scratch


def plan_seconds(planner: str, hp: dict, P: int, T: int, d: int, threads: int | None = None) -> float:
    """Rough planning time of P problems: expected rollouts x T x (4 d^2 + 30 d) per problem."""
    from . import registry
    threads = threads or threads_now()
    rollouts = registry.planner(planner).expected_rollouts(hp, T, d)
    return P * rollouts * T * (4.0 * d * d + 30.0 * d) / (WEIGHT_PER_SECOND * threads)


def metrics_bytes(n: int, d: int) -> int:
    """Peak memory of :func:`fastplan.engine.metrics.geometry_metrics` with n samples at d:
    the samples and three (n, d) temporaries, the covariance and its eigen-solver."""
    return _F8 * (5 * n * d + 3 * d * d + n)


def metrics_seconds(n: int, d: int, threads: int | None = None) -> float:
    """Rough time of one geometry-metric estimate: n (n - 1) / 2 pairwise distances in d."""
    threads = threads or threads_now()
    return (n * (n - 1) / 2.0 * d) / (PAIRS_PER_SECOND * threads) + world_seconds(d) / 25.0


# --------------------------------------------------------------------------- checks

def check_memory(need: int, what: str, advice: str = "") -> None:
    """Refuse (:class:`FastplanError`) when ``need`` bytes exceed :func:`memory_limit`."""
    limit, source = memory_limit()
    if limit is None or need <= limit:
        return
    where = "this machine has" if source == "physical memory" else f"{source} allows"
    raise FastplanError(f"{what} needs ~{format_bytes(need)} of memory; {where} "
                        f"{format_bytes(limit)}" + (f"; {advice}" if advice else ""))


def warn_slow(seconds: float, what: str, advice: str = "", stacklevel: int = 3) -> None:
    """A :class:`FastplanWarning` when ``seconds`` exceeds :data:`SLOW_SECONDS`."""
    if seconds > SLOW_SECONDS:
        warnings.warn(FastplanWarning(f"{what} will take ~{format_duration(seconds)} "
                                      f"(rough estimate){'; ' + advice if advice else ''}"),
                      stacklevel=stacklevel)


def check_world(d: int) -> None:
    """Refuse a world model that cannot fit in memory; warn when building it is slow."""
    check_memory(world_bytes(d), f"the world model at d={d} (A, B: d x d)", "use a smaller d")
    warn_slow(world_seconds(d), f"building the world model at d={d} (eigenvalues of a d x d matrix)")


def check_plan(planner: str, hp: dict, P: int, T: int, d: int, threads: int | None = None,
               usage: str = "prior") -> int:
    """Refuse a plan that cannot fit in memory (before anything is allocated); returns the
    estimate in bytes."""
    need = plan_bytes(planner, hp, P, T, d, threads, usage)
    what = f"planning {P} problem{'s' if P != 1 else ''} with {planner} at d={d}, horizon {T}"
    check_memory(need, what, "use a smaller d, horizon or sample count (population, samples)"
                 + (", or fewer problems per batch" if P > 1 else ""))
    return need


def check_metrics(n: int, d: int, what: str = "one geometry-metric estimate") -> None:
    """Refuse metrics that cannot fit in memory; warn when they are slow."""
    check_memory(metrics_bytes(n, d), f"{what} with {n} samples at d={d}", "use fewer samples")
