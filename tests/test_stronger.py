"""The planners beyond the paper (issue 14.5): iCEM, adaptive MPPI, Adam (adjoint), model-based
diffusion.

* each kernel equals its plain-NumPy reference (bench/numpy_beyond.py) fed the same keyed normal
  numbers: plans, costs, counts and trace rows;
* iCEM's coloured-noise map is the inverse real FFT of Timmer & Koenig's spectrum;
* each beats doing nothing (a = 0) on the paper's problems on average;
* bit-identical with 1 and 2 Numba threads, in both work splits (whole problems, sample chunks);
* ``for_budget`` lands within one iteration's rollouts of the budget;
* traces: monotone where they should be, the last row is the plan, recording changes nothing;
* bad hyperparameters are refused; the paper's list is unchanged.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # make `bench` importable

import fastplan  # noqa: E402
from conftest import numba_threads  # noqa: E402
from fastplan.engine import registry, rng  # noqa: E402
from fastplan.engine.api import stack  # noqa: E402
from fastplan.engine.beyond import STREAM_IDS  # noqa: E402
from fastplan.engine.errors import FastplanError  # noqa: E402
from fastplan.engine.planners.icem import noise_matrix  # noqa: E402
from fastplan.engine.trace import Trace, new_trace  # noqa: E402
from bench import numpy_beyond as nb  # noqa: E402

BEYOND = ("icem", "amppi", "adam", "mbd")
#: Small settings: a few iterations, enough samples for the weights to matter.
SMALL = {"icem": {"population": 30, "iterations": 5, "elites": 6},
         "amppi": {"samples": 24, "iterations": 4},
         "adam": {"iterations": 15},
         "mbd": {"samples": 24, "steps": 4}}


def problems(d=5, T=4, seeds=(0, 1), kinds=("vae", "ebm", "vqvae")):
    return [fastplan.make_problem(k, d, T, s) for k in kinds for s in seeds]


def run_kernel(planner, probs, hp, usage="prior", trace=False):
    """prepare + run of the planner's kernel module on a stacked batch (no thread policy, so the
    work split follows numba's thread count); returns (actions, samples, Trace or None)."""
    spec = registry.planner(planner)
    module = spec.module()
    batch = stack(probs)
    hp = spec.resolve(hp)
    inputs = module.prepare(batch, hp, usage)
    if trace:
        inputs["trace"] = new_trace(module, planner, hp, batch.P, batch.T, batch.d)
    actions, samples, _ = module.run(batch, hp, inputs)
    return actions, samples, Trace.from_array(inputs["trace"]) if trace else None


def reference(planner, prob, hp):
    """The NumPy reference of ``planner`` on one problem with fastplan's keyed normals."""
    W, T, d = prob.world, prob.T, prob.d
    args = (W.A, W.B, W.b, prob.s0, prob.goal)
    stream = STREAM_IDS[planner]
    normals = lambda it, n: rng.normals(prob.seed, rng.stream_id(rng.PLAN_NOISE, it, stream), (n, T, d))  # noqa: E731
    mean, std = np.tile(prob.geometry.mean(), (T, 1)), np.tile(prob.geometry.std(), (T, 1))
    if planner == "icem":
        return nb.icem(*args, mean, std, normals=normals, **hp)
    if planner == "amppi":
        return nb.amppi(*args, mean, normals=normals, **hp)
    if planner == "mbd":
        return nb.mbd(*args, mean, std, normals=normals, **hp)
    start = prob.geometry.sample(T, seed=prob.seed, stream=2).reshape(T, d)
    return nb.adam(*args, start, **hp)


@pytest.mark.parametrize("planner", BEYOND)
def test_kernels_equal_their_numpy_references(planner):
    probs = problems(5, 4, seeds=(0, 3))
    hp = registry.planner(planner).resolve(SMALL[planner])
    actions, samples, trace = run_kernel(planner, probs, hp, trace=True)
    for p, prob in enumerate(probs):
        ref = reference(planner, prob, hp)
        np.testing.assert_allclose(actions[p], ref.result.actions, rtol=1e-9, atol=1e-10)
        assert samples[p] == ref.result.samples
        np.testing.assert_allclose(trace[p].as_array(), ref.trace, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("T", [1, 2, 5, 8, 9, 16])
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0, 3.5])
def test_coloured_noise_is_the_inverse_fft_of_a_power_law_spectrum(T, beta):
    M = noise_matrix(beta, T)
    if beta == 0 or T == 1:
        assert M.shape == (0, 0)                        # white noise: the normals as drawn
        return
    np.testing.assert_allclose(M, nb.coloured_noise_matrix(beta, T), rtol=1e-12, atol=1e-14)
    cov = M @ M.T
    np.testing.assert_allclose(np.diag(cov), 1.0, rtol=1e-12)          # unit variance per step
    for t in range(T):                                                  # stationary: circulant
        np.testing.assert_allclose(cov[t], np.roll(cov[0], t), atol=1e-12)
    if T >= 8:   # redder noise, smoother sequences: neighbours correlate, more so for larger beta
        assert cov[0, 1] > 0.3 and cov[0, 1] > (noise_matrix(beta / 2, T) @ noise_matrix(beta / 2, T).T)[0, 1]


@pytest.mark.parametrize("planner", BEYOND)
def test_every_new_planner_beats_doing_nothing(planner):
    """The paper's problems (d = h = 8, its three geometries, seeds 0-4), the planner's defaults."""
    probs = problems(8, 8, seeds=range(5))
    res = fastplan.plan_batch(probs, planner)
    zero_gd = np.array([fastplan.rollout(p.world.A, p.world.B, p.world.b, p.s0, p.goal,
                                         np.zeros((1, 8, 8)))["goal_distance"][0] for p in probs])
    assert res.goal_distance.mean() < 0.5 * zero_gd.mean(), (res.goal_distance.mean(), zero_gd.mean())
    assert np.mean(res.goal_distance < zero_gd) >= 0.9


@pytest.mark.parametrize("planner", BEYOND)
def test_bit_identical_with_1_and_2_threads_in_both_work_splits(planner, thread_counts):
    probs = problems(5, 3, seeds=(0, 1))           # 6 problems: whole problems per work item
    outs = {}
    for n in thread_counts:
        with numba_threads(n):
            outs[n] = run_kernel(planner, probs, SMALL[planner], trace=True)
            # one problem on 2 threads: work items are chunks of samples, refits serial
            outs[n, "alone"] = run_kernel(planner, probs[:1], SMALL[planner], trace=True)
    for key in ((2,), (1, "alone"), (2, "alone")):
        other = outs[key[0]] if len(key) == 1 else outs[key]
        P = other[0].shape[0]
        assert np.array_equal(outs[1][0][:P], other[0]), key
        assert np.array_equal(outs[1][1][:P], other[1]), key
        assert np.array_equal(outs[1][2].as_array()[:P], other[2].as_array(), equal_nan=True), key


def _per_iteration(planner, hp):
    """The most rollouts one iteration (MBD: one noise level) adds."""
    if planner == "icem":
        return hp["population"]
    return 2 if planner == "adam" else hp["samples"]


@pytest.mark.parametrize("budget", (1050, 2000, 6500))
@pytest.mark.parametrize("T,d", [(8, 8), (4, 6)])
@pytest.mark.parametrize("planner", BEYOND)
def test_budget_gives_the_requested_rollouts(planner, budget, T, d):
    spec = registry.planner(planner)
    base = spec.resolve()
    hp = spec.at_budget(base, budget, T, d)
    res = fastplan.plan(fastplan.make_problem("vae", d, T, 0), planner, **hp)
    assert abs(int(res.samples) - budget) <= _per_iteration(planner, hp), (hp, res.samples)
    assert {k for k in hp if hp[k] != base[k]} <= {"iterations", "steps"}
    assert res.samples == spec.expected_rollouts(hp, T, d)          # the estimate is exact here


@pytest.mark.parametrize("planner", BEYOND)
def test_traces_are_monotone_end_at_the_plan_and_change_nothing(planner):
    probs = problems(5, 4, seeds=(0, 1))
    plain, samples, _ = run_kernel(planner, probs, SMALL[planner])
    actions, samples_t, tr = run_kernel(planner, probs, SMALL[planner], trace=True)
    assert np.array_equal(plain, actions) and np.array_equal(samples, samples_t)
    assert np.isfinite(tr.best).all() and np.isfinite(tr.mean).all()
    assert (np.diff(tr.best, axis=1) <= 0).all()                  # best so far never rises
    assert (np.diff(tr.rollouts, axis=1) > 0).all()               # rollouts only grow
    assert (tr.mean >= tr.best).all()                             # a row's mean is no better than the best
    assert np.array_equal(tr.rollouts[:, -1], samples)
    res = fastplan.plan_batch(probs, planner, **SMALL[planner])
    np.testing.assert_allclose(tr.best[:, -1], res.cost, rtol=1e-12)   # the plan is the best evaluated
    assert tr.best[:, -1].mean() < tr.mean[:, 0].mean()           # and better than the first round


def test_bad_hyperparameters_are_refused():
    cases = [("icem", {"elites": 120}, "twice the elites"), ("icem", {"decay": 0.5}, "decay"),
             ("icem", {"keep_fraction": 1.5}, "keep_fraction"), ("icem", {"momentum": 1.0}, "momentum"),
             ("amppi", {"ess": 0.0}, "ess"), ("adam", {"beta2": 1.0}, "beta2"),
             ("mbd", {"temperature": 0}, "temperature")]
    prob = fastplan.make_problem("vae", 3, 3, 0)
    for planner, over, match in cases:
        with pytest.raises(FastplanError, match=match):
            fastplan.plan(prob, planner, **over)


def test_registered_after_the_papers_five_with_fixed_stream_ids():
    reg = registry.planners()
    assert reg.names(paper=True) == ("cem", "mppi", "gradient", "sgld", "diffusion")
    others = reg.names(paper=False)
    assert set(BEYOND) <= set(others) and not set(BEYOND) & set(reg.names(paper=True))
    ids = [reg.get(p).stream_id for p in reg.names()]
    assert len(ids) == len(set(ids))                         # every planner draws its own stream
    assert {p: reg.get(p).stream_id for p in BEYOND} == {"icem": 10, "amppi": 11, "adam": 12, "mbd": 13}
    from fastplan.paper import PAPER_PLANNERS
    assert PAPER_PLANNERS == ("cem", "mppi", "gradient", "sgld", "diffusion")
