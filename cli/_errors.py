"""Turn library errors into one clear line on stderr and a non-zero exit."""
from __future__ import annotations

import functools
import os
import sys

import click


def friendly_errors(fn):
    """Decorator for click commands: FastplanError/OSError/ValueError -> ``Error: ...``, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except BrokenPipeError:   # e.g. `fastplan ls runs.h5 | head`: stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; files on disk are intact") from None
        except (ValueError, OSError, KeyError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.ClickException(msg) from None

    return wrapper
