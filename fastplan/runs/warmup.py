"""Compile (or load from the on-disk cache) every kernel once, ahead of a sweep.

Numba compiles a kernel on its first call for each argument-type signature and caches
the machine code on disk (``cache=True``; ``NUMBA_CACHE_DIR`` moves the cache).  Every
kernel here sees one signature (float64 arrays, int64/uint64 scalars), so planning one
tiny problem per planner and gradient mode, a rollout, geometry sampling, the metrics and the
geometry densities (manifold metrics) compiles everything a sweep will call.  A second warm-up only loads the cache.
"""
from __future__ import annotations

import time
import warnings


def warmup(planners=None, verbose=None) -> dict:
    """Compile and cache every kernel; return seconds per step.

    Parameters
    ----------
    planners : sequence of str, optional
        Planners to compile (default: every registered planner).
    verbose : callable, optional
        Called with one line of text per finished step (e.g. ``print``).

    Returns
    -------
    dict
        ``{step name: seconds}``, plus ``"total"``.
    """
    import numpy as np

    from ..engine.api import plan_batch
    from ..engine import registry
    from ..engine.geometry import make_geometry
    from ..engine.metrics import geometry_metrics
    from ..engine.planners import GEOMETRY_USAGES, canonical_planner
    from ..engine.problem import make_problem
    from ..engine.cost import rollout

    say = verbose or (lambda line: None)
    planners = registry.planners().names() if planners is None else [canonical_planner(p) for p in planners]
    KINDS = registry.geometries().names(paper=True)
    times: dict = {}
    t_all = time.perf_counter()

    def step(name, fn):
        t0 = time.perf_counter()
        fn()
        times[name] = time.perf_counter() - t0
        say(f"  {name:<28} {times[name]:7.2f} s")

    def geometries():
        for kind in KINDS:
            make_geometry(kind, 3, 0).sample(8)

    def metrics():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for kind in KINDS:
                geometry_metrics(make_geometry(kind, 4, 0), n=16)

    def densities():   # the manifold metrics and decoded execution every sweep computes
        from ..engine.manifold import manifold_metrics, project_actions
        geoms = [make_geometry(kind, 4, 0) for kind in KINDS]
        acts = np.zeros((len(geoms), 2, 4))
        manifold_metrics(geoms, acts)
        project_actions(geoms, acts)

    problems = [make_problem(kind, 2, 2, s) for s, kind in enumerate(KINDS)]

    def rollouts():
        P, d, T = len(problems), 2, 2
        A = np.stack([p.world.A for p in problems])
        B = np.stack([p.world.B for p in problems])
        b = np.stack([p.world.b for p in problems])
        s0 = np.stack([p.s0 for p in problems])
        goal = np.stack([p.goal for p in problems])
        acts = np.zeros((P, 2, T, d))
        rollout(A, B, b, s0, goal, acts, return_states=True)
        rollout(A, B, b, s0, goal, acts)

    step("geometry sampling", geometries)
    step("geometry metrics", metrics)
    step("geometry densities", densities)
    step("rollout", rollouts)
    for planner in planners:
        spec = registry.planner(planner)
        modes = registry.COMMON_RULES["gradient"] if "gradient" in spec.defaults else (None,)
        for mode in modes:
            over = spec.tiny_overrides(None if mode is None else {"gradient": mode})
            name = planner if mode is None else f"{planner} ({mode})"
            fits = [p for p in problems if _plans_on(spec, p.geometry)]
            for usage in GEOMETRY_USAGES:
                step(f"{name}, {usage}", lambda: plan_batch(fits, planner, geometry_usage=usage, **over))
    times["total"] = time.perf_counter() - t_all
    return times


def _plans_on(spec, geometry) -> bool:
    """Whether the planner of ``spec`` can plan on ``geometry`` (codebook CEM needs a codebook)."""
    from ..engine.errors import FastplanError
    try:
        spec.check_geometry(geometry)
    except FastplanError:
        return False
    return True
