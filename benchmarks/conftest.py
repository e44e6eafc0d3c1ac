"""Shared set-up of the pytest-benchmark suite (``pytest benchmarks``).

Each benchmark times one run of a model; ``extra_info`` carries the events
it handled and its events per second, so ``--benchmark-json`` output can be
compared across commits. ``normflow bench`` is the same comparison as one
table with ratios.
"""

from __future__ import annotations

import pytest

from normflow.bench import information_scenario
from normflow.rng import Streams
from normflow.world import World


@pytest.fixture(scope="session")
def information_1800():
    """The 1,800-group information-exchange scenario of the suite (ten years)."""
    return information_scenario(1_800, 10.0)


def world_of(scenario, seed: int = 1) -> World:
    """The world a run with this seed starts from (what the references take)."""
    return World(scenario, Streams(seed)("world"))


def record(benchmark, events: int) -> None:
    """Put the run's events and events per second beside pytest-benchmark's timings."""
    benchmark.extra_info["events"] = events
    benchmark.extra_info["events_per_s"] = events / benchmark.stats.stats.median
