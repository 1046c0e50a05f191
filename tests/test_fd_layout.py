"""The FD gradient's work split (groups of time steps, tile width) changes speed, never results."""
from __future__ import annotations

import numpy as np
import pytest

from fastplan.engine.cost import paper_cost
from fastplan.engine.planners._descent import descent_kernel, fd_groups, fd_tile_width
from fastplan.engine.planners._trace import NO_TRACE
from fastplan.engine.world import make_world, start_and_goal


def _problems(P, d, seed=0):
    worlds = [make_world(d, seed + p) for p in range(P)]
    starts = [start_and_goal(d, seed + p) for p in range(P)]
    A = np.stack([w.A for w in worlds])
    B = np.stack([w.B for w in worlds])
    b = np.stack([w.b for w in worlds])
    s0 = np.stack([s for s, _ in starts])
    goal = np.stack([g for _, g in starts])
    return A, B, b, s0, goal


def _descend(P, T, d, G, W, langevin):
    A, B, b, s0, goal = _problems(P, d)
    a0 = np.random.default_rng(1).normal(0.0, 0.7, size=(P, T, d))
    seeds = np.arange(P, dtype=np.uint64)
    actions = np.empty((P, T, d))
    samples = np.zeros(P, dtype=np.int64)
    steps = np.zeros(P, dtype=np.int64)
    descent_kernel((A, B, b), s0, goal, a0, seeds, paper_cost(0.1, d), 6, 0.05, 0.005, 1e-3,
                   langevin, False, G, W, d, d, actions, samples, steps, NO_TRACE)
    return actions, samples, steps


@pytest.mark.parametrize("langevin", [False, True])
@pytest.mark.parametrize("d,T", [(5, 4), (8, 3), (4, 7)])
def test_groups_and_tile_width_do_not_change_any_bit(d, T, langevin):
    want = _descend(2, T, d, 1, fd_tile_width(d), langevin)
    for G in sorted({2, 3, T}):
        for W in sorted({d, 2 * d, fd_tile_width(d)}):
            got = _descend(2, T, d, G, W, langevin)
            assert np.array_equal(got[0], want[0]), (G, W)
            assert np.array_equal(got[1], want[1]) and np.array_equal(got[2], want[2])


def test_sample_counts_are_those_of_the_paper_formula():
    P, T, d, iters = 2, 4, 5, 6
    _, samples, steps = _descend(P, T, d, 2, d, False)
    # one unperturbed rollout per iteration but the last + T*d perturbed ones per iteration
    assert np.all(samples == iters * T * d + iters)
    assert np.all(steps == iters * d * T * (T + 1) // 2 + iters * T)


def test_group_count():
    assert fd_groups(30, 16, 2) == 1
    assert fd_groups(1, 16, 2) == 2
    assert fd_groups(3, 16, 16) == 6
    assert fd_groups(1, 4, 16) == 4
    assert fd_tile_width(32) == 128 and fd_tile_width(5) == 125 and fd_tile_width(200) == 200
