"""fastplan on a busy machine: the reduced grid and one CEM plan with 0, 1 and 2 competing
CPU-bound processes, default threads against one thread (:mod:`bench.contention`).

Marker ``contention`` (``python -m bench.run_benchmarks --contention`` runs only this;
``--quick`` skips it).  The table lands in the benchmark summary.
"""
from __future__ import annotations

import pytest

from bench.contention import measure


@pytest.mark.contention
@pytest.mark.benchmark(group="contention")
def test_contention_table(timer):
    records = []

    def run():
        records.extend(measure(competitors=(0, 1, 2), rounds=3, singles=30))

    _, rec = timer(run, section="contention", key="table", once=True)
    rec["records"] = records
    timer.benchmark.extra_info["records"] = records
    assert {r["competitors"] for r in records} == {0, 1, 2}
    assert all(r["grid_median"] > 0 and r["single_median"] > 0 for r in records)
