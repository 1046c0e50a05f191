"""A planning problem: a geometry, a world model, a start, a goal and a horizon."""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from . import budget
from .errors import check_dim, check_positive_int, check_seed
from .errors import FastplanError
from .geometry import GeometryBase, make_geometry
from .world import make_world, start_and_goal
from .worlds import World, check_world


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
        check_world(world)
        n, d = world.n, world.d
        s0 = as_array(s0, "s0", (n,))
        goal = as_array(goal, "goal", (n,))
        T = check_positive_int(horizon, "horizon")
        seed = check_seed(seed)
        if geometry is None:
            geometry = standard_normal_geometry(d, seed)
        check_geometry(geometry, d)
        return cls(geometry=geometry, world=world, s0=s0, goal=goal, T=T, seed=seed)

    def __repr__(self) -> str:
        from .display import problem_repr
        return problem_repr(self)


#: What a geometry must offer the planners (a registered kind may lack the density interface).
GEOMETRY_METHODS = ("sample", "mean", "std")


def check_geometry(geometry, d: int | None = None, where: str = ""):
    """``geometry`` if it is a latent geometry (a :class:`GeometryBase`, or an object with an
    integer ``d`` and ``sample``, ``mean``, ``std``) of dimension ``d``, else one line."""
    ok = isinstance(geometry, GeometryBase) or all(
        callable(getattr(geometry, m, None)) for m in GEOMETRY_METHODS)
    gd = getattr(geometry, "d", None)
    if not ok or isinstance(gd, bool) or not isinstance(gd, numbers.Integral) or gd < 1:
        raise FastplanError(f"{where}geometry must be a latent geometry (fastplan.make_geometry, "
                            f"fastplan.geometry_from_samples), got {type(geometry).__name__}")
    if d is not None and gd != d:
        raise FastplanError(f"{where}geometry has d={gd} but the world model's actions have d={d}")
    return geometry


def check_problem(p, where: str = "the problem's ") -> tuple[int, int, int]:
    """(n, d, T) of a :class:`Problem` whose every part is checked: the world model's arrays
    (shapes, finite), s0 and goal of shape (n,) and finite, the horizon, the seed and the
    geometry's dimension.  Run before any kernel sees the problem: a Problem built directly
    (or changed in place) can hold anything."""
    if not isinstance(p, Problem):
        raise FastplanError(f"expected a Problem (see fastplan.make_problem, Problem.from_arrays), "
                            f"got {type(p).__name__}")
    from .errors import as_array
    check_world(p.world, where)
    n, d = int(p.world.n), int(p.world.d)
    for name, x in (("s0", p.s0), ("goal", p.goal)):
        as_array(x, f"{where}{name}", shape=(n,))
    T = check_positive_int(p.T, "horizon")
    check_seed(p.seed)
    check_geometry(p.geometry, d, where)
    return n, d, T


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
