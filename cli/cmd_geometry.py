"""``fastplan geometry``: the geometry metrics of Sec. 2.4 per geometry and dimension, or of a
user's latent actions (``--latents latents.npy``, optionally with a geometry fitted to them)."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import click

from ._errors import friendly_errors
from ._names import GEOMETRY_KINDS, PAPER_GEOMETRY_KINDS, canonical_geometry
from ._options import _INT, MultiValueCommand, BoundedInt, ChoiceList, IntList, multi_option

FIT_KINDS = ("gmm", "kmeans", "empirical")   # fastplan.engine.geometry_fit.FIT_KINDS (light import)

DEFAULT_DIMS = (4, 8, 16, 32)
MAX_SEED = 2**63 - 1

_COLUMNS = [  # header, key, format
    ("geometry", "label", "{}"),
    ("d", "d", "{}"),
    ("d_eff", "effective_dimension", "{:.3f}"),
    ("d_eff/d", "effective_ratio", "{:.3f}"),
    ("mean dist", "mean_pairwise_distance", "{:.3f}"),
    ("concentration", "concentration", "{:.3f}"),
    ("amenability", "amenability", "{:.3f}"),
]


def compute_rows(dims, geometries, samples: int, seed: int) -> tuple[list[dict], list[str]]:
    """Metrics for every (geometry, d); returns the rows and the notes raised on the way.

    Each row is :func:`fastplan.metrics.geometry_metrics`'s dict plus ``label``, ``seed``,
    ``effective_ratio`` (d_eff / d) and ``concentration_definition``.
    """
    from fastplan.engine import budget
    from fastplan.engine.geometry import LABELS, make_geometry
    from fastplan.engine.metrics import CONCENTRATION_DEFINITION, geometry_metrics

    budget.check_metrics(samples, max(dims), "computing the geometry metrics")
    budget.warn_slow(sum(budget.metrics_seconds(samples, d) for d in dims) * len(geometries),
                     f"--samples {samples}: the geometry metrics (n^2/2 pairwise distances per geometry "
                     f"and d)", "the paper uses 4000 samples")
    rows, notes = [], []
    for kind in geometries:
        for d in dims:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                m = geometry_metrics(make_geometry(kind, d, seed), n=samples)
            notes.extend(str(w.message) for w in caught if str(w.message) not in notes)
            rows.append({
                "geometry": m["geometry"],
                "label": LABELS[m["geometry"]],
                "d": m["d"],
                "seed": seed,
                "n_samples": m["n_samples"],
                "effective_dimension": m["effective_dimension"],
                "effective_ratio": m["effective_dimension"] / m["d"],
                "mean_pairwise_distance": m["mean_pairwise_distance"],
                "concentration": m["concentration"],
                "amenability": m["amenability"],
                "concentration_definition": CONCENTRATION_DEFINITION,
            })
    return rows, notes


class CountOrFile(BoundedInt):
    """``--samples``: a number of samples (integer >= 2), or a latents file (anything else)."""

    name = "N|FILE"

    def convert(self, value, param, ctx):
        if isinstance(value, Path) or (isinstance(value, str) and not _INT.match(value.strip())):
            return Path(value)
        return super().convert(value, param, ctx)


def load_latents(path) -> "np.ndarray":  # noqa: F821 - numpy imported lazily
    """An (n, d) array of latents (:func:`fastplan.runs.inputs.load_latents`)."""
    from fastplan.runs.inputs import load_latents as load
    return load(path)


def latents_rows(x, name: str, samples: int, seed: int, fit: str | None, k: int,
                 covariance: str) -> tuple[list[dict], list[str]]:
    """Rows for a user's latents x (n, d): the metrics of the latents themselves (a seeded
    subsample of ``samples`` rows when n is larger) and, with ``fit``, of ``samples`` draws of
    the geometry fitted to them, with the fit's mean log-density of the latents and the
    fraction of latents outside its 99% high-density region."""
    import numpy as np

    from fastplan.engine import rng
    from fastplan.engine.geometry_fit import geometry_from_samples
    from fastplan.engine.metrics import CONCENTRATION_DEFINITION, geometry_metrics, sample_metrics

    n, d = x.shape
    rows, notes = [], []
    sub = x
    if n > samples:
        order = np.argsort(rng.uniforms(seed, rng.stream_id(rng.METRICS, 2), n), kind="stable")
        sub = x[np.sort(order[:samples])]
        notes.append(f"the latents' metrics use {samples} of their {n} rows (seeded subsample)")
    base = {"d": d, "seed": seed, "concentration_definition": CONCENTRATION_DEFINITION,
            "log_density_data": float("nan"), "ood_rate_data": float("nan")}
    m = sample_metrics(sub)
    rows.append({"geometry": "latents", "label": name, **base, "n_samples": int(sub.shape[0]), **m})
    if fit:
        geom = geometry_from_samples(x, kind=fit, k=k, seed=seed, covariance=covariance)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gm = geometry_metrics(geom, n=samples)
        notes.extend(str(w.message) for w in caught)
        rows.append({"geometry": fit, "label": f"{geom.label} fit", **base, "n_samples": samples,
                     **{key: gm[key] for key in m},
                     "log_density_data": float(np.mean(geom.log_density(x))),
                     "ood_rate_data": geom.ood_rate(x), "density": geom.density_note})
        notes.append(f"{geom.label} fit: {geom.density_note}")
    for row in rows:
        row["effective_ratio"] = row["effective_dimension"] / d
    return rows, notes


def _cell(fmt: str, value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return fmt.format(value)


_FIT_COLUMNS = [("log p(latents)", "log_density_data", "{:.3f}"), ("OOD(latents)", "ood_rate_data", "{:.4f}")]


def format_table(rows: list[dict], notes: list[str], samples: int, seed: int, title: str | None = None) -> str:
    """Aligned text table, one block per geometry, with footnotes."""
    from fastplan.engine.metrics import CONCENTRATION_DEFINITION

    columns = _COLUMNS + (_FIT_COLUMNS if len(rows) > 1 and "log_density_data" in rows[0] else [])
    header = [h for h, _, _ in columns]
    body = [[_cell(fmt, row[key]) for _, key, fmt in columns] for row in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]

    def line(cells):
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]).rstrip()

    out = [title or f"Geometry metrics (Sec. 2.4), {samples} samples per geometry, seed {seed}", "",
           line(header), "  ".join("-" * w for w in widths)]
    previous = None
    for row, cells in zip(rows, body):
        if previous is not None and row["geometry"] != previous and title is None:
            out.append("")
        out.append(line(cells))
        previous = row["geometry"]
    out += ["",
            "d_eff: participation ratio of the sample-covariance eigenvalues (Eq. 13).",
            "mean dist: mean pairwise Euclidean distance r between samples.",
            "concentration c: fraction of samples within 2 sigma of the mean "
            f"[{CONCENTRATION_DEFINITION}].",
            "amenability (Eq. 12): 0.4 c + 0.3 (1 - d_eff/d) + 0.3 / (1 + r / sqrt(d))."]
    if len(columns) > len(_COLUMNS):
        out += ["log p(latents): mean log-density of the latents under the fit; OOD(latents): "
                "fraction of them outside its 99% highest-density region."]
    out += [f"note: {n}" for n in notes]
    return "\n".join(out)


def _json_safe(rows: list[dict]) -> list[dict]:
    """NaN (undefined metric) -> null, so the output is strict JSON."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in rows]


@click.command("geometry", cls=MultiValueCommand)
@multi_option("--dims", "-d", type=IntList(min=1), default=DEFAULT_DIMS, show_default=True,
              metavar="D [D ...]", help="Latent dimensions d >= 1, e.g. --dims 4 8 16 32.")
@multi_option("--geometries", "-g", type=ChoiceList(GEOMETRY_KINDS, normalize=canonical_geometry),
              default=PAPER_GEOMETRY_KINDS, show_default=True, metavar="G [G ...]",
              help="Geometries: vae, ebm (sparse-ebm), vqvae (vq-vae), or all.")
@click.option("--samples", "-n", type=CountOrFile(min=2), default=4000, show_default=True,
              help="Samples drawn per geometry for the metrics (or, given a file name, the same "
                   "as --latents).")
@click.option("--seed", type=BoundedInt(min=0, max=MAX_SEED), default=0, show_default=True,
              help="Seed fixing the centers/codebook and the metric sample (and a fit's init).")
@click.option("--latents", type=click.Path(dir_okay=False), default=None,
              help="An (n, d) array of your latent actions (.npy, or .npz with one array): "
                   "its metrics instead of the paper's geometries.")
@click.option("--fit", type=click.Choice(FIT_KINDS, case_sensitive=False), default=None,
              help="With --latents: also fit this geometry to them and report it.")
@click.option("--k", "k", type=BoundedInt(min=1), default=8, show_default=True,
              help="Components (gmm) or codebook entries (kmeans) of --fit.")
@click.option("--covariance", type=click.Choice(("diag", "full")), default="diag", show_default=True,
              help="Covariance of the gmm fit's components.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of dicts instead of a table.")
@friendly_errors
def geometry(dims, geometries, samples, seed, latents, fit, k, covariance, as_json):
    """Effective dimension, mean pairwise distance, concentration and planning
    amenability (Sec. 2.4, Eq. 12-13) of each latent geometry at each dimension, or of
    your own latent actions (--latents, optionally --fit gmm|kmeans|empirical).

    \b
    Examples:
      fastplan geometry --dims 4 8 16 32
      fastplan geometry --dims 8 --geometries vae vq-vae --samples 10000 --json
      fastplan geometry --samples latents.npy --fit gmm --k 8
    """
    if isinstance(samples, Path):
        if latents is not None:
            raise click.ClickException("give the latents file once (--latents or --samples)")
        latents, samples = samples, 4000
    if latents is None:
        if fit is not None:
            raise click.ClickException("--fit needs --latents FILE (the latent actions to fit)")
    else:
        ctx = click.get_current_context()
        for name in ("dims", "geometries"):
            if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT:
                raise click.ClickException(f"--{name} does not apply to --latents (d is the file's)")
        x = load_latents(latents)
        rows, notes = latents_rows(x, Path(latents).name, samples, seed, fit and fit.lower(), k, covariance)
        if as_json:
            click.echo(json.dumps(_json_safe(rows), indent=2))
            for n in notes:
                click.echo(f"note: {n}", err=True)
        else:
            title = (f"Geometry metrics (Sec. 2.4) of {Path(latents).name}: {x.shape[0]} latents, "
                     f"d = {x.shape[1]}, {samples} samples, seed {seed}")
            click.echo(format_table(rows, notes, samples, seed, title=title))
        return
    rows, notes = compute_rows(dims, geometries, samples, seed)
    if as_json:
        click.echo(json.dumps(_json_safe(rows), indent=2))
        for n in notes:
            click.echo(f"note: {n}", err=True)
    else:
        click.echo(format_table(rows, notes, samples, seed))
