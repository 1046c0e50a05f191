"""One registry of planners, latent geometries and world-model families.

Everything that lists names (the CLI's choices, sweeps, warm-up, bench, tables, figures)
reads these registries; nothing else keeps a list.  An entry is a small, frozen *spec*:

* :class:`PlannerSpec`: defaults and their validation rules, label, colour, marker, the
  module (or object) holding its ``prepare`` / ``run`` pair, its rollout estimate and a tiny
  warm-up configuration;
* :class:`GeometrySpec`: label, aliases, colour, marker and the factory ``(d, seed) ->
  Geometry``;
* :class:`WorldSpec`: a world-model family and its factory ``(d, seed) -> world``.

Random-stream ids (``stream_id``) are fixed numbers chosen when an entry is added and never
renumbered, like the tags of :mod:`fastplan.engine.rng`: a geometry's centres are drawn from
the stream of its id, so registering entries in another order changes no stored result.
Registering a second entry with a taken name or id is refused.

The paper's entries are declared in :mod:`fastplan.engine.builtins` (light metadata; kernel
modules are imported on first use, so ``fastplan --help`` stays instant).  Add your own with
:func:`register_planner` / :func:`register_geometry` / :func:`register_world`.
"""
from __future__ import annotations

import importlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .errors import MAX_INT, FastplanError

#: Validation rule of each hyperparameter name the built-in planners use; a spec may add its
#: own (``rules=``).  A rule is "int" (integer >= 1), "unit" (in (0, 1]), "nonneg" (>= 0),
#: "pos" (> 0), "real" (any finite number), "bound" (any number but NaN: an action bound, +-inf
#: for none) or a tuple of allowed strings.
COMMON_RULES: dict[str, Any] = {
    "population": "int", "iterations": "int", "samples": "int", "steps": "int",
    "elite_fraction": "unit", "lam": "nonneg", "noise": "nonneg", "noise_scale": "nonneg",
    "guidance": "nonneg", "noise_std": "nonneg", "lr": "nonneg", "step": "nonneg",
    "fd_eps": "pos", "temperature": "pos", "gradient": ("fd", "adjoint"),
    "prior_weight": "nonneg", "eta": "nonneg", "running": "nonneg", "effort": "nonneg",
    "lower": "bound", "upper": "bound",
}

#: Cost options: terms of the cost every planner that lists them in ``cost_options`` accepts
#: beside its own hyperparameters, with the default that switches them off.  An option at its
#: default is left out of the hyperparameters (so the paper's configurations, their keys and
#: ids stay what they were); any other value is kept, validated, and recorded with the run.
#: ``prior_weight`` = beta of the prior-penalised cost, Eq. 5 + beta (1/T) sum_t -log p_geom(a_t);
#: ``running``, ``effort``, ``lower``, ``upper`` = the terms of :class:`fastplan.Cost` (running goal
#: cost weight, quadratic action penalty weight, one action box ``[lower, upper]`` for every
#: coordinate), so that a sweep can vary them and records them with each configuration.
COST_OPTIONS: dict[str, float] = {"prior_weight": 0.0, "running": 0.0, "effort": 0.0,
                                  "lower": -math.inf, "upper": math.inf}

#: Cost options every planner implements: they live in the shared rollout and sequence cost
#: (``rollout_cols``, ``sequence_cost``) that every planner's kernels call through the cost
#: bundle, so a spec need not list them in ``cost_options``.
UNIVERSAL_COST_OPTIONS: tuple = ("running", "effort", "lower", "upper")


def _load(ref):
    """A ``"package.module"`` or ``"package.module:attribute"`` reference, imported; any other
    object is returned as is."""
    if not isinstance(ref, str):
        return ref
    module, _, attr = ref.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class PlannerSpec:
    """A planner: everything the engine, the runs and the reports need to know of it.

    Parameters
    ----------
    name : str
        Lower-case identifier (CLI, results files).
    label : str
        Name in tables and figures.
    defaults : mapping
        Every hyperparameter with its default; ``lam`` (Eq. 5) included.
    kernels : str or object
        Module path (imported on first use) or object with ``prepare(batch, hp, usage) ->
        inputs`` and ``run(batch, hp, inputs) -> (actions (P, T, d), samples (P,), steps (P,))``.
    stream_id : int
        Fixed random-stream id of this planner (never renumbered).
    rollouts : callable, optional
        ``rollouts(hp, T, d) -> float``: expected world-model rollouts of one plan (for
        progress estimates only; kernels count the real ones).
    for_budget : callable, optional
        ``for_budget(hp, budget, T, d) -> hp``: the hyperparameters that make one plan spend
        ``budget`` world-model rollouts (within one iteration's worth), e.g. by setting the
        iteration count.  Planners without it cannot run at a budget.
    tiny : mapping
        Overrides that make a plan tiny, for warming up (compiling) its kernels.
    rules : mapping
        Validation rules of hyperparameters not in :data:`COMMON_RULES`.
    check : callable, optional
        ``check(hp)`` raises :class:`FastplanError` for an invalid combination.
    color, marker : str
        Matplotlib colour and marker.
    paper : bool
        One of the paper's five planners (the paper layer keeps its own fixed list).
    description : str
        One line for ``--help`` and the README.
    cost_options : tuple of str
        The :data:`COST_OPTIONS` its kernels implement (e.g. ``("prior_weight",)``); others
        are refused.
    geometry_check : callable or str, optional
        ``geometry_check(geometry)`` raises :class:`FastplanError` for a geometry the planner
        cannot plan on (codebook CEM needs a codebook); sweeps call it before they start.
    """

    name: str
    label: str
    defaults: Mapping[str, Any]
    kernels: Any
    stream_id: int
    rollouts: Callable[[dict, int, int], float] | None = None
    for_budget: Callable[[dict, int, int, int], dict] | None = None
    tiny: Mapping[str, Any] = field(default_factory=dict)
    rules: Mapping[str, Any] = field(default_factory=dict)
    check: Callable[[dict], None] | None = None
    color: str = "#7f7f7f"
    marker: str = "o"
    paper: bool = False
    description: str = ""
    cost_options: tuple = ()
    geometry_check: Any = None

    def module(self):
        """The kernels object (its module imported once)."""
        return _load(self.kernels)

    def rule(self, key: str):
        return self.rules.get(key, COMMON_RULES.get(key, "real"))

    def resolve(self, overrides: Mapping | None = None) -> dict:
        """Full, validated hyperparameters: the defaults with ``overrides``."""
        hp = dict(self.defaults)
        for key, value in (overrides or {}).items():
            if key in COST_OPTIONS and key not in self.defaults:
                value = coerce(self.name, key, value, self.rule(key))
                if value == COST_OPTIONS[key]:
                    hp.pop(key, None)          # off: the configuration of the paper's cost
                elif not math.isfinite(value):
                    raise FastplanError(f"{self.name}.{key} must be a finite number (or "
                                        f"{COST_OPTIONS[key]} for no bound), got {value}")
                elif key not in self.cost_options and key not in UNIVERSAL_COST_OPTIONS:
                    raise FastplanError(f"{self.name} does not implement {key} (planners that do: "
                                        f"{', '.join(p.name for p in planners() if key in p.cost_options)})")
                else:
                    hp[key] = value
                continue
            if key not in hp:
                raise FastplanError(
                    f"{self.name} has no hyperparameter {key!r}; it has {', '.join(sorted(hp))}")
            hp[key] = coerce(self.name, key, value, self.rule(key))
        if hp.get("lower", -math.inf) > hp.get("upper", math.inf):
            raise FastplanError(f"{self.name}: the lower action bound {hp['lower']} is above the upper "
                                f"one {hp['upper']}")
        if self.check is not None:
            self.check(hp)
        return hp

    def accepts(self, key: str) -> bool:
        """True for one of its hyperparameters or a cost option it implements."""
        return key in self.defaults or key in self.cost_options or key in UNIVERSAL_COST_OPTIONS

    def check_geometry(self, geometry) -> None:
        """Raise :class:`FastplanError` when the planner cannot plan on ``geometry``."""
        if self.geometry_check is not None:
            _load(self.geometry_check)(geometry)

    def expected_rollouts(self, hp: dict, T: int, d: int) -> float:
        return float(self.rollouts(hp, T, d)) if self.rollouts is not None else 1000.0

    def at_budget(self, hp: Mapping, budget: int, T: int, d: int) -> dict:
        """Validated hyperparameters ``hp`` changed to spend ``budget`` rollouts per plan."""
        if self.for_budget is None:
            raise FastplanError(f"planner {self.name} cannot run at a rollout budget (no for_budget)")
        budget = coerce(self.name, "budget", budget, "int")
        out = dict(self.for_budget(dict(hp), budget, int(T), int(d)))
        changed = {k: v for k, v in out.items() if hp.get(k) != v}
        return self.resolve({**{k: v for k, v in hp.items() if self.accepts(k)}, **changed})

    def tiny_overrides(self, hp: Mapping | None = None) -> dict:
        """Warm-up overrides, keeping the ``gradient`` mode of ``hp`` (it picks kernels)."""
        out = {k: v for k, v in self.tiny.items() if k in self.defaults}
        if hp is not None and "gradient" in hp:
            out["gradient"] = hp["gradient"]
        return out


@dataclass(frozen=True)
class GeometrySpec:
    """A latent-action geometry kind.

    ``factory(d, seed)`` builds the geometry; ``stream_id`` (fixed, never renumbered)
    addresses the random stream of its parameters (centres, codebook).
    """

    name: str
    label: str
    factory: Any
    stream_id: int
    aliases: tuple = ()
    color: str = "#7f7f7f"
    marker: str = "o"
    paper: bool = False
    description: str = ""

    def make(self, d: int, seed: int):
        return _load(self.factory)(d, seed)


@dataclass(frozen=True)
class WorldSpec:
    """A world-model family.

    ``factory(d, seed)`` builds a synthetic instance (the paper's family; ``None`` for
    families that only come from data); ``loader(arrays) -> World`` builds one from the
    arrays of a ``.npz`` file (:func:`fastplan.engine.worlds.load_world`).
    """

    name: str
    label: str
    factory: Any
    stream_id: int
    paper: bool = False
    description: str = ""
    loader: Any = None

    def make(self, d: int, seed: int):
        if self.factory is None:
            raise FastplanError(f"world family {self.name!r} has no synthetic instances; "
                                "load one from a file (--world model.npz)")
        return _load(self.factory)(d, seed)

    @property
    def from_arrays(self):
        """The loader, imported (``None`` if the family cannot be loaded from arrays)."""
        return None if self.loader is None else _load(self.loader)


class Registry:
    """Named specs in registration order, looked up case-insensitively (and by alias)."""

    def __init__(self, what: str):
        self.what = what
        self._specs: dict[str, Any] = {}
        self._aliases: dict[str, str] = {}

    def register(self, spec, *, replace: bool = False):
        """Add ``spec``; a taken name or stream id is refused unless ``replace``."""
        if not hasattr(spec, "name") or not hasattr(spec, "stream_id"):
            raise FastplanError(f"a {self.what} must be registered as a spec (PlannerSpec, GeometrySpec, "
                                f"WorldSpec) with a name and a stream_id, got {type(spec).__name__}")
        if not isinstance(spec.name, str):
            raise FastplanError(f"{self.what} names are lower-case identifiers, got {spec.name!r}")
        name = str(spec.name).strip().lower()
        if not name or name != spec.name:
            raise FastplanError(f"{self.what} names are lower-case identifiers, got {spec.name!r}")
        if isinstance(spec.stream_id, bool) or not isinstance(spec.stream_id, numbers.Integral) \
                or not 0 <= spec.stream_id < 2**16:
            raise FastplanError(f"{self.what} {name}: stream_id must be an integer in [0, 65536)")
        old = self._specs.get(name)
        if old is not None and not replace:
            raise FastplanError(f"a {self.what} named {name!r} is already registered")
        for other in self._specs.values():
            if other.name != name and other.stream_id == spec.stream_id:
                raise FastplanError(f"{self.what} {name}: stream_id {spec.stream_id} is taken by "
                                    f"{other.name!r} (stream ids are never reused)")
        self._specs[name] = spec
        for alias in (name, *getattr(spec, "aliases", ())):
            self._aliases[str(alias).lower()] = name
        return spec

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and notebooks; stored results keep its name)."""
        name = self.canonical(name)
        del self._specs[name]
        self._aliases = {a: n for a, n in self._aliases.items() if n != name}

    def canonical(self, name) -> str:
        key = str(name).strip().lower()
        if key not in self._aliases:
            raise FastplanError(f"unknown {self.what} {name!r}; choose from {', '.join(self._specs)}")
        return self._aliases[key]

    def get(self, name):
        return self._specs[self.canonical(name)]

    def names(self, *, paper: bool | None = None) -> tuple:
        return tuple(n for n, s in self._specs.items() if paper is None or s.paper == paper)

    def __contains__(self, name) -> bool:
        return str(name).strip().lower() in self._aliases

    def __iter__(self):
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)


_PLANNERS = Registry("planner")
_GEOMETRIES = Registry("geometry")
_WORLDS = Registry("world model")
_BUILTINS_LOADED = False


def _builtins():
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        importlib.import_module("fastplan.engine.builtins")


def planners() -> Registry:
    """The planner registry (the paper's five first)."""
    _builtins()
    return _PLANNERS


def geometries() -> Registry:
    """The geometry registry (the paper's three first)."""
    _builtins()
    return _GEOMETRIES


def worlds() -> Registry:
    """The world-model family registry."""
    _builtins()
    return _WORLDS


def register_planner(spec: PlannerSpec, *, replace: bool = False) -> PlannerSpec:
    """Register a planner (see :class:`PlannerSpec`); returns it."""
    return planners().register(spec, replace=replace)


def register_geometry(spec: GeometrySpec, *, replace: bool = False) -> GeometrySpec:
    """Register a geometry kind (see :class:`GeometrySpec`); returns it."""
    return geometries().register(spec, replace=replace)


def register_world(spec: WorldSpec, *, replace: bool = False) -> WorldSpec:
    """Register a world-model family (see :class:`WorldSpec`); returns it."""
    return worlds().register(spec, replace=replace)


def planner(name) -> PlannerSpec:
    """The spec of planner ``name`` (case-insensitive); :class:`FastplanError` if unknown."""
    return planners().get(name)


def geometry(name) -> GeometrySpec:
    """The spec of geometry ``name`` or alias (``sparse-ebm``, ``VQ-VAE``)."""
    return geometries().get(name)


def world(name) -> WorldSpec:
    """The spec of world-model family ``name`` (``tanh``, ``mlp``)."""
    return worlds().get(name)


def coerce(owner: str, key: str, value, rule):
    """Validate and convert one hyperparameter value by its rule (see :data:`COMMON_RULES`)."""
    if isinstance(rule, tuple):
        v = str(value).strip().lower()
        if v not in rule:
            raise FastplanError(f"{owner}.{key} must be one of {', '.join(rule)}, got {value!r}")
        return v
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise FastplanError(f"{owner}.{key} must be a number, got {value!r}") from None
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):     # NumPy scalars, 0-d arrays
        value = value.item()
    if rule == "bound":                # an action bound: any number but NaN (+-inf: no bound)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(float(value)):
            raise FastplanError(f"{owner}.{key} must be a number (an action bound), got {value!r}")
        return float(value)
    finite = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and math.isfinite(float(value)))
    if isinstance(value, bool) or not finite:
        raise FastplanError(f"{owner}.{key} must be a finite number, got {value!r}")
    if rule == "int":
        if value != int(value) or not 1 <= value <= MAX_INT:
            raise FastplanError(f"{owner}.{key} must be an integer >= 1 (and <= 2**62), got {value!r}")
        return int(value)
    try:
        value = float(value)
    except OverflowError:
        raise FastplanError(f"{owner}.{key} must be a finite number, got {value!r}") from None
    if rule == "unit" and not 0 < value <= 1:
        raise FastplanError(f"{owner}.{key} must be in (0, 1], got {value}")
    if rule == "nonneg" and value < 0:
        raise FastplanError(f"{owner}.{key} must be >= 0, got {value}")
    if rule == "pos" and value <= 0:
        raise FastplanError(f"{owner}.{key} must be > 0, got {value}")
    return value
