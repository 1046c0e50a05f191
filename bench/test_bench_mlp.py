"""MLP world models (issue 12.1, 16.5): rollouts and planners, fastplan vs plain NumPy, beside DGEMM.

A residual MLP ``s' = s + W2 tanh(W1 [s; a] + c1) + c2`` with n = 16 states, d = 8 actions
and hidden width H = 64 or 256 rolls out N = 1000 sequences of T = 8 steps and evaluates
Eq. 5.  Both implementations run in the same session; GFLOP/s count the multiply-adds of the
layers, ``2 N T (H (n + d) + n H)`` flops, and sit next to the DGEMM rate (NumPy matmul of
two 2000 x 2000 float64 matrices) of the same run.  A wide layer is DGEMM-shaped work, so
its rate bounds what a rollout can reach.  :func:`test_mlp_planner` plans on the H = 64 world
with CEM and finite-difference gradient descent.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastplan
from bench import numpy_planners as npp
from bench.flops import plan_flops
from bench.run_benchmarks import dgemm_gflops
from fastplan.engine import registry
from fastplan.engine.worlds.mlp import random_mlp

N, T, n, d = 1000, 8, 16, 8


def numpy_rollout(world, s0, goal, actions, lam=0.1):
    """Plain NumPy: the batch of N sequences advanced together, one matmul per layer."""
    s = np.broadcast_to(s0, (actions.shape[0], s0.shape[0])).copy()
    path = np.zeros(actions.shape[0])
    for t in range(actions.shape[1]):
        nxt = world.step(s, actions[:, t])
        path += np.linalg.norm(nxt - s, axis=1)
        s = nxt
    return np.linalg.norm(s - goal, axis=1) + lam * path / actions.shape[1]


@pytest.mark.parametrize("impl", ["fastplan", "numpy"])
@pytest.mark.parametrize("H", [64, 256])
def test_mlp_rollout(timer, impl, H):
    world = random_mlp(n, d, (H,), "tanh", residual=True, seed=0)
    rs = np.random.default_rng(0)
    s0, goal = rs.normal(0, 0.5, n), rs.normal(0, 0.5, n)
    actions = rs.standard_normal((N, T, d))
    if impl == "fastplan":
        fn = lambda: fastplan.rollout(world, s0, goal, actions)["cost"]  # noqa: E731
    else:
        fn = lambda: numpy_rollout(world, s0, goal, actions)  # noqa: E731
    np.testing.assert_allclose(fn(), numpy_rollout(world, s0, goal, actions), rtol=1e-10)
    flops = 2.0 * N * T * (H * (n + d) + n * H)
    timer.benchmark.group = f"mlp rollout H={H}"
    _, rec = timer(fn, section="mlp", key=f"H{H}", impl=impl, flops=flops)
    if rec["time"]:
        rec["gflops"] = flops / rec["time"] / 1e9
        rec["dgemm_gflops"] = dgemm_gflops(1000, 1)[0]
        timer.benchmark.extra_info.update(gflops=rec["gflops"], dgemm_gflops=rec["dgemm_gflops"])
        print(f"\nmlp H={H} {impl}: {rec['time'] * 1e3:.2f} ms, {rec['gflops']:.2f} GFLOP/s "
              f"(DGEMM {rec['dgemm_gflops']:.1f} GFLOP/s)")


#: Planners on the MLP world (issue 16.5): a sampling planner and a gradient planner.
MLP_PLANNERS = ("cem", "gradient")


def _mlp_problem(H):
    world = random_mlp(n, d, (H,), "tanh", residual=True, seed=0)
    rs = np.random.default_rng(1)
    return fastplan.Problem.from_arrays(world, rs.normal(0, 0.5, n), rs.normal(0, 0.5, n), T, seed=0)


@pytest.mark.parametrize("impl", ["fastplan", "numpy"])
@pytest.mark.parametrize("planner", MLP_PLANNERS)
def test_mlp_planner(timer, impl, planner, H=64):
    """One plan on the MLP world (n = 16, d = 8, T = 8, hidden 64), fastplan's defaults on both
    sides (NumPy: bench/numpy_planners.py with the world's batched NumPy step); GFLOP/s from
    :func:`bench.flops.plan_flops` with the kernel's own step and rollout counts."""
    prob = _mlp_problem(H)
    timer.benchmark.group = f"{planner} on mlp H={H}"
    key = f"{planner}/mlp H={H}"
    if impl == "fastplan":
        fn = lambda: fastplan.plan(prob, planner)  # noqa: E731
        res = fn()
        flops = plan_flops(planner, registry.planner(planner).resolve({}), [prob], res.samples, res.steps)
        _, rec = timer(fn, section="mlp planner", key=key, impl=impl, samples=res.samples, flops=flops)
    else:
        fn = lambda: npp.plan(prob, planner, prob.seed)  # noqa: E731
        ref, ours = fn(), fastplan.plan(prob, planner)
        assert ref.samples == ours.samples
        # the twin's reported cost is the MLP world's Eq. 5 of its plan (same as fastplan's rollout)
        np.testing.assert_allclose(ref.cost, fastplan.rollout(prob.world, prob.s0, prob.goal,
                                                              ref.actions[None])["cost"][0], rtol=1e-10)
        _, rec = timer(fn, section="mlp planner", key=key, impl=impl, samples=ref.samples)
