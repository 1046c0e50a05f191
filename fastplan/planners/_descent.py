"""Gradient descent (Eq. 7) and SGLD (Eq. 8) on Eq. 5, with two gradient estimators.

``fd`` (the paper): forward finite differences, ``g[t, j] = (L(a + eps e_tj) - L(a)) / eps``.
Perturbing a_t changes nothing before step t, so the unperturbed prefix is reused and the
d perturbations of one time step are rolled out together as a (d x d) state batch: one
parallel work item per (problem, time step) - the "parallel per coordinate" kernel.  Each
iteration costs T*d perturbed rollouts plus one unperturbed rollout.

``adjoint``: the exact reverse-mode gradient of Eq. 5 through the tanh dynamics.  With
``u_t = A s_{t-1} + B a_t + b``, ``s_t = tanh(u_t)`` and ``e_t = (s_t - s_{t-1}) / ||.||``::

    lambda_T = (s_T - s*) / ||s_T - s*||
    for t = T..1:  lambda_t += (lam/T) e_t ;  nu_t = lambda_t * (1 - s_t^2)
                   dL/da_t = B^T nu_t ;  lambda_{t-1} = A^T nu_t - (lam/T) e_t

(a zero-length step or a reached goal contributes the zero subgradient).  One iteration
costs one forward rollout and one reverse sweep; both are counted as samples.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import rng
from .._fastmath import tanh
from .._jit import kernel, parallel_kernel
from ._common import affine_tanh_cols, new_outputs, sequence_cost


@kernel
def balanced_time(q, T):
    """Order time steps 0, T-1, 1, T-2, ... so that static thread chunks get equal work."""
    if q % 2 == 0:
        return q // 2
    return T - 1 - q // 2


@kernel
def fd_row(A, B, b, goal, a, states, pre, base, tt, lam, eps, S, U, path, c, g):
    """Forward-difference gradient w.r.t. a[tt, :] (d entries) by a batched suffix rollout.

    states (T+1, d), pre (T, d) : the unperturbed rollout; base : its cost.
    S, U : (d, d) scratch (state r, perturbed coordinate j), swapped every step;
    path, c : (d,) scratch.
    Writes g (d,).  Returns the number of model steps performed.
    """
    T, d = a.shape
    no_b = B[:, :0]        # c already holds B a_t + b
    prefix = 0.0
    for t in range(tt):
        s2 = 0.0
        for r in range(d):
            diff = states[t + 1, r] - states[t, r]
            s2 += diff * diff
        prefix += math.sqrt(s2)
    for r in range(d):
        for j in range(d):
            S[r, j] = tanh(pre[tt, r] + eps * B[r, j])
    acc = path
    sq = g         # g doubles as scratch for squared column norms until it is written
    # column norms with the loops running over columns (vectorised); each still sums r in order
    for j in range(d):
        sq[j] = 0.0
    for r in range(d):
        for j in range(d):
            diff = S[r, j] - states[tt, r]
            sq[j] += diff * diff
    for j in range(d):
        acc[j] = prefix + math.sqrt(sq[j])
    for t in range(tt + 1, T):
        for r in range(d):
            u = b[r]
            for k in range(d):
                u += B[r, k] * a[t, k]
            c[r] = u
        affine_tanh_cols(A, S, c, no_b, S, 0, U, d)
        for j in range(d):
            sq[j] = 0.0
        for r in range(d):
            for j in range(d):
                diff = U[r, j] - S[r, j]
                sq[j] += diff * diff
        for j in range(d):
            acc[j] += math.sqrt(sq[j])
        S, U = U, S
    for j in range(d):
        sq[j] = 0.0
    for r in range(d):
        for j in range(d):
            diff = S[r, j] - goal[r]
            sq[j] += diff * diff
    for j in range(d):
        g[j] = (math.sqrt(sq[j]) + lam * (acc[j] / T) - base) / eps
    return d * (T - tt)


@kernel
def adjoint_grad(A, B, goal, states, lam, g, lam_s, nu):
    """Exact gradient of Eq. 5 w.r.t. the actions (T, d) by the reverse sweep above.

    states (T+1, d) from the forward rollout; lam_s, nu : (d,) scratch; writes g (T, d).
    """
    T = g.shape[0]
    d = g.shape[1]
    s2 = 0.0
    for r in range(d):
        diff = states[T, r] - goal[r]
        s2 += diff * diff
    norm = math.sqrt(s2)
    for r in range(d):
        lam_s[r] = (states[T, r] - goal[r]) / norm if norm > 0.0 else 0.0
    w = lam / T
    for t in range(T, 0, -1):
        s2 = 0.0
        for r in range(d):
            diff = states[t, r] - states[t - 1, r]
            s2 += diff * diff
        m = math.sqrt(s2)
        inv = w / m if m > 0.0 else 0.0
        for r in range(d):
            lam_s[r] += inv * (states[t, r] - states[t - 1, r])
            nu[r] = lam_s[r] * (1.0 - states[t, r] * states[t, r])
        for j in range(d):
            acc = 0.0
            for r in range(d):
                acc += B[r, j] * nu[r]
            g[t - 1, j] = acc
        for k in range(d):
            acc = 0.0
            for r in range(d):
                acc += A[r, k] * nu[r]
            lam_s[k] = acc - inv * (states[t, k] - states[t - 1, k])


@kernel
def evaluate_iterate(A, B, b, s0, goal, a, lam, states, pre, keep_best, best, best_cost, base,
                     rollouts, steps, p):
    """Roll out iterate ``a[p]`` (Eq. 5 cost into ``base[p]``, states and pre-activations
    kept for the gradient), count it, and with ``keep_best`` (SGLD) keep the cheapest iterate."""
    T = a.shape[1]
    base[p] = sequence_cost(A[p], B[p], b[p], s0[p], goal[p], a[p], lam, states[p], pre[p])
    rollouts[p] += 1
    steps[p] += T
    if keep_best and base[p] < best_cost[p]:
        best_cost[p] = base[p]
        best[p, :, :] = a[p]


@parallel_kernel
def descent_kernel(A, B, b, s0, goal, a0, seeds, lam, iterations, step, noise, fd_eps, langevin,
                   adjoint, out_actions, out_samples, out_steps):
    """Gradient descent (``langevin=False``, Eq. 7) or SGLD (``langevin=True``, Eq. 8).

    A, B : (P, d, d); b, s0, goal : (P, d); a0 : (P, T, d) start; seeds : (P,) uint64.
    SGLD adds ``noise * xi`` (xi ~ N(0, I)) each step and returns the cheapest iterate
    it visited (the final one included); gradient descent returns the last iterate.
    """
    P, T, d = a0.shape
    a = a0.copy()
    best = a0.copy()
    best_cost = np.full(P, np.inf)
    grad = np.zeros((P, T, d))
    states = np.empty((P, T + 1, d))
    pre = np.empty((P, T, d))
    base = np.empty(P)
    rollouts = np.zeros(P, dtype=np.int64)
    steps = np.zeros(P, dtype=np.int64)
    item_rollouts = np.zeros(P * T, dtype=np.int64)
    item_steps = np.zeros(P * T, dtype=np.int64)
    S = np.empty((P * T, d, d))
    U = np.empty((P * T, d, d))
    path = np.empty((P * T, d))
    c = np.empty((P * T, d))
    z = np.empty((P, T * d))
    lam_s = np.empty((P, d))
    nu = np.empty((P, d))
    for p in numba.prange(P):
        evaluate_iterate(A, B, b, s0, goal, a, lam, states, pre, langevin, best, best_cost, base, rollouts, steps, p)
    for it in range(iterations):
        if adjoint:
            for p in numba.prange(P):
                adjoint_grad(A[p], B[p], goal[p], states[p], lam, grad[p], lam_s[p], nu[p])
                rollouts[p] += 1
                steps[p] += T
        else:
            for item in numba.prange(P * T):
                p = item // T
                tt = balanced_time(item % T, T)
                item_steps[item] += fd_row(A[p], B[p], b[p], goal[p], a[p], states[p], pre[p],
                                           base[p], tt, lam, fd_eps, S[item], U[item], path[item],
                                           c[item], grad[p, tt])
                item_rollouts[item] += d
        last = it == iterations - 1
        for p in numba.prange(P):
            if langevin:
                key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_LANGEVIN, it, 0))
                rng.fill_normal(key, np.uint64(0), z[p])
            for t in range(T):
                for j in range(d):
                    a[p, t, j] -= step * grad[p, t, j]
                    if langevin:
                        a[p, t, j] += noise * z[p, t * d + j]
            if langevin or not last:
                evaluate_iterate(A, B, b, s0, goal, a, lam, states, pre, langevin, best, best_cost, base, rollouts, steps, p)
    for p in range(P):
        out_actions[p, :, :] = best[p] if langevin else a[p]
        out_samples[p] = rollouts[p]
        out_steps[p] = steps[p]
        for q in range(T):
            out_samples[p] += item_rollouts[p * T + q]
            out_steps[p] += item_steps[p * T + q]


def prepare(batch, hp, usage):
    """Start a^(0) (P, T, d): one geometry draw per time step (``prior``) or N(0, I) (``none``)."""
    return {"a0": batch.initial_draws(1, usage)[:, 0]}


def run_descent(batch, hp, inputs, langevin: bool):
    """Run :func:`descent_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    step = hp["step"] if langevin else hp["lr"]
    noise = hp["noise"] if langevin else 0.0
    descent_kernel(batch.A, batch.B, batch.b, batch.s0, batch.goal, inputs["a0"], batch.seeds,
                   float(hp["lam"]), int(hp["iterations"]), float(step), float(noise),
                   float(hp["fd_eps"]), bool(langevin), hp["gradient"] == "adjoint",
                   actions, samples, steps)
    return actions, samples, steps
