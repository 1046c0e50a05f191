"""Progress of a sweep: a bar on a terminal, plain periodic lines otherwise, or nothing.

The bar shows configurations done, runs done, runs per second and an ETA.  Runs per
second counts the runs computed in this session only.  The ETA models the time of a work
unit as ``a + b * weight`` (a fixed cost per unit: Python dispatch, thread wake-ups, the
journal; plus a cost per flop, from the rough flop count
:attr:`fastplan.sweep.WorkUnit.weight`, since a d=32 run costs far more than a d=4 run)
and fits ``a, b >= 0`` by least squares to the units finished so far.
"""
from __future__ import annotations

import shutil
import sys
import time

MODES = ("auto", "bar", "lines", "quiet")


def format_seconds(s: float | None) -> str:
    """``H:MM:SS`` (or ``M:SS`` under an hour); ``?`` when unknown."""
    if s is None or s != s or s == float("inf"):
        return "?"
    s = int(round(max(s, 0.0)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fit_unit_time(obs) -> tuple[float, float]:
    """Least-squares ``seconds = a + b * weight`` with ``a, b >= 0`` over (weight, seconds) pairs."""
    n = len(obs)
    sw = sum(w for w, _ in obs)
    st = sum(t for _, t in obs)
    if n >= 2:
        mw, mt = sw / n, st / n
        sww = sum((w - mw) ** 2 for w, _ in obs)
        swt = sum((w - mw) * (t - mt) for w, t in obs)
        if sww > 0:
            b = swt / sww
            a = mt - b * mw
            if b >= 0 and a >= 0:
                return a, b
            if b < 0:
                return mt, 0.0
    if sw > 0:
        return 0.0, st / sw      # proportional to the weight
    return st / n, 0.0           # no weights: a fixed time per unit


class Progress:
    """Progress reporter.

    Parameters
    ----------
    mode : {"auto", "bar", "lines", "quiet"}
        ``auto``: ``bar`` when ``stream`` is a terminal, else ``lines``.
    stream : file, optional
        Default ``sys.stderr``.
    interval : float
        Seconds between two lines in ``lines`` mode.
    label : str
        Prefix of the lines.
    """

    def __init__(self, mode: str = "auto", stream=None, interval: float = 10.0, label: str = "sweep"):
        if mode not in MODES:
            raise ValueError(f"unknown progress mode {mode!r}; choose from {', '.join(MODES)}")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if isatty is not None and isatty() else "lines"
        self.mode = mode
        self.interval = float(interval)
        self.label = label
        self._started = False
        self._finished = False

    # state -------------------------------------------------------------------------------
    def start(self, *, configs_total: int, configs_done: int, runs_total: int, runs_done: int,
              weight_total: float, units: int = 0, note: str = "") -> None:
        self.configs_total, self.configs_done = int(configs_total), int(configs_done)
        self.runs_total, self.runs_done = int(runs_total), int(runs_done)
        self.runs_at_start = self.runs_done
        self.weight_total, self.weight_done = float(weight_total), 0.0
        self.units, self.units_done = int(units), 0
        self._obs: list[tuple[float, float]] = []   # (weight, seconds) per finished unit
        self.t0 = time.monotonic()
        self._last_unit = self.t0
        self._last_draw = 0.0
        self._last_line = self.t0
        self._width = 0
        self._started = True
        todo = self.runs_total - self.runs_done
        if self.mode == "lines":
            self._print(f"{self.label}: {self.configs_total} configurations, {self.runs_total} runs; "
                        f"{self.runs_done} already done, {todo} to compute in {units} work units"
                        + (f" ({note})" if note else ""))
        elif self.mode == "bar":
            if note:
                self._print(f"{self.label}: {note}")
            self._draw(force=True)

    def advance(self, *, runs: int, configs: int, weight: float, overhead: float = 0.0) -> None:
        """Record a finished work unit: ``runs`` runs, ``configs`` configurations completed.

        ``overhead``: seconds of this unit's time that will not recur (kernel compilation),
        left out of the ETA model.
        """
        if not self._started:
            return
        self.runs_done += int(runs)
        self.configs_done += int(configs)
        self.weight_done += float(weight)
        self.units_done += 1
        now = time.monotonic()
        self._obs.append((float(weight), max(now - self._last_unit - float(overhead), 0.0)))
        self._last_unit = now
        if self.mode == "bar":
            self._draw()
        elif self.mode == "lines" and now - self._last_line >= self.interval:
            self._last_line = now
            self._print(f"{self.label}: {self.status()}")

    def finish(self) -> None:
        if not self._started or self._finished:
            return
        self._finished = True
        if self.mode == "bar":
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()
        elif self.mode == "lines":
            self._print(f"{self.label}: {self.status(final=True)}")

    # numbers ------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    @property
    def rate(self) -> float:
        """Runs per second computed in this session."""
        e = self.elapsed
        return (self.runs_done - self.runs_at_start) / e if e > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left: ``units_left * a + weight_left * b`` (see the module docstring)."""
        if not self._obs:
            return None
        units_left = max(self.units - self.units_done, 0)
        weight_left = max(self.weight_total - self.weight_done, 0.0)
        a, b = fit_unit_time(self._obs)
        return units_left * a + weight_left * b

    def status(self, final: bool = False) -> str:
        pct = 100.0 * self.runs_done / self.runs_total if self.runs_total else 100.0
        s = (f"{self.configs_done}/{self.configs_total} configurations, "
             f"{self.runs_done}/{self.runs_total} runs ({pct:.0f}%), {self.rate:.1f} runs/s, ")
        if final:
            return s + f"elapsed {format_seconds(self.elapsed)}"
        return s + f"ETA {format_seconds(self.eta)}"

    # output ---------------------------------------------------------------------------------
    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        cols = shutil.get_terminal_size((100, 20)).columns
        eta = self.eta if self.units_done < self.units else 0.0
        if self._finished or self.units_done >= self.units:
            frac = 1.0
        elif eta is None:
            frac = self.runs_done / self.runs_total if self.runs_total else 0.0
        else:                          # share of the (modelled) time spent so far
            frac = self.elapsed / (self.elapsed + eta) if self.elapsed + eta > 0 else 0.0
        text = (f" {self.configs_done}/{self.configs_total} configs  {self.runs_done}/{self.runs_total} runs"
                f"  {self.rate:.1f} runs/s  ETA {format_seconds(eta)}")
        width = max(10, min(40, cols - len(text) - 3))
        fill = int(round(frac * width))
        line = "[" + "#" * fill + "." * (width - fill) + "]" + text
        pad = " " * max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + pad)
        self.stream.flush()


class _Quiet(Progress):
    def __init__(self):
        super().__init__(mode="quiet")


def make_progress(progress) -> Progress:
    """A :class:`Progress` from a mode name, ``None``/``False`` (quiet) or a Progress object."""
    if isinstance(progress, Progress):
        return progress
    if progress is None or progress is False:
        return _Quiet()
    return Progress(mode=str(progress))
