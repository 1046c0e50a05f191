"""The whole default grid: fastplan (1 and 2 threads) vs NumPy, and compilation from cold.

Grid: 5 planners x 3 geometries x d {4, 8, 16, 32} x h {4, 8, 16} x 10 seeds = 1800 plans.
fastplan plans each (planner, d, h) cell as one ``plan_batch`` of 30 problems
(3 geometries x 10 seeds); problems are built once, outside the timing; best of at least
3 rounds after a warm-up round.

The NumPy grid would take minutes, so by default it is *extrapolated*: one problem
(VAE, seed 0) is timed per (planner, d, h) cell (averaged over repeats when it is
short) and multiplied by 30.  ``--numpy-full-grid`` also times the real thing.

Compilation is measured in fresh interpreters with ``NUMBA_CACHE_DIR`` set to an empty
temporary folder (marker ``cold``; ``python -m bench.run_benchmarks --quick`` skips it).
"""
from __future__ import annotations

import math
import time

import pytest

import fastplan
from bench import numpy_planners as npp
from bench.conftest import RECORDS, cpu_sample, foreign_share
from bench.run_benchmarks import (GRID_DIMS, GRID_HORIZONS, available_planners, grid_problems, run_fastplan_grid,
                                  run_probe)
from fastplan.engine.jit import max_threads, set_threads


@pytest.fixture(scope="module")
def problems():
    return grid_problems()


@pytest.mark.benchmark(group="grid")
@pytest.mark.parametrize("threads", sorted({1, 2, max_threads()}))
def test_grid_fastplan(timer, problems, threads):
    if threads > max_threads():
        pytest.skip(f"only {max_threads()} Numba threads available")
    planners = available_planners()
    before = set_threads(None)
    set_threads(threads)
    try:
        rounds = []  # per-planner times of every call

        def run():
            rounds.append({})
            return run_fastplan_grid(problems, planners, rounds[-1])

        _, rec = timer(run, section="grid", key=f"fastplan threads={threads}", impl="fastplan", min_rounds=3,
                       max_rounds=5, planners=list(planners), plans=len(planners) * sum(map(len, problems.values())))
        rec["by_planner"] = min(rounds[1:] or rounds, key=lambda r: sum(r.values()))  # best timed round
        timer.benchmark.extra_info["by_planner"] = rec["by_planner"]
    finally:
        set_threads(before)


def _numpy_cell_time(prob, planner, min_time=0.05):
    """Mean wall time of one NumPy plan of ``prob`` (repeated until ``min_time`` s elapsed)."""
    npp.plan(prob, planner, prob.seed)  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        npp.plan(prob, planner, prob.seed)
        n += 1
        el = time.perf_counter() - t0
        if el >= min_time:
            return el / n


@pytest.mark.benchmark(group="grid")
def test_grid_numpy_extrapolated(timer):
    planners = available_planners()
    cells = {}

    def measure():
        for planner in planners:
            for d in GRID_DIMS:
                for h in GRID_HORIZONS:
                    cells[f"{planner}/{d},{h}"] = 30 * _numpy_cell_time(fastplan.make_problem("vae", d, h, 0), planner)

    # one pass is the measurement (it already averages short cells); no separate warm-up needed
    _, rec = timer(measure, section="grid", key="numpy extrapolated", impl="numpy", once=True,
                   planners=list(planners))
    rec["extrapolated_s"] = sum(cells.values())
    rec["cells_s"] = cells
    # check the extrapolation on one cell by timing its 30 problems for real
    d, h = GRID_DIMS[min(1, len(GRID_DIMS) - 1)], GRID_HORIZONS[min(1, len(GRID_HORIZONS) - 1)]
    probs = grid_problems(dims=(d,), horizons=(h,))[(d, h)]
    t0 = time.perf_counter()
    npp.plan_many(probs, planners[0])
    real = time.perf_counter() - t0
    est = cells[f"{planners[0]}/{d},{h}"]
    rec["check"] = (f"Check: {planners[0]} d={d} h={h}, 30 problems measured {real * 1e3:.1f} ms "
                    f"vs extrapolated {est * 1e3:.1f} ms.")
    timer.benchmark.extra_info.update(extrapolated_s=rec["extrapolated_s"], cells_s=cells, check=rec["check"])


@pytest.mark.benchmark(group="grid")
def test_grid_numpy_full(timer, problems, request):
    if not request.config.getoption("--numpy-full-grid"):
        pytest.skip("the full NumPy grid is slow; run with --numpy-full-grid")
    planners = available_planners()

    def run():
        for planner in planners:
            for probs in problems.values():
                npp.plan_many(probs, planner)

    timer(run, section="grid", key="numpy full", impl="numpy", once=True)


@pytest.mark.cold
@pytest.mark.benchmark(group="compile")
def test_compile_kernels_cold(timer, tmp_path):
    """First vs second call of the rollout and each planner in a fresh process, empty cache."""
    probe = {}

    def run():
        probe.update(run_probe("kernels", tmp_path / "numba-cache"))

    _, rec = timer(run, section="compile", key="kernels", once=True)
    rec["probe"] = probe
    timer.benchmark.extra_info["probe"] = probe
    assert all(v["compile_s"] > 0 for v in probe.values() if isinstance(v, dict))


@pytest.mark.cold
@pytest.mark.benchmark(group="compile")
def test_grid_cold_and_warm_process(timer, tmp_path):
    """The whole grid in a fresh process: empty cache (all compilation), then warm disk cache."""
    cache = tmp_path / "numba-cache"
    out = {}

    def run():
        out["cold"] = run_probe("grid", cache)

    _, rec = timer(run, section="grid", key="cold process", once=True)
    rec.update(out["cold"])
    before = cpu_sample()
    warm = run_probe("grid", cache)
    RECORDS.append({"section": "grid", "key": "warm process", "impl": "fastplan", "time": warm["wall_s"],
                    "foreign": foreign_share(before, cpu_sample()), **warm})
    timer.benchmark.extra_info.update(cold=out["cold"], warm_process=warm)
    assert math.isfinite(out["cold"]["wall_s"])
