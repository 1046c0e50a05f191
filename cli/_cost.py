"""The cost options shared by ``fastplan plan`` and ``fastplan sweep``: the terms of
:class:`fastplan.Cost` beyond Eq. 5, given as the ``--set`` values they abbreviate (cost options
of the planner registry, so a sweep records them with each configuration)."""
from __future__ import annotations

import click

from fastplan.engine.errors import FastplanError


def cost_options(sweep: bool):
    """Decorator adding ``--running``, ``--effort`` and ``--bounds`` (``sweep``: comma lists
    of weights sweep over their values)."""
    many = "[,W...]" if sweep else ""
    also = " (a,b sweeps over values)" if sweep else ""
    opts = [
        click.option("--running", default=None, metavar=f"W{many}",
                     help=f"Running goal cost: + W sum_t ||s_t - s*|| (default 0: Eq. 5 alone){also}."),
        click.option("--effort", default=None, metavar=f"W{many}",
                     help=f"Quadratic action penalty: + W sum_t ||a_t||^2 (default 0){also}."),
        click.option("--bounds", default=None, metavar="LO,HI",
                     help="Action box: every coordinate of every action in [LO, HI]; planners respect "
                          "it (-inf or inf leaves one side open)."),
    ]

    def wrap(f):
        for opt in reversed(opts):
            f = opt(f)
        return f
    return wrap


def with_cost_terms(sets, running=None, effort=None, bounds=None) -> list:
    """``--running W --effort W --bounds LO,HI`` as the ``--set running=W effort=W lower=LO
    upper=HI`` they abbreviate, appended to ``sets``."""
    sets = list(sets or ())
    for name, value in (("running", running), ("effort", effort)):
        if value is not None:
            sets.append(f"{name}={value}")
    if bounds is not None:
        parts = [p.strip() for p in str(bounds).split(",")]
        if len(parts) != 2 or not all(parts):
            raise FastplanError(f"--bounds expects LO,HI (e.g. --bounds=-2,2), got {bounds!r}")
        sets += [f"lower={parts[0]}", f"upper={parts[1]}"]
    return sets
