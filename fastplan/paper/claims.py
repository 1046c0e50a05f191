"""The paper's qualitative claims, each checked against data.

Every claim is a function of a :class:`fastplan.paper.results.Results` that returns a
:class:`Claim` with a verdict computed from the data, never written by hand:

``supported``          the data satisfy the claim's definition below;
``not supported``      the data contradict it (the numbers say where);
``insufficient data``  the cells the claim needs are not in the results file (the
                       numbers say which), and what is there does not already contradict it.

Definitions (all goal distances are means over seeds; "at d=8" means d=8, h=8):

* *best / lowest* -- strictly lowest mean among the paper's five planners; a tie is not
  a win.  Every planner must be present, unless a present planner already beats the
  claimed winner (then the claim is not supported whatever the missing ones do).
* *geometry-averaged goal distance* G(planner, d) -- per seed, the mean over the three
  geometries at h=8; then the mean over seeds (the paper's Figure 4).
* *superlinear* -- the least-squares slope of log G(planner, d) against log d, over all
  dimensions in the file (at least the paper's d = 4, 8, 16), is greater than 1.
* *~6x* -- G(CEM, 16) / G(CEM, 4) lies within a factor 2 of 6, i.e. in [3, 12].
* *consistency across geometries* -- max / min over the three geometries of the
  per-geometry mean goal distance at d=8, h=8 (1 = identical on every geometry).
* *variance over seeds* -- sample standard deviation (ddof=1) of goal distance over
  seeds on VAE, d=8, h=8.
* *improves with horizon* -- mean goal distance strictly decreases from each horizon to
  the next longer one (VAE, d=8; horizons 4, 8, 16 required).
* *highest / lowest amenability* -- at every dimension with all three geometries.
* *decreases with d* -- strictly lower at each larger dimension, for every geometry.
* *effective-dimension ranges* -- our [min, max] over d = 4, 8, 16, 32 of the mean
  effective dimension lies within 25 % of the paper's endpoints, for every geometry.
* *inversely related* -- Spearman rank correlation between mean amenability and mean
  effective dimension over all (geometry, d) cells is negative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import PAPER_GEOMETRIES as KINDS, PAPER_PLANNERS as PLANNERS, geometry_label, planner_label
from .results import BASE_D, BASE_GEOMETRY, BASE_H, PAPER_DIMS, PAPER_GEOMETRY_DIMS, PAPER_HORIZONS, Results
from .stats import fmt_num

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INSUFFICIENT = "insufficient data"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INSUFFICIENT)

#: Tolerances of the quantitative claims (stated in the report).
SIX_X_RANGE = (3.0, 12.0)
EFFECTIVE_DIMENSION_TOLERANCE = 0.25
EBM_FULL_RANK_FRACTION = 0.9


@dataclass
class Claim:
    """One qualitative claim of the paper and our verdict on it.

    Attributes
    ----------
    key : str
        Identifier (also the key in ``data/paper_values.json["claims"]``).
    statement : str
        The claim as the paper makes it.
    definition : str
        How it is tested here (precise, with thresholds).
    verdict : {"supported", "not supported", "insufficient data"}
    numbers : dict
        The numbers the verdict is computed from.
    detail : str
        One line with the deciding numbers.
    """

    key: str
    statement: str
    definition: str
    verdict: str
    numbers: dict = field(default_factory=dict)
    detail: str = ""


def combine(verdicts) -> str:
    """All supported -> supported; any not supported -> not supported; else insufficient."""
    verdicts = list(verdicts)
    if not verdicts:
        return INSUFFICIENT
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    if INSUFFICIENT in verdicts:
        return INSUFFICIENT
    return SUPPORTED


def _finite(x) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating, np.integer)) and math.isfinite(x)


def extreme_is(scores: dict, targets, lowest: bool = True, universe=PLANNERS) -> tuple[str, str]:
    """Verdict of "``targets`` are the ``len(targets)`` lowest (or highest) of ``scores``".

    ``scores`` maps each member of ``universe`` to a number or None (missing).  A tie
    with a non-target counts against the claim.
    """
    targets = list(targets)
    sign = 1.0 if lowest else -1.0
    present = {k: sign * v for k, v in scores.items() if _finite(v)}
    miss_t = [t for t in targets if t not in present]
    if miss_t:
        return INSUFFICIENT, f"missing: {', '.join(miss_t)}"
    worst_target = max(present[t] for t in targets)
    beaten_by = [k for k in present if k not in targets and present[k] <= worst_target]
    if beaten_by:
        return NOT_SUPPORTED, f"{', '.join(beaten_by)} {'≤' if lowest else '≥'} {', '.join(targets)}"
    missing = [k for k in universe if k not in present]
    if missing:
        return INSUFFICIENT, f"missing: {', '.join(missing)}"
    return SUPPORTED, ""


def _fmt_scores(scores: dict, metric="goal_distance", label=planner_label) -> str:
    return ", ".join(f"{label(k)} {fmt_num(v, metric) if _finite(v) else 'missing'}" for k, v in scores.items())


def _cell_means(res: Results, metric: str, geometry: str, d: int, h: int) -> dict:
    out = {}
    for p in PLANNERS:
        s = res.stat(metric, p, geometry, d, h)
        out[p] = None if s.empty else s.mean
    return out


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (NaN with < 2 points or y <= 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 2 or np.any(y <= 0) or np.any(x <= 0):
        return float("nan")
    lx, ly = np.log(x), np.log(y)
    dx = lx - lx.mean()
    return float(np.sum(dx * (ly - ly.mean())) / np.sum(dx * dx))


def spearman(x, y) -> float:
    """Spearman rank correlation (average ranks for ties; NaN when undefined)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size < 3:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    if np.std(rx) == 0 or np.std(ry) == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(v.size)
    ranks[order] = np.arange(v.size, dtype=float)
    for val in np.unique(v):        # average ranks of ties
        tie = v == val
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    return ranks


def scaling(res: Results, planner: str, horizon: int = BASE_H) -> dict:
    """Geometry-averaged goal distance G(planner, d) at every dimension in ``res``.

    Returns a dict with ``dims``, ``G`` (means), ``std``, ``n`` for the dimensions where
    all three geometries are present, ``missing_dims`` for the others, and ``slope`` (the
    log-log least-squares slope, NaN with fewer than 2 dimensions).
    """
    dims, g, sd, n, missing = [], [], [], [], []
    for d in sorted(set(res.dims) | set(PAPER_DIMS)):
        s = res.geometry_average("goal_distance", planner, d, horizon)
        if s is None or s.empty:
            missing.append(d)
            continue
        dims.append(d)
        g.append(s.mean)
        sd.append(s.std)
        n.append(s.n)
    return {"dims": dims, "G": g, "std": sd, "n": n, "missing_dims": missing,
            "slope": loglog_slope(dims, g)}


# --------------------------------------------------------------------------- claims
def _best_at_d8(res, target, geometries, metric="goal_distance"):
    numbers, verdicts, parts = {}, [], []
    for g in geometries:
        means = _cell_means(res, metric, g, BASE_D, BASE_H)
        v, why = extreme_is(means, [target])
        numbers[g] = means
        verdicts.append(v)
        parts.append(f"{geometry_label(g)}: {_fmt_scores(means)}" + (f" ({why})" if why else ""))
    return combine(verdicts), numbers, "; ".join(parts)


def cem_best_ebm_vqvae_d8(res: Results):
    return _best_at_d8(res, "cem", ("ebm", "vqvae"))


def gradient_best_vae_d8(res: Results):
    return _best_at_d8(res, "gradient", ("vae",))


def mppi_worse_than_cem(res: Results):
    numbers, verdicts, parts = {}, [], []
    for g in KINDS:
        c = res.stat("goal_distance", "cem", g, BASE_D, BASE_H)
        m = res.stat("goal_distance", "mppi", g, BASE_D, BASE_H)
        numbers[g] = {"cem": None if c.empty else c.mean, "mppi": None if m.empty else m.mean}
        if c.empty or m.empty:
            verdicts.append(INSUFFICIENT)
            parts.append(f"{geometry_label(g)}: missing")
            continue
        verdicts.append(SUPPORTED if m.mean > c.mean else NOT_SUPPORTED)
        parts.append(f"{geometry_label(g)}: MPPI {fmt_num(m.mean)} vs CEM {fmt_num(c.mean)}")
    return combine(verdicts), numbers, "; ".join(parts)


def cem_lowest_all_dims(res: Results):
    numbers, verdicts, parts = {}, [], []
    dims = sorted(set(res.dims) | set(PAPER_DIMS))
    for d in dims:
        scores = {}
        for p in PLANNERS:
            s = res.geometry_average("goal_distance", p, d, BASE_H)
            scores[p] = None if s is None or s.empty else s.mean
        if not any(_finite(v) for v in scores.values()):
            if d in PAPER_DIMS:
                verdicts.append(INSUFFICIENT)
                parts.append(f"d={d}: missing")
            continue
        v, why = extreme_is(scores, ["cem"])
        numbers[str(d)] = scores
        verdicts.append(v)
        parts.append(f"d={d}: {v}" + (f" ({why})" if why else ""))
    return combine(verdicts), numbers, "geometry-averaged, h=8; " + "; ".join(parts)


def diffusion_smoothest(res: Results):
    means = _cell_means(res, "smoothness", BASE_GEOMETRY, BASE_D, BASE_H)
    v, why = extreme_is(means, ["diffusion"])
    numbers = {"smoothness": means}
    extra = ""
    if _finite(means.get("cem")) and _finite(means.get("diffusion")) and means["diffusion"] > 0:
        numbers["cem_over_diffusion"] = means["cem"] / means["diffusion"]
        extra = f"; CEM/diffusion = {numbers['cem_over_diffusion']:.2f}x (paper 2.9x)"
    return v, numbers, _fmt_scores(means, "smoothness") + (f" ({why})" if why else "") + extra


def diffusion_fewest_samples(res: Results):
    means = _cell_means(res, "samples", BASE_GEOMETRY, BASE_D, BASE_H)
    v, why = extreme_is(means, ["diffusion"])
    return v, {"samples": means}, _fmt_scores(means, "samples") + (f" ({why})" if why else "")


def gradient_sgld_most_samples(res: Results):
    means = _cell_means(res, "samples", BASE_GEOMETRY, BASE_D, BASE_H)
    v, why = extreme_is(means, ["gradient", "sgld"], lowest=False)
    return v, {"samples": means}, _fmt_scores(means, "samples") + (f" ({why})" if why else "")


def diffusion_most_consistent_geometries(res: Results):
    ratios, per = {}, {}
    for p in PLANNERS:
        m = [res.stat("goal_distance", p, g, BASE_D, BASE_H) for g in KINDS]
        per[p] = {g: (None if s.empty else s.mean) for g, s in zip(KINDS, m)}
        vals = [s.mean for s in m if not s.empty]
        ratios[p] = (max(vals) / min(vals)) if len(vals) == len(KINDS) and min(vals) > 0 else None
    v, why = extreme_is(ratios, ["diffusion"])
    same = [planner_label(p) for p in PLANNERS if _finite(ratios[p]) and ratios[p] - 1.0 < 1e-4]
    note = (f"; {', '.join(same)}: the same goal distance (to 1e-4) on every geometry, i.e. its result "
            "practically does not depend on the geometry" if same else "")
    return v, {"max_over_min": ratios, "means": per}, \
        "max/min across geometries: " + _fmt_scores(ratios) + (f" ({why})" if why else "") + note


def _seed_std(res, p):
    s = res.stat("goal_distance", p, BASE_GEOMETRY, BASE_D, BASE_H)
    return s.std if s.n >= 2 else None


def diffusion_lowest_seed_variance(res: Results):
    stds = {p: _seed_std(res, p) for p in PLANNERS}
    v, why = extreme_is(stds, ["diffusion"])
    return v, {"std_over_seeds": stds}, "std over seeds: " + _fmt_scores(stds) + (f" ({why})" if why else "")


def gradient_sgld_highest_seed_variance(res: Results):
    stds = {p: _seed_std(res, p) for p in PLANNERS}
    v, why = extreme_is(stds, ["gradient", "sgld"], lowest=False)
    return v, {"std_over_seeds": stds}, "std over seeds: " + _fmt_scores(stds) + (f" ({why})" if why else "")


def _slopes(res):
    out = {}
    for p in PLANNERS:
        sc = scaling(res, p)
        ok = set(PAPER_DIMS) <= set(sc["dims"])
        out[p] = (sc["slope"] if ok and _finite(sc["slope"]) else None, sc)
    return out


def superlinear_scaling(res: Results):
    sl = _slopes(res)
    verdicts, parts, numbers = [], [], {}
    for p, (slope, sc) in sl.items():
        numbers[p] = {"slope": slope, "dims": sc["dims"], "G": sc["G"], "missing_dims": sc["missing_dims"]}
        if slope is None:
            verdicts.append(INSUFFICIENT)
            parts.append(f"{planner_label(p)} missing d={','.join(map(str, sorted(set(PAPER_DIMS) - set(sc['dims']))))}")
        else:
            verdicts.append(SUPPORTED if slope > 1.0 else NOT_SUPPORTED)
            parts.append(f"{planner_label(p)} {slope:.2f}")
    return combine(verdicts), numbers, "log-log slopes: " + ", ".join(parts)


def diffusion_most_robust_scaling(res: Results):
    sl = _slopes(res)
    scores = {p: s for p, (s, _) in sl.items()}
    v, why = extreme_is(scores, ["diffusion"])
    return v, {"slope": scores}, "log-log slopes: " + _fmt_scores(scores) + (f" ({why})" if why else "")


def cem_degrades_6x(res: Results):
    a = res.geometry_average("goal_distance", "cem", 4, BASE_H)
    b = res.geometry_average("goal_distance", "cem", 16, BASE_H)
    if a is None or b is None or a.empty or b.empty or a.mean <= 0:
        return INSUFFICIENT, {}, "needs CEM on all three geometries at d=4 and d=16 (h=8)"
    ratio = b.mean / a.mean
    numbers = {"G_d4": a.mean, "G_d16": b.mean, "ratio": ratio}
    per_geom = {}
    for g in KINDS:
        s4, s16 = res.stat("goal_distance", "cem", g, 4, BASE_H), res.stat("goal_distance", "cem", g, 16, BASE_H)
        per_geom[g] = s16.mean / s4.mean if s4.mean > 0 else None
    numbers["ratio_per_geometry"] = per_geom
    lo, hi = SIX_X_RANGE
    v = SUPPORTED if lo <= ratio <= hi else NOT_SUPPORTED
    return v, numbers, (f"G(CEM, 16) / G(CEM, 4) = {fmt_num(b.mean)} / {fmt_num(a.mean)} = {ratio:.2f}x "
                        f"(per geometry: " + ", ".join(f"{geometry_label(g)} {r:.2f}x" for g, r in per_geom.items()
                                                       if _finite(r)) + ")")


def cem_improves_with_horizon(res: Results):
    hs = sorted(set(res.horizons) | set(PAPER_HORIZONS))
    means = {}
    for h in hs:
        s = res.stat("goal_distance", "cem", BASE_GEOMETRY, BASE_D, h)
        means[h] = None if s.empty else s.mean
    present = [h for h in hs if _finite(means[h])]
    detail = ", ".join(f"h={h} {fmt_num(means[h])}" for h in present) or "no CEM runs on VAE-8d"
    numbers = {str(h): means[h] for h in hs}
    decreasing = all(means[a] > means[b] for a, b in zip(present, present[1:]))
    if len(present) >= 2 and not decreasing:
        return NOT_SUPPORTED, numbers, detail
    if not set(PAPER_HORIZONS) <= set(present):
        return INSUFFICIENT, numbers, detail + f" (needs h={', '.join(map(str, PAPER_HORIZONS))})"
    return SUPPORTED, numbers, detail


def _gmeans(res: Results, metric: str) -> dict:
    """{d: {geometry: mean}} of a geometry metric (finite means only)."""
    out = {}
    for d in res.gdims:
        row = {}
        for g in KINDS:
            s = res.gstat(metric, g, d)
            if not s.empty:
                row[g] = s.mean
        out[d] = row
    return out


def _amenability_extreme(res: Results, target: str, highest: bool):
    table = _gmeans(res, "amenability")
    verdicts, parts = [], []
    for d, row in table.items():
        if len(row) < len(KINDS):
            continue
        v, _ = extreme_is(row, [target], lowest=not highest, universe=KINDS)
        verdicts.append(v)
        parts.append(f"d={d}: " + _fmt_scores(row, "amenability", geometry_label))
    if not verdicts:
        return INSUFFICIENT, {}, "no dimension with geometry metrics for all three geometries"
    return combine(verdicts), {str(d): r for d, r in table.items()}, "; ".join(parts)


def vqvae_highest_amenability(res: Results):
    return _amenability_extreme(res, "vqvae", highest=True)


def ebm_lowest_amenability(res: Results):
    return _amenability_extreme(res, "ebm", highest=False)


def amenability_decreases_with_d(res: Results):
    table = _gmeans(res, "amenability")
    verdicts, parts, numbers = [], [], {}
    for g in KINDS:
        series = [(d, row[g]) for d, row in table.items() if g in row]
        numbers[g] = {str(d): v for d, v in series}
        if len(series) < 2:
            verdicts.append(INSUFFICIENT)
            parts.append(f"{geometry_label(g)}: fewer than 2 dimensions")
            continue
        ok = all(a[1] > b[1] for a, b in zip(series, series[1:]))
        verdicts.append(SUPPORTED if ok else NOT_SUPPORTED)
        parts.append(f"{geometry_label(g)}: " + " → ".join(f"{v:.3f}" for _, v in series)
                     + f" (d={','.join(str(d) for d, _ in series)})")
    return combine(verdicts), numbers, "; ".join(parts)


def effective_dimension_ranges(res: Results, paper: dict | None = None):
    ranges = (paper or {}).get("effective_dimension_ranges") or {}
    table = _gmeans(res, "effective_dimension")
    verdicts, parts, numbers = [], [], {}
    tol = EFFECTIVE_DIMENSION_TOLERANCE
    for g in KINDS:
        pr = ranges.get(g)
        vals = {d: table.get(d, {}).get(g) for d in PAPER_GEOMETRY_DIMS}
        if pr is None or any(not _finite(v) for v in vals.values()):
            verdicts.append(INSUFFICIENT)
            miss = [str(d) for d, v in vals.items() if not _finite(v)]
            parts.append(f"{geometry_label(g)}: missing d={','.join(miss)}" if miss else f"{geometry_label(g)}: no paper range")
            continue
        lo, hi = min(vals.values()), max(vals.values())
        ok = abs(lo - pr[0]) <= tol * pr[0] and abs(hi - pr[1]) <= tol * pr[1]
        numbers[g] = {"ours": [lo, hi], "paper": list(pr), "by_d": {str(d): v for d, v in vals.items()}}
        verdicts.append(SUPPORTED if ok else NOT_SUPPORTED)
        parts.append(f"{geometry_label(g)}: ours {lo:.2f}–{hi:.2f} vs paper {pr[0]}–{pr[1]}")
    return combine(verdicts), numbers, "; ".join(parts)


def effective_dimension_order(res: Results):
    table = _gmeans(res, "effective_dimension")
    verdicts, parts, numbers = [], [], {}
    for d, row in table.items():
        if len(row) < len(KINDS):
            continue
        numbers[str(d)] = row
        ebm_top, _ = extreme_is(row, ["ebm"], lowest=False, universe=KINDS)
        vq_low, _ = extreme_is(row, ["vqvae"], lowest=True, universe=KINDS)
        full = row["ebm"] / d >= EBM_FULL_RANK_FRACTION
        verdicts.append(combine([ebm_top, vq_low, SUPPORTED if full else NOT_SUPPORTED]))
        parts.append(f"d={d}: " + _fmt_scores(row, "effective_dimension", geometry_label)
                     + f" (EBM d_eff/d = {row['ebm'] / d:.2f})")
    if not verdicts:
        return INSUFFICIENT, {}, "no dimension with finite effective dimensions for all three geometries"
    return combine(verdicts), numbers, "; ".join(parts)


def amenability_inverse_effective_dimension(res: Results):
    am, de = _gmeans(res, "amenability"), _gmeans(res, "effective_dimension")
    xs, ys, cells = [], [], []
    for d in am:
        for g in KINDS:
            a, e = am[d].get(g), de.get(d, {}).get(g)
            if _finite(a) and _finite(e):
                xs.append(a)
                ys.append(e)
                cells.append(f"{g}-{d}")
    rho = spearman(xs, ys)
    rho_ratio = spearman(xs, [y / int(c.rsplit("-", 1)[1]) for y, c in zip(ys, cells)]) if xs else float("nan")
    numbers = {"spearman": rho, "spearman_vs_d_eff_over_d": rho_ratio, "cells": len(xs)}
    if len(xs) < 4 or not _finite(rho):
        return INSUFFICIENT, numbers, f"{len(xs)} (geometry, d) cells; need at least 4"
    return (SUPPORTED if rho < 0 else NOT_SUPPORTED), numbers, \
        f"Spearman ρ = {rho:.2f} over {len(xs)} (geometry, d) cells (ρ vs d_eff/d: {rho_ratio:.2f})"


#: (key, paper statement fallback, definition, check function) in report order.
CLAIMS = (
    ("cem_best_ebm_vqvae_d8", "CEM is best on sparse EBM and VQ-VAE at d=8.",
     "CEM has the strictly lowest mean goal distance of the five planners on Sparse-EBM and on VQ-VAE at d=8, h=8.",
     cem_best_ebm_vqvae_d8),
    ("gradient_best_vae_d8", "Gradient-based planning is best on VAE at d=8.",
     "Gradient has the strictly lowest mean goal distance of the five planners on VAE at d=8, h=8.",
     gradient_best_vae_d8),
    ("mppi_worse_than_cem", "MPPI underperforms CEM on all geometries.",
     "Mean goal distance of MPPI > CEM on each of the three geometries at d=8, h=8.", mppi_worse_than_cem),
    ("cem_lowest_all_dims", "CEM maintains the lowest goal distance at all dimensions.",
     "CEM has the strictly lowest geometry-averaged goal distance G at every dimension in the file (h=8; "
     "d = 4, 8, 16 required).", cem_lowest_all_dims),
    ("diffusion_smoothest", "Diffusion produces the smoothest trajectories.",
     "Diffusion has the strictly lowest mean smoothness (Eq. 11) of the five planners on VAE, d=8, h=8.",
     diffusion_smoothest),
    ("diffusion_fewest_samples", "Diffusion uses the fewest samples.",
     "Diffusion has the strictly lowest mean number of world-model rollouts on VAE, d=8, h=8.",
     diffusion_fewest_samples),
    ("gradient_sgld_most_samples", "Gradient-based and SGLD planning are the most expensive.",
     "Gradient and SGLD have the two highest mean sample counts on VAE, d=8, h=8.", gradient_sgld_most_samples),
    ("diffusion_most_consistent_geometries", "Diffusion is the most consistent planner across geometries.",
     "Diffusion has the strictly lowest max/min ratio across the three geometries of the per-geometry mean "
     "goal distance at d=8, h=8.", diffusion_most_consistent_geometries),
    ("diffusion_lowest_seed_variance", "Diffusion has the lowest variance across seeds.",
     "Diffusion has the strictly lowest sample std over seeds of goal distance on VAE, d=8, h=8.",
     diffusion_lowest_seed_variance),
    ("gradient_sgld_highest_seed_variance", "Gradient-based planning and SGLD show the highest variance across seeds.",
     "Gradient and SGLD have the two highest std over seeds of goal distance on VAE, d=8, h=8.",
     gradient_sgld_highest_seed_variance),
    ("superlinear_scaling", "Planning difficulty grows superlinearly with latent dimension for all planners.",
     "For every planner, the least-squares slope of log G(d) vs log d over all dimensions in the file "
     "(d = 4, 8, 16 required) is > 1, where G is the geometry-averaged mean goal distance at h=8.",
     superlinear_scaling),
    ("diffusion_most_robust_scaling", "Diffusion shows the most robust scaling with dimension.",
     "Diffusion has the strictly smallest log-log slope of G(d) (as above) of the five planners.",
     diffusion_most_robust_scaling),
    ("cem_degrades_6x", "CEM's goal distance grows ~6x from d=4 to d=16.",
     f"G(CEM, d=16) / G(CEM, d=4) is within a factor 2 of 6, i.e. in [{SIX_X_RANGE[0]:g}, {SIX_X_RANGE[1]:g}] "
     "(G geometry-averaged, h=8).", cem_degrades_6x),
    ("cem_improves_with_horizon", "CEM improves with longer horizons.",
     "CEM's mean goal distance on VAE, d=8 strictly decreases from each horizon to the next longer one "
     "(h = 4, 8, 16 required).", cem_improves_with_horizon),
    ("vqvae_highest_amenability", "VQ-VAE has the highest planning amenability.",
     "VQ-VAE's mean amenability (Eq. 12) is strictly the highest of the three geometries at every dimension.",
     vqvae_highest_amenability),
    ("ebm_lowest_amenability", "Sparse EBM has the lowest planning amenability.",
     "Sparse-EBM's mean amenability is strictly the lowest of the three geometries at every dimension.",
     ebm_lowest_amenability),
    ("amenability_decreases_with_d", "Amenability decreases with dimension for all geometries.",
     "For every geometry, mean amenability is strictly lower at each larger dimension in the file.",
     amenability_decreases_with_d),
    ("effective_dimension_ranges", "Effective dimension: VQ-VAE 2.9–5.2, VAE 3.0–5.8, sparse EBM 3.9–29.8.",
     f"For every geometry, our [min, max] over d = 4, 8, 16, 32 of the mean effective dimension (Eq. 13) is "
     f"within {EFFECTIVE_DIMENSION_TOLERANCE:.0%} of the paper's endpoints.", effective_dimension_ranges),
    ("effective_dimension_order", "Sparse EBM keeps nearly full rank; VQ-VAE has the lowest effective dimension.",
     f"At every dimension: Sparse-EBM has the highest and VQ-VAE the lowest mean effective dimension, and "
     f"Sparse-EBM's d_eff/d ≥ {EBM_FULL_RANK_FRACTION}.", effective_dimension_order),
    ("amenability_inverse_effective_dimension", "Amenability and effective dimension are inversely related.",
     "Spearman rank correlation between mean amenability and mean effective dimension over all (geometry, d) "
     "cells is < 0 (at least 4 cells).", amenability_inverse_effective_dimension),
)


def evaluate(res: Results, paper: dict | None = None) -> list[Claim]:
    """Check every claim in :data:`CLAIMS` against ``res``; the paper's wording from ``paper``."""
    statements = (paper or {}).get("claims") or {}
    out = []
    for key, fallback, definition, fn in CLAIMS:
        if fn is effective_dimension_ranges:
            verdict, numbers, detail = fn(res, paper)
        else:
            verdict, numbers, detail = fn(res)
        assert verdict in VERDICTS
        out.append(Claim(key=key, statement=statements.get(key, fallback), definition=definition,
                         verdict=verdict, numbers=numbers, detail=detail))
    return out


def paper_results(paper: dict) -> Results:
    """The paper's own per-cell numbers as one-seed :class:`Results` (Tables 1, 3 and 4).

    Lets the claim checker ask whether the paper's tables support the paper's text.
    Table 2 (ranges without geometry labels) and the geometry figures (ranges only)
    cannot be turned into cells, so claims that need them come out as insufficient data.
    """
    rows = []
    t1 = paper.get("table1", {})
    for p, by_g in t1.get("values", {}).items():
        for g, v in by_g.items():
            rows.append((p, g, t1.get("d", BASE_D), t1.get("horizon", BASE_H), v))
    t3 = paper.get("table3", {})
    for p, by_h in t3.get("values", {}).items():
        for h, v in by_h.items():
            if int(h) != BASE_H or not any(r[:4] == (p, t3.get("geometry", BASE_GEOMETRY), BASE_D, BASE_H)
                                           for r in rows):
                rows.append((p, t3.get("geometry", BASE_GEOMETRY), t3.get("d", BASE_D), int(h), v))
    t4 = paper.get("table4", {}).get("values", {})
    cols = {k: [] for k in ("planner", "geometry", "d", "horizon", "seed", "goal_distance", "smoothness", "samples")}
    for p, g, d, h, v in rows:
        extra = t4.get(p, {}) if (g, d, h) == (BASE_GEOMETRY, BASE_D, BASE_H) else {}
        for k, x in zip(("planner", "geometry", "d", "horizon", "seed", "goal_distance"), (p, g, d, h, 0, v)):
            cols[k].append(x)
        cols["smoothness"].append(extra.get("smoothness", np.nan))
        cols["samples"].append(extra.get("samples", np.nan))
    return Results(cols, None)
