"""The flop count behind the planner tables' GFLOP/s (bench/flops.py): it agrees with the rollout
count of bench/run_benchmarks.py, counts an MLP's layers, and takes the kernels' own step counts
(a finite difference that reuses its prefix counts fewer steps than whole rollouts)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make `bench` importable

import fastplan  # noqa: E402
from bench.flops import plan_flops, step_flops, terminal_flops, update_flops  # noqa: E402
from bench.run_benchmarks import rollout_flops  # noqa: E402
from fastplan.engine import registry  # noqa: E402
from fastplan.engine.worlds.mlp import random_mlp  # noqa: E402


@pytest.mark.parametrize("d,T", [(4, 3), (8, 8), (32, 16)])
def test_paper_world_step_matches_the_rollout_count(d, T):
    world = fastplan.make_problem("vae", d, T, 0).world
    N = 7
    assert N * (T * step_flops(world) + terminal_flops(d)) == rollout_flops(N, T, d)


def test_mlp_step_counts_its_layers():
    n, d, H = 16, 8, 64
    world = random_mlp(n, d, (H,), "tanh", residual=True, seed=0)
    layers = 2 * H * (n + d) + H + H + 2 * n * H + n          # W1 [s; a] + c1, tanh, W2 h + c2
    assert step_flops(world) == layers + n + 3 * n + 1           # residual, step length


def test_plan_flops_use_the_kernels_counts():
    prob = fastplan.make_problem("vae", 4, 3, 0)
    hp = registry.planner("cem").resolve({})
    res = fastplan.plan(prob, "cem")
    want = 2000 * (3 * step_flops(prob.world) + terminal_flops(4)) + update_flops("cem", hp, 3, 4)
    assert plan_flops("cem", hp, [prob], res.samples, res.steps) == want
    # finite differences with prefix reuse: fewer steps than T per rollout, fewer flops
    g = fastplan.plan(prob, "gradient")
    hp = registry.planner("gradient").resolve({})
    whole = g.samples * (3 * step_flops(prob.world) + terminal_flops(4)) + update_flops("gradient", hp, 3, 4)
    assert g.steps < 3 * g.samples
    assert plan_flops("gradient", hp, [prob], g.samples, g.steps) < whole


@pytest.mark.parametrize("planner", ["score-diffusion", "projected-cem", "projected-mppi", "codebook-cem"])
def test_geometry_work_is_counted(planner):
    """The projections and scores add work that grows with the geometry's components."""
    hp = registry.planner(planner).resolve({})
    small, large = (fastplan.make_geometry("vqvae", 8, 0).density_params(),
                    fastplan.geometry_from_samples(fastplan.make_geometry("vqvae", 8, 0).sample(500, seed=1),
                                                   kind="kmeans", k=16, seed=0).density_params())
    a, b = update_flops(planner, hp, 8, 8, small), update_flops(planner, hp, 8, 8, large)
    assert 0 < a < b and np.isfinite(b)
