"""Floating-point operations of one plan: the world-model steps it simulated plus the planner's
own update work (our count; the GFLOP/s of the planner tables in ``bench/``).

Conventions: a multiply-add is 2 flops, every other arithmetic operation, square root,
``tanh``, ``exp`` or ``log`` 1.  Random number generation, comparisons, sorting and copies
count 0.  The count is the work fastplan's kernel does, taken from its result: ``steps`` (the
single-step world evaluations, so a finite difference that reuses the unperturbed prefix counts
only the steps it recomputes) and ``samples`` (the rollouts, each ending in Eq. 5's goal
distance).  The NumPy twins do the same algorithm, so the same count over their time is an
effective rate (their finite differences recompute whole rollouts, more work than counted).

Per world step (n states, d actions): the paper's ``tanh(A s + B a + b)`` costs
``2n^2 + 2nd + 2n``, an MLP ``sum_l (2 out_l in_l + out_l [+ out_l for a non-identity
activation])`` plus n for a residual; then the step length ``||s_t - s_{t-1}||`` 3n + 1.  Per
rollout: the goal distance and Eq. 5, 3n + 4.  The adjoint's backward step (Adam) is counted as
one forward step (``A^T u`` and ``B^T u``: the same 2n^2 + 2nd multiply-adds, as fastplan's
``steps`` counts it).  The planner's own work is :func:`update_flops`; the prior penalty
(``prior_weight`` > 0) is not counted (the bench plans with the default 0).
"""
from __future__ import annotations

import numpy as np

from fastplan.engine import geometry_density as gd

#: Bisection rounds of adaptive MPPI's temperature (fastplan.engine.planners._weighted.ESS_ROUNDS).
ESS_ROUNDS = 60


def step_flops(world) -> int:
    """Flops of one world-model step and its step length, for one sample."""
    if hasattr(world, "weights"):                      # an MLP world
        n = world.weights[-1].shape[0]
        total = n if world.residual else 0
        for W, act in zip(world.weights, world.activations):
            out, inp = W.shape
            total += 2 * out * inp + out + (out if act != "identity" else 0)
        return total + 3 * n + 1
    n, d = world.B.shape
    return 2 * n * n + 2 * n * d + 2 * n + 3 * n + 1


def terminal_flops(n: int) -> int:
    """Flops of Eq. 5 at the end of one rollout: goal distance 3n + 1, ``gd + lam path / T`` 3."""
    return 3 * n + 4


def projection_flops(density, d: int) -> int:
    """Flops of projecting one action onto the geometry (geometry_density.project)."""
    if density.projection == gd.PROJECT_TOPK:
        return d                                           # |a_j|; the selection is comparisons
    K = density.centers.shape[0]
    if density.projection == gd.PROJECT_NEAREST:
        return 3 * K * d                                   # squared distance to every code
    whiten = 2 * d * d if density.full else d              # L^-1 (a - mu) or (a - mu) / std
    return K * (3 * d + whiten + 1) + 3 * d + 1            # Mahalanobis radii, then the shrink


def score_flops(density, d: int) -> int:
    """Flops of the analytic score of one action (geometry_density.score)."""
    if density.kind == gd.SPARSE:
        k = density.k_active
        return 15 * d * k + 16 * d                         # two O(d k) log-space recursions
    K = density.centers.shape[0]
    whiten = 2 * d * d if density.full else d
    # component terms K (2d + whiten + 2), logsumexp 4K + 1, responsibilities 2K,
    # Sigma^-1 (a - mu) K whiten, weighted sum 2 K d
    return K * (4 * d + 2 * whiten + 8) + 1


def update_flops(planner: str, hp: dict, T: int, d: int, density=None) -> int:
    """The planner's own work for one plan of one problem (T steps, d actions), beyond its
    rollouts: sampling arithmetic, refits, weights, gradient updates, scores and projections.

    density : the problem's ``geometry.density_params()`` (geometry-aware planners).
    """
    D = T * d
    it = hp.get("iterations", hp.get("steps", 0))
    if planner in ("cem", "projected-cem"):
        N = hp["population"]
        E = max(1, int(round(hp["elite_fraction"] * N)))
        total = it * (2 * N * D + 4 * E * D + 3 * D)        # mu + sig z; elite mean and std
        if planner == "projected-cem":
            total += it * N * T * projection_flops(density, d)
        return total
    if planner == "codebook-cem":
        N = hp["population"]
        E = max(1, int(round(hp["elite_fraction"] * N)))
        K = density.centers.shape[0]
        return it * T * (E + K)                            # refit: counts and shares
    if planner in ("mppi", "projected-mppi", "amppi"):
        N = hp["samples"]
        total = it * (4 * N * D + 4 * N + D)               # std z, mu + eps, weights, sum w eps
        if planner == "amppi":
            total += it * N * (6 + 5 * ESS_ROUNDS)          # normalised costs, temperature bisection
        if planner == "projected-mppi":
            total += (it * N + 1) * T * projection_flops(density, d)
        return total
    if planner == "icem":
        from bench.numpy_beyond import icem_sizes
        sizes = icem_sizes(hp["population"], it, hp["elites"], hp["decay"])
        E = hp["elites"]
        per_number = 2 * T if hp["beta"] != 0 and T > 1 else 0   # coloured noise: M z
        return sum(N * D * (per_number + 2) for N in sizes) + it * (4 * E * D + 9 * D)
    if planner == "gradient":
        return it * 4 * D                                  # difference quotients, a - lr g
    if planner == "sgld":
        return it * 6 * D
    if planner == "adam":
        return it * 14 * D                                 # moments, bias corrections, step
    if planner in ("diffusion", "score-diffusion"):
        N = hp["samples"]
        # guidance B^T (s_T - s*) per sample; g_t v and alpha a + (1 - alpha) g + sigma z
        total = it * N * (2 * d * d + d + 6 * D)
        if planner == "score-diffusion" and hp["eta"] != 0:
            total += it * N * T * (score_flops(density, d) + 2 * d)
        return total
    if planner == "mbd":
        N = hp["samples"]
        return it * (2 * N * D + 6 * N + 2 * N * D + D)    # Y + c z, weights, weighted mean
    raise KeyError(f"no flop count for planner {planner!r}")


def plan_flops(planner: str, hp: dict, problems, samples, steps) -> float:
    """Flops of planning ``problems`` with ``planner`` at hyperparameters ``hp``; ``samples``
    and ``steps`` are fastplan's per-problem counts (sequences or arrays)."""
    total = 0.0
    for prob, n_roll, n_steps in zip(problems, np.atleast_1d(samples), np.atleast_1d(steps)):
        geom = prob.geometry
        density = geom.density_params() if hasattr(geom, "density_params") else None
        total += (int(n_steps) * step_flops(prob.world) + int(n_roll) * terminal_flops(len(prob.s0))
                  + update_flops(planner, hp, prob.T, prob.d, density))
    return total
