"""Beyond the paper: does respecting the geometry pay?  (issue 13, item 4)

The experiment plans every problem with the paper's five planners, the geometry-aware ones
(score-guided diffusion, projected CEM and MPPI, codebook CEM on the codebook-like
geometries) and CEM with the prior-penalised cost, under decoded execution (the environment
receives each action projected onto the geometry, README "Latent geometries"), at h = 8 for
d = 4, 8, 16, 32.  For every (planner, geometry, d) it reports over seeds:

* the planned goal distance (what the planner's world model promises),
* the realised goal distance (what the decoded environment does),
* the exploitation gap (realised - planned) and the OOD rate of the planned actions,

each as ``mean [95% t interval] (n)`` (:mod:`.stats`), plus paired seed-bootstrap contrasts
(:func:`.stats.resample_indices`, :func:`.stats.interval`; seeds are paired across planners:
same world, start and goal) of each geometry-aware planner against its unaware base, and the
verdicts on the paper's hypothesis.  The paper layer's fixed lists and claims are untouched:
this is a section of its own.

Two baselines: ``a = 0`` in latent space (the paper's "doing nothing", stored with every run)
and ``a = 0`` executed the decoded way (its projection: the nearest code on the VQ-VAE, the
nearest VAE ball; 0 itself on the sparse EBM), recomputed here from (geometry, d, seed).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from . import PAPER_PLANNERS, geometry_label, planner_label, planner_style
from .stats import interval, make_stat, resample_indices

#: Geometry-aware planners (registry names) and the unaware planner each one modifies.
AWARE = ("score-diffusion", "projected-cem", "projected-mppi", "codebook-cem")
#: The prior-penalised cost in the experiment: CEM with this prior_weight (beta).
PRIOR_WEIGHT = 0.01
PRIOR_VARIANT = "cem+prior"
#: Rows of the experiment in display order: (variant key, planner, overrides, label).
VARIANTS = tuple([(p, p, {}, None) for p in PAPER_PLANNERS]
                 + [(PRIOR_VARIANT, "cem", {"prior_weight": PRIOR_WEIGHT}, f"CEM + prior (β = {PRIOR_WEIGHT:g})")]
                 + [(p, p, {}, None) for p in AWARE])
#: Paired contrasts (aware, unaware base): realised goal distance, aware minus base.
PAIRS = (("projected-cem", "cem"), (PRIOR_VARIANT, "cem"), ("codebook-cem", "cem"),
         ("projected-mppi", "mppi"), ("score-diffusion", "diffusion"))
GEOMETRIES = ("vae", "ebm", "vqvae")
CODEBOOK_GEOMETRIES = ("vae", "vqvae")          # codebook CEM: the mixtures' codes / modes
DIMS = (4, 8, 16, 32)
HORIZON = 8
BASE_D = 8
SEEDS = 20
QUICK = {"dims": (4, 8), "seeds": 3}
METRICS = ("goal_distance", "realised_goal_distance", "exploitation_gap", "ood_rate")
METRIC_LABELS = {"goal_distance": "planned", "realised_goal_distance": "realised",
                 "exploitation_gap": "gap", "ood_rate": "OOD rate"}
PRIOR_STYLE = ("#393b79", "h")


def variant_label(key: str) -> str:
    for k, _, _, label in VARIANTS:
        if k == key:
            return label or planner_label(k)
    return key


def variant_style(key: str) -> tuple[str, str]:
    return PRIOR_STYLE if key == PRIOR_VARIANT else planner_style(key)


# --------------------------------------------------------------------------- the sweeps
def beyond_sweeps(seeds: int = SEEDS, dims=DIMS, quick: bool = False) -> list[dict]:
    """Keyword arguments of :func:`fastplan.runs.sweep.run_sweep` for the experiment: every
    planner under decoded execution at h = 8 (codebook CEM on the VAE and VQ-VAE only; the
    CEM + prior variant as an override), no geometry metrics."""
    if quick:
        dims, seeds = QUICK["dims"], QUICK["seeds"]
    common = {"dims": list(dims), "horizons": [HORIZON], "seeds": list(range(int(seeds))),
              "execution": "decoded", "metric_samples": 0}
    plain = [p for p in PAPER_PLANNERS] + [p for p in AWARE if p != "codebook-cem"]
    return [{**common, "planners": plain, "geometries": list(GEOMETRIES)},
            {**common, "planners": ["codebook-cem"], "geometries": list(CODEBOOK_GEOMETRIES)},
            {**common, "planners": ["cem"], "geometries": list(GEOMETRIES),
             "overrides": {"cem": {"prior_weight": PRIOR_WEIGHT}}}]


def run_beyond(out_dir: str, *, seeds: int = SEEDS, quick: bool = False, threads: int | None = None,
               progress=None, command_line: str | None = None) -> dict:
    """Run the experiment's sweeps into ``out_dir/beyond.h5`` (resuming) and write its report
    (:func:`write_beyond`) into ``out_dir``."""
    from ..runs.sweep import run_sweep
    from .report import _prepare_out_dir
    out_dir = _prepare_out_dir(out_dir)
    path = os.path.join(out_dir, "beyond.h5")
    for kw in beyond_sweeps(seeds, quick=quick):
        run_sweep(path, threads=threads, progress=progress, command_line=command_line, **kw)
    out = write_beyond(path, out_dir)
    out["results"] = path
    return out


# --------------------------------------------------------------------------- the data
def _variant(planner: str, hp_json: str, execution: str) -> str | None:
    """The experiment's variant key of a run (None: not one of the experiment's runs)."""
    if execution != "decoded":
        return None
    try:
        hp = json.loads(hp_json)
    except (TypeError, ValueError):
        return None
    beta = float(hp.get("prior_weight", 0.0))
    if beta == 0.0 and planner in PAPER_PLANNERS + AWARE:
        return planner
    if planner == "cem" and beta == PRIOR_WEIGHT:
        return PRIOR_VARIANT
    return None


@dataclass
class BeyondData:
    """Per (variant, geometry, d): ``{metric: {seed: value}}``; baselines per (geometry, d):
    ``{"zero": {seed: value}, "zero_decoded": {seed: value}}``."""

    cells: dict
    baselines: dict
    variants: list
    geometries: list
    dims: list
    seeds: list

    def values(self, metric, variant, geometry, d) -> dict:
        return self.cells.get((variant, geometry, int(d)), {}).get(metric, {})

    def stat(self, metric, variant, geometry, d):
        return make_stat([v for _, v in sorted(self.values(metric, variant, geometry, d).items())])

    def base_stat(self, name, geometry, d):
        return make_stat([v for _, v in sorted(self.baselines.get((geometry, int(d)), {}).get(name, {}).items())])


def collect(records: dict, horizon: int = HORIZON) -> BeyondData:
    """The experiment's runs of a results file's records (columns of :func:`fastplan.load`),
    with the decoded ``a = 0`` baseline recomputed for every (geometry, d, seed)."""
    from ..engine.geometry import canonical_kind
    cells: dict = {}
    zero: dict = {}
    n = len(records["planner"])
    for i in range(n):
        if int(records["horizon"][i]) != horizon:
            continue
        if "arithmetic" in records and str(records["arithmetic"][i]) not in ("exact", ""):
            continue            # FASTPLAN_ARITHMETIC=fast runs are never the experiment's
        execution = str(records["execution"][i]) if "execution" in records else "latent"
        key = _variant(str(records["planner"][i]), records["hyperparameters"][i], execution)
        if key is None:
            continue
        g, d, s = canonical_kind(str(records["geometry"][i])), int(records["d"][i]), int(records["seed"][i])
        cell = cells.setdefault((key, g, d), {m: {} for m in METRICS})
        for m in METRICS:
            cell[m][s] = float(records[m][i])
        zero.setdefault((g, d), {})[s] = float(records["zero_action_distance"][i])
    baselines = {gd: {"zero": z, "zero_decoded": _decoded_zero(gd[0], gd[1], sorted(z), horizon)}
                 for gd, z in zero.items()}
    present = {k[0] for k in cells}
    return BeyondData(cells=cells, baselines=baselines,
                      variants=[v[0] for v in VARIANTS if v[0] in present],
                      geometries=[g for g in GEOMETRIES if any(k[1] == g for k in cells)],
                      dims=sorted({k[2] for k in cells}),
                      seeds=sorted({s for c in cells.values() for s in c["goal_distance"]}))


def _decoded_zero(geometry: str, d: int, seeds, horizon: int) -> dict:
    """Realised goal distance of ``a = 0`` executed the decoded way, per seed."""
    from ..engine.manifold import execute_decoded
    from ..engine.problem import make_problem
    zeros = np.zeros((horizon, d))
    return {s: execute_decoded(make_problem(geometry, d, horizon, s), zeros)["goal_distance"] for s in seeds}


# --------------------------------------------------------------------------- paired contrasts
@dataclass
class Contrast:
    """A contrast θ with its paired-bootstrap interval and verdict."""

    name: str
    geometry: str
    d: str
    estimate: float
    lo: float
    hi: float
    n: int

    @property
    def verdict(self) -> str:
        if not np.isfinite(self.lo):
            return "undecided"
        if self.lo > 0:
            return "supported"
        if self.hi < 0:
            return "contradicted"
        return "undecided"

    def fmt(self) -> str:
        if not np.isfinite(self.estimate):
            return "—"
        return f"{self.estimate:+.3f} [{self.lo:+.3f}, {self.hi:+.3f}]"


def _matrix(data: BeyondData, variants, geometry, dims, metric="realised_goal_distance"):
    """Per-seed values (n_seeds, len(variants)), each the mean over ``dims`` of the seed's
    values (NaN where a seed lacks a cell), and the seeds."""
    seeds = data.seeds
    out = np.full((len(seeds), len(variants)), np.nan)
    for j, v in enumerate(variants):
        per_d = [data.values(metric, v, geometry, d) for d in dims]
        if any(not m for m in per_d):
            continue
        for i, s in enumerate(seeds):
            if all(s in m for m in per_d):
                out[i, j] = float(np.mean([m[s] for m in per_d]))
    return out, seeds


def _boot(theta_fn, X: np.ndarray, name, geometry, d_label) -> Contrast:
    """θ = theta_fn(column means) on the data and on every paired resample of the seeds
    (rows with a NaN are dropped first: every cell keeps the same seeds)."""
    X = X[np.all(np.isfinite(X), axis=1)]
    n = X.shape[0]
    if n < 2:
        return Contrast(name, geometry, d_label, np.nan, np.nan, np.nan, n)
    idx = resample_indices(n)
    theta = np.array([theta_fn(X[r].mean(axis=0)) for r in idx])
    iv = interval(theta, n)
    return Contrast(name, geometry, d_label, iv.estimate, iv.lo, iv.hi, n)


def pair_contrasts(data: BeyondData) -> list[Contrast]:
    """Base minus aware realised goal distance (> 0: respecting the geometry pays), per pair
    and geometry, at d = 8 and averaged over every d of the file."""
    out = []
    for aware, base in PAIRS:
        for g in data.geometries:
            for d_label, dims in ((str(BASE_D), [BASE_D]), ("all", data.dims)):
                X, _ = _matrix(data, [base, aware], g, dims)
                out.append(_boot(lambda m: m[0] - m[1], X, f"{aware} vs {base}", g, d_label))
    return out


def hypothesis_contrasts(data: BeyondData) -> list[Contrast]:
    """The paper's hypothesis made testable, per geometry at d = 8 and over all d:

    * ``score diffusion best``: score-guided diffusion has the lowest realised goal distance
      of every planner (θ = min over the others of theirs minus its own);
    * ``score helps diffusion``: diffusion's realised distance minus score diffusion's;
    * ``a geometry-aware planner is best``: the lowest realised distance of the aware
      planners (and CEM + prior) below the lowest of the paper's five (θ = difference).
    """
    out = []
    aware = [v for v in data.variants if v not in PAPER_PLANNERS]
    paper = [v for v in data.variants if v in PAPER_PLANNERS]
    for g in data.geometries:
        for d_label, dims in ((str(BASE_D), [BASE_D]), ("all", data.dims)):
            vs = [v for v in data.variants if all(data.values("goal_distance", v, g, d) for d in dims)]
            if "score-diffusion" in vs and len(vs) > 1:
                others = [v for v in vs if v != "score-diffusion"]
                X, _ = _matrix(data, ["score-diffusion"] + others, g, dims)
                out.append(_boot(lambda m: np.min(m[1:]) - m[0], X, "score diffusion best", g, d_label))
            if "score-diffusion" in vs and "diffusion" in vs:
                X, _ = _matrix(data, ["diffusion", "score-diffusion"], g, dims)
                out.append(_boot(lambda m: m[0] - m[1], X, "score helps diffusion", g, d_label))
            a = [v for v in aware if v in vs]
            p = [v for v in paper if v in vs]
            if a and p:
                X, _ = _matrix(data, p + a, g, dims)
                k = len(p)
                out.append(_boot(lambda m, k=k: np.min(m[:k]) - np.min(m[k:]), X,
                                 "a geometry-aware planner is best", g, d_label))
    return out


# --------------------------------------------------------------------------- tables
def _cell(stat) -> str:
    return stat.fmt()


def table_base(data: BeyondData, d: int = BASE_D) -> list[str]:
    """Markdown: per geometry, every variant's planned and realised goal distance, gap and
    OOD rate at d (mean [95% CI] (n)), and the two baselines."""
    lines = []
    for g in data.geometries:
        lines += [f"**{geometry_label(g)}, d = {d}, h = {HORIZON}**", "",
                  "| Planner | planned | realised | gap | OOD rate |", "|---|:-:|:-:|:-:|:-:|"]
        for v in data.variants:
            if not data.values("goal_distance", v, g, d):
                continue
            lines.append(f"| {variant_label(v)} | " + " | ".join(_cell(data.stat(m, v, g, d)) for m in METRICS) + " |")
        z, zd = data.base_stat("zero", g, d), data.base_stat("zero_decoded", g, d)
        lines.append(f"| *a = 0 (latent)* | {_cell(z)} | — | — | — |")
        lines.append(f"| *a = 0 (decoded)* | — | {_cell(zd)} | — | — |")
        lines.append("")
    return lines


def table_dims(data: BeyondData, metric: str = "realised_goal_distance") -> list[str]:
    """Markdown: per geometry, ``metric`` by variant and d."""
    lines = []
    for g in data.geometries:
        lines += [f"**{geometry_label(g)}: {METRIC_LABELS[metric]} goal distance by d (h = {HORIZON})**", "",
                  "| Planner | " + " | ".join(f"d = {d}" for d in data.dims) + " |",
                  "|---|" + ":-:|" * len(data.dims)]
        for v in data.variants:
            if not any(data.values(metric, v, g, d) for d in data.dims):
                continue
            lines.append(f"| {variant_label(v)} | "
                         + " | ".join(_cell(data.stat(metric, v, g, d)) for d in data.dims) + " |")
        lines.append("| *a = 0 (decoded)* | " + " | ".join(_cell(data.base_stat("zero_decoded", g, d))
                                                          for d in data.dims) + " |")
        lines.append("")
    return lines


def table_contrasts(contrasts: list[Contrast], caption: str) -> list[str]:
    geoms = list(dict.fromkeys(c.geometry for c in contrasts))
    names = list(dict.fromkeys(c.name for c in contrasts))
    d_labels = list(dict.fromkeys(c.d for c in contrasts))
    head = [f"{geometry_label(g)} ({'d = ' + dl if dl != 'all' else 'mean over d'})"
            for g in geoms for dl in d_labels]
    lines = [caption, "", "| θ | " + " | ".join(head) + " |", "|---|" + ":-:|" * len(head)]
    by = {(c.name, c.geometry, c.d): c for c in contrasts}
    mark = {"supported": "✅", "contradicted": "❌", "undecided": "⚪"}
    for name in names:
        cells = []
        for g in geoms:
            for dl in d_labels:
                c = by.get((name, g, dl))
                cells.append("—" if c is None or not np.isfinite(c.estimate)
                             else f"{mark[c.verdict]} {c.fmt()}")
        lines.append(f"| {_contrast_label(name)} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _contrast_label(name: str) -> str:
    if " vs " in name:
        a, b = name.split(" vs ")
        return f"{variant_label(b)} − {variant_label(a)}"
    return name


def summary_lines(data: BeyondData, pairs: list[Contrast], hyp: list[Contrast]) -> list[str]:
    """Plain sentences drawn from the verdicts (what the data say, and where not)."""
    out = []
    by = {(c.name, c.geometry, c.d): c for c in pairs + hyp if np.isfinite(c.estimate)}
    for aware, base in PAIRS:
        name = f"{aware} vs {base}"
        yes = [g for g in data.geometries if by.get((name, g, "all")) and by[(name, g, "all")].verdict == "supported"]
        no = [g for g in data.geometries if by.get((name, g, "all")) and by[(name, g, "all")].verdict == "contradicted"]
        und = [g for g in data.geometries if by.get((name, g, "all")) and by[(name, g, "all")].verdict == "undecided"]
        if not (yes or no or und):
            continue
        part = []
        if yes:
            part.append("lowers the realised goal distance on " + ", ".join(geometry_label(g) for g in yes))
        if no:
            part.append("raises it on " + ", ".join(geometry_label(g) for g in no))
        if und:
            part.append("is undecided on " + ", ".join(geometry_label(g) for g in und))
        out.append(f"- {variant_label(aware)} (against {variant_label(base)}, mean over d): " + "; ".join(part) + ".")
    for name in ("score helps diffusion", "score diffusion best", "a geometry-aware planner is best"):
        cs = [by[(name, g, "all")] for g in data.geometries if (name, g, "all") in by]
        if cs:
            out.append(f"- *{name}* (mean over d): " + ", ".join(f"{geometry_label(c.geometry)} {c.verdict}"
                                                                  for c in cs) + ".")
    return out


# --------------------------------------------------------------------------- the figure
def figure(data: BeyondData, d: int = BASE_D):
    """Two rows, one column per geometry.  Top: the trade-off at d: goal distance against the
    OOD rate of the planned actions; each planner's planned distance (hollow) joined to its
    realised one (filled) by its exploitation gap, with ``a = 0`` latent (dotted) and decoded
    (dashed).  Bottom: realised goal distance against d (means over seeds)."""
    from matplotlib.figure import Figure
    from .plot import DIM_LABEL, TWO_COLUMN, _log2_x
    fig = Figure(figsize=(TWO_COLUMN, 5.2), layout="constrained")
    axes = fig.subplots(2, len(data.geometries), squeeze=False)
    top, bottom = axes[0], axes[1]
    handles = {}
    for j, g in enumerate(data.geometries):
        ax = top[j]
        for v in data.variants:
            if not data.values("goal_distance", v, g, d):
                continue
            c, mk = variant_style(v)
            x = data.stat("ood_rate", v, g, d).mean
            y0 = data.stat("goal_distance", v, g, d).mean
            y1 = data.stat("realised_goal_distance", v, g, d).mean
            ax.plot([x, x], [y0, y1], color=c, lw=1.0, alpha=0.8)
            ax.plot([x], [y0], marker=mk, mfc="white", mec=c, ls="", ms=5)
            h, = ax.plot([x], [y1], marker=mk, color=c, ls="", ms=5)
            handles[v] = h
        zl, zd = data.base_stat("zero", g, d).mean, data.base_stat("zero_decoded", g, d).mean
        ax.axhline(zl, color="0.4", ls=":", lw=0.9)
        ax.axhline(zd, color="0.4", ls="--", lw=0.9)
        ax.set_xlim(-0.05, 1.05)
        ax.set_title(f"{geometry_label(g)}, d = {d}")
        ax.set_xlabel("OOD rate of the planned actions")
        if j == 0:
            ax.set_ylabel("goal distance\n(hollow planned, filled realised)")
        ax.grid(alpha=0.3)
        axb = bottom[j]
        for v in data.variants:
            ds = [dd for dd in data.dims if data.values("realised_goal_distance", v, g, dd)]
            if not ds:
                continue
            c, mk = variant_style(v)
            ys = [data.stat("realised_goal_distance", v, g, dd).mean for dd in ds]
            axb.plot(ds, ys, color=c, marker=mk, ms=4, lw=1.1,
                     ls="--" if v in PAPER_PLANNERS else "-")
        axb.plot(data.dims, [data.base_stat("zero_decoded", g, dd).mean for dd in data.dims],
                 color="0.4", ls="--", lw=0.9)
        axb.plot(data.dims, [data.base_stat("zero", g, dd).mean for dd in data.dims],
                 color="0.4", ls=":", lw=0.9)
        _log2_x(axb, data.dims)
        axb.set_xlabel(DIM_LABEL)
        if j == 0:
            axb.set_ylabel("realised goal distance")
        axb.grid(alpha=0.3)
    from matplotlib.lines import Line2D
    labels = [variant_label(v) for v in handles]
    extra = [Line2D([], [], color="0.4", ls=":"), Line2D([], [], color="0.4", ls="--")]
    fig.legend(list(handles.values()) + extra, labels + ["a = 0 (latent)", "a = 0 (decoded)"],
               loc="outside lower center", ncol=6, frameon=False)
    return fig


# --------------------------------------------------------------------------- the report
def write_beyond(results_path: str, out_dir: str) -> dict:
    """Tables (``beyond.md``, ``beyond.csv``), verdicts (``beyond.json``) and the figure
    (``beyond_geometry.png/.pdf``) of the experiment's runs in ``results_path``."""
    from .figures import save
    from .plot import style
    from .report import _prepare_out_dir, _write_text, load_records
    out_dir = _prepare_out_dir(out_dir)
    data = collect(load_records(results_path))
    if not data.cells:
        from ..engine.errors import FastplanError
        raise FastplanError(f"{results_path} holds no runs of the experiment (decoded execution, "
                            f"h = {HORIZON}); run `fastplan beyond-geometry --out DIR`")
    pairs = pair_contrasts(data)
    hyp = hypothesis_contrasts(data)
    with style():
        fig = figure(data, BASE_D if BASE_D in data.dims else data.dims[0])
        fig_paths = save(fig, out_dir, "beyond_geometry")
    md = render(data, pairs, hyp)
    rows = []
    for (v, g, d), cell in sorted(data.cells.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        row = {"variant": v, "label": variant_label(v), "geometry": g, "d": d}
        for m in METRICS:
            st = data.stat(m, v, g, d)
            row.update({f"{m}_mean": st.mean, f"{m}_lo": st.ci[0], f"{m}_hi": st.ci[1], f"{m}_n": st.n})
        rows.append(row)
    csv = [",".join(rows[0])] + [",".join(_csv(x) for x in r.values()) for r in rows]
    verdicts = [{"contrast": c.name, "geometry": c.geometry, "d": c.d, "theta": c.estimate, "lo": c.lo,
                 "hi": c.hi, "n": c.n, "verdict": c.verdict} for c in pairs + hyp]
    return {"report": _write_text(os.path.join(out_dir, "beyond.md"), md),
            "csv": _write_text(os.path.join(out_dir, "beyond.csv"), "\n".join(csv) + "\n"),
            "json": _write_text(os.path.join(out_dir, "beyond.json"),
                                json.dumps(_finite(verdicts), indent=1) + "\n"),
            "figures": fig_paths, "contrasts": pairs + hyp, "data": data}


def _csv(x) -> str:
    if isinstance(x, float):
        return "" if not np.isfinite(x) else repr(x)
    return str(x)


def _finite(obj):
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, list):
        return [_finite(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    return obj


def render(data: BeyondData, pairs, hyp) -> str:
    """The experiment's report (Markdown)."""
    n = len(data.seeds)
    lines = ["# Beyond the paper: does respecting the geometry pay?", "",
             f"Decoded execution (each action projected onto the geometry before the world model sees it), "
             f"h = {HORIZON}, d in {{{', '.join(map(str, data.dims))}}}, seeds {data.seeds[0]}-{data.seeds[-1]} "
             f"({n}); paper hyperparameters; {variant_label(PRIOR_VARIANT)} is CEM on Eq. 5 + "
             f"β (1/T) Σ_t −log p(a_t). Cells: mean [95% t interval] (seeds). *planned*: the goal distance the "
             f"planner's world model promises; *realised*: what the decoded environment does; *gap* = realised − "
             f"planned; *OOD rate*: share of the planned actions outside the geometry's 99% region.", ""]
    lines += table_base(data)
    lines += table_dims(data)
    lines += table_contrasts(pairs, "**Respecting the geometry, paired over seeds: base minus geometry-aware realised "
                                    "goal distance (> 0: the geometry-aware planner ends closer; 95% paired "
                                    "seed-bootstrap interval; ✅ > 0, ❌ < 0, ⚪ undecided)**")
    lines += table_contrasts(hyp, "**The paper's hypothesis (diffusion that respects the geometry is the principled "
                                  "path), θ > 0 when it holds**")
    lines += ["**What the data say**", ""] + summary_lines(data, pairs, hyp) + [""]
    lines += ["![goal distance against OOD rate at d = 8 (planned hollow, realised filled) and realised goal "
              "distance against d](beyond_geometry.png)", ""]
    return "\n".join(lines)
