"""Shared fixtures and helpers of the fastplan benchmarks (``pytest bench/ --benchmark-only``).

Every benchmark warms up (calls its function once, compiling or loading the Numba cache)
before ``benchmark.pedantic`` times it; the number of rounds is calibrated from the
warm-up so that each benchmark takes about ``--fp-budget`` seconds.  Each benchmark adds
a record to :data:`RECORDS`; at the end of the session the summary table with all
speed ratios is printed (and written with ``--fp-summary DIR``).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest

from bench.run_benchmarks import summarize

#: One dict per measurement: section, key, impl, time (s, best of the timed rounds), median, rounds
#: and extra values.
RECORDS: list[dict] = []


def pytest_addoption(parser):
    group = parser.getgroup("fastplan benchmarks")
    group.addoption("--fp-budget", type=float, default=1.0,
                    help="seconds of timed rounds per benchmark (default 1.0)")
    group.addoption("--numpy-full-grid", action="store_true",
                    help="time the whole NumPy grid (slow) besides the extrapolation")
    group.addoption("--fp-summary", metavar="DIR", help="write summary.md and summary.json to DIR")


def pytest_configure(config):
    config.addinivalue_line("markers", "cold: compiles in a fresh process with an empty Numba cache (slow)")
    config.addinivalue_line("markers", "contention: runs with competing CPU-bound processes (1-2 minutes)")


def cpu_sample():
    """(busy core-seconds of the whole machine, core-seconds of this process and its
    finished children, wall clock) from /proc/stat and os.times(); None off Linux."""
    try:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return None
    t = os.times()
    busy = (sum(vals) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK")
    return busy, t.user + t.system + t.children_user + t.children_system, time.monotonic()


def foreign_share(a, b):
    """Fraction of the machine's cores used by *other* processes between two samples."""
    if a is None or b is None or b[2] <= a[2]:
        return None
    return max(0.0, ((b[0] - a[0]) - (b[1] - a[1])) / ((b[2] - a[2]) * (os.cpu_count() or 1)))


_SESSION: dict = {}


def pytest_sessionstart(session):
    _SESSION["start"] = cpu_sample()


def _stats(benchmark):
    """(best, median, rounds) of the timed rounds; Nones when benchmarking is disabled."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:
        return None, None, None
    return float(stats.stats.min), float(stats.stats.median), int(stats.stats.rounds)


class Timer:
    """Calibrated timing through pytest-benchmark plus a record for the summary."""

    def __init__(self, benchmark, budget):
        self.benchmark = benchmark
        self.budget = budget

    def __call__(self, fn, *, section, key, impl=None, warmup=None, scale=1.0, min_rounds=1, max_rounds=200,
                 once=False, **extra):
        """Warm up, time ``fn`` and record its best (and median) time per call.

        warmup : callable, optional
            Called once before timing (default: ``fn``); its duration times ``scale``
            estimates one call of ``fn`` for calibrating the rounds.
        once : bool
            No warm-up and a single timed call (for measurements that warm up themselves,
            or that run in a fresh process).
        """
        before = cpu_sample()
        if once:
            iterations = rounds = 1
        else:
            t0 = time.perf_counter()
            (warmup or fn)()
            est = max((time.perf_counter() - t0) * scale, 1e-7)
            iterations = max(1, int(math.ceil(2e-3 / est))) if est < 2e-3 else 1
            rounds = int(min(max_rounds, max(min_rounds, self.budget // (est * iterations))))
        result = self.benchmark.pedantic(fn, rounds=rounds, iterations=iterations, warmup_rounds=0)
        best, median, n = _stats(self.benchmark)
        rec = {"section": section, "key": key, "impl": impl, "time": best, "median": median, "rounds": n,
               "foreign": foreign_share(before, cpu_sample()), **extra}
        self.benchmark.extra_info.update({k: v for k, v in rec.items() if k not in ("time", "median", "rounds")})
        RECORDS.append(rec)
        return result, rec


@pytest.fixture
def timer(benchmark, request):
    return Timer(benchmark, request.config.getoption("--fp-budget"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not RECORDS:
        return
    if not any(r.get("time") for r in RECORDS):
        terminalreporter.write_line("fastplan benchmarks: benchmarking disabled, no timings to summarise")
        return
    share = foreign_share(_SESSION.get("start"), cpu_sample())
    if share is not None:
        worst = max((r.get("foreign") or 0.0 for r in RECORDS), default=0.0)
        RECORDS.append({"section": "session", "key": "load", "foreign": share, "worst": worst})
    text = summarize(RECORDS)
    terminalreporter.write_sep("=", "fastplan benchmark summary")
    terminalreporter.write_line(text)
    out = config.getoption("--fp-summary")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "summary.md").write_text(text + "\n")
        (Path(out) / "summary.json").write_text(json.dumps(RECORDS, indent=1, default=str) + "\n")
