"""Tests of the tutorial's shaming plugin, written with normflow's testing kit.

This file is the example of docs/testing-plugins.md; normflow's own test
suite runs it (tests/test_plugin_conformance.py), so it cannot go stale.
"""

# --8<-- [start:imports]
import normflow_shaming as plugin
from hypothesis import given, settings
from hypothesis import strategies as st

from normflow import Simulation, events
from normflow.testing import EventRecorder, check_invariants, check_plugin, strategies

# --8<-- [end:imports]


# --8<-- [start:conformance]
def test_shaming_conforms():
    # the plugin presses in its own name ("shaming"): declare it as an actor
    report = check_plugin(plugin, extra_actors=["shaming"], max_examples=10)
    assert report.config_sections == ("shaming",)


# --8<-- [end:conformance]


# --8<-- [start:fixtures]
def test_shaming_presses_the_state_whose_practice_falls_short(normflow_simulation, event_recorder):
    sim = normflow_simulation("minimal", seed=1, plugins=[plugin, event_recorder])
    result = sim.run(until=3 * 365)
    shamed = [e for e in event_recorder.of(events.PressureApplied) if e.channel == "shaming"]
    assert shamed and {e.target for e in shamed} == {"japan"}
    assert result.metrics["shaming.episodes"] == len(shamed)
    check_invariants(event_recorder.events, sim.scenario, extra_actors=["shaming"])


# --8<-- [end:fixtures]


# --8<-- [start:property]
@settings(max_examples=10, deadline=None)
@given(scenario=strategies.scenarios(max_states=2), seed=st.integers(0, 2**32 - 1))
def test_a_campaign_is_never_smaller_than_the_shortfall_worth_shaming(scenario, seed):
    # a fresh recorder per example: a fixture would be shared by all of them
    recorder = EventRecorder(events.PressureApplied)
    sim = Simulation(scenario, seed, plugins=[plugin, recorder], autoload=False)
    sim.run()
    config = sim.config("shaming")
    for e in recorder.events:
        if e.channel == "shaming":
            assert e.amount >= config.strength * config.min_gap - 1e-12


# --8<-- [end:property]
