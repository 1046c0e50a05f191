"""Reusable click options for the fastplan commands.

* :class:`MultiValueOption` - an option that takes one or more values, written the way
  researchers type grids: ``--dims 4 8 16 32`` (also ``--dims 4,8,16,32`` and repeated
  ``--dims 4 --dims 8``).  Use it through :func:`multi_option`.
* :class:`IntList` - a list of integers with bounds and, optionally, inclusive ranges
  ``0-9`` (for seeds).
* :class:`ChoiceList` - a list of names from a fixed set, case-insensitive, with optional
  aliases (via a ``normalize`` callable) and the keyword ``all``.
* :class:`BoundedInt` - one integer with bounds.

All of them report bad values as one line, ``Error: invalid value for '--dims': ...``, and
exit with status 2 (click's usage-error status), instead of click's multi-line usage
block.  Lists keep the order given and drop repeated values.

Example::

    @click.command()
    @multi_option("--dims", type=IntList(min=1), default=(4, 8, 16, 32), help="Latent dimensions.")
    @multi_option("--seeds", type=IntList(min=0, allow_range=True), default=(0,), help="Seeds, e.g. 0-9.")
    def cmd(dims, seeds): ...
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import click

__all__ = ["OptionValueError", "IntList", "ChoiceList", "BoundedInt", "MultiValueOption", "multi_option"]

_INT = re.compile(r"^[+-]?\d+$")
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")
_NEGATIVE_NUMBER = re.compile(r"^-\d")   # "-1" is a value, not an option
#: Largest number of values one ``a-b`` range may expand to.
MAX_RANGE = 1_000_000


class OptionValueError(click.ClickException):
    """A bad option value: shown as one line ``Error: ...``, exit status 2."""

    exit_code = 2


def _option_name(param, ctx) -> str:
    if param is None:
        return "value"
    hint = param.get_error_hint(ctx) if ctx is not None else None
    return hint or repr(param.name)


class _OneLineType(click.ParamType):
    """A parameter type whose failures are one line (no usage block)."""

    def fail(self, message, param=None, ctx=None):  # noqa: D102 - click API
        raise OptionValueError(f"invalid value for {_option_name(param, ctx)}: {message}")


class BoundedInt(_OneLineType):
    """One integer in ``[min, max]`` (either bound may be None)."""

    name = "integer"

    def __init__(self, min: int | None = None, max: int | None = None):
        self.min, self.max = min, max

    def convert(self, value, param, ctx):
        if isinstance(value, bool):
            self.fail(f"{value!r} is not an integer", param, ctx)
        if isinstance(value, int):
            n = value
        elif isinstance(value, str) and _INT.match(value.strip()):
            n = int(value.strip())
        else:
            self.fail(f"{value!r} is not an integer", param, ctx)
        if self.min is not None and n < self.min:
            self.fail(f"{n} is below the minimum {self.min}", param, ctx)
        if self.max is not None and n > self.max:
            self.fail(f"{n} is above the maximum {self.max}", param, ctx)
        return n


def _tokens(value) -> list:
    """Split a raw option value (str, or a sequence of str/values) into single tokens."""
    if value is None:
        return []
    items = [value] if isinstance(value, (str, int)) else list(value)
    out = []
    for item in items:
        if isinstance(item, str):
            out.extend(tok for tok in re.split(r"[\s,]+", item.strip()) if tok)
        else:
            out.append(item)
    return out


def _unique(values: Iterable) -> tuple:
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return tuple(out)


class _ListType(_OneLineType):
    """Base of the list types: tokens -> tuple of converted values, order kept, repeats dropped."""

    def convert(self, value, param, ctx):
        tokens = _tokens(value)
        if not tokens:
            self.fail("needs at least one value", param, ctx)
        out = []
        for tok in tokens:
            out.extend(self.convert_token(tok, param, ctx))
        return _unique(out)

    def convert_token(self, token, param, ctx) -> list:  # pragma: no cover - abstract
        raise NotImplementedError


class IntList(_ListType):
    """Integers in ``[min, max]``; with ``allow_range`` also inclusive ranges ``a-b``."""

    name = "integers"

    def __init__(self, min: int | None = None, max: int | None = None, allow_range: bool = False):
        self.item = BoundedInt(min, max)
        self.allow_range = allow_range

    def convert_token(self, token, param, ctx):
        if isinstance(token, str) and self.allow_range:
            m = _RANGE.match(token.strip())
            if m:
                lo, hi = int(m.group(1)), int(m.group(2))
                if lo > hi:
                    self.fail(f"range {token!r} is empty (start > end)", param, ctx)
                if hi - lo + 1 > MAX_RANGE:
                    self.fail(f"range {token!r} has more than {MAX_RANGE} values", param, ctx)
                self.item.convert(lo, param, ctx)   # both ends within bounds
                self.item.convert(hi, param, ctx)
                return list(range(lo, hi + 1))
        if isinstance(token, str) and not _INT.match(token.strip()):
            hint = " (use a-b for a range)" if self.allow_range else ""
            self.fail(f"{token!r} is not an integer{hint}", param, ctx)
        return [self.item.convert(token, param, ctx)]


class ChoiceList(_ListType):
    """Names from ``choices`` (case-insensitive); ``all`` selects every choice.

    ``normalize``, if given, maps a user's token to a canonical choice (e.g. resolving
    aliases such as ``sparse-ebm`` -> ``ebm``) and raises ``ValueError``/``KeyError`` with
    a readable message for unknown names.  It runs only when a value is converted, so a
    heavy import inside it does not slow down ``--help``.
    """

    name = "choices"

    def __init__(self, choices: Sequence[str], normalize: Callable[[str], str] | None = None,
                 allow_all: bool = True):
        self._choices = choices        # may be a live view (cli/_names.py): read at use
        self.normalize = normalize
        self.allow_all = allow_all

    @property
    def choices(self) -> tuple:
        return tuple(self._choices)

    def get_metavar(self, param, ctx=None):  # noqa: D102 - click API (signature varies by version)
        return "[" + "|".join(self.choices) + "]..."

    def convert_token(self, token, param, ctx):
        key = str(token).strip()
        if self.allow_all and key.lower() == "all":
            return list(self.choices)
        if self.normalize is not None:
            try:
                name = self.normalize(key)
            except (ValueError, KeyError) as exc:
                msg = str(exc).strip("'\"") or f"unknown name {key!r}"
                self.fail(msg, param, ctx)
        else:
            lowered = {c.lower(): c for c in self.choices}
            name = lowered.get(key.lower())
        if name not in self.choices:
            self.fail(f"unknown name {key!r}; choose from {', '.join(self.choices)}", param, ctx)
        return [name]


class MultiValueOption(click.Option):
    """A click option that takes every following value-like token (with :class:`MultiValueCommand`).

    ``--dims 4 8 16 32 --json`` gives the option the tokens ``("4", "8", "16", "32")``.
    Tokens that look like negative numbers (``-1``) are taken as values so that the type can
    reject them with a clear message; a token that looks like a file (``runs.h5``, ``out/x``)
    or an option ends the list, so ``fastplan show --planner cem runs.h5`` keeps ``runs.h5``
    as the file.  Repeating the option appends.  Pair it with a list type (:class:`IntList`,
    :class:`ChoiceList`), which also accepts ``4,8,16``.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("multiple", False)
        if kwargs.get("nargs", 1) != 1 or kwargs["multiple"]:
            raise TypeError("MultiValueOption takes neither nargs nor multiple")
        super().__init__(*args, **kwargs)


_PATH_LIKE = re.compile(r"[/\\]|\.[A-Za-z][\w]*$")


def _value_like(token: str) -> bool:
    """A token a :class:`MultiValueOption` may take: not an option (negative numbers are
    values), not a file name or path."""
    if token == "--":
        return False
    if token.startswith("-") and not _NEGATIVE_NUMBER.match(token):
        return False
    return not _PATH_LIKE.search(token)


def gather_multi_values(params, args: list) -> list:
    """Rewrite ``--opt v1 v2 ... [--opt v3]`` into ``--opt "v1 v2 v3"`` for every
    :class:`MultiValueOption` in ``params``, before click parses (public API only)."""
    greedy = {}
    for p in params:
        if isinstance(p, MultiValueOption):
            for opt in p.opts + p.secondary_opts:
                greedy[opt] = p
    out, slot, values = [], {}, {}
    i, n = 0, len(args)
    while i < n:
        tok = args[i]
        if tok == "--":
            out.extend(args[i:])
            break
        opt, eq, first = tok.partition("=") if tok.startswith("--") else (tok, "", "")
        param = greedy.get(opt)
        if param is None:
            out.append(tok)
            i += 1
            continue
        taken = [first] if eq else []
        i += 1
        while i < n and _value_like(args[i]):
            taken.append(args[i])
            i += 1
        if not taken:               # let click report the missing value
            out.append(tok)
            continue
        if param.name in slot:
            values[param.name].extend(taken)
        else:
            slot[param.name] = len(out)
            values[param.name] = taken
            out.extend([opt, None])
    for name, pos in slot.items():
        out[pos + 1] = " ".join(values[name])
    return out


class MultiValueCommand(click.Command):
    """A command whose :class:`MultiValueOption` options take several values."""

    def parse_args(self, ctx, args):
        return super().parse_args(ctx, gather_multi_values(self.get_params(ctx), list(args)))


def multi_option(*param_decls: str, **kwargs):
    """``click.option`` for :class:`MultiValueOption`; metavar defaults to ``X [X ...]``."""
    kwargs.setdefault("cls", MultiValueOption)
    if "metavar" not in kwargs:
        base = param_decls[0].lstrip("-").upper().rstrip("S") or "VALUE"
        kwargs["metavar"] = f"{base} [{base} ...]"
    return click.option(*param_decls, **kwargs)
