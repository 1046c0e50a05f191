"""Gradient descent (Eq. 7) and SGLD (Eq. 8) on Eq. 5, with two gradient estimators.

``fd`` (the paper): forward finite differences, ``g[t, j] = (L(a + eps e_tj) - L(a)) / eps``.
Perturbing a_t changes nothing before step t, so the unperturbed prefix is reused: the d
perturbations of a_t enter a state batch as d new columns at step t and are advanced with
all earlier columns, so one matrix product per step advances up to T*d perturbed rollouts
(:func:`fd_group`).  Work items are problems, or (problem, group of time steps) when there
are fewer problems than threads - the "parallel per coordinate" kernel.  Each iteration
costs T*d perturbed rollouts plus one unperturbed rollout.

``adjoint``: the exact reverse-mode gradient of the cost through the world model (its
``vjp``, :mod:`fastplan.engine.worlds.ops`).  For the paper's tanh dynamics, with
``u_t = A s_{t-1} + B a_t + b``, ``s_t = tanh(u_t)`` and ``e_t = (s_t - s_{t-1}) / ||.||``::

    lambda_T = (s_T - s*) / ||s_T - s*||
    for t = T..1:  lambda_t += (lam/T) e_t ;  nu_t = lambda_t * (1 - s_t^2)
                   dL/da_t = B^T nu_t ;  lambda_{t-1} = A^T nu_t - (lam/T) e_t

(a zero-length step or a reached goal contributes the zero subgradient).  One iteration
costs one forward rollout and one reverse sweep; both are counted as samples.

With the prior penalty (``prior_weight``, :mod:`._manifold`) the finite differences add the
change of ``beta (1/T) sum_t -log p(a_t)`` and the adjoint its exact gradient
``-(beta/T) grad log p(a_t)``; for the paper's cost both compile to nothing.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import rng
from ..jit import kernel, parallel_kernel
from ..worlds import ops
from ._common import add_goal_norms, cost_value, new_outputs, sequence_cost
from ._manifold import add_prior_grad, cost_at, prior_logs, with_prior_fd
from ._trace import NO_TRACE as _NO_TRACE, descent_row


#: Target columns per tile of the staggered FD state batch (S and U tiles stay in L2; wider
#: tiles pay the ~18 ns entry of each inner loop less often: 128 beat 64 and 256 by 4 %).
FD_TILE = 128


def fd_tile_width(d):
    """Columns per tile: a multiple of d (whole time steps per tile), about FD_TILE."""
    return d * max(1, FD_TILE // d)


@kernel
def fd_deltas(cost, a_t, eps, delta):
    """Perturbation of each coordinate of a_t (d,): +eps, or -eps where +eps would leave the
    box of ``cost`` (a one-sided difference from inside the box); unbounded: all +eps."""
    lower = cost[3]
    upper = cost[4]
    for j in range(a_t.shape[0]):
        delta[j] = eps
        if lower.shape[0] > 0 and a_t[j] + eps > upper[j]:
            delta[j] = -eps


@kernel
def fd_group(w, goal, a, states, tape, base, grp, G, cost, eps, S, U, acc, sq, run, c, g):
    """Forward-difference gradient rows ``g[tt]`` for the time steps tt = grp, grp+G, ... < T.

    One staggered suffix rollout: the d perturbations of ``a[tt]`` enter as new state columns
    at step tt (``ops.fd_enter``: for Eq. 4, ``s'_{tt+1} = tanh(tape[tt] + eps B[:, j])``) and
    are then advanced to T together with every column that entered before, one tile of W
    columns at a time.  Every column sees exactly the arithmetic of a lone suffix rollout, so
    g does not depend on G or W.  Column ``q d + j`` (tile ``(q d + j) // W``) belongs to
    a[grp + q G, j].

    states (T+1, n), tape (T, K) : the unperturbed rollout; base : its cost.
    S, U : (n_tiles, n, W) scratch with W a multiple of d, swapped every step; acc, sq, run :
    (n_tiles, W) path lengths, squared norms and running goal costs; c : scratch of the
    world's shared step; g : (T, d) output.
    Returns the number of model steps performed, ``sum over the group of d (T - tt)``.
    """
    T, d = a.shape
    ns = states.shape[1]
    W = S.shape[2]
    lam = cost[0]
    running = cost[1]
    effort = cost[2]
    delta = np.empty(d)
    bounded = cost[3].shape[0] > 0
    logs = prior_logs(cost, a)   # log p(a_t) for the prior penalty (empty for the paper's cost)
    a_sq = 0.0               # sum of a^2 (the action penalty of the unperturbed sequence)
    if effort != 0.0:
        for t in range(T):
            for j in range(d):
                a_sq += a[t, j] * a[t, j]
    prefix = 0.0             # path length of the unperturbed prefix, sum_{t' < t}
    prefix_run = 0.0         # running goal cost of the unperturbed prefix
    m = 0                    # time steps of the group entered so far
    n_steps = 0
    for t in range(T):
        n = m * d
        if n > 0:            # advance every entered column by one step of the world
            ops.shared_prep(w, a[t], c)
            for tile in range((n + W - 1) // W):
                wc = min(W, n - tile * W)
                St = S[tile]
                Ut = U[tile]
                sqt = sq[tile]
                acct = acc[tile]
                ops.advance_shared(w, St, c, Ut, wc)
                for i in range(wc):
                    sqt[i] = 0.0
                for r in range(ns):
                    for i in range(wc):
                        diff = Ut[r, i] - St[r, i]
                        sqt[i] += diff * diff
                for i in range(wc):
                    acct[i] += math.sqrt(sqt[i])
                if running != 0.0:
                    add_goal_norms(Ut, goal, wc, sqt, run[tile])
            S, U = U, S
            n_steps += n
        if t >= grp and (t - grp) % G == 0:      # perturbations of a[t] enter
            St = S[n // W]
            sqt = sq[n // W]
            acct = acc[n // W]
            runt = run[n // W]
            o = n % W
            fd_deltas(cost, a[t], eps, delta)
            ops.fd_enter(w, states[t], a[t], tape[t], delta, St, o)
            for j in range(d):
                sqt[o + j] = 0.0
            for r in range(ns):
                for j in range(d):
                    diff = St[r, o + j] - states[t, r]
                    sqt[o + j] += diff * diff
            for j in range(d):
                acct[o + j] = prefix + math.sqrt(sqt[o + j])
            if running != 0.0:
                for j in range(d):
                    runt[o + j] = prefix_run
                add_goal_norms(St[:, o:o + d], goal, d, sqt[o:o + d], runt[o:o + d])
            m += 1
            n_steps += d
        s2 = 0.0
        for r in range(ns):
            diff = states[t + 1, r] - states[t, r]
            s2 += diff * diff
        prefix += math.sqrt(s2)
        if running != 0.0:
            s2 = 0.0
            for r in range(ns):
                diff = states[t + 1, r] - goal[r]
                s2 += diff * diff
            prefix_run += math.sqrt(s2)
    n = m * d
    for tile in range((n + W - 1) // W):
        wc = min(W, n - tile * W)
        for i in range(wc):
            sq[tile, i] = 0.0
        for r in range(ns):
            for i in range(wc):
                diff = S[tile, r, i] - goal[r]
                sq[tile, i] += diff * diff
    for q in range(m):
        tt = grp + q * G
        fd_deltas(cost, a[tt], eps, delta)
        for j in range(d):
            i = q * d + j
            eff = 0.0
            if effort != 0.0:
                moved = a[tt, j] + delta[j]
                eff = a_sq - a[tt, j] * a[tt, j] + moved * moved
            L = cost_value(cost, T, sq[i // W, i % W], acc[i // W, i % W], run[i // W, i % W], eff)
            L = with_prior_fd(cost, a, logs, tt, j, delta[j], L)
            if bounded:
                g[tt, j] = (L - base) / delta[j]
            else:            # the paper's arithmetic: one divisor for every coordinate
                g[tt, j] = (L - base) / eps
    return n_steps


@kernel
def fd_row(w, goal, a, states, tape, base, tt, cost, eps, S, U, path, c, g):
    """Forward-difference gradient w.r.t. a[tt, :] alone (g : (d,)); S, U : (n, d),
    path : (d,), c : (>= shared width,) scratch.  :func:`fd_group` with the one-step group {tt}."""
    T, d = a.shape
    ns = states.shape[1]
    rows = np.empty((T, d))
    n_steps = fd_group(w, goal, a, states, tape, base, tt, T, cost, eps,
                       S.reshape((1, ns, d)), U.reshape((1, ns, d)), path.reshape((1, d)),
                       np.empty((1, d)), np.zeros((1, d)), c, rows)
    for j in range(d):
        g[j] = rows[tt, j]
    return n_steps


@kernel
def adjoint_grad(w, a, goal, states, tape, cost, g, lam_s, lam_prev):
    """Exact gradient of the cost w.r.t. the actions (T, d) by the reverse sweep above
    (through the world's ``vjp``), with the running and action-penalty terms when set.

    states (T+1, n), tape (T, K) from the forward rollout; lam_s, lam_prev : (n,) scratch;
    writes g (T, d).
    """
    T = g.shape[0]
    d = g.shape[1]
    ns = states.shape[1]
    running = cost[1]
    effort = cost[2]
    s2 = 0.0
    for r in range(ns):
        diff = states[T, r] - goal[r]
        s2 += diff * diff
    norm = math.sqrt(s2)
    for r in range(ns):
        lam_s[r] = (states[T, r] - goal[r]) / norm if norm > 0.0 else 0.0
    wgt = cost[0] / T
    for t in range(T, 0, -1):
        s2 = 0.0
        for r in range(ns):
            diff = states[t, r] - states[t - 1, r]
            s2 += diff * diff
        m = math.sqrt(s2)
        inv = wgt / m if m > 0.0 else 0.0
        for r in range(ns):
            lam_s[r] += inv * (states[t, r] - states[t - 1, r])
        if running != 0.0:
            s2 = 0.0
            for r in range(ns):
                diff = states[t, r] - goal[r]
                s2 += diff * diff
            gn = math.sqrt(s2)
            if gn > 0.0:
                for r in range(ns):
                    lam_s[r] += running * (states[t, r] - goal[r]) / gn
        ops.vjp(w, states[t - 1], a[t - 1], states[t], tape[t - 1], lam_s, g[t - 1], lam_prev)
        if effort != 0.0:
            for j in range(d):
                g[t - 1, j] += 2.0 * effort * a[t - 1, j]
        for k in range(ns):
            lam_s[k] = lam_prev[k] - inv * (states[t, k] - states[t - 1, k])
    add_prior_grad(cost, a, g)       # -(beta/T) grad log p(a_t) (nothing for the paper's cost)


@kernel
def evaluate_iterate(world, s0, goal, a, cost, states, tape, keep_best, best, best_cost, base,
                     rollouts, steps, p):
    """Roll out iterate ``a[p]`` (cost into ``base[p]``, states and tape kept for the
    gradient), count it, and with ``keep_best`` (SGLD) keep the cheapest iterate."""
    T = a.shape[1]
    base[p] = sequence_cost(ops.world_at(world, p), s0[p], goal[p], a[p], cost_at(cost, p), states[p],
                            tape[p])
    rollouts[p] += 1
    steps[p] += T
    if keep_best and base[p] < best_cost[p]:
        best_cost[p] = base[p]
        for t in range(T):
            for j in range(a.shape[2]):
                best[p, t, j] = a[p, t, j]


@kernel
def update_and_evaluate(world, s0, goal, a, grad, z, seeds, it, iterations, cost, step, noise,
                        langevin, states, tape, best, best_cost, base, rollouts, steps, p):
    """Eq. 7 (or Eq. 8 with ``langevin``) update of iterate ``a[p]``, then its evaluation
    (skipped after the last gradient-descent step, whose cost nobody reads)."""
    T, d = a.shape[1], a.shape[2]
    if langevin:
        key = rng.make_key(seeds[p], rng.stream_of(rng.PLAN_LANGEVIN, it, 0))
        rng.fill_normal(key, np.uint64(0), z[p])
    for t in range(T):
        for j in range(d):
            a[p, t, j] -= step * grad[p, t, j]
            if langevin:
                a[p, t, j] += noise * z[p, t * d + j]
    if langevin or it != iterations - 1:
        evaluate_iterate(world, s0, goal, a, cost, states, tape, langevin, best, best_cost, base,
                         rollouts, steps, p)


@kernel
def whole_descent(world, s0, goal, a, seeds, cost, iterations, step, noise, fd_eps, langevin,
                  adjoint, grad, states, tape, best, best_cost, base, rollouts, steps, S, U, acc,
                  sq, run, c, z, lam_s, lam_prev, item_rollouts, item_steps, trace, tbest, p):
    """All iterations of problem p (one FD group, G = 1); arrays as in :func:`descent_kernel`."""
    T, d = a.shape[1], a.shape[2]
    w = ops.world_at(world, p)
    evaluate_iterate(world, s0, goal, a, cost, states, tape, langevin, best, best_cost, base,
                     rollouts, steps, p)
    for it in range(iterations):
        if adjoint:
            adjoint_grad(w, a[p], goal[p], states[p], tape[p], cost_at(cost, p), grad[p], lam_s[p],
                         lam_prev[p])
            rollouts[p] += 1
            steps[p] += T
        else:
            item_steps[p] += fd_group(w, goal[p], a[p], states[p], tape[p], base[p],
                                      np.int64(0), np.int64(1), cost_at(cost, p), fd_eps, S[p], U[p],
                                      acc[p], sq[p], run[p], c[p], grad[p])
            item_rollouts[p] += T * d
        descent_row(trace, it, base, tbest, rollouts, item_rollouts, np.int64(1), p)
        update_and_evaluate(world, s0, goal, a, grad, z, seeds, it, iterations, cost, step,
                            noise, langevin, states, tape, best, best_cost, base, rollouts,
                            steps, p)


@parallel_kernel
def descent_kernel(world, s0, goal, a0, seeds, cost, iterations, step, noise, fd_eps, langevin,
                   adjoint, G, W, K, Kc, out_actions, out_samples, out_steps, trace):
    """Gradient descent (``langevin=False``, Eq. 7) or SGLD (``langevin=True``, Eq. 8).

    world : the batch's world bundle; s0, goal : (P, n); a0 : (P, T, d) start;
    seeds : (P,) uint64; cost : the cost bundle; K, Kc : the world's tape and shared widths.
    SGLD adds ``noise * xi`` (xi ~ N(0, I)) each step and returns the cheapest iterate
    it visited (the final one included); gradient descent returns the last iterate.
    G : FD groups of time steps per problem; W : FD tile width (:func:`fd_tile_width`).

    With at least as many problems as threads, one work item runs a problem's whole
    descent (no fork-join per iteration); otherwise each iteration's FD gradient is split
    into G groups of time steps per problem (:func:`fd_groups`) and the cheap updates run
    serially.  Results are the same.  One prange loop only: each costs seconds of compilation.
    trace (P, R, 3): a row per iteration after its gradient (and one for SGLD's final
    evaluation) when R > 0 (:func:`~fastplan.engine.planners._trace.descent_row`).
    """
    P, T, d = a0.shape
    ns = s0.shape[1]
    M = (T + G - 1) // G                 # most time steps in one group
    n_tiles = (M * d + W - 1) // W
    a = a0.copy()
    best = a0.copy()
    best_cost = np.full(P, np.inf)
    grad = np.zeros((P, T, d))
    states = np.empty((P, T + 1, ns))
    tape = np.empty((P, T, K))
    base = np.empty(P)
    rollouts = np.zeros(P, dtype=np.int64)
    steps = np.zeros(P, dtype=np.int64)
    item_rollouts = np.zeros(P * G, dtype=np.int64)
    item_steps = np.zeros(P * G, dtype=np.int64)
    S = np.empty((P * G, n_tiles, ns, W))
    U = np.empty((P * G, n_tiles, ns, W))
    acc = np.empty((P * G, n_tiles, W))
    sq = np.empty((P * G, n_tiles, W))
    run = np.zeros((P * G, n_tiles, W))
    c = np.empty((P * G, Kc))
    z = np.empty((P, T * d))
    lam_s = np.empty((P, ns))
    lam_prev = np.empty((P, ns))
    tbest = np.full(P, np.inf)
    if G > 1:            # fewer problems than threads: only the FD groups run in parallel
        for p in range(P):
            evaluate_iterate(world, s0, goal, a, cost, states, tape, langevin, best, best_cost,
                             base, rollouts, steps, p)
    for it in range(iterations if G > 1 else 1):
        for item in numba.prange(P * G):
            p = np.int64(item) // G
            if G == 1:       # the whole descent of problem p, no fork-join per iteration
                whole_descent(world, s0, goal, a, seeds, cost, iterations, step, noise, fd_eps,
                              langevin, adjoint, grad, states, tape, best, best_cost, base,
                              rollouts, steps, S, U, acc, sq, run, c, z, lam_s, lam_prev,
                              item_rollouts, item_steps, trace, tbest, p)
            else:
                grp = np.int64(item) % G
                item_steps[item] += fd_group(ops.world_at(world, p), goal[p], a[p], states[p],
                                             tape[p], base[p], grp, G, cost_at(cost, p), fd_eps, S[item],
                                             U[item], acc[item], sq[item], run[item], c[item],
                                             grad[p])
                item_rollouts[item] += d * ((T - grp + G - 1) // G)
        if G > 1:
            for p in range(P):
                descent_row(trace, it, base, tbest, rollouts, item_rollouts, G, p)
                update_and_evaluate(world, s0, goal, a, grad, z, seeds, it, iterations, cost,
                                    step, noise, langevin, states, tape, best, best_cost, base,
                                    rollouts, steps, p)
    for p in range(P):
        if langevin:
            descent_row(trace, iterations, base, tbest, rollouts, item_rollouts, G, p)
        src = best[p] if langevin else a[p]
        for t in range(T):
            for j in range(d):
                out_actions[p, t, j] = src[t, j]
        out_samples[p] = rollouts[p]
        out_steps[p] = steps[p]
        for q in range(G):
            out_samples[p] += item_rollouts[p * G + q]
            out_steps[p] += item_steps[p * G + q]


def fd_groups(P: int, T: int, threads: int) -> int:
    """Groups of time steps per problem for the FD gradient: 1 when there are at least as
    many problems as threads (one work item per problem), else enough to occupy every thread."""
    if P >= threads:
        return 1
    return min(T, -(-threads // P))


def scratch_bytes(P, T, d, hp, threads, n=None, K=None):
    """Bytes :func:`prepare` and :func:`descent_kernel` allocate (a0, a, best, grad, z
    (P, T, d); states (P, T+1, n); tape (P, T, K); the FD tiles S, U (P*G, n_tiles, n, W)
    and acc, sq, run)."""
    n = d if n is None else n
    K = n if K is None else K
    G = 1 if hp.get("gradient") == "adjoint" else fd_groups(P, T, threads)
    W = fd_tile_width(d)
    M = -(-T // G)                       # most time steps in one group
    n_tiles = -(-(M * d) // W)
    return 8 * (6 * P * T * d + P * T * K + P * (T + 1) * n + 2 * P * G * n_tiles * n * W
                + 3 * P * G * n_tiles * W + P * G * K + 2 * P * G + 6 * P)


def prepare(batch, hp, usage):
    """Start a^(0) (P, T, d): one geometry draw per time step (``prior``) or N(0, I) (``none``);
    a warm start (``batch.init_actions``) is the start itself."""
    if batch.init_actions is not None:
        return {"a0": batch.init_actions.copy()}
    return {"a0": batch.initial_draws(1, usage)[:, 0]}


def run_descent(batch, hp, inputs, langevin: bool):
    """Run :func:`descent_kernel`; returns actions (P, T, d), samples (P,), steps (P,)."""
    actions, samples, steps = new_outputs(batch)
    step = hp["step"] if langevin else hp["lr"]
    noise = hp["noise"] if langevin else 0.0
    adjoint = hp["gradient"] == "adjoint"
    groups = 1 if adjoint else fd_groups(batch.P, batch.T, numba.get_num_threads())
    descent_kernel(batch.world, batch.s0, batch.goal, inputs["a0"], batch.seeds,
                   batch.cost_bundle(hp), int(hp["iterations"]), float(step), float(noise),
                   float(hp["fd_eps"]), bool(langevin), adjoint, groups, fd_tile_width(batch.d),
                   batch.tape_width, batch.shared_width, actions, samples, steps,
                   inputs.get("trace", _NO_TRACE))
    return actions, samples, steps


def trace_rows_descent(hp, langevin: bool) -> int:
    """Trace rows of one plan: one per iteration, and SGLD's final evaluation."""
    return int(hp["iterations"]) + (1 if langevin else 0)
