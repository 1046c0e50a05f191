"""CEM's elite selection against NumPy's stable argsort (ties by index, NaN last)."""
import numpy as np

from fastplan.engine.planners._common import elite_order


def test_elite_order_is_the_head_of_a_stable_argsort():
    rng = np.random.default_rng(0)
    for trial in range(600):
        N = int(rng.integers(1, 60))
        k = int(rng.integers(1, N + 1))
        cost = rng.integers(0, 6, N).astype(float) if trial % 2 else rng.normal(size=N)
        if trial % 3 == 0:
            cost[rng.integers(0, N, 3)] = np.nan
        if trial % 7 == 0:
            cost[rng.integers(0, N, 2)] = np.inf
        order = np.empty(k, np.int64)
        elite_order(cost, k, order)
        np.testing.assert_array_equal(order, np.argsort(cost, kind="stable")[:k])
