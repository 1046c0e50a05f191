"""``fastplan warmup``: compile and cache every kernel ahead of a sweep."""
from __future__ import annotations

import click

from ._errors import friendly_errors


@click.command("warmup")
@click.option("--quiet", "-q", is_flag=True, help="Print only the total time.")
@friendly_errors
def warmup(quiet):
    """Compile (or load from the disk cache) every kernel once and print the time taken.

    Numba caches compiled kernels on disk, in ~/.cache/fastplan/kernels-<source hash>
    (NUMBA_CACHE_DIR moves it), so the first warm-up after installing or changing fastplan
    pays the compilation and later ones only load the cache.
    """
    import time

    t0 = time.perf_counter()
    from fastplan.runs.warmup import warmup as run_warmup
    times = run_warmup(verbose=None if quiet else click.echo)
    total = time.perf_counter() - t0
    missing = [k for k, v in times.items() if v is None]
    from fastplan.engine.jit import cache_dir
    click.echo(f"warm-up done in {total:.1f} s (kernels cached in {cache_dir()})")
    if missing:
        raise click.ClickException(f"not compiled (missing): {', '.join(missing)}")
