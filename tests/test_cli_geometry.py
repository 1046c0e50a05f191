"""`fastplan geometry` and the reusable list options of cli/_options.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from reference import (ref_amenability, ref_concentration, ref_effective_dimension,
                       ref_mean_pairwise_distance)

from fastplan.engine.geometry import make_geometry
from fastplan.engine.metrics import CONCENTRATION_DEFINITION, METRIC_STREAM
from fastplan_cli._options import MultiValueCommand, BoundedInt, ChoiceList, IntList, multi_option
from fastplan_cli.main import cli


def run(*args):
    result = CliRunner().invoke(cli, ["geometry", *args])
    return result.exit_code, result.stdout, result.stderr


def assert_one_line_error(code, out, err, *words):
    assert code != 0
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------------------

def test_json_output_equals_reference_metrics():
    code, out, err = run("--dims", "4", "9", "--geometries", "vae", "sparse-ebm", "VQ-VAE",
                         "--samples", "600", "--seed", "3", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["geometry"], r["d"]) for r in rows] == [
        ("vae", 4), ("vae", 9), ("ebm", 4), ("ebm", 9), ("vqvae", 4), ("vqvae", 9)]
    for r in rows:
        assert r["seed"] == 3 and r["n_samples"] == 600
        assert r["label"] == {"vae": "VAE", "ebm": "Sparse-EBM", "vqvae": "VQ-VAE"}[r["geometry"]]
        assert r["concentration_definition"] == CONCENTRATION_DEFINITION
        x = make_geometry(r["geometry"], r["d"], 3).sample(600, stream=METRIC_STREAM)
        d_eff, r_bar = ref_effective_dimension(x), ref_mean_pairwise_distance(x)
        assert r["effective_dimension"] == pytest.approx(d_eff, rel=1e-10)
        assert r["effective_ratio"] == pytest.approx(d_eff / r["d"], rel=1e-10)
        assert r["mean_pairwise_distance"] == pytest.approx(r_bar, rel=1e-12)
        assert abs(r["concentration"] - ref_concentration(x)) <= 1 / 600
        assert r["amenability"] == pytest.approx(
            ref_amenability(r["concentration"], d_eff, r["d"], r_bar), rel=1e-10)


def test_table_output():
    code, out, err = run("--dims", "4", "8", "--samples", "300")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("geometry"))
    for col in ("d_eff", "mean dist", "concentration", "amenability"):
        assert col in header
    rows = [line for line in lines if line.split()[:1] in (["VAE"], ["Sparse-EBM"], ["VQ-VAE"])]
    assert [r.split()[:2] for r in rows] == [["VAE", "4"], ["VAE", "8"], ["Sparse-EBM", "4"],
                                             ["Sparse-EBM", "8"], ["VQ-VAE", "4"], ["VQ-VAE", "8"]]
    assert len({len(r) for r in rows}) == 1, "columns are aligned"
    assert all(len(r.split()) == 7 for r in rows)
    assert any(CONCENTRATION_DEFINITION in line for line in lines), "footnote with the definition"
    assert "300 samples" in out and "seed 0" in out


def test_table_and_json_agree():
    _, table, _ = run("--dims", "5", "-g", "ebm", "-n", "400")
    _, js, _ = run("--dims", "5", "-g", "ebm", "-n", "400", "--json")
    row = json.loads(js)[0]
    line = next(line for line in table.splitlines() if line.startswith("Sparse-EBM"))
    assert line.split()[2] == f"{row['effective_dimension']:.3f}"
    assert line.split()[-1] == f"{row['amenability']:.3f}"


def test_point_mass_geometry_gives_null_and_a_note():
    code, out, err = run("--dims", "2", "-g", "ebm", "-n", "100", "--json")
    assert code == 0
    row = json.loads(out)[0]                      # strict JSON: no NaN literal
    assert row["effective_dimension"] is None and row["amenability"] is None
    assert "point mass" in err
    code, out, _ = run("--dims", "2", "-g", "ebm", "-n", "100")
    assert code == 0 and "n/a" in out and "note:" in out


def test_defaults_and_all():
    code, out, _ = run("-g", "all", "-n", "50", "--json")
    assert code == 0
    rows = json.loads(out)
    assert sorted({r["d"] for r in rows}) == [4, 8, 16, 32]
    assert {r["geometry"] for r in rows} == {"vae", "ebm", "vqvae"}


def test_deterministic_output():
    a = run("--dims", "6", "-n", "200", "--seed", "9", "--json")[1]
    assert a == run("--dims", "6", "-n", "200", "--seed", "9", "--json")[1]
    assert a != run("--dims", "6", "-n", "200", "--seed", "10", "--json")[1]


@pytest.mark.parametrize("args, words", [
    (["--dims", "0"], ["--dims", "0"]),
    (["--dims", "-3"], ["--dims", "-3"]),
    (["--dims", "4", "x"], ["--dims", "'x'", "integer"]),
    (["--dims", "2.5"], ["--dims", "integer"]),
    (["--geometries", "gan"], ["--geometries", "gan", "vae"]),
    (["--seed", "-1"], ["--seed", "-1"]),
    (["--seed", "1.5"], ["--seed", "integer"]),
    (["--seed", "abc"], ["--seed", "integer"]),
    (["--seed", str(2**63)], ["--seed"]),
    (["--samples", "1"], ["--samples"]),
    (["--dims"], ["--dims"]),
])
def test_bad_input_is_one_line(args, words):
    assert_one_line_error(*run(*args), *words)


def test_console_script_bad_input_and_help_is_light():
    """The installed command: one line on stderr, non-zero exit; --help imports no Numba."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    p = subprocess.run([sys.executable, "-m", "fastplan_cli.main", "geometry", "--dims", "0"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode != 0 and p.stdout == ""
    assert len(p.stderr.strip().splitlines()) == 1 and "Error" in p.stderr
    probe = ("import sys; from click.testing import CliRunner; from fastplan_cli.main import cli; "
             "r = CliRunner().invoke(cli, ['geometry', '--help']); "
             "assert r.exit_code == 0 and '--dims' in r.output; "
             "print('numba' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------
# cli/_options.py on its own (the sweep command reuses it)
# ---------------------------------------------------------------------------------------

@click.command(cls=MultiValueCommand)
@multi_option("--dims", type=IntList(min=1), default=(4, 8))
@multi_option("--seeds", type=IntList(min=0, allow_range=True), default=(0,))
@multi_option("--names", type=ChoiceList(("cem", "mppi", "gradient")), default=("cem",))
@click.option("--count", type=BoundedInt(min=1, max=10), default=1)
@click.option("--flag", is_flag=True)
def toy(dims, seeds, names, count, flag):
    click.echo(json.dumps({"dims": dims, "seeds": seeds, "names": names, "count": count, "flag": flag}))


def parse(*args):
    r = CliRunner().invoke(toy, list(args))
    return r.exit_code, (json.loads(r.stdout) if r.exit_code == 0 else None), r.stderr


@pytest.mark.parametrize("args, key, want", [
    ([], "dims", [4, 8]),                                         # default
    (["--dims", "4", "8", "16", "32"], "dims", [4, 8, 16, 32]),   # space separated
    (["--dims", "4,8,16"], "dims", [4, 8, 16]),                   # comma separated
    (["--dims", "4,", "8"], "dims", [4, 8]),
    (["--dims", "4", "--dims", "8", "16"], "dims", [4, 8, 16]),   # repeated option appends
    (["--dims=32"], "dims", [32]),
    (["--dims", "8", "4", "8"], "dims", [8, 4]),                  # order kept, repeats dropped
    (["--seeds", "0-4"], "seeds", [0, 1, 2, 3, 4]),               # inclusive range
    (["--seeds", "0-2", "7", "9-10"], "seeds", [0, 1, 2, 7, 9, 10]),
    (["--seeds", "3-3"], "seeds", [3]),
    (["--names", "CEM", "mppi"], "names", ["cem", "mppi"]),       # case-insensitive
    (["--names", "all"], "names", ["cem", "mppi", "gradient"]),
])
def test_list_options_parse(args, key, want):
    code, out, err = parse(*args)
    assert code == 0, err
    assert out[key] == want


def test_list_option_stops_at_next_option():
    code, out, err = parse("--dims", "4", "8", "--flag", "--seeds", "1", "2", "--count", "3")
    assert code == 0, err
    assert out == {"dims": [4, 8], "seeds": [1, 2], "names": ["cem"], "count": 3, "flag": True}


@pytest.mark.parametrize("args, words", [
    (["--dims", "0"], ["--dims", "minimum"]),
    (["--dims", "4", "-2"], ["--dims", "-2"]),         # a negative number is a value, rejected
    (["--dims", "4-8"], ["--dims", "'4-8'"]),            # ranges only where allowed
    (["--seeds", "5-2"], ["--seeds", "empty"]),
    (["--seeds", "-1"], ["--seeds", "-1"]),
    (["--seeds", "0-99999999999"], ["--seeds", "more than"]),
    (["--names", "cem", "foo"], ["--names", "foo", "cem, mppi, gradient"]),
    (["--count", "11"], ["--count", "maximum"]),
    (["--count", "x"], ["--count", "integer"]),
    (["--dims", ","], ["--dims", "at least one"]),
])
def test_list_options_reject_bad_values_in_one_line(args, words):
    code, out, err = parse(*args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: invalid value for"), err
    for w in words:
        assert w in lines[0], lines[0]


def test_int_list_converts_python_values():
    t = IntList(min=0, allow_range=True)
    assert t.convert((3, "4-5", "6,7"), None, None) == (3, 4, 5, 6, 7)
    assert t.convert("1 2", None, None) == (1, 2)
    with pytest.raises(click.ClickException):
        t.convert((True,), None, None)
    assert BoundedInt(min=0).convert("12", None, None) == 12
