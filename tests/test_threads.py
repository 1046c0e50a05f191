"""The thread policy (fastplan/engine/threads.py): which split a call gets, the dynamic pool,
and that no split changes a bit of any result."""
from __future__ import annotations

import threading
import time

import numba
import numpy as np
import pytest

from conftest import numba_threads
from test_work_split import SMALL        # chunk-sized settings: 3 chunks, the last partial

import fastplan
from fastplan.engine import registry, threads
from fastplan.engine.metrics import _pair_row_sum, _pairwise_row_sums


@pytest.fixture
def two_threads(thread_counts):
    before = numba.get_num_threads()
    numba.set_num_threads(max(thread_counts))
    yield max(thread_counts)
    numba.set_num_threads(before)


def test_limited_caps_and_restores():
    before = numba.get_num_threads()
    with threads.limited(1):
        assert numba.get_num_threads() == 1
        with threads.limited(5):              # never more than the enclosing count
            assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_batch_split_decisions(two_threads, monkeypatch):
    free = {"v": 2.0}
    monkeypatch.setattr(threads, "free_cores", lambda n: free["v"])
    # a batch: every thread takes slices of ~ITEM_WORK_S, at most 4 per thread, 1 Numba thread each
    assert threads.batch_split(30, 1e-3) == (2, 8, 1)
    assert threads.batch_split(30, 1e-5) == (2, 2, 1)   # 0.3 ms in all: one slice per thread
    assert threads.batch_split(3, 1e-2) == (2, 3, 1)
    # too little work for two threads
    assert threads.batch_split(2, 1e-5) == (1, 1, 1)
    # one problem: every thread (sample chunks) only with enough work per fork-join, and on
    # an idle machine
    assert threads.batch_split(1, 5e-4, 10) == (1, 1, 2)  # CEM d=h=8: 10 iterations, 50 us each
    assert threads.batch_split(1, 5e-4, 100) == (1, 1, 1)  # gradient: 100 of 5 us each
    assert threads.batch_split(1, 3e-2, 100) == (1, 1, 2)  # gradient d=32, h=16: 300 us each
    assert threads.batch_split(1, 5e-4) == (1, 1, 2)        # diffusion: one fork-join
    free["v"] = 1.6                                      # others use 0.4 cores lately
    assert threads.batch_split(1, 1e-2, 10) == (1, 1, 1)
    assert threads.batch_split(30, 1e-3) == (2, 8, 1)     # but there is room for 2 workers
    free["v"] = 0.9                                      # a competing process: one worker
    assert threads.batch_split(30, 1e-3) == (1, 1, 1)
    free["v"] = float("inf")                             # unknown (no /proc): every thread
    assert threads.batch_split(30, 1e-3) == (2, 8, 1)
    assert [threads.workers_for(n, f) for n, f in [(10, 2.0), (10, 0.9), (10, 1.6), (1, 2.0)]] \
        == [2, 1, 2, 1]
    with threads.fixed():                   # the policy off: one call on every thread
        assert threads.batch_split(30, 1e-3) == (1, 1, 2)
        assert threads.threads_for(0.0) == 2
    with threads.limited(1):
        assert threads.batch_split(30, 1e-3) == (1, 1, 1)


def test_free_cores_counts_other_processes(monkeypatch):
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    monkeypatch.setattr(threads, "_last_parallel_end", [0.0])
    monkeypatch.setattr(threads, "_recent_others", lambda: None)
    for others, free, idle in [(0, 2, True), (1, 1, False), (5, -3, False)]:
        monkeypatch.setattr(threads, "_runnable_others", lambda o=others: o)
        assert threads.free_cores(2) == free
        assert threads.machine_idle(2) is idle
    # free now but busy over the last moments (load that comes and goes): the fewer counts
    monkeypatch.setattr(threads, "_runnable_others", lambda: 0)
    for recent, idle in [(0.1, True), (0.9, False)]:
        monkeypatch.setattr(threads, "_recent_others", lambda r=recent: r)
        assert threads.free_cores(2) == pytest.approx(2 - recent)
        assert threads.machine_idle(2) is idle
    monkeypatch.setattr(threads, "_recent_others", lambda: None)
    # our own OpenMP worker may still spin just after a multi-threaded call
    monkeypatch.setattr(threads, "_runnable_others", lambda: 1)
    monkeypatch.setattr(threads, "_last_parallel_end", [time.monotonic()])
    assert threads.machine_idle(2) is True
    monkeypatch.setattr(threads, "_runnable_others", lambda: None)     # unknown: idle
    assert threads.free_cores(2) == float("inf") and threads.machine_idle(2) is True
    if threads._runnable_others() is not None:                        # Linux: a plain count
        assert threads._runnable_others() >= 0


def test_recent_others_measures_other_processes_cpu(monkeypatch):
    """Cores used by others = machine busy time minus ours, over windows of >= 0.25 s."""
    samples = iter([(100.0, 10.0, 0.0), (100.5, 10.4, 0.1), (101.0, 10.5, 1.0),
                    (101.2, 10.6, 1.1), (111.0, 10.6, 100.0)])
    monkeypatch.setattr(threads, "_cpu_sample", lambda: next(samples))
    monkeypatch.setattr(threads, "_window", {"sample": None, "others": None})
    assert threads._recent_others() is None            # first sample: no window yet
    assert threads._recent_others() is None            # 0.1 s: too short, nothing yet
    assert threads._recent_others() == pytest.approx((1.0 - 0.5) / 1.0)
    assert threads._recent_others() == pytest.approx(0.5)   # too short: the last value
    assert threads._recent_others() is None            # 99 s later: stale, a new window


def test_map_dynamic_keeps_order_one_numba_thread_each(two_threads):
    seen = []

    def fn(i):
        time.sleep(0.003)                     # lets the helper thread take items too
        seen.append(threading.get_ident())
        return i, numba.get_num_threads()

    out = threads.map_dynamic(fn, 40, 2)
    assert [i for i, _ in out] == list(range(40))
    assert {n for _, n in out} == {1}
    assert len(set(seen)) == 2
    assert numba.get_num_threads() == two_threads
    assert threads.map_dynamic(fn, 0, 2) == []


def test_map_dynamic_raises_the_first_error_and_stops():
    done = []

    def fn(i):
        if i == 3:
            raise ValueError("item 3")
        time.sleep(0.002)
        done.append(i)
        return i

    with pytest.raises(ValueError, match="item 3"):
        threads.map_dynamic(fn, 200, 2)
    assert len(done) < 199


def _recorder(monkeypatch, planner):
    """Record the Numba thread count of every kernel call of ``planner``."""
    module = registry.planner(planner).module()
    calls = []
    run = module.run

    def recording(batch, hp, inputs):
        calls.append((batch.P, numba.get_num_threads()))
        return run(batch, hp, inputs)

    monkeypatch.setattr(module, "run", recording)
    return calls


def _same(a, b):
    for name in ("seeds", "actions", "states", "cost", "goal_distance", "smoothness", "samples",
                 "steps"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("planner", sorted(SMALL))
def test_slices_on_threads_equal_one_kernel_call(planner, two_threads, monkeypatch):
    probs = [fastplan.make_problem(g, 5, 3, s) for g in ("vae", "ebm", "vqvae") for s in (0, 1, 2)]
    with threads.fixed():
        one_call = fastplan.plan_batch(probs, planner, **SMALL[planner])
    with threads.limited(1):
        serial = fastplan.plan_batch(probs, planner, **SMALL[planner])
    monkeypatch.setattr(threads, "SMALL_WORK_S", 0.0)
    monkeypatch.setattr(threads, "ITEM_WORK_S", 1e-12)     # as many slices as allowed
    monkeypatch.setattr(threads, "free_cores", lambda n: float(n))
    calls = _recorder(monkeypatch, planner)
    sliced = fastplan.plan_batch(probs, planner, **SMALL[planner])
    assert sorted(P for P, _ in calls) == [1] * 7 + [2]     # 9 problems, at most 4 x 2 slices
    assert {n for _, n in calls} == {1}
    _same(sliced, one_call)
    _same(sliced, serial)
    assert sliced.wall_time > 0


@pytest.mark.parametrize("planner", sorted(SMALL))
def test_single_problem_chunks_only_on_an_idle_machine(planner, two_threads, monkeypatch):
    prob = fastplan.make_problem("ebm", 5, 3, 4)
    with threads.limited(1):
        alone = fastplan.plan(prob, planner, **SMALL[planner])
    monkeypatch.setattr(threads, "FORK_JOIN_MIN_S", 0.0)
    monkeypatch.setattr(threads, "SMALL_WORK_S", 0.0)
    calls = _recorder(monkeypatch, planner)
    monkeypatch.setattr(threads, "free_cores", lambda n: float(n))
    chunked = fastplan.plan(prob, planner, **SMALL[planner])
    monkeypatch.setattr(threads, "free_cores", lambda n: n - 1.0)
    busy = fastplan.plan(prob, planner, **SMALL[planner])
    assert calls == [(1, two_threads), (1, 1)]
    for res in (chunked, busy):
        assert np.array_equal(res.actions, alone.actions)
        assert res.cost == alone.cost and res.samples == alone.samples and res.steps == alone.steps


@pytest.mark.parametrize("d", [1, 3, 4, 8, 33])
@pytest.mark.parametrize("n", [2, 3, 4, 5, 9, 37, 300, 517, 1100])   # 1100: 17 groups' blocks, 5 tiles
def test_pairwise_kernel_equals_serial_rows_bit_for_bit(n, d, thread_counts):
    x = np.random.default_rng(n * 100 + d).standard_normal((n, d)) * 3.0
    xt = np.ascontiguousarray(x.T)
    want = np.array([_pair_row_sum(xt, i) for i in range(n)])
    for t in thread_counts:
        got = np.empty(n)
        with numba_threads(t):
            _pairwise_row_sums(xt, got)
        assert np.array_equal(got, want)
    # and the serial row is the textbook sum (checked against NumPy to rounding)
    i = n // 2
    ref = np.sum(np.sqrt(np.sum((x[i] - x[i + 1:]) ** 2, axis=1)))
    assert want[i] == pytest.approx(ref, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("planner", ["cem", "gradient"])
def test_slices_carry_per_problem_inputs(planner, two_threads, monkeypatch):
    """Every per-problem field of the batch (here a warm start per problem) is sliced with it."""
    probs = [fastplan.make_problem("vae", 4, 3, s) for s in range(5)]
    init = np.random.default_rng(0).standard_normal((5, 3, 4)) * 0.3
    with threads.fixed():
        one_call = fastplan.plan_batch(probs, planner, init_actions=init, **SMALL[planner])
    monkeypatch.setattr(threads, "SMALL_WORK_S", 0.0)
    monkeypatch.setattr(threads, "ITEM_WORK_S", 1e-12)
    monkeypatch.setattr(threads, "free_cores", lambda n: float(n))
    sliced = fastplan.plan_batch(probs, planner, init_actions=init, **SMALL[planner])
    _same(sliced, one_call)
    assert not np.array_equal(one_call.actions, fastplan.plan_batch(probs, planner, **SMALL[planner]).actions)
