"""Cost terms beyond Eq. 5 as hyperparameters (issue 12.3): ``running``, ``effort``, ``lower``,
``upper`` are registry cost options, so ``fastplan plan``/``sweep`` and ``plan(..., running=)``
set them and every configuration records them; at their defaults nothing changes."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan import Cost
from fastplan.engine import registry
from fastplan.engine.cost import with_hyperparameters
from fastplan.engine.errors import FastplanError
from fastplan.paper.results import _is_default
from layouts import runs_view

ALL = registry.planners().names()
TERMS = {"running": 0.2, "effort": 0.05, "lower": -0.4, "upper": 0.6}


def _numpy_cost(world, s0, goal, a, lam, running, effort):
    """Eq. 5 + running goal cost + action penalty of one plan a (T, d), plain NumPy."""
    s = [np.asarray(s0, float)]
    for t in range(a.shape[0]):
        s.append(np.tanh(world.A @ s[-1] + world.B @ a[t] + world.b))
    s = np.array(s)
    L = np.linalg.norm(s[-1] - goal) + lam * np.linalg.norm(np.diff(s, axis=0), axis=1).mean()
    return L + running * np.linalg.norm(s[1:] - goal, axis=1).sum() + effort * np.sum(a ** 2)


@pytest.mark.parametrize("planner", ALL)
def test_hyperparameter_terms_plan_exactly_as_the_cost_object(planner):
    prob = fastplan.make_problem("vqvae" if planner == "codebook-cem" else "vae", 3, 4, 1)
    tiny = registry.planner(planner).tiny
    over = {k: v for k, v in tiny.items() if k in registry.planner(planner).defaults}
    a = fastplan.plan(prob, planner, **over, **TERMS)
    b = fastplan.plan(prob, planner, **over, cost=Cost(**TERMS))
    assert np.array_equal(a.actions, b.actions) and a.cost == b.cost
    assert {k: a.hyperparameters[k] for k in TERMS} == TERMS          # recorded
    assert a.actions.min() >= -0.4 and a.actions.max() <= 0.6            # the box is respected
    want = _numpy_cost(prob.world, prob.s0, prob.goal, a.actions, 0.1, 0.2, 0.05)
    assert a.cost == pytest.approx(want, rel=1e-10)


def test_defaults_are_the_papers_configuration():
    prob = fastplan.make_problem("ebm", 4, 4, 2)
    ref = fastplan.plan(prob, "cem")
    off = fastplan.plan(prob, "cem", running=0, effort="0", lower="-inf", upper=np.inf)
    assert off.hyperparameters == ref.hyperparameters                    # left out: same config id
    assert np.array_equal(off.actions, ref.actions)
    cost = Cost()
    assert with_hyperparameters(cost, ref.hyperparameters) is cost       # the paper's path, untouched


@pytest.mark.parametrize("over,match", [
    ({"lower": 1, "upper": 0}, "above the upper"), ({"lower": "nan"}, "must be a number"),
    ({"upper": -np.inf}, "finite number"), ({"lower": np.inf}, "finite number"),
    ({"running": -1}, ">= 0"), ({"effort": "x"}, "must be a number"), ({"lower": True}, "number"),
])
def test_bad_terms_are_one_line_errors(over, match):
    with pytest.raises(FastplanError, match=match):
        fastplan.plan(fastplan.make_problem("vae", 3, 3, 0), "mppi", **over)


def test_a_term_given_both_ways_is_refused():
    with pytest.raises(FastplanError, match="both"):
        fastplan.plan(fastplan.make_problem("vae", 3, 3, 0), "cem", running=0.1, cost={"running": 0.1})
    # different terms combine
    a = fastplan.plan(fastplan.make_problem("vae", 3, 3, 0), "cem", running=0.1, cost={"effort": 0.2})
    b = fastplan.plan(fastplan.make_problem("vae", 3, 3, 0), "cem", cost={"running": 0.1, "effort": 0.2})
    assert np.array_equal(a.actions, b.actions)


def test_cost_options_make_other_configurations_not_the_papers():
    hp = dict(registry.planner("cem").defaults)
    assert _is_default("cem", json.dumps(hp), "prior")
    for extra in ({"running": 0.1}, {"lower": -1.0}, {"prior_weight": 0.01}):
        assert not _is_default("cem", json.dumps(hp | extra), "prior")


def test_cli_plan_and_sweep_set_and_record_the_terms(tmp_path):
    from fastplan_cli.main import cli
    r = CliRunner().invoke(cli, ["plan", "--planner", "mppi", "-d", "3", "--horizon", "3", "--running", "0.1",
                                 "--effort", "0.01", "--bounds", "-1,1", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert {k: out["hyperparameters"][k] for k in TERMS} == {"running": 0.1, "effort": 0.01, "lower": -1.0,
                                                              "upper": 1.0}
    assert np.abs(np.array(out["actions"])).max() <= 1.0
    bad = CliRunner().invoke(cli, ["plan", "--bounds", "1"])
    assert bad.exit_code != 0 and "LO,HI" in bad.output

    path = tmp_path / "c.h5"
    args = ["sweep", "--dims", "3", "--horizons", "3", "--seeds", "0-1", "--planners", "cem", "--geometries",
            "vae", "--metric-samples", "0", "-q", "--out", str(path)]
    assert CliRunner().invoke(cli, args).exit_code == 0
    r = CliRunner().invoke(cli, args + ["--running", "0,0.3", "--bounds", "-1,1"])
    assert r.exit_code == 0, r.output
    with h5py.File(path, "r") as f:
        keys = {cid: json.loads(g.attrs["key"])["hyperparameters"] for cid, g in f["configs"].items()}
        assert len(keys) == 3                                    # the paper's, box, box + running
        paper = [cid for cid, hp in keys.items() if "lower" not in hp]
        assert len(paper) == 1 and "running" not in keys[paper[0]]
        assert sorted(hp.get("running", 0.0) for hp in keys.values() if "lower" in hp) == [0.0, 0.3]
        cid = next(c for c, hp in keys.items() if hp.get("running") == 0.3)
        g = runs_view(f["configs"][cid])                           # the per-run fields, either layout
        w = f["worlds"][g["world"][0].decode()]
        world = fastplan.TanhWorld(w["A"][()], w["B"][()], w["b"][()])
        assert np.abs(g["actions"][()]).max() <= 1.0
        want = _numpy_cost(world, g["s0"][0], g["goal"][0], g["actions"][0], 0.1, 0.3, 0.0)
        assert g["cost"][0] == pytest.approx(want, rel=1e-10)      # the stored cost is the whole cost
