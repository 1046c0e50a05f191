"""``python -m fastplan ...``: the ``fastplan`` command (the click app in ``fastplan_cli``)."""
import sys

import click

from fastplan_cli.main import cli


def main() -> None:
    try:
        cli.main(prog_name="python -m fastplan")
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
