"""Model-predictive control: replan from the current state, execute the first action(s).

:class:`MPC` wraps any registered planner.  At each replanning step it plans from the
state it is given, with the world model, goal and geometry of its :class:`~fastplan.engine.
problem.Problem`, and warm-starts from the previous plan shifted by the steps executed
since (``plan(..., init_actions=...)``).  Horizons:

* ``"shrinking"`` (default): an episode of ``problem.T`` steps; at step k the plan covers
  the remaining ``T - k`` steps, so the cost (Eq. 5) is the goal distance at the episode's
  end.  After ``T`` commands the episode is over (:meth:`MPC.reset` starts another).
* ``"fixed"``: every plan covers ``T`` steps from the current state, for as long as
  commands come.  With the terminal cost of Eq. 5 the goal then stays ``T`` steps away
  (the plan never has to arrive); a running cost (``cost=fastplan.Cost(running=...)``,
  the sum over t of ``||s_t - s*||``) makes every step count, so that mode settles.

:func:`closed_loop` runs a controller against a world (the model itself, or a perturbed
one: model mismatch) and returns the trajectory.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import rng
from .api import plan
from .errors import FastplanError, as_array, check_choice, check_positive_int, check_seed
from .planners import GEOMETRY_USAGES, canonical_planner, resolve
from .problem import Problem, check_problem
from .worlds import World, check_world

HORIZONS = ("shrinking", "fixed")


class MPC:
    """A receding-horizon controller around one planner.

    Parameters
    ----------
    problem : Problem
        The model the controller plans with (world, geometry, goal) and the horizon T.
        Its ``s0`` is not used: states come from :meth:`command`.
    planner : str
        A registered planner.
    horizon : {"shrinking", "fixed"}
        See the module docstring.
    replan_every : int
        Replan at every ``replan_every``-th command; in between, return the next action of
        the current plan (open loop for those steps; the state given is not used).
    warm_start : bool
        Start each replan from the previous plan shifted by the steps executed since
        (fixed horizon: padded by repeating its last action); else from the planner's
        usual start.
    seed : int, optional
        Base seed (default: the problem's).  The k-th replan uses a seed derived from
        (seed, k) by the counter-based generator (stream tag ``MPC_REPLAN``).
    geometry_usage : {"prior", "none"}
    cost : Cost or dict, optional
        Cost terms beyond Eq. 5 and action bounds (:class:`fastplan.Cost`), for every replan.
    **overrides
        Planner hyperparameters (as for :func:`fastplan.plan`).

    Attributes
    ----------
    rollouts : list of int
        World-model rollouts spent by each command (0 for a command that did not replan).
    plans : list of PlanResult
        Every plan made since the last :meth:`reset`.
    """

    def __init__(self, problem: Problem, planner: str = "cem", *, horizon: str = "shrinking",
                 replan_every: int = 1, warm_start: bool = True, seed: int | None = None,
                 geometry_usage: str = "prior", cost=None, **overrides):
        if not isinstance(problem, Problem):
            raise FastplanError("MPC expects a Problem (see fastplan.make_problem)")
        check_problem(problem)
        if not isinstance(horizon, str) or horizon not in HORIZONS:
            raise FastplanError(f"unknown MPC horizon {horizon!r}; choose from {', '.join(HORIZONS)}")
        self.problem = problem
        self.planner = canonical_planner(planner)
        self.hyperparameters = resolve(self.planner, overrides)
        self.horizon = horizon
        self.replan_every = check_positive_int(replan_every, "replan_every")
        if horizon == "fixed" and self.replan_every > problem.T:
            raise FastplanError(f"replan_every ({self.replan_every}) exceeds the fixed horizon "
                                f"({problem.T}): the plan would run out")
        if not isinstance(warm_start, (bool, np.bool_)):
            raise FastplanError(f"warm_start must be True or False, got {warm_start!r}")
        self.warm_start = bool(warm_start)
        self.seed = problem.seed if seed is None else check_seed(seed)
        self.geometry_usage = check_choice(geometry_usage, GEOMETRY_USAGES, "geometry usage")
        from .cost import check_cost
        self.cost = check_cost(cost)
        self.cost.box(problem.d)
        self.reset()

    def reset(self) -> None:
        """Forget the plans and start a new episode at step 0."""
        self.step = 0
        self.rollouts: list[int] = []
        self.plans: list = []
        self._plan = None          # actions (h, d) of the current plan
        self._planned_at = 0       # step at which it was made

    @property
    def last_plan(self):
        """The most recent :class:`PlanResult` (None before the first command)."""
        return self.plans[-1] if self.plans else None

    def _horizon_at(self, k: int) -> int:
        return self.problem.T - k if self.horizon == "shrinking" else self.problem.T

    def _init(self, h: int):
        """The previous plan shifted to the current step (None without one)."""
        if not self.warm_start or self._plan is None:
            return None
        rest = self._plan[self.step - self._planned_at:]
        if rest.shape[0] >= h:
            return rest[:h]
        last = rest[-1:] if rest.shape[0] else self._plan[-1:]
        return np.concatenate([rest, np.repeat(last, h - rest.shape[0], axis=0)])

    def _replan_seed(self) -> int:
        key = rng.key(self.seed, rng.stream_id(rng.MPC_REPLAN, len(self.plans) % (1 << 24)))
        return int(key >> np.uint64(1))

    def command(self, state) -> np.ndarray:
        """The action to apply now, shape (d,), replanning from ``state`` (n,) when due.

        Raises
        ------
        FastplanError
            A state of the wrong shape (or NaN or inf), or (shrinking horizon) a command after
            the episode's ``T`` steps.
        """
        n = self.problem.n
        if self.horizon == "shrinking" and self.step >= self.problem.T:
            raise FastplanError(f"the episode of {self.problem.T} steps is over; call reset()")
        due = self._plan is None or self.step - self._planned_at >= self.replan_every
        if due:
            state = as_array(state, "state", (n,))
            h = self._horizon_at(self.step)
            prob = dataclasses.replace(self.problem, s0=state.copy(), T=h)
            res = plan(prob, self.planner, seed=self._replan_seed(), geometry_usage=self.geometry_usage,
                       init_actions=self._init(h), cost=self.cost, **self.hyperparameters)
            self.plans.append(res)
            self._plan = res.actions
            self._planned_at = self.step
            self.rollouts.append(int(res.samples))
        else:
            self.rollouts.append(0)
        action = self._plan[self.step - self._planned_at].copy()
        self.step += 1
        return action

    def __repr__(self) -> str:
        from .display import non_default
        return (f"MPC({self.planner}, {self.horizon} horizon T={self.problem.T}, replan every "
                f"{self.replan_every}, warm start {'on' if self.warm_start else 'off'}, "
                f"{non_default(self.planner, self.hyperparameters)}; step {self.step}, "
                f"{sum(self.rollouts)} rollouts so far)")


def closed_loop(controller: MPC, world=None, steps: int | None = None, s0=None) -> dict:
    """Run ``controller`` in closed loop: at each step ask for an action and apply it.

    Parameters
    ----------
    controller : MPC
        Reset first; plans with its problem's world model.
    world : object with ``step(s, a)``, optional
        The system the actions are applied to (default: the controller's own model; pass a
        perturbed world for model mismatch).  A fastplan world model must have the
        problem's state and action dimensions; any other object's next states are checked
        (shape (n,), finite) at every step.
    steps : int, optional
        Number of steps (default: the problem's horizon T).
    s0 : array (n,), optional
        Initial state (default: the problem's).

    Returns
    -------
    dict
        ``states`` (steps+1, n), ``actions`` (steps, d), ``rollouts`` (steps,) int64,
        ``goal_distance`` (steps+1,): ||s_t - s*|| along the way; ``final_distance``: its
        last entry.
    """
    if not isinstance(controller, MPC):
        raise FastplanError("closed_loop expects an MPC controller (see fastplan.MPC)")
    prob = controller.problem
    world = prob.world if world is None else world
    if not callable(getattr(world, "step", None)):
        raise FastplanError("the world must have a step(state, action) method (e.g. a TanhWorld)")
    if isinstance(world, World):
        check_world(world, "the closed loop's world: ")
        if (world.n, world.d) != (prob.n, prob.d):
            raise FastplanError(f"the closed loop's world has n={world.n}, d={world.d}; the "
                                f"controller's problem n={prob.n}, d={prob.d}")
    steps = prob.T if steps is None else check_positive_int(steps, "steps")
    s = as_array(prob.s0 if s0 is None else s0, "s0", (prob.n,))
    controller.reset()
    states, actions = [s.copy()], []
    for t in range(steps):
        a = controller.command(states[-1])
        actions.append(a)
        states.append(as_array(world.step(states[-1], a), f"the world's state after step {t + 1}",
                               (prob.n,)))
    states = np.array(states)
    dist = np.linalg.norm(states - prob.goal, axis=1)
    return {"states": states, "actions": np.array(actions),
            "rollouts": np.array(controller.rollouts, dtype=np.int64), "goal_distance": dist,
            "final_distance": float(dist[-1])}
