"""Registry entries of the planners beyond the paper: iCEM, MPPI with an adaptive temperature,
Adam on adjoint gradients and model-based diffusion (issue 14, item 5).

Light metadata only (kernel modules load on first use).  They are registered after the paper's
five (``paper=False``): the CLI, sweeps, warm-up and ``fastplan show`` list them, the paper's
tables, figures and claims never do (the paper layer keeps its own list).  Their stream ids are
fixed forever; a kernel draws its noise from the stream ``(PLAN_NOISE, iteration, stream id)``.
"""
from __future__ import annotations

from .errors import FastplanError
from .registry import PlannerSpec

#: Fixed random-stream ids (never renumbered; the paper's planners have 0-4).
STREAM_IDS = {"icem": 10, "amppi": 11, "adam": 12, "mbd": 13}


def _iterations(budget: float, per: float) -> int:
    return max(1, int(round(budget / per)))


def population_sizes(population: int, iterations: int, elites: int, decay: float) -> list:
    """iCEM's samples per iteration: ``N_0 = population``, ``N_i = max(2 elites, int(N_{i-1} /
    decay))`` (the decay of ``MpcICem``, floored at twice the elites)."""
    sizes = [int(population)]
    for _ in range(1, int(iterations)):
        sizes.append(max(2 * int(elites), int(sizes[-1] / decay)))
    return sizes


def _icem_rollouts(hp, T, d):
    return float(sum(population_sizes(hp["population"], hp["iterations"], hp["elites"], hp["decay"])))


def _icem_budget(hp, budget, T, d):
    """The iteration count whose decaying populations add up closest to the budget."""
    sizes = population_sizes(hp["population"], budget // (2 * hp["elites"]) + 2, hp["elites"], hp["decay"])
    total, best, best_gap = 0, 1, float("inf")
    for i, n in enumerate(sizes):
        total += n
        if abs(total - budget) < best_gap:
            best, best_gap = i + 1, abs(total - budget)
    return {**hp, "iterations": best}


def _icem_check(hp):
    if 2 * hp["elites"] > hp["population"]:
        raise FastplanError("icem: population must be at least twice the elites")
    if hp["keep_fraction"] > 1:
        raise FastplanError(f"icem.keep_fraction must be in [0, 1], got {hp['keep_fraction']}")
    if hp["decay"] < 1:
        raise FastplanError(f"icem.decay must be >= 1 (a population that shrinks), got {hp['decay']}")
    if hp["momentum"] >= 1:
        raise FastplanError(f"icem.momentum must be in [0, 1), got {hp['momentum']}")


def _adam_check(hp):
    for key in ("beta1", "beta2"):
        if hp[key] >= 1:
            raise FastplanError(f"adam.{key} must be in [0, 1), got {hp[key]}")


PLANNERS = (
    PlannerSpec(
        name="icem", label="iCEM", stream_id=STREAM_IDS["icem"], kernels="fastplan.engine.planners.icem",
        defaults={"population": 200, "iterations": 37, "elites": 20, "keep_fraction": 0.3, "decay": 1.25,
                  "beta": 2.0, "momentum": 0.1, "lam": 0.1},
        rules={"elites": "int", "keep_fraction": "nonneg", "decay": "pos", "beta": "nonneg",
               "momentum": "nonneg"},
        rollouts=_icem_rollouts, for_budget=_icem_budget, check=_icem_check,
        tiny={"population": 8, "iterations": 2, "elites": 2}, color="#8c564b", marker="P",
        description="iCEM (Pinneri et al. 2020): coloured noise, kept elites, decaying population"),
    PlannerSpec(
        name="amppi", label="MPPI (adaptive)", stream_id=STREAM_IDS["amppi"],
        kernels="fastplan.engine.planners.amppi",
        defaults={"samples": 50, "iterations": 40, "noise_std": 0.2, "ess": 0.05, "lam": 0.1},
        rules={"ess": "unit"},
        rollouts=lambda hp, T, d: hp["samples"] * hp["iterations"] + 1,
        for_budget=lambda hp, budget, T, d: {**hp, "iterations": _iterations(budget - 1, hp["samples"])},
        tiny={"samples": 4, "iterations": 1}, color="#e377c2", marker="X",
        description="MPPI with the temperature set for a target effective sample size"),
    PlannerSpec(
        name="adam", label="Adam (adjoint)", stream_id=STREAM_IDS["adam"],
        kernels="fastplan.engine.planners.adam",
        defaults={"iterations": 1000, "lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "lam": 0.1},
        rules={"beta1": "nonneg", "beta2": "nonneg", "eps": "pos"},
        rollouts=lambda hp, T, d: 2 * hp["iterations"] + 1,
        for_budget=lambda hp, budget, T, d: {**hp, "iterations": _iterations(budget - 1, 2)},
        check=_adam_check, tiny={"iterations": 2}, color="#17becf", marker="*",
        description="Adam on exact (adjoint) gradients of Eq. 5, keeps the cheapest iterate"),
    PlannerSpec(
        name="mbd", label="MBD", stream_id=STREAM_IDS["mbd"], kernels="fastplan.engine.planners.mbd",
        defaults={"samples": 50, "steps": 21, "temperature": 0.1, "noise": 0.5, "lam": 0.1},
        rollouts=lambda hp, T, d: hp["samples"] * hp["steps"] + 1,
        for_budget=lambda hp, budget, T, d: {**hp, "steps": _iterations(budget - 1, hp["samples"])},
        tiny={"samples": 4, "steps": 2}, color="#bcbd22", marker="h",
        description="Model-based diffusion (Pan et al. 2024): Monte-Carlo score from rollouts"),
)
