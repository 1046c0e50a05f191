"""Counter-based random numbers: every draw is a pure function of (seed, stream, index).

fastplan never keeps random-generator *state*.  A draw is addressed by

* ``seed``   - the run's seed (any non-negative integer < 2**63),
* ``stream`` - what the numbers are for (world model, start state, CEM iteration 3, ...),
  built with :func:`stream_id` from a purpose tag and up to two counters,
* ``index``  - the position inside that stream (e.g. ``sample * T * d + t * d + j``).

The generator is SplitMix64 used in random-access form: ``key = mix(mix(seed) ^ stream)``
and ``u64(index) = mix(key + (index + 1) * GOLDEN)``, with Stafford's "Mix13" finalizer
(SplitMix64 passes BigCrush).  Because a draw depends only on its address, results do not
depend on the number of threads, the chunking of work, or the executor.

Normals use the Box-Muller transform on pairs: normal ``2i`` and ``2i+1`` share the 64-bit
word ``u64(i)``; its high 32 bits give the radius (``u1 = (hi + 0.5) / 2**32`` so ``log``
never sees 0; |z| <= 6.8) and its low 32 bits the angle ``2 pi u2``:
``z_2i = r cos``, ``z_2i+1 = r sin`` with ``r = sqrt(-2 log u1)``.  ``log``, ``sin`` and
``cos`` are the branch-free Cephes versions of :mod:`fastplan.engine.fastmath` (within 2 ulp of
the C library) so that noise generation vectorises; these transforms are compiled with
strict IEEE arithmetic so the NumPy twin reproduces every bit.

A plain NumPy twin of this scheme lives in ``tests/reference.py``; tests check bit equality.
"""
from __future__ import annotations

import math

import numpy as np

from .fastmath import log_unit, sincos_turns
from .jit import exact_kernel, kernel

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_LO32 = np.uint64(0xFFFFFFFF)
_ONE = np.uint64(1)
_INV32 = 1.0 / 4294967296.0
_TWO_PI = 2.0 * math.pi

# Purpose tags for streams (the high 16 bits of a stream id).  Never renumber: stored
# results depend on them.
WORLD_A, WORLD_B, WORLD_BIAS, START, GOAL = 1, 2, 3, 4, 5
GEOM_CENTERS, GEOM_SAMPLE_COMPONENT, GEOM_SAMPLE_NOISE, GEOM_SAMPLE_SUPPORT = 6, 7, 8, 9
PLAN_INIT, PLAN_NOISE, PLAN_LANGEVIN = 10, 11, 12
METRICS = 13
GEOM_FIT = 14   # initialisation of geometries fitted from data (k-means++), counter = fit kind id
MPC_REPLAN = 20          # planner seed of an MPC controller's k-th replan (fastplan.MPC)
PLAN_CODES = 21          # codebook CEM's categorical draws of codes (counter = iteration)


@exact_kernel(inline=True)
def mix64(z):
    """Stafford Mix13 finalizer of a uint64 (the SplitMix64 output function)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@kernel
def make_key(seed, stream):
    """Key of the stream ``stream`` (uint64) under ``seed`` (uint64).

    Python receives the key as ``int``; pass it back to kernels as ``np.uint64`` (see
    :func:`key`), since Numba promotes int64 + uint64 to float64.
    """
    return mix64(mix64(np.uint64(seed) ^ GOLDEN) ^ np.uint64(stream))


@exact_kernel(inline=True)
def u64(key, index):
    """The ``index``-th 64-bit word of the stream with key ``key``."""
    return mix64(np.uint64(key) + (np.uint64(index) + _ONE) * GOLDEN)


@kernel
def uniform(key, index):
    """Uniform draw in [0, 1) with 53-bit resolution."""
    return float(u64(key, index) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@exact_kernel(inline=True)
def _pair(w):
    """Box-Muller pair (r cos, r sin) from one 64-bit word (see module docstring)."""
    u1 = (float(w >> _S32) + 0.5) * _INV32
    u2 = float(w & _LO32) * _INV32
    r = math.sqrt(-2.0 * log_unit(u1))
    s, c = sincos_turns(u2)
    return r * c, r * s


@exact_kernel
def _pair_at(key, m):
    """Box-Muller pair number m of the stream (not inlined: the edges of :func:`fill_normal`
    share this one copy, which keeps every kernel that fills noise smaller to compile)."""
    return _pair(u64(key, m))


@exact_kernel
def fill_pair_rows(key, half, q, lo, zc, zs):
    """Both normals of pair word ``(lo + i) * half + q`` for i < zc.size: zc[i] = r cos (normal
    ``2 ((lo + i) half + q)``), zs[i] = r sin (the next one).

    With ``half = T*d/2`` these are normals ``t*d + j`` and ``t*d + j + 1`` (``t*d + j = 2q``)
    of samples lo, lo+1, ...: one sample-contiguous row per (t, j), bit-identical to
    :func:`fill_normal` over the samples' blocks and without its transposition.
    """
    h = np.uint64(half)
    qq = np.uint64(q)
    base = np.uint64(lo)
    for i in range(zc.shape[0]):
        c, s = _pair(u64(key, (base + np.uint64(i)) * h + qq))
        zc[i] = c
        zs[i] = s


@exact_kernel
def normal(key, index):
    """Standard normal draw number ``index`` of the stream (Box-Muller on pairs)."""
    c, s = _pair(u64(np.uint64(key), np.uint64(index) >> _ONE))
    if np.uint64(index) & _ONE:
        return s
    return c


@exact_kernel
def fill_normal(key, start, out):
    """Fill the 1-D array ``out`` with normals ``start, start+1, ...`` of a stream.

    Bit-identical to ``[normal(key, start + i) for i in range(out.size)]``; the pairs loop
    has no branches and vectorises.
    """
    n = out.shape[0]
    if n == 0:
        return
    key = np.uint64(key)
    first = np.uint64(start)
    i0 = 0
    if first & _ONE:                      # odd start: second half of a pair
        out[0] = _pair_at(key, first >> _ONE)[1]
        i0 = 1
    base = (first + np.uint64(i0)) >> _ONE
    n_pairs = (n - i0) // 2
    for m in range(n_pairs):
        c, s = _pair(u64(key, base + np.uint64(m)))
        out[i0 + 2 * m] = c
        out[i0 + 2 * m + 1] = s
    if (n - i0) % 2 == 1:                 # trailing first half of a pair
        out[n - 1] = _pair_at(key, base + np.uint64(n_pairs))[0]


def key(seed: int, stream: int) -> np.uint64:
    """Key of (seed, stream) as ``np.uint64``, ready to hand to kernels."""
    return np.uint64(make_key(np.uint64(seed), np.uint64(stream)))


def stream_id(tag: int, a: int = 0, b: int = 0) -> int:
    """Stream number for purpose ``tag`` (< 2**16) with counters ``a`` (< 2**24), ``b`` (< 2**24)."""
    if not (0 <= tag < 1 << 16 and 0 <= a < 1 << 24 and 0 <= b < 1 << 24):
        raise ValueError(f"stream counters out of range: tag={tag}, a={a}, b={b}")
    return (tag << 48) | (a << 24) | b


@kernel
def stream_of(tag, a, b):
    """Kernel twin of :func:`stream_id` (no range checks)."""
    return (np.uint64(tag) << np.uint64(48)) | (np.uint64(a) << np.uint64(24)) | np.uint64(b)


def _fill_normal_array(key, n):
    out = np.empty(n)
    fill_normal(key, np.uint64(0), out)
    return out


def normals(seed: int, stream: int, shape) -> np.ndarray:
    """Array of standard normals of the given shape: draws ``0..size-1`` of (seed, stream)."""
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    size = int(np.prod(shape, dtype=np.int64))
    return _fill_normal_array(key(seed, stream), size).reshape(shape)


def uniforms(seed: int, stream: int, n: int) -> np.ndarray:
    """``n`` uniforms in [0, 1): draws ``0..n-1`` of (seed, stream)."""
    k = key(seed, stream)
    return np.array([uniform(k, np.uint64(i)) for i in range(n)], dtype=np.float64)


def words(seed: int, stream: int, n: int) -> np.ndarray:
    """``n`` raw uint64 words of (seed, stream) (for integer draws)."""
    k = key(seed, stream)
    return np.array([u64(k, np.uint64(i)) for i in range(n)], dtype=np.uint64)
