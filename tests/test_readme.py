"""Every Python block of README.md runs as written.

Each block runs in a fresh namespace, in a temporary folder holding a small ``runs.h5`` and ``latents.npy``
(the file the README's examples read: CEM with two populations and MPPI, d 4 and 8, h 8,
two seeds).  A block preceded by an HTML comment starting with ``<!-- no-test`` (a cluster, a
long run) is not run; there must be few of those.
"""
from __future__ import annotations

from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NO_TEST = "<!-- no-test"


def python_blocks(text: str):
    """(line number, code, runs?) of every ```python block."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            k = start - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            runs = not (k >= 0 and lines[k].strip().startswith(NO_TEST))
            out.append((start + 1, "\n".join(lines[start + 1:j]) + "\n", runs))
            i = j
        i += 1
    return out


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_readme_has_blocks_and_few_exceptions():
    assert len(BLOCKS) >= 6
    skipped = [line for line, _, runs in BLOCKS if not runs]
    assert len(skipped) <= 2, f"too many <!-- no-test --> blocks: lines {skipped}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from fastplan.runs.sweep import run_sweep
    path = tmp_path_factory.mktemp("readme")
    run_sweep(str(path / "runs.h5"), planners=["cem", "mppi"], geometries=["vae", "ebm", "vqvae"], dims=[4, 8],
              horizons=[8], seeds=[0, 1], overrides={"cem": {"population": [20, 40], "iterations": 2},
                                                     "mppi": {"samples": 20, "iterations": 2}},
              progress="quiet", metric_samples=32)
    import numpy as np
    from fastplan.engine.geometry import make_geometry
    np.save(path / "latents.npy", make_geometry("vae", 4, 0).sample(400, stream=9))  # a user's latents
    return path


@pytest.fixture
def registries():
    """Blocks may register planners (README "Add a planner"): undo it after each block."""
    from fastplan.engine import registry
    regs = (registry.planners(), registry.geometries(), registry.worlds())
    saved = [(dict(r._specs), dict(r._aliases)) for r in regs]
    yield
    for r, (specs, aliases) in zip(regs, saved):
        r._specs, r._aliases = specs, aliases


@pytest.mark.parametrize("line,code", [(line, code) for line, code, runs in BLOCKS if runs],
                         ids=[f"README.md:{line}" for line, _, runs in BLOCKS if runs])
def test_readme_block_runs(line, code, folder, registries, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    monkeypatch.chdir(folder)
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})
    import matplotlib.pyplot as plt
    plt.close("all")
