"""The process's arithmetic mode, chosen once at import by ``FASTPLAN_ARITHMETIC``.

``exact`` (the default): every kernel computes what the paper's plans were made with
(``tanh`` within 3 ulp of the C library, :func:`fastplan.engine.fastmath.tanh_exact`).
``fast``: ``tanh`` is a float-accuracy rational function (:func:`fastplan.engine.fastmath.tanh_fast`,
absolute and relative error below 3e-7), which takes a quarter to a third off the default
grid's planning time and changes every plan by rounding-level amounts.  The mode enters the kernel cache folder
(:mod:`fastplan.engine.jit`) and, when not ``exact``, every configuration key a sweep writes
(:func:`fastplan.store.config_key`), so results of the two modes never mix.
"""
from __future__ import annotations

import os

from .errors import FastplanError

#: The modes ``FASTPLAN_ARITHMETIC`` accepts; the first is the default.
MODES = ("exact", "fast")
#: The environment variable that selects the mode (read once, when fastplan's engine is imported).
ENV = "FASTPLAN_ARITHMETIC"
#: The default mode (absent from configuration keys).
DEFAULT = "exact"


def mode_from_env(environ=None) -> str:
    """The mode ``FASTPLAN_ARITHMETIC`` asks for (unset or empty: ``exact``); a one-line
    :class:`FastplanError` for anything else."""
    raw = (os.environ if environ is None else environ).get(ENV, "")
    mode = raw.strip().lower() or DEFAULT
    if mode not in MODES:
        raise FastplanError(f"{ENV}={raw!r} is not an arithmetic mode; choose from {', '.join(MODES)}")
    return mode


#: This process's arithmetic mode ("exact" or "fast").
ARITHMETIC = mode_from_env()
