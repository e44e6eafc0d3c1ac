"""Information exchange alone on 1,800 groups: the engine, the naive SimPy
reference and the Mesa reference, one run each per round."""

from __future__ import annotations

from conftest import record, world_of
from reference_mesa import InformationModel
from reference_simpy import NaiveInformationExchange

from normflow import Simulation


def test_engine(benchmark, information_1800):
    def run():
        return Simulation(information_1800, 1, autoload=False).run().counts["information_exchanged"]

    events = benchmark.pedantic(run, rounds=3, iterations=1)
    record(benchmark, events)
    assert events > 100_000


def test_naive_simpy(benchmark, information_1800):
    def run():
        world = world_of(information_1800)
        return NaiveInformationExchange(
            world, information_1800.processes.information, 1, information_1800.horizon
        ).run()

    events = benchmark.pedantic(run, rounds=3, iterations=1)
    record(benchmark, events)
    assert events > 100_000


def test_mesa_weekly(benchmark, information_1800):
    def run():
        world = world_of(information_1800)
        return InformationModel(
            world, information_1800.processes.information, 1, information_1800.horizon
        ).run()

    events = benchmark.pedantic(run, rounds=1, iterations=1)
    record(benchmark, events)
    assert events > 100_000
