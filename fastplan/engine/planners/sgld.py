"""Stochastic Gradient Langevin Dynamics (Sec. 2.3, Eq. 8).

``a <- a - step * grad L(a) + noise * xi`` with step 0.01 and 200 iterations.  The paper
writes the noise as ``sqrt(2 step / beta) xi`` "calibrated to 0.005": we read 0.005 as the
standard deviation of the noise term itself (beta = 2 * 0.01 / 0.005^2 = 800).  The
cheapest iterate visited is returned.  Samples with finite differences:
``iterations * (T*d + 1) + 1`` (13001 at d = h = 8; the paper's Table 4 says 3250).
"""
from __future__ import annotations

from ._descent import prepare, run_descent, scratch_bytes, trace_rows_descent

__all__ = ["prepare", "run", "scratch_bytes", "trace_rows"]


def run(batch, hp, inputs):
    """Plan the batch by SGLD; returns actions (P, T, d), samples, steps."""
    return run_descent(batch, hp, inputs, langevin=True)


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per iteration, and one for the final evaluation."""
    return trace_rows_descent(hp, langevin=True)
