"""Progress of a sweep: a tqdm bar (terminal or notebook), plain lines in logs, or nothing.

The bar is ``tqdm.auto``'s (a widget in Jupyter when ipywidgets is installed, text
elsewhere) and advances by each work unit's estimated cost
(:attr:`fastplan.runs.sweep.WorkUnit.weight`, a rough flop count), not by runs: a d=32 unit
moves it much further than a d=4 unit.  The ETA models the time of a unit as
``a + b * weight`` (a fixed cost per unit: dispatch, thread wake-ups, the journal; plus a
cost per flop), fitted by least squares with ``a, b >= 0`` to the units finished so far,
with kernel compilation left out (it does not recur).  Without a terminal or notebook (CI,
a log file) a plain line is printed every ``interval`` seconds.
"""
from __future__ import annotations

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


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None
        return ip is not None and "IPKernelApp" in ip.config
    except Exception:       # noqa: BLE001  (any IPython oddity: not a notebook)
        return False


class Progress:
    """Progress reporter.

    Parameters
    ----------
    mode : {"auto", "bar", "lines", "quiet"}
        ``auto``: ``bar`` on a terminal or in a notebook, else ``lines``.
    stream : file, optional
        Default ``sys.stderr``.
    interval : float
        Seconds between two lines in ``lines`` mode.
    label : str
        Prefix of the lines and the bar.
    """

    def __init__(self, mode: str = "auto", stream=None, interval: float = 10.0, label: str = "sweep"):
        if mode not in MODES:
            raise ValueError(f"unknown progress mode {mode!r}; choose from {', '.join(MODES)}")
        self.stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            isatty = getattr(self.stream, "isatty", None)
            mode = "bar" if (isatty is not None and isatty()) or in_notebook() else "lines"
        self.mode = mode
        self.interval = float(interval)
        self.label = label
        self._started = False
        self._finished = False
        self._bar = None

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
        self._last_line = self.t0
        self._started = True
        todo = self.runs_total - self.runs_done
        if self.mode == "lines":
            self._print(f"{self.label}: {self.configs_total} configurations, {self.runs_total} runs; "
                        f"{self.runs_done} already done, {todo} to compute in {units} work units"
                        + (f" ({note})" if note else ""))
        elif self.mode == "bar":
            from tqdm.auto import tqdm
            self._bar = tqdm(total=max(self.weight_total, 1e-300), file=self.stream, desc=self.label,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}{postfix}", dynamic_ncols=True,
                             mininterval=0.1, leave=True)
            self._bar.set_postfix_str(self._bar_text(), refresh=True)

    def advance(self, *, runs: int, configs: int, weight: float, overhead: float = 0.0) -> None:
        """Record a finished work unit: ``runs`` runs, ``configs`` configurations completed.

        ``weight``: the unit's estimated cost.  ``overhead``: seconds of this unit's time
        that will not recur (kernel compilation), left out of the ETA model.
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
        if self._bar is not None:
            self._bar.set_postfix_str(self._bar_text(), refresh=False)
            self._bar.update(float(weight))
        elif self.mode == "lines" and now - self._last_line >= self.interval:
            self._last_line = now
            self._print(f"{self.label}: {self.status()}")

    def finish(self) -> None:
        if not self._started or self._finished:
            return
        self._finished = True
        if self._bar is not None:
            self._bar.n = self._bar.total          # done, whatever the estimates said
            self._bar.set_postfix_str(self._bar_text(final=True), refresh=True)
            self._bar.close()
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

    def _bar_text(self, final: bool = False) -> str:
        """After tqdm's elapsed time (tqdm puts ", " before a postfix)."""
        return (f"{self.configs_done}/{self.configs_total} configs, {self.runs_done}/{self.runs_total} runs, "
                f"{self.rate:.1f} runs/s" + ("" if final else f", ETA {format_seconds(self.eta)}"))

    def _print(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def make_progress(progress) -> Progress:
    """A :class:`Progress` from a mode name, ``None``/``False`` (quiet) or a Progress object."""
    if isinstance(progress, Progress):
        return progress
    if progress is None or progress is False:
        return Progress(mode="quiet")
    return Progress(mode=str(progress))
