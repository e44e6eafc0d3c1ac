"""A finished run is freed once its caller drops it.

Bundled plugins keep one mechanism per run in a module-level
``WeakKeyDictionary`` keyed by the run. If the mechanism (or something it
keeps, such as the function that starts processes) held the run strongly,
the entry would never go: every run of a long calibration would stay in
the worker's memory (a calibration worker held 11 GB after about 5,800
runs while every finished run was still alive; that all of it was the
runs was not measured)."""

from __future__ import annotations

import gc
import weakref

import pytest

from normflow import load_scenario
from normflow.plugins import get_plugin_manager
from normflow.simulation import Simulation


@pytest.mark.parametrize("name", ["generic", "kitakyushu-dalian", "niigata-harbin", "minimal"])
def test_a_finished_run_is_not_kept_alive_by_its_plugins(name):
    scenario = load_scenario(name)
    manager = get_plugin_manager()
    sim = Simulation(scenario, 1, plugin_manager=manager)
    assert sim.active_plugins  # the scenario's plugins take part
    sim.run()
    ref = weakref.ref(sim)
    del sim
    gc.collect()
    assert ref() is None
