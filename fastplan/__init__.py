"""fastplan: a Numba-compiled CPU engine for planning directly in latent action spaces.

Quick use::

    import fastplan
    prob = fastplan.make_problem("vae", d=8, horizon=8, seed=0)
    res = fastplan.plan(prob, "cem")
    print(res.goal_distance, res.smoothness, res.samples)

In the loop: ``fastplan.MPC(prob, "cem").command(state)``; plots of results files:
``fastplan.plot``; ``python -m fastplan`` is the ``fastplan`` command.

Heavy modules (and Numba compilation) load on first use.  Importing fastplan changes no
global state of other libraries (Numba's configuration, click).
"""
from __future__ import annotations

import importlib

__version__ = "0.2.0"

_LAZY = {
    "make_problem": "fastplan.engine.problem", "Problem": "fastplan.engine.problem",
    "Cost": "fastplan.engine.cost",
    "make_geometry": "fastplan.engine.geometry", "Geometry": "fastplan.engine.geometry",
    "make_world": "fastplan.engine.world", "WorldModel": "fastplan.engine.world",
    "TanhWorld": "fastplan.engine.worlds.tanh", "MLPWorld": "fastplan.engine.worlds.mlp",
    "load_world": "fastplan.engine.worlds", "save_world": "fastplan.engine.worlds",
    "GeometryBase": "fastplan.engine.geometry",
    "geometry_from_samples": "fastplan.engine.geometry_fit", "FittedGeometry": "fastplan.engine.geometry_fit",
    "manifold_metrics": "fastplan.engine.manifold", "execute_decoded": "fastplan.engine.manifold",
    "rollout": "fastplan.engine.cost",
    "geometry_metrics": "fastplan.engine.metrics",
    "plan": "fastplan.engine.api", "plan_batch": "fastplan.engine.api",
    "PlanResult": "fastplan.engine.api", "BatchResult": "fastplan.engine.api",
    "MPC": "fastplan.engine.mpc", "closed_loop": "fastplan.engine.mpc",
    "PLANNERS": "fastplan.engine.planners", "DEFAULTS": "fastplan.engine.planners",
    "FastplanError": "fastplan.engine.errors", "FastplanWarning": "fastplan.engine.errors",
    "registry": "fastplan.engine",
    "register_planner": "fastplan.engine.registry", "register_geometry": "fastplan.engine.registry",
    "register_world": "fastplan.engine.registry", "PlannerSpec": "fastplan.engine.registry",
    "GeometrySpec": "fastplan.engine.registry", "WorldSpec": "fastplan.engine.registry",
    "load": "fastplan.store",
    "ARITHMETIC": "fastplan.engine.arithmetic",
}

__all__ = sorted(_LAZY) + ["__version__"]
#: Subpackages and modules reachable as attributes (imported on first use).
_SUBMODULES = ("engine", "runs", "store", "paper", "plot")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"fastplan.{name}")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        if name not in ("PLANNERS",):        # live views stay live
            globals()[name] = value          # later lookups skip this hook
        return value
    raise AttributeError(f"module 'fastplan' has no attribute {name!r}")


def __dir__():
    """Public names, including the lazy ones (tab completion in notebooks)."""
    return sorted(set(__all__) | set(_SUBMODULES))
