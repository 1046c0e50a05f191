"""Plain NumPy references of the four planners beyond the paper (iCEM, adaptive MPPI, Adam with
adjoint gradients, model-based diffusion).

Written like :mod:`bench.numpy_planners`: vectorised over samples, loops over iterations and time
steps only, noise from ``np.random.default_rng(seed)``.  They are the baselines of the speed
ratios in ``bench/`` and independent checks of the kernels: every planner takes an optional
``normals(it, n) -> (n, T, d)`` hook, so a test can feed it fastplan's keyed normal numbers
and compare plans to a tight tolerance.  Each returns :class:`NumpyResult` plus a trace
(``best``, ``mean``, ``rollouts`` per row, the rows the kernels write).

Derived independently of the kernels: the coloured-noise map comes from ``np.fft.irfft``
(Timmer & Koenig 1995, as the ``colorednoise`` package does), the adjoint gradient from the
chain rule written with NumPy matrix products, the diffusion schedule from its integral.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bench.numpy_planners import LAM, NumpyResult, cost, rollout


class Traced(NamedTuple):
    """A NumPy plan and its trace rows ``(best so far, mean cost, cumulative rollouts)``."""

    result: NumpyResult
    trace: np.ndarray


def _white(seed, T, d):
    rng = np.random.default_rng(seed)
    return lambda it, n: rng.standard_normal((n, T, d))


# --------------------------------------------------------------------------- iCEM

def coloured_noise_matrix(beta: float, T: int) -> np.ndarray:
    """(T, T) map M from T standard normals to a length-T Gaussian sequence with power spectrum
    proportional to f^-beta and unit variance per step (Timmer & Koenig 1995).

    Built with ``np.fft.irfft``: column c is the inverse real FFT of the spectrum whose c-th real
    degree of freedom is 1 (DC real part, then (Re, Im) of frequency 1, 2, ..., the Nyquist real
    part for even T), weighted by ``f^(-beta/2)`` with ``f_0 := f_1`` (``colorednoise``'s
    ``fmin = 1/T``).  beta = 0 gives the identity (white noise, drawn as is).
    """
    if beta == 0:
        return np.eye(T)
    K = T // 2 + 1
    f = np.arange(K) / T
    f[0] = f[1]
    scale = f ** (-beta / 2.0)
    cols = []
    for k in range(K):
        parts = ("re",) if k == 0 or (T % 2 == 0 and k == K - 1) else ("re", "im")
        for part in parts:
            spec = np.zeros(K, dtype=complex)
            spec[k] = scale[k] * (1.0 if part == "re" else 1j)
            if k == 0 or (T % 2 == 0 and k == K - 1):
                spec[k] *= np.sqrt(2.0)            # the two real degrees of freedom at 0 and T/2
            cols.append(np.fft.irfft(spec, n=T))
    M = np.stack(cols, axis=1)
    return M / np.sqrt((M ** 2).sum(axis=1, keepdims=True))


def icem_sizes(population: int, iterations: int, elites: int, decay: float) -> list:
    """Population of each iteration: N, then ``max(2 elites, int(N_prev / decay))`` (iCEM)."""
    sizes = [population]
    for _ in range(1, iterations):
        sizes.append(max(2 * elites, int(sizes[-1] / decay)))
    return sizes


def icem(A, B, b, s0, goal, mu0, sig0, seed=0, population=200, iterations=10, elites=20,
         keep_fraction=0.3, decay=1.25, beta=2.0, momentum=0.1, lam=LAM, normals=None):
    """iCEM (Pinneri et al. 2020) on one problem: coloured noise, kept elites, decaying population,
    momentum on mean and std, the mean as a sample of the last iteration; returns the cheapest
    sequence evaluated.  Kept elites carry their cost (a deterministic model), so they cost no
    rollout."""
    T, d = mu0.shape
    normals = normals or _white(seed, T, d)
    M = coloured_noise_matrix(beta, T)
    mu, sig = np.array(mu0, float), np.array(sig0, float)
    kept_X, kept_L = np.empty((0, T, d)), np.empty(0)
    best_a, best_L, n, rows = None, np.inf, 0, []
    n_keep = int(keep_fraction * elites)
    for it, N in enumerate(icem_sizes(population, iterations, elites, decay)):
        X = mu + sig * np.einsum("tk,nkj->ntj", M, normals(it, N))
        if it == iterations - 1:
            X[0] = mu
        L = cost(A, B, b, s0, goal, X, lam)
        n += N
        i = int(np.argmin(L))
        if L[i] < best_L:
            best_a, best_L = X[i].copy(), float(L[i])
        rows.append((best_L, float(L.mean()), n))
        allX, allL = np.concatenate([X, kept_X]), np.concatenate([L, kept_L])
        order = np.argsort(allL, kind="stable")[:elites]
        E = allX[order]
        mu = (1 - momentum) * E.mean(axis=0) + momentum * mu
        sig = (1 - momentum) * E.std(axis=0) + momentum * sig
        kept_X, kept_L = E[:n_keep], allL[order[:n_keep]]
    return Traced(NumpyResult(best_a, best_L, n), np.array(rows))


# --------------------------------------------------------------------------- adaptive MPPI

def ess_temperature(c: np.ndarray, target: float, rounds: int = 60) -> float:
    """Temperature eta (in units of the cost spread) whose weights ``exp(-c / eta)`` have an
    effective sample size ``(sum w)^2 / sum w^2`` of ``target``; ``c`` >= 0 with max 1.
    Bisection in log eta on [1e-6, 1e6] (ESS grows with eta)."""
    lo, hi = np.log(1e-6), np.log(1e6)
    for _ in range(rounds):
        mid = 0.5 * (lo + hi)
        w = np.exp(-c / np.exp(mid))
        if w.sum() ** 2 / (w ** 2).sum() < target:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def amppi(A, B, b, s0, goal, mu0, seed=0, samples=200, iterations=10, noise_std=0.8, ess=0.1,
          lam=LAM, normals=None):
    """MPPI with the temperature set each iteration for an effective sample size of ``ess * N``;
    sample 0 is the current mean (no perturbation); the final mean is evaluated; returns the
    cheapest sequence evaluated."""
    T, d = mu0.shape
    normals = normals or _white(seed, T, d)
    mu = np.array(mu0, float)
    best_a, best_L, n, rows = None, np.inf, 0, []
    for it in range(iterations):
        eps = noise_std * normals(it, samples)
        eps[0] = 0.0
        X = mu + eps
        L = cost(A, B, b, s0, goal, X, lam)
        n += samples
        i = int(np.argmin(L))
        if L[i] < best_L:
            best_a, best_L = X[i].copy(), float(L[i])
        rows.append((best_L, float(L.mean()), n))
        spread = L.max() - L.min()
        if spread > 0:
            c = (L - L.min()) / spread
            w = np.exp(-c / ess_temperature(c, ess * samples))
        else:
            w = np.ones(samples)
        mu = mu + np.tensordot(w, eps, axes=1) / w.sum()
    L = float(cost(A, B, b, s0, goal, mu[None], lam)[0])
    n += 1
    if L < best_L:
        best_a, best_L = mu, L
    rows.append((best_L, L, n))
    return Traced(NumpyResult(best_a, best_L, n), np.array(rows))


# --------------------------------------------------------------------------- Adam (adjoint)

def adjoint_gradient(A, B, b, s0, goal, a, lam=LAM):
    """Cost (Eq. 5) of one sequence a (T, d) and its exact gradient by the chain rule."""
    T, d = a.shape
    s = [np.asarray(s0, float)]
    for t in range(T):
        s.append(np.tanh(A @ s[-1] + B @ a[t] + b))
    steps = [s[t + 1] - s[t] for t in range(T)]
    norms = [np.linalg.norm(x) for x in steps]
    gap = s[T] - goal
    dist = np.linalg.norm(gap)
    L = dist + lam * sum(norms) / T
    g = np.zeros((T, d))
    dLds = gap / dist if dist > 0 else np.zeros(d)            # dL/ds_T, terminal term
    for t in range(T, 0, -1):
        e = steps[t - 1] / norms[t - 1] if norms[t - 1] > 0 else np.zeros(d)
        dLds = dLds + lam / T * e                             # path term: + d||s_t - s_{t-1}|| / ds_t
        du = dLds * (1.0 - s[t] ** 2)                         # through tanh
        g[t - 1] = B.T @ du
        dLds = A.T @ du - lam / T * e                         # to s_{t-1}: dynamics and path term
    return float(L), g


def adam(A, B, b, s0, goal, a0, iterations=100, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, lam=LAM):
    """Adam on Eq. 5 with adjoint gradients from a0 (T, d); returns the cheapest iterate.

    Each iteration evaluates the iterate (1 rollout) and back-propagates (1 rollout); the final
    iterate is evaluated too: 2 iterations + 1 rollouts.
    """
    a = np.array(a0, float)
    m, v = np.zeros_like(a), np.zeros_like(a)
    best_a, best_L, n, rows = None, np.inf, 0, []
    for it in range(iterations):
        L, g = adjoint_gradient(A, B, b, s0, goal, a, lam)
        if L < best_L:
            best_a, best_L = a.copy(), L
        rows.append((best_L, L, n + 1))
        n += 2
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        a = a - lr * (m / (1 - beta1 ** (it + 1))) / (np.sqrt(v / (1 - beta2 ** (it + 1))) + eps)
    L = float(cost(A, B, b, s0, goal, a[None], lam)[0])
    n += 1
    if L < best_L:
        best_a, best_L = a, L
    rows.append((best_L, L, n))
    return Traced(NumpyResult(best_a, best_L, n), np.array(rows))


# --------------------------------------------------------------------------- model-based diffusion

def mbd_levels(steps: int, beta0=1e-4, beta1=1e-2, horizon=100) -> np.ndarray:
    """Noise levels sigma_k, k = 0..steps-1 (noisiest first): Pan et al.'s linear-beta schedule
    (beta from beta0 to beta1 over ``horizon`` steps) in continuous time,
    ``sigma(tau) = sqrt(1 - exp(-horizon * (beta0 tau + (beta1 - beta0) tau^2 / 2)))``,
    sampled at ``tau = (steps - k) / steps``."""
    tau = (steps - np.arange(steps)) / steps
    return np.sqrt(1.0 - np.exp(-horizon * (beta0 * tau + 0.5 * (beta1 - beta0) * tau ** 2)))


def mbd(A, B, b, s0, goal, mean0, std0, seed=0, samples=50, steps=20, temperature=0.1, noise=1.0,
        lam=LAM, normals=None):
    """Model-based diffusion (Pan et al. 2024) on one problem.

    At level k, Y0 samples ~ N(Ybar, (noise sigma_k std0)^2) are rolled out; the Monte-Carlo
    estimate of E[Y0 | Y_k] weights them by softmax(-(L - mean L) / std L / temperature), and the
    reverse step with that score leaves ``Ybar_{k+1} = sum_i w_i Y0_i``.  The final Ybar is
    evaluated; returns the cheapest sequence evaluated (``steps * samples + 1`` rollouts).
    """
    T, d = mean0.shape
    normals = normals or _white(seed, T, d)
    Y = np.array(mean0, float)
    best_a, best_L, n, rows = None, np.inf, 0, []
    for k, sigma in enumerate(mbd_levels(steps)):
        X = Y + noise * sigma * std0 * normals(k, samples)
        L = cost(A, B, b, s0, goal, X, lam)
        n += samples
        i = int(np.argmin(L))
        if L[i] < best_L:
            best_a, best_L = X[i].copy(), float(L[i])
        rows.append((best_L, float(L.mean()), n))
        sd = L.std()
        z = -(L - L.mean()) / (sd if sd > 1e-12 else 1.0) / temperature
        w = np.exp(z - z.max())
        Y = np.tensordot(w, X, axes=1) / w.sum()
    L = float(cost(A, B, b, s0, goal, Y[None], lam)[0])
    n += 1
    if L < best_L:
        best_a, best_L = Y, L
    rows.append((best_L, L, n))
    return Traced(NumpyResult(best_a, best_L, n), np.array(rows))


PLANNERS = {"icem": icem, "amppi": amppi, "adam": adam, "mbd": mbd}
