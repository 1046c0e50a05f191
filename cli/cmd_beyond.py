"""``fastplan beyond-geometry``: the experiment of README "Beyond the paper: does respecting the
geometry pay?" (issue 13): every planner, the geometry-aware ones included, under decoded
execution at h = 8 and d in {4, 8, 16, 32}, into ``OUT/beyond.h5``, then ``OUT/beyond.md`` (tables,
paired contrasts, verdicts), ``beyond.csv``, ``beyond.json`` and ``beyond_geometry.png/.pdf``.
"""
from __future__ import annotations

import shlex
import sys
import time

import click

from ._errors import friendly_errors


@click.command("beyond-geometry")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(path_type=str),
              help="Folder for beyond.h5 and the report (created if missing; resumes beyond.h5 if present).")
@click.option("--seeds", type=click.IntRange(min=2), default=20, show_default=True,
              help="Seeds 0..N-1 of every cell (paired across planners: same world, start and goal).")
@click.option("--quick", is_flag=True, help="A small grid for smoke tests: d in {4, 8}, seeds 0-2.")
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Numba threads (default: all cores). Results do not depend on it.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@friendly_errors
def beyond(out_dir: str, seeds: int, quick: bool, threads: int | None, quiet: bool):
    """Does respecting the latent geometry pay? Plan with the paper's five planners, the
    geometry-aware ones (score-guided diffusion, projected CEM and MPPI, codebook CEM) and CEM
    with the prior-penalised cost; execute decoded; report planned and realised goal distance,
    exploitation gap and OOD rate with paired confidence intervals over seeds, and the verdicts
    on the paper's hypothesis.

    \b
    Example:
      fastplan beyond-geometry --out beyond/
      fastplan beyond-geometry --out smoke/ --quick
    """
    from fastplan.paper.beyond import run_beyond

    t0 = time.perf_counter()
    out = run_beyond(out_dir, seeds=seeds, quick=quick, threads=threads,
                     progress="quiet" if quiet else "auto", command_line=shlex.join(["fastplan"] + sys.argv[1:]))
    verdicts = [c.verdict for c in out["contrasts"]]
    click.echo(f"results: {out['results']}")
    click.echo(f"wrote {out['report']} ({out['csv']}, {out['json']}; figure {out['figures'][0]})")
    click.echo(f"  contrasts: {verdicts.count('supported')} supported, {verdicts.count('contradicted')} "
               f"contradicted, {verdicts.count('undecided')} undecided (paired seed bootstrap, 95%)")
    click.echo(f"  in {time.perf_counter() - t0:.1f} s")
