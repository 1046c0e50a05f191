"""The worked example (examples/latent_arm.py) runs end to end and its numbers hold up.

The example runs once, reduced (``--quick``: 1000 labelled + 4000 unlabelled transitions,
1500 Adam steps per fit, 4 start / goal pairs), in a subprocess as a user runs it; the tests
read the numbers it writes with ``--json``.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "latent_arm.py"


def load_example():
    spec = importlib.util.spec_from_file_location("latent_arm", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    out = folder / "out.json"
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--quick", "--json", str(out), "--save", str(folder)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout, folder


def test_prints_a_row_per_planner(quick):
    import fastplan
    res, stdout, _ = quick
    names = list(fastplan.registry.planners().names())
    assert res["planners"] == names
    for name in names + ["do nothing (zero torque)", "latents that made the goal"]:
        assert f"| {name} |" in stdout


def test_world_model_one_step_error(quick):
    """Held-out one-step RMSE of the fitted model (on inferred latents) is a small fraction of
    the RMS state change per step; the inverse model's latents decode to nearly the right
    torques (torques span +-3 N m)."""
    res, _, _ = quick
    assert res["one_step_rmse"] < 0.35 * res["step_scale"]
    assert res["idm_torque_rmse"] < 0.6


def test_export_round_trip(quick):
    """The model the planners used is the file written by save_world, and loads back equal."""
    import fastplan
    res, _, folder = quick
    assert res["roundtrip"] <= 1e-12
    world = fastplan.load_world(folder / "arm_world.npz")
    assert isinstance(world, fastplan.MLPWorld)
    assert (world.n, world.d, world.residual) == (4, 3, True)
    assert np.load(folder / "arm_latents.npy").shape == (4000, 3)


def test_kernel_goal_distance_equals_numpy_model(quick):
    """The goal distance each planner's kernels report equals MLPWorld.step rolled out in NumPy."""
    res, _, _ = quick
    for name in res["planners"]:
        row = res["rows"][name]
        np.testing.assert_allclose(row["kernel"], row["model"], rtol=1e-6, atol=1e-9, err_msg=name)


def test_planning_beats_doing_nothing_on_the_real_arm(quick):
    """The best planner's decoded plans bring the real arm nearer every goal than doing nothing,
    and on average to under half of doing nothing's distance."""
    res, _, _ = quick
    nothing = np.asarray(res["nothing"])
    best = min(res["planners"], key=lambda n: res["summary"][n]["real"])
    real = np.asarray(res["rows"][best]["real"])
    assert np.all(real < nothing), (best, real, nothing)
    assert real.mean() < 0.5 * nothing.mean()


def test_arm_conserves_energy_without_damping_or_torque(monkeypatch):
    """The simulator: with no damping and no torque the kinetic energy 1/2 w^T M(q) w is
    conserved by RK4 to 1e-6 over 2 s from a fast start."""
    ex = load_example()
    monkeypatch.setattr(ex, "DAMPING", 0.0)

    def energy(s):
        c2 = np.cos(s[:, 1])
        m11, m12 = ex.ARM_A + 2 * ex.ARM_B * c2, ex.ARM_C + ex.ARM_B * c2
        w1, w2 = s[:, 2], s[:, 3]
        return 0.5 * (m11 * w1 * w1 + 2 * m12 * w1 * w2 + ex.ARM_C * w2 * w2)

    s = np.array([[0.3, -0.7, 2.0, -1.5], [1.0, 1.2, -0.5, 3.0]])
    e0 = energy(s)
    S = ex.LatentArm().rollout_torques(s, np.zeros((2, 20, 2)))
    np.testing.assert_allclose(energy(S[:, -1]), e0, rtol=1e-6)
    assert np.abs(S[:, -1, :2] - s[:, :2]).max() > 1.0       # it did move


def test_fit_mlp_folds_the_standardisation():
    """fit_mlp returns layers in the data's units: it fits a smooth map of badly scaled
    inputs to 5% of the output's std (a wrong fold misses by the data's offsets, hundreds)."""
    ex = load_example()
    rs = np.random.default_rng(0)
    x = rs.normal(size=(2000, 2)) * [100.0, 0.01] + [5.0, -3.0]
    y = np.stack([np.sin(x[:, 0] / 100.0) + 200.0 * x[:, 1], x[:, 0] / 50.0], axis=1)
    params = ex.fit_mlp(x, y, hidden=(32,), steps=1500, seed=0)
    err = ex.mlp_forward(params, x)[0] - y
    assert np.all(np.sqrt(np.mean(err ** 2, axis=0)) < 0.05 * y.std(0))
