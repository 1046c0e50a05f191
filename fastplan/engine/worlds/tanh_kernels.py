"""Numba kernels of the paper's world model, Eq. 4: ``s' = tanh(A s + B a + b)``.

The family's operations on one problem's world ``w = (A (n, n), B (n, d), b (n,))``, reached
by the planners through :mod:`fastplan.engine.worlds.ops`: a step of many columns, a step of
many states under one shared action (finite differences), one sequence with its tape of
pre-activations, the perturbed columns of the finite-difference gradient, the reverse step
of the adjoint, and diffusion's guidance direction (Eq. 10).
"""
from __future__ import annotations

import numpy as np

from ..fastmath import tanh
from ..jit import kernel


# Inner loops index 1-D row views (``Src[k, off:off + n]``) from 0: with ``off + i`` Numba's
# negative-index wraparound cannot be proven dead and the loops do not vectorise.

@kernel(inline=True)
def add_matvec_rows(W, r, Src, off, U, uoff, n):
    """``U[r, uoff + i] += sum_k W[r, k] * Src[k, off + i]`` for i < n (one output row;
    only the d % 4 rows :func:`add_matmul_rows4` leaves).  Sums k left to right.
    W : (d, d); Src : (d, >= off + n); U : (d, >= uoff + n).
    """
    u = U[r, uoff:uoff + n]
    for k in range(W.shape[1]):
        w = W[r, k]
        x = Src[k, off:off + n]
        for i in range(n):
            u[i] += w * x[i]


@kernel(inline=True)
def add_matmul_rows4(W, r, Src, off, U, uoff, n):
    """``U[r+q, uoff+i] += sum_k W[r+q, k] Src[k, off+i]`` for q < 4, i < n (four output rows).

    Register blocking: each loaded ``Src[k, off + i]`` feeds four rows, so there are 3 memory
    operations per 4 multiply-adds.  Every U[r+q, i] still sums k left to right,
    so the result is bit-identical to :func:`add_matvec_rows` row by row.
    W : (d, d); Src : (d, >= off + n); U : (>= r + 4, >= uoff + n).
    """
    d = W.shape[1]
    u0 = U[r, uoff:uoff + n]
    u1 = U[r + 1, uoff:uoff + n]
    u2 = U[r + 2, uoff:uoff + n]
    u3 = U[r + 3, uoff:uoff + n]
    k = 0
    while k + 4 <= d:
        w00 = W[r, k]
        w01 = W[r, k + 1]
        w02 = W[r, k + 2]
        w03 = W[r, k + 3]
        w10 = W[r + 1, k]
        w11 = W[r + 1, k + 1]
        w12 = W[r + 1, k + 2]
        w13 = W[r + 1, k + 3]
        w20 = W[r + 2, k]
        w21 = W[r + 2, k + 1]
        w22 = W[r + 2, k + 2]
        w23 = W[r + 2, k + 3]
        w30 = W[r + 3, k]
        w31 = W[r + 3, k + 1]
        w32 = W[r + 3, k + 2]
        w33 = W[r + 3, k + 3]
        s0 = Src[k, off:off + n]
        s1 = Src[k + 1, off:off + n]
        s2 = Src[k + 2, off:off + n]
        s3 = Src[k + 3, off:off + n]
        for i in range(n):
            x0 = s0[i]
            x1 = s1[i]
            x2 = s2[i]
            x3 = s3[i]
            u0[i] = u0[i] + w00 * x0 + w01 * x1 + w02 * x2 + w03 * x3
            u1[i] = u1[i] + w10 * x0 + w11 * x1 + w12 * x2 + w13 * x3
            u2[i] = u2[i] + w20 * x0 + w21 * x1 + w22 * x2 + w23 * x3
            u3[i] = u3[i] + w30 * x0 + w31 * x1 + w32 * x2 + w33 * x3
        k += 4
    while k < d:
        w0 = W[r, k]
        w1 = W[r + 1, k]
        w2 = W[r + 2, k]
        w3 = W[r + 3, k]
        s0 = Src[k, off:off + n]
        for i in range(n):
            x = s0[i]
            u0[i] += w0 * x
            u1[i] += w1 * x
            u2[i] += w2 * x
            u3[i] += w3 * x
        k += 1


@kernel
def affine_tanh_cols(A, S, c, use_b, B, X, lo, U, off, n):
    """``U[:, off+i] = tanh(c + A S[:, off+i] + B X[:, lo+i])`` for i < n (Eq. 4, n columns).

    A : (n, n); B : (n, d); S, U : (n, >= off + n); X : (d, >= lo + n); c : (n,).
    With ``use_b`` False the B term is skipped (when ``c`` already holds B a + b).
    Rows go in blocks of four (:func:`add_matmul_rows4`); a sum runs c, A terms, B terms,
    each left to right, so every column's arithmetic is the same whatever n and off are.
    Not inlined, and each loop body written once (the A and B terms share one loop):
    Numba re-optimises a helper inside every kernel that links it, so its size is compile
    time; a call costs nothing next to its d x d x n multiply-adds.
    """
    d = S.shape[0]
    n_terms = 2 if use_b else 1
    r = 0
    while r < d:
        rows = 4 if r + 4 <= d else 1
        for q in range(rows):
            u = U[r + q, off:off + n]
            cq = c[r + q]
            for i in range(n):
                u[i] = cq
        for term in range(n_terms):
            W = A if term == 0 else B
            Src = S if term == 0 else X
            so = off if term == 0 else lo
            if rows == 4:
                add_matmul_rows4(W, r, Src, so, U, off, n)
            else:
                add_matvec_rows(W, r, Src, so, U, off, n)
        for q in range(rows):
            u = U[r + q, off:off + n]
            for i in range(n):
                u[i] = tanh(u[i])
        r += rows


@kernel
def step_cols(w, S, Xt, lo, U, n):
    """One step of Eq. 4 for n columns: ``U[:, i] = tanh(A S[:, i] + B Xt[:, lo+i] + b)``.

    S, U : (n_state, >= n) states before and after; Xt : (d, N) actions of this step.
    """
    affine_tanh_cols(w[0], S, w[2], np.bool_(True), w[1], Xt, lo, U, np.int64(0), n)


@kernel
def shared_prep(w, a_t, c):
    """``c = B a_t + b`` (n,): the action part of a step shared by many states."""
    A, B, b = w
    for r in range(A.shape[0]):
        u = b[r]
        for k in range(B.shape[1]):
            u += B[r, k] * a_t[k]
        c[r] = u


@kernel
def advance_shared(w, S, c, U, n):
    """``U[:, i] = tanh(c + A S[:, i])`` for i < n, with c from :func:`shared_prep`."""
    affine_tanh_cols(w[0], S, c, np.bool_(False), w[1], S, np.int64(0), U, np.int64(0), n)


@kernel
def sequence(w, s0, a, states, tape):
    """Roll out one sequence a (T, d): states (T+1, n) and the tape ``tape[t] = A s_t + B a_t
    + b`` (pre-activations, (T, n)) so that ``states[t+1] = tanh(tape[t])``."""
    A, B, b = w
    T = a.shape[0]
    n = A.shape[0]
    d = B.shape[1]
    for r in range(n):
        states[0, r] = s0[r]
    for t in range(T):
        for r in range(n):
            u = b[r]
            for k in range(n):
                u += A[r, k] * states[t, k]
            for k in range(d):
                u += B[r, k] * a[t, k]
            tape[t, r] = u
            states[t + 1, r] = tanh(u)


@kernel
def fd_enter(w, s_t, a_t, tape_t, delta, St, o):
    """``St[:, o+j] = tanh(tape_t + delta[j] B[:, j])`` for j < d: the next state when
    a_t[j] alone moves by delta[j] (the pre-activation is linear in the action)."""
    B = w[1]
    n, d = B.shape
    for r in range(n):
        for j in range(d):
            St[r, o + j] = tanh(tape_t[r] + delta[j] * B[r, j])


@kernel
def vjp(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev):
    """Reverse step: with ``nu = lam * (1 - s_next^2)``, ``g = B^T nu`` (d,) and
    ``lam_prev = A^T nu`` (n,), for lam = dL/ds_next (n,)."""
    A, B, b = w
    n, d = B.shape
    nu = np.empty(n)
    for r in range(n):
        nu[r] = lam[r] * (1.0 - s_next[r] * s_next[r])
    for j in range(d):
        acc = 0.0
        for r in range(n):
            acc += B[r, j] * nu[r]
        g[j] = acc
    for k in range(n):
        acc = 0.0
        for r in range(n):
            acc += A[r, k] * nu[r]
        lam_prev[k] = acc


@kernel
def guidance_cols(w, s0, goal, X, lo, n, S, v):
    """Eq. 10's direction ``v[:, i] = B^T (s_T - s*)`` for n columns whose final states are
    in S (n_state, >= n); S is overwritten with s_T - s*.  (The paper's B is the action
    Jacobian of the pre-activation.)"""
    B = w[1]
    ns, d = B.shape
    for j in range(d):
        for i in range(n):
            v[j, i] = 0.0
    for r in range(ns):
        for i in range(n):
            S[r, i] -= goal[r]
        for j in range(d):
            wj = B[r, j]
            for i in range(n):
                v[j, i] += wj * S[r, i]
