"""Batched rollout and cost kernels: Eq. 4 (dynamics), Eq. 5 (cost), Eq. 11 (smoothness).

Inside kernels, a batch of ``n`` action sequences of one problem is stored
structure-of-arrays, ``X[t, j, i]`` with shape (T, d, n): the sample axis ``i`` is
contiguous so that every arithmetic loop runs over samples and vectorises.  The serial
helpers live in :mod:`fastplan.planners._common` (shared with the planners);
:func:`rollout` is the public, parallel entry point over ``P problems x N sequences``.

Cost of Eq. 5 with ``lam`` = lambda::

    L(a_1..a_T) = ||s_T - s*||_2 + lam * (1/T) * sum_t ||s_t - s_{t-1}||_2
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from . import budget, threads
from .jit import kernel, parallel_kernel
from .errors import FastplanError, as_array, check_lambda, check_number
from .planners._common import CHUNK, n_chunks, rollout_cols, states_cols
from .planners._manifold import cost_at
from .worlds import ops

LAMBDA = 0.1   # weight of the smoothness term in Eq. 5


@dataclass(frozen=True)
class Cost:
    """The cost family (Eq. 5 and its extensions), recorded with every configuration.

    ``L = ||s_T - s*|| + lam (1/T) sum_t ||s_t - s_{t-1}|| + running sum_{t=1..T} ||s_t - s*||
    + effort sum_t ||a_t||^2``, with actions limited to the box ``[lower, upper]``.
    ``lam`` is each planner's hyperparameter (Eq. 5's lambda, 0.1); the paper's cost is
    ``Cost()`` (no running term, no action penalty, no bounds).

    Attributes
    ----------
    running : float
        Weight of the running goal cost (>= 0).
    effort : float
        Weight of the quadratic action penalty (>= 0).
    lower, upper : float or array (d,) or None
        Action bounds (None: unbounded on that side).  Planners respect them: every rollout
        clips its actions into the box (sampling planners' samples, gradient iterates: a
        projection), and plans are returned inside the box.
    """

    running: float = 0.0
    effort: float = 0.0
    lower: Any = None
    upper: Any = None

    def __post_init__(self):
        for name in ("running", "effort"):
            object.__setattr__(self, name, check_number(getattr(self, name), f"cost {name}", minimum=0.0))
        for name in ("lower", "upper"):
            v = getattr(self, name)
            if v is None:
                continue
            arr = as_array(v, f"cost {name} bound", finite=False)
            if arr.ndim > 1 or np.isnan(arr).any():
                raise FastplanError(f"cost {name} bound must be a number or a (d,) array without NaN, "
                                    f"got shape {arr.shape}" + (" with NaN" if np.isnan(arr).any() else ""))
            if np.any(arr == (np.inf if name == "lower" else -np.inf)):
                raise FastplanError(f"cost {name} bound must not be {'+' if name == 'lower' else '-'}inf "
                                    "(no action would be allowed)")
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def bounded(self) -> bool:
        return self.lower is not None or self.upper is not None

    @property
    def is_paper(self) -> bool:
        """True for the paper's Eq. 5 alone."""
        return self.running == 0.0 and self.effort == 0.0 and not self.bounded

    def box(self, d: int):
        """(lower, upper) as (d,) arrays, or two empty arrays when unbounded."""
        if not self.bounded:
            return np.empty(0), np.empty(0)
        lo = np.full(d, -np.inf) if self.lower is None else np.broadcast_to(self.lower, (d,)).copy() \
            if self.lower.ndim == 0 or self.lower.shape == (d,) else None
        hi = np.full(d, np.inf) if self.upper is None else np.broadcast_to(self.upper, (d,)).copy() \
            if self.upper.ndim == 0 or self.upper.shape == (d,) else None
        if lo is None or hi is None:
            raise FastplanError(f"action bounds must be numbers or (d,) = ({d},) arrays")
        if np.any(lo > hi):
            raise FastplanError("every lower action bound must be <= the upper one")
        return np.ascontiguousarray(lo), np.ascontiguousarray(hi)

    def bundle(self, lam: float, d: int) -> tuple:
        """The kernels' cost tuple ``(lam, running, effort, lower (d,), upper (d,))``."""
        lo, hi = self.box(d)
        return (float(lam), self.running, self.effort, lo, hi)

    def clip(self, actions: np.ndarray) -> np.ndarray:
        """Actions (..., d) clipped into the box (a copy; the same array when unbounded)."""
        actions = as_array(actions, "actions", finite=False)
        if actions.ndim < 1:
            raise FastplanError(f"actions must have shape (..., d), got {actions.shape}")
        if not self.bounded:
            return actions
        lo, hi = self.box(actions.shape[-1])
        return np.ascontiguousarray(np.clip(actions, lo, hi))

    def record(self) -> dict:
        """Plain values for a results file (bounds as lists, None when unbounded)."""
        as_list = lambda v: None if v is None else np.asarray(v).tolist()  # noqa: E731
        return {"running": self.running, "effort": self.effort,
                "lower": as_list(self.lower), "upper": as_list(self.upper)}


#: The paper's cost (Eq. 5 alone).
PAPER_COST = Cost()


def check_cost(cost) -> Cost:
    """``None`` -> the paper's cost; a :class:`Cost` as is; a mapping -> ``Cost(**mapping)``."""
    if cost is None:
        return PAPER_COST
    if isinstance(cost, Cost):
        return cost
    if isinstance(cost, dict):
        unknown = set(cost) - {"running", "effort", "lower", "upper"}
        if unknown:
            raise FastplanError(f"unknown cost term(s) {', '.join(sorted(unknown))}; choose from "
                                "running, effort, lower, upper")
        return Cost(**cost)
    raise FastplanError(f"cost must be a fastplan.Cost or a dict, got {type(cost).__name__}")


#: The cost terms a planner's hyperparameters may carry (registry ``COST_OPTIONS``), scalars.
HYPERPARAMETER_TERMS = ("running", "effort", "lower", "upper")


def with_hyperparameters(cost, hp: dict) -> Cost:
    """The cost of a plan: ``cost`` (a :class:`Cost`, dict or None) with the cost terms that the
    planner's hyperparameters ``hp`` carry (``running``, ``effort``, and ``lower``/``upper``: one
    bound for every action coordinate; from ``--set`` or a sweep's grid, recorded with the
    configuration).  A term given both ways is refused, even with equal values.

    Returns ``cost`` itself (the same object) when ``hp`` carries no cost term, so the paper's
    configurations take exactly the path they always took.
    """
    cost = check_cost(cost)
    terms = {k: hp[k] for k in HYPERPARAMETER_TERMS if k in hp}
    if not terms:
        return cost
    given = cost.record()
    both = [k for k in terms if (given[k] is not None if k in ("lower", "upper") else given[k] != 0.0)]
    if both:
        raise FastplanError(f"cost term(s) {', '.join(both)} given both in cost= and as hyperparameters; "
                            "give each once")
    merged = {k: getattr(cost, k) for k in HYPERPARAMETER_TERMS}
    merged.update(terms)
    return Cost(**merged)


@parallel_kernel
def _rollout_kernel(world, s0, goal, actions, cost, want_states, L, gd, sm, states):
    """prange over (problem, chunk of CHUNK sequences); each item writes its own rows.

    Uses the planners' own rollout (:func:`fastplan.planners._common.rollout_cols`), so a
    cost reported here is bit-identical to the cost a planner saw for the same actions.
    """
    P, N, T, d = actions.shape
    ns = s0.shape[1]
    C = n_chunks(N)
    X = np.empty((P * C, T, d, CHUNK))
    S = np.empty((P * C, ns, CHUNK))
    U = np.empty((P * C, ns, CHUNK))
    path = np.empty((P * C, 4, CHUNK))
    c = np.empty((P * C, CHUNK))
    Z = np.empty((P * C if want_states else 1, T + 1, ns, CHUNK))
    for item in numba.prange(P * C):
        p = item // C
        lo = (item % C) * CHUNK
        n = min(lo + CHUNK, N) - lo
        Xi = X[item]
        w = ops.world_at(world, p)
        for i in range(n):
            for t in range(T):
                for j in range(d):
                    Xi[t, j, i] = actions[p, lo + i, t, j]
        rollout_cols(w, s0[p], goal[p], Xi, np.int64(0), n, cost_at(cost, p), S[item], U[item],
                     path[item], c[item])
        for i in range(n):
            L[p, lo + i] = c[item, i]
            gd[p, lo + i] = math.sqrt(path[item, 1, i])
            sm[p, lo + i] = path[item, 0, i] / T
        if want_states:
            Zi = Z[item]
            states_cols(w, s0[p], Xi, np.int64(0), n, Zi)
            for i in range(n):
                for t in range(T + 1):
                    for j in range(ns):
                        states[p, lo + i, t, j] = Zi[t, j, i]


@kernel
def _evaluate_kernel(world, s0, goal, actions, cost, L, gd, sm, states):
    """Serial twin of :func:`_rollout_kernel` for one sequence per problem (a planner's
    result): actions (P, T, d) -> L, gd, sm (P,) and states (P, T+1, n).  Same
    per-column arithmetic, so the same bits; serial because P rollouts are no work, and a
    parallel kernel costs seconds of compilation."""
    P, T, d = actions.shape
    ns = s0.shape[1]
    X = np.empty((T, d, 1))          # one column: scratch one column wide
    S = np.empty((ns, 1))
    U = np.empty((ns, 1))
    path = np.empty((4, 1))
    c = np.empty(1)
    Z = np.empty((T + 1, ns, 1))
    one = np.int64(1)
    zero = np.int64(0)
    for p in range(P):
        w = ops.world_at(world, p)
        for t in range(T):
            for j in range(d):
                X[t, j, 0] = actions[p, t, j]
        rollout_cols(w, s0[p], goal[p], X, zero, one, cost_at(cost, p), S, U, path, c)
        L[p] = c[0]
        gd[p] = math.sqrt(path[1, 0])
        sm[p] = path[0, 0] / T
        states_cols(w, s0[p], X, zero, one, Z)
        for t in range(T + 1):
            for j in range(ns):
                states[p, t, j] = Z[t, j, 0]


def evaluate(world, s0, goal, actions, cost):
    """The cost, Eq. 11 and the states of one validated sequence per problem.

    world : a batch's world bundle (:func:`fastplan.engine.worlds.ops.bundle`);
    s0, goal : (P, n); actions : (P, T, d) float64, C-contiguous; cost : the cost bundle
    (:meth:`Cost.bundle`).  Returns cost, goal_distance, smoothness (P,) and states
    (P, T+1, n); the same bits as :func:`rollout` gives for these sequences (actions outside
    the cost's box are evaluated clipped).
    """
    P, T, d = actions.shape
    L, gd, sm = np.empty(P), np.empty(P), np.empty(P)
    states = np.empty((P, T + 1, s0.shape[1]))
    _evaluate_kernel(world, s0, goal, np.array(actions, dtype=np.float64), cost, L, gd, sm, states)
    return L, gd, sm, states


def paper_cost(lam: float, d: int) -> tuple:
    """The cost bundle of Eq. 5 alone with weight ``lam``."""
    return PAPER_COST.bundle(lam, d)


def rollout(A=None, B=None, b=None, s0=None, goal=None, actions=None, lam: float = LAMBDA,
            return_states: bool = False, cost=None, *, world=None):
    """Roll out P problems x N action sequences and evaluate the cost (Eq. 5) and Eq. 11.

    Call as ``rollout(world, s0, goal, actions)`` with a world model object
    (:class:`~fastplan.engine.worlds.World`, e.g. ``prob.world``; or ``world=`` by keyword),
    or with the paper's arrays, ``rollout(A, B, b, s0, goal, actions)``.

    Parameters
    ----------
    A : array (P, n, n) / (n, n), or a World
    B : array (P, n, d) / (n, d)
    b : array (P, n) / (n,)
    s0, goal : array, shape (P, n) or (n,)
    actions : array, shape (P, N, T, d), or (N, T, d) for one problem
    lam : float
        Smoothness weight lambda of Eq. 5 (default 0.1).
    return_states : bool
        Also return the state trajectories.
    cost : Cost or dict, optional
        Extra cost terms and action bounds (default: Eq. 5 alone).
    world : World, optional
        The world model, instead of A, B, b.

    Returns
    -------
    dict with ``cost``, ``goal_distance``, ``smoothness`` of shape (P, N) (or (N,)) and,
    on request, ``states`` of shape (P, N, T+1, n) (or (N, T+1, n)).

    Every array is checked (shapes, real numbers, NaN and inf) and the memory of the
    outputs and scratch against :mod:`fastplan.engine.budget` before the kernel runs.
    """
    from .worlds import World
    if isinstance(A, World):                   # rollout(world, s0, goal, actions)
        if world is not None:
            raise FastplanError("give the world model once (positionally or as world=)")
        world, A = A, None
        if goal is None and actions is None:
            s0, goal, actions = B, b, s0
            B = b = None
    if world is not None:
        if not isinstance(world, World):
            raise FastplanError(f"world must be a fastplan world model, got {type(world).__name__}")
        if A is not None or B is not None or b is not None:
            raise FastplanError("give either a world model or the arrays A, B, b, not both")
        from .worlds import check_world
        check_world(world)
    else:
        A = as_array(A, "A")
    actions = as_array(actions, "actions")
    single = actions.ndim == 3
    if single:
        actions = actions[None]
        s0 = as_array(s0, "s0", ndim=1)[None]
        goal = as_array(goal, "goal", ndim=1)[None]
        if world is None:
            A = as_array(A, "A", ndim=2)[None]
            B = as_array(B, "B", ndim=2)[None]
            b = as_array(b, "b", ndim=1)[None]
    if actions.ndim != 4:
        raise FastplanError(f"actions must have shape (P, N, T, d) or (N, T, d), got {actions.shape}")
    P = actions.shape[0]
    if world is None:
        if A.ndim != 3 or A.shape[1] != A.shape[2]:
            raise FastplanError(f"A must have shape (P, n, n), got {A.shape}")
        n = A.shape[1]
        A = as_array(A, "A", (P, n, n))
        B = as_array(B, "B", (P, n, None))
        d = B.shape[2]
        b = as_array(b, "b", (P, n))
        if n < 1 or d < 1:
            raise FastplanError(f"A and B must not be empty, got shapes {A.shape} and {B.shape}")
    else:
        n, d = world.n, world.d
    s0 = as_array(s0, "s0", (P, n))
    goal = as_array(goal, "goal", (P, n))
    actions = as_array(actions, "actions", (P, None, None, d))
    if min(actions.shape[:3]) < 1:
        raise FastplanError(f"actions must hold at least one sequence of length >= 1 per problem, "
                            f"got shape {actions.shape}")
    lam = check_lambda(lam)
    if not isinstance(return_states, (bool, np.bool_)):
        raise FastplanError(f"return_states must be True or False, got {return_states!r}")
    cost_b = check_cost(cost).bundle(lam, d)
    N, T = actions.shape[1], actions.shape[2]
    budget.check_memory(rollout_bytes(P, N, T, n, d, bool(return_states)),
                        f"rolling out {P} x {N} sequences of {T} actions at n={n}, d={d}",
                        "roll out fewer sequences per call")
    # read-only inputs are copied: the kernel is compiled for writable arrays only once
    s0, goal, actions = (np.require(x, requirements="W") for x in (s0, goal, actions))
    if world is None:
        bundle = tuple(np.require(x, requirements="W") for x in (A, B, b))
    else:
        from .worlds.ops import bundle as make_bundle
        bundle = make_bundle([world] * P)
    L, gd, sm = (np.empty((P, N)) for _ in range(3))
    states = np.empty((P, N, T + 1, n)) if return_states else np.empty((1, 1, 1, 1))
    work = P * N * T * (2.0 * n * (n + d) + 30.0 * n) * threads.SECONDS_PER_UNIT
    with threads.limited(threads.threads_for(work)):     # small batches: 1 thread
        _rollout_kernel(bundle, s0, goal, actions, cost_b, bool(return_states), L, gd, sm, states)
    out = {"cost": L, "goal_distance": gd, "smoothness": sm}
    if return_states:
        out["states"] = states
    if single:
        out = {k: v[0] for k, v in out.items()}
    return out


def rollout_bytes(P: int, N: int, T: int, n: int, d: int, want_states: bool) -> int:
    """Peak memory of :func:`rollout` (bytes): the outputs and :func:`_rollout_kernel`'s
    scratch, one CHUNK-wide block per (problem, chunk), and the stacked world models."""
    blocks = P * n_chunks(N) * CHUNK
    scratch = blocks * (T * d + 2 * n + 5 + ((T + 1) * n if want_states else 0))
    outputs = 3 * P * N + (P * N * (T + 1) * n if want_states else 0)
    return 8 * (scratch + outputs + P * (n * n + n * d + n))


def baselines(*args):
    """Trivial baselines of P problems: the goal distance of doing nothing and the start's.

    Call as ``baselines(world, s0, goal, horizon)`` with a world bundle
    (:func:`fastplan.engine.worlds.ops.bundle`), or ``baselines(A, B, b, s0, goal, horizon)``
    with the paper's stacked arrays.  s0, goal : (P, n); horizon : T >= 1.
    Returns ``zero_action_distance`` (P,): ``||s_T - s*||_2`` after rolling out ``a = 0`` for
    T steps (through the planners' own rollout, :func:`evaluate`), and ``initial_distance``
    (P,): ``||s_0 - s*||_2``.
    """
    if len(args) == 6:
        A, B, b, s0, goal, horizon = args
        world = tuple(np.ascontiguousarray(x, dtype=np.float64) for x in (A, B, b))
    else:
        world, s0, goal, horizon = args
    s0, goal = (np.ascontiguousarray(x, dtype=np.float64) for x in (s0, goal))
    P = s0.shape[0]
    d = world[1].shape[2] if len(world) == 3 else int(world[3][0, 2])
    zeros = np.zeros((P, int(horizon), d))
    _, gd, _, _ = evaluate(world, s0, goal, zeros, paper_cost(LAMBDA, d))
    return gd, np.sqrt(np.sum((s0 - goal) ** 2, axis=1))
