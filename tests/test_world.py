"""The world model of Eq. 4 and the start/goal states of Sec. 3."""
from __future__ import annotations

import math

import numpy as np
import pytest
from reference import ref_normals, ref_stream_id

from fastplan.engine import rng
from fastplan.engine.world import SPECTRAL_RADIUS, make_world, start_and_goal

Z = 5.0


@pytest.mark.parametrize("d", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_spectral_radius_is_0_8(d, seed):
    W = make_world(d, seed)
    rho = np.max(np.abs(np.linalg.eigvals(W.A)))
    assert SPECTRAL_RADIUS == 0.8
    assert rho == pytest.approx(0.8, rel=1e-10)
    assert rho < 0.9                                   # Sec. 2.2: "spectral radius < 0.9"
    assert W.A.shape == W.B.shape == (d, d) and W.b.shape == (d,)
    for arr in (W.A, W.B, W.b):
        assert arr.dtype == np.float64 and arr.flags.c_contiguous and not arr.flags.writeable


def test_A_is_a_rescaled_gaussian_matrix():
    """A = 0.8 G / rho(G) with G_ij ~ N(0, 1/d) drawn from the WORLD_A stream."""
    d, seed = 6, 3
    G = ref_normals(seed, ref_stream_id(rng.WORLD_A), d * d).reshape(d, d) / math.sqrt(d)
    want = G * (0.8 / np.max(np.abs(np.linalg.eigvals(G))))
    np.testing.assert_allclose(make_world(d, seed).A, want, rtol=1e-12, atol=1e-15)


def test_B_and_b_scales():
    """B_ij ~ N(0, 1/d) and b_i ~ N(0, 0.01): variances within 5 standard errors."""
    d = 64
    Bs = np.concatenate([make_world(d, s).B.ravel() * math.sqrt(d) for s in range(3)])
    assert abs(Bs.mean()) < Z / math.sqrt(Bs.size)
    assert abs(Bs.var() - 1.0) < Z * math.sqrt(2.0 / Bs.size)
    bs = np.concatenate([make_world(d, s).b for s in range(40)])
    assert abs(bs.var() - 0.01) < Z * 0.01 * math.sqrt(2.0 / bs.size)


def test_start_and_goal_are_n_0_025():
    d = 32
    pts = np.concatenate([np.concatenate(start_and_goal(d, s)) for s in range(60)])
    assert abs(pts.mean()) < Z * 0.5 / math.sqrt(pts.size)
    assert abs(pts.var() - 0.25) < Z * 0.25 * math.sqrt(2.0 / pts.size)
    s0, goal = start_and_goal(d, 0)
    assert s0.shape == goal.shape == (d,)
    assert not np.array_equal(s0, goal)


def test_deterministic_from_d_and_seed():
    a, b = make_world(8, 5), make_world(8, 5)
    for x, y in [(a.A, b.A), (a.B, b.B), (a.b, b.b)]:
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(np.concatenate(start_and_goal(8, 5)), np.concatenate(start_and_goal(8, 5)))
    c = make_world(8, 6)
    assert not np.array_equal(a.A, c.A) and not np.array_equal(a.B, c.B) and not np.array_equal(a.b, c.b)
    assert not np.array_equal(start_and_goal(8, 5)[0], start_and_goal(8, 6)[0])


def test_step_is_eq_4():
    W = make_world(5, 0)
    s = np.random.default_rng(0).normal(size=(3, 5))
    a = np.random.default_rng(1).normal(size=(3, 5))
    want = np.stack([np.tanh(W.A @ s[i] + W.B @ a[i] + W.b) for i in range(3)])
    np.testing.assert_allclose(W.step(s, a), want, rtol=1e-13, atol=1e-15)
    assert np.all(np.abs(W.step(s * 100, a * 100)) <= 1.0)   # tanh bounds the state space
