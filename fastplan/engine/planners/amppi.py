"""MPPI with an adaptive temperature, beyond the paper.

The paper's MPPI (Eq. 6) weights its samples by ``softmax(-(L - min L) / temperature)`` with a
fixed temperature, so how many samples carry the update depends on the scale of the costs.
Here the temperature is set anew each iteration for a **target effective sample size**:

    c_i = (L_i - min L) / (max L - min L)          (costs scaled to [0, 1])
    w_i = exp(-c_i / eta),  ESS(eta) = (sum w)^2 / sum w^2 = ess * N

ESS grows monotonically from 1 (eta -> 0) to N (eta -> inf); eta is found by 60 bisection steps
in log eta on [1e-6, 1e6] (:func:`~._weighted.ess_weights`), serially per problem.  (We chose the
effective-sample-size rule over dividing by the cost spread alone: it fixes how concentrated
the weights are, whatever the spread of the costs within it.)  All costs equal: uniform weights.

Otherwise MPPI: ``mu <- sum_i w_i (mu + eps_i) / sum_i w_i`` (= mu + sum w eps / sum w),
eps ~ N(0, noise_std^2 I).  Two further changes: sample 0 of every iteration is the current
mean itself (eps = 0, as MuJoCo MPC's sampling planner keeps its nominal plan), and after the
last update the final mean is rolled out; the plan is the cheapest sequence evaluated.
Rollouts: ``iterations * samples + 1``.

Defaults (samples 50, iterations 40, noise_std 0.2, ess 0.05) were chosen on held-out problems
(seeds 1000-1007, d = h = 8, README "Beyond the paper"); the paper's noise 0.8 is too wide once
the plan is close.  Geometry usage as MPPI's: the initial mean is the geometry's mean
(``prior``) or 0 (``none``); a warm start replaces it.
"""
from __future__ import annotations

import numba
import numpy as np

from ..beyond import STREAM_IDS
from ._common import chunk_width, new_outputs
from ._trace import new_trace
from ._weighted import ESS_RULE, weighted_kernel, weighted_scratch_bytes


def prepare(batch, hp, usage):
    """Initial mean (P, T, d): the geometry's mean (``prior``) or 0 (``none``); a warm start
    (``batch.init_actions``) replaces it.  The spread: ``noise_std`` everywhere."""
    mean = batch.init_actions.copy() if batch.init_actions is not None else batch.prior_mean_std(usage)[0]
    return {"mu0": mean, "sig0": np.full(mean.shape, float(hp["noise_std"]))}


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per iteration and one for the final mean."""
    return int(hp["iterations"]) + 1


def run(batch, hp, inputs):
    """Run :func:`~._weighted.weighted_kernel` with the effective-sample-size rule; returns
    actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    trace = inputs.get("trace")
    weighted_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], inputs["sig0"],
                    np.ones(int(hp["iterations"])), batch.seeds, np.uint64(STREAM_IDS["amppi"]),
                    batch.cost_bundle(hp), int(hp["samples"]), True, ESS_RULE, float(hp["ess"]),
                    batch.P >= threads, chunk_width(int(hp["samples"]), batch.P, threads),
                    new_trace(batch.P, 0) if trace is None else trace, actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes of a plan (:func:`~._weighted.weighted_scratch_bytes`)."""
    return weighted_scratch_bytes(P, T, d, int(hp["samples"]), threads, n)
