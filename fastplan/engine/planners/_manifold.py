"""Serial building blocks of the geometry-aware planners: projecting sample columns onto the
geometry and the prior penalty of the cost.

Sample batches are the planners' structure-of-arrays ``X[t, j, i]`` (T, d, N); ``dp`` is one
problem's :class:`~fastplan.engine.geometry_density.DensityParams` (from
:func:`~fastplan.engine.geometry_stack.density_at`).  ``a``, ``b`` are (d,) scratch rows of
the calling work item (a column of X is strided; the density helpers read one contiguous
action).

The **prior-penalised cost** adds to Eq. 5 ::

    beta * (1/T) sum_t -log p_geom(a_t)                                   (prior_weight = beta)

With ``beta = 0`` (the default) no term is computed at all, so the cost is Eq. 5 bit for bit.
"""
from __future__ import annotations

from ..geometry_kernels import log_density_one, project_one
from ..jit import kernel


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


@kernel
def prior_penalty_col(dp, X, i, a):
    """``(1/T) sum_t -log p(X[t, :, i])`` of column i of X (T, d, N)."""
    T, d = X.shape[0], X.shape[1]
    s = 0.0
    for t in range(T):
        for j in range(d):
            a[j] = X[t, j, i]
        s += log_density_one(dp, a)
    return -s / T


@kernel
def add_prior_cols(dp, X, lo, hi, beta, a, cost):
    """``cost[i] += beta * (1/T) sum_t -log p(X[t, :, i])`` for i = lo..hi-1 (the prior
    penalty; call it only when beta != 0, so that beta = 0 is Eq. 5 bit for bit)."""
    for i in range(lo, hi):
        cost[i] += beta * prior_penalty_col(dp, X, i, a)


@kernel
def prior_penalty_seq(dp, actions):
    """``(1/T) sum_t -log p(a_t)`` of one sequence actions (T, d) (contiguous rows)."""
    T = actions.shape[0]
    s = 0.0
    for t in range(T):
        s += log_density_one(dp, actions[t])
    return -s / T
