"""The bundled plugins tested with the kit (``normflow.testing``), and the
kit tested on plugins that break its rules.

- Each bundled plugin passes ``check_plugin``.
- Their mechanisms keep their own properties over random scenarios: the
  spiral never skips a phase going forward and slides back only from its
  early phases, one phase at a time; a boomerang presses a state only after
  a group's access to that state was blocked; local diplomacy reaches a
  state only through a partner local government of that state.
- ``check_plugin`` rejects plugins with unknown hooks, unmarked hook
  functions, bad config defaults, errors at run time, runs that depend on
  more than the seed, and runs that break the invariants.
- The pytest fixtures work in a fresh pytest session, and the example test
  of docs/testing-plugins.md passes.
"""

from __future__ import annotations

import copy
import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import normflow_boomerang
import normflow_local_diplomacy
import normflow_spiral
import pytest
from hypothesis import given
from hypothesis import strategies as st

import normflow
from normflow import Simulation, events, hookimpl
from normflow.scenario import scenario_from_dict
from normflow.testing import (
    ConformanceError,
    EventRecorder,
    InvariantViolation,
    budget,
    check_invariants,
    check_plugin,
    examples,
)
from normflow.testing.strategies import PressureStep, pressure_sequences, scenario_dicts

ROOT = Path(__file__).resolve().parent.parent
SEEDS = st.integers(0, 2**32 - 1)
SPIRAL_ORDER = {"spiral": normflow_spiral.PHASES}


# -- the bundled plugins conform ----------------------------------------------------


@pytest.mark.parametrize(
    "plugin", [normflow_spiral, normflow_boomerang, normflow_local_diplomacy], ids=lambda p: p.__name__
)
def test_a_bundled_plugin_conforms(plugin):
    report = check_plugin(plugin, max_examples=budget(ci=12, thorough=300), phase_orders=SPIRAL_ORDER)
    assert report.plugin == plugin.normflow_plugin_name
    assert report.config_sections == (plugin.normflow_plugin_name,)
    assert report.runs >= 1


# -- the spiral ------------------------------------------------------------------------


class ScriptedPressure:
    """A plugin that applies a given sequence of pressure (``PressureStep``s)
    at its times: bursts and lulls that the spiral must follow."""

    normflow_plugin_name = "scripted_pressure"

    def __init__(self, steps: list[Any]):
        self.steps = steps

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def press():
            for step in self.steps:
                if step.t > sim.env.now:
                    yield sim.env.timeout(step.t - sim.env.now)
                step.apply(sim)

        register("press", press)


@st.composite
def spiral_configs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``[plugins.spiral]`` section that moves quickly: thresholds in
    the phases' order, short checks, lulls and habituation."""
    low, mid, high = sorted(draw(st.lists(st.floats(0, 30), min_size=3, max_size=3)))
    unit = st.floats(0, 1)
    return {
        "denial_threshold": low,
        "concessions_threshold": mid,
        "prescriptive_threshold": high,
        "backslide_threshold": draw(st.floats(0, low)),
        "denial_probability": draw(unit),
        "concessions_probability": draw(unit),
        "prescriptive_probability": draw(unit),
        "check_days": draw(st.floats(1, 60)),
        "half_life": draw(st.floats(5, 400)),
        "backslide_days": draw(st.floats(1, 200)),
        "habituation_days": draw(st.floats(0, 400)),
        "start_phase": draw(st.sampled_from(normflow_spiral.PHASES)),
    }


@st.composite
def spiral_runs(draw: st.DrawFn) -> tuple[Any, list[Any]]:
    data = copy.deepcopy(draw(scenario_dicts(min_days=365, max_days=3 * 365)))
    data["plugins"] = {"spiral": draw(spiral_configs())}
    scenario = scenario_from_dict(data)
    steps = draw(pressure_sequences(scenario, max_size=60, max_amount=20))
    return scenario, steps


STEP = PressureStep(
    t=0.0,
    source="test",
    target="target",
    issue="rights",
    channel="test",
    nature="moral",
    amount=5.0,
    foreign=True,
)


def spiral_events(scenario: Any, seed: int, steps: list[Any]) -> list[events.Event]:
    recorder = EventRecorder()
    plugins = [normflow_spiral, ScriptedPressure(steps), recorder]
    Simulation(scenario, seed, plugins=plugins, autoload=False).run()
    return recorder.events


@examples(ci=15, thorough=500)
@given(spiral_runs(), SEEDS)
def test_spiral_phases_never_skip_forward(run, seed):
    scenario, steps = run
    order = normflow_spiral.PHASES
    for e in spiral_events(scenario, seed, steps):
        if isinstance(e, events.PhaseChanged) and e.machine == "spiral":
            assert order.index(e.phase) <= order.index(e.previous) + 1, e


@examples(ci=15, thorough=500)
@given(spiral_runs(), SEEDS)
def test_spiral_slides_back_only_from_early_phases_one_phase_at_a_time(run, seed):
    scenario, steps = run
    order = normflow_spiral.PHASES
    for e in spiral_events(scenario, seed, steps):
        if isinstance(e, events.PhaseChanged) and e.machine == "spiral":
            if order.index(e.phase) < order.index(e.previous):
                assert e.previous in ("denial", "tactical_concessions"), e
                assert order.index(e.phase) == order.index(e.previous) - 1, e


@examples(ci=15, thorough=300)
@given(spiral_runs(), SEEDS)
def test_spiral_runs_keep_every_invariant(run, seed):
    scenario, steps = run
    check_invariants(spiral_events(scenario, seed, steps), scenario, phase_orders=SPIRAL_ORDER)


# -- the boomerang --------------------------------------------------------------------


@st.composite
def boomerang_scenarios(draw: st.DrawFn) -> Any:
    """Random scenarios with a closed state, a group blocked there and an ally
    abroad tied to it (so that coalitions across the border form), and a
    boomerang that is quick to take a grievance up."""
    data = copy.deepcopy(draw(scenario_dicts(min_states=2, min_days=200, max_days=3 * 365)))
    issue = data["issues"][0]
    home = issue["state"]
    abroad = next(s["id"] for s in data["states"] if s["id"] != home)
    for state in data["states"]:
        if state["id"] == home:
            state["penetrability"] = draw(st.floats(0, 0.3))
    groups = data.setdefault("civil_society", {}).setdefault("groups", [])
    groups += [
        {"id": "blocked_group", "state": home, "issue": issue["id"], "resources": 2.0, "commitment": 1.0},
        {"id": "ally_abroad", "state": abroad, "issue": issue["id"]},
    ]
    data.setdefault("ties", []).append({"a": "blocked_group", "b": "ally_abroad", "weight": 10})
    data.setdefault("processes", {}).setdefault("information", {}).update(contact_rate=30, tie_share=0.9)
    config = {"take_up": draw(st.floats(0.5, 1)), "delay_days": draw(st.floats(1, 60))}
    if draw(st.booleans()):
        config["institution"] = "un"
    data["plugins"] = {"boomerang": config}
    return scenario_from_dict(data)


def boomerang_events(scenario: Any, seed: int) -> list[events.Event]:
    recorder = EventRecorder()
    Simulation(scenario, seed, plugins=[normflow_boomerang, recorder], autoload=False).run()
    return recorder.events


@examples(ci=15, thorough=500)
@given(boomerang_scenarios(), SEEDS)
def test_boomerang_pressure_comes_only_after_a_block(scenario, seed):
    blocked: set[tuple[str, str, str]] = set()
    for e in boomerang_events(scenario, seed):
        if isinstance(e, events.AccessBlocked):
            blocked.add((e.group, e.state, e.issue))
        elif isinstance(e, events.ChannelUsed) and e.channel == "boomerang":
            group, target = e.path[0], e.path[-1]
            assert (group, target, e.issue) in blocked, e
        elif isinstance(e, events.PressureApplied) and e.channel == "boomerang":
            assert any(s == e.target and i == e.issue for _, s, i in blocked), e


@examples(ci=15, thorough=300)
@given(boomerang_scenarios(), SEEDS)
def test_boomerang_runs_keep_every_invariant(scenario, seed):
    check_invariants(boomerang_events(scenario, seed), scenario, extra_actors=["un"])


def test_a_boomerang_does_come_back_in_a_closed_state():
    # the properties above would hold vacuously if no boomerang ever came back
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "closed", "start": "2000-01-01", "end": "2001-12-31"},
            "states": [{"id": "home", "penetrability": 0.0}, {"id": "abroad", "penetrability": 1.0}],
            "issues": [{"id": "rights", "state": "home"}],
            "civil_society": {
                "groups": [
                    {"id": "blocked_group", "state": "home", "resources": 2.0},
                    {"id": "ally_abroad", "state": "abroad"},
                ]
            },
            "ties": [{"a": "blocked_group", "b": "ally_abroad"}],
            "processes": {"information": {"contact_rate": 30, "tie_share": 1.0}},
            "plugins": {"boomerang": {"take_up": 1.0, "delay_days": 10}},
        }
    )
    used = [e for e in boomerang_events(scenario, 1) if isinstance(e, events.ChannelUsed)]
    assert used and all(e.path[0] == "blocked_group" and e.path[-1] == "home" for e in used)


def test_sustained_pressure_does_move_the_spiral():
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "pressed", "start": "2000-01-01", "end": "2002-12-31"},
            "states": [{"id": "target"}],
            "issues": [{"id": "rights", "state": "target"}],
            "plugins": {
                "spiral": {
                    "denial_probability": 1.0,
                    "concessions_probability": 1.0,
                    "prescriptive_probability": 1.0,
                    "habituation_days": 100,
                }
            },
        }
    )
    steps = [attrs.evolve(STEP, t=float(t)) for t in range(0, 1000, 10)]
    phases = [e.phase for e in spiral_events(scenario, 1, steps) if isinstance(e, events.PhaseChanged)]
    assert phases == list(normflow_spiral.PHASES[1:])


# -- local diplomacy --------------------------------------------------------------------


@st.composite
def partnered_scenarios(draw: st.DrawFn) -> Any:
    """Random scenarios with partner local governments in two states, each
    hosting a committed supporter group, and supportive assemblies."""
    data = copy.deepcopy(draw(scenario_dicts(min_states=2, min_days=200, max_days=2 * 365)))
    issue = data["issues"][0]
    home = issue["state"]
    abroad = next(s["id"] for s in data["states"] if s["id"] != home)
    lgs = data.setdefault("local_governments", {}).setdefault("named", [])
    lgs += [
        {"id": "home_city", "state": home, "support": 0.9, "partners": ["partner_city"]},
        {"id": "partner_city", "state": abroad, "support": 0.9, "access": draw(st.floats(0, 1))},
    ]
    data.setdefault("civil_society", {}).setdefault("groups", []).append(
        {"id": "city_group", "state": home, "locality": "home_city", "issue": issue["id"], "expertise": 1.0}
    )
    return scenario_from_dict(data)


@examples(ci=15, thorough=500)
@given(partnered_scenarios(), SEEDS)
def test_local_diplomacy_reaches_a_state_only_through_its_partner_cities(scenario, seed):
    named = {lg.id: lg for lg in scenario.local_governments.named}
    partners = {lg.id: set(lg.partners) for lg in scenario.local_governments.named}
    for lg in scenario.local_governments.named:
        for p in lg.partners:
            partners.setdefault(p, set()).add(lg.id)
    recorder = EventRecorder(events.ChannelUsed)
    Simulation(scenario, seed, plugins=[normflow_local_diplomacy, recorder], autoload=False).run()
    for e in recorder.events:
        source, partner, target = e.path
        assert partner in partners.get(source, set()), e
        assert named[partner].state == target, e
        assert named[partner].access > 0, e


# -- check_plugin refuses what it must ------------------------------------------------------


def tiny_scenarios() -> list[Any]:
    data = {
        "scenario": {"name": "tiny", "start": "2000-01-01", "end": "2001-12-31"},
        "states": [{"id": "japan", "legislature": {"name": "Diet"}}, {"id": "korea"}],
        "issues": [{"id": "suffrage", "state": "japan"}],
        "local_governments": {"groups": [{"state": "japan", "count": 5}]},
        "civil_society": {"populations": [{"state": "japan", "count": 10}]},
    }
    return [scenario_from_dict(data)]


def refuse(
    plugin: Any, match: str, cause: type[BaseException] | None = None, **options: Any
) -> ConformanceError:
    """check_plugin refuses ``plugin`` with a ConformanceError (only), whose
    message matches ``match`` and whose cause is a ``cause``."""
    options = {"scenarios": tiny_scenarios(), "seeds": st.just(0), "max_examples": 3, **options}
    with pytest.raises(ConformanceError, match=f"(?s){match}") as raised:
        check_plugin(plugin, **options)
    assert isinstance(raised.value, AssertionError)
    if cause is not None:
        assert isinstance(raised.value.__cause__, cause), repr(raised.value.__cause__)
    return raised.value


def test_check_plugin_refuses_an_unknown_hook():
    class Typo:
        normflow_plugin_name = "typo"

        @hookimpl
        def normflow_register_handler(self, sim, register):
            pass

    refuse(Typo(), "hooks: .*normflow_register_handler")


def test_check_plugin_refuses_a_hook_function_without_hookimpl():
    class Forgot:
        normflow_plugin_name = "forgot"

        @hookimpl
        def normflow_register_metrics(self, sim, register):
            register("zero", lambda: 0)

        def normflow_register_handlers(self, sim, register):
            register(events.AccessBlocked, print)

    refuse(Forgot(), "normflow_register_handlers .*not marked with @hookimpl")


def test_check_plugin_refuses_a_hook_asking_for_an_argument_it_is_not_given():
    class Greedy:
        normflow_plugin_name = "greedy"

        @hookimpl
        def normflow_register_processes(self, sim, register, world):
            pass

    refuse(Greedy(), "hooks: .*world")


@attrs.frozen
class OutOfRange:
    strength: float = normflow.param(2.0, low=0, high=1, doc="a default its own range refuses")


@attrs.frozen
class NoDefault:
    strength: float = normflow.param(low=0, high=1, doc="no default")


@pytest.mark.parametrize(
    ("schema", "match"),
    [
        (OutOfRange, "defaults do not validate: .*plugins.bad.strength"),
        (NoDefault, "without a default: strength"),
    ],
)
def test_check_plugin_refuses_a_config_whose_defaults_do_not_validate(schema, match):
    class BadConfig:
        normflow_plugin_name = "bad_config"

        @hookimpl
        def normflow_register_config(self, register):
            register("bad", schema)

    refuse(BadConfig(), match)


def test_check_plugin_reports_an_error_during_a_run_as_a_conformance_error_with_its_cause():
    class Crashes:
        normflow_plugin_name = "crashes"

        @hookimpl
        def normflow_register_handlers(self, sim, register):
            def fail(event):
                raise ZeroDivisionError("bad arithmetic")

            register(events.SessionOpened, fail)

    refuse(Crashes(), "run: .*plugin 'crashes' raised in handler fail", normflow.PluginRunError)


_runs_so_far = itertools.count()


class RemembersRuns:
    """A plugin whose pressure depends on how many runs came before: state kept
    at module level, shared by every run in the process."""

    normflow_plugin_name = "remembers_runs"

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def press():
            yield sim.env.timeout(10)
            sim.apply_pressure(
                sim.env.now, "japan", "japan", "suffrage", "test", "moral", 1 + next(_runs_so_far)
            )

        register("press", press)


def test_check_plugin_refuses_a_run_that_depends_on_more_than_the_seed():
    refuse(RemembersRuns(), "determinism: .*different traces")


def test_check_plugin_refuses_a_run_that_breaks_an_invariant():
    class PressesNobody:
        normflow_plugin_name = "presses_nobody"

        @hookimpl
        def normflow_register_processes(self, sim, register):
            def press():
                yield sim.env.timeout(10)
                sim.bus.publish(
                    events.PolicyChanged(t=5.0, state="atlantis", issue="suffrage", position=2.0, cause="x")
                )

            register("press", press)

    refuse(
        PressesNobody(),
        r"invariants: .*'atlantis' is not a declared state.*position 2.0 outside \[0, 1\]",
        InvariantViolation,
    )


# -- the pytest fixtures and the documented example --------------------------------------------


def test_the_fixtures_reach_a_fresh_pytest_session(pytester):
    pytester.makepyfile(
        """
        from normflow import events

        def test_fixtures(normflow_simulation, event_recorder):
            sim = normflow_simulation("minimal", seed=2, plugins=[event_recorder], trace=True)
            result = sim.run(until=400)
            assert event_recorder.of(events.SessionOpened)
            assert event_recorder.kinds()["session_opened"] == result.counts["session_opened"]
            assert sim.plugin_versions.keys() == {event_recorder.normflow_plugin_name}

        def test_a_scenario_from_a_dictionary(normflow_simulation):
            data = {
                "scenario": {"name": "d", "start": "2000-01-01", "end": "2000-12-31"},
                "states": [{"id": "s"}],
                "issues": [{"id": "i", "state": "s"}],
            }
            assert normflow_simulation(data).run().scenario == "d"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_documented_example_passes(tmp_path):
    example = ROOT / "docs" / "examples" / "test_example_plugin.py"
    shaming = ROOT / "docs" / "examples" / "normflow_shaming"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shaming), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
