"""Where the seconds of a sweep go: planning, geometry metrics, problems, evaluation, storage.

Usage (from the repository root)::

    python -m bench.sweep_phases                     # the paper grid (1800 runs), about 15 s idle
    python -m bench.sweep_phases --seeds 100         # 18,000 runs into one file
    python -m bench.sweep_phases --out runs.h5 --keep
    python -m bench.sweep_phases --repeat 3          # 3 fresh processes: min and spread per phase

Runs :func:`fastplan.runs.sweep.run_sweep` (default threads, kernels warmed first, a fresh
file) with timers wrapped around its steps, all in this process:

* ``planning``: the ``plan_batch`` calls (kernels, their inputs and the final evaluation);
  ``evaluation`` is the part of it spent in the final rollout that gives cost and states
  (summed over threads);
* ``metrics``: the geometry-metric units (samples, covariance, pairwise distances);
* ``manifold``: the planned actions' manifold metrics (log densities, out-of-distribution
  rates against each geometry's threshold, computed once per geometry from 20,000 samples);
* ``problems``: building the problems (world models, geometries, starts and goals);
* ``packing``: the rest of a unit's result (stacking its arrays, the trivial baselines);
* ``journal``: writing each finished unit to the journal; ``file``: folding the journal into
  the HDF5 file (copy, append, fsync, replace);
* ``other``: the rest (grid expansion, progress, bookkeeping).

Prints one line per phase (seconds and share of the planning time), the file size per run
and ``/proc/loadavg`` before and after.  ``--repeat N`` runs the whole measurement in N fresh
processes one after the other (a process keeps each geometry's OOD threshold, so a second sweep
in the same process would not pay for them) and prints each phase's minimum and spread (max -
min) over the runs, wall and CPU, with the shares of planning of the run with the least total.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

from bench.contention import loadavg, save_json


class _Clock:
    """Wall seconds per phase, summed over calls (thread-safe), and the process's CPU seconds
    (all threads) of the phases that run one at a time in the driver thread."""

    def __init__(self):
        self.t = {}
        self.cpu = {}
        self.lock = threading.Lock()

    def wrap(self, name, fn):
        def timed(*a, **k):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                t1, c1 = time.perf_counter(), time.process_time()
                with self.lock:
                    self.t[name] = self.t.get(name, 0.0) + t1 - t0
                    if name != "evaluation":         # runs inside planning, on several threads
                        self.cpu[name] = self.cpu.get(name, 0.0) + c1 - c0
        return timed


@contextlib.contextmanager
def _patched(clock):
    """Wrap the sweep's steps with ``clock`` timers for the block."""
    from fastplan.engine import api
    from fastplan.runs import sweep
    from fastplan.store import writer
    saved = [(api, "plan_batch", api.plan_batch), (api, "evaluate", api.evaluate),
             (sweep, "_compute_metrics", sweep._compute_metrics),
             (sweep, "_manifold_fields", sweep._manifold_fields),
             (sweep, "_problem", sweep._problem), (writer.Writer, "add", writer.Writer.add),
             (writer.Writer, "commit", writer.Writer.commit)]
    inner = {"plan_batch": "planning", "evaluate": "evaluation", "_compute_metrics": "metrics",
             "_manifold_fields": "manifold", "_problem": "problems", "add": "journal",
             "commit": "file"}
    for obj, name, fn in saved:
        setattr(obj, name, clock.wrap(inner[name], fn))
    add = writer.Writer.add

    def add_only(self, result):          # a commit inside add counts as "file", not "journal"
        before, cpu_before = clock.t.get("file", 0.0), clock.cpu.get("file", 0.0)
        add(self, result)
        with clock.lock:
            clock.t["journal"] = clock.t.get("journal", 0.0) - (clock.t.get("file", 0.0) - before)
            clock.cpu["journal"] = clock.cpu.get("journal", 0.0) - (clock.cpu.get("file", 0.0) - cpu_before)
        return None
    writer.Writer.add = add_only
    try:
        yield
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)


def run(seeds: int = 10, out: str | None = None, metric_samples: int = 4000) -> dict:
    """Run the paper grid with ``seeds`` seeds into a fresh file; phase seconds and sizes."""
    from fastplan.runs import sweep
    from fastplan.runs.warmup import warmup
    warmup()
    sweep.clear_problem_caches()
    tmp = None
    if out is None:
        tmp = tempfile.mkdtemp(prefix="fastplan-phases-")
        out = os.path.join(tmp, "runs.h5")
    clock = _Clock()
    packing = {"t": 0.0}
    compute_unit = sweep.compute_unit

    def unit_timed(unit):
        t0 = time.perf_counter()
        before = dict(clock.t)
        res = compute_unit(unit)
        if unit.kind == "plan":
            inside = sum(clock.t.get(k, 0.0) - before.get(k, 0.0)
                         for k in ("planning", "problems", "manifold"))
            packing["t"] += time.perf_counter() - t0 - inside - float(res.get("warm_time", 0.0))
        return res

    load0 = loadavg()
    with _patched(clock):
        sweep.compute_unit = unit_timed
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            summary = sweep.run_sweep(out, seeds=tuple(range(seeds)), progress="quiet",
                                      metric_samples=metric_samples)
            total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            sweep.compute_unit = compute_unit
    size = os.path.getsize(out)
    phases = dict(clock.t)
    phases["packing"] = packing["t"]
    phases["other"] = total - sum(v for k, v in phases.items() if k != "evaluation")
    cpu = dict(clock.cpu)
    cpu["other"] = total_cpu - sum(cpu.values())
    res = {"seeds": seeds, "runs": summary.runs_computed, "total_s": total, "phases_s": phases,
           "total_cpu_s": total_cpu, "phases_cpu_s": cpu,
           "file_bytes": size, "bytes_per_run": size / max(1, summary.runs_computed),
           "threads": summary.threads, "load_before": load0, "load_after": loadavg(), "path": out}
    if tmp is not None:
        os.unlink(out)
        os.rmdir(tmp)
    return res


def report(res: dict) -> str:
    """Lines: each phase's seconds and share of planning, total, file size."""
    ph = res["phases_s"]
    plan = ph.get("planning", 0.0)
    around = res["total_s"] - plan
    lines = [f"{res['runs']} runs ({res['seeds']} seeds), {res['threads']} threads: "
             f"{res['total_s']:.2f} s in all; load {res['load_before']} -> {res['load_after']}"]
    cpu = res.get("phases_cpu_s", {})
    for k in ("planning", "evaluation", "metrics", "manifold", "problems", "packing", "journal", "file",
              "other"):
        if k in ph:
            note = " (inside planning, summed over threads)" if k == "evaluation" else \
                (f"; CPU {cpu[k]:7.2f} s" if k in cpu else "")
            lines.append(f"  {k:10s} {ph[k]:7.2f} s  {100 * ph[k] / plan if plan else 0:5.1f} % of planning{note}")
    lines.append(f"  around planning: {around:.2f} s = {100 * around / plan if plan else 0:.1f} % of planning")
    if cpu:
        c_plan = cpu.get("planning", 0.0)
        c_around = res["total_cpu_s"] - c_plan
        lines.append(f"  CPU seconds (all threads): planning {c_plan:.2f}, around planning {c_around:.2f} "
                     f"= {100 * c_around / c_plan if c_plan else 0:.1f} %")
    lines.append(f"  file: {res['file_bytes'] / 1e6:.1f} MB, {res['bytes_per_run'] / 1e3:.2f} kB per run")
    return "\n".join(lines)


def repeated(n: int, seeds: int = 10, metric_samples: int = 4000) -> dict:
    """:func:`run` in ``n`` fresh processes, one after the other; the list of their results."""
    runs = []
    for _ in range(n):
        fd, path = tempfile.mkstemp(suffix=".json", prefix="fastplan-phases-")
        os.close(fd)
        try:
            subprocess.run([sys.executable, "-m", "bench.sweep_phases", "--seeds", str(seeds),
                            "--metric-samples", str(metric_samples), "--json", path],
                           check=True, stdout=subprocess.DEVNULL)
            with open(path) as fh:
                runs.append(json.load(fh))
        finally:
            os.unlink(path)
    return {"runs": runs}


def report_repeated(res: dict) -> str:
    """Per phase: min [spread] wall and CPU seconds over the runs; shares of the fastest run."""
    runs = res["runs"]
    best = min(runs, key=lambda r: r["total_s"])
    lines = [f"{len(runs)} fresh processes, {best['runs']} runs each ({best['seeds']} seeds); "
             f"load before each: {', '.join(r['load_before'] for r in runs)}",
             f"  {'phase':10s} {'wall min [spread]':>20s} {'CPU min [spread]':>20s}   share of planning (fastest run)"]
    keys = ["planning", "metrics", "manifold", "problems", "packing", "journal", "file", "other"]
    for k in keys:
        wall = [r["phases_s"].get(k, 0.0) for r in runs]
        cpu = [r["phases_cpu_s"].get(k) for r in runs if k in r["phases_cpu_s"]]
        c = f"{min(cpu):7.2f} [{max(cpu) - min(cpu):5.2f}]" if cpu else ""
        share = 100 * best["phases_s"].get(k, 0.0) / best["phases_s"]["planning"]
        lines.append(f"  {k:10s} {min(wall):10.2f} [{max(wall) - min(wall):5.2f}] {c:>20s}   {share:5.1f} %")
    around = [r["total_s"] - r["phases_s"]["planning"] for r in runs]
    ratio = [a / r["phases_s"]["planning"] for a, r in zip(around, runs)]
    cpu_ratio = [(r["total_cpu_s"] - r["phases_cpu_s"]["planning"]) / r["phases_cpu_s"]["planning"] for r in runs]
    total = [r["total_s"] for r in runs]
    lines.append(f"  whole sweep {min(total):.2f} s [{max(total) - min(total):.2f}]; around planning "
                 f"{min(around):.2f} s [{max(around) - min(around):.2f}], "
                 f"{100 * min(ratio):.1f}-{100 * max(ratio):.1f} % of planning (wall), "
                 f"{100 * min(cpu_ratio):.1f}-{100 * max(cpu_ratio):.1f} % (CPU)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument("--metric-samples", type=int, default=4000)
    parser.add_argument("--out", help="results file (default: a temporary one, removed)")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run N fresh processes one after the other; min and spread per phase")
    args = parser.parse_args(argv)
    if args.repeat > 1:
        res = repeated(args.repeat, args.seeds, args.metric_samples)
        print(report_repeated(res))
    else:
        res = run(args.seeds, args.out, args.metric_samples)
        print(report(res))
    save_json(args.json, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
