"""Turn library errors into one clear line on stderr and a non-zero exit."""
from __future__ import annotations

import functools
import os
import signal
import sys

import click


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception (see :func:`terminate_gracefully`), so that a sweep
    folds its finished runs and releases its file on the way out, as on Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class TerminatedError(click.ClickException):
    """``Error: terminated by SIGTERM ...``, exit status 128 + the signal number (143)."""

    def __init__(self, signum: int):
        name = signal.Signals(signum).name
        super().__init__(f"terminated by {name}; files on disk are intact "
                         f"(re-run the same command to resume a sweep)")
        self.exit_code = 128 + signum


#: Seconds the main thread has to react to SIGTERM / Ctrl-C before the process exits anyway
#: (environment variable FASTPLAN_GRACE_SECONDS).
GRACE_SECONDS = 5.0


def terminate_gracefully(grace: float | None = None):
    """Make SIGTERM raise :class:`Terminated` (and Ctrl-C KeyboardInterrupt) in the main thread,
    so that a sweep folds its finished runs and exits with one line.

    Python runs signal handlers only between bytecodes, so a signal that arrives while a
    kernel runs (seconds, or hours for a huge geometry-metric estimate) would wait for it.  A
    watchdog thread learns of the signal at once (``signal.set_wakeup_fd``); if the main
    thread has not reacted within ``grace`` seconds it prints the one-line error and exits
    (143 for SIGTERM, 130 for Ctrl-C).  Files stay intact: every finished work unit is already
    in the journal, and the results file is only ever replaced atomically (as after a kill).

    Returns a function that restores the previous handlers (a no-op outside the main thread).
    """
    import threading

    if grace is None:
        try:
            grace = float(os.environ.get("FASTPLAN_GRACE_SECONDS", GRACE_SECONDS))
        except ValueError:
            grace = GRACE_SECONDS
    reacted = set()

    def on_term(signum, frame):
        reacted.add(signum)
        raise Terminated(signum)

    def on_int(signum, frame):
        reacted.add(signum)
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
        signal.signal(signal.SIGTERM, on_term)
        if previous[signal.SIGINT] is signal.default_int_handler:
            signal.signal(signal.SIGINT, on_int)
    except ValueError:          # not the main thread: leave signals alone
        return lambda: None
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except ValueError:
        old_fd = None

    def watchdog():
        while True:
            try:
                data = os.read(r, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum in (signal.SIGTERM, signal.SIGINT) and signum in _watched(previous):
                    threading.Timer(grace, _exit_unless, (signum, reacted)).start()

    thread = threading.Thread(target=watchdog, name="fastplan-signal-watchdog", daemon=True)
    thread.start()

    def restore():
        if old_fd is not None:
            signal.set_wakeup_fd(old_fd)
        os.close(w)
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)
        thread.join(timeout=1.0)
        os.close(r)

    return restore


def _watched(previous: dict) -> set:
    """Signals this module handles (Ctrl-C only where Python's default handler was in place)."""
    out = {signal.SIGTERM}
    if previous.get(signal.SIGINT) is signal.default_int_handler:
        out.add(signal.SIGINT)
    return out


def _exit_unless(signum: int, reacted: set) -> None:
    """The watchdog's last resort: the main thread did not react to ``signum`` in time."""
    if signum in reacted:
        return
    what = "interrupted" if signum == signal.SIGINT else f"terminated by {signal.Signals(signum).name}"
    sys.stderr.write(f"Error: {what} while a kernel was running; files on disk are intact "
                     f"(re-run the same command to resume a sweep)\n")
    sys.stderr.flush()
    os._exit(128 + signum)


def friendly_errors(fn):
    """Decorator for click commands: FastplanError/OSError/ValueError -> ``Error: ...``, exit 1
    (click's usage errors exit 2); MemoryError -> ``Error: out of memory ...``, exit 1;
    Ctrl-C -> ``Error: interrupted ...``, exit 1; SIGTERM -> ``Error: terminated by SIGTERM
    ...``, exit 143."""

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
        except Terminated as exc:
            raise TerminatedError(exc.signum) from None
        except KeyboardInterrupt:
            raise click.ClickException("interrupted; files on disk are intact") from None
        except MemoryError:     # the library's budget checks refuse what they can foresee
            raise click.ClickException("out of memory; use smaller sizes (dimension, horizon, "
                                       "samples, population)") from None
        except (ValueError, OSError, KeyError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.ClickException(msg) from None

    return wrapper
