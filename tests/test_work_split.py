"""Each planner splits its work by problems, chunks of samples or groups of time steps
depending on how many problems share how many threads; every split gives the same bits."""
import numba
import numpy as np
import pytest

import fastplan

SMALL = {
    "cem": {"population": 150, "iterations": 3},        # 3 chunks, the last one partial
    "mppi": {"samples": 150, "iterations": 3},
    "gradient": {"iterations": 4},
    "sgld": {"iterations": 4},
    "diffusion": {"samples": 70, "steps": 3},
}


def _plan_with(threads, problems, planner):
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(threads)
        return fastplan.plan_batch(problems, planner, **SMALL[planner])
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("planner", sorted(SMALL))
def test_one_problem_per_item_equals_chunked_items(planner, thread_counts):
    one = [fastplan.make_problem("ebm", 5, 3, 4)]
    # 1 thread, 1 problem: one item runs the whole problem; 2 threads, 1 problem: items are
    # chunks of samples (CEM, MPPI, diffusion) or groups of time steps (FD gradient, SGLD)
    whole = _plan_with(1, one, planner)
    split = _plan_with(max(thread_counts), one, planner)
    assert np.array_equal(whole.actions, split.actions)
    assert np.array_equal(whole.samples, split.samples)
    assert np.array_equal(whole.steps, split.steps)
    # and inside a batch planned with one item per problem
    batch = _plan_with(max(thread_counts), one + [fastplan.make_problem("vae", 5, 3, 1)], planner)
    assert np.array_equal(batch.actions[0], whole.actions[0])
    assert batch.cost[0] == whole.cost[0]
