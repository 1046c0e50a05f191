"""Names the CLI offers, read from fastplan's registry (the only list of planners, geometries
and world models; it loads light metadata, not kernels, so ``--help`` stays quick)."""
from __future__ import annotations

from collections.abc import Sequence

from fastplan.engine import registry
from fastplan.engine.planners import GEOMETRY_USAGES, GRADIENT_MODES  # noqa: F401  (re-exported)


class _LiveNames(Sequence):
    """The names of a registry, read each time they are used (so entries registered after
    the CLI module was imported, e.g. in a notebook or a test, are valid choices)."""

    def __init__(self, reg):
        self._reg = reg

    def _names(self) -> tuple:
        return self._reg().names()

    def __getitem__(self, i):
        return self._names()[i]

    def __len__(self):
        return len(self._names())

    def __repr__(self):
        return repr(self._names())


#: Every registered planner / geometry (the paper's first, then built-in extensions and plugins).
PLANNERS = _LiveNames(registry.planners)
GEOMETRY_KINDS = _LiveNames(registry.geometries)
#: Defaults of grid commands: the paper's planners and geometries.
PAPER_PLANNERS = registry.planners().names(paper=True)
PAPER_GEOMETRY_KINDS = registry.geometries().names(paper=True)


def canonical_geometry(name: str) -> str:
    """Resolve a geometry name or alias (``sparse-ebm``, ``VQ-VAE``) to its kind."""
    return registry.geometries().canonical(name)
