"""The engine: everything that plans, and nothing that knows of sweeps, files or the paper.

jit (the one JIT policy), fastmath, rng, errors, registry (+ builtins: the paper's entries),
geometry, world, cost, metrics, problem, api (plan / plan_batch), planners/.
"""
from . import registry  # noqa: F401  (light: no Numba import)
