"""Properties of every run of the core, over random scenarios and seeds.

Each test draws small valid scenarios (``normflow.testing.strategies``),
runs them, and states one rule the run's events must keep. The rules are
written out here directly, independently of ``check_invariants``; the last
tests check that function against the same runs.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation, events, hookimpl
from normflow.events import event_from_dict
from normflow.scenario import Scenario, scenario_from_dict
from normflow.testing import EventRecorder, actor_ids, check_invariants, examples, invariant_violations
from normflow.testing.strategies import scenario_dicts, scenarios
from normflow.trace import read_trace

SEEDS = st.integers(0, 2**32 - 1)
STAGES = ("lower_committee", "lower_plenary", "upper_committee", "upper_plenary")


def record(scenario: Scenario, seed: int, *plugins: Any) -> list[events.Event]:
    recorder = EventRecorder()
    Simulation(scenario, seed, plugins=[*plugins, recorder], autoload=False).run()
    return recorder.events


def trace_lines(scenario: Scenario, seed: int, *plugins: Any) -> tuple[list[dict[str, Any]], bytes]:
    """The trace's event lines (header and end marker dropped) and the file's bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "trace.jsonl")
        Simulation(scenario, seed, plugins=list(plugins), autoload=False, trace=path).run()
        return read_trace(path)[1:-1], path.read_bytes()


def busy_legislature(data: dict[str, Any]) -> Scenario:
    """Make bills likely: the first issue's state gets a legislature, a
    committed supporter group, low agenda thresholds and short stages."""
    data = copy.deepcopy(data)
    issue = data["issues"][0]
    state = next(s for s in data["states"] if s["id"] == issue["state"])
    state.setdefault("legislature", {"name": f"{state['id']}-legislature"})
    data.setdefault("civil_society", {}).setdefault("groups", []).append(
        {
            "id": "sponsor_group",
            "state": state["id"],
            "issue": issue["id"],
            "expertise": 1.0,
            "commitment": 1.0,
        }
    )
    agenda = data.setdefault("processes", {}).setdefault("agenda", {})
    agenda.update(problem_threshold=0.0, politics_threshold=0.0, policy_hazard=1.0, stage_days=10.0)
    return scenario_from_dict(data)


legislative_scenarios = scenario_dicts(min_days=200, max_days=3 * 365).map(busy_legislature)


@examples(ci=15, thorough=500)
@given(scenarios(), SEEDS)
def test_simulated_time_never_decreases(scenario, seed):
    times = [e.t for e in record(scenario, seed)]
    assert times == sorted(times)
    assert all(0.0 <= t <= scenario.horizon for t in times)


#: Which kind of actor each event field names.
ACTOR_FIELDS: dict[str, dict[str, str]] = {
    "information_exchanged": {"source": "group", "target": "group"},
    "information_shared": {"local_government": "local_government", "group": "group"},
    "coalition_joined": {"joiner": "group"},
    "pressure_applied": {"target": "state"},
    "access_blocked": {"group": "group", "state": "state"},
    "resolution_passed": {"local_government": "local_government"},
    "agenda_placed": {"legislature": "legislature"},
    "bill_submitted": {"legislature": "legislature"},
    "session_opened": {"legislature": "legislature"},
    "negotiation_phase_changed": {"negotiation": "negotiation"},
    "expertise_heard": {"negotiation": "negotiation"},
    "agreement_reached": {"negotiation": "negotiation"},
    "policy_changed": {"state": "state"},
}


@examples(ci=15, thorough=500)
@given(scenarios(), SEEDS)
def test_every_event_names_actors_that_exist(scenario, seed):
    ids = actor_ids(scenario)
    any_actor = ids["state"] | ids["group"] | ids["local_government"] | {"public"}
    for e in record(scenario, seed):
        if hasattr(e, "issue"):
            assert e.issue in ids["issue"], e
        for field, kind in ACTOR_FIELDS.get(e.kind, {}).items():
            assert getattr(e, field) in ids[kind], e
        if isinstance(e, events.PressureApplied):
            assert e.source in any_actor, e
        if isinstance(e, events.InformationExchanged) and e.venue is not None:
            assert e.venue in ids["local_government"], e
        if isinstance(e, events.CoalitionFormed):
            assert set(e.members) <= ids["group"], e
        if isinstance(e, events.AgreementReached):
            assert set(e.parties) <= ids["state"], e
        if isinstance(e, events.PublicSupportChanged):
            assert e.where in ids["state"] | ids["local_government"], e


def finite_in(x: float, low: float, high: float) -> bool:
    return math.isfinite(x) and low <= x <= high


@examples(ci=15, thorough=500)
@given(scenarios(), SEEDS)
def test_quantities_stay_in_their_ranges(scenario, seed):
    recorder = EventRecorder()
    result = Simulation(scenario, seed, plugins=[recorder], autoload=False).run()
    for e in recorder.events:
        if isinstance(e, events.PublicSupportChanged):
            assert finite_in(e.support, 0, 1), e
        elif isinstance(e, events.PressureApplied):
            assert finite_in(e.amount, 0, math.inf) and e.amount > 0, e
        elif isinstance(e, events.ExpertiseHeard):
            assert finite_in(e.weight, 0, 1) and finite_in(e.influence, 0, math.inf), e
        elif isinstance(e, events.PolicyChanged):
            assert finite_in(e.position, 0, 1), e
        elif isinstance(e, events.ResolutionPassed):
            assert e.population >= 0, e
    for by_issue in result.final["states"].values():
        for stance in by_issue.values():
            for key in ("position", "commitment", "public_support"):
                assert finite_in(stance[key], 0, 1), (key, stance)
            for key in ("salience", "pressure", "electoral_pressure", "reputational_cost"):
                assert finite_in(stance[key], 0, math.inf), (key, stance)
    for issue in result.final["issues"].values():
        assert finite_in(issue["resolution_population_share"], 0, 1), issue


@examples(ci=15, thorough=400)
@given(legislative_scenarios, SEEDS)
def test_no_bill_is_enacted_that_was_never_on_the_agenda(scenario, seed):
    on_agenda: set[str] = set()
    for e in record(scenario, seed):
        if isinstance(e, events.AgendaPlaced):
            on_agenda.add(e.issue)
        elif isinstance(e, events.BillSubmitted | events.BillEnacted):
            assert e.issue in on_agenda, e


@examples(ci=15, thorough=400)
@given(legislative_scenarios, SEEDS)
def test_a_lapsed_bill_never_advances(scenario, seed):
    ended: dict[str, str] = {}
    for e in record(scenario, seed):
        bill = getattr(e, "bill", None)
        if bill is None:
            continue
        assert bill not in ended, f"{e} after the bill {ended.get(bill)}"
        if isinstance(e, events.BillLapsed | events.BillRejected | events.BillEnacted):
            ended[bill] = e.kind


@examples(ci=15, thorough=400)
@given(legislative_scenarios, SEEDS)
def test_a_bill_passes_its_stages_in_order_and_only_in_session(scenario, seed):
    passed: dict[str, int] = defaultdict(int)
    sitting: dict[str, bool] = defaultdict(bool)  # per legislature: several may sit at once
    for e in record(scenario, seed):
        if isinstance(e, events.SessionOpened):
            sitting[e.legislature] = True
        elif isinstance(e, events.SessionClosed):
            sitting[e.legislature] = False
        elif isinstance(e, events.BillAdvanced):
            assert sitting[e.legislature], e
            assert e.stage == STAGES[passed[e.bill]], e
            passed[e.bill] += 1
        elif isinstance(e, events.BillEnacted):
            assert passed[e.bill] == len(STAGES), e


@examples(ci=15, thorough=500)
@given(scenarios(min_days=365), SEEDS)
def test_negotiation_phases_follow_their_order(scenario, seed):
    """Prenegotiation, main, agreement, ratification; a renegotiation (announced by
    its own event) is the only way back, and it goes back to the main phase."""
    cycle = ("main", "agreement", "ratification")
    phases: dict[str, list[str]] = defaultdict(list)
    renegotiated: dict[str, int] = defaultdict(int)
    for e in record(scenario, seed):
        if isinstance(e, events.NegotiationPhaseChanged):
            seen = phases[e.negotiation]
            if not seen:
                assert e.phase == "prenegotiation", e
            elif seen[-1] == "prenegotiation":
                assert e.phase == "main", e
            elif seen[-1] == "ratification" and e.phase == "main":
                # back to the table only after a renegotiation was announced
                assert renegotiated[e.negotiation] == seen.count("ratification"), e
            else:
                assert e.phase == cycle[cycle.index(seen[-1]) + 1], e
            seen.append(e.phase)
        elif isinstance(e, events.AgreementRenegotiated):
            assert phases[e.negotiation][-1] == "ratification", e
            renegotiated[e.negotiation] += 1
        elif isinstance(e, events.AgreementReached):
            assert phases[e.negotiation][-1] == "ratification", e


@examples(ci=15, thorough=500)
@given(scenarios(), SEEDS)
def test_milestones_are_the_first_events_of_their_kind(scenario, seed):
    recorder = EventRecorder()
    result = Simulation(scenario, seed, plugins=[recorder], autoload=False).run()
    for name, kind in [
        ("agenda_placed", events.AgendaPlaced),
        ("bill_enacted", events.BillEnacted),
        ("first_resolution", events.ResolutionPassed),
        ("coalition_formed", events.CoalitionFormed),
    ]:
        seen = recorder.of(kind)
        if name in result.milestones:
            assert result.milestones[name] == (seen[0].t if seen else None), name


@examples(ci=12, thorough=300)
@given(scenarios(), SEEDS)
def test_the_same_seed_gives_an_identical_trace(scenario, seed):
    _, first = trace_lines(scenario, seed)
    _, second = trace_lines(scenario, seed)
    assert first == second


@examples(ci=12, thorough=300)
@given(scenarios(), SEEDS)
def test_a_trace_round_trips_through_json(scenario, seed):
    recorded = record(scenario, seed)
    lines, _ = trace_lines(scenario, seed)
    assert [event_from_dict(line) for line in lines] == recorded
    for event in recorded:
        assert event_from_dict(json.loads(json.dumps(event.to_dict()))) == event


class DoesNothing:
    """A plugin that implements every setup hook and does nothing with them."""

    normflow_plugin_name = "does_nothing"

    @hookimpl
    def normflow_register_channels(self, sim, register):
        pass

    @hookimpl
    def normflow_register_milestones(self, sim, register):
        pass

    @hookimpl
    def normflow_register_modifiers(self, sim, register):
        register("pressure", lambda amount, source, target, issue, channel: amount)
        register("transition", lambda name, probability, state, issue: probability)

    @hookimpl
    def normflow_register_handlers(self, sim, register):
        register(events.Event, lambda event: None)

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def idle():
            yield sim.env.timeout(sim.horizon)

        register("idle", idle)

    @hookimpl
    def normflow_register_metrics(self, sim, register):
        register("nothing", lambda: 0)


@examples(ci=12, thorough=300)
@given(scenarios(), SEEDS)
def test_a_plugin_that_does_nothing_changes_no_event(scenario, seed):
    alone, _ = trace_lines(scenario, seed)
    with_plugin, _ = trace_lines(scenario, seed, DoesNothing())
    assert with_plugin == alone


@examples(ci=12, thorough=300)
@given(scenarios(), SEEDS)
def test_listening_to_events_changes_no_outcome(scenario, seed):
    quiet = Simulation(scenario, seed, autoload=False).run()
    recorder = EventRecorder()
    heard = Simulation(scenario, seed, plugins=[recorder], autoload=False).run()
    assert heard.milestones == quiet.milestones
    assert heard.final == quiet.final


@examples(ci=15, thorough=500)
@given(scenarios(), SEEDS)
def test_runs_keep_every_invariant(scenario, seed):
    lines, _ = trace_lines(scenario, seed)
    check_invariants(lines, scenario)


@examples(ci=15, thorough=300)
@given(legislative_scenarios, SEEDS)
def test_runs_with_bills_keep_every_invariant(scenario, seed):
    check_invariants(record(scenario, seed), scenario)


def test_the_invariant_checker_catches_a_doctored_trace():
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "doctored", "start": "2000-01-01", "end": "2001-01-01"},
            "states": [{"id": "japan", "legislature": {"name": "Diet"}}],
            "issues": [{"id": "suffrage", "state": "japan"}],
        }
    )
    lines = [
        {"kind": "session_opened", "t": 10.0, "legislature": "Diet", "session": "ordinary", "number": 1},
        {"kind": "bill_submitted", "t": 12.0, "legislature": "Diet", "bill": "b1", "issue": "suffrage", "sponsor": "members"},
        {"kind": "bill_advanced", "t": 11.0, "legislature": "Diet", "bill": "b1", "issue": "suffrage", "stage": "lower_plenary"},
        {"kind": "pressure_applied", "t": 13.0, "source": "nobody", "target": "japan", "issue": "suffrage",
         "channel": "domestic", "nature": "moral", "amount": -1.0},
    ]  # fmt: skip
    problems = "\n".join(invariant_violations(lines, scenario))
    assert "never on the agenda" in problems
    assert "time went back" in problems
    assert "expected 'lower_committee'" in problems
    assert "source 'nobody' is not a declared actor" in problems
    assert "not a positive finite number" in problems
