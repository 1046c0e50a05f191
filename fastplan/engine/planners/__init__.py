"""The planners: parallel kernels that each plan a batch of P problems in one call.

Every planner is an entry of the planner registry (:mod:`fastplan.engine.registry`; the
paper's five are declared in :mod:`fastplan.engine.builtins`).  Its kernel module provides
``prepare(batch, hp, usage)`` and ``run(batch, hp, inputs)``.  ``lam`` (the lambda of Eq. 5)
is part of every planner's configuration because it defines the cost being minimised.

``PLANNERS``, ``LABELS`` and ``DEFAULTS`` are live views of the registry.
"""
from __future__ import annotations

from collections.abc import Mapping

from .. import registry

#: How the latent geometry enters the planners (see README, "Where the geometry enters").
GEOMETRY_USAGES = ("prior", "none")
#: Gradient estimators of the gradient and SGLD planners.
GRADIENT_MODES = registry.COMMON_RULES["gradient"]


class _DefaultsView(Mapping):
    """``{planner: {hyperparameter: default}}``, read from the registry (copies)."""

    def __getitem__(self, name):
        if name not in registry.planners():
            raise KeyError(name)
        return dict(registry.planner(name).defaults)

    def __iter__(self):
        return iter(registry.planners().names())

    def __len__(self):
        return len(registry.planners())

    def __repr__(self):
        return repr(dict(self))


DEFAULTS = _DefaultsView()


def __getattr__(name):
    if name == "PLANNERS":
        return registry.planners().names()
    if name == "LABELS":
        return {s.name: s.label for s in registry.planners()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def canonical_planner(name: str) -> str:
    """Validate a planner name (case-insensitive)."""
    return registry.planners().canonical(name)


def resolve(planner: str, overrides: dict | None = None) -> dict:
    """Full, validated hyperparameters of ``planner``: its defaults with ``overrides``."""
    return registry.planner(planner).resolve(overrides)


def n_elite(hp: dict) -> int:
    """Number of CEM elites: round(elite_fraction * population), at least 1."""
    return max(1, int(round(hp["elite_fraction"] * hp["population"])))
