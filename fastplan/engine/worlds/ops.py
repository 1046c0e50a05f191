"""The world bundle: what planners call to use a world model, whatever its family.

Inside kernels a batch's world is a tuple of arrays with a leading problem axis P (built by
:func:`bundle`), and ``w = world_at(world, p)`` is problem p's world.  The operations below
dispatch at compile time on the tuple's type (``numba.extending.overload``): a kernel compiled
for the paper's tanh world contains only its code, and a new family adds its module and one
line per operation here, without editing any planner.

Operations on one problem's world ``w``, for states with n rows and actions with d rows:

``step_cols(w, S, Xt, lo, U, n)``      U[:, i] = f(S[:, i], Xt[:, lo + i]), i < n
``shared_prep(w, a_t, c)``             the part of a step that depends on a_t only
``advance_shared(w, S, c, U, n)``      U[:, i] = f(S[:, i], a_t) with c from shared_prep
``sequence(w, s0, a, states, tape)``   one sequence: states (T+1, n), tape (T, K)
``fd_enter(w, s_t, a_t, tape_t, delta, St, o)``   St[:, o + j] = f(s_t, a_t + delta_j e_j)
``vjp(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev)``   reverse step of the adjoint
``guidance_cols(w, s0, goal, X, lo, n, S, v)``    diffusion's guidance direction (Eq. 10)
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from ..errors import FastplanError
from . import mlp_kernels, tanh_kernels

#: Kernel modules by the length of a problem's world tuple (tanh: A, B, b; mlp: Wf, cf, meta, flags).
_FAMILIES = {3: tanh_kernels, 4: mlp_kernels}


def _module(w):
    if not isinstance(w, types.BaseTuple) or len(w) not in _FAMILIES:
        raise TypeError(f"not a world tuple: {w}")
    return _FAMILIES[len(w)]


def world_at(world, p):
    """Problem p's world: every array of the batched tuple at index p."""
    return tuple(x[p] for x in world)


@overload(world_at, inline="always")
def _world_at(world, p):
    if len(world) == 3:
        return lambda world, p: (world[0][p], world[1][p], world[2][p])
    if len(world) == 4:
        return lambda world, p: (world[0][p], world[1][p], world[2][p], world[3][p])
    raise TypeError(f"not a batched world tuple: {world}")


def step_cols(w, S, Xt, lo, U, n):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "step_cols")(w, S, Xt, lo, U, n)


@overload(step_cols, inline="always")
def _step_cols(w, S, Xt, lo, U, n):
    impl = _module(w).step_cols
    return lambda w, S, Xt, lo, U, n: impl(w, S, Xt, lo, U, n)


def shared_prep(w, a_t, c):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "shared_prep")(w, a_t, c)


@overload(shared_prep, inline="always")
def _shared_prep(w, a_t, c):
    impl = _module(w).shared_prep
    return lambda w, a_t, c: impl(w, a_t, c)


def advance_shared(w, S, c, U, n):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "advance_shared")(w, S, c, U, n)


@overload(advance_shared, inline="always")
def _advance_shared(w, S, c, U, n):
    impl = _module(w).advance_shared
    return lambda w, S, c, U, n: impl(w, S, c, U, n)


def sequence(w, s0, a, states, tape):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "sequence")(w, s0, a, states, tape)


@overload(sequence, inline="always")
def _sequence(w, s0, a, states, tape):
    impl = _module(w).sequence
    return lambda w, s0, a, states, tape: impl(w, s0, a, states, tape)


def fd_enter(w, s_t, a_t, tape_t, delta, St, o):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "fd_enter")(w, s_t, a_t, tape_t, delta, St, o)


@overload(fd_enter, inline="always")
def _fd_enter(w, s_t, a_t, tape_t, delta, St, o):
    impl = _module(w).fd_enter
    return lambda w, s_t, a_t, tape_t, delta, St, o: impl(w, s_t, a_t, tape_t, delta, St, o)


def vjp(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "vjp")(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev)


@overload(vjp, inline="always")
def _vjp(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev):
    impl = _module(w).vjp
    return lambda w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev: impl(w, s_prev, a_t, s_next, tape_t, lam, g, lam_prev)


def guidance_cols(w, s0, goal, X, lo, n, S, v):
    """See the module docstring (dispatches on the world's family)."""
    return getattr(_FAMILIES[len(w)], "guidance_cols")(w, s0, goal, X, lo, n, S, v)


@overload(guidance_cols, inline="always")
def _guidance_cols(w, s0, goal, X, lo, n, S, v):
    impl = _module(w).guidance_cols
    return lambda w, s0, goal, X, lo, n, S, v: impl(w, s0, goal, X, lo, n, S, v)


# --- Python side: building a batch's bundle ------------------------------------------------

def kernel_arrays(world) -> tuple:
    """One problem's world tuple (unbatched) of a :class:`~fastplan.engine.worlds.World`."""
    if world.family == "tanh":
        return (world.A, world.B, world.b)
    if world.family == "mlp":
        return mlp_kernels.kernel_arrays(world)
    raise FastplanError(f"world family {world.family!r} has no kernels")


def tape_width(world) -> int:
    """Numbers kept per step for the adjoint (tanh: n pre-activations; mlp: every layer's)."""
    return world.n if world.family == "tanh" else mlp_kernels.tape_width(world)


def shared_width(world) -> int:
    """Size of :func:`shared_prep`'s output (tanh: n; mlp: the first layer's width)."""
    return world.n if world.family == "tanh" else int(world.weights[0].shape[0])


def bundle(worlds) -> tuple:
    """Stack P worlds of one family and architecture into the kernel tuple (leading P axis),
    fresh C-contiguous float64 (int64 for integer arrays)."""
    worlds = list(worlds)
    parts = [kernel_arrays(w) for w in worlds]
    first = parts[0]
    for i, part in enumerate(parts[1:], 1):
        if (worlds[i].family != worlds[0].family
                or any(x.shape != y.shape for x, y in zip(part, first))
                or any(not np.array_equal(x, y) for x, y in zip(part, first) if x.dtype.kind == "i")):
            raise FastplanError(f"problem {i}'s world model differs in family or shape from "
                                "problem 0's; a batch needs one architecture")
    return tuple(np.ascontiguousarray(np.array([p[k] for p in parts]))
                 for k in range(len(first)))


def slice_bundle(world: tuple, lo: int, hi: int) -> tuple:
    """Problems lo..hi-1 of a batched world tuple (views)."""
    return tuple(x[lo:hi] for x in world)
