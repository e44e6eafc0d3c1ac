"""Properties of the event vocabulary and of pressure, without running a
whole simulation: every event class round-trips through JSON and through
the trace file, and pressure applied in any order of amounts keeps a state's
stance in its ranges."""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

import attrs
from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation, events
from normflow.events import ALL_EVENTS, EVENT_BY_KIND, event_from_dict
from normflow.testing import EventRecorder, actor_ids, examples
from normflow.testing.strategies import events as any_events
from normflow.testing.strategies import pressure_sequences, scenarios
from normflow.trace import JsonlTrace, read_trace
from normflow.world import LN2


def test_every_event_class_has_a_unique_kind():
    kinds = [cls.kind for cls in ALL_EVENTS]
    assert len(set(kinds)) == len(kinds)
    assert set(EVENT_BY_KIND) == set(kinds)


@examples(ci=200, thorough=5000)
@given(any_events())
def test_an_event_round_trips_through_json(event):
    line = json.loads(json.dumps(event.to_dict()))
    assert line["kind"] == event.kind
    assert event_from_dict(line) == event


@examples(ci=50, thorough=1000)
@given(st.lists(any_events(), max_size=20))
def test_events_round_trip_through_a_trace_file(batch):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "trace.jsonl")
        trace = JsonlTrace(path, dt.date(2000, 1, 1), header={"scenario": "x"})
        for event in batch:
            trace(event)
        trace.close()
        lines = read_trace(path)
    assert lines[0]["kind"] == "trace_start" and lines[-1] == {"kind": "trace_end", "complete": True}
    assert [event_from_dict(line) for line in lines[1:-1]] == batch


@examples(ci=25, thorough=300)
@given(st.data())
def test_events_drawn_for_a_scenario_name_its_actors(data):
    scenario = data.draw(scenarios(max_negotiations=1))
    event = data.draw(any_events(scenario=scenario))
    ids = actor_ids(scenario)
    assert 0 <= event.t <= scenario.horizon
    if hasattr(event, "issue"):
        assert event.issue in ids["issue"]


def _fresh(scenario):
    """A simulation built but not run: its world is at the start."""
    return Simulation(scenario, 0, autoload=False)


@examples(ci=25, thorough=500)
@given(st.data())
def test_pressure_keeps_a_stance_in_its_ranges(data):
    scenario = data.draw(scenarios(max_negotiations=0, max_events=0))
    steps = data.draw(pressure_sequences(scenario))
    sim = _fresh(scenario)
    before = {key: attrs.evolve(s) for key, s in sim.world.stances.items()}
    for step in steps:
        stance = sim.world.stance(step.target, step.issue)
        position, cost = stance.position, stance.reputational_cost
        applied = step.apply(sim)
        assert applied == (step.amount if step.amount > 0 else 0.0)
        # pressure never pushes practice back, nor past the stated commitment
        assert stance.position >= position
        assert stance.position <= max(position, stance.commitment)
        assert stance.reputational_cost >= cost
    for key, stance in sim.world.stances.items():
        assert 0.0 <= stance.position <= 1.0
        assert stance.commitment == before[key].commitment
        assert stance.pressure.value >= 0.0 and stance.foreign_pressure.value >= 0.0


@examples(ci=25, thorough=500)
@given(st.data())
def test_the_pressure_stock_is_the_decayed_sum_of_what_was_applied(data):
    scenario = data.draw(scenarios(max_states=2, max_issues=1, max_negotiations=0, max_events=0))
    steps = data.draw(pressure_sequences(scenario))
    sim = _fresh(scenario)
    for step in steps:
        step.apply(sim)
    end = scenario.horizon
    for (state, issue), stance in sim.world.stances.items():
        mine = [s for s in steps if s.target == state and s.issue == issue and s.amount > 0]
        half = stance.pressure.half_life
        expected = sum(s.amount * math.exp(-LN2 * (end - s.t) / half) for s in mine)
        foreign = sum(s.amount * math.exp(-LN2 * (end - s.t) / half) for s in mine if s.foreign)
        assert math.isclose(stance.pressure.at(end), expected, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(stance.foreign_pressure.at(end), foreign, rel_tol=1e-9, abs_tol=1e-9)


@examples(ci=25, thorough=500)
@given(st.data())
def test_every_applied_pressure_is_published_once(data):
    scenario = data.draw(scenarios(max_negotiations=0, max_events=0))
    steps = data.draw(pressure_sequences(scenario))
    recorder = EventRecorder(events.PressureApplied)
    sim = Simulation(scenario, 0, plugins=[recorder], autoload=False)
    for step in steps:
        step.apply(sim)
    assert [(e.t, e.target, e.amount) for e in recorder.events] == [
        (s.t, s.target, s.amount) for s in steps if s.amount > 0
    ]
