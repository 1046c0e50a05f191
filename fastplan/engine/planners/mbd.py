"""Model-based diffusion (Pan et al. 2024, "Model-Based Diffusion for Trajectory Optimization"),
beyond the paper.

The target distribution of the action sequence is ``p_0(Y) ~ exp(-L(Y) / temperature)``.  Its
diffusion is reversed over noise levels ``sigma_K > ... > sigma_1`` with a score estimated by
Monte Carlo from rollouts of the model instead of a trained network.  At level k, with the
current estimate ``Ybar`` of the clean sequence:

    Y0_i = Ybar + noise * sigma_k * std * xi_i,   xi_i ~ N(0, I),  i = 1..samples
    w_i  = softmax_i(-(L_i - mean L) / (std L * temperature))       (costs standardised)
    Ybar <- sum_i w_i Y0_i

The score estimate ``(-Y_k + sqrt(abar_k) Ybar) / (1 - abar_k)`` inserted into the reverse step
``Y_{k-1} = (Y_k + (1 - abar_k) score) / sqrt(alpha_k)`` gives ``Y_{k-1} / sqrt(abar_{k-1}) = Ybar``
exactly, so the kernel updates Ybar directly (as the authors' ``mbd_planner.py`` does in effect).

**Schedule.** Pan et al.'s linear beta (1e-4 to 1e-2 over 100 steps) in continuous time:
``sigma(tau) = sqrt(1 - exp(-100 (1e-4 tau + (1e-2 - 1e-4) tau^2 / 2)))``, sampled at
``tau = (steps - k) / steps`` for k = 0..steps-1 (:func:`noise_levels`; from 0.63 down to
0.042 at 20 steps).  The budget therefore changes the number of levels, not their range.
``std`` is the geometry's per-coordinate std under ``prior`` (1 under ``none``), so the noise is
on the prior's scale; ``noise`` (0.5) scales it.  Ybar starts at the geometry's mean (``prior``),
0 (``none``, the authors' start), or a warm start.

The final Ybar is rolled out too; the plan is the cheapest sequence evaluated.  Rollouts:
``steps * samples + 1`` (1051 with the defaults 21 x 50, the paper's diffusion budget).
No clipping: the latent actions are unbounded.
"""
from __future__ import annotations

import numba
import numpy as np

from ..beyond import STREAM_IDS
from ._common import chunk_width, new_outputs
from ._trace import new_trace
from ._weighted import ZSCORE_RULE, weighted_kernel, weighted_scratch_bytes

#: Pan et al.'s schedule: beta from BETA0 to BETA1 over SCHEDULE_STEPS steps.
BETA0, BETA1, SCHEDULE_STEPS = 1e-4, 1e-2, 100


def noise_levels(steps: int) -> np.ndarray:
    """sigma_k for k = 0..steps-1, noisiest first (module docstring), shape (steps,)."""
    tau = (steps - np.arange(steps, dtype=np.float64)) / steps
    integral = SCHEDULE_STEPS * (BETA0 * tau + 0.5 * (BETA1 - BETA0) * tau * tau)
    return np.sqrt(-np.expm1(-integral))


def prepare(batch, hp, usage):
    """Start Ybar (P, T, d): the geometry's mean (``prior``) or 0 (``none``), or the warm start;
    and the noise scale (P, T, d): the geometry's per-coordinate std (``prior``) or 1."""
    mean, std = batch.prior_mean_std(usage)
    if batch.init_actions is not None:
        mean = batch.init_actions.copy()
    return {"mu0": mean, "std0": std}


def trace_rows(hp, T, d) -> int:
    """Trace rows of one plan: one per noise level and one for the final Ybar."""
    return int(hp["steps"]) + 1


def run(batch, hp, inputs):
    """Run :func:`~._weighted.weighted_kernel` with standardised-cost weights over the noise
    levels ``noise * sigma_k``; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    threads = numba.get_num_threads()
    trace = inputs.get("trace")
    levels = float(hp["noise"]) * noise_levels(int(hp["steps"]))
    weighted_kernel(batch.world, batch.s0, batch.goal, inputs["mu0"], inputs["std0"], levels,
                    batch.seeds, np.uint64(STREAM_IDS["mbd"]), batch.cost_bundle(hp),
                    int(hp["samples"]), False, ZSCORE_RULE, float(hp["temperature"]),
                    batch.P >= threads, chunk_width(int(hp["samples"]), batch.P, threads),
                    new_trace(batch.P, 0) if trace is None else trace, actions, samples, steps)
    return actions, samples, steps


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes of a plan (:func:`~._weighted.weighted_scratch_bytes`)."""
    return weighted_scratch_bytes(P, T, d, int(hp["samples"]), threads, n)
