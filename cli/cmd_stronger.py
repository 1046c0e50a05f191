"""``fastplan beyond``: every planner, the paper's and those beyond it, at equal rollout budgets.

``fastplan beyond --out DIR`` runs the paper's five planners (and the gradient planner with
adjoint gradients), iCEM, adaptive MPPI, Adam and model-based diffusion at 1050, 2000 and 6500
rollouts per plan (d = h = 8, the paper's three geometries, seeds 0..N-1) into ``DIR/runs.h5``,
resuming what is there, and writes ``DIR/beyond.md`` and ``beyond.csv``, and the anytime curves
``anytime.png``/``.pdf`` from the traces of the runs at the largest budget.
"""
from __future__ import annotations

import shlex
import sys
import time

import click

from ._errors import friendly_errors


@click.command("beyond")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(path_type=str),
              help="Folder for runs.h5 and the table (created if missing; resumes runs.h5 if present).")
@click.option("--seeds", type=click.IntRange(min=2), default=100, show_default=True,
              help="Seeds 0..N-1 of every cell.")
@click.option("--budget", "--budgets", "budgets", type=click.IntRange(min=1), multiple=True,
              default=(1050, 2000, 6500), show_default=True, help="Rollout budgets (repeat the option).")
@click.option("--traces/--no-traces", default=True, show_default=True,
              help="Store the traces of the runs at the largest budget and draw anytime.png/.pdf.")
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Numba threads (default: all cores). Results do not depend on it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@friendly_errors
def beyond(out_dir: str, seeds: int, budgets: tuple, traces: bool, threads: int | None, quiet: bool):
    """Every planner at equal rollout budgets, with paired intervals against the paper's best.

    Rows: CEM, MPPI, gradient (finite differences and adjoint), SGLD, diffusion, then the
    planners registered beyond the paper; columns: goal distance per geometry, their mean, and
    its difference to the best paper planner at the same budget (paired seed bootstrap, 95%).
    The paper's tables and claims are not affected.
    """
    from fastplan.paper.stronger import run_beyond

    t0 = time.perf_counter()
    out = run_beyond(out_dir, seeds=seeds, budgets=tuple(sorted(set(budgets))), traces=traces, threads=threads,
                     progress="quiet" if quiet else "auto", command_line=shlex.join(["fastplan"] + sys.argv[1:]))
    click.echo(f"results: {out['results']}")
    click.echo(f"wrote {', '.join(out['paths'])} in {time.perf_counter() - t0:.1f} s")
