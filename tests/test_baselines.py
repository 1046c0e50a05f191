"""The trivial baselines (a = 0 and ||s0 - s*||): computed at sweep time, stored per run, equal
to a plain NumPy rollout of zeros, and recomputed by the paper layer for files that lack them."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from fastplan import store
from fastplan.engine.cost import baselines
from fastplan.paper import report as R
from fastplan.paper.results import Results
from test_store import small_sweep
from layouts import to_second_layout


def numpy_zero_rollout(A, B, b, s0, goal, T):
    s = s0.copy()
    for _ in range(T):
        s = np.tanh(A @ s + B @ np.zeros_like(s) + b)
    return np.linalg.norm(s - goal)


def test_engine_baselines_match_numpy():
    import fastplan
    probs = [fastplan.make_problem(g, d, T, s) for g, d, T, s in
             (("vae", 4, 3, 0), ("ebm", 4, 3, 1), ("vqvae", 4, 3, 2))]
    A, B, b = (np.stack([getattr(p.world, k) for p in probs]) for k in ("A", "B", "b"))
    s0, goal = (np.stack([getattr(p, k) for p in probs]) for k in ("s0", "goal"))
    zero, init = baselines(A, B, b, s0, goal, 3)
    for i in range(3):
        assert zero[i] == pytest.approx(numpy_zero_rollout(A[i], B[i], b[i], s0[i], goal[i], 3), rel=1e-12)
        assert init[i] == pytest.approx(np.linalg.norm(s0[i] - goal[i]), rel=1e-14)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    path = tmp_path_factory.mktemp("baselines") / "runs.h5"
    small_sweep(path, planners=("cem", "diffusion"), dims=(3,), horizons=(2, 3))
    return path


def test_stored_and_loaded_per_run(swept):
    rec = store.load(swept)
    assert np.isfinite(rec["zero_action_distance"]).all() and np.isfinite(rec["initial_distance"]).all()
    for c in store.list_configs(swept):
        _, arr = store.read_config(swept, c["config_id"])
        for i in range(arr["seed"].size):
            want = numpy_zero_rollout(arr["A"][i], arr["B"][i], arr["b"][i], arr["s0"][i], arr["goal"][i],
                                      c["horizon"])
            assert arr["zero_action_distance"][i] == pytest.approx(want, rel=1e-12)
    # the problem of a (d, seed) does not depend on the planner or the geometry
    res = Results(rec)
    vals = {(p, g): res.baseline_values("zero_action_distance", g, 3, 2) for p in ("cem",) for g in ("vae", "ebm")}
    assert len({tuple(v.values()) for v in vals.values()}) == 1


def _strip_baselines(path):
    """Make ``path`` look like a file written before the baselines existed."""
    to_second_layout(path)
    with h5py.File(path, "r+") as f:
        for g in f["configs"].values():
            for name in store.BASELINE_FIELDS:
                del g[name]


def test_old_files_stay_readable_and_the_report_recomputes(swept, tmp_path):
    old = tmp_path / "old.h5"
    old.write_bytes(open(swept, "rb").read())
    _strip_baselines(old)
    rec = store.load(old)
    assert np.isnan(rec["zero_action_distance"]).all()
    _, arr = store.read_config(old, rec["config_id"][0])
    assert np.isnan(arr["initial_distance"]).all()
    filled, n = R.fill_baselines(str(old), rec)
    want = store.load(swept)
    assert n == rec["seed"].size
    np.testing.assert_allclose(filled["zero_action_distance"], want["zero_action_distance"], rtol=1e-12)
    np.testing.assert_allclose(filled["initial_distance"], want["initial_distance"], rtol=1e-12)


def test_resuming_an_old_file_keeps_rows_aligned(swept, tmp_path):
    old = tmp_path / "old.h5"
    old.write_bytes(open(swept, "rb").read())
    _strip_baselines(old)
    small_sweep(old, planners=("cem", "diffusion"), dims=(3,), horizons=(2, 3), seeds=(0, 1, 2))
    for c in store.list_configs(old):
        _, arr = store.read_config(old, c["config_id"])
        assert arr["seed"].tolist() == [0, 1, 2]
        assert np.isnan(arr["zero_action_distance"][:2]).all()          # old rows: not recorded
        want = numpy_zero_rollout(arr["A"][2], arr["B"][2], arr["b"][2], arr["s0"][2], arr["goal"][2],
                                  c["horizon"])
        assert arr["zero_action_distance"][2] == pytest.approx(want, rel=1e-12)   # new row: stored
