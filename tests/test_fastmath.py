"""The vectorisable elementary functions of fastplan.engine.fastmath against the C library (NumPy)."""
import numba
import numpy as np

from fastplan.engine.fastmath import fma, log_unit, pow2, sincos_turns, tanh


@numba.njit(fastmath={"contract", "nsz", "arcp"}, error_model="numpy")
def _tanh_all(x, out):
    for i in range(x.size):
        out[i] = tanh(x[i])


@numba.njit(error_model="numpy")
def _log_all(x, out):
    for i in range(x.size):
        out[i] = log_unit(x[i])


@numba.njit(error_model="numpy")
def _sincos_all(u, s, c):
    for i in range(u.size):
        s[i], c[i] = sincos_turns(u[i])


@numba.njit
def _pow2_all(n, out):
    for i in range(n.size):
        out[i] = pow2(n[i])


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_tanh_within_3_ulp_everywhere():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=200_000) * 3, rng.uniform(-25, 25, 200_000),
                        np.linspace(-0.7, 0.7, 20_001), [0.625, -0.625, np.nextafter(0.625, 0),
                                                         19.0, 20.0, 21.0, 700.0, 1e-300, 5e-324]])
    out = np.empty_like(x)
    _tanh_all(x, out)
    assert np.max(_ulps(out, np.tanh(x))) <= 3.0
    assert np.all(np.sign(out) == np.sign(x))


def test_tanh_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    out = np.empty_like(x)
    _tanh_all(x, out)
    assert out[0] == 0.0 and out[1] == 0.0
    assert out[2] == 1.0 and out[3] == -1.0
    assert np.isnan(out[4])


def test_log_unit_within_2_ulp_over_all_binades():
    rng = np.random.default_rng(2)
    u = np.concatenate([rng.uniform(0, 1, 200_000)[1:], 2.0 ** -np.arange(0, 64.0),
                        np.ldexp(rng.uniform(0.5, 1, 6_400), np.repeat(-np.arange(64), 100)),
                        [1.0, np.nextafter(1.0, 0.0), 2.0 ** -0.5, np.nextafter(2.0 ** -0.5, 1.0)]])
    u = u[u > 0]
    out = np.empty_like(u)
    _log_all(u, out)
    want = np.log(u)
    exact_zero = want == 0.0
    assert np.all(out[exact_zero] == 0.0)
    assert np.max(_ulps(out[~exact_zero], want[~exact_zero])) <= 2.0


def test_sincos_turns_within_2_ulp_plus_rounding_of_the_argument():
    u = np.random.default_rng(3).uniform(0, 1, 100_000)
    s = np.empty_like(u)
    c = np.empty_like(u)
    _sincos_all(u, s, c)
    # 2 pi u itself rounds (by up to ~7e-16), so compare with an absolute tolerance
    assert np.max(np.abs(s - np.sin(2 * np.pi * u))) <= 1e-15
    assert np.max(np.abs(c - np.cos(2 * np.pi * u))) <= 1e-15


def test_pow2_is_exact():
    n = np.arange(-1022, 1024, dtype=np.float64)
    out = np.empty_like(n)
    _pow2_all(n, out)
    assert np.array_equal(out, np.ldexp(1.0, n.astype(int)))


def test_fma_rounds_once():
    """fma(a, b, c) is a * b + c rounded once: the exact rational value, correctly rounded
    (float(Fraction) rounds to nearest), over magnitudes 1e-5 .. 1e5, cancellation and specials."""
    from fractions import Fraction

    f = numba.njit(lambda a, b, c: fma(a, b, c))
    rng = np.random.default_rng(0)
    for a, b, c in rng.standard_normal((3000, 3)) * 10.0 ** rng.integers(-5, 6, (3000, 3)):
        assert f(a, b, c) == float(Fraction(a) * Fraction(b) + Fraction(c))
    e = 2.0 ** -30
    assert f(1.0 + e, 1.0 - e, -1.0) == -(e * e)          # (1+e)(1-e) - 1 = -e^2, lost by a * b + c
    assert (1.0 + e) * (1.0 - e) - 1.0 == 0.0
    assert np.isnan(f(np.nan, 1.0, 0.0)) and f(np.inf, 1.0, 1.0) == np.inf
    assert np.isnan(f(np.inf, 0.0, 1.0))
