"""``fastplan report`` and ``fastplan reproduce``: the paper's tables, figures and claims.

``fastplan report runs.h5 --out report/`` writes Tables 1-4 (Markdown and CSV), Figures
1-8 (PNG and PDF), ``claims.json`` and ``report.md`` from a results file.

``fastplan reproduce --out DIR`` runs the paper's default sweep (5 planners x 3 geometries
x d in {4, 8, 16, 32} x h in {4, 8, 16} x seeds 0-9), the cells the verdicts need at 100
seeds and the equal-budget runs into ``DIR/runs.h5`` -- resuming whatever an earlier,
possibly interrupted, run left there -- and writes the report into ``DIR``.  ``--quick``
runs a small grid instead (a smoke test in well under a minute).
"""
from __future__ import annotations

import shlex
import sys
import time

import click

from ._errors import friendly_errors


def _summary(out: dict, out_dir: str, seconds: float) -> str:
    from fastplan.paper.verdicts import fmt_counts

    claims, claims10 = out["claims"], out.get("claims_paper_seeds")
    own = any(t.endswith("own_inputs.md") for t in out["tables"])
    if own and not claims:      # only runs on the user's own inputs: no comparison with the paper
        lines = [f"wrote {out['report']}",
                 "  tables : own_inputs .md/.csv (runs on your own inputs; no paper comparison: the file "
                 "has no run of the paper's world models and geometries)"]
    else:
        lines = [
            f"wrote {out['report']}",
            f"  tables : {len(out['tables'])} files (table1..4{', table5' if any('table5' in t for t in out['tables']) else ''}"
            f", baselines{', own_inputs' if own else ''} .md/.csv)",
            f"  figures: {len(out['figures'])} files (fig1..8 .png/.pdf)",
            f"  claims : {fmt_counts(claims)} (of {len(claims)}; paired seed bootstrap, 95%)",
        ]
    if claims10 is not None:
        lines.append(f"           at the paper's seeds: {fmt_counts(claims10)}")
    if out["missing"]:
        lines.append(f"  missing: {len(out['missing'])} entries of the paper's grid are not in the file "
                     f"(listed in report.md)")
    lines.append(f"  in {seconds:.1f} s; open {out_dir.rstrip('/')}/report.md")
    return "\n".join(lines)


@click.command("report")
@click.argument("results", type=click.Path(dir_okay=True, path_type=str), metavar="RESULTS.h5")
@click.option("--out", "-o", "out_dir", default="report", show_default=True, type=click.Path(path_type=str),
              help="Output folder (created if missing; its parent must exist).")
@click.option("--metric-samples", type=click.IntRange(min=2), default=None,
              help="Samples per geometry when geometry metrics are not stored in the file (default 4000).")
@friendly_errors
def report(results: str, out_dir: str, metric_samples: int | None):
    """Write the paper's Tables 1-4, Figures 1-8 and report.md for RESULTS.h5.

    Every table puts our numbers (mean [95% CI] over seeds (n)) beside the paper's; every
    qualitative claim of the paper gets a verdict from a paired seed-bootstrap interval
    (supported / contradicted / undecided). Cells missing from the file are listed, not fatal.
    """
    from fastplan.paper.report import write_report

    t0 = time.perf_counter()
    out = write_report(results, out_dir, metric_samples=metric_samples)
    click.echo(_summary(out, out_dir, time.perf_counter() - t0))


@click.command("reproduce")
@click.option("--out", "-o", "out_dir", required=True, type=click.Path(path_type=str),
              help="Folder for runs.h5 and the report (created if missing; resumes runs.h5 if present).")
@click.option("--threads", "-t", type=click.IntRange(min=1), default=None,
              help="Numba threads (default: all cores). Results do not depend on it.")
@click.option("--quick", is_flag=True,
              help="A small grid for smoke tests: d in {4, 8}, h in {4, 8}, seeds 0-2 (and the budgets at d=8, h=8).")
@click.option("--seeds", "seeds", type=click.IntRange(min=10), default=100, show_default=True,
              help="Seeds of the verdicts: the cells the claims need (d 4-32 at h=8, h 4 and 16 at d=8) and the "
                   "equal-budget runs use seeds 0..N-1; the rest of the paper's grid keeps its 10 seeds.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@friendly_errors
def reproduce(out_dir: str, threads: int | None, quick: bool, seeds: int, quiet: bool):
    """Run the paper's experiments into OUT/runs.h5 and write the report into OUT.

    Grid: CEM, MPPI, gradient, SGLD and diffusion x VAE, sparse EBM and VQ-VAE x
    d in {4, 8, 16, 32} x h in {4, 8, 16} x seeds 0-9, with the paper's hyperparameters
    (tables and figures); the cells the claims need at --seeds seeds (verdicts); every
    planner at 1050, 2000 and 6500 rollouts at d=8, h=8 (the equal-budget table).
    Re-running the command resumes an interrupted sweep and recomputes nothing.
    """
    from fastplan.paper.report import reproduce as run, reproduce_sweeps

    n = 0
    for kw in reproduce_sweeps(quick, seeds):
        n += (len(kw["planners"]) * len(kw["geometries"]) * len(kw["dims"]) * len(kw["horizons"])
              * len(kw["seeds"]) * len(kw.get("budgets") or [1]))
    if not quiet:
        click.echo(f"{'quick' if quick else 'paper'} grid: at most {n} runs (shared cells run once) -> "
                   f"{out_dir.rstrip('/')}/runs.h5", err=True)
    t0 = time.perf_counter()
    out = run(out_dir, quick=quick, seeds=seeds, threads=threads, progress="quiet" if quiet else "auto",
              command_line=shlex.join(["fastplan"] + sys.argv[1:]))
    click.echo(f"results: {out['results']}")
    click.echo(_summary(out, out_dir, time.perf_counter() - t0))
