"""Model-predictive control: replanning mechanics, warm starts, and a closed loop with model
mismatch that reaches the goal where fixed-horizon replanning does not."""
from __future__ import annotations

import numpy as np
import pytest

import fastplan
from fastplan.engine.errors import FastplanError
from fastplan.engine.world import WorldModel

GRAD = {"gradient": "adjoint"}          # exact gradients: 2 rollouts per iteration


def perturbed(world, scale: float, seed: int) -> WorldModel:
    """The same world with A and B off by ``scale`` * N(0, 1/d) per entry (model mismatch)."""
    r = np.random.default_rng(seed)
    d = world.d
    return WorldModel(A=world.A + scale * r.normal(size=(d, d)) / np.sqrt(d),
                      B=world.B + scale * r.normal(size=(d, d)) / np.sqrt(d), b=world.b, seed=world.seed)


def test_shrinking_horizon_replans_every_step_and_ends_with_the_episode():
    prob = fastplan.make_problem("vae", 3, 4, 0)
    mpc = fastplan.MPC(prob, "cem", population=20, iterations=2)
    out = fastplan.closed_loop(mpc)
    assert [p.actions.shape[0] for p in mpc.plans] == [4, 3, 2, 1]
    assert out["rollouts"].tolist() == [40, 40, 40, 40] and out["states"].shape == (5, 3)
    assert out["final_distance"] == pytest.approx(np.linalg.norm(out["states"][-1] - prob.goal))
    with pytest.raises(FastplanError, match="episode of 4 steps is over"):
        mpc.command(out["states"][-1])
    mpc.reset()
    assert mpc.step == 0 and mpc.rollouts == [] and "cem" in repr(mpc)


def test_replanning_interval_executes_the_plan_in_between():
    prob = fastplan.make_problem("ebm", 3, 6, 1)
    mpc = fastplan.MPC(prob, "mppi", replan_every=3, samples=10, iterations=2)
    out = fastplan.closed_loop(mpc)
    assert out["rollouts"].tolist() == [20, 0, 0, 20, 0, 0]
    np.testing.assert_array_equal(out["actions"][:3], mpc.plans[0].actions[:3])
    np.testing.assert_array_equal(out["actions"][3:], mpc.plans[1].actions)
    # plan once = open loop: the planned actions, executed on the model, give the planned states
    ctrl = fastplan.MPC(prob, "mppi", replan_every=6, samples=10, iterations=2)
    once = fastplan.closed_loop(ctrl)
    assert once["rollouts"].tolist() == [20, 0, 0, 0, 0, 0]
    np.testing.assert_allclose(once["states"], ctrl.plans[0].states, rtol=1e-12, atol=1e-12)


def test_warm_start_is_the_previous_plan_shifted():
    prob = fastplan.make_problem("vqvae", 3, 5, 2)
    # lr = 0: gradient descent returns its start, so each plan IS the warm start it was given
    first = fastplan.plan(prob, "cem", population=20, iterations=2).actions
    for horizon in ("shrinking", "fixed"):
        mpc = fastplan.MPC(prob, "gradient", horizon=horizon, iterations=1, lr=0.0, **GRAD)
        mpc._plan, mpc._planned_at = first, 0          # as if the first command had planned `first`
        mpc.plans.append(None)
        mpc.step = 2
        mpc.replan_every = 1
        mpc.command(prob.s0)
        got = mpc.last_plan.actions
        if horizon == "shrinking":
            np.testing.assert_array_equal(got, first[2:])
        else:                                            # padded with the last action
            np.testing.assert_array_equal(got, np.vstack([first[2:], first[-1:], first[-1:]]))


def test_bad_controller_settings_are_one_line_errors():
    prob = fastplan.make_problem("vae", 3, 4, 0)
    with pytest.raises(FastplanError, match="horizon"):
        fastplan.MPC(prob, "cem", horizon="sliding")
    with pytest.raises(FastplanError, match="exceeds the fixed horizon"):
        fastplan.MPC(prob, "cem", horizon="fixed", replan_every=5)
    with pytest.raises(FastplanError, match="replan_every"):
        fastplan.MPC(prob, "cem", replan_every=0)
    with pytest.raises(FastplanError, match="no hyperparameter"):
        fastplan.MPC(prob, "cem", lr=0.1)
    with pytest.raises(FastplanError, match="state must have shape"):
        fastplan.MPC(prob, "cem").command(np.zeros(4))
    with pytest.raises(FastplanError, match="geometry usage"):
        fastplan.MPC(prob, "cem", geometry_usage="posterior")
    with pytest.raises(FastplanError, match="step"):
        fastplan.closed_loop(fastplan.MPC(prob, "cem"), world=object())


@pytest.fixture(scope="module")
def closed_loop_runs():
    """Final goal distances on the perturbed world (mismatch 0.1), seeds 0-4, d = h = 8."""
    out = {"mpc": [], "fixed": [], "fixed_running": [], "open": [], "start": []}
    for s in range(5):
        prob = fastplan.make_problem("vae", 8, 8, s)
        true = perturbed(prob.world, 0.1, 1000 + s)
        runs = {"mpc": fastplan.MPC(prob, "gradient", geometry_usage="none", **GRAD),
                "fixed": fastplan.MPC(prob, "gradient", horizon="fixed", geometry_usage="none", **GRAD),
                "fixed_running": fastplan.MPC(prob, "gradient", horizon="fixed", geometry_usage="none",
                                              cost=fastplan.Cost(running=0.3), **GRAD),
                "open": fastplan.MPC(prob, "gradient", replan_every=8, geometry_usage="none", **GRAD)}
        for k, ctrl in runs.items():
            out[k].append(fastplan.closed_loop(ctrl, true)["final_distance"])
        out["start"].append(float(np.linalg.norm(prob.s0 - prob.goal)))
    return {k: np.array(v) for k, v in out.items()}


def test_mpc_reaches_the_goal_where_fixed_horizon_replanning_does_not(closed_loop_runs):
    r = closed_loop_runs
    # reached = ended within 0.5 of the goal (the starts are 1.0-2.1 away)
    assert np.sum(r["mpc"] < 0.5) >= 4 and np.mean(r["mpc"]) < 0.25 * np.mean(r["start"]), r
    # fixed horizon + terminal cost: the goal stays T steps ahead, so it never arrives
    assert np.sum(r["fixed"] < 0.5) == 0 and np.all(r["fixed"] > r["mpc"]), r
    assert np.mean(r["fixed"]) > 3 * np.mean(r["mpc"])
    # closing the loop beats executing one plan on the mismatched world
    assert np.mean(r["mpc"]) < 0.7 * np.mean(r["open"])


def test_a_running_cost_lets_fixed_horizon_mpc_settle_near_the_goal(closed_loop_runs):
    r = closed_loop_runs
    # sum_t ||s_t - s*|| makes every step count: the fixed horizon no longer postpones arrival
    assert np.all(r["fixed_running"] < r["fixed"]), r
    assert np.mean(r["fixed_running"]) < 0.4 * np.mean(r["fixed"]), r


def test_warm_start_needs_fewer_rollouts_for_the_same_cost():
    warm_cost, cold_cost, warm_rollouts, cold_rollouts = [], [], 0, 0
    for s in range(5):
        prob = fastplan.make_problem("vae", 8, 8, s)
        warm = fastplan.MPC(prob, "gradient", iterations=30, geometry_usage="none", **GRAD)
        cold = fastplan.MPC(prob, "gradient", iterations=100, warm_start=False, geometry_usage="none", **GRAD)
        warm_rollouts += fastplan.closed_loop(warm)["rollouts"].sum()
        cold_rollouts += fastplan.closed_loop(cold)["rollouts"].sum()
        warm_cost += [p.cost for p in warm.plans[1:]]        # replans (the first plan has nothing to reuse)
        cold_cost += [p.cost for p in cold.plans[1:]]
    assert warm_rollouts < 0.35 * cold_rollouts
    assert np.mean(warm_cost) <= np.mean(cold_cost)
