"""Rollout + cost (Eq. 4/5/11) of N action sequences: fastplan vs plain NumPy, and DGEMM.

Sizes (N, T, d): (200, 8, 8) and (200, 16, 32).  Three variants are timed in the same
session: ``fastplan.rollout`` (public API, input validation included), its parallel kernel
with preallocated outputs ("kernel"), and :func:`bench.numpy_planners.rollout`.
Achieved GFLOP/s use :func:`bench.run_benchmarks.rollout_flops` and sit next to the
DGEMM rate (NumPy matmul of two 2000 x 2000 float64 matrices) measured in the same run.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastplan
from bench import numpy_planners as npp
from bench.run_benchmarks import dgemm_gflops, rollout_flops
from fastplan.engine import cost as rollout_module

SIZES = [(200, 8, 8), (200, 16, 32)]


def _case(N, T, d):
    prob = fastplan.make_problem("vae", d, T, 0)
    W = prob.world
    actions = np.random.default_rng(0).standard_normal((N, T, d))
    return W.A, W.B, W.b, prob.s0, prob.goal, actions


@pytest.mark.benchmark(group="dgemm")
def test_dgemm(timer):
    n = 2000
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    _, rec = timer(lambda: X @ Y, section="dgemm", key=str(n), max_rounds=10)
    if rec["time"]:
        rec["gflops"] = 2 * n**3 / rec["time"] / 1e9
    else:  # benchmarks disabled: measure directly
        rec["gflops"] = dgemm_gflops(n, 1)[0]
    timer.benchmark.extra_info["gflops"] = rec["gflops"]


@pytest.mark.parametrize("impl", ["fastplan", "fastplan-kernel", "numpy"])
@pytest.mark.parametrize("N,T,d", SIZES, ids=[f"{N}x{T}x{d}" for N, T, d in SIZES])
def test_rollout(timer, impl, N, T, d):
    A, B, b, s0, goal, actions = _case(N, T, d)
    if impl == "fastplan":
        fn = lambda: rollout_module.rollout(A, B, b, s0, goal, actions)  # noqa: E731
        check = lambda: fn()["cost"]  # noqa: E731
    elif impl == "fastplan-kernel":
        P = ((A[None], B[None], b[None]), s0[None], goal[None], actions[None])
        out = [np.empty((1, N)) for _ in range(3)]
        states = np.empty((1, 1, 1, 1))
        cost = rollout_module.paper_cost(0.1, d)
        fn = lambda: rollout_module._rollout_kernel(*P, cost, False, *out, states)  # noqa: E731
        check = lambda: (fn(), out[0][0])[1]  # noqa: E731
    else:
        fn = lambda: npp.rollout(A, B, b, s0, goal, actions)  # noqa: E731
        check = lambda: fn()[0]  # noqa: E731
    # all three compute the same costs
    np.testing.assert_allclose(check(), npp.cost(A, B, b, s0, goal, actions), rtol=1e-12)
    timer.benchmark.group = f"rollout {N}x{T}x{d}"
    flops = rollout_flops(N, T, d)
    _, rec = timer(fn, section="rollout", key=f"{N}x{T}x{d}", impl=impl, flops=flops)
    if rec["time"]:
        rec["gflops"] = flops / rec["time"] / 1e9
        timer.benchmark.extra_info["gflops"] = rec["gflops"]
