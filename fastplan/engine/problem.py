"""A planning problem: a geometry, a world model, a start, a goal and a horizon."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import budget
from .errors import check_dim, check_positive_int, check_seed
from .errors import FastplanError
from .geometry import GeometryBase, make_geometry
from .world import WorldModel, make_world, start_and_goal


@dataclass(frozen=True, eq=False)
class Problem:
    """One instance of the paper's planning task.

    Attributes
    ----------
    geometry : GeometryBase
        The latent-action geometry (enters the planners through ``geometry_usage``).
    world : WorldModel
        Eq. 4 parameters A (d, d), B (d, d), b (d,).
    s0, goal : ndarray, shape (d,)
        Initial state and goal state s*.
    T : int
        Planning horizon (number of actions).
    seed : int
        Seed the instance was drawn from.
    """

    geometry: GeometryBase
    world: WorldModel
    s0: np.ndarray
    goal: np.ndarray
    T: int
    seed: int

    @property
    def d(self) -> int:
        return self.world.d

    def __repr__(self) -> str:
        from .display import problem_repr
        return problem_repr(self)


def make_problem(geometry, d: int, horizon: int, seed: int) -> Problem:
    """The problem of the paper's grid cell (geometry, d, horizon) for replicate ``seed``.

    One seed is one independent replicate: it fixes the world model (from (d, seed)), the
    geometry's centers (from (kind, d, seed)) and the start and goal (from (d, seed)).
    For a given (d, seed) every planner, geometry and horizon faces the same world, start
    and goal ("the world model is shared across planners", Sec. 3).

    ``geometry`` is a registered kind, or a geometry object of dimension ``d`` (e.g. one
    fitted from data by :func:`fastplan.geometry_from_samples`), used as it is.
    """
    d = check_dim(d)
    T = check_positive_int(horizon, "horizon")
    seed = check_seed(seed)
    budget.check_world(d)            # refuse a d x d world model that cannot fit, before allocating
    if isinstance(geometry, GeometryBase):
        if geometry.d != d:
            raise FastplanError(f"the geometry has dimension {geometry.d}, the problem d={d}")
        geom = geometry
    else:
        geom = make_geometry(geometry, d, seed)
    s0, goal = start_and_goal(d, seed)
    return Problem(geometry=geom, world=make_world(d, seed), s0=s0, goal=goal, T=T, seed=seed)
