"""Before a sweep starts: what it will cost (disk, memory, time) and whether it can fit.

:func:`estimate_sweep` counts the runs of a grid that the results file lacks and estimates

* disk: every missing run's rows (:func:`fastplan.store.layout.run_bytes`, measured 1.1-1.3x
  in HDF5 with chunking) plus ~32 KiB per new configuration, and each world model the runs
  refer to once (:func:`~fastplan.store.layout.world_bytes`; counted even when the file has it);
  a fold needs room for a copy of the file next to it, so the folder needs ``file + 2 x growth`` free;
* memory: the driver's bookkeeping (~:data:`BOOKKEEPING_BYTES` per run of the grid: work
  units, the index of done runs) and the largest work unit (a batch of up to ``max_batch``
  plans, :func:`fastplan.engine.budget.plan_bytes`, or one geometry-metric estimate);
* time: the planners' rough speed (:mod:`fastplan.engine.budget`) on the sweep's threads.

:func:`check_sweep` refuses what cannot fit (one :class:`FastplanError` with the number and
how to split the grid) and warns about geometry metrics that will be slow.
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
from collections import Counter
from dataclasses import dataclass

from .. import store
from ..engine import budget
from ..store.layout import run_bytes, world_bytes
from ..engine.errors import FastplanError
from ..engine.budget import format_bytes, format_duration

#: Driver memory per run of the grid (measured ~100 bytes for the work units at their peak,
#: plus the index of done runs and the progress maps; rounded up).
BOOKKEEPING_BYTES = 400
#: HDF5 bytes per stored byte of run data (measured 1.1-1.3 with the writer's chunking).
DISK_FACTOR = 1.3
#: HDF5 bytes of a new configuration's group, attributes and table beyond its rows (results
#: format 3, one table per configuration: measured ~4.7 KiB on the paper grid; ~21 KiB with
#: format 2's dataset per field).
CONFIG_BYTES = 8 * 1024


@dataclass
class SweepEstimate:
    """What a sweep will cost (see the module docstring)."""

    runs_total: int
    runs_todo: int
    configurations: int
    seeds: int
    disk_bytes: int          # bytes the missing runs add to the results file
    file_bytes: int          # the results file's size now (0 if new)
    free_bytes: int | None   # free bytes in its folder
    driver_bytes: int        # the sweep's own bookkeeping
    unit_bytes: int          # the largest work unit
    unit_what: str           # which one
    seconds: float           # rough compute time
    metric_seconds: float    # the slowest single geometry-metric estimate
    threads: int
    in_process: bool

    def line(self) -> str:
        """``estimate: ~3 min on 2 threads, ~120 MiB of results, ~40 MiB of memory``."""
        where = f"on {self.threads} thread{'s' if self.threads != 1 else ''}" if self.in_process \
            else f"of compute ({self.threads} thread{'s' if self.threads != 1 else ''} here)"
        return (f"estimate: ~{format_duration(self.seconds)} {where}, ~{format_bytes(self.disk_bytes)} "
                f"of results, ~{format_bytes(self.driver_bytes + self.unit_bytes)} of memory")


def _trace_rows(planner: str, hp: dict, T: int, d: int) -> int:
    """Rows of one run's trace (0 for a planner that records none)."""
    from ..engine import registry
    rows = getattr(registry.planner(planner).module(), "trace_rows", None)
    return int(rows(hp, T, d)) if rows is not None else 0


def estimate_sweep(grid, out_path, *, max_batch: int, metric_samples: int, threads: int,
                   in_process: bool = True, geometry_usage: str | None = None,
                   traces: bool = False) -> SweepEstimate:
    """Estimate the cost of computing what ``out_path`` lacks of ``grid`` (nothing is written);
    ``traces``: the runs also store their per-iteration traces (R x 3 numbers each)."""
    out_path = os.fspath(out_path)
    done_runs, done_metrics = store.index(out_path) if os.path.exists(out_path) else (set(), set())
    seeds = set(grid.seeds)
    by_id = {c.config_id: c for c in grid.configs}
    done_in = Counter(cid for cid, s in done_runs if cid in by_id and s in seeds)
    n_seeds = len(grid.seeds)
    disk = seconds = 0.0
    unit_bytes, unit_what = 0, ""
    todo = 0
    groups: dict[tuple, int] = {}
    inputs = grid.inputs
    new_worlds = set()          # (d, seed) of the paper's worlds the missing runs use
    for cfg in grid.configs:
        missing = n_seeds - done_in.get(cfg.config_id, 0)
        if missing <= 0:
            continue
        todo += missing
        hp = json.loads(cfg.hp_json)
        n_state = inputs.state_dim(cfg.d) if inputs is not None else cfg.d
        disk += missing * run_bytes(cfg.d, cfg.horizon, n_state) * DISK_FACTOR
        if inputs is None or inputs.world is None:
            new_worlds.add(cfg.d)
        if traces:
            disk += missing * 24 * _trace_rows(cfg.planner, hp, cfg.horizon, cfg.d) * DISK_FACTOR
        disk += 0 if done_in.get(cfg.config_id) else CONFIG_BYTES
        seconds += budget.plan_seconds(cfg.planner, hp, missing, cfg.horizon, cfg.d, threads)
        key = (cfg.planner, cfg.hp_json, cfg.d, cfg.horizon, cfg.geometry_usage)
        groups[key] = groups.get(key, 0) + missing
    for (planner, hp_json, d, T, usage), n in groups.items():
        P = min(max_batch, n)
        need = budget.plan_bytes(planner, json.loads(hp_json), P, T, d, threads, usage)
        if need > unit_bytes:
            unit_bytes, unit_what = need, (f"a work unit of {P} {planner} plan{'s' if P != 1 else ''} at "
                                           f"d={d}, horizon {T}")
    disk += sum(world_bytes(d, d) for d in new_worlds) * n_seeds
    if inputs is not None and inputs.world is not None and todo:
        disk += sum(int(np.asarray(a).nbytes) for a in inputs.world.arrays().values()) + 2048
    metric_seconds = 0.0
    if metric_samples and not (inputs is not None and inputs.geometry_name):
        n = int(metric_samples)
        done_m = Counter((g, d) for g, d, s, k in done_metrics if k == n and s in seeds)
        for g in grid.geometries:
            for d in grid.dims:
                missing = n_seeds - done_m.get((g, d), 0)
                if missing:
                    one = budget.metrics_seconds(n, d, threads)
                    seconds += missing * one
                    metric_seconds = max(metric_seconds, one)
                    disk += missing * 80
                    need = budget.metrics_bytes(n, d)
                    if need > unit_bytes:
                        unit_bytes, unit_what = need, f"a geometry-metric estimate with {n} samples at d={d}"
    file_bytes = os.path.getsize(out_path) if os.path.exists(out_path) else 0
    try:
        free = shutil.disk_usage(os.path.dirname(os.path.realpath(out_path))).free
    except OSError:
        free = None
    return SweepEstimate(
        runs_total=grid.n_runs, runs_todo=todo, configurations=len(grid.configs), seeds=n_seeds,
        disk_bytes=int(disk) + (0 if file_bytes else 64 * 1024), file_bytes=file_bytes, free_bytes=free,
        driver_bytes=BOOKKEEPING_BYTES * (grid.n_runs + len(done_runs)), unit_bytes=unit_bytes,
        unit_what=unit_what, seconds=seconds, metric_seconds=metric_seconds, threads=threads,
        in_process=in_process)


def _n(k: int, word: str) -> str:
    return f"{k:,} {word}{'' if k == 1 else 's'}"


def _grid_words(est: SweepEstimate) -> str:
    return (f"{_n(est.runs_todo, 'run')} to compute ({_n(est.configurations, 'configuration')} x "
            f"{_n(est.seeds, 'seed')}) need{'s' if est.runs_todo == 1 else ''}")


def check_sweep(est: SweepEstimate, out_path, *, metric_samples: int = 0) -> None:
    """Refuse a sweep that cannot fit (disk, memory); warn about slow geometry metrics."""
    folder = os.path.dirname(os.path.realpath(os.fspath(out_path)))
    if est.in_process and est.unit_bytes:
        budget.check_memory(est.unit_bytes, est.unit_what,
                            "use a smaller d, horizon or sample count, or a smaller --max-batch")
    limit, source = budget.memory_limit()
    if limit is not None and est.driver_bytes > 0.8 * limit:
        per = max(1, int(est.seeds * 0.5 * limit / max(est.driver_bytes, 1)))
        raise FastplanError(
            f"{_grid_words(est)} ~{format_bytes(est.driver_bytes)} of memory to keep track of; "
            f"{'this machine has' if source == 'physical memory' else source + ' allows'} "
            f"{format_bytes(limit)}; split the seeds into sweeps of about {per:,} seeds each "
            f"(run them one after the other with the same output file: each resumes it)")
    need_disk = est.file_bytes + 2 * est.disk_bytes
    if est.free_bytes is not None and est.runs_todo and need_disk > est.free_bytes:
        fit = max(1, int(est.seeds * est.free_bytes / (need_disk * 1.1)))
        raise FastplanError(
            f"{_grid_words(est)} ~{format_bytes(est.disk_bytes)} of results, and each fold needs room for a "
            f"copy of the file ({format_bytes(need_disk)} in all): {folder} has {format_bytes(est.free_bytes)} "
            f"free; split the seeds (about {fit:,} fit) or use a bigger disk")
    if metric_samples:
        budget.warn_slow(est.metric_seconds, f"metric_samples={metric_samples}: one geometry-metric "
                         f"estimate (n^2/2 pairwise distances)",
                         "use fewer metric samples (the paper uses 4000) or 0 to skip them", stacklevel=3)
