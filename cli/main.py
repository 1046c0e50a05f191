"""Entry point of the ``fastplan`` command: a click group whose subcommands load lazily.

Each subcommand lives in its own module ``fastplan_cli.cmd_<name>`` and is imported only
when used, so ``fastplan --help`` stays instant (no Numba import, no compilation).
"""
from __future__ import annotations

import importlib
import os
import sys

# This is fastplan's own process (not a library import), so it may choose Numba's compile
# settings for itself: LLVM -O2 instead of -O3 gives the same machine code speed and bits on
# our kernels and 10 % less compilation (README, Performance).  A user's NUMBA_OPT wins.
os.environ.setdefault("NUMBA_OPT", "2")

import warnings  # noqa: E402

import click  # noqa: E402

from ._errors import Terminated, TerminatedError, terminate_gracefully  # noqa: E402

# name -> (module, attribute, one-line help shown by `fastplan --help`)
COMMANDS = {
    "geometry": ("cmd_geometry", "geometry", "Geometry metrics (effective dimension, amenability) per d."),
    "plan": ("cmd_plan", "plan", "Plan one problem with one planner and print the result."),
    "sweep": ("cmd_sweep", "sweep", "Run a grid of experiments into one HDF5 results file."),
    "ls": ("cmd_store", "ls", "List the configurations a results file holds."),
    "show": ("cmd_store", "show", "Summarise results (mean and spread over seeds)."),
    "upgrade": ("cmd_store", "upgrade", "Store each world model of an older results file once (smaller file)."),
    "report": ("cmd_report", "report", "Write the paper's tables, figures and report.md."),
    "reproduce": ("cmd_report", "reproduce", "Run the paper's default sweep and write the report."),
    "beyond-geometry": ("cmd_beyond", "beyond", "Beyond the paper: does respecting the latent geometry pay?"),
    "beyond": ("cmd_stronger", "beyond", "Every planner, the paper's and those beyond it, at equal budgets."),
    "warmup": ("cmd_warmup", "warmup", "Compile and cache every kernel ahead of a sweep."),
}


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """fastplan's warnings as one line ``warning: ...`` on stderr; others as Python shows them."""
    from fastplan.engine.errors import FastplanWarning
    if issubclass(category, FastplanWarning):
        click.echo(f"warning: {message}", err=True)
    else:
        click.echo(warnings.formatwarning(message, category, filename, lineno, line).rstrip(), err=True)


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs, and shows
    usage errors as one line (``Error: ... (see 'fastplan sweep --help')``)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:        # a bad FASTPLAN_ARITHMETIC: one line before any command loads the engine
            from fastplan.engine import arithmetic  # noqa: F401
        except ValueError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)
        restore = terminate_gracefully()
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _show_warning
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else "fastplan"
            click.echo(f"Error: {exc.format_message()} (see '{path} --help')", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except Terminated as exc:     # SIGTERM outside a command body
            TerminatedError(exc.signum).show()
            sys.exit(128 + exc.signum)
        finally:
            restore()
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"fastplan_cli.{module}"), attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fastplan")
def cli():
    """fastplan: plan directly in latent action spaces, fast, on CPUs.

    Implements the framework of "Planning in Latent Action Spaces" (three latent
    geometries, the world model s' = tanh(A s + B a + b), five planners, the metrics of
    Sec. 2.4). Start with `fastplan reproduce --out report/`.

    Environment: FASTPLAN_ARITHMETIC=fast opts into a float-accuracy tanh (faster plans,
    recorded as arithmetic=fast; default exact, the paper's).
    """


def main():  # pragma: no cover - console entry for `python -m fastplan_cli.main`
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
