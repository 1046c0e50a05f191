"""fastplan on a busy machine: default threads against one thread, with competing processes.

Usage (from the repository root)::

    python -m bench.contention                  # the table (about 1-2 minutes on 2 cores)
    python -m bench.contention --rounds 5 --competitors 0,1,2,4
    python -m bench.contention --levers         # each lever in a fresh process (env variants)
    python -m bench.run_benchmarks --contention # the same table through pytest-benchmark

For each number of competitors (CPU-bound ``python -c "while True: pass"`` processes, each
started in its own session, as another user's process would be: Linux's autogroup scheduler
shares the CPU between sessions before threads), the two variants run interleaved in this one
process, round after round, in alternating order (A B, B A, ...) so that a drift in the
machine's other load does not favour either:

* **grid**: the reduced grid, 5 planners x d {4, 8} x h {4, 8}, one ``plan_batch`` of 30
  problems (3 geometries x 10 seeds) per (planner, d, h), kernels warm;
* **single**: one CEM plan at d = h = 8 (``fastplan.plan``), repeated.

Reported: medians and ranges over the rounds, the ratio default / one thread (goal: <= 1.2),
``/proc/loadavg`` before and after, and the share of the machine that other processes used.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SPIN = "while True: pass"
GRID_DIMS = (4, 8)
GRID_HORIZONS = (4, 8)


def loadavg() -> str:
    """``/proc/loadavg``'s first four fields ('' off Linux)."""
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:4])
    except OSError:
        return ""


def save_json(path, obj) -> None:
    """Write ``obj`` as indented JSON to ``path`` (nothing when ``path`` is None)."""
    if path:
        with open(path, "w") as fh:
            json.dump(obj, fh, indent=1)


class Competitors:
    """``n`` CPU-bound processes, each in its own session, for the ``with`` block."""

    def __init__(self, n: int):
        self.n = n
        self.procs = []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", SPIN], start_new_session=True)
                      for _ in range(self.n)]
        time.sleep(0.3 if self.n else 0.0)       # let the scheduler place them
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()
        return False


def _problems():
    import fastplan
    from bench.run_benchmarks import GEOMETRIES, SEEDS
    grid = {(d, h): [fastplan.make_problem(g, d, h, s) for g in GEOMETRIES for s in SEEDS]
            for d in GRID_DIMS for h in GRID_HORIZONS}
    return grid, fastplan.make_problem("vae", 8, 8, 0)


def _grid_once(grid, planners) -> float:
    import fastplan
    t0 = time.perf_counter()
    for planner in planners:
        for probs in grid.values():
            fastplan.plan_batch(probs, planner)
    return time.perf_counter() - t0


def _single_once(prob, repeats: int) -> list[float]:
    import fastplan
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fastplan.plan(prob, "cem")
        out.append(time.perf_counter() - t0)
    return out


def measure(competitors=(0, 1, 2), rounds: int = 3, singles: int = 30, variants=None) -> list[dict]:
    """The contention table's records: one per (competitors, variant).

    ``variants`` maps a name to a Numba thread count (default: ``{"default": max, "1 thread": 1}``).
    Each record holds ``grid`` (seconds per round), ``single`` (seconds per plan, all rounds),
    their medians, ``load_before`` / ``load_after`` and ``foreign`` (share of the machine's
    cores used by other processes, competitors included).
    """
    from bench.conftest import cpu_sample, foreign_share
    from bench.run_benchmarks import available_planners
    from fastplan.engine.jit import max_threads, set_threads
    variants = variants or {"default": max_threads(), "1 thread": 1}
    grid, one = _problems()
    planners = available_planners()
    before = set_threads(None)
    records = []
    try:
        for n in variants.values():          # warm: kernels loaded, pool threads started
            set_threads(n)
            _grid_once(grid, planners)
            _single_once(one, 3)
        for c in competitors:
            res = {k: {"grid": [], "single": []} for k in variants}
            with Competitors(c):
                la0, s0 = loadavg(), cpu_sample()
                for r in range(rounds):
                    order = list(variants.items())
                    for name, n in (order if r % 2 == 0 else order[::-1]):   # ABBA: drift cancels
                        set_threads(n)
                        res[name]["grid"].append(_grid_once(grid, planners))
                        res[name]["single"] += _single_once(one, singles)
                la1, foreign = loadavg(), foreign_share(s0, cpu_sample())
            for name, r in res.items():
                records.append({"competitors": c, "variant": name, "threads": variants[name],
                                "grid": r["grid"], "single": r["single"],
                                "grid_median": statistics.median(r["grid"]),
                                "single_median": statistics.median(r["single"]),
                                "load_before": la0, "load_after": la1, "foreign": foreign})
    finally:
        set_threads(before)
    return records


def _ms(s):
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def table(records) -> str:
    """Markdown table: per competitors, default and one thread, grid and single plan."""
    by = {(r["competitors"], r["variant"]): r for r in records}
    comps = sorted({r["competitors"] for r in records})
    names = list(dict.fromkeys(r["variant"] for r in records))
    base = names[-1]
    lines = ["| competitors | threads | reduced grid, median [range] | vs 1 thread | "
             "CEM d=h=8, median [range] | vs 1 thread | load before -> after | others' share |",
             "|---|---|---|---|---|---|---|---|"]
    for c in comps:
        for name in names:
            r, b = by[(c, name)], by[(c, base)]
            g, s = r["grid"], r["single"]
            share = "-" if r["foreign"] is None else f"{100 * r['foreign']:.0f} %"
            lines.append(
                f"| {c} | {name} ({r['threads']}) | {_ms(r['grid_median'])} [{_ms(min(g))}-{_ms(max(g))}] | "
                f"{r['grid_median'] / b['grid_median']:.2f}x | {_ms(r['single_median'])} "
                f"[{_ms(min(s))}-{_ms(max(s))}] | {r['single_median'] / b['single_median']:.2f}x | "
                f"{r['load_before']} -> {r['load_after']} | {share} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ levers (fresh processes)

#: Environment variants for ``--levers``: the policy (on/off via FASTPLAN_BENCH_POLICY) and
#: OpenMP's wait policy, which only takes effect before the OpenMP runtime loads.
LEVERS = {
    "no policy, OpenMP spins (before)": {"FASTPLAN_BENCH_POLICY": "off"},
    "no policy, OMP_WAIT_POLICY=passive": {"FASTPLAN_BENCH_POLICY": "off", "OMP_WAIT_POLICY": "passive"},
    "no policy, workqueue layer": {"FASTPLAN_BENCH_POLICY": "off", "NUMBA_THREADING_LAYER": "workqueue"},
    "policy, OpenMP spins (library default)": {},
    "policy, OMP_WAIT_POLICY=passive (fastplan command)": {"OMP_WAIT_POLICY": "passive"},
}

_LEVER_CHILD = r"""
import json, sys, contextlib, os
from bench.contention import measure
from fastplan.engine import threads
from fastplan.engine.jit import max_threads
ctx = threads.fixed() if os.environ.get("FASTPLAN_BENCH_POLICY") == "off" else contextlib.nullcontext()
with ctx:
    recs = measure(competitors=(0,), rounds=int(sys.argv[1]), singles=int(sys.argv[2]),
                   variants={"default": max_threads()})
print("LEVER" + json.dumps(recs[0]))
"""


def levers(competitors=(0, 1), rounds: int = 2, singles: int = 20) -> list[dict]:
    """Each :data:`LEVERS` variant (and one thread) in a fresh process, interleaved, under 0..n
    competitors; records as :func:`measure`'s with ``variant`` the lever's name."""
    from bench.run_benchmarks import ROOT
    variants = dict(LEVERS, **{"one thread": {"NUMBA_NUM_THREADS": "1"}})
    out = []
    for c in competitors:
        res = {k: [] for k in variants}
        with Competitors(c):
            la0 = loadavg()
            for r in range(rounds):
                order = list(variants.items())
                for name, env in (order if r % 2 == 0 else order[::-1]):
                    full = dict(os.environ, **env,
                                PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
                    proc = subprocess.run([sys.executable, "-c", _LEVER_CHILD, "1", str(singles)], cwd=ROOT,
                                          env=full, capture_output=True, text=True, timeout=900)
                    if proc.returncode != 0:
                        raise RuntimeError(f"lever {name!r} failed:\n{proc.stderr[-2000:]}")
                    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("LEVER")][-1]
                    res[name].append(json.loads(line[len("LEVER"):]))
            la1 = loadavg()
        for name, recs in res.items():
            g = [x for r in recs for x in r["grid"]]
            s = [x for r in recs for x in r["single"]]
            out.append({"competitors": c, "variant": name, "threads": recs[0]["threads"], "grid": g, "single": s,
                        "grid_median": statistics.median(g), "single_median": statistics.median(s),
                        "load_before": la0, "load_after": la1, "foreign": None})
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--competitors", default="0,1,2", help="comma-separated counts (default 0,1,2)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant (default 3)")
    parser.add_argument("--singles", type=int, default=30, help="single plans per round (default 30)")
    parser.add_argument("--levers", action="store_true",
                        help="compare threading levers, each in a fresh process (slower)")
    parser.add_argument("--json", metavar="FILE", help="also write the records as JSON")
    args = parser.parse_args(argv)
    comps = tuple(int(x) for x in args.competitors.split(","))
    print(f"load before: {loadavg()}", flush=True)
    if args.levers:
        recs = levers(comps, args.rounds, min(args.singles, 20))
    else:
        recs = measure(comps, args.rounds, args.singles)
    print(table(recs))
    print(f"load after: {loadavg()}")
    save_json(args.json, recs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
