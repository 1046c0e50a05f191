"""Regenerate tests/data/golden_plans.npz: the paper's default plans, saved bit for bit.

Run only on purpose (``python tests/make_golden.py``), from the audited engine, on a CPU that
has no set yet: the file (``golden_plans-<cpu>.npz``) pins the paper's results on that CPU, and
every change that is not meant to change a number must leave it matching (tests/test_golden.py).
"""
import os
import sys

import numpy as np

CASES = [  # (planner, geometry, d, horizon, overrides, geometry_usage)
    ("cem", "vae", 8, 8, {}, "prior"), ("cem", "ebm", 5, 3, {}, "prior"),
    ("cem", "vqvae", 4, 16, {}, "none"),
    ("mppi", "vae", 8, 8, {}, "prior"), ("mppi", "ebm", 7, 5, {}, "prior"),
    ("gradient", "vae", 8, 8, {}, "prior"), ("gradient", "ebm", 5, 3, {"gradient": "adjoint"}, "prior"),
    ("gradient", "vqvae", 6, 4, {}, "none"),
    ("sgld", "vae", 4, 4, {}, "prior"), ("sgld", "vqvae", 5, 3, {"gradient": "adjoint"}, "prior"),
    ("diffusion", "vae", 8, 8, {}, "prior"), ("diffusion", "ebm", 7, 5, {}, "none"),
]


def host_cpu() -> str:
    """LLVM's name of this machine's CPU (what Numba compiles the kernels for)."""
    import llvmlite.binding as ll
    return ll.get_host_cpu_name()


def compute():
    import fastplan
    out = {}
    for i, (planner, geom, d, h, over, usage) in enumerate(CASES):
        probs = [fastplan.make_problem(geom, d, h, s) for s in (0, 1, 2)]
        res = fastplan.plan_batch(probs, planner, geometry_usage=usage, **over)
        out[f"{i}_actions"] = res.actions
        out[f"{i}_cost"] = res.cost
        out[f"{i}_samples"] = res.samples
    return out


if __name__ == "__main__":
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                        f"golden_plans-{host_cpu()}.npz")
    np.savez_compressed(path, **compute())
    print("wrote", path, file=sys.stderr)
