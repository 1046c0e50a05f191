"""Per-iteration trace rows written by the planner kernels (:mod:`fastplan.engine.trace`).

A kernel receives ``trace`` of shape (P, R, 3) (R = 0: no trace, nothing is written) and writes
row r of problem p as (best cost so far, mean cost of the row's evaluations, cumulative
rollouts).  Writing a trace only reads the planner's numbers: plans do not change.
"""
from __future__ import annotations

import numpy as np

from ..jit import kernel


@kernel
def trace_row(trace, p, r, best, mean, done):
    """Write trace row r of problem p (nothing when the kernel records no trace)."""
    if r < trace.shape[1]:
        trace[p, r, 0] = best
        trace[p, r, 1] = mean
        trace[p, r, 2] = done


@kernel
def trace_samples(trace, L, n, best, r, done, p):
    """Row r of problem p after n samples with costs L[p, :n]: ``best[p]`` (the trace's own
    best so far, (P,)) lowered to their minimum, their mean (in index order), ``done`` rollouts."""
    if r >= trace.shape[1]:
        return
    total = 0.0
    for i in range(n):
        total += L[p, i]
        if L[p, i] < best[p]:
            best[p] = L[p, i]
    trace_row(trace, p, r, best[p], total / n, done)


#: The trace argument of a kernel that records none.
NO_TRACE = np.empty((0, 0, 3))


def new_trace(P: int, rows: int) -> np.ndarray:
    """A kernel's trace argument: (P, rows, 3) of NaN (rows = 0: no trace)."""
    return np.full((P, int(rows), 3), np.nan)


@kernel
def descent_row(trace, r, base, best, rollouts, item_rollouts, G, p):
    """Row r of a descent (gradient, SGLD) of problem p: the iterate's cost ``base[p]``, the
    trace's best so far ``best[p]`` lowered to it, and the rollouts counted so far (the
    problem's own plus its G finite-difference groups')."""
    if r >= trace.shape[1]:
        return
    if base[p] < best[p]:
        best[p] = base[p]
    done = rollouts[p]
    for q in range(G):
        done += item_rollouts[p * G + q]
    trace_row(trace, p, r, best[p], base[p], done)
