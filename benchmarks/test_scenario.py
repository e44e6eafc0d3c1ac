"""A whole bundled scenario with its plugins, the trace on and off, and a
small experiment on one and two workers."""

from __future__ import annotations

import pytest
from conftest import record

from normflow import Simulation, load_scenario
from normflow.bench import full_scenario_name


def test_full_scenario(benchmark):
    scenario = load_scenario(full_scenario_name())

    def run():
        return sum(Simulation(scenario, 1).run().counts.values())

    events = benchmark.pedantic(run, rounds=3, iterations=1)
    record(benchmark, events)
    assert events > 0


@pytest.mark.parametrize("trace", [False, True], ids=["trace-off", "trace-on"])
def test_trace(benchmark, information_1800, tmp_path, trace):
    def run():
        path = tmp_path / "trace.jsonl" if trace else None
        return (
            Simulation(information_1800, 1, autoload=False, trace=path).run().counts["information_exchanged"]
        )

    events = benchmark.pedantic(run, rounds=3, iterations=1)
    record(benchmark, events)
    assert events > 100_000


@pytest.mark.parametrize("workers", [1, 2])
def test_experiment(benchmark, tmp_path, workers):
    from normflow.experiment import run_experiment

    replications = 20
    rounds = iter(range(100))

    def run():
        exp = run_experiment(
            full_scenario_name(), tmp_path / f"exp{next(rounds)}", replications=replications, workers=workers
        )
        return len(exp.results())

    rows = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info["replications_per_s"] = replications / benchmark.stats.stats.median
    assert rows == replications
