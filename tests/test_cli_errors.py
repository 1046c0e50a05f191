"""Usage errors from click (unknown option, command or choice) are one line, exit code 2."""
from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [
    ["sweep", "--bogus"],
    ["nosuchcommand"],
    ["plan", "--planner", "rrt", "--geometry", "vae", "--dim", "4", "--horizon", "4"],
    ["geometry", "--dims"],
])
def test_usage_errors_are_one_line(args):
    p = subprocess.run([sys.executable, "-m", "fastplan_cli.main", *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--help" in lines[0], p.stderr
