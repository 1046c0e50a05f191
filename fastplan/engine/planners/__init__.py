"""The five planners of Sec. 2.3 and their paper hyperparameters.

Every planner is a parallel kernel that plans a batch of P independent problems in one
call (see :func:`fastplan.plan_batch`).  ``DEFAULTS`` holds the paper's values; any of
them can be overridden by name.  ``lam`` (the lambda of Eq. 5) is part of every
planner's configuration because it defines the cost being minimised.
"""
from __future__ import annotations

import math
import numbers

from ..errors import FastplanError

PLANNERS = ("cem", "mppi", "gradient", "sgld", "diffusion")
LABELS = {"cem": "CEM", "mppi": "MPPI", "gradient": "Gradient", "sgld": "SGLD", "diffusion": "Diffusion"}

#: How the latent geometry enters the planners (see README, "Where the geometry enters").
GEOMETRY_USAGES = ("prior", "none")
#: Gradient estimators of the gradient and SGLD planners.
GRADIENT_MODES = ("fd", "adjoint")

DEFAULTS: dict[str, dict] = {
    "cem": {"population": 200, "iterations": 10, "elite_fraction": 0.1, "lam": 0.1},
    "mppi": {"samples": 200, "iterations": 10, "noise_std": 0.8, "temperature": 1.0, "lam": 0.1},
    "gradient": {"iterations": 100, "lr": 0.05, "fd_eps": 1e-3, "gradient": "fd", "lam": 0.1},
    "sgld": {"iterations": 200, "step": 0.01, "noise": 0.005, "fd_eps": 1e-3, "gradient": "fd", "lam": 0.1},
    "diffusion": {"samples": 50, "steps": 20, "noise_scale": 0.3, "guidance": 2.0, "lam": 0.1},
}

_INT_PARAMS = {"population", "iterations", "samples", "steps"}
_STR_PARAMS = {"gradient": GRADIENT_MODES}
_OPEN_UNIT = {"elite_fraction"}           # in (0, 1]
_NONNEGATIVE = {"lam", "noise", "noise_scale", "guidance", "noise_std", "lr", "step"}
_POSITIVE = {"fd_eps", "temperature"}


def canonical_planner(name: str) -> str:
    """Validate a planner name (case-insensitive)."""
    key = str(name).strip().lower()
    if key not in PLANNERS:
        raise FastplanError(f"unknown planner {name!r}; choose from {', '.join(PLANNERS)}")
    return key


def resolve(planner: str, overrides: dict | None = None) -> dict:
    """Full, validated hyperparameters of ``planner``: the paper defaults with ``overrides``."""
    planner = canonical_planner(planner)
    hp = dict(DEFAULTS[planner])
    for key, value in (overrides or {}).items():
        if key not in hp:
            raise FastplanError(
                f"{planner} has no hyperparameter {key!r}; it has {', '.join(sorted(hp))}")
        hp[key] = _coerce(planner, key, value)
    if planner == "cem" and int(round(hp["elite_fraction"] * hp["population"])) < 1:
        raise FastplanError("cem: elite_fraction * population must keep at least one elite")
    return hp


def n_elite(hp: dict) -> int:
    """Number of CEM elites: round(elite_fraction * population), at least 1."""
    return max(1, int(round(hp["elite_fraction"] * hp["population"])))


def _coerce(planner, key, value):
    if key in _STR_PARAMS:
        v = str(value).strip().lower()
        if v not in _STR_PARAMS[key]:
            raise FastplanError(f"{planner}.{key} must be one of {', '.join(_STR_PARAMS[key])}, got {value!r}")
        return v
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise FastplanError(f"{planner}.{key} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise FastplanError(f"{planner}.{key} must be a finite number, got {value!r}")
    if key in _INT_PARAMS:
        if value != int(value) or value < 1:
            raise FastplanError(f"{planner}.{key} must be an integer >= 1, got {value!r}")
        return int(value)
    value = float(value)
    if key in _OPEN_UNIT and not 0 < value <= 1:
        raise FastplanError(f"{planner}.{key} must be in (0, 1], got {value}")
    if key in _NONNEGATIVE and value < 0:
        raise FastplanError(f"{planner}.{key} must be >= 0, got {value}")
    if key in _POSITIVE and value <= 0:
        raise FastplanError(f"{planner}.{key} must be > 0, got {value}")
    return value
