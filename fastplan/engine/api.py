"""The Python API: plan one problem or a batch of problems with one planner.

Timing is honest: a planner's first call in a process loads or compiles its kernels, and
that time is reported apart (``compile_time``), never inside ``wall_time``, which covers
the planning kernel alone.  A batch's time is one number for the whole batch
(``BatchResult.wall_time``); a plan taken from a batch carries it as ``batch_wall_time``
with ``batch_size``.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from . import budget, display, registry, rng, threads
from . import trace as trace_mod
from .errors import FastplanError, FastplanWarning, as_array, check_choice, check_positive_int, check_seed
from .planners import GEOMETRY_USAGES, canonical_planner, resolve
from .problem import Problem, check_problem, make_problem
from .cost import check_cost, evaluate, with_hyperparameters
from .arithmetic import ARITHMETIC
from .manifold import check_execution, realised
from .worlds import World, ops as world_ops


@dataclass
class Batch:
    """Problems stacked into contiguous arrays for a kernel call.

    world : the world bundle (a tuple of arrays with a leading P axis,
    :func:`fastplan.engine.worlds.ops.bundle`); s0, goal : (P, n); seeds : (P,) uint64;
    T : int; d : action dimension; geometries : list of Geometry (length P);
    cost : the :class:`~fastplan.engine.cost.Cost` (terms beyond Eq. 5, bounds);
    tape_width, shared_width : sizes of the world's adjoint tape and shared step.
    """

    world: tuple
    s0: np.ndarray
    goal: np.ndarray
    seeds: np.ndarray
    T: int
    d: int
    geometries: list
    cost: Any = None
    tape_width: int = 0
    shared_width: int = 0
    init_actions: np.ndarray | None = None

    @property
    def P(self) -> int:
        return self.s0.shape[0]

    @property
    def n(self) -> int:
        """State dimension."""
        return self.s0.shape[1]

    def slice(self, lo: int, hi: int) -> "Batch":
        """Problems lo..hi-1 (views): every array or list field is per problem (axis 0)."""
        P = self.P
        cut = {f.name: getattr(self, f.name)[lo:hi] for f in fields(self)
               if isinstance(getattr(self, f.name), (np.ndarray, list))
               and len(getattr(self, f.name)) == P}
        return replace(self, world=world_ops.slice_bundle(self.world, lo, hi), **cut)

    def cost_bundle(self, hp: dict) -> tuple:
        """The kernels' cost tuple for hyperparameters ``hp`` (Eq. 5's ``lam`` is a planner
        hyperparameter; the other terms and the bounds come from the batch's cost).  With a
        ``prior_weight`` beta > 0 the tuple also carries beta and the P geometries' stacked
        densities (the prior penalty, :mod:`fastplan.engine.planners._manifold`)."""
        paper = check_cost(self.cost).bundle(hp["lam"], self.d)
        beta = float(hp.get("prior_weight", 0.0))
        if beta == 0.0:
            return paper
        from .geometry_stack import stack_densities
        from .planners._manifold import prior_bundle
        return prior_bundle(paper, beta, stack_densities(self.geometries, "the prior penalty"))

    def initial_draws(self, n: int, usage: str) -> np.ndarray:
        """``n`` initial action sequences per problem, shape (P, n, T, d).

        ``usage="prior"``: i.i.d. draws of each problem's geometry (sample stream 2 under
        the planner seed); ``"none"``: standard normal draws.
        """
        out = np.empty((self.P, n, self.T, self.d))
        for p, (geom, seed) in enumerate(zip(self.geometries, self.seeds)):
            if usage == "prior":
                draws = as_array(geom.sample(n * self.T, seed=int(seed), stream=2),
                                 f"problem {p}'s geometry samples", (n * self.T, self.d))
                out[p] = draws.reshape(n, self.T, self.d)
            else:
                out[p] = rng.normals(int(seed), rng.stream_id(rng.PLAN_INIT), (n, self.T, self.d))
        return out

    def prior_mean_std(self, usage: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate prior mean and std tiled over the horizon, each (P, T, d).

        ``usage="prior"``: the geometry's exact mean and per-coordinate std;
        ``"none"``: 0 and 1.
        """
        mean = np.zeros((self.P, self.T, self.d))
        std = np.ones((self.P, self.T, self.d))
        if usage == "prior":
            for p, geom in enumerate(self.geometries):
                mean[p] = as_array(geom.mean(), f"problem {p}'s geometry mean", (self.d,))
                std[p] = as_array(geom.std(), f"problem {p}'s geometry std", (self.d,))
        return mean, std

    def centred_draws(self, n: int, usage: str, centre: np.ndarray) -> np.ndarray:
        """``n`` initial sequences per problem centred on ``centre`` (P, T, d): the draws of
        :meth:`initial_draws` minus their law's mean (``prior``: the geometry's exact mean;
        ``none``: 0) plus ``centre``.  Shape (P, n, T, d)."""
        draws = self.initial_draws(n, usage)
        mean, _ = self.prior_mean_std(usage)
        return draws - mean[:, None] + centre[:, None]


@dataclass
class BatchResult:
    """Result of planning P problems with one planner.

    actions : (P, T, d) planned latent actions a_1..a_T
    states : (P, T+1, n) state trajectory s_0..s_T under the world model
    cost, goal_distance, smoothness : (P,) Eq. 5, ||s_T - s*||, Eq. 11
    samples : (P,) int64 world-model rollouts the planner performed (counted in-kernel)
    steps : (P,) int64 single-step world-model evaluations (a partial rollout counts its steps)
    wall_time : float, seconds for the whole batch: the planning kernel only (no compilation,
        no input preparation, no evaluation of the result)
    compile_time : float, seconds this call spent loading or compiling the planner's
        kernels before timing (0.0 once warm in this process)
    trace : :class:`~fastplan.engine.trace.Trace` of (P, R) arrays (best cost so far, mean cost,
        cumulative rollouts per iteration) with ``return_trace=True``, else None
    execution : "latent" (the environment receives the planned actions) or "decoded" (their
        projections onto the geometry; see :mod:`fastplan.engine.manifold`)
    executed_actions : (P, T, d) what the environment received
    realised_goal_distance, exploitation_gap : (P,) goal distance of the executed actions and
        realised - planned (0 under "latent")
    arithmetic : "exact", or "fast" in a process run with ``FASTPLAN_ARITHMETIC=fast``
        (:mod:`fastplan.engine.arithmetic`; the repr names it when it is not exact)
    """

    planner: str
    hyperparameters: dict
    geometry_usage: str
    seeds: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    cost: np.ndarray
    goal_distance: np.ndarray
    smoothness: np.ndarray
    samples: np.ndarray
    steps: np.ndarray
    wall_time: float
    extra: dict = field(default_factory=dict)
    execution: str = "latent"
    executed_actions: np.ndarray | None = None
    realised_goal_distance: np.ndarray | None = None
    exploitation_gap: np.ndarray | None = None
    compile_time: float = 0.0
    trace: Any = None
    arithmetic: str = ARITHMETIC

    def __len__(self) -> int:
        return self.actions.shape[0]

    def __repr__(self) -> str:
        return display.batch_repr(self)

    def _repr_html_(self) -> str:
        return display.batch_html(self)

    def __getitem__(self, p: int) -> "PlanResult":
        return PlanResult(
            planner=self.planner, hyperparameters=dict(self.hyperparameters),
            geometry_usage=self.geometry_usage, seed=int(self.seeds[p]),
            actions=self.actions[p], states=self.states[p], cost=float(self.cost[p]),
            goal_distance=float(self.goal_distance[p]), smoothness=float(self.smoothness[p]),
            samples=int(self.samples[p]), steps=int(self.steps[p]),
            wall_time=self.wall_time / len(self), batch_wall_time=self.wall_time,
            batch_size=len(self), compile_time=self.compile_time,
            trace=None if self.trace is None else self.trace[p], execution=self.execution,
            executed_actions=None if self.executed_actions is None else self.executed_actions[p],
            realised_goal_distance=_item(self.realised_goal_distance, p),
            exploitation_gap=_item(self.exploitation_gap, p), arithmetic=self.arithmetic)


def _item(values, p):
    return None if values is None else float(values[p])


@dataclass
class PlanResult:
    """Result of planning one problem (fields as :class:`BatchResult`, without the P axis).

    ``batch_wall_time`` is the time of the kernel call that planned this problem together
    with ``batch_size - 1`` others (``batch_size`` is 1 for :func:`plan`); ``wall_time`` is
    ``batch_wall_time / batch_size``, a share, not a measurement of this plan alone.
    ``compile_time``: seconds the call spent loading or compiling kernels, never part of
    ``wall_time``.  ``trace``: the plan's :class:`~fastplan.engine.trace.Trace` (arrays of shape
    (R,)) with ``return_trace=True``, else None.
    """

    planner: str
    hyperparameters: dict
    geometry_usage: str
    seed: int
    actions: np.ndarray
    states: np.ndarray
    cost: float
    goal_distance: float
    smoothness: float
    samples: int
    steps: int
    wall_time: float
    execution: str = "latent"
    executed_actions: np.ndarray | None = None
    realised_goal_distance: float | None = None
    exploitation_gap: float | None = None
    batch_wall_time: float | None = None
    batch_size: int = 1
    compile_time: float = 0.0
    trace: Any = None
    arithmetic: str = ARITHMETIC

    def __post_init__(self):
        if self.batch_wall_time is None:
            self.batch_wall_time = self.wall_time * self.batch_size

    def __repr__(self) -> str:
        return display.plan_repr(self)

    def _repr_html_(self) -> str:
        return display.plan_html(self)


def stack(problems, seeds=None, check=None, init_actions=None, cost=None) -> Batch:
    """Stack problems of equal dimensions and horizon into a :class:`Batch` (seeds default
    to theirs).

    Every problem's arrays are checked (shapes, NaN and inf); ``check(P, T, d)``, if given,
    runs after the checks and before the stacks are allocated (a memory check).
    ``init_actions``: None, or an initial plan of shape (T, d) (shared) or (P, T, d).
    ``cost``: the cost terms beyond Eq. 5 (:class:`~fastplan.engine.cost.Cost`, default none).
    """
    problems = problem_list(problems)
    if not problems:
        raise FastplanError("no problems to plan")
    if not all(isinstance(p, Problem) for p in problems):
        raise FastplanError("plan_batch expects Problem objects (see fastplan.make_problem)")
    one = len(problems) == 1
    shapes = [check_problem(p, "the problem's " if one else f"problem {i}: ")
              for i, p in enumerate(problems)]
    n, d, T = shapes[0]
    if any(shape != (n, d, T) for shape in shapes):
        raise FastplanError("all problems of a batch must share the state and action dimensions "
                            "and the horizon")
    if seeds is None:
        seeds = [p.seed for p in problems]
    if (isinstance(seeds, (str, bytes, dict)) or not hasattr(seeds, "__len__")
            or isinstance(seeds, np.ndarray) and seeds.ndim != 1):
        raise FastplanError(f"seeds must be a sequence of integers, got {seeds!r}")
    seeds = [check_seed(s) for s in seeds]
    if len(seeds) != len(problems):
        raise FastplanError(f"got {len(seeds)} seeds for {len(problems)} problems")
    cost = check_cost(cost)
    cost.box(d)                                         # bounds of the right size
    if check is not None:
        check(len(problems), T, d)
    arr = lambda xs: np.array(xs, dtype=np.float64)  # noqa: E731  (a fresh C-contiguous stack)
    w0 = problems[0].world
    return Batch(
        world=world_ops.bundle([p.world for p in problems]), s0=arr([p.s0 for p in problems]),
        goal=arr([p.goal for p in problems]), seeds=np.asarray(seeds, dtype=np.uint64),
        T=T, d=d, geometries=[p.geometry for p in problems], cost=cost,
        tape_width=world_ops.tape_width(w0), shared_width=world_ops.shared_width(w0),
        init_actions=_init_actions(init_actions, len(problems), T, d))


def _init_actions(init, P: int, T: int, d: int):
    """Validate an initial plan: (T, d) for every problem or (P, T, d); None stays None."""
    if init is None:
        return None
    arr = as_array(init, "init_actions")
    if arr.shape == (T, d):
        return np.ascontiguousarray(np.broadcast_to(arr, (P, T, d)))
    if arr.shape != (P, T, d):
        raise FastplanError(f"init_actions must have shape (T, d) = ({T}, {d}) or (P, T, d) = "
                            f"({P}, {T}, {d}), got {arr.shape}")
    return arr.copy()


_WARM: set = set()


def warm(planner: str, hp: dict | None = None, usage: str = "prior", family: str = "tanh") -> float:
    """Load (or compile) the kernels of ``planner`` for a world-model ``family`` once per
    process, by planning one tiny problem; returns the seconds spent (0.0 when already warm).
    Kernels are compiled per family (the world bundle's type), not per size, so one tiny
    model of the family warms every model of it.  Changes no result."""
    planner = canonical_planner(planner)
    key = (planner, (hp or {}).get("gradient"), usage, family)
    if key in _WARM:
        return 0.0
    t0 = time.perf_counter()
    spec = registry.planner(planner)
    tiny = spec.resolve(spec.tiny_overrides(hp))
    batch = stack([_tiny_problem(family)])
    actions = _run(batch, planner, tiny, usage)[0]
    evaluate(batch.world, batch.s0, batch.goal, actions, batch.cost_bundle(tiny))
    _WARM.add(key)
    return time.perf_counter() - t0


def _tiny_problem(family: str) -> Problem:
    """A problem of d = 2, T = 2 whose world is of ``family`` (for warming up kernels)."""
    prob = make_problem("vae", 2, 2, 0)
    if family == "mlp":
        from .worlds.mlp import random_mlp
        return Problem.from_arrays(random_mlp(2, 2, (2,), seed=0), prob.s0, prob.goal, 2,
                                   geometry=prob.geometry)
    return prob


def _run(batch: Batch, planner: str, hp: dict, usage: str, trace: bool = False):
    """Prepare and run the planner's kernel; (actions, samples, steps, kernel start, end, trace
    (P, R, 3) or None).  With ``trace`` the kernel also fills a per-iteration trace
    (:mod:`fastplan.engine.trace`)."""
    module = registry.planner(planner).module()
    inputs = module.prepare(batch, hp, usage)
    if trace:
        inputs["trace"] = trace_mod.new_trace(module, planner, hp, batch.P, batch.T, batch.d)
    t0 = time.perf_counter()
    actions, samples, steps = module.run(batch, hp, inputs)
    return actions, samples, steps, t0, time.perf_counter(), inputs.get("trace") if trace else None


def _run_policy(batch: Batch, planner: str, hp: dict, usage: str, trace: bool = False):
    """:func:`_run` as the thread policy (:mod:`fastplan.engine.threads`) decides: one kernel
    call, or slices of the batch taken by a few threads (one Numba thread each); the same
    bits either way.  Returns (actions, samples, steps, seconds from the first kernel's start
    to the last one's end, trace or None)."""
    P = batch.P
    workers, slices, n_threads = threads.batch_split(
        P, threads.plan_seconds(planner, hp, batch.T, batch.d), hp.get("iterations", 1))
    if workers == 1:                       # one kernel call (README, "On a busy machine")
        with threads.limited(n_threads):
            actions, samples, steps, t0, t1, tr = _run(batch, planner, hp, usage, trace)
        return actions, samples, steps, t1 - t0, tr
    cut = [(i * P) // slices for i in range(slices + 1)]
    parts = threads.map_dynamic(lambda i: _run(batch.slice(cut[i], cut[i + 1]), planner, hp, usage, trace),
                                slices, workers)
    actions, samples, steps = (np.concatenate([part[k] for part in parts]) for k in range(3))
    tr = np.concatenate([part[5] for part in parts]) if trace else None
    return actions, samples, steps, max(p[4] for p in parts) - min(p[3] for p in parts), tr


def problem_list(problems) -> list:
    """``problems`` as a list (one line for anything that is not a sequence of problems)."""
    if isinstance(problems, Problem):
        raise FastplanError("plan_batch expects a list of Problem objects; use plan for one problem")
    if isinstance(problems, (str, bytes)) or not hasattr(problems, "__iter__"):
        raise FastplanError(f"plan_batch expects a list of Problem objects, got {type(problems).__name__}")
    return list(problems)


def _warn_not_finite(planner: str, cost: np.ndarray, actions: np.ndarray) -> None:
    """A :class:`FastplanWarning` when some plans came out NaN or inf (a diverged planner)."""
    bad = ~np.isfinite(cost) | ~np.isfinite(actions.reshape(actions.shape[0], -1)).all(axis=1)
    if bad.any():
        warnings.warn(FastplanWarning(
            f"{planner}: {int(bad.sum())} of {bad.size} plans are not finite (NaN or inf): the planner "
            f"diverged; check its hyperparameters"), stacklevel=3)


def plan_batch(problems, planner: str, seeds=None, *, geometry_usage: str = "prior",
               execution: str = "latent", init_actions=None, cost=None, return_trace: bool = False,
               **overrides) -> BatchResult:
    """Plan a batch of problems (same d and horizon) with one planner: one kernel call, or
    slices of the batch on a few threads, as the thread policy (:mod:`fastplan.engine.threads`)
    decides; the result is the same bits either way.

    Parameters
    ----------
    problems : sequence of Problem
    planner : str
        A registered planner (``fastplan.engine.registry.planners().names()``).
    seeds : sequence of int, optional
        Planner seeds (default: each problem's seed).  Planning P problems together gives
        exactly the same result as planning them one by one.
    geometry_usage : {"prior", "none"}
        How the latent geometry enters the planner (README: "Where the geometry enters").
    execution : {"latent", "decoded"}
        What the environment receives: the planned actions (default) or their projections onto
        each problem's geometry (the planner still plans with the unconstrained world model);
        fills ``realised_goal_distance`` and ``exploitation_gap``.
    init_actions : array, shape (T, d) or (P, T, d), optional
        An initial plan (a warm start), used in place of the geometry / N(0, I) start:
        CEM's and MPPI's initial mean (CEM keeps its initial std), the gradient and SGLD
        start, the centre of diffusion's initial samples (which diffusion forgets, README).
    cost : Cost or dict, optional
        Cost terms beyond Eq. 5 and action bounds (:class:`fastplan.Cost`: ``running``,
        ``effort``, ``lower``, ``upper``); default the paper's Eq. 5 alone.  The same terms
        can be given as hyperparameters instead (``running=0.5, lower=-2, upper=2``: scalar
        bounds; then recorded in ``hyperparameters``, as sweeps do); not both.
    return_trace : bool
        Also record each plan's per-iteration trace (``BatchResult.trace``, a
        :class:`~fastplan.engine.trace.Trace` of (P, R) arrays: best cost so far, mean cost,
        cumulative rollouts).  Recording changes no plan.
    **overrides
        Hyperparameters to change from the paper's values (see ``planners.DEFAULTS``).

    Returns
    -------
    BatchResult
        ``wall_time`` is the planning kernels' time for the whole batch (from the first
        kernel's start to the last one's end when slices run on several threads); the time
        spent loading or compiling kernels on a first call is ``compile_time``.
    """
    planner = canonical_planner(planner)
    execution = check_execution(execution)
    check_choice(geometry_usage, GEOMETRY_USAGES, "geometry usage")
    hp = resolve(planner, overrides)
    problems = problem_list(problems)
    batch = stack(problems, seeds, check=lambda P, T, d: budget.check_plan(
        planner, hp, P, T, d, usage=geometry_usage), init_actions=init_actions,
        cost=with_hyperparameters(cost, hp))  # refused before allocating
    compile_time = warm(planner, hp, geometry_usage, problems[0].world.family)
    if return_trace:
        trace_mod.trace_rows(registry.planner(planner).module(), planner, hp, batch.T, batch.d)
    actions, samples, steps, wall, tr = _run_policy(batch, planner, hp, geometry_usage, bool(return_trace))
    actions = batch.cost.clip(actions)          # plans inside the action box (if any)
    L, goal_distance, smoothness, states = evaluate(batch.world, batch.s0, batch.goal, actions,
                                                    batch.cost_bundle(hp))
    _warn_not_finite(planner, L, actions)
    real = realised(problems, actions, goal_distance, execution, batch.cost_bundle(hp))
    return BatchResult(
        planner=planner, hyperparameters=hp, geometry_usage=geometry_usage, seeds=batch.seeds,
        actions=actions, states=states, cost=L, goal_distance=goal_distance,
        smoothness=smoothness, samples=samples, steps=steps, wall_time=wall, execution=execution,
        compile_time=compile_time, trace=None if tr is None else trace_mod.Trace.from_array(tr), **real)


def plan(problem: Problem, planner: str, seed: int | None = None, *, geometry_usage: str = "prior",
         execution: str = "latent", init_actions=None, cost=None, return_trace: bool = False,
         **overrides) -> PlanResult:
    """Plan one problem; see :func:`plan_batch` for the arguments.

    Example
    -------
    >>> import fastplan
    >>> prob = fastplan.make_problem("vae", d=8, horizon=8, seed=0)
    >>> res = fastplan.plan(prob, "cem", seed=0)
    >>> res.goal_distance, res.samples
    """
    seeds = None if seed is None else [seed]
    if not isinstance(problem, Problem):
        raise FastplanError("plan expects a Problem (see fastplan.make_problem); "
                            "use plan_batch for a list of problems")
    return plan_batch([problem], planner, seeds, geometry_usage=geometry_usage, execution=execution,
                      init_actions=init_actions, cost=cost, return_trace=return_trace, **overrides)[0]
