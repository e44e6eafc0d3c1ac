"""The Diet with agenda control and elections (processes/agenda.py)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from helpers import BASE, diet_window, scenario
from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation
from normflow.processes.agenda import Chamber
from normflow.scenario import scenario_from_dict
from normflow.testing import EventRecorder, check_invariants, examples
from normflow.testing.strategies import scenario_dicts

SEEDS = st.integers(0, 2**32 - 1)


def record(s, seed=0):
    recorder = EventRecorder()
    Simulation(s, seed, plugins=[recorder], autoload=False).run()
    return recorder.events


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def eager(government_support: float, stage_weight: float = 0.0, **legislature: Any):
    """A scenario whose issue reaches the agenda at once and whose bills
    move fast: what happens to them is the governing parties' choice (the
    state's disposition counts only when ``stage_weight`` is given)."""
    leg = {"name": "Diet", "government_support": government_support, **legislature}
    procs = {
        "agenda": {
            "problem_threshold": 0.0,
            "politics_threshold": 0.0,
            "policy_hazard": 1.0,
            "stage_days": 5.0,
            "resubmit_probability": 1.0,
        },
        "stance": {"stage_weight": stage_weight},
    }
    return scenario(states=[{"id": "japan", "legislature": leg}, {"id": "korea"}], processes=procs)


def test_a_bill_the_governing_parties_oppose_is_shelved_not_voted_down():
    events = [e for seed in range(4) for e in record(eager(0.0), seed)]
    assert kinds(events, "bill_submitted")
    assert kinds(events, "bill_shelved")
    assert not kinds(events, "bill_taken_up")
    assert not kinds(events, "bill_rejected") and not kinds(events, "bill_advanced")
    assert {e.reason for e in kinds(events, "bill_lapsed")} <= {"session_end", "dissolution"}


def test_reputational_cost_makes_the_governing_parties_take_a_bill_up():
    """The state's disposition (recent reputational cost) enters agenda
    control: a state embarrassed by the gap between its word and its deed
    lets bills it would otherwise shelve reach committee."""

    def taken_up(stage_weight):
        events = [e for seed in range(4) for e in record(eager(0.0, stage_weight), seed)]
        return len(kinds(events, "bill_taken_up"))

    assert taken_up(0.0) == 0 < taken_up(1.0)


def test_members_bills_are_taken_up_in_proportion_to_support():
    def share(support):
        events = [e for seed in range(6) for e in record(eager(support, continuation_probability=1.0), seed)]
        up, shelved = len(kinds(events, "bill_taken_up")), len(kinds(events, "bill_shelved"))
        return up / (up + shelved)

    assert share(0.1) < share(0.45)
    assert 0.2 < share(0.45) < 0.7


def test_cabinet_bills_are_taken_up_and_pass_far_more_often_than_members_bills():
    def enacted_per_bill(support):
        events = [e for seed in range(6) for e in record(eager(support), seed)]
        return len(kinds(events, "bill_enacted")) / len(kinds(events, "bill_submitted"))

    assert enacted_per_bill(0.9) > 0.8  # a Cabinet bill (support >= 0.5)
    assert enacted_per_bill(0.2) < 0.3


def test_elections_come_at_most_four_years_apart_with_dissolution_as_a_hazard():
    leg = {"name": "Diet", "lower_house_elected": "1989-12-01", "dissolution_hazard": 0.25}
    data = copy.deepcopy(BASE)
    data["scenario"]["end"] = "2009-12-31"
    data["states"][0]["legislature"] = leg
    s = scenario_from_dict(data)
    gaps, causes = [], set()
    for seed in range(8):
        elections = [e for e in record(s, seed) if e.kind == "election_held" and e.house == "lower"]
        times = [-30.0] + [e.t for e in elections]  # the 1989 election, 31 days before the start
        gaps += [b - a for a, b in zip(times, times[1:], strict=False)]
        causes |= {e.cause for e in elections}
    assert gaps and max(gaps) <= 4 * 365.25 + 1e-6
    assert min(gaps) < 3.5 * 365.25  # dissolutions come before the term ends
    assert "dissolution" in causes


def test_an_election_moves_governing_support_toward_national_public_support():
    leg = {
        "name": "Diet",
        "government_support": 0.0,
        "lower_house_elected": "1989-06-01",
        "dissolution_hazard": 0.0,
        "election_swing": 0.5,
        "election_noise": 0.0,
    }
    s = scenario(states=[{"id": "japan", "public_support": 0.8, "legislature": leg}, {"id": "korea"}])
    (election,) = [e for e in record(s) if e.kind == "election_held"]
    assert election.cause == "term" and election.issues == ("suffrage",)
    (support,) = election.government_support
    assert 0.3 < support < 0.5  # half the gap from 0 to about 0.8


def test_upper_house_elections_every_three_years():
    leg = {"name": "Diet", "upper_house_elected": "1989-07-23"}
    data = copy.deepcopy(BASE)
    data["scenario"]["end"] = "1999-12-31"
    data["states"][0]["legislature"] = leg
    upper = [e for e in record(scenario_from_dict(data)) if e.kind == "election_held" and e.house == "upper"]
    years = [1990 + e.t / 365.25 for e in upper]
    assert len(upper) == 3  # 1992, 1995, 1998
    assert all(abs(b - a - 3.0) < 0.01 for a, b in zip(years, years[1:], strict=False))


def with_diet(data: dict[str, Any]) -> Any:
    """A random scenario whose first issue's state has a Diet with
    elections, and a committed group to draft bills."""
    data = copy.deepcopy(data)
    issue = data["issues"][0]
    state = next(s for s in data["states"] if s["id"] == issue["state"])
    state["legislature"] = {
        "name": f"{state['id']}-diet",
        "lower_house_elected": data["scenario"]["start"],
        "dissolution_hazard": 2.0,
        "government_support": 0.5,
    }
    data.setdefault("civil_society", {}).setdefault("groups", []).append(
        {"id": "drafters", "state": state["id"], "issue": issue["id"], "expertise": 1.0}
    )
    agenda = data.setdefault("processes", {}).setdefault("agenda", {})
    agenda.update(problem_threshold=0.0, politics_threshold=0.0, policy_hazard=1.0, stage_days=10.0)
    return scenario_from_dict(data)


@examples(ci=12, thorough=300)
@given(scenario_dicts(min_days=200, max_days=4 * 365).map(with_diet), SEEDS)
def test_bills_are_voted_only_when_taken_up_and_every_run_keeps_the_invariants(s, seed):
    events = record(s, seed)
    check_invariants(events, s)
    session = {}
    taken = set()
    for e in events:
        if e.kind == "session_opened":
            session[e.legislature] = e.number
        elif e.kind == "bill_taken_up":
            taken.add((e.bill, session[e.legislature]))
        elif e.kind in ("bill_advanced", "bill_rejected", "bill_enacted"):
            assert (e.bill, session[e.legislature]) in taken


@examples(ci=12, thorough=300)
@given(scenario_dicts(min_days=200, max_days=6 * 365).map(with_diet), SEEDS)
def test_general_elections_are_never_more_than_a_term_apart(s, seed):
    legislature = next(x.legislature for x in s.states if x.legislature is not None)
    times = [0.0] + [e.t for e in record(s, seed) if e.kind == "election_held" and e.house == "lower"]
    assert all(
        b - a <= legislature.term_years * 365.25 + 1e-6 for a, b in zip(times, times[1:], strict=False)
    )


# -- coupling the streams: a dated event opens a window, the streams decide when it is used --


def window(strength: float, coupling_days: float, **processes: Any):
    """A Diet that sits all year; the politics stream is national support
    alone, held at 0.3, under a threshold of 0.45, until a state visit on
    1991-06-01 adds ``0.1 * strength``: the visit opens the window."""
    return scenario_from_dict(diet_window(strength=strength, coupling_days=coupling_days, **processes))


def agenda_day(s, seed: int) -> float | None:
    return Simulation(s, seed, autoload=False).run().milestones["agenda_placed"]


VISIT = 516.0  # 1991-06-01, days from 1990-01-01


def test_without_coupling_time_the_window_is_used_at_the_first_check():
    for seed in range(3):
        day = agenda_day(window(3.0, 0.0), seed)
        assert day is not None and VISIT <= day <= VISIT + 7.0


@examples(ci=8, thorough=200)
@given(st.floats(1.6, 4.0), st.floats(0.0, 3.0), SEEDS)
def test_a_wider_politics_margin_never_couples_later(strength, extra, seed):
    """The visit is the trigger; how soon the streams are coupled depends on
    how far politics stands over its threshold: a stronger visit (paired
    seed) never places the issue later."""
    weak = agenda_day(window(strength, 60.0), seed)
    strong = agenda_day(window(strength + extra, 60.0), seed)
    assert weak is None or weak >= VISIT
    if weak is not None:
        assert strong is not None and strong <= weak


def test_coupling_takes_longer_at_a_narrow_margin():
    def mean_delay(strength):
        s = window(strength, 60.0)
        days = [agenda_day(s, seed) for seed in range(8)]
        return np.mean([(s.horizon if d is None else d) - VISIT for d in days])  # restricted mean

    assert mean_delay(2.0) > 2.0 * mean_delay(4.0) > 0.0


def test_political_autonomy_gates_coupling():
    """A coalition with little political autonomy couples the streams more
    slowly: the same seeds, the agenda later with autonomy modelled."""

    def days(s):
        return [s.horizon if d is None else d for d in (agenda_day(s, seed) for seed in range(6))]

    free = days(window(4.0, 60.0))
    bound = days(window(4.0, 60.0, autonomy={"enabled": True, "political_start": 0.2}))
    assert max(free) < window(4.0, 60.0).horizon
    assert all(b >= f for b, f in zip(bound, free, strict=True))
    assert np.mean(bound) > np.mean(free) + 20.0


def test_organized_opposition_lowers_a_vote_s_chance():
    s = eager(0.2)
    sim = Simulation(s, 0, autoload=False)
    chamber = Chamber(sim, "japan", s.states[0].legislature)
    bill = chamber.submit("suffrage", "members")
    before = chamber.vote_chance(bill)
    sim.world.stance("japan", "suffrage").opposition = 0.5
    assert chamber.vote_chance(bill) == pytest.approx(0.5 * before)
