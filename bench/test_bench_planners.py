"""Each planner at (d=8, h=8) and (d=32, h=16), one problem and a batch of 30 problems.

fastplan: ``fastplan.plan`` (P=1) and ``fastplan.plan_batch`` (P=30, 3 geometries x
10 seeds), everything a user pays for included (stacking, initial draws, the kernel and
the final evaluation).  NumPy: :mod:`bench.numpy_planners` looped over the problems.
Default hyperparameters throughout (the paper's for its five; the planners beyond the paper,
bench/numpy_beyond.py, at theirs).
"""
from __future__ import annotations

import pytest

import fastplan
from bench import numpy_planners as npp
from bench.run_benchmarks import GEOMETRIES, available_planners, beyond_planners

SIZES = [(8, 8), (32, 16)]
BATCH_SEEDS = range(10)


def _problems(d, h, P):
    if P == 1:
        return [fastplan.make_problem("vae", d, h, 0)]
    return [fastplan.make_problem(g, d, h, s) for g in GEOMETRIES for s in BATCH_SEEDS]


@pytest.mark.parametrize("impl", ["fastplan", "numpy"])
@pytest.mark.parametrize("P", [1, 30], ids=["P=1", "P=30"])
@pytest.mark.parametrize("d,h", SIZES, ids=[f"d{d}h{h}" for d, h in SIZES])
@pytest.mark.parametrize("planner", available_planners() + beyond_planners())
def test_planner(timer, planner, d, h, P, impl):
    probs = _problems(d, h, P)
    timer.benchmark.group = f"{planner} d={d} h={h} P={P}"
    key = f"{planner}/{d},{h}/P={P}"
    if impl == "fastplan":
        if P == 1:
            fn = lambda: fastplan.plan(probs[0], planner)  # noqa: E731
            samples = fn().samples
        else:
            fn = lambda: fastplan.plan_batch(probs, planner)  # noqa: E731
            samples = int(fn().samples[0])
        timer(fn, section="planner", key=key, impl=impl, samples=samples)
    else:
        fn = lambda: npp.plan_many(probs, planner)  # noqa: E731
        warm = lambda: npp.plan(probs[0], planner, probs[0].seed)  # noqa: E731
        samples = warm().samples
        timer(fn, section="planner", key=key, impl=impl, warmup=warm, scale=P, max_rounds=50,
              samples=samples)
