"""Each planner at (d=8, h=8) and (d=32, h=16), one problem and a batch of 30 problems.

fastplan: ``fastplan.plan`` (P=1) and ``fastplan.plan_batch`` (P=30, 3 geometries x
10 seeds), everything a user pays for included (stacking, initial draws, the kernel and
the final evaluation).  NumPy: :mod:`bench.numpy_planners` looped over the problems (the
twins of the planners beyond the paper in bench/numpy_beyond.py, of the geometry-aware ones in
bench/numpy_geoplan.py).  fastplan's default hyperparameters on both sides.  Codebook CEM plans
the VAE and VQ-VAE problems only (15 seeds each: the sparse EBM has no codebook).  Each
fastplan record carries the plan's flops (:func:`bench.flops.plan_flops`, from the kernel's own
step and rollout counts) for the GFLOP/s columns.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastplan
from bench import numpy_planners as npp
from bench.flops import plan_flops
from bench.run_benchmarks import GEOMETRIES, available_planners, beyond_planners, geometry_planners
from fastplan.engine import registry

SIZES = [(8, 8), (32, 16)]
BATCH_SEEDS = range(10)


def _problems(planner, d, h, P):
    if P == 1:
        return [fastplan.make_problem("vae", d, h, 0)]
    if planner == "codebook-cem":
        return [fastplan.make_problem(g, d, h, s) for g in ("vae", "vqvae") for s in range(15)]
    return [fastplan.make_problem(g, d, h, s) for g in GEOMETRIES for s in BATCH_SEEDS]


@pytest.mark.parametrize("impl", ["fastplan", "numpy"])
@pytest.mark.parametrize("P", [1, 30], ids=["P=1", "P=30"])
@pytest.mark.parametrize("d,h", SIZES, ids=[f"d{d}h{h}" for d, h in SIZES])
@pytest.mark.parametrize("planner", available_planners() + beyond_planners() + geometry_planners())
def test_planner(timer, planner, d, h, P, impl):
    probs = _problems(planner, d, h, P)
    timer.benchmark.group = f"{planner} d={d} h={h} P={P}"
    key = f"{planner}/{d},{h}/P={P}"
    if impl == "fastplan":
        if P == 1:
            fn = lambda: fastplan.plan(probs[0], planner)  # noqa: E731
        else:
            fn = lambda: fastplan.plan_batch(probs, planner)  # noqa: E731
        res = fn()
        flops = plan_flops(planner, registry.planner(planner).resolve({}), probs, res.samples, res.steps)
        timer(fn, section="planner", key=key, impl=impl, samples=int(np.atleast_1d(res.samples)[0]),
              flops=flops)
    else:
        fn = lambda: npp.plan_many(probs, planner)  # noqa: E731
        warm = lambda: npp.plan(probs[0], planner, probs[0].seed)  # noqa: E731
        samples = warm().samples
        timer(fn, section="planner", key=key, impl=impl, warmup=warm, scale=P, max_rounds=50,
              samples=samples)
