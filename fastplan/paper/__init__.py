"""The paper layer: the paper's own fixed lists, its values, results and statistics, tables,
figures, claims and the report.  It reads results files; it never plans.

The lists below are the paper's and are frozen: registering a new planner or geometry
never changes a table, figure or verdict about the paper's claims.  Entries beyond them
appear only in the report's own "beyond the paper" sections.
"""
from __future__ import annotations

#: The paper's five planners (Sec. 2.3), in its order.
PAPER_PLANNERS = ("cem", "mppi", "gradient", "sgld", "diffusion")
#: The paper's three geometries (Sec. 2.1), in its order.
PAPER_GEOMETRIES = ("vae", "ebm", "vqvae")

_FALLBACK_COLORS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939")
_FALLBACK_MARKERS = ("P", "X", "*", "h", "p", "<", ">")


def _spec(kind: str, name: str):
    from ..engine import registry
    reg = registry.planners() if kind == "planner" else registry.geometries()
    return reg.get(name) if name in reg else None


def planner_label(p: str) -> str:
    """Table/figure name of a planner (its registry label; the name itself if unregistered)."""
    s = _spec("planner", p)
    return s.label if s is not None else str(p)


def geometry_label(g: str) -> str:
    s = _spec("geometry", g)
    return s.label if s is not None else str(g)


def _fallback(name: str, options) -> str:
    import zlib
    return options[zlib.crc32(str(name).encode()) % len(options)]


def planner_style(p: str) -> tuple[str, str]:
    """(colour, marker) of a planner; a stable fallback for names the registry lacks."""
    s = _spec("planner", p)
    if s is not None:
        return s.color, s.marker
    return _fallback(p, _FALLBACK_COLORS), _fallback(p, _FALLBACK_MARKERS)


def geometry_style(g: str) -> tuple[str, str]:
    s = _spec("geometry", g)
    if s is not None:
        return s.color, s.marker
    return _fallback(g, _FALLBACK_COLORS), _fallback(g, _FALLBACK_MARKERS)


def planner_order(names) -> list:
    """Names in display order: the paper's five, then registered ones, then the rest."""
    from ..engine import registry
    reg = list(registry.planners().names())
    rank = {p: i for i, p in enumerate(list(PAPER_PLANNERS) + [p for p in reg if p not in PAPER_PLANNERS])}
    return sorted(dict.fromkeys(names), key=lambda p: (rank.get(p, len(rank)), str(p)))
