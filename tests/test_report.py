"""The report: tables, figures, claims and report.md from a results file.

Hand-made records (through a stand-in for ``fastplan.store``) check the content; a tiny
real sweep checks the whole path from ``fastplan.sweep`` to ``fastplan report``.
"""
from __future__ import annotations

import csv
import json
import os
import types

import numpy as np
import pytest
from click.testing import CliRunner

from fastplan.paper import report as R
from fastplan.paper.report import FIGURE_KEYS, TABLE_KEYS, write_report
from test_claims import make_geometry_metrics, make_records

EXPECTED_FILES = ([f"{t}.{e}" for t in TABLE_KEYS for e in ("md", "csv")]
                  + [f"{f}.{e}" for f in FIGURE_KEYS for e in ("png", "pdf")] + ["report.md", "claims.json"])


def fake_store(monkeypatch, records, metrics=None, attrs=None):
    """Make ``fastplan.store`` return hand-made records for any path."""
    store = types.ModuleType("fastplan.store")
    store.load = lambda path: records
    store.load_geometry_metrics = lambda path: metrics if metrics is not None else {}
    store.file_attrs = lambda path: dict(attrs or {})
    store.sessions = lambda path: []
    monkeypatch.setattr(R, "_store", lambda: store)
    return store


@pytest.fixture
def results_file(tmp_path):
    path = tmp_path / "runs.h5"
    path.write_bytes(b"stand-in; the fake store does not read it")
    return str(path)


def assert_complete(out_dir):
    for name in EXPECTED_FILES:
        p = os.path.join(out_dir, name)
        assert os.path.isfile(p), name
        assert os.path.getsize(p) > 0, name
    with open(os.path.join(out_dir, "fig1.png"), "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(out_dir, "fig1.pdf"), "rb") as fh:
        assert fh.read(5) == b"%PDF-"


def test_full_hand_made_report(tmp_path, monkeypatch, results_file):
    fake_store(monkeypatch, make_records(dims=(4, 8, 16, 32), seeds=range(4)), make_geometry_metrics(seeds=range(4)),
               attrs={"fastplan_version": "9.9", "concentration_definition": "radial: test definition",
                      "command_line": "fastplan sweep --out runs.h5"})
    out_dir = str(tmp_path / "rep")
    out = write_report(results_file, out_dir)
    assert_complete(out_dir)
    assert out["missing"] == ["seeds 4, 5, 6, 7, 8, 9: not in the file (the paper uses 10 seeds)"]
    text = open(out["report"], encoding="utf-8").read()
    # every claim is listed with a verdict computed from the data; in this hand-made world all hold
    from fastplan.paper.claims import CLAIMS
    assert f"**{len(CLAIMS)} supported, 0 contradicted, 0 undecided** at 4 seeds" in text
    assert text.count("| ✅ supported") >= len(CLAIMS)
    assert "paired seed-bootstrap 95% interval" in text and "Seeds needed" in text
    assert "greater than 1" in text                      # superlinear is defined in the report
    assert "radial: test definition" in text             # concentration definition from the file
    assert "fastplan sweep --out runs.h5" in text         # provenance from the file
    assert "`prior`" in text and "`fd`" in text           # modelling choices
    # our numbers beside the paper's, for every table
    for key in TABLE_KEYS:
        assert f"Table {key[-1]}:" in text
    assert "0.323 [" in text and "| 0.323 |" in text      # CEM on VAE-8d: ours (with its CI) and the paper's
    assert "a = 0 (baseline)" in text and "‖s0 − s*‖ (baseline)" in text
    claims = json.load(open(os.path.join(out_dir, "claims.json"), encoding="utf-8"))
    assert {c["verdict"] for c in claims} == {"supported"}
    assert all(c["interval"]["seeds"] == 4 for c in claims)
    assert next(c for c in claims if c["key"] == "diffusion_most_consistent_geometries")[
        "verdict_on_paper_tables"] == "contradicted"


def test_table_csv_holds_mean_std_ci_n(tmp_path, monkeypatch, results_file):
    from scipy.stats import t

    fake_store(monkeypatch, make_records(seeds=range(3)), make_geometry_metrics())
    out_dir = str(tmp_path / "rep")
    write_report(results_file, out_dir, figures=False)
    rows = list(csv.DictReader(open(os.path.join(out_dir, "table1.csv"), encoding="utf-8")))
    assert len(rows) == 15 + 6                               # 5 planners + 2 baselines, x 3 geometries
    cem_vae = next(r for r in rows if r["planner"] == "cem" and r["geometry"] == "vae")
    assert float(cem_vae["mean"]) == pytest.approx(0.323)
    assert float(cem_vae["paper"]) == 0.323
    assert int(cem_vae["n"]) == 3 and float(cem_vae["std"]) > 0
    half = t.ppf(0.975, 2) * float(cem_vae["std"]) / np.sqrt(3)
    assert float(cem_vae["ci_low"]) == pytest.approx(0.323 - half) and float(cem_vae["ci_high"]) == pytest.approx(0.323 + half)
    zero = next(r for r in rows if r["planner"] == "zero_action" and r["geometry"] == "ebm")
    assert float(zero["mean"]) == pytest.approx(2.0) and zero["paper"] == ""
    md = open(os.path.join(out_dir, "table4.md"), encoding="utf-8").read()
    assert "0.720 [" in md and "(3)" in md and "1050" in md


def test_missing_planner_and_dimension_are_listed_not_fatal(tmp_path, monkeypatch, results_file):
    records = make_records(planners=("cem", "mppi", "gradient", "diffusion"), dims=(4, 8), seeds=range(2))
    fake_store(monkeypatch, records, make_geometry_metrics(dims=(4, 8)))
    out_dir = str(tmp_path / "rep")
    out = write_report(results_file, out_dir)
    assert_complete(out_dir)
    text = open(out["report"], encoding="utf-8").read()
    missing = text.split("## Missing cells")[1].split("## Tables")[0]
    assert "planner **SGLD**: not in the file" in missing
    assert "dimension **d=16**: not in the file" in missing
    assert "dimension **d=32**: not in the file" in missing
    # the tables name the missing cells too
    t1 = open(os.path.join(out_dir, "table1.md"), encoding="utf-8").read()
    assert "SGLD on VQ-VAE (d=8, h=8)" in t1 and "| SGLD | missing |" in t1
    t2 = open(os.path.join(out_dir, "table2.md"), encoding="utf-8").read()
    assert "CEM at d=16 (h=8, all geometries)" in t2
    # claims that need the absent cells say so instead of guessing
    claims = {c.key: c.verdict for c in out["claims"]}
    assert claims["superlinear_scaling"] == "undecided"
    assert claims["diffusion_smoothest"] == "undecided"
    assert claims["mppi_worse_than_cem"] == "supported"


def test_partial_cells_and_uneven_seeds(tmp_path, monkeypatch, results_file):
    records = make_records(dims=(8,), horizons=(8,), seeds=range(3))
    drop = (records["planner"] == "sgld") & (records["geometry"] == "ebm")
    drop |= (records["planner"] == "cem") & (records["geometry"] == "vae") & (records["seed"] == 2)
    records = {k: v[~drop] for k, v in records.items()}
    fake_store(monkeypatch, records, None)                 # no stored metrics: computed
    out = write_report(results_file, str(tmp_path / "rep"), metric_samples=200, figures=False)
    text = open(out["report"], encoding="utf-8").read()
    assert "SGLD on Sparse-EBM at d=8: h=8" in text
    assert "CEM on VAE, d=8, h=8: 2 of 3 seeds" in text
    assert "computed by fastplan.metrics.geometry_metrics" in text
    t2 = open(os.path.join(str(tmp_path / "rep"), "table2.md"), encoding="utf-8").read()
    assert "(only 2/3 geometries)" in t2


def test_hyperparameter_variants_one_shown(tmp_path, monkeypatch, results_file):
    base = make_records(dims=(8,), horizons=(8,), seeds=range(2))
    other = make_records(dims=(8,), horizons=(8,), seeds=range(2), planners=("cem",),
                         tweak=lambda p, g, d, h, s, gd, sm, sa: (gd * 10, sm, sa))
    other["hyperparameters"] = np.asarray([json.dumps({"population": 20, "iterations": 10,
                                                       "elite_fraction": 0.1, "lam": 0.1})] * other["seed"].size)
    records = {k: np.concatenate([base[k], other[k]]) for k in base}
    fake_store(monkeypatch, records, None)
    out = write_report(results_file, str(tmp_path / "rep"), metric_samples=100, figures=False)
    text = open(out["report"], encoding="utf-8").read()
    assert "| CEM | not shown | 6 |" in text and "| CEM | used | 6 |" in text
    assert "**0.141 [" in open(os.path.join(str(tmp_path / "rep"), "table1.md"), encoding="utf-8").read()


def test_errors_are_one_line(tmp_path, monkeypatch):
    from fastplan_cli.cmd_report import report

    runner = CliRunner()
    res = runner.invoke(report, [str(tmp_path / "nope.h5"), "--out", str(tmp_path / "rep")])
    assert res.exit_code != 0 and "does not exist" in res.output and "Traceback" not in res.output
    bad = tmp_path / "not_hdf5.h5"
    bad.write_text("hello")
    res = runner.invoke(report, [str(bad), "--out", str(tmp_path / "rep")])
    assert res.exit_code != 0 and "Error:" in res.output and len(res.output.strip().splitlines()) == 1
    assert bad.read_text() == "hello"
    res = runner.invoke(report, [str(bad), "--out", str(tmp_path / "missing" / "deeper")])
    assert res.exit_code != 0 and "Error:" in res.output


def _tiny_sweep(path, planners=None, dims=(4, 8)):
    from fastplan.runs.sweep import run_sweep

    overrides = {"cem": {"population": 20, "iterations": 3}, "mppi": {"samples": 20, "iterations": 3},
                 "gradient": {"iterations": 4}, "sgld": {"iterations": 4}, "diffusion": {"samples": 5, "steps": 3}}
    planners = planners or list(overrides)
    run_sweep(path, planners=planners, dims=list(dims), horizons=[8], seeds=[0, 1],
              overrides={p: overrides[p] for p in planners}, progress="quiet", metric_samples=100)


def test_report_from_a_tiny_real_sweep(tmp_path):
    from fastplan import store
    from fastplan_cli.cmd_report import report

    path = str(tmp_path / "runs.h5")
    _tiny_sweep(path, planners=["cem", "mppi", "gradient", "diffusion"])
    before = open(path, "rb").read()
    out_dir = str(tmp_path / "rep")
    res = CliRunner().invoke(report, [path, "--out", out_dir])
    assert res.exit_code == 0, res.output
    assert "claims :" in res.output and "missing:" in res.output
    assert_complete(out_dir)
    assert open(path, "rb").read() == before                    # the results file is only read
    text = open(os.path.join(out_dir, "report.md"), encoding="utf-8").read()
    missing = text.split("## Missing cells")[1].split("## Tables")[0]
    for line in ("planner **SGLD**: not in the file", "dimension **d=16**: not in the file",
                 "horizon **h=4**: not in the file"):
        assert line in missing
    assert "Geometry metrics: stored in the results file" in text
    assert '"population": 20' in text                            # the hyperparameters actually run
    # the numbers in the tables are the file's
    rec = store.load(path)
    rows = list(csv.DictReader(open(os.path.join(out_dir, "table1.csv"), encoding="utf-8")))
    for r in rows:
        sel = (rec["planner"] == r["planner"]) & (rec["geometry"] == r["geometry"]) & (rec["d"] == 8)
        if r["planner"] in ("zero_action", "initial"):      # baselines: over the seeds of the cell
            col = "zero_action_distance" if r["planner"] == "zero_action" else "initial_distance"
            vals = rec[col][(rec["geometry"] == r["geometry"]) & (rec["d"] == 8) & (rec["planner"] == "cem")]
            assert float(r["mean"]) == pytest.approx(float(np.mean(vals)), rel=1e-12) and int(r["n"]) == 2
            continue
        if r["planner"] == "sgld":
            assert r["n"] == "0" and not sel.any()
            continue
        vals = rec["goal_distance"][sel]
        assert int(r["n"]) == vals.size == 2
        assert float(r["mean"]) == pytest.approx(float(np.mean(vals)), rel=1e-12)
        assert float(r["std"]) == pytest.approx(float(np.std(vals, ddof=1)), rel=1e-12)
    claims = {c["key"]: c["verdict"] for c in json.load(open(os.path.join(out_dir, "claims.json")))}
    assert claims["superlinear_scaling"] == "undecided"            # no d=16


def test_reproduce_quick_resumes(tmp_path, monkeypatch):
    """``reproduce`` runs its grid into DIR/runs.h5, writes the report, and resumes."""
    from fastplan_cli.cmd_report import reproduce

    tiny = {"planners": ("cem", "diffusion"), "geometries": ("vae", "ebm"), "dims": (2,), "horizons": (2,),
            "seeds": (0, 1)}
    monkeypatch.setattr(R, "QUICK_GRID", tiny)
    out_dir = str(tmp_path / "out")
    runner = CliRunner()
    res = runner.invoke(reproduce, ["--out", out_dir, "--quick", "--quiet", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert_complete(out_dir)
    from fastplan import store
    n = store.load(os.path.join(out_dir, "runs.h5"))["seed"].size
    assert n == 2 * 2 * 2
    res = runner.invoke(reproduce, ["--out", out_dir, "--quick", "--quiet"])
    assert res.exit_code == 0, res.output
    assert store.load(os.path.join(out_dir, "runs.h5"))["seed"].size == n
    assert "results:" in res.output
