"""Branch-free elementary functions that LLVM can vectorise (Numba has no SVML here).

``math.tanh``, ``math.log`` and ``math.sin``/``math.cos`` are scalar C-library calls that
block SIMD vectorisation of the rollout and noise loops.  These replacements use Cephes'
rational/polynomial approximations (S. L. Moshier, Cephes Math Library), with the range
reduction done by exact multiplications by powers of two selected by comparisons, so that
every operation is a plain IEEE add/mul/div/compare/select.

Accuracy (tests/test_fastmath.py, against the C library): ``tanh_exact`` within 3 ulp,
``log_unit`` within 2 ulp on (0, 1], ``sincos_turns`` within 2 ulp.  NaN propagates.

``tanh`` is :func:`tanh_exact` unless the process runs with ``FASTPLAN_ARITHMETIC=fast``
(:mod:`fastplan.engine.arithmetic`); then it is :func:`tanh_fast`, Eigen's float-accuracy
rational approximation (absolute and relative error below 3e-7, tests/test_fast_arithmetic.py).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from .arithmetic import ARITHMETIC
from .jit import exact_kernel, kernel


@intrinsic
def _bits_to_float(typingctx, bits):
    """The float64 whose IEEE bit pattern is the int64 ``bits`` (an LLVM bitcast, vectorisable)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _float_to_bits(typingctx, x):
    """The int64 holding the IEEE bit pattern of the float64 ``x`` (an LLVM bitcast)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (LLVM's ``llvm.fma.f64``: a hardware FMA where the CPU
    has one, else the C library's exact ``fma``).

    The kernels' ``fastmath`` flags let LLVM *fuse* ``s + e * e`` into an FMA, but in a sum of
    two products ``e0 * e0 + e1 * e1`` it may fuse either one; this call fixes which product
    keeps full precision, so the sum cannot change with the shape of the code around it."""
    if not (a == b == c == types.float64):
        return None

    def codegen(context, builder, signature, args):
        f64 = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f64, [f64, f64, f64]),
                                            "llvm.fma.f64")
        return builder.call(fn, args)

    return types.float64(types.float64, types.float64, types.float64), codegen


@kernel(inline=True)
def pow2(n):
    """2.0**n for a whole float64 n in [-1022, 1023], built in the exponent field (exact)."""
    return _bits_to_float((np.int64(n) + 1023) << 52)

# Cephes tanh.c, |x| < 0.625
_TP0, _TP1, _TP2 = -9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3
_TQ0, _TQ1, _TQ2 = 1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3
# Cephes exp.c
_EP0, _EP1, _EP2 = 1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1
_EQ0, _EQ1, _EQ2, _EQ3 = (3.00198505138664455042e-6, 2.52448340349684104192e-3,
                          2.27265548208155028766e-1, 2.00000000000000000009e0)
_LOG2E = 1.4426950408889634073599
_C1, _C2 = 6.93145751953125e-1, 1.42860682030941723212e-6
# Cephes log.c
_LP = (1.01875663804580931796e-4, 4.97494994976747001425e-1, 4.70579119878881725854e0,
       1.44989225341610930846e1, 1.79368678507819816313e1, 7.70838733755885391666e0)
_LQ = (1.12873587189167450590e1, 4.52279145837532221105e1, 8.29875266912776603211e1,
       7.11544750618563894466e1, 2.31251620126765340583e1)
_SQRTH = 0.70710678118654752440
_L2A, _L2B = 0.693359375, 2.121944400546905827679e-4
# Cephes sin.c, |x| <= pi/4
_S = (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
      -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)
_C = (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
      2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)
_HALF_PI = 1.5707963267948966


# Eigen's ptanh_float (Eigen/src/Core/arch/Default/GenericPacketMathFunctions.h): an odd
# degree-13 numerator over an even degree-6 denominator on |x| <= _FAST_CLAMP
_FAST_CLAMP = 7.90531110763549805
_FA = (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
       1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03)       # alpha_13 .. alpha_1
_FB = (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)  # beta_6 .. 0


@kernel(inline=True)
def tanh_fast(x):
    """Hyperbolic tangent to float accuracy (``FASTPLAN_ARITHMETIC=fast``): Eigen's rational
    approximation ``x p(x^2) / q(x^2)`` with ``x`` clamped to +-7.905, one division, about 15
    operations.  Exactly odd, non-decreasing up to rounding; NaN fails both clamp tests and propagates;
    absolute and relative error below 3e-7 (largest where it saturates: +-inf gives
    +-(1 - 2.6e-7)), against 3 ulp of float64 for :func:`tanh_exact`
    (tests/test_fast_arithmetic.py)."""
    c = x
    if c > _FAST_CLAMP:
        c = _FAST_CLAMP
    if c < -_FAST_CLAMP:
        c = -_FAST_CLAMP
    z = c * c
    p = (((((_FA[0] * z + _FA[1]) * z + _FA[2]) * z + _FA[3]) * z + _FA[4]) * z + _FA[5]) * z + _FA[6]
    q = ((_FB[0] * z + _FB[1]) * z + _FB[2]) * z + _FB[3]
    return (c * p) / q


@kernel(inline=True)
def tanh_exact(x):
    """Hyperbolic tangent (Cephes tanh.c with exp.c), one division, no branches."""
    ax = abs(x)
    if ax > 20.0:
        ax = 20.0            # tanh(20) rounds to 1.0; NaN fails the test and propagates
    # small |x|: x + x z P(z)/Q(z), z = x^2
    z = ax * ax
    q_small = ((z + _TQ0) * z + _TQ1) * z + _TQ2
    num_small = ax * q_small + ax * z * ((_TP0 * z + _TP1) * z + _TP2)
    # large |x|: (s - 1)/(s + 1) with s = exp(2|x|) = 2^n (Q + px)/(Q - px)
    y = ax + ax
    n = np.floor(_LOG2E * y + 0.5)
    g = y - n * _C1
    g = g - n * _C2
    gg = g * g
    px = g * ((_EP0 * gg + _EP1) * gg + _EP2)
    qx = ((_EQ0 * gg + _EQ1) * gg + _EQ2) * gg + _EQ3
    # 0 <= n <= 58, so 2**n is exact (NaN input: any n, the small branch is selected below)
    scale = pow2(n if n <= 64.0 else 0.0)
    a = scale * (qx + px)
    b = qx - px
    large = ax >= 0.625
    num = (a - b) if large else num_small
    den = (a + b) if large else q_small
    r = num / den
    return -r if x < 0.0 else r


#: The ``tanh`` every world kernel uses: :func:`tanh_exact`, or :func:`tanh_fast` under
#: ``FASTPLAN_ARITHMETIC=fast`` (fixed at import; kernels bind it when their module loads).
tanh = tanh_fast if ARITHMETIC == "fast" else tanh_exact


@exact_kernel(inline=True)
def log_unit(x):
    """Natural logarithm for a normal x in (0, 1] (Cephes log.c; the power-of-two reduction
    reads the exponent field, so it is exact)."""
    # frexp from the bit pattern: x = m 2**e with m in [0.5, 1) (x normal, so exact); the
    # same (m, e) as halving/doubling by powers of two, except x = 1 gives (0.5, 1), which the
    # sqrt(1/2) test below maps back to (x - 1 = 0, e = 0)
    bits = _float_to_bits(x)
    e = np.float64((bits >> 52) - 1022)
    x = _bits_to_float((bits & 0x000FFFFFFFFFFFFF) | 0x3FE0000000000000)
    # now x in [0.5, 1]; Cephes: x < sqrt(1/2) -> 2x - 1, e - 1
    if x < _SQRTH:
        e -= 1.0
        x = (x + x) - 1.0
    else:
        x = x - 1.0
    z = x * x
    p = ((((_LP[0] * x + _LP[1]) * x + _LP[2]) * x + _LP[3]) * x + _LP[4]) * x + _LP[5]
    q = ((((x + _LQ[0]) * x + _LQ[1]) * x + _LQ[2]) * x + _LQ[3]) * x + _LQ[4]
    y = x * (z * p / q)
    y = y - e * _L2B
    y = y - 0.5 * z
    return (x + y) + e * _L2A


@exact_kernel(inline=True)
def sincos_turns(u):
    """(sin, cos) of 2 pi u for u in [0, 1), by quadrant reduction and Cephes sin.c/cos."""
    v = 4.0 * u                    # exact
    q = np.floor(v + 0.5)        # nearest quadrant, 0..4
    x = (v - q) * _HALF_PI         # |x| <= pi/4
    z = x * x
    sp = ((((_S[0] * z + _S[1]) * z + _S[2]) * z + _S[3]) * z + _S[4]) * z + _S[5]
    s = x + x * (z * sp)
    cp = ((((_C[0] * z + _C[1]) * z + _C[2]) * z + _C[3]) * z + _C[4]) * z + _C[5]
    c = (1.0 - 0.5 * z) + (z * z) * cp
    k = q - 4.0 * np.floor(q * 0.25)   # q mod 4
    sin_v = c if k == 1.0 else (-s if k == 2.0 else (-c if k == 3.0 else s))
    cos_v = -s if k == 1.0 else (-c if k == 2.0 else (s if k == 3.0 else c))
    return sin_v, cos_v
