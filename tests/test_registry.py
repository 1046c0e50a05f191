"""The registry (issue 11): one list of planners, geometries and world models; a sixth planner
is one module; importing fastplan leaves other libraries alone; the paper layer is frozen."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

import fastplan
from fastplan.engine import registry
from fastplan.engine.errors import FastplanError


# --------------------------------------------------------------------------- the registry

def test_paper_entries_and_fixed_stream_ids():
    assert registry.planners().names(paper=True) == ("cem", "mppi", "gradient", "sgld", "diffusion")
    assert registry.geometries().names(paper=True) == ("vae", "ebm", "vqvae")
    # the geometries keep the ids their centres were drawn with (positions of the old KINDS)
    assert [registry.geometry(g).stream_id for g in ("vae", "ebm", "vqvae")] == [0, 1, 2]
    assert registry.geometries().canonical("Sparse-EBM") == "ebm"
    assert registry.geometries().canonical("VQ-VAE") == "vqvae"
    assert "tanh" in registry.worlds()


def test_taken_names_and_stream_ids_are_refused():
    spec = registry.planner("cem")
    with pytest.raises(FastplanError, match="already registered"):
        registry.register_planner(spec)
    clash = registry.PlannerSpec(name="clash", label="Clash", defaults={"lam": 0.1},
                                 kernels=object(), stream_id=spec.stream_id)
    with pytest.raises(FastplanError, match="stream_id 0 is taken"):
        registry.register_planner(clash)
    with pytest.raises(FastplanError, match="unknown planner"):
        registry.planner("nope")


def test_hyperparameter_rules_come_from_the_spec():
    assert registry.planner("cem").resolve({"population": "400"})["population"] == 400
    with pytest.raises(FastplanError, match="integer >= 1"):
        registry.planner("cem").resolve({"population": 0.5})
    with pytest.raises(FastplanError, match="at least one elite"):
        registry.planner("cem").resolve({"population": 4})
    with pytest.raises(FastplanError, match="one of fd, adjoint"):
        registry.planner("gradient").resolve({"gradient": "exact"})
    # live views
    assert fastplan.DEFAULTS["mppi"]["samples"] == 200
    assert "cem" in fastplan.PLANNERS


# --------------------------------------------------------------------------- a sixth planner

class RandomShooting:
    """A toy planner, defined here only: draw N sequences from the prior, keep the cheapest.

    Plain NumPy, so it needs no kernel; it counts its rollouts honestly.
    """

    @staticmethod
    def prepare(batch, hp, usage):
        return {"draws": batch.initial_draws(int(hp["samples"]), usage)}

    @staticmethod
    def run(batch, hp, inputs):
        from fastplan.engine.cost import evaluate
        draws = inputs["draws"]                       # (P, N, T, d)
        P, N = draws.shape[:2]
        actions = np.empty((P, batch.T, batch.d))
        for p in range(P):
            rep = lambda x: np.repeat(x[p:p + 1], N, axis=0)  # noqa: E731
            cost = evaluate(tuple(rep(x) for x in batch.world), rep(batch.s0), rep(batch.goal),
                            draws[p], batch.cost_bundle(hp))[0]
            actions[p] = draws[p, int(np.argmin(cost))]
        n = np.full(P, N, dtype=np.int64)
        return actions, n, n * batch.T


@pytest.fixture
def random_shooting():
    spec = registry.PlannerSpec(
        name="random", label="Random shooting", stream_id=900, kernels=RandomShooting(),
        defaults={"samples": 64, "lam": 0.1}, rollouts=lambda hp, T, d: hp["samples"],
        tiny={"samples": 2}, description="toy planner of tests/test_registry.py")
    registry.register_planner(spec)
    yield spec
    registry.planners().unregister("random")


def test_a_sixth_planner_plans_sweeps_and_reports_without_changing_the_paper_verdicts(
        random_shooting, tmp_path):
    from fastplan.paper.report import write_report
    from fastplan.runs.sweep import run_sweep
    from fastplan_cli.main import cli

    prob = fastplan.make_problem("vae", 4, 4, 0)
    res = fastplan.plan(prob, "random")
    assert res.samples == 64 and np.isfinite(res.goal_distance)

    path = str(tmp_path / "runs.h5")
    grid = dict(geometries=["vae", "ebm"], dims=[4, 8], horizons=[4, 8], seeds=[0, 1],
                progress=None, metric_samples=64)
    run_sweep(path, planners=["cem", "mppi", "diffusion"], **grid)
    before = write_report(path, str(tmp_path / "before"), figures=False)
    run_sweep(path, planners=["random"], **grid)
    r = CliRunner().invoke(cli, ["report", path, "--out", str(tmp_path / "after")])
    assert r.exit_code == 0, r.output
    verdicts = lambda folder: {c["key"]: c["verdict"] for c in  # noqa: E731
                               json.load(open(os.path.join(folder, "claims.json")))}
    assert verdicts(str(tmp_path / "after")) == verdicts(str(tmp_path / "before"))
    # the paper's claims are judged among the paper's planners only: the toy one is never a contender
    claims_text = open(os.path.join(str(tmp_path / "after"), "claims.json")).read()
    assert "random" not in claims_text.lower()
    assert before  # the report was written
    r = CliRunner().invoke(cli, ["show", path, "--planner", "random"])
    assert r.exit_code == 0 and "random" in r.output


# --------------------------------------------------------------------------- no side effects

def test_importing_fastplan_leaves_numba_config_and_click_untouched(tmp_path):
    user = tmp_path / "userkernel.py"
    user.write_text("import numba\n@numba.njit(cache=True)\ndef f(x):\n    return x + 1\n")
    code = textwrap.dedent(f"""
        import os, sys, numba, click, click.parser
        sys.path.insert(0, {str(tmp_path)!r})
        before = {{k: v for k, v in vars(numba.config).items() if k.isupper()}}
        show, opt_process = click.exceptions.UsageError.show, click.parser.Option.process
        env = dict(os.environ)
        import fastplan
        prob = fastplan.make_problem("vae", 2, 2, 0)
        fastplan.plan(prob, "cem", population=10, iterations=1)
        after = {{k: v for k, v in vars(numba.config).items() if k.isupper()}}
        assert before == after, [k for k in after if before.get(k) != after.get(k)]
        assert click.exceptions.UsageError.show is show
        assert click.parser.Option.process is opt_process
        assert dict(os.environ) == env
        import userkernel
        userkernel.f(1)
        # another library's cached kernel goes where Numba puts it, not into fastplan's cache
        assert any(n.startswith("userkernel.f") for n in os.listdir({str(tmp_path / "__pycache__")!r}))
        print("ok")
    """)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "NUMBA_OPT")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr[-2000:]


def test_show_takes_the_file_before_or_after_the_options(tmp_path):
    from fastplan.runs.sweep import run_sweep
    from fastplan_cli.main import cli
    path = str(tmp_path / "r.h5")
    run_sweep(path, planners=["cem"], geometries=["vae"], dims=[2], horizons=[2], seeds=[0],
              progress=None, metric_samples=0, overrides={"cem": {"population": 10, "iterations": 1}})
    for args in (["show", "--planner", "cem", path], ["show", path, "--planner", "cem"],
                 ["show", "--planner", "cem", "--dims", "2", path]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, (args, r.output)
        assert "cem" in r.output
