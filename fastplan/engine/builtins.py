"""The paper's registry entries: five planners (Sec. 2.3), three geometries (Sec. 2.1) and the
world model of Eq. 4; and the geometry-aware planners beyond the paper (issue 13).  Light
metadata only: kernel modules load on first use.

Stream ids are fixed forever (they address random streams; see :mod:`.registry`).  The
geometries keep the ids they had as positions of the old ``KINDS`` tuple (vae 0, ebm 1,
vqvae 2), so every stored result stays reproducible.
"""
from __future__ import annotations

from .beyond import PLANNERS as BEYOND_PLANNERS
from .errors import FastplanError
from .registry import GeometrySpec, PlannerSpec, WorldSpec, _GEOMETRIES, _PLANNERS, _WORLDS


def _cem_check(hp: dict) -> None:
    if int(round(hp["elite_fraction"] * hp["population"])) < 1:
        raise FastplanError("cem: elite_fraction * population must keep at least one elite")


def _descent_rollouts(hp: dict, T: int, d: int) -> float:
    # finite differences re-roll only from the perturbed step on, and cheaply (measured)
    per = 2 if hp.get("gradient") == "adjoint" else (T * d + 1) * 4.0 / max(d, 4)
    return hp["iterations"] * per


def _fd_per_iteration(hp: dict, T: int, d: int) -> int:
    """Rollouts of one descent iteration: T*d + 1 forward differences, or 2 (adjoint)."""
    return 2 if hp.get("gradient") == "adjoint" else T * d + 1


def _iterations(budget: float, per: float) -> int:
    return max(1, int(round(budget / per)))


# for_budget(hp, budget, T, d) -> hp: the iteration count (denoising steps for diffusion) whose
# rollouts, as the kernels count them, come closest to the budget.
def _cem_budget(hp, budget, T, d):          # population x iterations
    return {**hp, "iterations": _iterations(budget, hp["population"])}


def _mppi_budget(hp, budget, T, d):         # samples x iterations
    return {**hp, "iterations": _iterations(budget, hp["samples"])}


def _gradient_budget(hp, budget, T, d):     # iterations x (T d + 1), or x 2 (adjoint)
    return {**hp, "iterations": _iterations(budget, _fd_per_iteration(hp, T, d))}


def _sgld_budget(hp, budget, T, d):         # iterations x (T d + 1) + 1 final evaluation
    return {**hp, "iterations": _iterations(budget - 1, _fd_per_iteration(hp, T, d))}


def _diffusion_budget(hp, budget, T, d):    # samples x steps guidance rollouts + samples final
    return {**hp, "steps": _iterations(budget - hp["samples"], hp["samples"])}


_TINY = {"population": 10, "iterations": 1, "samples": 2, "steps": 1}
#: The prior-penalised cost (``prior_weight``; engine/planners/_manifold.py): every planner here
#: implements it (through the cost bundle's rollout, sequence cost and gradients).
_PRIOR = ("prior_weight",)

PLANNERS = (
    PlannerSpec(
        name="cem", label="CEM", stream_id=0, paper=True, kernels="fastplan.engine.planners.cem",
        defaults={"population": 200, "iterations": 10, "elite_fraction": 0.1, "lam": 0.1},
        rollouts=lambda hp, T, d: hp["population"] * hp["iterations"], for_budget=_cem_budget,
        tiny=_TINY,
        check=_cem_check, color="#1f77b4", marker="o",
        cost_options=_PRIOR,
        description="Cross-Entropy Method: diagonal Gaussian refit to the elites"),
    PlannerSpec(
        name="mppi", label="MPPI", stream_id=1, paper=True, kernels="fastplan.engine.planners.mppi",
        defaults={"samples": 200, "iterations": 10, "noise_std": 0.8, "temperature": 1.0, "lam": 0.1},
        rollouts=lambda hp, T, d: hp["samples"] * hp["iterations"], for_budget=_mppi_budget,
        tiny=_TINY,
        color="#ff7f0e", marker="s",
        cost_options=_PRIOR,
        description="Model-predictive path integral: exponentially weighted perturbations (Eq. 6)"),
    PlannerSpec(
        name="gradient", label="Gradient", stream_id=2, paper=True,
        kernels="fastplan.engine.planners.gradient",
        defaults={"iterations": 100, "lr": 0.05, "fd_eps": 1e-3, "gradient": "fd", "lam": 0.1},
        rollouts=_descent_rollouts, for_budget=_gradient_budget, tiny=_TINY, color="#2ca02c",
        marker="^",
        cost_options=_PRIOR,
        description="Gradient descent on Eq. 5 (Eq. 7), finite differences or adjoint"),
    PlannerSpec(
        name="sgld", label="SGLD", stream_id=3, paper=True, kernels="fastplan.engine.planners.sgld",
        defaults={"iterations": 200, "step": 0.01, "noise": 0.005, "fd_eps": 1e-3, "gradient": "fd",
                  "lam": 0.1},
        rollouts=_descent_rollouts, for_budget=_sgld_budget, tiny=_TINY, color="#d62728",
        marker="v",
        cost_options=_PRIOR,
        description="Stochastic gradient Langevin dynamics (Eq. 8), keeps the cheapest iterate"),
    PlannerSpec(
        name="diffusion", label="Diffusion", stream_id=4, paper=True,
        kernels="fastplan.engine.planners.diffusion",
        defaults={"samples": 50, "steps": 20, "noise_scale": 0.3, "guidance": 2.0, "lam": 0.1},
        rollouts=lambda hp, T, d: hp["samples"] * hp["steps"], for_budget=_diffusion_budget,
        tiny=_TINY,
        color="#9467bd", marker="D",
        cost_options=_PRIOR,
        description="Guidance diffusion (Eq. 9-10): denoising steps guided by the goal gradient"),
)

_CEM_DEFAULTS = {"population": 200, "iterations": 10, "elite_fraction": 0.1, "lam": 0.1}

# Geometry-aware planners (issue 13; README "Beyond the paper"): not the paper's, so never in
# its tables, figures or verdicts.  Stream ids 5-8, fixed.
GEOMETRY_PLANNERS = (
    PlannerSpec(
        name="score-diffusion", label="Score diffusion", stream_id=5,
        kernels="fastplan.engine.planners.score_diffusion",
        defaults={"samples": 50, "steps": 20, "noise_scale": 0.3, "guidance": 2.0, "eta": 1.0,
                  "lam": 0.1},
        rollouts=lambda hp, T, d: hp["samples"] * hp["steps"], for_budget=_diffusion_budget,
        tiny=_TINY, cost_options=_PRIOR, color="#e377c2", marker="d",
        description="Eq. 9 with eta v_min grad log p_geom(a) beside the goal guidance"),
    PlannerSpec(
        name="projected-cem", label="Projected CEM", stream_id=6,
        kernels="fastplan.engine.planners.projected_cem", defaults=dict(_CEM_DEFAULTS),
        rollouts=lambda hp, T, d: hp["population"] * hp["iterations"], for_budget=_cem_budget,
        tiny=_TINY, check=_cem_check, cost_options=_PRIOR, color="#8c564b", marker="P",
        description="CEM with every sample projected onto the geometry before its rollout"),
    PlannerSpec(
        name="projected-mppi", label="Projected MPPI", stream_id=7,
        kernels="fastplan.engine.planners.projected_mppi",
        defaults={"samples": 200, "iterations": 10, "noise_std": 0.8, "temperature": 1.0, "lam": 0.1},
        rollouts=lambda hp, T, d: hp["samples"] * hp["iterations"], for_budget=_mppi_budget,
        tiny=_TINY, cost_options=_PRIOR, color="#bcbd22", marker="X",
        description="MPPI rolling out projections of its samples; plans proj(mean)"),
    PlannerSpec(
        name="codebook-cem", label="Codebook CEM", stream_id=8,
        kernels="fastplan.engine.planners.codebook_cem", defaults=dict(_CEM_DEFAULTS),
        rollouts=lambda hp, T, d: hp["population"] * hp["iterations"], for_budget=_cem_budget,
        tiny=_TINY, check=_cem_check, cost_options=_PRIOR, color="#17becf", marker="*",
        geometry_check="fastplan.engine.planners.codebook_cem:check_geometry",
        description="CEM over codebook entries: a categorical law over the K codes at each step"),
)

GEOMETRIES = (
    GeometrySpec(name="vae", label="VAE", stream_id=0, paper=True, color="#1b9e77", marker="o",
                 factory="fastplan.engine.geometry:_make_vae",
                 description="Eq. 1: mixture of 8 Gaussians, centres ~ N(0, 4I), variance 0.25"),
    GeometrySpec(name="ebm", label="Sparse-EBM", stream_id=1, paper=True, color="#d95f02",
                 marker="s", aliases=("sparse-ebm", "sparse_ebm"),
                 factory="fastplan.engine.geometry:_make_ebm",
                 description="Eq. 2: floor(0.3 d) active coordinates ~ N(0, 2.25), the rest 0"),
    GeometrySpec(name="vqvae", label="VQ-VAE", stream_id=2, paper=True, color="#7570b3",
                 marker="D", aliases=("vq-vae", "vq_vae"),
                 factory="fastplan.engine.geometry:_make_vqvae",
                 description="Eq. 3: 8 codes ~ N(0, 4I) plus N(0, 0.0025 I) noise"),
)

WORLDS = (
    WorldSpec(name="tanh", label="tanh(As+Ba+b)", stream_id=0, paper=True,
              factory="fastplan.engine.worlds.tanh:make_world",
              loader="fastplan.engine.worlds.tanh:TanhWorld.from_arrays",
              description="Eq. 4: s' = tanh(A s + B a + b), spectral radius of A 0.8"),
    WorldSpec(name="mlp", label="MLP", stream_id=1, factory=None,
              loader="fastplan.engine.worlds.mlp:MLPWorld.from_arrays",
              description="s' = f(s, a) or s + f(s, a): dense layers, tanh/relu/elu/identity"),
)

for _spec in PLANNERS + GEOMETRY_PLANNERS:
    _PLANNERS.register(_spec)
for _spec in BEYOND_PLANNERS:       # the planners beyond the paper, after its five
    _PLANNERS.register(_spec)
for _spec in GEOMETRIES:
    _GEOMETRIES.register(_spec)
for _spec in WORLDS:
    _WORLDS.register(_spec)
