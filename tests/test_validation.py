"""Bad input to the public core API gets one clear FastplanError, never a Numba traceback."""
from __future__ import annotations

import numpy as np
import pytest

from fastplan import FastplanError
from fastplan.engine.geometry import make_geometry
from fastplan.engine.metrics import concentration, effective_dimension, geometry_metrics, mean_pairwise_distance
from fastplan.engine.problem import make_problem
from fastplan.engine.cost import rollout
from fastplan.engine.world import make_world, start_and_goal


def assert_clear(exc_info, *words):
    """One line, mentions every word, and no Numba internals."""
    msg = str(exc_info.value)
    assert "\n" not in msg.strip()
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"
    for internal in ("numba", "Numba", "TypingError", "nopython"):
        assert internal not in msg


def test_fastplan_error_is_a_value_error():
    assert issubclass(FastplanError, ValueError)


# ---------------------------------------------------------------------------------------
# dimensions, kinds, seeds
# ---------------------------------------------------------------------------------------

BAD_DIMS = [0, -3, 2.5, 4.0, "4", None, True, np.float64(4.0)]
MAKERS = {
    "geometry": lambda d: make_geometry("vae", d, 0),
    "world": lambda d: make_world(d, 0),
    "start_and_goal": lambda d: start_and_goal(d, 0),
    "problem": lambda d: make_problem("ebm", d, 4, 0),
}


@pytest.mark.parametrize("maker", MAKERS)
@pytest.mark.parametrize("d", BAD_DIMS, ids=repr)
def test_bad_dimension(maker, d):
    with pytest.raises(FastplanError) as ei:
        MAKERS[maker](d)
    assert_clear(ei, "d must be")


def test_numpy_integers_are_accepted():
    g = make_geometry("vae", np.int64(4), np.uint32(3))
    assert g.d == 4 and g.seed == 3 and isinstance(g.d, int)


@pytest.mark.parametrize("kind", ["gan", "", "vae2", None, 3])
def test_unknown_geometry(kind):
    with pytest.raises(FastplanError) as ei:
        make_geometry(kind, 4, 0)
    assert_clear(ei, "unknown geometry", "vae", "ebm", "vqvae")
    with pytest.raises(FastplanError):
        make_problem(kind, 4, 4, 0)


BAD_SEEDS = [-1, 1.5, 2.0, "0", None, 2**63, True]
SEEDED = {
    "geometry": lambda s: make_geometry("vqvae", 4, s),
    "world": lambda s: make_world(4, s),
    "start_and_goal": lambda s: start_and_goal(4, s),
    "problem": lambda s: make_problem("vae", 4, 4, s),
    "sample": lambda s: make_geometry("vae", 4, 0).sample(10, seed=s),
    "metrics": lambda s: geometry_metrics(make_geometry("vae", 4, 0), n=10, seed=s),
}


@pytest.mark.parametrize("where", SEEDED)
@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
def test_bad_seed(where, seed):
    if seed is None and where in ("sample", "metrics"):
        return    # None means "the geometry's own seed" there: covered below
    with pytest.raises(FastplanError) as ei:
        SEEDED[where](seed)
    assert_clear(ei, "seed")


def test_seed_none_means_geometry_seed():
    g = make_geometry("vae", 4, 3)
    np.testing.assert_array_equal(g.sample(10, seed=None), g.sample(10, seed=3))


@pytest.mark.parametrize("horizon", [0, -1, 2.5, "8"])
def test_bad_horizon(horizon):
    with pytest.raises(FastplanError) as ei:
        make_problem("vae", 4, horizon, 0)
    assert_clear(ei, "horizon")


@pytest.mark.parametrize("n", [0, -5, 3.0])
def test_bad_sample_count(n):
    with pytest.raises(FastplanError):
        make_geometry("ebm", 8, 0).sample(n)
    with pytest.raises(FastplanError):
        geometry_metrics(make_geometry("ebm", 8, 0), n=n)


def test_metrics_need_two_samples():
    """n = 1 has no pairs and no covariance: a clear FastplanError, not a misleading
    'point mass' warning followed by a bare ValueError."""
    g = make_geometry("vae", 4, 0)
    with pytest.raises(FastplanError) as ei:
        geometry_metrics(g, n=1)
    assert_clear(ei, "2")
    with pytest.raises(FastplanError):
        mean_pairwise_distance(np.zeros((1, 3)))


def test_bad_sample_stream():
    with pytest.raises(ValueError, match="stream"):
        make_geometry("vae", 4, 0).sample(5, stream=-1)
    with pytest.raises(ValueError, match="stream"):
        make_geometry("vae", 4, 0).sample(5, stream=2**24)


# ---------------------------------------------------------------------------------------
# arrays handed to rollout() and the metrics
# ---------------------------------------------------------------------------------------

def rollout_args(P=None):
    W = make_world(3, 0)
    s0, goal = start_and_goal(3, 0)
    args = dict(A=W.A.copy(), B=W.B.copy(), b=W.b.copy(), s0=s0, goal=goal,
                actions=np.zeros((4, 2, 3)))
    if P:
        args = {k: np.stack([v] * P) for k, v in args.items()}
    return args


@pytest.mark.parametrize("name", ["A", "B", "b", "s0", "goal", "actions"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("P", [None, 2])
def test_rollout_rejects_non_finite(name, bad, P):
    args = rollout_args(P)
    args[name].flat[-1] = bad
    with pytest.raises(FastplanError) as ei:
        rollout(**args)
    assert_clear(ei, name, "NaN")


@pytest.mark.parametrize("name, value, words", [
    ("actions", np.zeros((2, 3)), ["actions", "shape"]),          # missing a dimension
    ("actions", np.zeros((4, 2, 5)), ["actions", "shape"]),       # wrong d
    ("actions", np.zeros((0, 2, 3)), ["actions"]),                # N = 0
    ("actions", np.zeros((4, 0, 3)), ["actions"]),                # T = 0
    ("B", np.zeros((2, 3)), ["B", "shape"]),                     # n rows: 3 (B may be (n, d) with d != n)
    ("b", np.zeros(4), ["b", "shape"]),
    ("goal", np.zeros((3, 1)), ["goal", "shape"]),
    ("A", np.zeros((3, 2)), ["A", "shape"]),
    ("A", np.zeros(3), ["A", "shape"]),
    ("A", [["x", "y", "z"]] * 3, ["A", "numeric"]),
])
def test_rollout_rejects_bad_shapes_and_types(name, value, words):
    args = rollout_args()
    args[name] = value
    with pytest.raises(FastplanError) as ei:
        rollout(**args)
    assert_clear(ei, *words)


def test_rollout_rejects_mismatched_batch():
    args = rollout_args(P=2)
    args["s0"] = args["s0"][:1]
    with pytest.raises(FastplanError) as ei:
        rollout(**args)
    assert_clear(ei, "s0", "shape")


@pytest.mark.parametrize("lam", [-0.1, np.nan, np.inf])
def test_rollout_rejects_bad_lambda(lam):
    with pytest.raises(FastplanError) as ei:
        rollout(**rollout_args(), lam=lam)
    assert_clear(ei, "lambda")


def test_rollout_rejects_non_numeric_lambda():
    with pytest.raises(FastplanError) as ei:
        rollout(**rollout_args(), lam="0.1x")
    assert_clear(ei, "lambda")


def test_rollout_rejects_ragged_actions():
    args = rollout_args()
    args["actions"] = [[[0.0, 0.0, 0.0]], [[0.0, 0.0]]]
    with pytest.raises(FastplanError) as ei:
        rollout(**args)
    assert_clear(ei, "actions")


def test_rollout_rejects_missing_array():
    for name in ("A", "B", "actions"):
        args = rollout_args()
        args[name] = None
        with pytest.raises(FastplanError) as ei:
            rollout(**args)
        assert_clear(ei, name)
        assert "NaN" not in str(ei.value), "None is not 'NaN or inf': say what is wrong"


@pytest.mark.parametrize("fn", [effective_dimension, mean_pairwise_distance, concentration])
def test_metrics_reject_bad_samples(fn):
    x = np.ones((10, 3))
    x[4, 1] = np.nan
    with pytest.raises(FastplanError) as ei:
        fn(x)
    assert_clear(ei, "NaN")
    with pytest.raises(FastplanError):
        fn(np.ones(10))           # not (n, d)
