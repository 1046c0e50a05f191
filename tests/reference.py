"""Plain-NumPy reference implementations, written from the paper, for testing fastplan.

Nothing here imports fastplan: every function is an independent re-derivation of the
paper's equations (or, for the random numbers, of the scheme documented in
``fastplan/rng.py``), written for clarity rather than speed.  Tests compare fastplan's
compiled kernels against these functions with explicit tolerances; other test files
(planners, benchmarks) import them too.

Contents
--------
``ref_words``, ``ref_uniforms``, ``ref_normals``
    Counter-based SplitMix64 random numbers addressed by (seed, stream, index), with the
    Box-Muller transform built on ``ref_log_unit`` and ``ref_sincos_turns`` (Cephes).
``ref_rollout``
    World model (Eq. 4), cost (Eq. 5) and smoothness (Eq. 11) for one problem.
``ref_effective_dimension``, ``ref_mean_pairwise_distance``, ``ref_concentration``,
``ref_amenability``
    Geometry metrics of Sec. 2.4 (Eq. 13, r-bar, c, Eq. 12).
"""
from __future__ import annotations

import math

import numpy as np

# ---------------------------------------------------------------------------------------
# Random numbers: SplitMix64 in random-access form (the scheme documented in fastplan/rng.py)
# ---------------------------------------------------------------------------------------

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_32 = 4294967296.0


def ref_mix(z):
    """Stafford's Mix13 finalizer applied elementwise to uint64 ``z`` (scalar or array)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def ref_key(seed: int, stream: int) -> np.uint64:
    """Key of a stream: ``mix(mix(seed ^ GOLDEN) ^ stream)`` as ``np.uint64``."""
    return np.uint64(ref_mix(ref_mix(np.uint64(seed) ^ GOLDEN) ^ np.uint64(stream)))


def ref_stream_id(tag: int, a: int = 0, b: int = 0) -> int:
    """Stream number ``tag << 48 | a << 24 | b`` (tag < 2**16, a, b < 2**24)."""
    return (tag << 48) | (a << 24) | b


def ref_words(seed: int, stream: int, n: int, start: int = 0) -> np.ndarray:
    """Raw 64-bit words ``start .. start+n-1``: ``word(i) = mix(key + (i + 1) * GOLDEN)``, shape (n,)."""
    k = ref_key(seed, stream)
    i = np.arange(start, start + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return ref_mix(k + (i + np.uint64(1)) * GOLDEN)


def ref_uniforms(seed: int, stream: int, n: int) -> np.ndarray:
    """``n`` uniforms in [0, 1) with 53-bit resolution: ``(word >> 11) / 2**53``, shape (n,)."""
    return (ref_words(seed, stream, n) >> np.uint64(11)).astype(np.float64) * (1.0 / 2.0**53)


# Cephes coefficients (S. L. Moshier, Cephes Math Library: log.c, sin.c), the elementary
# functions fastplan's Box-Muller transform is documented to use (fastplan/rng.py).
_LOG_P = (1.01875663804580931796e-4, 4.97494994976747001425e-1, 4.70579119878881725854e0,
          1.44989225341610930846e1, 1.79368678507819816313e1, 7.70838733755885391666e0)
_LOG_Q = (1.12873587189167450590e1, 4.52279145837532221105e1, 8.29875266912776603211e1,
          7.11544750618563894466e1, 2.31251620126765340583e1)
_SQRT_HALF = 0.70710678118654752440
_LN2_HI, _LN2_LO = 0.693359375, 2.121944400546905827679e-4
_SIN = (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
        -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)
_COS = (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
        2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)
_HALF_PI = 1.5707963267948966


def ref_log_unit(x):
    """Natural log of x in [2**-63, 1], Cephes log.c, elementwise in plain IEEE arithmetic.

    ``x = m 2^e`` with m in [sqrt(1/2), sqrt(2)) found by exact power-of-two scalings;
    ``log x = e ln2 + log1p(m - 1)`` with Cephes' rational approximation of log1p.
    """
    x = np.array(x, dtype=np.float64)
    e = np.zeros_like(x)
    for bound, scale, step in [(2.0**-32, 2.0**32, 32.0), (2.0**-16, 2.0**16, 16.0),
                               (2.0**-8, 2.0**8, 8.0), (2.0**-4, 2.0**4, 4.0),
                               (2.0**-2, 2.0**2, 2.0), (2.0**-1, 2.0, 1.0)]:
        small = x < bound
        x = np.where(small, x * scale, x)
        e = np.where(small, e - step, e)
    low = x < _SQRT_HALF
    e = np.where(low, e - 1.0, e)
    x = np.where(low, (x + x) - 1.0, x - 1.0)
    z = x * x
    P, Q = _LOG_P, _LOG_Q
    p = ((((P[0] * x + P[1]) * x + P[2]) * x + P[3]) * x + P[4]) * x + P[5]
    q = ((((x + Q[0]) * x + Q[1]) * x + Q[2]) * x + Q[3]) * x + Q[4]
    y = x * (z * p / q)
    y = y - e * _LN2_LO
    y = y - 0.5 * z
    return (x + y) + e * _LN2_HI


def ref_sincos_turns(u):
    """(sin 2 pi u, cos 2 pi u) for u in [0, 1), elementwise (Cephes sin.c / cos polynomials).

    Reduction to the nearest quarter turn q: ``2 pi u = q pi/2 + x`` with |x| <= pi/4,
    then sin/cos of x by polynomials and a swap/sign by q mod 4.
    """
    u = np.asarray(u, dtype=np.float64)
    v = 4.0 * u
    q = np.floor(v + 0.5)
    x = (v - q) * _HALF_PI
    z = x * x
    S, C = _SIN, _COS
    sp = ((((S[0] * z + S[1]) * z + S[2]) * z + S[3]) * z + S[4]) * z + S[5]
    s = x + x * (z * sp)
    cp = ((((C[0] * z + C[1]) * z + C[2]) * z + C[3]) * z + C[4]) * z + C[5]
    c = (1.0 - 0.5 * z) + (z * z) * cp
    k = q - 4.0 * np.floor(q * 0.25)
    sin_v = np.select([k == 1.0, k == 2.0, k == 3.0], [c, -s, -c], s)
    cos_v = np.select([k == 1.0, k == 2.0, k == 3.0], [-s, -c, s], c)
    return sin_v, cos_v


def ref_normals(seed: int, stream: int, n: int, start: int = 0) -> np.ndarray:
    """Standard normals ``start .. start+n-1`` of (seed, stream), shape (n,).

    Box-Muller on pairs: normals ``2i`` and ``2i+1`` share ``word(i)``; its high 32 bits
    give ``u1 = (hi + 0.5) / 2**32`` and its low 32 bits ``u2 = lo / 2**32``; then
    ``z_{2i} = r cos(2 pi u2)``, ``z_{2i+1} = r sin(2 pi u2)`` with ``r = sqrt(-2 log u1)``,
    ``log`` and ``sin``/``cos`` being :func:`ref_log_unit` and :func:`ref_sincos_turns`.
    """
    if n <= 0:
        return np.zeros(0)
    first, last = start // 2, (start + n - 1) // 2
    w = ref_words(seed, stream, last - first + 1, start=first)
    u1 = ((w >> np.uint64(32)).astype(np.float64) + 0.5) * (1.0 / _TWO_POW_32)
    u2 = (w & np.uint64(0xFFFFFFFF)).astype(np.float64) * (1.0 / _TWO_POW_32)
    r = np.sqrt(-2.0 * ref_log_unit(u1))
    sin_v, cos_v = ref_sincos_turns(u2)
    pairs = np.empty(2 * w.size)
    pairs[0::2] = r * cos_v
    pairs[1::2] = r * sin_v
    offset = start - 2 * first
    return pairs[offset:offset + n]


# ---------------------------------------------------------------------------------------
# World model, cost and smoothness (Eq. 4, 5, 11)
# ---------------------------------------------------------------------------------------

def ref_rollout(A, B, b, s0, goal, actions, lam=0.1):
    """Roll out N action sequences of one problem through Eq. 4 and score them.

    Parameters
    ----------
    A, B : array, shape (d, d)
    b, s0, goal : array, shape (d,)
    actions : array, shape (N, T, d)
        ``actions[i, t - 1]`` is ``a_t`` of sequence ``i``.
    lam : float
        Smoothness weight lambda of Eq. 5.

    Returns
    -------
    cost : ndarray, shape (N,)
        Eq. 5: ``||s_T - s*|| + lam * (1/T) * sum_t ||s_t - s_{t-1}||``.
    goal_distance : ndarray, shape (N,)
        ``||s_T - s*||_2``.
    smoothness : ndarray, shape (N,)
        Eq. 11: ``(1/T) * sum_{t=1..T} ||s_t - s_{t-1}||_2``.
    states : ndarray, shape (N, T + 1, d)
        ``s_0 .. s_T`` with ``s_{t} = tanh(A s_{t-1} + B a_t + b)`` (Eq. 4).
    """
    A, B = np.asarray(A, float), np.asarray(B, float)
    b, s0, goal = np.asarray(b, float), np.asarray(s0, float), np.asarray(goal, float)
    a = np.asarray(actions, float)
    N, T, d = a.shape
    states = np.empty((N, T + 1, d))
    states[:, 0] = s0
    path = np.zeros(N)
    for t in range(T):
        s_prev = states[:, t]
        s_next = np.tanh(s_prev @ A.T + a[:, t] @ B.T + b)     # Eq. 4, row-wise
        states[:, t + 1] = s_next
        path += np.linalg.norm(s_next - s_prev, axis=1)
    goal_distance = np.linalg.norm(states[:, T] - goal, axis=1)
    smoothness = path / T                                      # Eq. 11
    cost = goal_distance + lam * smoothness                    # Eq. 5
    return cost, goal_distance, smoothness, states


# ---------------------------------------------------------------------------------------
# Geometry metrics (Sec. 2.4)
# ---------------------------------------------------------------------------------------

def _population_cov(x):
    """Sample covariance with 1/n normalisation, shape (d, d), of samples ``x`` (n, d)."""
    x = np.asarray(x, float)
    dev = x - x.mean(axis=0)
    return dev.T @ dev / x.shape[0]


def ref_effective_dimension(x) -> float:
    """Participation ratio (Eq. 13) of the covariance of samples ``x`` (n, d).

    ``(sum_i lambda_i)^2 / sum_i lambda_i^2`` computed without an eigendecomposition, as
    ``trace(C)^2 / ||C||_F^2`` (for symmetric C, ``sum lambda^2 = trace(C^2) = ||C||_F^2``).
    The ratio does not depend on the 1/n vs 1/(n-1) normalisation.  NaN when C = 0.
    """
    C = _population_cov(x)
    frob2 = float(np.sum(C * C))
    if frob2 == 0.0:
        return float("nan")
    return float(np.trace(C) ** 2 / frob2)


def ref_mean_pairwise_distance(x) -> float:
    """Mean Euclidean distance over all unordered pairs i < j of samples ``x`` (n, d)."""
    x = np.asarray(x, float)
    n, d = x.shape
    block = max(1, 2**21 // (n * d))   # keeps the (block, n, d) difference array ~16 MB
    total = 0.0
    for lo in range(0, n, block):
        xb = x[lo:lo + block]
        dist = np.sqrt(np.sum((xb[:, None, :] - x[None, :, :]) ** 2, axis=2))  # (block, n)
        total += float(np.sum(dist))
    return total / 2.0 / (n * (n - 1) / 2.0)   # every pair counted twice, diagonal is 0


def ref_concentration(x) -> float:
    """Fraction of samples ``x`` (n, d) with ``||x - mean||_2 <= 2 * sqrt(trace(cov) / d)``.

    The definition documented in ``fastplan/metrics.py`` (``cov`` with 1/n normalisation).
    """
    x = np.asarray(x, float)
    C = _population_cov(x)
    sigma_bar = math.sqrt(np.trace(C) / x.shape[1])
    radius = np.linalg.norm(x - x.mean(axis=0), axis=1)
    return float(np.count_nonzero(radius <= 2.0 * sigma_bar) / x.shape[0])


def ref_amenability(c: float, d_eff: float, d: int, r_bar: float) -> float:
    """Planning amenability, Eq. 12: ``0.4 c + 0.3 (1 - d_eff/d) + 0.3 (1 + r_bar/sqrt(d))^-1``."""
    return 0.4 * c + 0.3 * (1.0 - d_eff / d) + 0.3 * (1.0 + r_bar / math.sqrt(d)) ** -1


# ---------------------------------------------------------------------------------------
# Geometry-aware planners (issue 13): fastplan's random streams, NumPy densities
# ---------------------------------------------------------------------------------------

PLAN_NOISE, PLAN_CODES = 11, 21      # purpose tags of fastplan.engine.rng


def ref_prior_penalty(geometry, actions):
    """``(1/T) sum_t -log p(a_t)`` of N sequences (N, T, d) under the geometry's NumPy density."""
    return -np.mean(geometry.log_density(actions), axis=-1)


def ref_cost(problem, actions, lam=0.1, beta=0.0):
    """Eq. 5 of N sequences (N, T, d), plus ``beta`` times the prior penalty when beta != 0."""
    w = problem.world
    cost = ref_rollout(w.A, w.B, w.b, problem.s0, problem.goal, actions, lam)[0]
    return cost + beta * ref_prior_penalty(problem.geometry, actions) if beta else cost


def ref_smallest_variance(geometry):
    """The geometry's smallest variance (mixtures: min std^2; sparse EBM: spike variance)."""
    p = geometry.density_params()
    return p.spike_std ** 2 if p.kind == 1 else float(np.min(p.std)) ** 2


def ref_score_diffusion(problem, a0, seed, steps, noise_scale, guidance, eta, lam=0.1, beta=0.0):
    """Eq. 9 with ``eta v_min grad log p(a)`` beside the guidance g of Eq. 10, over N samples
    a0 (N, T, d); noise ``normal(i T d + t d + j)`` of stream (seed, PLAN_NOISE, k); returns
    the cheapest final sample (T, d)."""
    w, geom = problem.world, problem.geometry
    a = np.array(a0, dtype=float)
    N, T, d = a.shape
    v_min = ref_smallest_variance(geom)
    for k in range(steps):
        alpha = (k + 1) / steps
        sigma = noise_scale * (1 - alpha)
        s_T = ref_rollout(w.A, w.B, w.b, problem.s0, problem.goal, a, lam)[3][:, -1]
        v = (s_T - problem.goal) @ w.B                              # B^T (s_T - s*)
        g = -guidance * (np.arange(1, T + 1) / T)[None, :, None] * v[:, None, :] / T
        prior = eta * v_min * geom.score(a) if eta else 0.0
        z = ref_normals(seed, ref_stream_id(PLAN_NOISE, k, 0), N * T * d).reshape(N, T, d)
        a = alpha * a + (1 - alpha) * (g + prior) + sigma * z
    return a[int(np.argmin(ref_cost(problem, a, lam, beta)))]


def ref_projected_cem(problem, mu0, sig0, seed, population, iterations, elite_fraction, lam=0.1,
                      beta=0.0, project=True):
    """CEM (diagonal Gaussian, elites refit with ddof 0, cheapest evaluated sequence returned)
    whose samples ``mu + sig * normal(i T d + t d + j)`` of (seed, PLAN_NOISE, it) are
    projected onto the geometry before their cost is evaluated."""
    mu, sig = np.array(mu0, dtype=float), np.array(sig0, dtype=float)
    T, d = mu.shape
    n_elite = max(1, int(round(elite_fraction * population)))
    best, best_cost = None, np.inf
    for it in range(iterations):
        z = ref_normals(seed, ref_stream_id(PLAN_NOISE, it, 0), population * T * d)
        X = mu + sig * z.reshape(population, T, d)
        if project:
            X = problem.geometry.project(X)
        L = ref_cost(problem, X, lam, beta)
        elite = np.argsort(L, kind="stable")[:n_elite]
        if L[elite[0]] < best_cost:
            best, best_cost = X[elite[0]].copy(), L[elite[0]]
        mu, sig = X[elite].mean(axis=0), X[elite].std(axis=0)
    return best


def ref_projected_mppi(problem, mu0, seed, samples, iterations, noise_std, temperature, lam=0.1,
                       beta=0.0, project=True):
    """MPPI (Eq. 6) rolling out proj(mu + eps_i), eps = noise_std * normal(i T d + t d + j) of
    (seed, PLAN_NOISE, it); returns proj(final mean)."""
    mu = np.array(mu0, dtype=float)
    T, d = mu.shape
    proj = problem.geometry.project if project else (lambda x: x)
    for it in range(iterations):
        eps = noise_std * ref_normals(seed, ref_stream_id(PLAN_NOISE, it, 0),
                                      samples * T * d).reshape(samples, T, d)
        L = ref_cost(problem, proj(mu + eps), lam, beta)
        wts = np.exp(-(L - L.min()) / temperature)
        mu = mu + np.einsum("i,itj->tj", wts, eps) / wts.sum()
    return proj(mu)


def ref_draw_codes(probs, u):
    """Inverse CDF of categorical laws probs (T, K) at uniforms u (N, T): codes (N, T); a u
    above the total (rounding) takes the last code of positive probability."""
    N, T = u.shape
    codes = np.empty((N, T), dtype=np.int64)
    for t in range(T):
        cdf = np.cumsum(probs[t])
        last = int(np.flatnonzero(probs[t] > 0)[-1])
        codes[:, t] = np.minimum(np.searchsorted(cdf, u[:, t], side="right"), last)
    return codes


def ref_codes_refit(codes, elite, K):
    """Categorical laws (T, K): the share of the elite sequences whose code at step t is k."""
    return np.stack([np.bincount(codes[elite, t], minlength=K) for t in range(codes.shape[1])]) / len(elite)


def ref_codebook_cem(problem, probs0, seed, population, iterations, elite_fraction, lam=0.1, beta=0.0):
    """CEM over the geometry's codes: draws from uniforms ``i T + t`` of (seed, PLAN_CODES, it),
    elites refit the laws (:func:`ref_codes_refit`); returns the cheapest sequence evaluated."""
    centers = problem.geometry.density_params().centers
    probs = np.array(probs0, dtype=float)
    T, K = probs.shape
    n_elite = max(1, int(round(elite_fraction * population)))
    best, best_cost = None, np.inf
    for it in range(iterations):
        u = ref_uniforms(seed, ref_stream_id(PLAN_CODES, it, 0), population * T).reshape(population, T)
        codes = ref_draw_codes(probs, u)
        X = centers[codes]
        L = ref_cost(problem, X, lam, beta)
        elite = np.argsort(L, kind="stable")[:n_elite]
        if L[elite[0]] < best_cost:
            best, best_cost = X[elite[0]].copy(), L[elite[0]]
        probs = ref_codes_refit(codes, elite, K)
    return best
