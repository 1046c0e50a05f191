"""The paper's default plans are bit-identical to those saved before this round's changes.

``tests/data/golden_plans.npz`` was written by ``tests/make_golden.py`` from the engine as it
stood when the paper's results were audited (12 planner/geometry/shape cases, 3 seeds each,
both gradient estimators, both geometry usages).  A change that is not meant to move a number
must leave every array here equal bit for bit.

Bits depend on the CPU the kernels are compiled for (fused multiply-adds and vector widths
differ; the kernels use fastmath ``contract``), so a golden set is kept per host CPU:
``golden_plans-<cpu>.npz`` (LLVM's host CPU name, e.g. ``znver3``), each written by
``tests/make_golden.py`` from the audited engine on that CPU.  ``golden_plans.npz`` is the
first set (the audit machine).  On a CPU with its own set, the plans must equal that set bit for
bit; on another CPU they must equal one of the stored sets bit for bit.
"""
import glob
import os

import numpy as np
import pytest

from make_golden import CASES, compute, host_cpu

DATA = os.path.join(os.path.dirname(__file__), "data")
OWN = os.path.join(DATA, f"golden_plans-{host_cpu()}.npz")
GOLDENS = [OWN] if os.path.exists(OWN) else sorted(glob.glob(os.path.join(DATA, "golden_plans*.npz")))


@pytest.fixture(scope="module")
def fresh():
    return compute()


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}-{c[1]}-d{c[2]}h{c[3]}" for c in CASES])
def test_default_plans_bit_identical(fresh, i):
    assert GOLDENS, "no golden plans stored"
    mismatches = []
    for path in GOLDENS:
        saved = np.load(path)
        changed = [f for f in ("actions", "cost", "samples")
                   if saved[f"{i}_{f}"].shape != fresh[f"{i}_{f}"].shape
                   or not np.array_equal(saved[f"{i}_{f}"], fresh[f"{i}_{f}"])]
        if not changed:
            return
        mismatches.append(f"{os.path.basename(path)}: {', '.join(changed)} changed")
    pytest.fail(f"case {CASES[i]} on CPU {host_cpu()}: " + "; ".join(mismatches))
