"""Property-based fuzzing of the public API and the CLI (issue 12.4): no input crashes.

Hypothesis throws random shapes, dtypes, NaN / inf, huge and empty sizes, bools where
integers belong, wrong types for hyperparameters and overrides, unknown names, bad warm
starts, bad costs and inconsistent world models at every public entry of ``fastplan``
(``Problem`` built directly and ``Problem.from_arrays``, ``plan``, ``plan_batch``, ``rollout``,
``TanhWorld``, ``MLPWorld``, ``Cost``, ``geometry_from_samples`` and the geometry methods,
``manifold_metrics``, ``execute_decoded``, ``geometry_metrics``, ``MPC`` / ``closed_loop``,
``make_problem`` / ``make_geometry`` / ``make_world``, ``load_world`` / ``save_world``) and at
``fastplan plan`` / ``sweep`` / ``geometry --samples``.  Every call must either work (outputs
of the right shapes, finite, or flagged by a ``FastplanWarning`` when legitimate but extreme
inputs overflow) or raise a one-line ``FastplanError``: any other exception (TypeError,
AttributeError, IndexError, a bare ValueError, MemoryError) fails the test, and a crash of
the process would end the run.  CLI calls must exit 0, or non-zero with one ``Error:`` line.

Reproducible: ``derandomize=True`` (the examples are a fixed function of the test code),
no example database.  Example counts are :data:`EXAMPLES`; each test checks that it ran
them and that both outcomes (worked / refused) occurred, and the module prints the counts
at the end of the run (``fuzz examples: ...``).  Planner settings are tiny (one iteration,
populations of 2-10) and dimensions 1-3, so that the whole module runs in about a minute
once the kernels are compiled.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import fastplan
from fastplan import Cost, FastplanError, FastplanWarning, MLPWorld, Problem, TanhWorld

#: Examples per property (hypothesis ``max_examples``); the README quotes these numbers.
EXAMPLES = {
    "plan": 500, "plan_batch": 100, "from_arrays": 200, "rollout": 300, "worlds": 200,
    "cost": 200, "geometry": 150, "manifold": 150, "mpc": 80, "makers": 150,
    "cli_plan": 100, "cli_sweep": 80, "cli_geometry": 80,
}
#: (property, outcome) -> examples run; outcome "ok" (worked) or "refused" (FastplanError).
RAN: collections.Counter = collections.Counter()


def fuzz(name: str):
    """Hypothesis settings of one property: fixed examples, no deadline, no database."""
    return settings(max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), print_blob=False)


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    if RAN:
        total = sum(RAN.values())
        parts = [f"{name} {RAN[name, 'ok'] + RAN[name, 'refused']} ({RAN[name, 'ok']} ran, "
                 f"{RAN[name, 'refused']} refused)" for name in EXAMPLES if (name, "ok") in RAN
                 or (name, "refused") in RAN]
        line = f"fuzz examples: {total} in all; " + "; ".join(parts)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None:  # pragma: no cover - without pytest's plugins
            print(line)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_line(line)


def check_counts(name: str) -> None:
    """The property ran its examples, and some worked while others were refused."""
    ok, refused = RAN[name, "ok"], RAN[name, "refused"]
    assert ok + refused >= min(EXAMPLES[name], 20), (name, ok, refused)
    assert ok > 0 and refused > 0, f"{name}: {ok} worked, {refused} refused: one branch is never tested"


INTERNALS = ("numba", "Numba", "TypingError", "nopython", "Traceback")


def internal(msg: str) -> bool:
    """A message that shows Numba internals, a traceback or an object's address."""
    import re
    return any(w in msg for w in INTERNALS) or re.search(r" at 0x[0-9a-f]{6,}", msg) is not None


def attempt(name: str, fn):
    """Run ``fn``; return (result or None, FastplanError or None, warnings).  Any exception
    other than :class:`FastplanError` propagates (and fails the property); a FastplanError
    must be one line without Numba internals."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out = fn()
        except FastplanError as exc:
            msg = str(exc)
            assert msg.strip() and "\n" not in msg.strip(), repr(msg)
            assert not internal(msg), msg
            note(f"refused: {msg}")
            RAN[name, "refused"] += 1
            return None, exc, caught
    RAN[name, "ok"] += 1
    return out, None, caught


def flagged_not_finite(caught) -> bool:
    return any(issubclass(w.category, FastplanWarning) and "not finite" in str(w.message) for w in caught)


def extreme(*values) -> bool:
    """True when some input (arrays, numbers, dicts and lists of them) holds numbers so large
    that overflow is legitimate."""
    for v in values:
        if isinstance(v, dict):
            if extreme(*v.values()):
                return True
            continue
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            if isinstance(v, (list, tuple)) and extreme(*v):
                return True
            continue
        if a.size and np.max(np.abs(np.where(np.isfinite(a), a, 0.0))) > 1e100:
            return True
    return False


# --------------------------------------------------------------------------- strategies

DIM = st.integers(1, 3)
FINITE = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
#: Percent of draws that take a wrong value: each example holds ~6-10 inputs, and about half
#: of the examples should get past every check to the kernels.
BAD_PERCENT = 5


_STRATEGIES: dict = {}


def cached(factory):
    """A strategy factory whose strategies are built once per argument tuple."""
    def build(*args):
        key = (factory.__name__, args)
        if key not in _STRATEGIES:
            _STRATEGIES[key] = factory(*args)
        return _STRATEGIES[key]
    build.__doc__ = factory.__doc__
    return build


def ints(lo: int, hi: int):
    return cached(st.integers)(lo, hi)


BOOLS = st.booleans()
SHAPES = st.lists(st.integers(0, 4), min_size=0, max_size=3)
HIDDEN = st.lists(st.integers(1, 3), min_size=0, max_size=2)


def pick(values):
    """``st.sampled_from(values)``, built once per list (strategies are costly to rebuild)."""
    key = ("pick", repr(values))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = st.sampled_from(list(values))
    return _STRATEGIES[key]


def mostly(good, bad, bad_percent=BAD_PERCENT):
    """A value from ``good``, or (``bad_percent`` % of draws) one from ``bad``."""
    key = ("mostly", repr(good), repr(bad), bad_percent)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = st.tuples(st.integers(0, 99), st.sampled_from(list(good)),
                                     st.sampled_from(list(bad) or list(good))).map(
            lambda t: t[2] if 50 <= t[0] < 50 + bad_percent else t[1])   # hypothesis favours 0 and 99
    return _STRATEGIES[key]


#: Kinds of array input that are legal (converted or used as they are) and that are wrong.
GOOD_ARRAYS = ["valid"] * 12 + ["list", "int", "float32", "noncontig", "fortran", "readonly", "huge"]
BAD_ARRAYS = ["nan", "inf", "-inf", "shape", "bool", "complex", "object", "string", "none", "scalar",
              "ragged", "nones", "empty"]


def array_like(shape):
    """An input meant to be a float array of ``shape``: one of :data:`GOOD_ARRAYS` or
    (rarely) :data:`BAD_ARRAYS` (one strategy per shape)."""
    key = ("array", tuple(shape))
    if key not in _STRATEGIES:
        _STRATEGIES[key] = _array_like(tuple(shape))
    return _STRATEGIES[key]


@st.composite
def _array_like(draw, shape):
    kind = draw(mostly(GOOD_ARRAYS, BAD_ARRAYS))
    size = int(np.prod(shape))
    base = np.array(draw(values_of(size)), dtype=np.float64).reshape(shape)
    note(f"array {shape}: {kind}")
    if kind == "valid":
        return base
    if kind == "list":
        return base.tolist()
    if kind == "int":
        return np.rint(base).astype(np.int64)
    if kind == "float32":
        return base.astype(np.float32)
    if kind == "noncontig":
        return np.stack([base, base], axis=-1)[..., 0] if base.ndim else base
    if kind == "fortran":
        return np.asfortranarray(base)
    if kind == "readonly":
        base.setflags(write=False)
        return base
    if kind == "huge":
        return base * 1e300
    if kind in ("nan", "inf", "-inf"):
        if size:
            base.flat[draw(ints(0, size - 1))] = float(kind)
        return base
    if kind == "shape":
        other = tuple(draw(SHAPES))
        if other == tuple(shape):
            other = other + (2,)
        return np.zeros(other)
    if kind == "bool":
        return base > 0
    if kind == "complex":
        return base + 1j
    if kind == "object":
        return base.astype(object)
    if kind == "string":
        return draw(pick(["abc", "1.0", "", b"xyz"]))
    if kind == "none":
        return None
    if kind == "scalar":
        return 0.5
    if kind == "ragged":
        return [[0.0], [0.0, 1.0]]
    if kind == "nones":
        return [None] * max(size, 1)
    return np.zeros((0,) + tuple(shape[1:]))          # "empty"


def values_of(size: int):
    key = ("values", size)
    if key not in _STRATEGIES:
        _STRATEGIES[key] = st.lists(FINITE, min_size=size, max_size=size)
    return _STRATEGIES[key]


#: Values for a hyperparameter: sensible ones (tiny settings) and every kind of wrong one.
#: Iteration counts are never huge: a valid huge count is a long run, not an error.
SIZE_VALUES = [2, 4, 10, np.int64(4), "4", 4.0, 0, -1, 1, 2.5, True, None, "x", [4], float("nan"),
               float("inf"), 10**15, 10**30, 1e300]
REAL_VALUES = [0.0, 0.05, 0.5, 1.0, np.float32(0.3), "0.2", -0.5, True, None, "x", [0.1],
               float("nan"), float("inf"), -float("inf"), 1e300, 10**400, 1j]
TIME_KEYS = ("iterations", "steps")
COST_OPTIONS = fastplan.registry.COST_OPTIONS     # prior_weight, running, effort, lower, upper
#: Every registered planner (the paper's five and those beyond it) with its tiny warm-up settings.
TINY = {spec.name: spec.tiny_overrides() for spec in fastplan.registry.planners()}
TINY["cem"] = {"population": 4, "elite_fraction": 0.5, "iterations": 1}
PLANNER_NAMES = list(TINY) + ["CEM"]
BAD_PLANNER_NAMES = ["nope", "", None, 3]


@cached
@st.composite
def planner_and_overrides(draw):
    """A planner name (sometimes unknown) and overrides: tiny settings, then up to two
    random changes (any key, any value; iteration counts stay small)."""
    planner = draw(mostly(PLANNER_NAMES, BAD_PLANNER_NAMES))
    key = str(planner).lower() if isinstance(planner, str) else "cem"
    overrides = dict(TINY.get(key, {}))
    keys = sorted(fastplan.DEFAULTS.get(key, {})) + sorted(COST_OPTIONS) + ["bogus"]
    for _ in range(draw(mostly([0, 0, 0, 1], [1, 2], 30))):
        k = draw(pick(keys))
        if k in TIME_KEYS:
            v = draw(mostly([1, 2, np.int64(1), "2", 2.0], [0, -1, 1.5, True, "x", None, float("nan")], 40))
        elif k == "gradient":
            v = draw(mostly(["fd", "adjoint", "ADJOINT"], ["exact", None, 1], 40))
        elif k in ("population", "samples"):
            v = draw(mostly(SIZE_VALUES[:6], SIZE_VALUES[6:], 40))
        else:
            v = draw(mostly(REAL_VALUES[:6], REAL_VALUES[6:], 40))
        overrides[k] = v
    return planner, overrides


@cached
@st.composite
def cost_like(draw, d):
    """None, a dict or a Cost spec (built inside the property, where it may be refused)."""
    kind = draw(mostly(["none", "none", "none", "cost", "dict"], ["list"]))
    if kind == "none":
        return None
    if kind == "list":
        return [1.0]
    fields = {}
    for name in ("running", "effort"):
        if draw(BOOLS):
            fields[name] = draw(mostly([0.0, 0.5, 2.0, 1e300, "0.1", np.float64(1.0), 3],
                                       [-1.0, True, "x", None, float("nan"), float("inf"), [1.0]], 30))
    for name in ("lower", "upper"):
        choice = draw(mostly(["absent", "absent", "scalar", "array"], ["bad"]))
        if choice == "scalar":
            fields[name] = draw(mostly([-1.0, 0.0, 1.0, 5, float("inf") if name == "upper" else -float("inf")],
                                       [float("nan"), float("inf") if name == "lower" else -float("inf")], 20))
        elif choice == "array":
            fields[name] = draw(array_like((d,)))
        elif choice == "bad":
            fields[name] = draw(pick(["x", [[1.0]], [None], np.zeros((2, 2)), True]))
    if kind == "dict":
        if draw(mostly([False], [True])):
            fields["bogus"] = 1
        return fields
    return ("Cost", fields)


def make_cost(spec):
    return Cost(**spec[1]) if isinstance(spec, tuple) and spec and spec[0] == "Cost" else spec


MLP_ACTS = ["tanh", "relu", "elu", "identity"]


@cached
@st.composite
def world_spec(draw, n, d):
    """A world model's constructor and arguments: tanh (possibly inconsistent arrays), an MLP
    (possibly inconsistent layers) or something that is not a world model."""
    family = draw(mostly(["tanh", "tanh", "mlp"], ["other"]))
    if family == "tanh":
        return ("tanh", dict(A=draw(array_like((n, n))), B=draw(array_like((n, d))), b=draw(array_like((n,)))))
    if family == "other":
        return ("other", draw(pick([None, "model.npz", 3, {"A": 1}])))
    hidden = draw(HIDDEN)
    widths = [n + d] + hidden + [n]
    weights = [draw(array_like((widths[i + 1], widths[i]))) for i in range(len(widths) - 1)]
    biases = [draw(array_like((widths[i + 1],))) for i in range(len(widths) - 1)]
    acts = [draw(mostly(MLP_ACTS, ["softmax", None, 1])) for _ in weights]
    if draw(mostly([False], [True])):
        acts = acts[:-1]
    return ("mlp", dict(weights=tuple(weights), biases=tuple(biases), activations=tuple(acts),
                        residual=draw(mostly([True, False, np.bool_(True), 0], ["no", 2, None])),
                        n_action=draw(mostly([d, np.int64(d)], [0, -1, True, 2.0, d + 1, None]))))


def make_world_from(spec):
    family, args = spec
    if family == "tanh":
        return TanhWorld(**args)
    if family == "mlp":
        return MLPWorld(**args)
    return args


class _BadGeometry:
    """Duck-typed geometry whose samples or moments have the wrong shape (or NaN)."""

    def __init__(self, d, flaw):
        self.d, self.seed, self.kind, self.flaw = d, 0, "duck", flaw

    def sample(self, n, seed=None, stream=0):
        if self.flaw == "shape":
            return np.zeros((n, self.d + 1))
        return np.full((n, self.d), np.nan) if self.flaw == "nan" else np.zeros((n, self.d))

    def mean(self):
        return np.zeros(self.d + (self.flaw == "mean"))

    def std(self):
        return np.ones(self.d)


@cached
@st.composite
def geometry_for(draw, d):
    kind = draw(mostly(["vae", "vae", "ebm", "vqvae", "default", "duck_ok"],
                       ["wrong_d", "none", "string", "duck_shape", "duck_nan", "duck_mean"]))
    note(f"geometry: {kind}")
    if kind in ("vae", "ebm", "vqvae"):
        return fastplan.make_geometry(kind, d, 0)
    if kind == "default":
        from fastplan.engine.problem import standard_normal_geometry
        return standard_normal_geometry(d)
    if kind == "wrong_d":
        return fastplan.make_geometry("vae", d + 1, 0)
    if kind == "none":
        return None
    if kind == "string":
        return "vae"
    return _BadGeometry(d, kind[5:])


SEEDS = [None, 0, 5, np.uint64(7), 2**63 - 1]
BAD_SEEDS = [-1, 1.5, True, "3", 2**64]


def check_plan(res, n, d, T, caught, *inputs):
    assert res.actions.shape == (T, d) and res.states.shape == (T + 1, n), (res.actions.shape, res.states.shape)
    finite = (np.isfinite([res.cost, res.goal_distance, res.smoothness]).all()
              and np.isfinite(res.actions).all() and np.isfinite(res.states).all())
    assert finite or flagged_not_finite(caught) or extreme(*inputs), "non-finite plan without a warning"


# --------------------------------------------------------------------------- properties

@fuzz("plan")
@given(data=st.data())
def _plan(data):
    n, d, T = data.draw(DIM), data.draw(DIM), data.draw(mostly([1, 2, 3], [0, -1, 2.0, True, None, 10**20]))
    wspec = data.draw(world_spec(n, d))
    s0, goal = data.draw(array_like((n,))), data.draw(array_like((n,)))
    geometry = data.draw(geometry_for(d))
    planner, overrides = data.draw(planner_and_overrides())
    init = data.draw(mostly(["none"] * 4 + ["shared", "per"], ["wrong"]))
    h = T if type(T) is int and 0 < T <= 3 else 1
    init_actions = {"none": None, "shared": data.draw(array_like((h, d))), "per": np.zeros((1, h, d)),
                    "wrong": np.zeros((2, 5, d))}[init]
    cost = data.draw(cost_like(d))
    seed = data.draw(mostly(SEEDS, BAD_SEEDS))
    usage = data.draw(mostly(["prior", "prior", "none"], ["bogus", None]))
    execution = data.draw(mostly(["latent", "latent", "decoded", "LATENT"], ["bogus", 3]))
    mutate = data.draw(mostly([False], [True]))

    def call():
        world = make_world_from(wspec)
        if mutate and isinstance(world, TanhWorld) and world.A.flags.writeable:
            world.A.flat[0] = np.nan                    # changed in place after construction
        prob = Problem(geometry=geometry, world=world, s0=s0, goal=goal, T=T, seed=0)
        return fastplan.plan(prob, planner, seed, geometry_usage=usage, execution=execution,
                             init_actions=init_actions, cost=make_cost(cost), **overrides)

    res, err, caught = attempt("plan", call)
    if err is None:
        check_plan(res, n, d, T, caught, s0, goal, wspec[1], overrides, cost)


def test_plan_refuses_bad_input_and_never_crashes():
    _plan()
    check_counts("plan")


@fuzz("plan_batch")
@given(data=st.data())
def _plan_batch(data):
    n, d, T = data.draw(DIM), data.draw(DIM), data.draw(DIM)
    P = data.draw(ints(1, 3))
    base = fastplan.make_problem("vae", 2, 2, 0)
    world = fastplan.make_world(d, 0) if n == d else TanhWorld(A=np.eye(n) * 0.5, B=np.ones((n, d)), b=np.zeros(n))
    probs = [Problem(geometry=data.draw(geometry_for(d)), world=world, s0=data.draw(array_like((n,))),
                     goal=np.zeros(n), T=T, seed=p) for p in range(P)]
    if data.draw(mostly([False], [True])):
        probs.append(base)                               # another shape in the same batch
    problems = data.draw(mostly(["list", "list", "tuple", "generator"], ["one", "none", "str", "mixed"]))
    arg = {"list": probs, "tuple": tuple(probs), "generator": (p for p in probs), "one": probs[0],
           "none": None, "str": "problems", "mixed": probs + [3]}[problems]
    seeds = data.draw(mostly([None, "match", np.arange(len(probs))],
                             [[0] * (len(probs) + 1), 3, "abc", np.array(3), [[0, 1]], [-1] * len(probs)]))
    seeds = list(range(len(probs))) if isinstance(seeds, str) and seeds == "match" else seeds
    planner, overrides = data.draw(planner_and_overrides())
    init_actions = data.draw(mostly([None, None, "per", "shared"], ["wrong"]))
    init_actions = {None: None, "per": np.zeros((len(probs), T, d)), "shared": np.zeros((T, d)),
                    "wrong": np.zeros((len(probs) + 1, T, d))}[init_actions]

    res, err, caught = attempt("plan_batch", lambda: fastplan.plan_batch(
        arg, planner, seeds, init_actions=init_actions, **overrides))
    if err is None:
        assert res.actions.shape == (len(probs), T, d) and res.states.shape == (len(probs), T + 1, n)
        assert (np.isfinite(res.cost).all() and np.isfinite(res.actions).all()) or flagged_not_finite(caught) \
            or extreme(overrides, [p.s0 for p in probs])


def test_plan_batch_refuses_bad_input_and_never_crashes():
    _plan_batch()
    check_counts("plan_batch")


@fuzz("from_arrays")
@given(data=st.data())
def _from_arrays(data):
    n, d = data.draw(DIM), data.draw(DIM)
    wspec = data.draw(world_spec(n, d))
    s0, goal = data.draw(array_like((n,))), data.draw(array_like((n,)))
    horizon = data.draw(mostly([1, 2, np.int32(2)], [0, -3, 2.0, "2", True, None, 10**30]))
    geometry = data.draw(pick(["none", "none", "fit", "given"]))
    seed = data.draw(mostly([0, 3], [-1, 1.5, None, True]))
    plan_it = data.draw(BOOLS)

    def call():
        geom = None
        if geometry == "given":
            geom = data.draw(geometry_for(d))
        elif geometry == "fit":
            geom = fastplan.geometry_from_samples(np.random.default_rng(0).normal(size=(20, d)), "gmm", k=2)
        prob = Problem.from_arrays(make_world_from(wspec), s0, goal, horizon, geometry=geom, seed=seed)
        if plan_it:
            return prob, fastplan.plan(prob, "cem", **TINY["cem"])
        return prob, None

    out, err, caught = attempt("from_arrays", call)
    if err is None:
        prob, res = out
        assert prob.s0.shape == (prob.n,) and prob.goal.shape == (prob.n,) and prob.s0.dtype == np.float64
        if res is not None:
            check_plan(res, prob.n, prob.d, prob.T, caught, s0, goal, wspec[1])


def test_problem_from_arrays_refuses_bad_input_and_never_crashes():
    _from_arrays()
    check_counts("from_arrays")


@fuzz("rollout")
@given(data=st.data())
def _rollout(data):
    n, d = data.draw(DIM), data.draw(DIM)
    N, T = data.draw(mostly([1, 2, 3], [0])), data.draw(mostly([1, 2, 3], [0]))
    P = data.draw(pick([None, None, 1, 2]))
    lead = () if P is None else (P,)
    form = data.draw(mostly(["object", "object", "arrays", "keywords"], ["missing", "extra"]))
    wspec = data.draw(world_spec(n, d))
    arrays = {k: data.draw(array_like(lead + shape)) for k, shape in
              (("A", (n, n)), ("B", (n, d)), ("b", (n,)), ("s0", (n,)), ("goal", (n,)))}
    actions = data.draw(array_like(lead + (N, T, d)))
    lam = data.draw(mostly([0.1, 0.1, 0.0, 3, "0.2", 1e300], [-1.0, float("nan"), "x", None, True]))
    states = data.draw(mostly([False, True, np.bool_(True)], ["yes", 1, None]))
    cost = data.draw(cost_like(d))

    def call():
        kw = dict(lam=lam, return_states=states, cost=make_cost(cost))
        if form == "object":
            return fastplan.rollout(make_world_from(wspec), arrays["s0"], arrays["goal"], actions, **kw)
        if form == "keywords":
            return fastplan.rollout(**arrays, actions=actions, **kw)
        if form == "missing":
            return fastplan.rollout(arrays["A"], arrays["B"], arrays["b"], arrays["s0"], actions, **kw)
        if form == "extra":                             # a world model and its arrays
            return fastplan.rollout(arrays["A"], arrays["B"], arrays["b"], arrays["s0"], arrays["goal"],
                                    actions, world=make_world_from(wspec), **kw)
        return fastplan.rollout(arrays["A"], arrays["B"], arrays["b"], arrays["s0"], arrays["goal"], actions, **kw)

    out, err, caught = attempt("rollout", call)
    if err is None:
        a = np.asarray(actions)
        lead_shape = a.shape[:-2]
        assert out["cost"].shape == lead_shape and out["goal_distance"].shape == lead_shape
        if states is True:
            assert out["states"].shape[:-2] == lead_shape and out["states"].shape[-2] == a.shape[-2] + 1
        finite = all(np.isfinite(v).all() for v in out.values())
        assert finite or extreme(arrays, actions, lam, wspec[1], cost), "non-finite rollout of ordinary input"


def test_rollout_refuses_bad_input_and_never_crashes():
    _rollout()
    check_counts("rollout")


@fuzz("worlds")
@given(data=st.data())
def _worlds(data):
    n, d = data.draw(DIM), data.draw(DIM)
    wspec = data.draw(world_spec(n, d))
    path = data.draw(mostly(["ok"], ["dir", "int", "none"], 15))
    extra = data.draw(mostly([None], ["seed_array", "no_family", "single_array", "bad_family"], 15))

    def call():
        world = make_world_from(wspec)
        with tempfile.TemporaryDirectory() as tmp:
            target = {"ok": os.path.join(tmp, "w.npz"), "dir": tmp, "int": 3, "none": None}[path]
            fastplan.save_world(world, target)
            if extra == "single_array":
                np.save(os.path.join(tmp, "w.npz.npy"), np.zeros(3))
                target = os.path.join(tmp, "w.npz.npy")
            elif extra is not None and path == "ok":
                with np.load(target) as z:
                    arrays = dict(z)
                if extra == "seed_array":
                    arrays["seed"] = np.zeros(2)
                elif extra == "no_family":
                    del arrays["family"]
                else:
                    arrays["family"] = np.array("nope")
                np.savez(target, **arrays)
            back = fastplan.load_world(target)
        return world, back

    out, err, caught = attempt("worlds", call)
    if err is None:
        world, back = out
        assert back.content_hash() == world.content_hash() and (back.n, back.d) == (world.n, world.d)
        x = world.step(np.zeros(world.n), np.zeros(world.d))
        assert x.shape == (world.n,)


def test_world_models_refuse_bad_arrays_and_never_crash():
    _worlds()
    check_counts("worlds")


@fuzz("cost")
@given(data=st.data())
def _cost(data):
    d = data.draw(DIM)
    spec = data.draw(cost_like(d))
    actions = data.draw(array_like((2, d)))

    def call():
        cost = make_cost(spec)
        from fastplan.engine.cost import check_cost
        c = check_cost(cost)
        return c, c.bundle(0.1, d), c.clip(actions), c.record()

    out, err, caught = attempt("cost", call)
    if err is None:
        c, bundle, clipped, record = out
        lo, hi = bundle[3], bundle[4]
        assert bundle[1] >= 0 and bundle[2] >= 0 and np.isfinite(bundle[1:3]).all()
        assert (lo.shape == hi.shape == (d,) and not np.isnan(lo).any() and np.all(lo <= hi)) \
            or (lo.size == 0 and hi.size == 0)
        assert set(record) == {"running", "effort", "lower", "upper"}


def test_cost_refuses_bad_terms_and_bounds():
    _cost()
    check_counts("cost")


@fuzz("geometry")
@given(data=st.data())
def _geometry(data):
    m, d = data.draw(mostly(list(range(4, 26)), [0, 1, 2])), data.draw(DIM)
    x = data.draw(array_like((m, d)))
    kind = data.draw(mostly(["gmm", "gmm", "kmeans", "empirical", "GMM"], ["bogus", None, 3]))
    k = data.draw(mostly([1, 2, 3, np.int64(2)], [0, -1, 100, 2.5, True, "2", 10**30]))
    covariance = data.draw(mostly(["diag", "diag", "full"], ["bogus", None]))
    seed = data.draw(mostly([0, 1], [-1, None, 1.5]))
    n_draw = data.draw(mostly([1, 5], [0, -2, 2.5, True, 10**15, 2**70]))
    stream = data.draw(mostly([0, 3, 2**24 - 1], [-1, 2**24, 1.5, True]))
    query = data.draw(array_like((4, d)))

    def call():
        geom = fastplan.geometry_from_samples(x, kind, k, seed, covariance=covariance)
        return (geom, geom.sample(n_draw, stream=stream), geom.log_density(query), geom.project(query),
                geom.score(query), geom.ood_rate(query), geom.density_note)

    out, err, caught = attempt("geometry", call)
    if err is None:
        geom, samples, logp, proj, score, ood, note_ = out
        q = np.asarray(query)
        assert samples.shape == (n_draw, d) and np.isfinite(samples).all()
        assert logp.shape == q.shape[:-1] and proj.shape == q.shape and score.shape == q.shape
        assert 0.0 <= ood <= 1.0 and isinstance(note_, str)


def test_geometries_from_samples_refuse_bad_input_and_never_crash():
    _geometry()
    check_counts("geometry")


@fuzz("manifold")
@given(data=st.data())
def _manifold(data):
    d, T, P = data.draw(DIM), data.draw(DIM), data.draw(ints(1, 2))
    prob = fastplan.make_problem(data.draw(pick(["vae", "ebm", "vqvae"])), d, T, 0)
    actions = data.draw(array_like((P, T, d)))
    geoms = data.draw(mostly(["one", "list"], ["short", "bad"], 20))
    geoms = {"one": prob.geometry, "list": [prob.geometry] * P, "short": [prob.geometry] * (P + 1),
             "bad": data.draw(geometry_for(d))}[geoms]
    plan_actions = data.draw(array_like((T, d)))
    lam = data.draw(mostly([None, 0.1, 0], [-1.0, "x", float("inf"), True]))
    which = data.draw(pick(["manifold", "decoded", "metrics"]))
    n_metric = data.draw(mostly([2, 10], [1, 0, -5, 2.5, True, 10**15, "10"], 20))
    metric_seed = data.draw(mostly([None, 0, 3], [-1, 1.5]))

    def call():
        if which == "manifold":
            return fastplan.manifold_metrics(geoms, actions)
        if which == "decoded":
            return fastplan.execute_decoded(prob, plan_actions, lam=lam)
        return fastplan.geometry_metrics(geoms, n=n_metric, seed=metric_seed)

    out, err, caught = attempt("manifold", call)
    if err is None and which == "manifold":
        assert all(v.shape == (np.shape(actions)[0],) for v in out.values())
    elif err is None and which == "decoded":
        assert out["executed_actions"].shape == (T, d) and out["states"].shape == (T + 1, d)
        assert np.isfinite(out["goal_distance"]) or extreme(plan_actions)
    elif err is None:
        assert out["n_samples"] == n_metric and out["d"] == geoms.d


def test_manifold_metrics_and_decoded_execution_never_crash():
    _manifold()
    check_counts("manifold")


@fuzz("mpc")
@given(data=st.data())
def _mpc(data):
    n, d, T = data.draw(DIM), data.draw(DIM), data.draw(ints(1, 3))
    family = data.draw(pick(["tanh", "mlp"]))
    if family == "tanh":
        world = fastplan.make_world(d, 0) if n == d else TanhWorld(A=np.eye(n) * 0.5, B=np.ones((n, d)), b=np.zeros(n))
    else:
        from fastplan.engine.worlds.mlp import random_mlp
        world = random_mlp(n, d, hidden=(3,), seed=0)
    prob = Problem.from_arrays(world, np.zeros(n), np.full(n, 0.3), T)
    planner, overrides = data.draw(planner_and_overrides())
    horizon = data.draw(mostly(["shrinking", "shrinking", "fixed"], ["bogus", None]))
    replan = data.draw(mostly([1, 1, 2], [0, -1, 1.5, True, 10**30]))
    warm = data.draw(mostly([True, False], ["yes", None]))
    state = data.draw(array_like((n,)))
    loop_world = data.draw(mostly(["own"], ["other_dims", "no_step", "nan_step"]))
    steps = data.draw(mostly([None, 1], [0, -1, 2.5, T + 1]))
    s0 = data.draw(pick([None, "state"]))

    class NanWorld:
        def step(self, s, a):
            return np.full(n, np.nan)

    def call():
        ctl = fastplan.MPC(prob, planner, horizon=horizon, replan_every=replan, warm_start=warm, **overrides)
        first = ctl.command(state)
        other = {"own": None, "other_dims": fastplan.make_world(n + 1, 0), "no_step": object(),
                 "nan_step": NanWorld()}[loop_world]
        loop = fastplan.closed_loop(ctl, world=other, steps=steps, s0=state if s0 == "state" else None)
        return first, loop

    out, err, caught = attempt("mpc", call)
    if err is None:
        first, loop = out
        assert first.shape == (d,) and loop["states"].shape[1] == n and loop["actions"].shape[1] == d


def test_mpc_and_closed_loop_never_crash():
    _mpc()
    check_counts("mpc")


ANY_INT = [1, 2, 3, 0, -1, 2.5, True, None, "4", np.int64(2), 10**12, 2**70]


@fuzz("makers")
@given(data=st.data())
def _makers(data):
    which = data.draw(pick(["problem", "geometry", "world"]))
    kind = data.draw(pick(["vae", "ebm", "vqvae", "sparse-ebm", "VQ-VAE", "gan", "", None, 3]))
    d, horizon, seed = (data.draw(pick(ANY_INT)) for _ in range(3))

    def call():
        if which == "problem":
            return fastplan.make_problem(kind, d, horizon, seed)
        if which == "geometry":
            return fastplan.make_geometry(kind, d, seed)
        return fastplan.make_world(d, seed)

    out, err, caught = attempt("makers", call)
    if err is None:
        assert out.d == int(d)


def test_problem_geometry_and_world_makers_never_crash():
    _makers()
    check_counts("makers")


# --------------------------------------------------------------------------- the CLI

def cli_result(args):
    from click.testing import CliRunner

    from fastplan_cli.main import cli
    result = CliRunner().invoke(cli, [str(a) for a in args])
    exc = result.exception
    assert exc is None or isinstance(exc, SystemExit), f"{type(exc).__name__}: {exc}"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    return result


def cli_outcome(name, result) -> bool:
    """Exit 0 (True), or non-zero with exactly one ``Error:`` line on stderr (False)."""
    if result.exit_code == 0:
        RAN[name, "ok"] += 1
        return True
    errors = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and errors[0].startswith("Error: "), result.stderr
    assert not internal(errors[0]), errors[0]
    RAN[name, "refused"] += 1
    return False


def write_input_files(tmp: str) -> None:
    """Files for ``--world``, ``--latents`` and ``--starts-goals``: good ones and bad ones."""
    from fastplan.engine.worlds.mlp import random_mlp
    W = fastplan.make_world(2, 0)
    fastplan.save_world(W, f"{tmp}/tanh.npz")
    fastplan.save_world(random_mlp(3, 2, hidden=(4,), seed=0), f"{tmp}/mlp.npz")
    np.savez(f"{tmp}/nofamily.npz", A=W.A, B=W.B, b=W.b)
    np.savez(f"{tmp}/nan_world.npz", family=np.array("tanh"), A=W.A * np.nan, B=W.B, b=W.b)
    np.savez(f"{tmp}/bad_world.npz", family=np.array("tanh"), A=np.zeros((2, 3)), B=W.B, b=W.b)
    np.savez(f"{tmp}/bad_mlp.npz", family=np.array("mlp"), n_action=np.array(2), residual=np.array(True),
             activations=np.array(["tanh"]), W0=np.zeros((3, 4)), c0=np.zeros(2))
    np.save(f"{tmp}/array.npy", np.zeros(3))
    np.save(f"{tmp}/latents.npy", np.random.default_rng(0).normal(size=(30, 2)))
    np.save(f"{tmp}/latents_nan.npy", np.full((30, 2), np.nan))
    np.save(f"{tmp}/latents_1d.npy", np.zeros(30))
    np.save(f"{tmp}/latents_d3.npy", np.random.default_rng(0).normal(size=(30, 3)))
    np.savez(f"{tmp}/sg.npz", s0=np.zeros((2, 2)), goal=np.full((2, 2), 0.3))
    np.savez(f"{tmp}/sg_wrong_n.npz", s0=np.zeros((2, 5)), goal=np.zeros((2, 5)))
    np.savez(f"{tmp}/sg_nogoal.npz", s0=np.zeros((2, 2)))
    np.savez(f"{tmp}/sg_nan.npz", s0=np.full((2, 2), np.nan), goal=np.zeros((2, 2)))
    with open(f"{tmp}/text.npz", "w") as fh:
        fh.write("not numpy\n")
    open(f"{tmp}/empty.npy", "w").close()


#: Directory of :func:`write_input_files` while the CLI properties run.
INPUTS: dict = {}


def input_dir() -> str:
    if "dir" not in INPUTS:
        INPUTS["dir"] = tempfile.mkdtemp(prefix="fastplan-fuzz-")
        write_input_files(INPUTS["dir"])
    return INPUTS["dir"]


BAD_FILES = ["{tmp}/nofamily.npz", "{tmp}/nan_world.npz", "{tmp}/bad_world.npz", "{tmp}/bad_mlp.npz",
             "{tmp}/array.npy", "{tmp}/text.npz", "{tmp}/empty.npy", "/nonexistent-dir/x.npz", "{tmp}"]
BAD_LATENTS = ["{tmp}/latents_nan.npy", "{tmp}/latents_1d.npy", "{tmp}/latents_d3.npy", "{tmp}/text.npz",
               "{tmp}/empty.npy", "{tmp}/sg.npz", "/nonexistent-dir/x.npy"]
BAD_STARTS = ["{tmp}/sg_wrong_n.npz", "{tmp}/sg_nogoal.npz", "{tmp}/sg_nan.npz", "{tmp}/array.npy",
              "{tmp}/text.npz", "{tmp}/empty.npy", "{tmp}/tanh.npz"]

#: Values per option of `fastplan plan`: bad ones and a few good ones, so both outcomes occur.
PLAN_OPTIONS = {
    "--world": ["{tmp}/tanh.npz", "{tmp}/mlp.npz"] + BAD_FILES,
    "--latents": ["{tmp}/latents.npy"] + BAD_LATENTS,
    "--starts-goals": ["{tmp}/sg.npz"] + BAD_STARTS,
    "--fit": ["gmm", "kmeans", "empirical", "bogus"],
    "--k": ["2", "0", "x", "100"],
    "--prior-weight": ["0.5", "-1", "x", "nan", "inf"],
    "--running": ["0.1", "0", "-1", "x", "inf"], "--effort": ["0.01", "-0.1", "nan"],
    "--bounds": ["-1,1", "-inf,1", "1,0", "1", "x,1", "nan,1", "1,2,3"],
    "--planner": ["rrt", "", "CEM", "mppi"],
    "--geometry": ["gan", "", "sparse-ebm", "3"],
    "--dim": ["0", "-1", "x", "2.5", "", "99999999999999999999", "1000000", "3"],
    "--horizon": ["0", "-4", "x", "10000000000000000", "2"],
    "--seed": ["-1", "x", "9223372036854775808", "1.5", "7"],
    "--set": ["population=0", "population=x", "bogus=1", "population", "=3", "cem.population=1e30",
              "lam=nan", "lam=-1", "mppi.samples=4", "population=1,2", "elite_fraction=0", "lam=0.2"],
    "--geometry-usage": ["bogus", "none"],
    "--gradient": ["exact", "adjoint"],
    "--execution": ["projected", "decoded"],
    "--threads": ["0", "x", "-2"],
}


@fuzz("cli_plan")
@given(data=st.data())
def _cli_plan(data):
    args = ["plan", "--dim", "2", "--horizon", "2"]
    for _ in range(data.draw(ints(1, 3))):
        opt = data.draw(pick(sorted(PLAN_OPTIONS)))
        args += [opt, data.draw(pick(PLAN_OPTIONS[opt])).format(tmp=input_dir())]
    if data.draw(BOOLS):
        args.append("--json")
    note(" ".join(args))
    result = cli_result(args)
    if cli_outcome("cli_plan", result) and "--json" in args:
        import json
        out = json.loads(result.stdout)
        assert len(out["actions"]) == out["horizon"] and len(out["states"]) == out["horizon"] + 1


def test_cli_plan_bad_arguments_are_one_line():
    try:
        _cli_plan()
    finally:
        import shutil
        shutil.rmtree(INPUTS.pop("dir", "/nonexistent"), ignore_errors=True)
    check_counts("cli_plan")


#: Always-bad values per option of `fastplan sweep` (one is added to a tiny valid grid).
SWEEP_BAD = {
    "--dims": ["0", "-1", "x", "4.5", "1-3", "99999999999999999999"],
    "--horizons": ["0", "x", "-2", "2.5"],
    "--seeds": ["-1", "x", "5-2", "0-99999999", "9223372036854775808"],
    "--planners": ["nope", "cem,nope", "rrt"],
    "--geometries": ["gan", "vae,gan"],
    "--set": ["cem.population=0", "nope.x=1", "population", "cem.population=x", "cem.lam=nan", "lam=-1",
              "cem.population=1e30", "=3", "cem.bogus=1", "cem.population=", "cem.elite_fraction=2"],
    "--max-batch": ["0", "x"],
    "--metric-samples": ["1", "-1", "x"],
    "--threads": ["0", "x"],
    "--budget": ["0", "x", "-5"],
    "--execution": ["projected"],
    "--geometry-usage": ["bogus"],
    "--gradient": ["exact"],
    "--out": ["{tmp}", "/nonexistent-dir/x/runs.h5", "{tmp}/notes.txt", ""],
    "--world": BAD_FILES, "--latents": BAD_LATENTS, "--starts-goals": BAD_STARTS,
    "--prior-weight": ["x", "-1", "nan", "0.1,x"],
    "--running": ["x", "-1", "0.1,nan"], "--effort": ["inf", "-0.5"], "--bounds": ["1,-1", "2", "a,b", "inf,inf"],
}


@fuzz("cli_sweep")
@given(data=st.data())
def _cli_sweep(data):
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "notes.txt"), "w") as fh:
            fh.write("not a results file\n")
        args = ["sweep", "--out", os.path.join(tmp, "runs.h5"), "--planners", "cem", "--geometries", "vae",
                "--dims", "2", "--horizons", "1", "--seeds", "0", "--metric-samples", "0", "--quiet",
                "--set", "cem.population=10", "--set", "cem.iterations=1"]
        bad = data.draw(mostly([1, 1, 2], [0], 15))
        for _ in range(bad):
            opt = data.draw(pick(sorted(SWEEP_BAD)))
            value = data.draw(pick(SWEEP_BAD[opt]))
            args += [opt, value.format(tmp=input_dir() if opt in ("--world", "--latents", "--starts-goals")
                                       else tmp)]
        note(" ".join(args))
        ok = cli_outcome("cli_sweep", cli_result(args))
        assert ok == (bad == 0), f"exit {'0' if ok else 'non-zero'} for {args[20:]}"


def test_cli_sweep_bad_arguments_are_one_line():
    try:
        _cli_sweep()
    finally:
        import shutil
        shutil.rmtree(INPUTS.pop("dir", "/nonexistent"), ignore_errors=True)
    check_counts("cli_sweep")


LATENT_FILES = ["valid", "valid", "one_row", "nan", "inf", "1d", "3d", "bool", "complex", "object",
                "text", "empty", "missing", "dir", "npz_two", "npz_named", "huge", "constant", "ints"]


@fuzz("cli_geometry")
@given(data=st.data())
def _cli_geometry(data):
    kind = data.draw(pick(LATENT_FILES))
    m, d = data.draw(ints(2, 30)), data.draw(DIM)
    x = np.random.default_rng(data.draw(ints(0, 3))).normal(size=(m, d))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "latents.npy")
        if kind in ("valid", "ints"):
            np.save(path, x if kind == "valid" else np.rint(x * 10).astype(np.int32))
        elif kind == "one_row":
            np.save(path, x[:1])
        elif kind in ("nan", "inf"):
            x[0, 0] = float(kind)
            np.save(path, x)
        elif kind == "1d":
            np.save(path, x[:, 0])
        elif kind == "3d":
            np.save(path, x[None])
        elif kind == "bool":
            np.save(path, x > 0)
        elif kind == "complex":
            np.save(path, x + 1j)
        elif kind == "object":
            np.save(path, x.astype(object), allow_pickle=True)
        elif kind == "text":
            with open(path, "w") as fh:
                fh.write("1 2 3\n")
        elif kind == "empty":
            open(path, "w").close()
        elif kind == "dir":
            os.mkdir(os.path.join(tmp, "d.npy"))
            path = os.path.join(tmp, "d.npy")
        elif kind in ("npz_two", "npz_named"):
            path = os.path.join(tmp, "latents.npz")
            np.savez(path, **({"a": x, "b": x} if kind == "npz_two" else {"latents": x, "other": x}))
        elif kind == "huge":
            np.save(path, x * 1e300)
        elif kind == "constant":
            np.save(path, np.ones((m, d)))
        args = ["geometry", "--samples", path]
        if data.draw(BOOLS):
            args += ["--fit", data.draw(pick(["gmm", "kmeans", "empirical", "GMM", "bogus"]))]
        if data.draw(BOOLS):
            args += ["--k", data.draw(pick(["1", "2", "3", "0", "-1", "x", "100", "2.5"]))]
        if data.draw(mostly([False], [True], 20)):
            args += ["--samples", data.draw(pick(["1", "0", "x.npy", "-3"]))]
        if data.draw(BOOLS):
            args.append("--json")
        note(f"{kind}: {' '.join(args)}")
        cli_outcome("cli_geometry", cli_result(args))


def test_cli_geometry_samples_bad_files_are_one_line():
    _cli_geometry()
    check_counts("cli_geometry")
