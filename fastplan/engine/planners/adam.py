"""Gradient descent with adjoint gradients and Adam (Kingma & Ba 2015), beyond the paper.

The paper's gradient planner (Eq. 7) takes plain steps along forward finite differences
(T*d + 1 rollouts per step).  Here the gradient of Eq. 5 is the exact reverse-mode one of
:func:`fastplan.engine.planners._descent.adjoint_grad` (one forward rollout and one reverse
sweep, counted as 2 rollouts), and the step is Adam's::

    m <- beta1 m + (1 - beta1) g,   v <- beta2 v + (1 - beta2) g^2
    a <- a - lr * (m / (1 - beta1^k)) / (sqrt(v / (1 - beta2^k)) + eps)        (k = 1, 2, ...)

Per-coordinate step sizes make the descent insensitive to the scale of the gradient, which
varies by orders of magnitude between problems (a saturated tanh flattens it).  The plan is
the cheapest iterate evaluated (every iterate is rolled out for its gradient anyway, and the
final one once more).  Rollouts: ``2 iterations + 1`` (2001 with the defaults).

lr 0.05 was chosen on held-out problems (seeds 1000-1007, d = h = 8: lr 0.02 / 0.05 / 0.1 /
0.2 / 0.4 ended 0.070 / 0.047 / 0.049 / 0.051 / 0.097 from the goal at 2000 rollouts).  The start
is the paper gradient planner's: one draw of the geometry per time step (``prior``), N(0, I)
(``none``), or a warm start.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from ..jit import kernel, parallel_kernel
from ..worlds import ops
from ._common import new_outputs, sequence_cost
from ._descent import adjoint_grad
from ._descent import prepare as _descent_prepare
from ._trace import new_trace, trace_row


@kernel
def adam_problem(world, s0, goal, a, cost, iterations, lr, beta1, beta2, eps, states, tape, g, m,
                 v, lam_s, lam_prev, best, best_cost, trace, p):
    """Every Adam iteration of problem p (arrays as in :func:`adam_kernel`, scratch per problem).
    Trace row k: the k-th evaluation (k = iterations: the final iterate).  The evaluation clips
    the iterate into the cost's action box, if any (projected Adam)."""
    T, d = a.shape[1], a.shape[2]
    w = ops.world_at(world, p)
    for it in range(iterations + 1):
        c = sequence_cost(w, s0[p], goal[p], a[p], cost, states[p], tape[p])
        if c < best_cost[p]:
            best_cost[p] = c
            for t in range(T):
                for j in range(d):
                    best[p, t, j] = a[p, t, j]
        trace_row(trace, p, it, best_cost[p], c, 2 * it + 1)
        if it == iterations:
            break
        adjoint_grad(w, a[p], goal[p], states[p], tape[p], cost, g[p], lam_s[p], lam_prev[p])
        c1 = 1.0 - beta1 ** (it + 1)
        c2 = 1.0 - beta2 ** (it + 1)
        for t in range(T):
            for j in range(d):
                gi = g[p, t, j]
                m[p, t, j] = beta1 * m[p, t, j] + (1.0 - beta1) * gi
                v[p, t, j] = beta2 * v[p, t, j] + (1.0 - beta2) * gi * gi
                a[p, t, j] -= lr * (m[p, t, j] / c1) / (math.sqrt(v[p, t, j] / c2) + eps)


@parallel_kernel
def adam_kernel(world, s0, goal, a0, cost, iterations, lr, beta1, beta2, eps, K, trace, out_actions,
                out_samples, out_steps):
    """Plan P problems by Adam on adjoint gradients, one problem per work item.

    world, cost : the batch's world and cost bundles; s0, goal : (P, n); a0 : (P, T, d) start;
    K : the world's tape width.  trace : (P, R, 3) with R = iterations + 1, or 0.  Writes the
    cheapest iterate to out_actions (P, T, d) and the counts: ``2 iterations + 1`` rollouts of
    T steps each.
    """
    P, T, d = a0.shape
    n = s0.shape[1]
    a = a0.copy()
    best = a0.copy()
    best_cost = np.full(P, np.inf)
    states = np.empty((P, T + 1, n))
    tape = np.empty((P, T, K))
    g = np.empty((P, T, d))
    m = np.zeros((P, T, d))
    v = np.zeros((P, T, d))
    lam_s = np.empty((P, n))
    lam_prev = np.empty((P, n))
    for p in numba.prange(P):
        adam_problem(world, s0, goal, a, cost, iterations, lr, beta1, beta2, eps, states, tape, g,
                     m, v, lam_s, lam_prev, best, best_cost, trace, p)
    for p in range(P):
        for t in range(T):
            for j in range(d):
                out_actions[p, t, j] = best[p, t, j]
        out_samples[p] = 2 * iterations + 1
        out_steps[p] = (2 * iterations + 1) * T


def prepare(batch, hp, usage):
    """Start a^(0) (P, T, d) as the paper's gradient planner: a geometry draw per time step
    (``prior``), N(0, I) (``none``), or the warm start."""
    return _descent_prepare(batch, hp, usage)


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per evaluated iterate (iterations + 1)."""
    return int(hp["iterations"]) + 1


def run(batch, hp, inputs):
    """Run :func:`adam_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    trace = inputs.get("trace")
    adam_kernel(batch.world, batch.s0, batch.goal, inputs["a0"], batch.cost_bundle(hp),
                int(hp["iterations"]), float(hp["lr"]), float(hp["beta1"]), float(hp["beta2"]),
                float(hp["eps"]), max(int(batch.tape_width), 1),
                new_trace(batch.P, 0) if trace is None else trace, actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`adam_kernel` allocate (a0, a, best, g, m, v (P, T, d);
    states (P, T+1, n); tape (P, T, K); the adjoint's vectors)."""
    n = d if n is None else n
    K = n if K is None else K
    return 8 * (6 * P * T * d + P * T * K + P * (T + 1) * n + 2 * P * n + P)
