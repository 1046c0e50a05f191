"""Run every fastplan benchmark and print one summary table with all speed ratios.

Usage (from the repository root)::

    python -m bench.run_benchmarks                 # everything (about 3.5 minutes on 2 cores)
    python -m bench.run_benchmarks --quick         # skip the cold-cache compile probes and contention
    python -m bench.run_benchmarks --contention    # only the busy-machine table (bench/contention.py)
    python -m bench.run_benchmarks --save out/     # also write out/summary.{md,json} and pytest-benchmark JSON
    python -m bench.run_benchmarks -- -k rollout   # extra arguments after -- go to pytest
    FASTPLAN_BENCH_DIMS=4,8 FASTPLAN_BENCH_HORIZONS=4 python -m bench.run_benchmarks   # reduced grid

It is a thin wrapper around ``pytest bench/ --benchmark-only``; the table is printed by
``bench/conftest.py`` at the end of the session (also when pytest is run directly).
This module also holds the grid definition and the timing helpers the benches share.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: The paper's default grid (issue 6): 5 planners x 3 geometries x d x h x 10 seeds, from the
#: registry (the paper's entries); the NumPy twins in bench/numpy_planners.py cover them.
def _paper_names():
    from fastplan.engine import registry
    return registry.planners().names(paper=True), registry.geometries().names(paper=True)


PLANNERS, GEOMETRIES = _paper_names()
DIMS = (4, 8, 16, 32)
HORIZONS = (4, 8, 16)
SEEDS = tuple(range(10))


def _env_ints(name, default):
    """A comma-separated override of a grid axis from the environment (for quick trials)."""
    value = os.environ.get(name)
    return tuple(int(x) for x in value.split(",")) if value else default


#: The grid the benches plan: the default grid unless FASTPLAN_BENCH_DIMS / _HORIZONS are set.
GRID_DIMS = _env_ints("FASTPLAN_BENCH_DIMS", DIMS)
GRID_HORIZONS = _env_ints("FASTPLAN_BENCH_HORIZONS", HORIZONS)


def available_planners():
    """Registered planners with a plain-NumPy twin to compare against (the paper's five)."""
    from bench.numpy_planners import PLANNERS as TWINS
    from fastplan.engine import registry
    return tuple(p for p in registry.planners().names() if p in TWINS)


def beyond_planners():
    """The planners beyond the paper with a NumPy twin (bench/numpy_beyond.py): iCEM, adaptive
    MPPI, Adam, MBD.  Benchmarked one by one, never part of the paper's grid."""
    from bench.numpy_beyond import PLANNERS as TWINS
    from fastplan.engine import registry
    return tuple(p for p in registry.planners().names(paper=False) if p in TWINS)


def geometry_planners():
    """The geometry-aware planners with a NumPy twin (bench/numpy_geoplan.py): score diffusion,
    projected CEM and MPPI, codebook CEM.  Benchmarked one by one, never part of the paper's grid."""
    from bench.numpy_geoplan import PLANNERS as TWINS
    from fastplan.engine import registry
    return tuple(p for p in registry.planners().names(paper=False) if p in TWINS)


def _planner_rank(name: str) -> int:
    order = PLANNERS + beyond_planners() + geometry_planners()
    return order.index(name) if name in order else len(order)


def grid_problems(dims=GRID_DIMS, horizons=GRID_HORIZONS, seeds=SEEDS, geometries=GEOMETRIES):
    """``{(d, h): [Problem, ...]}``, 30 problems per cell (3 geometries x 10 seeds)."""
    import fastplan

    return {(d, h): [fastplan.make_problem(g, d, h, s) for g in geometries for s in seeds]
            for d in dims for h in horizons}


def run_fastplan_grid(problems, planners=None, times=None):
    """Plan the whole grid with fastplan: one ``plan_batch`` call per (planner, d, h).

    Returns the total number of rollouts; ``times`` (a dict), if given, receives the
    wall time of each planner's part.
    """
    import fastplan

    planners = available_planners() if planners is None else planners
    total = 0
    for planner in planners:
        t0 = time.perf_counter()
        for probs in problems.values():
            total += int(fastplan.plan_batch(probs, planner).samples.sum())
        if times is not None:
            times[planner] = time.perf_counter() - t0
    return total


# ------------------------------------------------------------------ rollout flop count

def rollout_flops(N, T, d):
    """Floating-point operations of one rollout+cost of N sequences (our count).

    Per step and sample: ``A s`` and ``B a`` 2*d*d each (multiply+add), ``+ b`` d,
    tanh d (counted as 1 flop each), step length ``||s_t - s_{t-1}||`` 3d + 1
    (subtract, square, add; sqrt as 1).  Per sample at the end: goal distance 3d + 1,
    cost ``gd + lam * path / T`` 3.  Total ``N * (T * (4d^2 + 5d + 1) + 3d + 4)``.
    """
    return N * (T * (4 * d * d + 5 * d + 1) + 3 * d + 4)


def dgemm_gflops(n=2000, repeats=3):
    """Best-of-``repeats`` NumPy float64 matmul rate of two n x n matrices, GFLOP/s."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    X @ Y
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        X @ Y
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9, best


# ------------------------------------------------------------------ cold-compile probes

PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import fastplan
from fastplan.engine.cost import rollout
from bench.run_benchmarks import available_planners, grid_problems, run_fastplan_grid
mode = sys.argv[1]
out = {"import_s": time.perf_counter() - t0}
if mode == "kernels":
    t = time.perf_counter(); prob = fastplan.make_problem("vae", 4, 4, 0)
    out["make_problem_first_s"] = time.perf_counter() - t
    W = prob.world
    acts = np.zeros((200, 4, 4))
    for key, fn in [("rollout", lambda: rollout(W.A, W.B, W.b, prob.s0, prob.goal, acts))] + [
            (p, (lambda p=p: fastplan.plan(prob, p))) for p in available_planners()]:
        t = time.perf_counter(); fn(); first = time.perf_counter() - t
        t = time.perf_counter(); fn(); second = time.perf_counter() - t
        out[key] = {"first_s": first, "second_s": second, "compile_s": first - second}
else:
    problems = grid_problems()
    t = time.perf_counter(); run_fastplan_grid(problems); out["grid_s"] = time.perf_counter() - t
out["total_s"] = time.perf_counter() - t0
print("PROBE" + json.dumps(out))
"""


def run_probe(mode, cache_dir, threads=None, timeout=900):
    """Run :data:`PROBE` in a fresh interpreter with ``NUMBA_CACHE_DIR=cache_dir``.

    ``mode`` is "kernels" (first vs second call of each kernel) or "grid" (the whole grid
    once).  Returns the probe's dict plus ``wall_s``, the subprocess's wall time
    (interpreter start, imports, compilation or cache loading, and the work).
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir),
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    if threads is not None:
        env["NUMBA_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"probe {mode} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE")][-1]
    out = json.loads(line[len("PROBE"):])
    out["wall_s"] = wall
    return out


# ------------------------------------------------------------------------- summary

def machine_info():
    """A one-line description of the machine and the library versions."""
    import numba

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "python": platform.python_version(), "numpy": np.__version__, "numba": numba.__version__,
            "platform": platform.platform()}


#: Share of the machine used by other processes above which a measurement is marked with *.
BUSY = 0.05


def _flag(*recs):
    return "*" if any(r and (r.get("foreign") or 0) > BUSY for r in recs) else ""


def _fmt_t(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _ratio(a, b):
    return f"{a / b:.1f}x" if a and b else "-"


def _rates(fp, ref, peak):
    """[fastplan GFLOP/s, NumPy GFLOP/s, fastplan's share of DGEMM] from fastplan's flop count."""
    flops = (fp or {}).get("flops")
    rate = lambda r: flops / r["time"] / 1e9 if flops and r and r.get("time") else None  # noqa: E731
    a, b = rate(fp), rate(ref)
    return [f"{a:.2f}" if a else "-", f"{b:.2f}" if b else "-", f"{100 * a / peak:.0f} %" if a and peak else "-"]


def _braces(xs):
    return "{" + ",".join(str(x) for x in xs) + "}"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def summarize(records):
    """Markdown summary of the benchmark records (see ``bench/conftest.py``)."""
    by = {}
    for r in records:
        by[(r["section"], r["key"], r.get("impl"))] = r
    get = lambda s, k, i=None: by.get((s, k, i))  # noqa: E731
    out = []
    info = machine_info()
    out.append(f"Machine: {info['cpu']}, {info['cores']} cores, Numba threads {info['numba_threads']}; "
               f"Python {info['python']}, NumPy {info['numpy']}, Numba {info['numba']}.")
    load = get("session", "load")
    if load:
        out.append(f"Other processes used {100 * load['foreign']:.0f} % of the machine's cores during the run "
                   f"(worst single benchmark {100 * load['worst']:.0f} %); rows marked * had more than "
                   f"{100 * BUSY:.0f} % (their timings are disturbed, threaded ones most).")
    dg = get("dgemm", "2000")
    peak = dg["gflops"] if dg else None
    if dg:
        out.append(f"DGEMM{_flag(dg)} (NumPy matmul 2000x2000 float64, all BLAS threads): {dg['gflops']:.1f} GFLOP/s "
                   f"({_fmt_t(dg['time'])}).")
    out.append("")

    rows = []
    for key in sorted({k for (s, k, _) in by if s == "rollout"}, key=lambda k: [int(x) for x in k.split("x")]):
        api, ker, ref = (get("rollout", key, i) for i in ("fastplan", "fastplan-kernel", "numpy"))
        med = lambda r: r["time"] if r else None  # noqa: E731
        gf = lambda r: f"{r['gflops']:.2f}" if r and r.get("gflops") else "-"  # noqa: E731
        pct = f"{100 * ker['gflops'] / peak:.0f} %" if ker and ker.get("gflops") and peak else "-"
        rows.append([key + _flag(api, ker, ref), _fmt_t(med(api)), _fmt_t(med(ker)), _fmt_t(med(ref)),
                     _ratio(med(ref), med(api)),
                     _ratio(med(ref), med(ker)), gf(ker), gf(ref), pct])
    if rows:
        out.append("Rollout + cost (Eq. 4/5/11), N x T x d; best-of-rounds times; ratio = NumPy / fastplan")
        out.append(_table(["N x T x d", "fastplan.rollout", "kernel only", "NumPy", "ratio (API)",
                           "ratio (kernel)", "kernel GFLOP/s", "NumPy GFLOP/s", "kernel / DGEMM"], rows))
        out.append("")

    rows = []
    keys = sorted({k for (s, k, _) in by if s == "planner"},
                  key=lambda k: (_planner_rank(k.split("/")[0]), [int(x) for x in k.split("/")[1].split(",")],
                                 int(k.split("/")[2][2:])))
    for key in keys:
        fp, ref = get("planner", key, "fastplan"), get("planner", key, "numpy")
        planner, size, pp = key.split("/")
        P = int(pp[2:])
        fpm, refm = (fp or {}).get("time"), (ref or {}).get("time")
        rows.append([planner + _flag(fp, ref), size, P, _fmt_t(fpm), _fmt_t(fpm / P if fpm else None), _fmt_t(refm),
                     _ratio(refm, fpm), (fp or {}).get("samples", "-"), *_rates(fp, ref, peak)])
    if rows:
        out.append("Planners (fastplan's default hyperparameters on both sides; best-of-rounds times); "
                   "P problems per call; "
                   "ratio = NumPy / fastplan; GFLOP/s = flops of the plan (bench/flops.py) / time")
        out.append(_table(["planner", "d, h", "P", "fastplan", "per problem", "NumPy", "ratio",
                           "rollouts/problem", "GFLOP/s", "NumPy GFLOP/s", "of DGEMM"], rows))
        out.append("")

    rows = []
    for key in sorted({k for (s, k, _) in by if s == "mlp planner"}, key=lambda k: _planner_rank(k.split("/")[0])):
        fp, ref = get("mlp planner", key, "fastplan"), get("mlp planner", key, "numpy")
        planner, world = key.split("/")
        fpm, refm = (fp or {}).get("time"), (ref or {}).get("time")
        rows.append([planner + _flag(fp, ref), world, _fmt_t(fpm), _fmt_t(refm), _ratio(refm, fpm),
                     (fp or {}).get("samples", "-"), *_rates(fp, ref, peak)])
    if rows:
        out.append("Planners on an MLP world model (bench/test_bench_mlp.py; one problem, fastplan's defaults; "
                   "ratio = NumPy / fastplan)")
        out.append(_table(["planner", "world", "fastplan", "NumPy", "ratio", "rollouts", "GFLOP/s",
                           "NumPy GFLOP/s", "of DGEMM"], rows))
        out.append("")

    rows = []
    grid = {r["key"]: r for r in records if r["section"] == "grid"}
    threads = sorted(int(k.split("=")[1]) for k in grid if k.startswith("fastplan threads="))
    t = {n: grid[f"fastplan threads={n}"]["time"] for n in threads}
    ref = grid.get("numpy extrapolated")
    planners_in_grid = next((r.get("planners") for r in grid.values() if r.get("planners")), None)
    for n in threads:
        rows.append([f"fastplan, {n} thread{'s' if n > 1 else ''} (warm){_flag(grid[f'fastplan threads={n}'])}",
                     _fmt_t(t[n]),
                     _ratio(t[1], t[n]) + " vs 1 thread" if n > 1 and 1 in t else "",
                     _ratio(ref["extrapolated_s"], t[n]) + " vs NumPy" if ref else ""])
    if ref:
        rows.append(["NumPy (extrapolated, see note)" + _flag(ref), _fmt_t(ref["extrapolated_s"]), "", ""])
    full = grid.get("numpy full")
    if full:
        rows.append(["NumPy (full grid, measured)", _fmt_t(full["time"]), "",
                     _ratio(full["time"], t.get(max(threads))) + " vs fastplan" if threads else ""])
    for k, label in [("cold process", "fastplan, fresh process, empty cache (all compilation)"),
                     ("warm process", "fastplan, fresh process, warm disk cache")]:
        r = grid.get(k)
        if r:
            rows.append([label + _flag(r), _fmt_t(r["wall_s"]), f"grid itself {_fmt_t(r['grid_s'])}", ""])
    if rows:
        name = "Whole default grid" if (GRID_DIMS, GRID_HORIZONS) == (DIMS, HORIZONS) else "REDUCED grid"
        out.append(f"{name} ({', '.join(planners_in_grid or PLANNERS)} x 3 geometries x d {_braces(GRID_DIMS)} "
                   f"x h {_braces(GRID_HORIZONS)} x 10 seeds; one plan_batch of 30 problems per (planner, d, h))")
        out.append(_table(["run", "time", "", ""], rows))
        if ref:
            out.append(f"NumPy note: one problem (VAE, seed 0) timed per (planner, d, h) cell, times 30; "
                       f"subset measured in {_fmt_t(ref['time'])}. {ref.get('check', '')}")
        out.append("")

    fp_by = grid.get(f"fastplan threads={max(threads)}", {}).get("by_planner") if threads else None
    np_cells = (ref or {}).get("cells_s")
    if fp_by:
        rows = []
        for planner, t_fp in fp_by.items():
            t_np = sum(v for k, v in np_cells.items() if k.split("/")[0] == planner) if np_cells else None
            rows.append([planner, _fmt_t(t_fp), _fmt_t(t_np), _ratio(t_np, t_fp)])
        out.append(f"Grid by planner (fastplan {max(threads)} threads vs NumPy extrapolated)")
        out.append(_table(["planner", "fastplan", "NumPy", "ratio"], rows))
        out.append("")

    comp = next((r for r in records if r["section"] == "compile"), None)
    if comp:
        items = [(k, v) for k, v in comp["probe"].items() if isinstance(v, dict)]
        out.append("Compilation (fresh process, empty NUMBA_CACHE_DIR; first call minus second call): "
                   f"import {comp['probe']['import_s']:.1f} s, first make_problem (geometry/world kernels) "
                   f"{comp['probe']['make_problem_first_s']:.1f} s, "
                   + ", ".join(f"{k} {v['compile_s']:.1f} s" for k, v in items)
                   + f"; process total {comp['probe']['wall_s']:.1f} s (a planner that reuses kernels "
                   "compiled for an earlier one shows about 0 s).")
        out.append("")

    cont = next((r for r in records if r["section"] == "contention"), None)
    if cont and cont.get("records"):
        from bench.contention import table
        out.append("On a busy machine (bench/contention.py): reduced grid and one CEM plan, competing "
                   "CPU-bound processes in their own sessions, default threads vs one thread")
        out.append(table(cont["records"]))
        out.append("")

    targets = []
    if threads and (GRID_DIMS, GRID_HORIZONS) == (DIMS, HORIZONS):
        tw = t[max(threads)]
        targets.append(("whole grid, warm cache, <= 5 s", _fmt_t(tw), tw <= 5))
        cold = grid.get("cold process")
        if cold:
            targets.append(("whole grid from a cold cache incl. compilation, <= 40 s", _fmt_t(cold["wall_s"]),
                            cold["wall_s"] <= 40))
        if ref:
            targets.append((">= 15x faster than NumPy on the whole grid", _ratio(ref["extrapolated_s"], tw),
                            ref["extrapolated_s"] / tw >= 15))
        if 1 in t and 2 in t:
            targets.append((">= 1.8x from 1 to 2 threads on the grid", _ratio(t[1], t[2]), t[1] / t[2] >= 1.8))
    cem = get("planner", "cem/8,8/P=1", "fastplan")
    if cem:
        targets.append(("one CEM plan at d=8, h=8 <= 0.4 ms", _fmt_t(cem["time"]), cem["time"] <= 4e-4))
    if targets:
        out.append("Issue 6 targets")
        out.append(_table(["target", "measured", "met"], [[a, b, "yes" if c else "NO"] for a, b, c in targets]))
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="skip the cold-cache compile probes and the contention table")
    parser.add_argument("--contention", action="store_true",
                        help="only the contention table (competing processes, default vs 1 thread)")
    parser.add_argument("--numpy-full-grid", action="store_true",
                        help="also time the whole NumPy grid (slow) instead of only extrapolating it")
    parser.add_argument("--save", metavar="DIR", help="write summary.md, summary.json and benchmark.json here")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    cmd = [str(ROOT / "bench"), "--benchmark-only", "-p", "no:cacheprovider", "-q",
           "--benchmark-columns=min,median,rounds,iterations", "--benchmark-group-by=group",
           "--benchmark-sort=name"]
    if args.contention:
        cmd += ["-m", "contention"]
    elif args.quick:
        cmd += ["-m", "not cold and not contention"]
    if args.numpy_full_grid:
        cmd += ["--numpy-full-grid"]
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        cmd += [f"--benchmark-json={Path(args.save) / 'benchmark.json'}", f"--fp-summary={args.save}"]
    import pytest

    return pytest.main(cmd + args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
