"""The geometry inside the planners' kernels: the prior-penalised cost and projections.

**Prior-penalised cost** (issue 13): ``prior_weight = beta`` adds to the cost of Eq. 5 ::

    beta * (1/T) sum_t -log p_geom(a_t)

with each problem's own geometry density.  It travels in the cost bundle: a batch's bundle is
the paper's ``(lam, running, effort, lower, upper)`` when beta = 0, and
``(lam, running, effort, lower, upper, beta, *DensityStack)`` otherwise, the 14 fields of the
stacked densities flattened into the tuple (a parallel region takes a tuple's arrays, not a
tuple nested in it; :meth:`fastplan.engine.api.Batch.cost_bundle`).  A kernel takes problem
p's bundle with ``cost_at(cost, p)``, the 7-tuple ``(lam, running, effort, lower, upper, beta,
DensityParams of p)``,
and the cost helpers of :mod:`._common` and :mod:`._descent` add the term through the
functions below.  Like :mod:`fastplan.engine.worlds.ops` they dispatch at compile time on the
bundle's type: for the paper's 5-tuple ``cost_at`` returns its argument and every prior
helper compiles to nothing, so a paper kernel contains exactly the code it had and its plans
are bit for bit the same (tests/test_golden.py).

``prior_cols(cost, X, lo, n, out)``   out[lo + i] += beta (1/T) sum_t -log p(X[t, :, lo + i])
``with_prior_seq(cost, a, L)``        L + beta (1/T) sum_t -log p(a_t) of one sequence a (T, d)
``prior_logs(cost, a)``               log p(a_t), t < T (empty for the paper's bundle)
``with_prior_fd(cost, a, logs, tt, j, delta, L)``   L + the penalty of a with a[tt, j] + delta
``add_prior_grad(cost, a, g)``        g (T, d) += -(beta/T) grad log p(a_t) (the adjoint's term)

**Projections**: :func:`project_cols` maps sample columns onto the geometry (projected CEM and
MPPI).  ``a``, ``b`` are (d,) scratch rows of the calling work item.
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from ..geometry_density import DensityParams
from ..geometry_kernels import log_density_one, project_one, score_one
from ..geometry_stack import DensityStack, density_at, density_of, stack_densities
from ..jit import kernel

#: Length of a cost bundle: the paper's; one problem's with the prior; a batch's with the prior.
PAPER_LEN, PROBLEM_LEN = 5, 7
BATCH_LEN = 6 + len(DensityStack._fields)


def prior_bundle(paper: tuple, beta: float, stack: DensityStack) -> tuple:
    """A batch's cost bundle with the prior penalty: the paper's, beta, the stack's fields."""
    return tuple(paper) + (float(beta),) + tuple(stack)


def _kind(cost) -> str:
    """'paper', 'batch' (beta and the stacked densities) or 'problem' (one DensityParams)."""
    if not isinstance(cost, types.BaseTuple):
        raise TypeError(f"not a cost bundle: {cost}")
    if len(cost) == PAPER_LEN:
        return "paper"
    if len(cost) == BATCH_LEN:
        return "batch"
    if (len(cost) == PROBLEM_LEN and isinstance(cost[6], types.NamedTuple)
            and cost[6].instance_class is DensityParams):
        return "problem"
    raise TypeError(f"not a cost bundle: {cost}")


def cost_at(cost, p):
    """Problem p's cost bundle (see the module docstring)."""
    if len(cost) == PAPER_LEN:
        return cost
    return tuple(cost[:6]) + (density_at(DensityStack(*cost[6:]), p),)


@overload(cost_at, inline="always")
def _cost_at(cost, p):
    kind = _kind(cost)
    if kind == "paper":
        return lambda cost, p: cost
    if kind == "batch":
        return lambda cost, p: (cost[0], cost[1], cost[2], cost[3], cost[4], cost[5],
                                density_of(cost[6], cost[7], cost[8], cost[9], cost[10], cost[11],
                                           cost[12], cost[13], cost[14], cost[15], cost[16],
                                           cost[17], cost[18], cost[19], p))
    raise TypeError("cost_at takes a batch's cost bundle, not one problem's")


def _problem_bundle(cost) -> bool:
    """True for one problem's prior bundle; False for the paper's (the helpers do nothing)."""
    kind = _kind(cost)
    if kind == "batch":
        raise TypeError("a prior cost helper got the batch's bundle: take cost_at(cost, p) first")
    return kind == "problem"


@kernel
def _prior_cols(beta, dp, X, lo, n, out):
    T = X.shape[0]
    for i in range(n):
        s = 0.0
        for t in range(T):
            s += log_density_one(dp, X[t, :, lo + i])
        out[lo + i] += beta * (-s / T)


def prior_cols(cost, X, lo, n, out):
    """See the module docstring (inside kernels only)."""
    raise NotImplementedError("prior_cols runs inside Numba kernels only")


@overload(prior_cols, inline="always")
def _prior_cols_ov(cost, X, lo, n, out):
    if _problem_bundle(cost):
        return lambda cost, X, lo, n, out: _prior_cols(cost[5], cost[6], X, lo, n, out)
    return lambda cost, X, lo, n, out: None


@kernel
def _penalty(dp, a):
    T = a.shape[0]
    s = 0.0
    for t in range(T):
        s += log_density_one(dp, a[t])
    return -s / T


def with_prior_seq(cost, a, L):
    """See the module docstring (inside kernels only)."""
    raise NotImplementedError("with_prior_seq runs inside Numba kernels only")


@overload(with_prior_seq, inline="always")
def _with_prior_seq(cost, a, L):
    if _problem_bundle(cost):
        return lambda cost, a, L: L + cost[5] * _penalty(cost[6], a)
    return lambda cost, a, L: L


@kernel
def _logs(dp, a):
    out = np.empty(a.shape[0])
    for t in range(a.shape[0]):
        out[t] = log_density_one(dp, a[t])
    return out


def prior_logs(cost, a):
    """See the module docstring (inside kernels only)."""
    raise NotImplementedError("prior_logs runs inside Numba kernels only")


@overload(prior_logs, inline="always")
def _prior_logs(cost, a):
    if _problem_bundle(cost):
        return lambda cost, a: _logs(cost[6], a)
    return lambda cost, a: np.empty(0)


@kernel
def _fd_penalty(dp, a, logs, tt, j, delta):
    """(1/T) sum_t -log p(a_t) with a[tt, j] moved by delta (the other steps' logs reused)."""
    T, d = a.shape
    moved = a[tt].copy()
    moved[j] += delta
    s = 0.0
    for t in range(T):
        s += log_density_one(dp, moved) if t == tt else logs[t]
    return -s / T


def with_prior_fd(cost, a, logs, tt, j, delta, L):
    """See the module docstring (inside kernels only)."""
    raise NotImplementedError("with_prior_fd runs inside Numba kernels only")


@overload(with_prior_fd, inline="always")
def _with_prior_fd(cost, a, logs, tt, j, delta, L):
    if _problem_bundle(cost):
        return lambda cost, a, logs, tt, j, delta, L: L + cost[5] * _fd_penalty(cost[6], a, logs, tt,
                                                                                j, delta)
    return lambda cost, a, logs, tt, j, delta, L: L


@kernel
def _add_grad(beta, dp, a, g):
    T, d = a.shape
    s = np.empty(d)
    for t in range(T):
        score_one(dp, a[t], s)
        for j in range(d):
            g[t, j] -= (beta / T) * s[j]


def add_prior_grad(cost, a, g):
    """See the module docstring (inside kernels only)."""
    raise NotImplementedError("add_prior_grad runs inside Numba kernels only")


@overload(add_prior_grad, inline="always")
def _add_prior_grad(cost, a, g):
    if _problem_bundle(cost):
        return lambda cost, a, g: _add_grad(cost[5], cost[6], a, g)
    return lambda cost, a, g: None


@kernel
def project_cols(dp, X, lo, hi, a, b):
    """Replace columns lo..hi-1 of X (T, d, N) by their projections onto the geometry
    (:func:`~fastplan.engine.geometry_kernels.project_one`, action by action)."""
    T, d = X.shape[0], X.shape[1]
    for i in range(lo, hi):
        for t in range(T):
            for j in range(d):
                a[j] = X[t, j, i]
            project_one(dp, a, b)
            for j in range(d):
                X[t, j, i] = b[j]


def with_densities(inputs: dict, batch, who: str) -> dict:
    """A planner's prepared inputs plus ``dens``, the stacked densities of the batch's
    geometries (:func:`~fastplan.engine.geometry_stack.stack_densities`; ``who`` names the
    planner in the error a geometry without a density gets)."""
    return {**inputs, "dens": stack_densities(batch.geometries, who)}


def density_scratch_bytes(P: int, N: int, d: int, threads: int, K: int = 8) -> int:
    """Bytes a geometry-aware planner adds for N samples: two (d,) projection / score rows per
    work item and the stacked densities (K components of d; the paper's K = 8)."""
    from ._common import chunk_width
    items = P * (-(-N // chunk_width(N, P, threads)))
    return 8 * (2 * items * d + P * K * (3 * d + 2))
