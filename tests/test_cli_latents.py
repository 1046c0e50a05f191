"""`fastplan geometry --samples latents.npy [--fit gmm|kmeans|empirical --k K]`: a user's latents."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from reference import ref_amenability, ref_effective_dimension, ref_mean_pairwise_distance

from fastplan.engine.geometry import make_geometry
from fastplan.engine.geometry_fit import geometry_from_samples
from fastplan.engine.metrics import METRIC_STREAM
from fastplan_cli.main import cli
from test_cli_geometry import assert_one_line_error


def run(*args):
    r = CliRunner().invoke(cli, ["geometry", *[str(a) for a in args]])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def latents(tmp_path_factory):
    folder = tmp_path_factory.mktemp("latents")
    x = make_geometry("vqvae", 5, 4).sample(900, stream=8)
    np.save(folder / "lat.npy", x)
    np.savez(folder / "lat.npz", latents=x, other=np.zeros(3))
    return folder, x


def test_metrics_of_the_latents_themselves(latents):
    folder, x = latents
    code, out, err = run("--samples", folder / "lat.npy", "--json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert (row["geometry"], row["label"], row["d"], row["n_samples"]) == ("latents", "lat.npy", 5, 900)
    d_eff, r_bar = ref_effective_dimension(x), ref_mean_pairwise_distance(x)
    assert row["effective_dimension"] == pytest.approx(d_eff, rel=1e-10)
    assert row["mean_pairwise_distance"] == pytest.approx(r_bar, rel=1e-12)
    assert row["amenability"] == pytest.approx(ref_amenability(row["concentration"], d_eff, 5, r_bar), rel=1e-10)
    assert json.loads(run("--latents", folder / "lat.npz", "--json")[1]) == [{**row, "label": "lat.npz"}]


@pytest.mark.parametrize("fit", ["gmm", "kmeans", "empirical"])
def test_a_fit_is_reported_beside_the_latents(latents, fit):
    folder, x = latents
    code, out, err = run("--latents", folder / "lat.npy", "--fit", fit, "--k", 8, "-n", 500, "--seed", 2, "--json")
    assert code == 0, err
    data, fitted = json.loads(out)
    assert data["n_samples"] == 500 and fitted["geometry"] == fit and fitted["n_samples"] == 500
    g = geometry_from_samples(x, kind=fit, k=8, seed=2)
    m = g.metrics(n=500)
    for key in ("effective_dimension", "mean_pairwise_distance", "concentration", "amenability"):
        assert fitted[key] == m[key]
    assert fitted["log_density_data"] == pytest.approx(np.mean(g.log_density(x)), rel=1e-12)
    assert fitted["ood_rate_data"] == g.ood_rate(x) and fitted["ood_rate_data"] < 0.05
    assert "seeded subsample" in err
    np.testing.assert_array_equal(g.sample(500, stream=METRIC_STREAM).shape, (500, 5))


def test_table_output(latents):
    folder, _ = latents
    code, out, err = run("--samples", folder / "lat.npy", "--fit", "kmeans", "--k", 8)
    assert code == 0, err
    lines = out.splitlines()
    assert "lat.npy: 900 latents, d = 5" in lines[0]
    assert "log p(latents)" in lines[2] and "OOD(latents)" in lines[2]
    assert lines[4].startswith("lat.npy") and lines[5].startswith("k-means codebook fit")


def test_bad_latents_are_one_line(latents, tmp_path):
    folder, _ = latents
    (tmp_path / "text.npy").write_text("not numpy\n")
    np.save(tmp_path / "one_d.npy", np.ones(4))
    np.save(tmp_path / "nan.npy", np.full((4, 2), np.nan))
    np.savez(tmp_path / "two.npz", a=np.ones((3, 2)), b=np.ones((3, 2)))
    cases = [
        (["--samples", tmp_path / "missing.npy"], ["missing.npy", "no such file"]),
        (["--latents", tmp_path / "text.npy"], ["not a NumPy"]),
        (["--latents", tmp_path / "one_d.npy"], ["2 dimensions"]),
        (["--latents", tmp_path / "nan.npy"], ["NaN"]),
        (["--latents", tmp_path / "two.npz"], ["2 arrays", "latents"]),
        (["--latents", folder / "lat.npy", "--fit", "gmm", "--k", 5000], ["5000"]),
        (["--latents", folder / "lat.npy", "--dims", 4], ["--dims"]),
        (["--fit", "gmm"], ["--fit", "--latents"]),
        (["--latents", folder / "lat.npy", "--samples", folder / "lat.npy"], ["once"]),
        (["--latents", folder / "lat.npy", "--fit", "pca"], ["--fit"]),
    ]
    for args, words in cases:
        assert_one_line_error(*run(*args), *words)
