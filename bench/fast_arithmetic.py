"""Paired equivalence of ``FASTPLAN_ARITHMETIC=fast`` against the exact default, over seeds.

``python -m bench.fast_arithmetic [--seeds N] [--dims ...] [--horizons ...] [--planners ...]``

Runs the grid (default: the paper's, 5 planners x 3 geometries x d 4 8 16 32 x h 4 8 16) with
``fastplan sweep`` once per mode, each in fresh processes: first a one-seed warm-up sweep at
d = 4, h = 4 into a throwaway file (compiles or loads every kernel the grid needs), then the
timed sweep.  Runs are paired by (planner, geometry, d, horizon, seed): the two modes solve
the same problems with the same random numbers.

Per planner and overall it reports the relative paired difference of the mean final cost
(and goal distance), ``theta = sum(fast - exact) / sum(exact)``, with a 95 % paired seed
bootstrap interval (:mod:`fastplan.paper.stats`: the seed is the unit resampled, every cell
of a seed kept together), and an equivalence verdict against the margin fixed before any run:
``MARGIN`` = 2 % of the exact mode's mean.

- "equivalent": the whole 95 % interval lies inside (-2 %, +2 %) (two one-sided tests at
  2.5 % each, stricter than the usual 90 % TOST interval);
- "different": the whole interval lies outside the margin;
- "undecided": otherwise.

Also printed: the share of runs whose cost is bit-identical, the median |relative
difference| per run, and each mode's sweep wall time (the ``fastplan sweep`` summary: process
start excluded, kernels loaded from the warm cache) and planning time (sum of the planners'
kernel time over the batches).  Geometry metrics are off (``--metric-samples 0``): they do
not use tanh.  The exact mode is the default; nothing here changes it.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

#: Equivalence margin on theta (relative difference of the mean), fixed in advance.
MARGIN = 0.02
MODES = ("exact", "fast")
METRICS = ("cost", "goal_distance")


def _sweep(mode: str, out: str, args: list[str]) -> tuple[float, float]:
    """Run ``fastplan sweep`` in ``mode`` in a fresh process; (summary seconds, process wall)."""
    env = {**os.environ, "FASTPLAN_ARITHMETIC": mode}
    cmd = [sys.executable, "-m", "fastplan_cli.main", "sweep", "--out", out, "--metric-samples", "0",
           "--quiet", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{mode}: {' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    m = re.search(r"runs computed in ([0-9.]+) s", proc.stdout + proc.stderr)
    return (float(m.group(1)) if m else float("nan")), wall


def _paired(exact: dict, fast: dict):
    """Both modes' records aligned on (planner, geometry, d, horizon, seed)."""
    def index(rec):
        keys = zip(rec["planner"].tolist(), rec["geometry"].tolist(), rec["d"].tolist(),
                   rec["horizon"].tolist(), rec["seed"].tolist())
        return {k: i for i, k in enumerate(keys)}
    ie, jf = index(exact), index(fast)
    common = sorted(set(ie) & set(jf))
    if len(common) != len(ie) or len(common) != len(jf):
        raise SystemExit(f"the two files do not hold the same runs ({len(ie)} exact, {len(jf)} fast, "
                         f"{len(common)} in both)")
    a = np.array([ie[k] for k in common])
    b = np.array([jf[k] for k in common])
    return common, {m: exact[m][a] for m in METRICS}, {m: fast[m][b] for m in METRICS}


def _theta(keys, e: np.ndarray, f: np.ndarray, idx: np.ndarray):
    """theta = sum(f - e) / sum(e) and its bootstrap replicates over seeds (``idx``: resampled
    seed positions, (B, n))."""
    seeds = sorted({k[4] for k in keys})
    pos = {s: i for i, s in enumerate(seeds)}
    col = np.array([pos[k[4]] for k in keys])
    D = np.bincount(col, weights=f - e, minlength=len(seeds))       # per seed: sum of differences
    X = np.bincount(col, weights=e, minlength=len(seeds))           # per seed: sum of exact values
    theta = D.sum() / X.sum()
    boot = D[idx].sum(axis=1) / X[idx].sum(axis=1)
    return theta, boot, len(seeds)


def _verdict(lo: float, hi: float) -> str:
    if -MARGIN < lo and hi < MARGIN:
        return "equivalent"
    if hi <= -MARGIN or lo >= MARGIN:
        return "different"
    return "undecided"


def compare(exact: dict, fast: dict) -> list[dict]:
    """One row per (planner or "all", metric): theta, 95 % interval, verdict, and more."""
    from fastplan.paper.stats import interval, resample_indices
    keys, e, f = _paired(exact, fast)
    planners = list(dict.fromkeys(k[0] for k in keys))
    n_seeds = len({k[4] for k in keys})
    idx = resample_indices(n_seeds)
    rows = []
    for who in planners + ["all"]:
        m = np.array([who in ("all", k[0]) for k in keys])
        sub = [k for k, x in zip(keys, m) if x]
        for metric in METRICS:
            ev, fv = e[metric][m], f[metric][m]
            ok = np.isfinite(ev) & np.isfinite(fv)
            theta, boot, n = _theta([k for k, x in zip(sub, ok) if x], ev[ok], fv[ok], idx)
            iv = interval(boot, n)
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.abs(fv[ok] - ev[ok]) / np.abs(ev[ok])
            rows.append({"planner": who, "metric": metric, "runs": int(m.sum()), "not_finite": int((~ok).sum()),
                         "exact_mean": float(ev[ok].mean()), "fast_mean": float(fv[ok].mean()),
                         "theta": float(theta), "lo": float(iv.lo), "hi": float(iv.hi),
                         "verdict": _verdict(iv.lo, iv.hi),
                         "identical": float(np.mean(ev[ok] == fv[ok])),
                         "median_rel": float(np.nanmedian(rel)), "max_rel": float(np.nanmax(rel))})
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.fast_arithmetic", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    ap.add_argument("--dims", nargs="+", default=None, help="default: the paper's 4 8 16 32")
    ap.add_argument("--horizons", nargs="+", default=None, help="default: 4 8 16")
    ap.add_argument("--planners", nargs="+", default=None, help="default: the paper's five")
    ap.add_argument("--keep", default=None, help="folder for the two results files (default: temporary)")
    ap.add_argument("--reuse", action="store_true",
                    help="compare the files already in --keep (no sweeps; sweep times not shown)")
    opts = ap.parse_args(argv)
    if opts.seeds < 2:
        raise SystemExit("--seeds must be >= 2 (an interval over seeds)")
    grid = ["--seeds", f"0-{opts.seeds - 1}"]
    for flag, val in (("--dims", opts.dims), ("--horizons", opts.horizons), ("--planners", opts.planners)):
        if val:
            grid += [flag, *val]
    warm = ["--seeds", "0", "--dims", "4", "--horizons", "4"] + (["--planners", *opts.planners]
                                                                  if opts.planners else [])
    from fastplan import store
    folder = opts.keep or tempfile.mkdtemp(prefix="fastarith-")
    os.makedirs(folder, exist_ok=True)
    recs, times = {}, {}
    if opts.reuse and not opts.keep:
        raise SystemExit("--reuse needs --keep FOLDER")
    for mode in MODES:
        out = os.path.join(folder, f"{mode}.h5")
        if opts.reuse:
            seconds = wall = float("nan")
        else:
            _sweep(mode, os.path.join(folder, f"warm-{mode}.h5"), warm)
            seconds, wall = _sweep(mode, out, grid)
        recs[mode] = store.load(out)
        times[mode] = (seconds, wall, float(np.sum(recs[mode]["wall_time"])))
    print(f"grid: {' '.join(grid)} ({len(recs['exact']['seed'])} runs per mode); files in {folder}")
    print("\n| mode | sweep (summary) | process wall | planning (kernels) |\n|---|---|---|---|")
    for mode in MODES:
        s, w, p = times[mode]
        print(f"| {mode} | {s:.1f} s | {w:.1f} s | {p:.3f} s |")
    r = times["fast"][2] / times["exact"][2]
    print(f"\nplanning fast / exact: {r:.3f} ({(1 - r) * 100:.0f} % less)")
    print(f"\nmargin: +-{MARGIN:.0e} (+-{MARGIN:.0%}) of the exact mean; theta = sum(fast - exact) / "
          f"sum(exact); 95 % paired seed-bootstrap interval; per run |fast - exact| / |exact|\n")
    print("| planner | metric | runs | exact mean | fast mean | theta | 95 % interval | verdict "
          "| bit-identical | median rel diff | max rel diff |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in compare(recs["exact"], recs["fast"]):
        nf = f" ({row['not_finite']} not finite)" if row["not_finite"] else ""
        print(f"| {row['planner']} | {row['metric']} | {row['runs']}{nf} | {row['exact_mean']:.4g} | "
              f"{row['fast_mean']:.4g} | {row['theta']:+.1e} | [{row['lo']:+.1e}, {row['hi']:+.1e}] | "
              f"{row['verdict']} | {row['identical']:.0%} | {row['median_rel']:.1e} | {row['max_rel']:.1e} |")


if __name__ == "__main__":
    main()
