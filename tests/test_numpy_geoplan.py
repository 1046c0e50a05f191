"""The NumPy twins of the geometry-aware planners (bench/numpy_geoplan.py) are fair baselines:
fed fastplan's keyed random numbers and the bench's own starting points, each plans what the
kernel plans (score diffusion, projected CEM and MPPI to 1e-9 / 1e-8, codebook CEM exactly),
with and without the prior penalty, and counts the same rollouts."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make `bench` importable

import fastplan  # noqa: E402
from bench import numpy_geoplan as ng  # noqa: E402
from bench import numpy_planners as npp  # noqa: E402
from fastplan.engine import rng  # noqa: E402

SMALL = {"score-diffusion": {"samples": 12, "steps": 5, "eta": 0.7},
         "projected-cem": {"population": 40, "iterations": 4},
         "projected-mppi": {"samples": 40, "iterations": 4},
         "codebook-cem": {"population": 40, "iterations": 4}}
#: Plans agree to these tolerances (codebook CEM copies codes: exactly).
RTOL = {"score-diffusion": 1e-9, "projected-cem": 1e-9, "projected-mppi": 1e-8, "codebook-cem": 0.0}


def kinds(planner):
    return ("vae", "vqvae") if planner == "codebook-cem" else ("vae", "ebm", "vqvae")


def keyed(prob, planner):
    """fastplan's random numbers for the twin: normals ``i T d + t d + j`` of (seed, PLAN_NOISE,
    it), or for codebook CEM uniforms ``i T + t`` of (seed, PLAN_CODES, it)."""
    T, d, seed = prob.T, prob.d, prob.seed
    if planner == "codebook-cem":
        return {"uniforms": lambda it, n: rng.uniforms(seed, rng.stream_id(rng.PLAN_CODES, it, 0),
                                                      n * T).reshape(n, T)}
    return {"normals": lambda it, n: rng.normals(seed, rng.stream_id(rng.PLAN_NOISE, it, 0), (n, T, d))}


def twin(prob, planner, hp, beta):
    W = prob.world
    hp = dict(hp)
    n = hp.pop("samples") if planner == "score-diffusion" else 50   # diffusion: initial draws
    kwargs = ng.initial_inputs(prob, planner, seed=prob.seed, samples=n)
    return ng.PLANNERS[planner](W.A, W.B, W.b, prob.s0, prob.goal, **kwargs, **hp, beta=beta,
                                **keyed(prob, planner))


@pytest.mark.parametrize("beta", [0.0, 0.02])
@pytest.mark.parametrize("planner", list(ng.PLANNERS))
def test_twin_plans_what_the_kernel_plans(planner, beta):
    for kind in kinds(planner):
        for seed in (0, 3):
            prob = fastplan.make_problem(kind, 4, 3, seed)
            res = fastplan.plan(prob, planner, prior_weight=beta, **SMALL[planner])
            ref = twin(prob, planner, SMALL[planner], beta)
            if RTOL[planner]:
                np.testing.assert_allclose(res.actions, ref.actions, rtol=RTOL[planner], atol=1e-9)
                np.testing.assert_allclose(res.cost, ref.cost, rtol=RTOL[planner])
            else:
                assert np.array_equal(res.actions, ref.actions) and res.cost == pytest.approx(ref.cost, rel=1e-12)
            assert res.samples == ref.samples, (kind, seed)


@pytest.mark.parametrize("planner", list(ng.PLANNERS))
def test_bench_entry_plans_with_the_defaults_and_the_kernels_count(planner):
    """What the bench times: npp.plan with its own NumPy noise, fastplan's default
    hyperparameters; the same rollouts as the kernel, a cost near the kernel's (other random
    numbers), and the projecting planners' plans on the geometry."""
    probs = [fastplan.make_problem(k, 8, 8, s) for k in kinds(planner) for s in range(3)]
    ours = [npp.plan(p, planner, p.seed) for p in probs]
    theirs = fastplan.plan_batch(probs, planner)
    assert [r.samples for r in ours] == list(theirs.samples)
    mean_np, mean_fp = np.mean([r.cost for r in ours]), theirs.cost.mean()
    assert abs(mean_np - mean_fp) < 0.25 * mean_fp, (mean_np, mean_fp)
    for p, r in zip(probs, ours):
        assert r.actions.shape == (8, 8) and np.isfinite(r.cost)
        if planner != "score-diffusion":
            np.testing.assert_array_equal(p.geometry.project(r.actions), r.actions)


def test_every_bench_twin_runs_fastplans_defaults():
    """npp.plan, the NumPy side of every planner row in bench/, does the kernel's number of
    rollouts at fastplan's default hyperparameters (not the twins' own keyword defaults)."""
    from bench.run_benchmarks import available_planners, beyond_planners, geometry_planners
    prob = fastplan.make_problem("vae", 4, 3, 0)
    names = available_planners() + beyond_planners() + geometry_planners()
    assert set(ng.PLANNERS) <= set(names) and len(names) == 13
    for planner in names:
        assert npp.plan(prob, planner).samples == fastplan.plan(prob, planner).samples, planner
