"""``fastplan geometry``: the geometry metrics of Sec. 2.4 per geometry and dimension."""
from __future__ import annotations

import json
import math
import warnings

import click

from ._errors import friendly_errors
from ._names import GEOMETRY_KINDS, PAPER_GEOMETRY_KINDS, canonical_geometry
from ._options import MultiValueCommand, BoundedInt, ChoiceList, IntList, multi_option

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


def _cell(fmt: str, value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return fmt.format(value)


def format_table(rows: list[dict], notes: list[str], samples: int, seed: int) -> str:
    """Aligned text table, one block per geometry, with footnotes."""
    from fastplan.engine.metrics import CONCENTRATION_DEFINITION

    header = [h for h, _, _ in _COLUMNS]
    body = [[_cell(fmt, row[key]) for _, key, fmt in _COLUMNS] for row in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]

    def line(cells):
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]).rstrip()

    out = [f"Geometry metrics (Sec. 2.4), {samples} samples per geometry, seed {seed}", "",
           line(header), "  ".join("-" * w for w in widths)]
    previous = None
    for row, cells in zip(rows, body):
        if previous is not None and row["geometry"] != previous:
            out.append("")
        out.append(line(cells))
        previous = row["geometry"]
    out += ["",
            "d_eff: participation ratio of the sample-covariance eigenvalues (Eq. 13).",
            "mean dist: mean pairwise Euclidean distance r between samples.",
            "concentration c: fraction of samples within 2 sigma of the mean "
            f"[{CONCENTRATION_DEFINITION}].",
            "amenability (Eq. 12): 0.4 c + 0.3 (1 - d_eff/d) + 0.3 / (1 + r / sqrt(d))."]
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
@click.option("--samples", "-n", type=BoundedInt(min=2), default=4000, show_default=True,
              help="Samples drawn per geometry for the metrics.")
@click.option("--seed", type=BoundedInt(min=0, max=MAX_SEED), default=0, show_default=True,
              help="Seed fixing the centers/codebook and the metric sample.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of dicts instead of a table.")
@friendly_errors
def geometry(dims, geometries, samples, seed, as_json):
    """Effective dimension, mean pairwise distance, concentration and planning
    amenability (Sec. 2.4, Eq. 12-13) of each latent geometry at each dimension.

    \b
    Examples:
      fastplan geometry --dims 4 8 16 32
      fastplan geometry --dims 8 --geometries vae vq-vae --samples 10000 --json
    """
    rows, notes = compute_rows(dims, geometries, samples, seed)
    if as_json:
        click.echo(json.dumps(_json_safe(rows), indent=2))
        for n in notes:
            click.echo(f"note: {n}", err=True)
    else:
        click.echo(format_table(rows, notes, samples, seed))
