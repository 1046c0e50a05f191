"""Planned actions against the geometry (issue 13): manifold metrics and decoded execution.

Manifold metrics of one plan a_1..a_T under its problem's geometry:

* ``log_density``: the mean over t of log p_geom(a_t) (the density of
  :meth:`~.geometry.GeometryBase.log_density`);
* ``ood_rate``: the fraction of the T actions outside the geometry's 99% highest-density
  region, ``log p(a_t) < ood_threshold`` (the threshold: the 1% quantile of the geometry's own
  log-densities over 20000 samples, see :meth:`~.geometry.GeometryBase.ood_threshold`).

Decoded execution ("what the real system does"): the planner plans with the unconstrained
world model; the environment receives each action projected onto the geometry
(:meth:`~.geometry.GeometryBase.project`).  The realised goal distance is that of the projected
actions rolled out through the same world model (:func:`fastplan.engine.cost.evaluate`); the
exploitation gap is realised minus planned.  Under the default ``execution="latent"`` the
environment receives the planned actions themselves: realised = planned, gap = 0.
"""
from __future__ import annotations

import numpy as np

from .errors import FastplanError, check_choice

#: What the environment receives: the planned latent actions, or their projections.
EXECUTIONS = ("latent", "decoded")
DEFAULT_EXECUTION = "latent"
#: How execution modes are defined (recorded in results files).
EXECUTION_DEFINITION = (
    "latent (default): the world model receives the planned actions, realised = planned; "
    "decoded: it receives each action projected onto the geometry (VAE: onto the 99% ball of the "
    "nearest component if outside every one; VQ-VAE: nearest codebook entry; sparse EBM: keep "
    "the floor(0.3 d) largest |a_j|, zero the rest), the planner still plans with the "
    "unconstrained model; exploitation_gap = realised - planned goal distance")


def check_execution(execution) -> str:
    """Validate an execution mode; return it lower-cased."""
    return check_choice(str(execution).strip().lower(), EXECUTIONS, "execution")


def manifold_metrics(geometries, actions) -> dict:
    """Manifold metrics of P plans: ``log_density``, ``ood_rate``, ``ood_threshold``, each (P,).

    Parameters
    ----------
    geometries : sequence of P geometries (or one, for every plan)
    actions : array (P, T, d)
    """
    from . import geometry_kernels as gk
    from .errors import as_array
    from .problem import check_geometry
    actions = as_array(actions, "actions", finite=False)      # a diverged plan gives NaN metrics
    if actions.ndim != 3 or min(actions.shape[1:], default=0) < 1:
        raise FastplanError(f"actions must have shape (P, T, d) with T, d >= 1, got {actions.shape}")
    P = actions.shape[0]
    geoms = list(geometries) if isinstance(geometries, (list, tuple)) else [geometries] * P
    if len(geoms) != P:
        raise FastplanError(f"got {len(geoms)} geometries for {P} plans")
    for p, geom in enumerate(geoms):
        check_geometry(geom, actions.shape[2], f"plan {p}: " if P > 1 else "")
    out = {k: np.full(P, np.nan) for k in ("log_density", "ood_rate", "ood_threshold")}
    for p, (geom, a) in enumerate(zip(geoms, actions)):
        if not has_density(geom):          # a registered geometry without a density: NaN
            continue
        logp = gk.log_density_fast(geom.density_params(), a)
        thr = geom.ood_threshold()
        out["log_density"][p] = float(np.mean(logp))
        out["ood_rate"][p] = float(np.mean(~(logp >= thr)))
        out["ood_threshold"][p] = thr
    return out


def has_density(geometry) -> bool:
    """True for geometries with the density interface (:class:`~.geometry.GeometryBase`)."""
    from .geometry import GeometryBase
    return isinstance(geometry, GeometryBase)


def project_actions(geometries, actions) -> np.ndarray:
    """Each plan's actions (P, T, d) projected onto its geometry (the actions a decoded
    environment receives)."""
    actions = np.asarray(actions, dtype=np.float64)
    out = np.empty_like(actions)
    for p, geom in enumerate(geometries):
        if not has_density(geom):
            raise FastplanError(f"geometry {getattr(geom, 'kind', type(geom).__name__)!r} has no "
                                f"projection (no density); decoded execution needs one")
        out[p] = geom.project(actions[p])
    return out


def execute_decoded(problem, actions, lam: float | None = None) -> dict:
    """Roll out one problem's plan as a decoded environment executes it.

    Parameters
    ----------
    problem : Problem
    actions : array (T, d)
        The planned latent actions.
    lam : float, optional
        Smoothness weight of Eq. 5 (default 0.1).

    Returns
    -------
    dict with ``executed_actions`` (T, d), ``states`` (T+1, n), ``goal_distance`` (realised),
    ``planned_goal_distance``, ``exploitation_gap`` (realised - planned), ``cost``, ``smoothness``.
    """
    from .cost import LAMBDA
    from .errors import as_array, check_lambda
    from .problem import Problem, check_problem
    if not isinstance(problem, Problem):
        raise FastplanError("execute_decoded expects a Problem (see fastplan.make_problem)")
    n, d, T = check_problem(problem)
    a = as_array(actions, "actions", (T, d))
    lam = LAMBDA if lam is None else check_lambda(lam)
    planned = _evaluate([problem], a[None], lam)
    executed = project_actions([problem.geometry], a[None])
    real = _evaluate([problem], executed, lam)
    return {"executed_actions": executed[0], "states": real[3][0], "goal_distance": float(real[1][0]),
            "planned_goal_distance": float(planned[1][0]),
            "exploitation_gap": float(real[1][0] - planned[1][0]), "cost": float(real[0][0]),
            "smoothness": float(real[2][0])}


def _evaluate(problems, actions, cost):
    """(cost, goal distance, smoothness, states) of one plan per problem (Eq. 5, Eq. 11).
    ``cost``: a cost bundle, or a float lambda (Eq. 5 alone)."""
    from .cost import evaluate, paper_cost
    from .worlds.ops import bundle
    stack = lambda xs: np.array(xs, dtype=np.float64)  # noqa: E731
    if not isinstance(cost, tuple):
        cost = paper_cost(float(cost), problems[0].d)
    return evaluate(bundle([p.world for p in problems]), stack([p.s0 for p in problems]),
                    stack([p.goal for p in problems]), np.ascontiguousarray(actions), cost)


def realised(problems, actions, goal_distance, execution: str, lam) -> dict:
    """What the environment does with P planned sequences (P, T, d) under ``execution``.

    Returns ``executed_actions`` (P, T, d) (the planned array itself under "latent"),
    ``realised_goal_distance`` and ``exploitation_gap`` (P,).
    """
    goal_distance = np.asarray(goal_distance, dtype=np.float64)
    if check_execution(execution) == "latent":
        return {"executed_actions": actions, "realised_goal_distance": goal_distance.copy(),
                "exploitation_gap": np.zeros_like(goal_distance)}
    executed = project_actions([p.geometry for p in problems], actions)
    gd = _evaluate(problems, executed, lam)[1]
    return {"executed_actions": executed, "realised_goal_distance": gd,
            "exploitation_gap": gd - goal_distance}
