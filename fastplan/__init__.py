"""fastplan: a Numba-compiled CPU engine for planning directly in latent action spaces.

Quick use::

    import fastplan
    prob = fastplan.make_problem("vae", d=8, horizon=8, seed=0)
    res = fastplan.plan(prob, "cem")
    print(res.goal_distance, res.smoothness, res.samples)

Heavy modules (and Numba compilation) load on first use.
"""
from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

# LLVM -O2 instead of Numba's default -O3, unless NUMBA_OPT is set: on our kernels it gives
# the same machine-code speed and the same bits (README, Performance) and 10 % less
# compilation.  It takes effect only if Numba is first imported after fastplan.
os.environ.setdefault("NUMBA_OPT", "2")

_LAZY = {
    "make_problem": "fastplan.engine.problem", "Problem": "fastplan.engine.problem",
    "make_geometry": "fastplan.engine.geometry", "Geometry": "fastplan.engine.geometry",
    "make_world": "fastplan.engine.world", "WorldModel": "fastplan.engine.world",
    "rollout": "fastplan.engine.cost",
    "geometry_metrics": "fastplan.engine.metrics",
    "plan": "fastplan.engine.api", "plan_batch": "fastplan.engine.api",
    "PlanResult": "fastplan.engine.api", "BatchResult": "fastplan.engine.api",
    "PLANNERS": "fastplan.engine.planners", "DEFAULTS": "fastplan.engine.planners",
    "FastplanError": "fastplan.engine.errors",
    "load": "fastplan.store",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value          # later lookups skip this hook
        return value
    raise AttributeError(f"module 'fastplan' has no attribute {name!r}")
