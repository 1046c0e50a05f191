"""Plain NumPy twins of the four geometry-aware planners (score-guided diffusion, projected CEM,
projected MPPI, codebook CEM).

Written like :mod:`bench.numpy_beyond`: vectorised over samples, loops over iterations and time
steps only, noise from ``np.random.default_rng(seed)``.  They are the baselines of the speed
ratios in ``bench/`` and checks of the kernels: every planner takes an optional hook for its
random numbers (``normals(it, n) -> (n, T, d)``; codebook CEM ``uniforms(it, n) -> (n, T)``),
so a test can feed it fastplan's keyed numbers and compare plans at a tight tolerance
(``tests/test_numpy_geoplan.py``).

The geometry enters as its :class:`~fastplan.engine.geometry_density.DensityParams`
(``geometry.density_params()``) through the NumPy functions of
:mod:`fastplan.engine.geometry_density` (``log_density``, ``score``, ``project``: batched over
actions (..., d), independent of the Numba helpers the kernels call).  With ``beta > 0`` the
cost is Eq. 5 plus the prior penalty ``beta (1/T) sum_t -log p(a_t)`` (issue 13).
"""
from __future__ import annotations

import numpy as np

from bench.numpy_planners import LAM, NumpyResult, cost as eq5, rollout
from fastplan.engine import geometry_density as gd


def cost(A, B, b, s0, goal, X, density, lam=LAM, beta=0.0):
    """Eq. 5 of N sequences X (N, T, d), plus ``beta`` times the prior penalty when beta > 0."""
    L = eq5(A, B, b, s0, goal, X, lam)
    return L - beta * gd.log_density(density, X).mean(axis=1) if beta else L


def smallest_variance(density) -> float:
    """The geometry's smallest variance: the sparse EBM's spike variance, else the smallest
    component variance of any coordinate (the unit of score diffusion's eta)."""
    return density.spike_std ** 2 if density.kind == gd.SPARSE else float(np.min(density.std)) ** 2


def _white(seed, T, d):
    rng = np.random.default_rng(seed)
    return lambda it, n: rng.standard_normal((n, T, d))


def _best(X, L, best_a, best_L):
    i = int(np.argmin(L))
    return (X[i].copy(), float(L[i])) if L[i] < best_L else (best_a, best_L)


# --------------------------------------------------------------------------- score diffusion

def score_diffusion(A, B, b, s0, goal, a_init, density, seed=0, steps=20, noise_scale=0.3,
                    guidance=2.0, eta=1.0, lam=LAM, beta=0.0, normals=None):
    """Eq. 9 with ``eta v_min grad log p(a)`` beside the guidance g of Eq. 10, over the N samples
    a_init (N, T, d); returns the cheapest final sample (``N (steps + 1)`` rollouts)."""
    a = np.array(a_init, dtype=float)
    N, T, d = a.shape
    normals = normals or _white(seed, T, d)
    step = eta * smallest_variance(density)
    weight = (np.arange(1, T + 1) / T)[None, :, None] / T
    for k in range(steps):
        alpha = (k + 1) / steps
        sigma = noise_scale * (1 - alpha)
        s_T = rollout(A, B, b, s0, goal, a, lam)[3]
        g = -guidance * weight * ((s_T - goal) @ B)[:, None, :]          # Eq. 10: B^T (s_T - s*)
        if eta:
            g = g + step * gd.score(density, a)
        a = alpha * a + (1 - alpha) * g + sigma * normals(k, N)
    L = cost(A, B, b, s0, goal, a, density, lam, beta)
    i = int(np.argmin(L))
    return NumpyResult(a[i].copy(), float(L[i]), N * (steps + 1))


# --------------------------------------------------------------------------- projected CEM

def projected_cem(A, B, b, s0, goal, mu0, sig0, density, seed=0, population=200, iterations=10,
                  elite_fraction=0.1, lam=LAM, beta=0.0, normals=None):
    """CEM whose samples ``proj(mu + sig z)`` lie on the geometry; mean and std refit to the
    projected elites (ddof 0); returns the cheapest projected sequence evaluated."""
    T, d = mu0.shape
    normals = normals or _white(seed, T, d)
    mu, sig = np.array(mu0, dtype=float), np.array(sig0, dtype=float)
    n_elite = max(1, int(round(elite_fraction * population)))
    best_a, best_L = None, np.inf
    for it in range(iterations):
        X = gd.project(density, mu + sig * normals(it, population))
        L = cost(A, B, b, s0, goal, X, density, lam, beta)
        best_a, best_L = _best(X, L, best_a, best_L)
        elite = X[np.argsort(L, kind="stable")[:n_elite]]
        mu, sig = elite.mean(axis=0), elite.std(axis=0)
    return NumpyResult(best_a, best_L, population * iterations)


# --------------------------------------------------------------------------- projected MPPI

def projected_mppi(A, B, b, s0, goal, mu0, density, seed=0, samples=200, iterations=10,
                   noise_std=0.8, temperature=1.0, lam=LAM, beta=0.0, normals=None):
    """MPPI (Eq. 6) rolling out ``proj(mu + eps_i)``; the mean stays unconstrained; returns
    ``proj(mu)`` of the final mean and its cost (not counted, as MPPI's)."""
    T, d = mu0.shape
    normals = normals or _white(seed, T, d)
    mu = np.array(mu0, dtype=float)
    for it in range(iterations):
        eps = noise_std * normals(it, samples)
        L = cost(A, B, b, s0, goal, gd.project(density, mu + eps), density, lam, beta)
        w = np.exp(-(L - L.min()) / temperature)
        mu = mu + np.tensordot(w, eps, axes=1) / w.sum()
    plan = gd.project(density, mu)
    return NumpyResult(plan, float(cost(A, B, b, s0, goal, plan[None], density, lam, beta)[0]),
                       samples * iterations)


# --------------------------------------------------------------------------- codebook CEM

def draw_codes(probs, u):
    """Inverse CDF of the categorical laws probs (T, K) at uniforms u (N, T): codes (N, T), the
    first code whose cumulative probability exceeds u (at most the last code of positive
    probability)."""
    cdf = np.cumsum(probs, axis=1)                                     # (T, K)
    last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)  # (T,)
    return np.minimum((u[:, :, None] >= cdf[None]).sum(axis=2), last[None])


def codebook_cem(A, B, b, s0, goal, probs0, density, seed=0, population=200, iterations=10,
                 elite_fraction=0.1, lam=LAM, beta=0.0, uniforms=None):
    """CEM over the geometry's codes (its centres): a categorical law (T, K) per step, codes drawn
    by :func:`draw_codes`, refit to the elites' code shares; returns the cheapest sequence."""
    T, K = probs0.shape
    if uniforms is None:
        rng = np.random.default_rng(seed)
        uniforms = lambda it, n: rng.random((n, T))  # noqa: E731
    probs = np.array(probs0, dtype=float)
    n_elite = max(1, int(round(elite_fraction * population)))
    best_a, best_L = None, np.inf
    steps = np.arange(T)
    for it in range(iterations):
        codes = draw_codes(probs, uniforms(it, population))
        X = density.centers[codes]
        L = cost(A, B, b, s0, goal, X, density, lam, beta)
        best_a, best_L = _best(X, L, best_a, best_L)
        elite = codes[np.argsort(L, kind="stable")[:n_elite]]           # (n_elite, T)
        probs = np.zeros((T, K))
        np.add.at(probs, (np.broadcast_to(steps, elite.shape), elite), 1.0)
        probs /= n_elite
    return NumpyResult(best_a, best_L, population * iterations)


PLANNERS = {"score-diffusion": score_diffusion, "projected-cem": projected_cem,
            "projected-mppi": projected_mppi, "codebook-cem": codebook_cem}


def initial_inputs(problem, planner, seed=0, geometry_usage="prior", samples=50):
    """Starting points as fastplan uses them (those of diffusion, with ``samples`` initial
    sequences, CEM, MPPI; codebook CEM: the mixture weights at every step, or uniform), plus the
    geometry's density."""
    from bench.numpy_planners import initial_inputs as base
    density = problem.geometry.density_params()
    if planner == "codebook-cem":
        K = density.centers.shape[0]
        law = density.weights if geometry_usage == "prior" else np.full(K, 1.0 / K)
        return {"probs0": np.tile(law, (problem.T, 1)), "density": density}
    plain = {"score-diffusion": "diffusion", "projected-cem": "cem", "projected-mppi": "mppi"}[planner]
    return {**base(problem, plain, seed, geometry_usage, samples), "density": density}
