"""``--world``, ``--latents`` (with ``--fit``, ``--k``, ``--covariance``) and ``--starts-goals``:
a user's own world model, latent actions, starts and goals for ``fastplan plan`` and ``sweep``
(:mod:`fastplan.runs.inputs` loads and checks them)."""
from __future__ import annotations

import click

from ._options import BoundedInt
from .cmd_geometry import FIT_KINDS

#: Options that only mean something with --latents.
FIT_OPTIONS = ("fit", "k", "covariance")


def input_options(fn):
    """The options of a user's inputs, added to a click command."""
    options = [
        click.option("--world", type=click.Path(dir_okay=False), default=None,
                     help="A world model .npz (fastplan.save_world layout: tanh A, B, b, or an MLP) to plan "
                          "in, instead of the paper's tanh(As+Ba+b) drawn from each seed. d is its action "
                          "dimension."),
        click.option("--latents", type=click.Path(dir_okay=False), default=None,
                     help="Your latent actions, an (m, d) .npy (or .npz with one array): each seed's geometry "
                          "is fitted to them (--fit, --k) instead of a paper geometry."),
        click.option("--fit", type=click.Choice(FIT_KINDS, case_sensitive=False), default="gmm",
                     show_default=True, help="With --latents: the geometry fitted to them."),
        click.option("--k", "k", type=BoundedInt(min=1), default=8, show_default=True,
                     help="With --latents: components (gmm) or codebook entries (kmeans) of the fit."),
        click.option("--covariance", type=click.Choice(("diag", "full")), default="diag", show_default=True,
                     help="With --latents: covariance of the gmm fit's components."),
        click.option("--starts-goals", "starts_goals", type=click.Path(dir_okay=False), default=None,
                     help="An .npz with arrays s0 and goal of shape (K, n): seed k starts at s0[k] and aims "
                          "at goal[k] (default: drawn from the seed, of the world's state dimension n)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _given(ctx, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)


def inputs_from_options(world, latents, fit, k, covariance, starts_goals, *, dims: str, geometry: str):
    """The user's :class:`~fastplan.runs.inputs.Inputs` (None without any), checked against the
    command's own options: ``dims`` / ``geometry`` name the command's dimension and geometry
    parameters, which the inputs fix (given, they must agree; a geometry does not apply to
    latents).  Returns (inputs, dims to use: the given ones, or None for the inputs' d)."""
    from fastplan.engine.errors import FastplanError
    ctx = click.get_current_context()
    flag = lambda name: "--" + name.replace("_", "-")  # noqa: E731
    if latents is None:
        for name in FIT_OPTIONS:
            if _given(ctx, name):
                raise FastplanError(f"{flag(name)} needs --latents FILE (the latent actions to fit)")
    if world is None and latents is None and starts_goals is None:
        return None, ctx.params[dims]
    from fastplan.runs.inputs import load_inputs
    if latents is not None and _given(ctx, geometry):
        raise FastplanError(f"{flag(geometry)} does not apply to --latents (the geometry is fitted to "
                            f"them; choose its kind with --fit)")
    inputs = load_inputs(world, latents, starts_goals, fit=fit, k=k, covariance=covariance)
    given = ctx.params[dims] if _given(ctx, dims) else None
    return inputs, inputs.dims(given, flag(dims))
