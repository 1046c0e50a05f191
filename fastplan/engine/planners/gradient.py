"""Gradient-based planning (Sec. 2.3, Eq. 7): ``a <- a - lr * grad L(a)``.

Paper values: 100 iterations, lr 0.05, forward finite differences with eps 1e-3
(``gradient="fd"``; ``"adjoint"`` gives the exact gradient).  Returns the last iterate.
Samples with finite differences: ``iterations * (T*d + 1)`` (6500 at d = h = 8); the
paper's Table 4 says 3250 (README).  See :mod:`fastplan.planners._descent`.
"""
from __future__ import annotations

from ._descent import prepare, run_descent, scratch_bytes, trace_rows_descent

__all__ = ["prepare", "run", "scratch_bytes", "trace_rows"]


def run(batch, hp, inputs):
    """Plan the batch by gradient descent; returns actions (P, T, d), samples, steps."""
    return run_descent(batch, hp, inputs, langevin=False)


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per iteration."""
    return trace_rows_descent(hp, langevin=False)
