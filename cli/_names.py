"""Names the CLI offers, read from fastplan's registry (the only list of planners, geometries
and world models; it loads light metadata, not kernels, so ``--help`` stays quick)."""
from __future__ import annotations

from fastplan.engine import registry
from fastplan.engine.planners import GEOMETRY_USAGES, GRADIENT_MODES  # noqa: F401  (re-exported)

#: Every registered planner / geometry (the paper's first, then built-in extensions and plugins).
PLANNERS = registry.planners().names()
GEOMETRY_KINDS = registry.geometries().names()
#: Defaults of grid commands: the paper's planners and geometries.
PAPER_PLANNERS = registry.planners().names(paper=True)
PAPER_GEOMETRY_KINDS = registry.geometries().names(paper=True)


def canonical_geometry(name: str) -> str:
    """Resolve a geometry name or alias (``sparse-ebm``, ``VQ-VAE``) to its kind."""
    return registry.geometries().canonical(name)
