"""The experiment "Beyond the paper: does respecting the geometry pay?" (issue 13, item 4):
its data layer and paired contrasts on hand-made records, and a quick end-to-end run."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from fastplan.paper import beyond


def hand_made(n_seeds=12, shift=0.5, d_list=(4, 8)):
    """Decoded runs of CEM, projected CEM and the other variants; projected CEM realises
    ``shift`` less than CEM on every seed (plus noise), MPPI and its projection tie."""
    rng = np.random.default_rng(0)
    cols = {k: [] for k in ("planner", "hyperparameters", "execution", "geometry", "d", "horizon", "seed",
                            "goal_distance", "realised_goal_distance", "exploitation_gap", "ood_rate",
                            "zero_action_distance")}
    for g in ("vae", "ebm"):
        for d in d_list:
            for s in range(n_seeds):
                base = 1.5 + 0.1 * rng.normal()
                for key, planner, over, _ in beyond.VARIANTS:
                    if key == "codebook-cem" and g == "ebm":
                        continue
                    real = base + {"projected-cem": -shift, "cem+prior": -shift / 2}.get(key, 0.0) \
                        + 0.02 * rng.normal()
                    planned = real - (0.8 if key in ("cem", "mppi", "diffusion") else 0.0)
                    cols["planner"].append(planner)
                    cols["hyperparameters"].append(json.dumps({"lam": 0.1, **over}))
                    cols["execution"].append("decoded")
                    cols["geometry"].append(g)
                    cols["d"].append(d)
                    cols["horizon"].append(8)
                    cols["seed"].append(s)
                    cols["goal_distance"].append(planned)
                    cols["realised_goal_distance"].append(real)
                    cols["exploitation_gap"].append(real - planned)
                    cols["ood_rate"].append(1.0 if key in ("cem", "mppi") else 0.0)
                    cols["zero_action_distance"].append(1.4)
    # a latent run and another prior weight: not the experiment's, left out
    for extra in (("cem", json.dumps({"lam": 0.1}), "latent"), ("cem", json.dumps({"lam": 0.1, "prior_weight": 0.5}),
                                                                 "decoded")):
        for k, v in zip(("planner", "hyperparameters", "execution"), extra):
            cols[k].append(v)
        for k, v in (("geometry", "vae"), ("d", 8), ("horizon", 8), ("seed", 0), ("goal_distance", 9.0),
                     ("realised_goal_distance", 9.0), ("exploitation_gap", 0.0), ("ood_rate", 0.0),
                     ("zero_action_distance", 1.4)):
            cols[k].append(v)
    return {k: np.asarray(v) for k, v in cols.items()}


@pytest.fixture(scope="module")
def data():
    return beyond.collect(hand_made())


def test_collect_keeps_the_experiments_runs(data):
    assert data.variants == [v[0] for v in beyond.VARIANTS]
    assert data.geometries == ["vae", "ebm"] and data.dims == [4, 8] and data.seeds == list(range(12))
    assert 9.0 not in data.values("goal_distance", "cem", "vae", 8).values()      # latent and beta 0.5 out
    st = data.stat("ood_rate", "cem", "vae", 8)
    assert st.mean == 1.0 and st.n == 12
    # a = 0 executed decoded: recomputed from (geometry, d, seed); the sparse EBM's is a = 0 itself
    from fastplan.engine.manifold import execute_decoded
    from fastplan.engine.problem import make_problem
    want = execute_decoded(make_problem("vae", 4, 8, 3), np.zeros((8, 4)))["goal_distance"]
    assert data.baselines[("vae", 4)]["zero_decoded"][3] == want
    ebm = make_problem("ebm", 4, 8, 3)
    assert data.baselines[("ebm", 4)]["zero_decoded"][3] == pytest.approx(
        execute_decoded(ebm, np.zeros((8, 4)))["planned_goal_distance"], abs=0)


def test_paired_contrasts_and_verdicts(data):
    pairs = {(c.name, c.geometry, c.d): c for c in beyond.pair_contrasts(data)}
    c = pairs[("projected-cem vs cem", "vae", "8")]
    assert c.estimate == pytest.approx(0.5, abs=0.03) and c.verdict == "supported" and c.n == 12
    # paired: the seed-to-seed spread of the baseline (0.1) cancels, the interval is narrow
    assert c.hi - c.lo < 0.05
    assert pairs[("projected-mppi vs mppi", "ebm", "all")].verdict == "undecided"
    assert pairs[("cem+prior vs cem", "ebm", "all")].estimate == pytest.approx(0.25, abs=0.03)
    assert ("codebook-cem vs cem", "ebm", "8") not in pairs or not np.isfinite(
        pairs[("codebook-cem vs cem", "ebm", "8")].estimate)
    hyp = {(c.name, c.geometry, c.d): c for c in beyond.hypothesis_contrasts(data)}
    assert hyp[("score diffusion best", "vae", "8")].verdict == "contradicted"      # projected CEM is
    assert hyp[("a geometry-aware planner is best", "ebm", "all")].verdict == "supported"
    assert hyp[("score helps diffusion", "vae", "all")].verdict == "undecided"


def test_render_is_deterministic_and_says_where(data):
    pairs, hyp = beyond.pair_contrasts(data), beyond.hypothesis_contrasts(data)
    md = beyond.render(data, pairs, hyp)
    assert md == beyond.render(data, beyond.pair_contrasts(data), beyond.hypothesis_contrasts(data))
    assert "Projected CEM (against CEM, mean over d): lowers the realised goal distance on VAE, Sparse-EBM" in md
    assert "*a = 0 (decoded)*" in md and "| CEM + prior (β = 0.01) |" in md


def test_quick_run_end_to_end(tmp_path):
    """``fastplan beyond-geometry --quick``: every variant planned (codebook CEM on VAE and
    VQ-VAE only), the geometry-aware planners' plans lie on their geometry (gap 0, OOD ~0 for
    the projected ones), and the files are written; a rerun recomputes nothing."""
    from click.testing import CliRunner
    from fastplan_cli.main import cli
    out = tmp_path / "b"
    res = CliRunner().invoke(cli, ["beyond-geometry", "--out", str(out), "--quick", "--quiet"])
    assert res.exit_code == 0, res.output
    for name in ("beyond.h5", "beyond.md", "beyond.csv", "beyond.json", "beyond_geometry.png", "beyond_geometry.pdf"):
        assert os.path.getsize(out / name) > 0
    data = beyond.collect(__import__("fastplan").load(str(out / "beyond.h5")))
    assert data.variants == [v[0] for v in beyond.VARIANTS]
    assert not data.values("goal_distance", "codebook-cem", "ebm", 4)
    for v in ("projected-cem", "projected-mppi", "codebook-cem"):
        for g in (("vae", "vqvae") if v == "codebook-cem" else ("vae", "ebm", "vqvae")):
            assert np.allclose(list(data.values("exploitation_gap", v, g, 8).values()), 0.0, atol=1e-12)
    md = (out / "beyond.md").read_text()
    again = CliRunner().invoke(cli, ["beyond-geometry", "--out", str(out), "--quick", "--quiet"])
    assert again.exit_code == 0 and (out / "beyond.md").read_text() == md
