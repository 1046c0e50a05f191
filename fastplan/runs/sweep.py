"""Sweeps: the grid planners x geometries x dims x horizons x seeds into one results file.

Three steps, kept apart so that work can run anywhere (in-process, Dask workers) while
only the driver writes the file:

1. :func:`expand_grid` turns the grid into :class:`Config` objects (one per configuration:
   geometry, d, horizon, planner, geometry usage, full hyperparameters) and the seeds.
2. :func:`make_units` groups the missing (configuration, seed) runs into
   :class:`WorkUnit` batches: runs sharing (planner, d, horizon, geometry usage,
   hyperparameters) go into one :func:`fastplan.plan_batch` call, across geometries and
   seeds (at most ``max_batch`` problems each).  Geometry metrics (Sec. 2.4) of every
   (geometry, d, seed) the sweep touches are units too.
3. :func:`compute_unit` is PURE: a unit in, a dict of NumPy arrays out (picklable, no
   file access).  :func:`run_sweep` feeds results to :class:`fastplan.store.Writer`.

A custom executor (e.g. Dask) is any callable ``executor(compute_unit, units)`` that
returns an iterable of the results, in any order.
"""
from __future__ import annotations

import functools
import itertools
import json
import time
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .. import store
from ..engine import registry
from ..engine.arithmetic import ARITHMETIC
from ..engine.errors import FastplanError, FastplanWarning, check_choice, check_dim, check_positive_int, check_seed

DEFAULT_DIMS = (4, 8, 16, 32)
DEFAULT_HORIZONS = (4, 8, 16)
DEFAULT_SEEDS = tuple(range(10))
DEFAULT_MAX_BATCH = 64


# --------------------------------------------------------------------------- grid

@dataclass(frozen=True)
class Config:
    """One configuration: everything that determines a run except the seed.

    ``hp_json`` is the canonical JSON of the full hyperparameter dict (incl. ``lam`` and,
    for the gradient and SGLD planners, the gradient mode); ``inputs_json`` the content hashes
    of a user's world model, latents and starts/goals (:mod:`fastplan.runs.inputs`), "" for
    the paper's own; ``arithmetic`` the process's ``FASTPLAN_ARITHMETIC`` mode (in the key
    only when not "exact").
    """

    geometry: str
    d: int
    horizon: int
    planner: str
    geometry_usage: str
    hp_json: str
    execution: str = "latent"
    inputs_json: str = ""
    arithmetic: str = ARITHMETIC

    @property
    def hyperparameters(self) -> dict:
        return json.loads(self.hp_json)

    @property
    def key(self) -> dict:
        return store.config_key(self.geometry, self.d, self.horizon, self.planner,
                                self.geometry_usage, self.hyperparameters, self.execution,
                                json.loads(self.inputs_json) if self.inputs_json else None,
                                self.arithmetic)

    @cached_property
    def config_id(self) -> str:
        return store.config_id(self.key)


@dataclass(frozen=True)
class Grid:
    """The expanded grid: configurations and the seeds each of them runs (and the user's
    inputs they share, :class:`fastplan.runs.inputs.Inputs`, or None)."""

    configs: tuple
    seeds: tuple
    inputs: object = None

    @property
    def n_runs(self) -> int:
        return len(self.configs) * len(self.seeds)

    @property
    def geometries(self) -> tuple:
        return tuple(dict.fromkeys(c.geometry for c in self.configs))

    @property
    def dims(self) -> tuple:
        return tuple(dict.fromkeys(c.d for c in self.configs))


def _nonempty(values, what: str) -> list:
    if values is None:
        raise FastplanError(f"empty grid: no {what} given")
    if isinstance(values, (str, int, np.integer)):
        values = [values]
    values = list(values)
    if not values:
        raise FastplanError(f"empty grid: no {what} given")
    return list(dict.fromkeys(values))


def hyperparameter_grid(planner: str, overrides: dict | None = None, gradient: str = "fd") -> list[dict]:
    """Full hyperparameter dicts of ``planner``: paper values, the gradient mode, ``overrides``.

    An override value that is a list or tuple is a grid axis (``{"population": [100, 200]}``
    gives two configurations).  ``gradient`` applies to planners with a ``gradient``
    hyperparameter unless ``overrides`` sets it.
    """
    from ..engine.planners import DEFAULTS, GRADIENT_MODES, resolve
    check_choice(gradient, GRADIENT_MODES, "gradient mode")
    base = {"gradient": gradient} if "gradient" in DEFAULTS[planner] else {}
    keys, axes = [], []
    for k, v in (overrides or {}).items():
        vals = list(v) if isinstance(v, (list, tuple)) else [v]
        if not vals:
            raise FastplanError(f"empty grid: no values for {planner}.{k}")
        keys.append(k)
        axes.append(vals)
    out = {}
    for combo in itertools.product(*axes):
        hp = resolve(planner, {**base, **dict(zip(keys, combo))})
        out.setdefault(store.canonical_json(hp), hp)
    return list(out.values())


def expand_grid(*, planners=None, geometries=None, dims=DEFAULT_DIMS, horizons=DEFAULT_HORIZONS,
                seeds=DEFAULT_SEEDS, overrides: dict | None = None, geometry_usage: str = "prior",
                gradient: str = "fd", budgets=None, execution: str = "latent", inputs=None) -> Grid:
    """Validate a grid and expand it into configurations.

    Parameters
    ----------
    planners, geometries : sequence of str, optional
        Default: the paper's five planners / three geometries (any registered name is allowed).
    dims, horizons, seeds : sequence of int
        Latent dimensions d >= 1, horizons T >= 1, seeds in [0, 2**63).
    overrides : dict, optional
        ``{planner: {hyperparameter: value or [values]}}``; lists are grid axes.  Overrides
        of planners not in ``planners`` are validated, then ignored (so one set of
        overrides serves sweeps over different planners).
    geometry_usage : {"prior", "none"}
    gradient : {"fd", "adjoint"}
        Gradient mode of the gradient and SGLD planners (an override wins).
    budgets : sequence of int, optional
        Rollout budgets: every planner runs at each budget instead of its own iteration
        count (its registry ``for_budget`` sets the iteration count for each d and horizon,
        over any override of it).  ``None``: the planners' own hyperparameters.
    execution : {"latent", "decoded"}
        What the environment receives (:mod:`fastplan.engine.manifold`); part of the
        configuration key only when not "latent".
    inputs : fastplan.runs.inputs.Inputs, optional
        A user's world model, latents, starts and goals (:func:`fastplan.runs.inputs.load_inputs`).
        ``dims`` must match the d they fix (``None`` or the default: that d); with latents the
        geometry is fitted to them (``geometries`` must be left out); with starts and goals
        every seed needs its row.

    Raises
    ------
    FastplanError
        Unknown planner, geometry, hyperparameter or mode; d < 1; an empty axis; inputs that
        do not fit the grid.
    """
    from ..engine.geometry import canonical_kind, make_geometry
    from ..engine.manifold import check_execution
    from ..engine.planners import GEOMETRY_USAGES, canonical_planner
    PLANNERS = registry.planners().names(paper=True)
    KINDS = registry.geometries().names(paper=True)
    planners = _nonempty(PLANNERS if planners is None else planners, "planners")
    planners = list(dict.fromkeys(canonical_planner(p) for p in planners))
    if inputs is not None and inputs.geometry_name is not None:
        if geometries is not None:
            raise FastplanError("geometries do not apply with latents: the geometry is fitted to them "
                                f"({inputs.fit}, k={inputs.k})")
        geometries = [inputs.geometry_name]
    else:
        geometries = _nonempty(KINDS if geometries is None else geometries, "geometries")
        geometries = list(dict.fromkeys(canonical_kind(g) for g in geometries))
    if inputs is not None:
        dims = inputs.dims(None if dims is None or dims is DEFAULT_DIMS else _nonempty(dims, "dimensions"))
    elif dims is None:
        dims = DEFAULT_DIMS
    dims = [check_dim(d) for d in _nonempty(dims, "dimensions")]
    horizons = [check_positive_int(h, "horizon") for h in _nonempty(horizons, "horizons")]
    seeds = [s if type(s) is int and 0 <= s < 2**63 else check_seed(s)   # fast for big ranges
             for s in _nonempty(seeds, "seeds")]
    check_choice(geometry_usage, GEOMETRY_USAGES, "geometry usage")
    execution = check_execution(execution)
    if inputs is not None:
        inputs.check_seeds(seeds)
    from .inputs import inputs_json
    extra = inputs_json(inputs)
    overrides = {canonical_planner(p): dict(v) for p, v in (overrides or {}).items()}
    for p in overrides:     # validated even for planners not in this sweep (then unused)
        hyperparameter_grid(p, overrides[p], gradient)
    if budgets is not None:
        budgets = [check_positive_int(x, "budget") for x in _nonempty(budgets, "budgets")]
    configs = []
    for p in planners:
        spec = registry.planner(p)
        fits = _geometries_for(spec, geometries, lambda g: (
            make_geometry(g, 4, 0) if inputs is None else inputs.geometry(dims[0], seeds[0], g)))
        for hp in hyperparameter_grid(p, overrides.get(p), gradient):
            for g in fits:
                for d in dims:
                    for h in horizons:
                        hps = [hp] if budgets is None else [spec.at_budget(hp, x, h, d) for x in budgets]
                        configs.extend(Config(g, d, h, p, geometry_usage, store.canonical_json(x), execution,
                                              extra) for x in hps)
    configs = list(dict.fromkeys(configs))      # two budgets (or overrides) may give one configuration
    if not configs:
        raise FastplanError(f"empty grid: no selected planner can plan on the geometries "
                            f"{', '.join(geometries)}")
    return Grid(configs=tuple(configs), seeds=tuple(seeds), inputs=inputs if extra else None)


def _geometries_for(spec, geometries, make) -> list:
    """The geometries of the grid that the planner can plan on (its ``geometry_check``, tried
    on ``make(name)``, an instance of each); the others are left out with one warning."""
    if spec.geometry_check is None:
        return list(geometries)
    fits, skipped = [], []
    for g in geometries:
        try:
            spec.check_geometry(make(g))
            fits.append(g)
        except FastplanError:
            skipped.append(g)
    if skipped:
        warnings.warn(FastplanWarning(f"{spec.name} cannot plan on {', '.join(skipped)}; those cells "
                                      f"are left out of the grid"), stacklevel=3)
    return fits


# --------------------------------------------------------------------------- work units

@dataclass(frozen=True)
class WorkUnit:
    """A batch of runs computed by one :func:`compute_unit` call (picklable).

    ``kind="plan"``: item i is the run (``config_ids[i]``, ``geometries[i]``, ``seeds[i]``);
    all items share planner, d, horizon, geometry usage and hyperparameters.
    ``kind="metrics"``: geometry metrics of ``geometries[0]`` at ``d`` for every seed.
    """

    kind: str
    d: int
    seeds: tuple
    geometries: tuple
    config_ids: tuple = ()
    planner: str = ""
    horizon: int = 0
    geometry_usage: str = ""
    hp_json: str = ""
    n_samples: int = 0
    execution: str = "latent"
    inputs: object = None           # fastplan.runs.inputs.Inputs shared by the runs, or None
    traces: bool = False
    arithmetic: str = ARITHMETIC    # the driver's mode; a worker in another mode refuses the unit

    @property
    def n_runs(self) -> int:
        return len(self.seeds) if self.kind == "plan" else 0

    @property
    def unit_id(self) -> str:
        parts = [self.kind, self.d, list(self.seeds), list(self.geometries), list(self.config_ids),
                 self.planner, self.horizon, self.geometry_usage, self.hp_json, self.n_samples]
        if self.execution != "latent":
            parts.append(self.execution)
        if self.inputs is not None:
            parts.append(self.inputs.key_json)
        if self.traces:
            parts.append("traces")
        if self.arithmetic != "exact":
            parts.append(f"arithmetic={self.arithmetic}")
        return store.config_id({"unit": parts})

    @property
    def weight(self) -> float:
        """Rough flop count, used only for the ETA."""
        if self.kind == "metrics":
            return len(self.seeds) * 1.5 * self.n_samples ** 2 * self.d
        return len(self.seeds) * _expected_rollouts(self.planner, json.loads(self.hp_json), self.horizon, self.d) \
            * self.horizon * (4.0 * self.d * self.d + 30.0 * self.d)


def _expected_rollouts(planner: str, hp: dict, T: int, d: int) -> float:
    """Expected world-model rollouts of one plan (ETA only; the kernels count the real ones)."""
    if planner not in registry.planners():
        return 1000.0
    return registry.planner(planner).expected_rollouts(hp, T, d)


def _chunks(items: list, max_batch: int) -> list[list]:
    """Split into the fewest chunks of at most ``max_batch``, sizes differing by at most 1."""
    n = len(items)
    k = -(-n // max_batch)
    bounds = [(i * n) // k for i in range(k + 1)]
    return [items[bounds[i]:bounds[i + 1]] for i in range(k)]


def make_units(grid: Grid, done_runs=frozenset(), done_metrics=frozenset(), *,
               max_batch: int = DEFAULT_MAX_BATCH, metric_samples: int = 4000,
               traces: bool = False) -> list[WorkUnit]:
    """Group the runs of ``grid`` that are not in ``done_runs`` into work units.

    Parameters
    ----------
    grid : Grid
    done_runs : set of (config_id, seed)
    done_metrics : set of (geometry, d, seed, n_samples)
    max_batch : int
        Most problems per ``plan_batch`` call (bigger batches amortise thread launches;
        smaller ones give finer progress and more parallelism across Dask workers).
    metric_samples : int
        Samples per geometry-metric estimate; 0 skips the metrics.  Geometries fitted to a
        user's latents get none here (their metrics: ``fastplan geometry --latents``).

    Returns
    -------
    list of WorkUnit, ordered by d, then plans (by horizon and planner) before metrics.
    """
    PLANNERS = registry.planners().names()
    max_batch = check_positive_int(max_batch, "max_batch")
    groups: dict[tuple, list] = {}
    for cfg in grid.configs:
        for s in grid.seeds:
            if (cfg.config_id, s) not in done_runs:
                groups.setdefault((cfg.planner, cfg.d, cfg.horizon, cfg.geometry_usage, cfg.hp_json,
                                   cfg.execution), []).append((cfg, s))
    units = []
    for (planner, d, horizon, usage, hp_json, execution), items in groups.items():
        for chunk in _chunks(items, max_batch):
            units.append(WorkUnit(
                kind="plan", d=d, seeds=tuple(s for _, s in chunk),
                geometries=tuple(c.geometry for c, _ in chunk),
                config_ids=tuple(c.config_id for c, _ in chunk), planner=planner,
                horizon=horizon, geometry_usage=usage, hp_json=hp_json, execution=execution,
                inputs=grid.inputs, traces=bool(traces)))
    if metric_samples and not (grid.inputs is not None and grid.inputs.geometry_name):  # fitted: not here
        n = check_positive_int(metric_samples, "metric_samples")
        if n < 2:
            raise FastplanError("metric_samples must be >= 2 (pairwise distances)")
        for g in grid.geometries:
            for d in grid.dims:
                missing = [s for s in grid.seeds if (g, d, s, n) not in done_metrics]
                for chunk in _chunks(missing, max_batch) if missing else []:
                    units.append(WorkUnit(kind="metrics", d=d, seeds=tuple(chunk), geometries=(g,),
                                          n_samples=n))
    rank = {p: i for i, p in enumerate(PLANNERS)}
    units.sort(key=lambda u: (u.d, u.kind == "metrics", u.horizon, rank.get(u.planner, 99)))
    return units


# --------------------------------------------------------------------------- the pure step

def compute_unit(unit: WorkUnit) -> dict:
    """Compute one work unit; PURE (no file access): unit in, arrays out.

    Returns
    -------
    dict
        ``kind="plan"``: ``unit_id``, ``planner``, ``d``, ``horizon``, ``geometry_usage``,
        ``hyperparameters`` (dict), ``config_ids``, ``geometries`` (P,) str, ``seeds`` (P,)
        int64, ``world`` (P,) the content hash of each run's world model and ``worlds`` (dict
        hash -> :func:`fastplan.store.worlds.entry`: family, provenance, arrays; each model once),
        ``n`` (the state dimension), ``s0``, ``goal`` (P, n), ``actions`` (P, T, d),
        ``states`` (P, T+1, n), ``goal_distance``, ``smoothness``, ``cost`` (P,) float64,
        ``samples``, ``steps`` (P,) int64, ``zero_action_distance`` (P,) (goal distance of
        the zero action sequence ``a = 0``) and ``initial_distance`` (P,) (``||s0 - s*||``),
        ``wall_time`` (float, whole batch, planning kernel only), ``threads``, ``warm_time``
        (seconds :func:`fastplan.plan_batch` spent loading/compiling kernels before timing:
        ``compile_time``; not stored),
        ``execution``; the manifold fields ``log_density``, ``ood_rate``, ``ood_threshold``,
        ``realised_goal_distance``, ``exploitation_gap`` (P,), ``density_notes``,
        ``projection_notes`` (P,) str and, for decoded execution, ``executed_actions`` (P, T, d);
        with a user's inputs, ``inputs_key`` (their content hashes, in the configuration key)
        and ``inputs`` (paths and hashes, recorded with the configuration); ``arithmetic``
        ("fast", in the configuration key) when not exact.
        ``kind="metrics"``: ``geometry``, ``d``, ``n_samples``, ``seeds`` and one (n,) array
        per metric of :func:`fastplan.metrics.geometry_metrics`.
    """
    import numba
    if unit.kind == "metrics":
        return _compute_metrics(unit)
    if unit.kind != "plan":
        raise FastplanError(f"unknown work unit kind {unit.kind!r}")
    if unit.arithmetic != ARITHMETIC:
        raise FastplanError(f"this process runs {ARITHMETIC} arithmetic but the sweep asked for "
                            f"{unit.arithmetic}: set FASTPLAN_ARITHMETIC={unit.arithmetic} on every worker")
    from ..engine.api import plan_batch, warm
    from ..engine.cost import baselines
    hp = json.loads(unit.hp_json)
    make = unit.inputs.problem if unit.inputs is not None else _problem
    problems = [make(g, unit.d, unit.horizon, s) for g, s in zip(unit.geometries, unit.seeds)]
    t_warm = warm(unit.planner, hp, unit.geometry_usage,     # before anything else compiles
                  problems[0].world.family)
    with warnings.catch_warnings():     # NaN plans are stored as such and counted in the summary
        warnings.filterwarnings("ignore", message=r".* plans are not finite", category=FastplanWarning)
        res = plan_batch(problems, unit.planner, geometry_usage=unit.geometry_usage, execution=unit.execution,
                         return_trace=unit.traces, **hp)
    if store.canonical_json(res.hyperparameters) != unit.hp_json:
        raise FastplanError(f"{unit.planner}: the planner resolved other hyperparameters than requested")
    from ..engine.worlds import ops as world_ops
    stack = lambda xs: np.ascontiguousarray(np.stack(xs), dtype=np.float64)  # noqa: E731
    s0, goal = stack([p.s0 for p in problems]), stack([p.goal for p in problems])
    zero_gd, init_gd = baselines(world_ops.bundle([p.world for p in problems]), s0, goal, unit.horizon)
    refs = [_world_ref(p.world, unit.inputs) for p in problems]
    return {
        "kind": "plan", "unit_id": unit.unit_id, "planner": unit.planner, "d": unit.d,
        "horizon": unit.horizon, "geometry_usage": unit.geometry_usage, "hyperparameters": hp,
        "config_ids": np.array(unit.config_ids, dtype=str), "geometries": np.array(unit.geometries, dtype=str),
        "seeds": np.array(unit.seeds, dtype=np.int64),
        "world": np.array([h for h, _ in refs], dtype=str), "worlds": dict(refs), "n": int(s0.shape[1]),
        **_inputs_fields(unit.inputs), "s0": s0, "goal": goal,
        "actions": np.asarray(res.actions, dtype=np.float64), "states": np.asarray(res.states, dtype=np.float64),
        "goal_distance": np.asarray(res.goal_distance, dtype=np.float64),
        "smoothness": np.asarray(res.smoothness, dtype=np.float64),
        "cost": np.asarray(res.cost, dtype=np.float64),
        "samples": np.asarray(res.samples, dtype=np.int64), "steps": np.asarray(res.steps, dtype=np.int64),
        "zero_action_distance": zero_gd, "initial_distance": init_gd,
        "wall_time": float(res.wall_time), "threads": int(numba.get_num_threads()),
        "warm_time": float(t_warm + res.compile_time), **_manifold_fields(problems, res),
        **({store.TRACE_FIELD: res.trace.as_array()} if unit.traces else {}),
        **({"arithmetic": res.arithmetic} if res.arithmetic != "exact" else {}),
    }


def _manifold_fields(problems, res) -> dict:
    """Issue 13's per-run fields: manifold metrics of the planned actions under each run's
    geometry, and what the environment did with them (see :mod:`fastplan.engine.manifold`)."""
    from ..engine import threads
    from ..engine.manifold import has_density, manifold_metrics
    geoms = [p.geometry for p in problems]
    # each geometry's OOD threshold (20,000 samples and their log densities, once per process):
    # spread over the threads, one each, instead of a fork-join per geometry
    todo = list({g.fingerprint: g for g in geoms if has_density(g)}.values())
    threads.map_dynamic(lambda i: todo[i].ood_threshold(), len(todo), threads.workers_for(len(todo)))
    out = {k: np.asarray(v, dtype=np.float64) for k, v in manifold_metrics(geoms, res.actions).items()}
    out["realised_goal_distance"] = np.asarray(res.realised_goal_distance, dtype=np.float64)
    out["exploitation_gap"] = np.asarray(res.exploitation_gap, dtype=np.float64)
    out["execution"] = res.execution
    out["density_notes"] = np.array([g.density_note if has_density(g) else "none" for g in geoms], dtype=str)
    out["projection_notes"] = np.array([g.projection_note if has_density(g) else "none" for g in geoms],
                                       dtype=str)
    if res.execution != "latent":
        out["executed_actions"] = np.ascontiguousarray(res.executed_actions, dtype=np.float64)
    return out


def _world_ref(world, inputs) -> tuple[str, dict]:
    """(content hash, :func:`fastplan.store.worlds.entry`) of a run's world model: the user's
    (its source file recorded) or the paper's, drawn from (d, seed)."""
    if inputs is not None and world is inputs.world:
        return inputs.world_hash, store.worlds.entry(world, inputs.world_provenance())
    return _paper_world_ref(world)


@functools.lru_cache(maxsize=1024)
def _paper_world_ref(world) -> tuple[str, dict]:
    """A paper world's hash and entry, once per world object (problems are cached, so are they)."""
    return world.content_hash(), store.worlds.entry(world)


def _inputs_fields(inputs) -> dict:
    """The ``inputs_key`` and ``inputs`` entries of a unit result (none without inputs)."""
    if inputs is None:
        return {}
    return {"inputs_key": inputs.key_json, "inputs": store.canonical_json(inputs.describe())}


@functools.lru_cache(maxsize=1024)
def _problem(geometry: str, d: int, horizon: int, seed: int):
    """:func:`fastplan.make_problem`, kept for the other planners of the same cell: a sweep's
    five planners face the same problems (immutable: read-only arrays, frozen dataclasses).

    Its parts are shared too: the world model, start and goal of (d, seed) serve every
    geometry and horizon, and the geometry of (kind, d, seed) every horizon, so the paper
    grid builds 40 worlds and 120 geometries instead of 360 of each (the same objects
    :func:`~fastplan.engine.problem.make_problem` would build, field for field)."""
    from ..engine.problem import Problem
    s0, goal, world = _paper_world(d, seed)
    return Problem(geometry=_paper_geometry(geometry, d, seed), world=world, s0=s0, goal=goal,
                   T=check_positive_int(horizon, "horizon"), seed=seed)


@functools.lru_cache(maxsize=1024)
def _paper_world(d: int, seed: int) -> tuple:
    """(s0, goal, world model) of the paper's problems at (d, seed)."""
    from ..engine import budget
    from ..engine.problem import make_world, start_and_goal
    d, seed = check_dim(d), check_seed(seed)
    budget.check_world(d)
    s0, goal = start_and_goal(d, seed)
    for x in (s0, goal):              # shared by every geometry, horizon and planner
        x.setflags(write=False)
    return s0, goal, make_world(d, seed)


@functools.lru_cache(maxsize=1024)
def _paper_geometry(kind: str, d: int, seed: int):
    """The registered geometry ``kind`` at (d, seed)."""
    from ..engine.geometry import make_geometry
    return make_geometry(kind, d, seed)


def clear_problem_caches() -> None:
    """Forget the problems (and their worlds and geometries) kept by this process."""
    for cache in (_problem, _paper_world, _paper_geometry):
        cache.cache_clear()


_METRICS_WARM: list = []


def _compute_metrics(unit: WorkUnit) -> dict:
    from ..engine.geometry import make_geometry
    from ..engine.metrics import geometry_metrics, metric_columns
    t_warm = 0.0
    if not _METRICS_WARM:            # compile the metric kernels apart from the timed work
        t0 = time.perf_counter()
        geometry_metrics(make_geometry("vae", 2, 0), n=4)
        t_warm = time.perf_counter() - t0
        _METRICS_WARM.append(True)
    cols = metric_columns([(unit.geometries[0], unit.d, s) for s in unit.seeds], n=unit.n_samples)
    return {"kind": "metrics", "unit_id": unit.unit_id, "geometry": unit.geometries[0], "d": unit.d,
            "n_samples": unit.n_samples, "seeds": cols["seed"], "warm_time": t_warm,
            **{k: cols[k] for k in store.METRIC_FLOATS}}


def serial_executor(fn, units):
    """The in-process executor: compute units one after the other."""
    for unit in units:
        yield fn(unit)


# --------------------------------------------------------------------------- the driver

@dataclass
class SweepSummary:
    """What a sweep did."""

    path: str
    configurations: int
    runs_total: int
    runs_before: int
    runs_computed: int
    units: int
    seconds: float
    threads: int
    executor: str = "in-process"
    extra: dict = field(default_factory=dict)
    not_finite: int = 0      # runs computed now whose cost is NaN or inf (stored as such)

    def _where(self) -> str:
        if self.executor == "in-process":
            return f"{self.threads} threads"
        return self.executor

    def __str__(self) -> str:
        if self.runs_computed == 0:
            return (f"{self.path}: all {self.runs_total} runs of {self.configurations} configurations "
                    f"were already there; nothing to compute")
        rate = self.runs_computed / self.seconds if self.seconds > 0 else float("inf")
        before = f" ({self.runs_before} were already there)" if self.runs_before else ""
        bad = (f"; {self.not_finite} of them are not finite (NaN or inf: the planner diverged; "
               f"stored as such)") if self.not_finite else ""
        return (f"{self.path}: {self.runs_computed} runs computed in {self.seconds:.1f} s "
                f"({rate:.1f} runs/s, {self._where()}){before}; "
                f"{self.configurations} configurations, {self.runs_total} runs in the grid{bad}")


def prepare_sweep(out_path, *, planners=None, geometries=None, dims=DEFAULT_DIMS,
                  horizons=DEFAULT_HORIZONS, seeds=DEFAULT_SEEDS, overrides: dict | None = None,
                  geometry_usage: str = "prior", gradient: str = "fd", budgets=None,
                  execution: str = "latent", threads: int | None = None, max_batch: int = DEFAULT_MAX_BATCH,
                  metric_samples: int = 4000, in_process: bool = True, inputs=None, traces: bool = False):
    """Validate a sweep and check that it can fit, before anything is written.

    Expands the grid (:func:`expand_grid`), checks the output path and estimates disk,
    memory and time (:func:`fastplan.runs.estimate.estimate_sweep`); refuses what cannot fit
    and warns about slow geometry metrics (:func:`~fastplan.runs.estimate.check_sweep`).

    Returns
    -------
    (Grid, SweepEstimate)
    """
    from ..engine.jit import max_threads
    from .estimate import check_sweep, estimate_sweep
    grid = expand_grid(planners=planners, geometries=geometries, dims=dims, horizons=horizons,
                       seeds=seeds, overrides=overrides, geometry_usage=geometry_usage, gradient=gradient,
                       budgets=budgets, execution=execution, inputs=inputs)
    if threads is not None:
        threads = check_positive_int(threads, "threads")
    max_batch = check_positive_int(max_batch, "max_batch")
    if metric_samples:
        metric_samples = check_positive_int(metric_samples, "metric_samples")
        if metric_samples < 2:
            raise FastplanError("metric_samples must be >= 2 (pairwise distances)")
    store.check_output_path(out_path)          # before threads change or anything is written
    import numba
    used = min(threads, max_threads()) if threads else numba.get_num_threads()
    estimate = estimate_sweep(grid, out_path, max_batch=max_batch, metric_samples=metric_samples,
                              threads=used, in_process=in_process, traces=traces)
    check_sweep(estimate, out_path, metric_samples=metric_samples)
    return grid, estimate


def run_sweep(out_path, *, planners=None, geometries=None, dims=DEFAULT_DIMS,
              horizons=DEFAULT_HORIZONS, seeds=DEFAULT_SEEDS, overrides: dict | None = None,
              geometry_usage: str = "prior", gradient: str = "fd", budgets=None, execution: str = "latent",
              threads: int | None = None,
              progress="auto", command_line: str | None = None, executor=None,
              executor_name: str = "in-process", max_batch: int = DEFAULT_MAX_BATCH,
              metric_samples: int = 4000, commit_interval: float = 5.0, inputs=None,
              traces: bool = False) -> SweepSummary:
    """Run a grid into the results file ``out_path``, computing only what is missing.

    Parameters
    ----------
    out_path : str or path-like
        Results file; created if missing, else must be a fastplan results file.
    planners, geometries, dims, horizons, seeds, overrides, geometry_usage, gradient, budgets, execution, inputs
        The grid (see :func:`expand_grid`); defaults are the paper's grid.  ``inputs``: a
        user's world model, latents, starts and goals (:func:`fastplan.runs.inputs.load_inputs`).
    threads : int, optional
        Numba threads for this sweep (restored afterwards).  Results do not depend on it.
    progress : {"auto", "bar", "lines", "quiet"} or None or Progress
        ``auto``: a bar on a terminal, periodic lines otherwise.
    command_line : str, optional
        Recorded as provenance (default: ``sys.argv``).
    executor : callable, optional
        ``executor(compute_unit, units) -> iterable of results`` (default: in-process).
    traces : bool
        Store each run's per-iteration trace (best cost so far, mean cost, rollouts; see
        :func:`fastplan.plan_batch` ``return_trace``) with the runs this sweep computes; runs
        already in the file keep what they have.  Changes no result.
    max_batch, metric_samples, commit_interval
        See :func:`make_units` and :class:`fastplan.store.Writer`.

    Returns
    -------
    SweepSummary
    """
    from ..engine.jit import set_threads
    from .progress import make_progress
    import numba
    grid, estimate = prepare_sweep(out_path, planners=planners, geometries=geometries, dims=dims,
                                   horizons=horizons, seeds=seeds, overrides=overrides,
                                   geometry_usage=geometry_usage, gradient=gradient, budgets=budgets,
                                   execution=execution, threads=threads,
                                   max_batch=max_batch, metric_samples=metric_samples,
                                   in_process=executor is None, inputs=inputs, traces=traces)
    before_threads = numba.get_num_threads()
    try:
        used = set_threads(threads)
        session = store.provenance(threads=used, command_line=command_line, executor=executor_name)
        t0 = time.perf_counter()
        with store.Writer(out_path, session, commit_interval=commit_interval) as writer:
            done_runs, done_metrics = writer.done()
            units = make_units(grid, done_runs, done_metrics, max_batch=max_batch,
                               metric_samples=metric_samples, traces=traces)
            remaining: dict[str, int] = {}
            for u in units:
                for cid in u.config_ids:
                    remaining[cid] = remaining.get(cid, 0) + 1
            runs_todo = sum(remaining.values())
            bar = make_progress(progress)
            bar.start(configs_total=len(grid.configs), configs_done=len(grid.configs) - len(remaining),
                      runs_total=grid.n_runs, runs_done=grid.n_runs - runs_todo,
                      weight_total=sum(u.weight for u in units), units=len(units),
                      note=estimate.line() if units else "")
            by_id = {u.unit_id: u for u in units}
            computed = not_finite = 0
            try:
                for result in (executor or serial_executor)(compute_unit, units):
                    writer.add(result)
                    unit = by_id.get(result.get("unit_id"))
                    finished = 0
                    n = 0
                    if result["kind"] == "plan":
                        not_finite += int((~np.isfinite(result["cost"])).sum())
                        for cid in result["config_ids"].tolist():
                            if cid in remaining:
                                remaining[cid] -= 1
                                n += 1
                                if remaining[cid] == 0:
                                    finished += 1
                    computed += n
                    bar.advance(runs=n, configs=finished, weight=unit.weight if unit else 0.0,
                                overhead=float(result.get("warm_time", 0.0)))
            finally:
                bar.finish()
        return SweepSummary(path=str(out_path), configurations=len(grid.configs),
                            runs_total=grid.n_runs, runs_before=grid.n_runs - runs_todo,
                            runs_computed=computed, units=len(units),
                            seconds=time.perf_counter() - t0, threads=used,
                            executor=executor_name, not_finite=not_finite)
    finally:
        set_threads(before_threads)
