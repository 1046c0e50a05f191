"""``fastplan sweep``: run a grid of experiments into one HDF5 results file.

Thin: parses and validates the options, then calls :func:`fastplan.sweep.run_sweep`.
Heavy imports (Numba, h5py, the kernels) happen inside the command body.
"""
from __future__ import annotations

import shlex
import sys

import click

from ._cluster import cluster_options, executor_from_options
from ._cost import cost_options, with_cost_terms
from ._errors import friendly_errors
from ._inputs import input_options, inputs_from_options
from ._options import MultiValueCommand, BoundedInt, ChoiceList, IntList, multi_option

from ._names import (GEOMETRY_KINDS, GEOMETRY_USAGES, GRADIENT_MODES, PAPER_GEOMETRY_KINDS, PAPER_PLANNERS,
                     PLANNERS, canonical_geometry)


def parse_sets(values, planners) -> dict:
    """Parse ``--set`` values into ``{planner: {name: value or [values]}}``.

    ``cem.population=400`` sets one planner's hyperparameter; ``lam=0.2`` (no planner)
    sets it for every planner in ``planners`` that has it (a cost option such as
    ``prior_weight``: every planner that implements it); ``cem.population=100,200``
    sweeps over both values.  Values stay strings: the library validates and converts.
    """
    from fastplan.engine import registry
    from fastplan.engine.planners import DEFAULTS, canonical_planner
    from fastplan.engine.errors import FastplanError
    out: dict[str, dict] = {}
    for raw in values or ():
        text = str(raw).strip()
        if "=" not in text:
            raise FastplanError(f"--set expects PLANNER.NAME=VALUE (e.g. cem.population=400), got {raw!r}")
        name, value = (s.strip() for s in text.split("=", 1))
        items = [v.strip() for v in value.split(",")]
        if not name or not value or any(not v for v in items):
            raise FastplanError(f"--set expects PLANNER.NAME=VALUE (e.g. cem.population=400), got {raw!r}")
        val = items if len(items) > 1 else items[0]
        if "." in name:
            planner, key = name.split(".", 1)
            planner = canonical_planner(planner)
            if not registry.planner(planner).accepts(key):
                raise FastplanError(f"{planner} has no hyperparameter {key!r}; it has "
                                    f"{', '.join(sorted(DEFAULTS[planner]))}")
            targets = [planner]
        else:
            key = name
            targets = [p for p in planners if registry.planner(p).accepts(key)]
            if not targets:
                raise FastplanError(f"no selected planner has a hyperparameter {key!r} (--set {raw})")
        for p in targets:
            out.setdefault(p, {})[key] = val
    return out


def with_prior_weight(sets, prior_weight) -> list:
    """``--prior-weight BETA`` as the ``--set prior_weight=BETA`` it abbreviates."""
    sets = list(sets or ())
    return sets if prior_weight is None else sets + [f"prior_weight={prior_weight}"]


def command_line() -> str:
    """The command as typed (for provenance)."""
    return "fastplan " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@click.command("sweep", cls=MultiValueCommand)
@click.option("--out", "-o", "out", required=True, type=click.Path(dir_okay=False),
              help="Results file (HDF5). Created if missing; an existing fastplan file is resumed/extended.")
@multi_option("--planners", type=ChoiceList(PLANNERS), default=PAPER_PLANNERS, show_default=True,
              help="Planners (or 'all').")
@multi_option("--geometries", type=ChoiceList(GEOMETRY_KINDS, normalize=canonical_geometry),
              default=PAPER_GEOMETRY_KINDS, show_default=True, metavar="GEOMETRY [GEOMETRY ...]",
              help="Latent geometries (aliases: sparse-ebm, vq-vae).")
@multi_option("--dims", type=IntList(min=1), default=(4, 8, 16, 32), show_default=True,
              help="Latent dimensions d.")
@multi_option("--horizons", type=IntList(min=1), default=(4, 8, 16), show_default=True,
              help="Planning horizons T.")
@multi_option("--seeds", type=IntList(min=0, max=2**63 - 1, allow_range=True), default=("0-9",),
              show_default=True, help="Seeds: values and ranges, e.g. 0-9 or 0 1 2.")
@click.option("--set", "sets", multiple=True, metavar="PLANNER.NAME=VALUE",
              help="Override a hyperparameter, e.g. cem.population=400 (repeatable; "
                   "lam=0.2 sets every planner; a,b,c sweeps over values).")
@click.option("--geometry-usage", type=click.Choice(GEOMETRY_USAGES), default="prior", show_default=True,
              help="How the geometry enters the planners: 'prior' (documented default) or 'none'.")
@click.option("--gradient", type=click.Choice(GRADIENT_MODES), default="fd", show_default=True,
              help="Gradient of the gradient and SGLD planners: paper finite differences or exact adjoint.")
@multi_option("--budget", "budgets", type=IntList(min=1), default=None, metavar="ROLLOUTS [ROLLOUTS ...]",
              help="Run every planner at these rollout budgets per plan (its iteration count, or "
                   "diffusion's denoising steps, set to match; over --set of them).")
@click.option("--execution", type=click.Choice(("latent", "decoded")), default="latent", show_default=True,
              help="What the environment receives: the planned latent actions, or their projections onto "
                   "the geometry (a separate configuration; realised goal distance and gap stored).")
@click.option("--prior-weight", default=None, metavar="BETA[,BETA...]",
              help="Prior-penalised cost: Eq. 5 + BETA (1/T) sum_t -log p_geom(a_t), for every selected "
                   "planner that implements it (default 0: the paper's cost; a,b sweeps over values).")
@cost_options(sweep=True)
@click.option("--traces", is_flag=True,
              help="Also store each run's per-iteration trace (best cost so far, mean cost, rollouts) "
                   "for anytime curves; runs already in the file keep what they have.")
@click.option("--threads", type=BoundedInt(min=1), default=None,
              help="Numba threads (default: all cores). Results do not depend on it.")
@click.option("--max-batch", type=BoundedInt(min=1), default=64, show_default=True,
              help="Most problems planned in one kernel call (one work unit).")
@click.option("--metric-samples", type=BoundedInt(min=0), default=4000, show_default=True,
              help="Samples per geometry-metric estimate (0: skip the metrics).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (the one-line summary stays).")
@input_options
@cluster_options
@friendly_errors
def sweep(out, planners, geometries, dims, horizons, seeds, sets, geometry_usage, gradient, budgets,
          execution, prior_weight, running, effort, bounds, traces, threads, max_batch, metric_samples, quiet, world, latents,
          fit, k, covariance, starts_goals, workers, scheduler, scheduler_file):
    """Run the grid planners x geometries x dims x horizons x seeds into one HDF5 file.

    Defaults are the paper's grid (5 planners, 3 geometries, d in 4 8 16 32, horizons 4 8 16,
    seeds 0-9). Re-running the same command computes only what is missing; a killed sweep
    leaves a readable file and resumes. Runs with other settings are other configurations
    and live beside the existing ones.

    \b
    Example:
      fastplan sweep --dims 4 8 --planners cem mppi --seeds 0-4 --out runs.h5
      fastplan sweep --planners cem --set cem.population=400 --out runs.h5
      fastplan sweep --out runs.h5 --workers 4          # a local Dask cluster
      fastplan sweep --dims 8 --horizons 8 --budget 1050 2000 6500 --out runs.h5
      fastplan sweep --dims 8 --horizons 8 --execution decoded --out runs.h5
      fastplan sweep --world model.npz --latents latents.npy --starts-goals tasks.npz --out mine.h5
      fastplan sweep --planners projected-cem codebook-cem --geometries vqvae --out runs.h5
      fastplan sweep --dims 8 --horizons 8 --budget 6500 --traces --out runs.h5
      fastplan sweep --dims 8 --running 0,0.1 --effort 0.01 --bounds=-2,2 --out runs.h5

    With --world, --latents or --starts-goals, d is theirs (--dims may be left out) and each
    configuration records the files' paths and content hashes; with --latents the geometry is
    fitted to them (no --geometries, no geometry metrics: see `fastplan geometry --latents`).
    Cost terms beyond Eq. 5 (--running, --effort, --bounds, --prior-weight) are hyperparameters of
    each configuration (its key and id); left at their defaults, the configuration is the paper's.

    FASTPLAN_ARITHMETIC=fast (environment; default exact) plans with a float-accuracy tanh, in
    a quarter to a third less planning time; its runs are other configurations (arithmetic=fast in their keys), never the
    paper's, and live beside exact ones (README, "Fast arithmetic (opt-in)").
    """
    from fastplan.runs.sweep import prepare_sweep, run_sweep
    if metric_samples == 1:
        raise click.ClickException("--metric-samples must be 0 or at least 2")
    inputs, dims = inputs_from_options(world, latents, fit, k, covariance, starts_goals,
                                       dims="dims", geometry="geometries")
    if inputs is not None and inputs.geometry_name:
        geometries = None
    overrides = parse_sets(with_cost_terms(with_prior_weight(sets, prior_weight), running, effort, bounds),
                           planners)
    # before any cluster starts: the output path, and whether the grid can fit (disk, memory)
    prepare_sweep(out, planners=planners, geometries=geometries, dims=dims, horizons=horizons,
                  seeds=seeds, overrides=overrides, geometry_usage=geometry_usage, gradient=gradient,
                  budgets=budgets, execution=execution, threads=threads, max_batch=max_batch, metric_samples=metric_samples,
                  in_process=workers is None and scheduler is None and scheduler_file is None, inputs=inputs,
                  traces=traces)
    with executor_from_options(workers, scheduler, scheduler_file, threads=threads,
                               quiet=quiet) as (executor, executor_name):
        summary = run_sweep(
            out, planners=planners, geometries=geometries, dims=dims, horizons=horizons,
            seeds=seeds, overrides=overrides, geometry_usage=geometry_usage, gradient=gradient,
            budgets=budgets, execution=execution, threads=threads, progress="quiet" if quiet else "auto",
            command_line=command_line(),
            max_batch=max_batch, metric_samples=metric_samples, executor=executor,
            executor_name=executor_name, inputs=inputs, traces=traces)
    click.echo(str(summary))
