"""Issue 18, defects 7 and 8 at the level of the worker pool: a task that
never ends is stopped at its limit, a task that kills its worker is retried
a bounded number of times and then reported, and the other tasks finish."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest

from normflow.experiment.workers import Timeout, WorkerLost, call_with_limit, map_with_limits


def task(x: int) -> int:
    if x == 3:
        time.sleep(10_000)
    if x == 5:
        os._exit(9)
    if x == 7:
        raise ValueError("seven")
    return 2 * x


def test_a_pool_stops_hung_tasks_retries_lost_ones_and_finishes_the_rest():
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    began = time.monotonic()
    out = {t: (r, e) for t, r, e in map_with_limits(task, range(9), 2, ctx, timeout=3, retries=1)}
    assert time.monotonic() - began < 60
    assert sorted(out) == list(range(9))
    for x in (0, 1, 2, 4, 6, 8):
        assert out[x] == (2 * x, None)
    assert isinstance(out[3][1], Timeout) and "3 s" in str(out[3][1])
    assert isinstance(out[5][1], WorkerLost) and "exit code 9" in str(out[5][1])
    assert out[5][1].attempts == 2
    assert isinstance(out[7][1], ValueError)


def test_one_call_in_a_forked_child():
    assert call_with_limit(task, (4,), 5) == 8
    with pytest.raises(Timeout):
        call_with_limit(task, (3,), 0.5)
    with pytest.raises(WorkerLost, match="exit code 9"):
        call_with_limit(task, (5,), 5)
    with pytest.raises(ValueError, match="seven"):
        call_with_limit(task, (7,), 5)
