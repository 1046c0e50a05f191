"""A planning problem: a geometry, a world model, a start, a goal and a horizon."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import budget
from .errors import check_dim, check_positive_int, check_seed
from .errors import FastplanError
from .geometry import GeometryBase, make_geometry
from .world import make_world, start_and_goal
from .worlds import World


@dataclass(frozen=True, eq=False)
class Problem:
    """One instance of the paper's planning task.

    Attributes
    ----------
    geometry : GeometryBase
        The latent-action geometry (enters the planners through ``geometry_usage``).
    world : World
        The world model (the paper's Eq. 4, :class:`~fastplan.engine.worlds.tanh.TanhWorld`,
        or a learned :class:`~fastplan.engine.worlds.mlp.MLPWorld`).
    s0, goal : ndarray, shape (n,)
        Initial state and goal state s* (n: the world's state dimension).
    T : int
        Planning horizon (number of actions).
    seed : int
        Seed the instance was drawn from.
    """

    geometry: GeometryBase
    world: World
    s0: np.ndarray
    goal: np.ndarray
    T: int
    seed: int

    @property
    def d(self) -> int:
        """Action (latent) dimension."""
        return self.world.d

    @property
    def n(self) -> int:
        """State dimension."""
        return self.world.n

    @classmethod
    def from_arrays(cls, world, s0, goal, horizon, geometry=None, seed: int = 0) -> "Problem":
        """A problem in your own latent space, every input checked.

        Parameters
        ----------
        world : World or str or path
            A world model object, or the path of a ``.npz`` file
            (:func:`fastplan.engine.worlds.load_world`).
        s0, goal : array_like, shape (n,)
            Start and goal states (finite).
        horizon : int
            Planning horizon T >= 1.
        geometry : GeometryBase, optional
            The latent geometry (e.g. :func:`fastplan.geometry_from_samples`); default a
            standard normal N(0, I) over the d latent coordinates.
        seed : int
            The problem's default planner seed.
        """
        from .errors import as_array
        from .worlds import load_world
        import os
        if isinstance(world, (str, os.PathLike)):
            world = load_world(world)
        if not isinstance(world, World):
            raise FastplanError(f"world must be a fastplan world model (TanhWorld, MLPWorld) or a "
                                f".npz path, got {type(world).__name__}")
        n, d = world.n, world.d
        s0 = as_array(s0, "s0", (n,))
        goal = as_array(goal, "goal", (n,))
        T = check_positive_int(horizon, "horizon")
        seed = check_seed(seed)
        if geometry is None:
            geometry = standard_normal_geometry(d, seed)
        if not isinstance(geometry, GeometryBase):
            raise FastplanError(f"geometry must be a geometry object, got {type(geometry).__name__}")
        if geometry.d != d:
            raise FastplanError(f"the geometry has dimension {geometry.d}, the world's actions d={d}")
        return cls(geometry=geometry, world=world, s0=s0, goal=goal, T=T, seed=seed)

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


def standard_normal_geometry(d: int, seed: int = 0):
    """N(0, I) over d latent coordinates, as a one-component fitted geometry (the default
    prior of :meth:`Problem.from_arrays` when no geometry is given)."""
    from .geometry_fit import FittedGeometry, _ro
    return FittedGeometry(kind="gmm", d=d, seed=seed, centers=_ro(np.zeros((1, d))),
                          weights=_ro(np.ones(1)), sample_std=_ro(np.ones((1, d))),
                          density_std=_ro(np.ones((1, d))),
                          info={"kind": "gmm", "n": 0, "d": d, "k": 1, "note": "standard normal"})
