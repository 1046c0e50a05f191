"""The paper's default plans are bit-identical to those saved before this round's changes.

``tests/data/golden_plans.npz`` was written by ``tests/make_golden.py`` from the engine as it
stood when the paper's results were audited (12 planner/geometry/shape cases, 3 seeds each,
both gradient estimators, both geometry usages).  A change that is not meant to move a number
must leave every array here equal bit for bit.
"""
import os

import numpy as np
import pytest

from make_golden import CASES, compute

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "golden_plans.npz")


@pytest.fixture(scope="module")
def fresh():
    return compute()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{c[1]}-d{c[2]}h{c[3]}" for c in CASES])
def test_default_plans_bit_identical(fresh, i):
    saved = np.load(GOLDEN)
    for field in ("actions", "cost", "samples"):
        a, b = saved[f"{i}_{field}"], fresh[f"{i}_{field}"]
        assert a.shape == b.shape
        assert np.array_equal(a, b), f"case {CASES[i]}: {field} changed"
