"""Per-iteration traces of every planner (issues 14.4 and 15.1): ``plan(..., return_trace=True)``.

Recording a trace changes no plan (every planner, both work splits); the best cost so far never
rises, rollouts only grow and end at the plan's count; planners that return the cheapest
sequence they evaluated end their trace at the plan's cost; traces are bit-identical with 1 and
2 threads; a planner that records none refuses clearly.
"""
from __future__ import annotations

import numpy as np
import pytest

import fastplan
from conftest import numba_threads
from fastplan.engine import registry
from fastplan.engine.errors import FastplanError
from test_stronger import SMALL as SMALL_BEYOND, run_kernel

SMALL = {"cem": {"population": 30, "iterations": 4}, "mppi": {"samples": 30, "iterations": 4},
         "gradient": {"iterations": 6}, "sgld": {"iterations": 6}, "diffusion": {"samples": 12, "steps": 4},
         **SMALL_BEYOND}
CASES = [(p, {}) for p in SMALL] + [("gradient", {"gradient": "adjoint"}), ("sgld", {"gradient": "adjoint"})]
#: Planners whose plan is the cheapest sequence they evaluated (MPPI and gradient descent return
#: their last mean or iterate, which they do not evaluate; diffusion its best *final* sample).
BEST_EVALUATED = {"cem", "sgld", "icem", "amppi", "adam", "mbd"}


def problems(d=4, T=3, seeds=(0, 1)):
    return [fastplan.make_problem(g, d, T, s) for g in ("vae", "ebm") for s in seeds]


@pytest.mark.parametrize("planner,extra", CASES, ids=[f"{p}-{e.get('gradient', '')}" for p, e in CASES])
def test_traces_change_nothing_and_are_monotone(planner, extra):
    probs = problems()
    hp = {**SMALL[planner], **extra}
    plain = fastplan.plan_batch(probs, planner, **hp)
    traced = fastplan.plan_batch(probs, planner, return_trace=True, **hp)
    assert plain.trace is None
    assert np.array_equal(plain.actions, traced.actions) and np.array_equal(plain.samples, traced.samples)
    tr = traced.trace
    spec = registry.planner(planner)
    rows = spec.module().trace_rows(spec.resolve(hp), 3, 4)
    assert tr.best.shape == tr.mean.shape == tr.rollouts.shape == (len(probs), rows)
    assert np.isfinite(tr.best).all() and np.isfinite(tr.mean).all()
    assert (np.diff(tr.best, axis=1) <= 0).all()
    assert (np.diff(tr.rollouts, axis=1) > 0).all()
    assert (tr.mean >= tr.best).all()
    assert np.array_equal(tr.rollouts[:, -1], traced.samples)
    if planner in BEST_EVALUATED:
        np.testing.assert_allclose(tr.best[:, -1], traced.cost, rtol=1e-12)
    one = traced[1].trace                                     # a plan's own trace
    assert np.array_equal(one.best, tr.best[1]) and len(one) == rows
    alone = fastplan.plan(probs[1], planner, return_trace=True, **hp)
    assert np.array_equal(alone.trace.as_array(), one.as_array())


@pytest.mark.parametrize("planner", ["cem", "mppi", "gradient", "sgld", "diffusion"])
def test_paper_planners_traces_bit_identical_with_1_and_2_threads(planner, thread_counts):
    probs = problems(5, 3)
    outs = {}
    for n in thread_counts:
        with numba_threads(n):
            outs[n] = run_kernel(planner, probs, SMALL[planner], trace=True)
            outs[n, 1] = run_kernel(planner, probs[:1], SMALL[planner], trace=True)   # split work items
    for key in ((2,), (1, 1), (2, 1)):
        other = outs[key[0]] if len(key) == 1 else outs[key]
        P = other[0].shape[0]
        assert np.array_equal(outs[1][0][:P], other[0]), key
        assert np.array_equal(outs[1][2].as_array()[:P], other[2].as_array()), key


def test_a_planner_without_traces_refuses_clearly():
    class OneDraw:
        @staticmethod
        def prepare(batch, hp, usage):
            return {"start": batch.initial_draws(1, usage)[:, 0]}

        @staticmethod
        def run(batch, hp, inputs):
            n = np.ones(batch.P, dtype=np.int64)
            return inputs["start"], n, n * batch.T

    registry.register_planner(registry.PlannerSpec(
        name="one-draw", label="One draw", kernels=OneDraw(), stream_id=901, defaults={"lam": 0.1}))
    try:
        prob = fastplan.make_problem("vae", 3, 3, 0)
        assert fastplan.plan(prob, "one-draw").trace is None
        with pytest.raises(FastplanError, match="records no per-iteration trace"):
            fastplan.plan(prob, "one-draw", return_trace=True)
    finally:
        registry.planners().unregister("one-draw")


def test_sweep_stores_traces_only_when_asked_and_keeps_older_runs(tmp_path):
    from fastplan import store
    from fastplan.runs.sweep import run_sweep

    path = tmp_path / "runs.h5"
    kw = dict(planners=["cem", "adam"], geometries=["vae"], dims=[3], horizons=[2], progress="quiet",
              metric_samples=0, overrides={"cem": {"population": 10, "iterations": 3},
                                           "adam": {"iterations": 4}})
    run_sweep(path, seeds=[0], **kw)
    assert store.load_traces(path) == []                           # not asked: none stored
    run_sweep(path, seeds=[0, 1], traces=True, **kw)                # seed 1 is new: traced
    traced = {c["planner"]: c for c in store.load_traces(path)}
    assert set(traced) == {"cem", "adam"}
    for planner, rows in (("cem", 3), ("adam", 5)):
        assert traced[planner]["seeds"].tolist() == [1]           # seed 0 ran before: NaN row, left out
        assert traced[planner]["trace"].shape == (1, rows, 3)
        cid = traced[planner]["config_id"]
        attrs, arrays = store.read_config(path, cid)
        assert np.isnan(arrays["trace"][0]).all() and arrays["samples"][1] == traced[planner]["trace"][0, -1, 2]
    plan = fastplan.plan(fastplan.make_problem("vae", 3, 2, 1), "adam", iterations=4, return_trace=True)
    np.testing.assert_array_equal(traced["adam"]["trace"][0], plan.trace.as_array())
