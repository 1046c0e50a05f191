"""Numba kernels of the MLP world-model family (:mod:`fastplan.engine.worlds.mlp`).

One problem's world is the tuple ``w = (Wf, cf, meta, flags)``:

* ``Wf`` (Q,) every layer's weights, row-major, layer after layer; ``cf`` (R,) the biases;
* ``meta`` (L, 5) int64, per layer ``[rows, cols, weight offset, bias offset, activation]``
  (activation codes of :data:`~fastplan.engine.worlds.mlp.ACTIVATIONS`);
* ``flags`` (5,) int64, ``[residual, n, d, L, widest layer]``.

Layer 0 acts on ``[s; a]``: its first n columns multiply the state, the last d the action.
The same operations as :mod:`~fastplan.engine.worlds.tanh_kernels`; a sum runs bias, state
terms, action terms (then earlier-layer terms), each left to right.  The tape of a step is
every layer's pre-activation, ``sum_l H_l`` numbers.
"""
from __future__ import annotations

import math

import numpy as np

from ..fastmath import tanh
from ..jit import kernel


@kernel(inline=True)
def _act(x, code):
    if code == 1:
        return tanh(x)
    if code == 2:
        return x if x > 0.0 else 0.0
    if code == 3:
        return x if x > 0.0 else math.expm1(x)
    return x


@kernel(inline=True)
def _dact(z, code):
    """Derivative of activation ``code`` at pre-activation z."""
    if code == 1:
        y = tanh(z)
        return 1.0 - y * y
    if code == 2:
        return 1.0 if z > 0.0 else 0.0
    if code == 3:
        return 1.0 if z > 0.0 else math.exp(z)
    return 1.0


@kernel
def _layer_cols(Wf, cf, row, Src, H, n):
    """``H[r, i] = act(c_r + sum_k W[r, k] Src[k, i])`` for i < n: layer ``row`` of meta
    (Src (cols, >= n), H (>= rows, >= n))."""
    rows, cols, off, coff, code = row[0], row[1], row[2], row[3], row[4]
    for r in range(rows):
        h = H[r, :n]
        base = cf[coff + r]
        for i in range(n):
            h[i] = base
        for k in range(cols):
            wk = Wf[off + r * cols + k]
            x = Src[k, :n]
            for i in range(n):
                h[i] += wk * x[i]
        for i in range(n):
            h[i] = _act(h[i], code)


@kernel
def _rest_cols(w, S, H, G, n, U):
    """Layers 1..L-1 on the first layer's output H (rows0, >= n); output (+ S when residual)
    into U (n_state, >= n).  G is scratch like H."""
    Wf, cf, meta, flags = w
    L = meta.shape[0]
    ns = flags[1]
    for l in range(1, L):
        _layer_cols(Wf, cf, meta[l], H, G, n)
        H, G = G, H
    for r in range(ns):
        u = U[r, :n]
        h = H[r, :n]
        if flags[0] != 0:
            s = S[r, :n]
            for i in range(n):
                u[i] = s[i] + h[i]
        else:
            for i in range(n):
                u[i] = h[i]


@kernel(inline=True)
def _add_terms(Wf, off, cols, k0, K, r, Src, lo, h, n):
    """``h[i] += sum_{k < K} W[r, k0 + k] Src[k, lo + i]`` for i < n (k left to right)."""
    for k in range(K):
        wk = Wf[off + r * cols + k0 + k]
        x = Src[k, lo:lo + n]
        for i in range(n):
            h[i] += wk * x[i]


@kernel
def _first_layer_cols(w, base, S, Xt, lo, with_actions, n, H):
    """Layer 0 for n columns: ``H[r, i] = act(base[r] + W_s[r] S[:, i] (+ W_a[r] Xt[:, lo+i]))``."""
    Wf, cf, meta, flags = w
    ns, d = flags[1], flags[2]
    rows, cols, off, code = meta[0, 0], meta[0, 1], meta[0, 2], meta[0, 4]
    for r in range(rows):
        h = H[r, :n]
        b = base[r]
        for i in range(n):
            h[i] = b
        _add_terms(Wf, off, cols, 0, ns, r, S, 0, h, n)
        if with_actions:
            _add_terms(Wf, off, cols, ns, d, r, Xt, lo, h, n)
        for i in range(n):
            h[i] = _act(h[i], code)


@kernel
def step_cols(w, S, Xt, lo, U, n):
    """``U[:, i] = f(S[:, i], Xt[:, lo+i])`` (or ``S + f``) for i < n.
    S, U : (n_state, >= n); Xt : (d, N)."""
    Wf, cf, meta, flags = w
    H = np.empty((flags[4], n))
    G = np.empty((flags[4], n))
    _first_layer_cols(w, cf[meta[0, 3]:], S, Xt, lo, True, n, H)
    _rest_cols(w, S, H, G, n, U)


@kernel
def shared_prep(w, a_t, c):
    """``c = c_0 + W_0[:, n:] a_t`` (H_1,): the action part of layer 0, shared by many states."""
    Wf, cf, meta, flags = w
    ns, d = flags[1], flags[2]
    rows, cols, off, coff = meta[0, 0], meta[0, 1], meta[0, 2], meta[0, 3]
    for r in range(rows):
        u = cf[coff + r]
        for k in range(d):
            u += Wf[off + r * cols + ns + k] * a_t[k]
        c[r] = u


@kernel
def advance_shared(w, S, c, U, n):
    """``U[:, i] = f(S[:, i], a_t)`` for i < n with c from :func:`shared_prep`."""
    flags = w[3]
    H = np.empty((flags[4], n))
    G = np.empty((flags[4], n))
    _first_layer_cols(w, c, S, S, 0, False, n, H)
    _rest_cols(w, S, H, G, n, U)


@kernel
def _forward_one(w, s, z0, tape, out):
    """Finish one column from layer 0's pre-activation z0 (H_1,): the next state into out (n,);
    with tape (sum H_l,) not empty, every layer's pre-activation is written into it."""
    Wf, cf, meta, flags = w
    L = meta.shape[0]
    ns, Hmax = flags[1], flags[4]
    keep = tape.shape[0] > 0
    h = np.empty(Hmax)
    g = np.empty(Hmax)
    rows0, code0 = meta[0, 0], meta[0, 4]
    for r in range(rows0):
        if keep:
            tape[r] = z0[r]
        h[r] = _act(z0[r], code0)
    pos = rows0
    for l in range(1, L):
        rows, cols, off, coff, code = meta[l, 0], meta[l, 1], meta[l, 2], meta[l, 3], meta[l, 4]
        for r in range(rows):
            u = cf[coff + r]
            for k in range(cols):
                u += Wf[off + r * cols + k] * h[k]
            if keep:
                tape[pos + r] = u
            g[r] = _act(u, code)
        pos += rows
        h, g = g, h
    for r in range(ns):
        out[r] = s[r] + h[r] if flags[0] != 0 else h[r]


@kernel
def sequence(w, s0, a, states, tape):
    """Roll out one sequence a (T, d): states (T+1, n) and tape (T, sum_l H_l) of every
    layer's pre-activation."""
    Wf, cf, meta, flags = w
    ns, d = flags[1], flags[2]
    T = a.shape[0]
    rows, cols, off, coff = meta[0, 0], meta[0, 1], meta[0, 2], meta[0, 3]
    z0 = np.empty(rows)
    for r in range(ns):
        states[0, r] = s0[r]
    for t in range(T):
        for r in range(rows):
            u = cf[coff + r]
            for k in range(ns):
                u += Wf[off + r * cols + k] * states[t, k]
            for k in range(d):
                u += Wf[off + r * cols + ns + k] * a[t, k]
            z0[r] = u
        _forward_one(w, states[t], z0, tape[t], states[t + 1])


@kernel
def fd_enter(w, s_t, a_t, tape_t, delta, St, o):
    """``St[:, o+j] = f(s_t, a_t + delta[j] e_j)`` for j < d, from layer 0's pre-activation
    on the tape (linear in the action)."""
    Wf, cf, meta, flags = w
    ns, d = flags[1], flags[2]
    rows, cols, off = meta[0, 0], meta[0, 1], meta[0, 2]
    z0 = np.empty(rows)
    out = np.empty(ns)
    none = np.empty(0)
    for j in range(d):
        for r in range(rows):
            z0[r] = tape_t[r] + delta[j] * Wf[off + r * cols + ns + j]
        _forward_one(w, s_t, z0, none, out)
        for r in range(ns):
            St[r, o + j] = out[r]


@kernel
def vjp(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev):
    """Reverse step through ``s_next = f(s_prev, a_t)`` (or ``s_prev + f``): for lam = dL/ds_next
    (n,), ``g = (df/da)^T lam`` (d,) and ``lam_prev = (ds_next/ds_prev)^T lam`` (n,)."""
    Wf, cf, meta, flags = w
    L = meta.shape[0]
    ns, d, Hmax = flags[1], flags[2], flags[4]
    delta = np.empty(Hmax)
    back = np.empty(Hmax)
    pos = 0
    for l in range(L - 1):
        pos += meta[l, 0]
    rowsL, codeL = meta[L - 1, 0], meta[L - 1, 4]
    for r in range(rowsL):
        delta[r] = lam[r] * _dact(tape_t[pos + r], codeL)
    for l in range(L - 1, 0, -1):
        rows, cols, off, code_prev = meta[l, 0], meta[l, 1], meta[l, 2], meta[l - 1, 4]
        pos -= meta[l - 1, 0]
        for k in range(cols):
            back[k] = 0.0
        for r in range(rows):
            dr = delta[r]
            for k in range(cols):
                back[k] += Wf[off + r * cols + k] * dr
        for k in range(cols):
            delta[k] = back[k] * _dact(tape_t[pos + k], code_prev)
    rows, cols, off = meta[0, 0], meta[0, 1], meta[0, 2]
    for k in range(ns):
        lam_prev[k] = lam[k] if flags[0] != 0 else 0.0
    for j in range(d):
        g[j] = 0.0
    for r in range(rows):
        dr = delta[r]
        for k in range(ns):
            lam_prev[k] += Wf[off + r * cols + k] * dr
        for j in range(d):
            g[j] += Wf[off + r * cols + ns + j] * dr


@kernel
def guidance_cols(w, s0, goal, X, lo, n, S, v):
    """Eq. 10 generalised: ``v[:, i] = (df/da_T)^T (s_T - s*)``, the action Jacobian of the
    last step at (s_{T-1}, a_T), for n columns of X (T, d, N) whose final states are in S
    (overwritten with s_T - s*).  Re-rolls the first T-1 steps to find s_{T-1}."""
    Wf, cf, meta, flags = w
    ns, d = flags[1], flags[2]
    T = X.shape[0]
    K = 0
    for l in range(meta.shape[0]):
        K += meta[l, 0]
    P0 = np.empty((ns, n))
    P1 = np.empty((ns, n))
    for r in range(ns):
        for i in range(n):
            P0[r, i] = s0[r]
    for t in range(T - 1):
        step_cols(w, P0, X[t], lo, P1, n)
        P0, P1 = P1, P0
    s = np.empty(ns)
    a = np.empty((1, d))
    st = np.empty((2, ns))
    tape = np.empty((1, K))
    lam = np.empty(ns)
    lam_prev = np.empty(ns)
    g = np.empty(d)
    for i in range(n):
        for r in range(ns):
            s[r] = P0[r, i]
        for j in range(d):
            a[0, j] = X[T - 1, j, lo + i]
        sequence(w, s, a, st, tape)
        for r in range(ns):
            S[r, i] -= goal[r]
            lam[r] = S[r, i]
        vjp(w, st[0], a[0], st[1], tape[0], lam, g, lam_prev)
        for j in range(d):
            v[j, i] = g[j]


def kernel_arrays(world) -> tuple:
    """The kernel tuple ``(Wf, cf, meta, flags)`` of an :class:`MLPWorld`."""
    from .mlp import ACTIVATIONS
    Wf = np.concatenate([W.ravel() for W in world.weights])
    cf = np.concatenate(list(world.biases))
    meta = np.empty((len(world.weights), 5), dtype=np.int64)
    off = coff = 0
    for l, (W, act) in enumerate(zip(world.weights, world.activations)):
        meta[l] = (W.shape[0], W.shape[1], off, coff, ACTIVATIONS[act])
        off += W.size
        coff += W.shape[0]
    widest = max(max(W.shape[0] for W in world.weights), world.n)
    flags = np.array([int(world.residual), world.n, world.d, len(world.weights), widest],
                     dtype=np.int64)
    return (Wf, cf, meta, flags)


def tape_width(world) -> int:
    """Numbers on the tape of one step: every layer's width."""
    return int(sum(W.shape[0] for W in world.weights))
