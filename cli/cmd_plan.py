"""``fastplan plan``: plan one problem with one planner and print the result."""
from __future__ import annotations

import json
import math

import click
import numpy as np

from ._errors import friendly_errors
from ._inputs import input_options, inputs_from_options
from ._options import BoundedInt
from ._names import GEOMETRY_USAGES, GRADIENT_MODES, PLANNERS, canonical_geometry
from ._cost import cost_options, with_cost_terms
from .cmd_sweep import parse_sets, with_prior_weight


def _geometry(ctx, param, value):
    if value is None:
        return value
    from fastplan.engine.errors import FastplanError
    try:
        return canonical_geometry(value)
    except FastplanError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("plan")
@click.option("--planner", type=click.Choice(PLANNERS, case_sensitive=False), default="cem",
              show_default=True, help="Planner.")
@click.option("--geometry", default="vae", show_default=True, callback=_geometry,
              help="Latent geometry: vae, ebm (sparse-ebm) or vqvae (vq-vae).")
@click.option("--dim", "-d", type=BoundedInt(min=1), default=8, show_default=True, help="Latent dimension d.")
@click.option("--horizon", type=BoundedInt(min=1), default=8, show_default=True, help="Planning horizon T.")
@click.option("--seed", type=BoundedInt(min=0, max=2**63 - 1), default=0, show_default=True,
              help="Seed of the problem (world model, geometry, start, goal) and of the planner.")
@click.option("--set", "sets", multiple=True, metavar="[PLANNER.]NAME=VALUE",
              help="Override a hyperparameter, e.g. population=400 or cem.population=400 (repeatable).")
@click.option("--geometry-usage", type=click.Choice(GEOMETRY_USAGES), default="prior", show_default=True,
              help="How the geometry enters the planner.")
@click.option("--gradient", type=click.Choice(GRADIENT_MODES), default=None,
              help="Gradient of the gradient/SGLD planners: fd (paper, default) or adjoint.")
@click.option("--execution", type=click.Choice(("latent", "decoded")), default="latent", show_default=True,
              help="What the environment receives: the planned latent actions, or their projections "
                   "onto the geometry (realised goal distance and exploitation gap reported).")
@click.option("--prior-weight", default=None, metavar="BETA",
              help="Prior-penalised cost: Eq. 5 + BETA (1/T) sum_t -log p_geom(a_t) (default 0: off).")
@cost_options(sweep=False)
@click.option("--threads", type=BoundedInt(min=1), default=None, help="Numba threads.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the full result (incl. actions and states) as JSON.")
@input_options
@friendly_errors
def plan(planner, geometry, dim, horizon, seed, sets, geometry_usage, gradient, execution, prior_weight,
         running, effort, bounds, threads, as_json, world, latents, fit, k, covariance, starts_goals):
    """Plan one problem with one planner and print the result.

    Exits with status 3 (after printing the result, NaN as null in --json, and one warning)
    when the plan came out NaN or inf: the planner diverged.

    \b
    Example:
      fastplan plan --planner cem --geometry vae --dim 8 --horizon 8 --seed 0
      fastplan plan --planner gradient --gradient adjoint --set iterations=50 --json
      fastplan plan --planner cem --geometry vq-vae --execution decoded
      fastplan plan --world model.npz --latents latents.npy --starts-goals tasks.npz --seed 3
      fastplan plan --planner codebook-cem --geometry vq-vae --prior-weight 0.01
      fastplan plan --planner mppi --running 0.1 --effort 0.01 --bounds=-1.5,1.5
    """
    from fastplan.engine.jit import set_threads
    from fastplan.engine.errors import FastplanError
    from fastplan.engine.api import plan as plan_one
    from fastplan.engine.planners import DEFAULTS, LABELS
    from fastplan.engine.problem import make_problem

    planner = planner.lower()
    sets = [s if "." in s.split("=", 1)[0] else f"{planner}.{s}"
            for s in with_cost_terms(with_prior_weight(sets, prior_weight), running, effort, bounds)]
    overrides = parse_sets(sets, [planner])
    extra = set(overrides) - {planner}
    if extra:
        raise FastplanError(f"--set names {', '.join(sorted(extra))}, but the planner is {planner}")
    hp = overrides.get(planner, {})
    if any(isinstance(v, list) for v in hp.values()):
        raise FastplanError("fastplan plan takes one value per hyperparameter (use `fastplan sweep` for a grid)")
    if gradient is not None:
        if "gradient" not in DEFAULTS[planner]:
            raise FastplanError(f"--gradient applies to the gradient and sgld planners, not {planner}")
        hp.setdefault("gradient", gradient)
    inputs, dims = inputs_from_options(world, latents, fit, k, covariance, starts_goals,
                                       dims="dim", geometry="geometry")
    if inputs is not None:
        dim = dims[0]
        inputs.check_seeds([seed])
        geometry = inputs.geometry_name or geometry
    set_threads(threads)
    _check_size(planner, hp, dim, horizon, geometry_usage)     # before the world model is built
    problem = inputs.problem(geometry, dim, horizon, seed) if inputs else make_problem(geometry, dim, horizon, seed)
    res = plan_one(problem, planner, seed=seed, geometry_usage=geometry_usage, execution=execution, **hp)
    from fastplan.engine.manifold import manifold_metrics
    manifold = {k: float(v[0]) for k, v in manifold_metrics([problem.geometry], res.actions[None]).items()}
    finite = bool(np.isfinite([res.goal_distance, res.smoothness, res.cost]).all()
                  and np.isfinite(res.actions).all() and np.isfinite(res.states).all())
    out = {
        "planner": res.planner, "geometry": geometry, "d": dim, "horizon": horizon, "seed": seed,
        "geometry_usage": res.geometry_usage, "goal_distance": res.goal_distance,
        "smoothness": res.smoothness, "cost": res.cost, "samples": res.samples, "steps": res.steps,
        "wall_time": res.wall_time, "compile_time": res.compile_time, "hyperparameters": res.hyperparameters, "finite": finite,
        "execution": res.execution,
        **manifold, "realised_goal_distance": res.realised_goal_distance,
        "exploitation_gap": res.exploitation_gap, "world": problem.world.content_hash(),
    }
    if inputs is not None:
        out["inputs"] = inputs.describe()
    if as_json:
        out.update(actions=res.actions.tolist(), states=res.states.tolist(),
                   s0=problem.s0.tolist(), goal=problem.goal.tolist())
        if execution != "latent":
            out["executed_actions"] = res.executed_actions.tolist()
        click.echo(json.dumps(_json_safe(out), allow_nan=False))   # NaN/inf -> null: strict JSON
        _exit_if_not_finite(finite)
        return
    from fastplan.engine.geometry import LABELS as GLABELS
    hps = " ".join(f"{k}={v}" for k, v in res.hyperparameters.items())
    glabel = GLABELS.get(geometry) or f"{problem.geometry.label} fitted to {click.format_filename(latents, shorten=True)}"
    click.echo(f"{LABELS[res.planner]} on {glabel}, d={dim}, horizon {horizon}, seed {seed} "
               f"(geometry usage: {res.geometry_usage})")
    if inputs is not None:
        for name, info in inputs.describe().items():
            click.echo(f"  {name.replace('_', ' '):<16} {info['path'] or '(in memory)'} "
                       f"(content hash {info['content_hash'][:16]})")
    click.echo(f"  goal distance    {res.goal_distance:.6f}")
    click.echo(f"  smoothness       {res.smoothness:.6f}")
    terms = {"prior_weight": "prior", "running": "running", "effort": "effort", "lower": "box", "upper": "box"}
    what = " + ".join(dict.fromkeys(["Eq. 5"] + [terms[k] for k in terms if k in res.hyperparameters]))
    click.echo(f"  cost ({what}){' ' * max(1, 10 - len(what))}{res.cost:.6f}")
    click.echo(f"  samples          {res.samples} world-model rollouts")
    click.echo(f"  steps            {res.steps} single-step evaluations")
    compiled = f"; before it, {res.compile_time:.2f} s loading/compiling kernels" if res.compile_time else ""
    click.echo(f"  wall time        {res.wall_time * 1e3:.2f} ms (planning kernel{compiled})")
    click.echo(f"  hyperparameters  {hps}")
    if execution != "latent":
        click.echo(f"  realised goal    {res.realised_goal_distance:.6f} (decoded: actions projected onto "
                   f"the geometry: {problem.geometry.projection_note})")
        click.echo(f"  exploitation gap {res.exploitation_gap:+.6f} (realised - planned)")
        click.echo(f"  log density      {manifold['log_density']:.4f} (mean over the planned actions)")
        click.echo(f"  OOD rate         {manifold['ood_rate']:.4f} (outside the 99% high-density region)")
    if not finite:
        click.echo("  finite           no: NaN or inf in the result (the planner diverged)")
    _exit_if_not_finite(finite)


#: Exit status of `fastplan plan` when the plan came out NaN or inf (it ran; see the warning).
EXIT_NOT_FINITE = 3


def _exit_if_not_finite(finite: bool) -> None:
    if not finite:
        click.get_current_context().exit(EXIT_NOT_FINITE)


def _json_safe(obj):
    """NaN and inf -> None (JSON null), recursively, so that the output is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _check_size(planner: str, hp: dict, d: int, horizon: int, usage: str) -> None:
    """Refuse a plan whose memory cannot fit and warn about a slow one, before anything is built."""
    from fastplan.engine import budget
    from fastplan.engine.planners import resolve
    full = resolve(planner, hp)
    budget.check_world(d)
    budget.check_plan(planner, full, 1, horizon, d, usage=usage)
    budget.warn_slow(budget.plan_seconds(planner, full, 1, horizon, d),
                     f"planning with {planner} at d={d}, horizon {horizon}")
