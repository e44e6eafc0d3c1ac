"""A dated ``coalition`` event: a party joins the governing coalition and its
support for the issue enters the governing parties' by its share of the
seats (processes/agenda.py ``Chamber.join_coalition``); part of the elections
mechanism, so a knockout of elections removes it."""

from __future__ import annotations

import copy

import pytest
from helpers import BASE
from hypothesis import given
from hypothesis import strategies as st

from normflow import ScenarioError, Simulation
from normflow.interventions import Interventions
from normflow.scenario import scenario_from_dict
from normflow.testing import examples

UNIT = st.floats(0.0, 1.0)


def with_coalition(support: float, level: float, share: float, **event) -> dict:
    data = copy.deepcopy(BASE)
    data["scenario"]["end"] = "1991-12-31"
    data["states"][0]["legislature"] = {"name": "Diet", "government_support": support}
    data["events"] = [
        {
            "date": "1991-03-01",
            "category": "coalition",
            "state": "japan",
            "issue": "suffrage",
            "level": level,
            "share": share,
            **event,
        }
    ]
    return data


def support_after(data: dict, off: tuple[str, ...] = ()) -> float:
    sim = Simulation(scenario_from_dict(data), 0, autoload=False, interventions=Interventions(off=off))
    sim.run()
    return sim.chamber("japan").support["suffrage"]


@examples(ci=15, thorough=300)
@given(UNIT, UNIT, st.floats(0.01, 1.0))
def test_a_partner_moves_support_toward_its_own_by_its_share_and_never_past_it(support, level, share):
    after = support_after(with_coalition(support, level, share))
    assert after == pytest.approx((1.0 - share) * support + share * level, abs=1e-12)
    assert 0.0 <= after <= 1.0
    assert min(support, level) - 1e-12 <= after <= max(support, level) + 1e-12
    assert abs(after - level) <= abs(support - level) + 1e-12


@examples(ci=10, thorough=200)
@given(UNIT, UNIT, st.floats(0.01, 1.0))
def test_with_elections_switched_off_the_coalition_never_changes(support, level, share):
    assert support_after(with_coalition(support, level, share), off=("elections",)) == support


def test_a_partner_that_backs_the_issue_gets_more_bills_taken_up():
    """Agenda control reads the coalition's support: the same seeds, more
    members' bills reach committee once a supportive partner has joined."""

    def taken_up(level: float) -> int:
        data = with_coalition(0.05, level, 0.5)
        data["scenario"]["end"] = "1993-12-31"
        data["states"][0]["legislature"].update(continuation_probability=1.0)
        data["processes"] = {
            "agenda": {
                "problem_threshold": 0.0,
                "politics_threshold": 0.0,
                "policy_hazard": 1.0,
                "stage_days": 5.0,
                "resubmit_probability": 1.0,
            }
        }
        total = 0
        for seed in range(4):
            result = Simulation(scenario_from_dict(data), seed, autoload=False).run()
            total += result.counts.get("bill_taken_up", 0)
        return total

    assert taken_up(0.05) < taken_up(1.0)


@pytest.mark.parametrize(
    ("change", "where"),
    [({"share": 0.0}, "events[0].share"), ({"state": "korea"}, "events[0].state")],
)
def test_a_coalition_needs_a_share_and_a_state_with_a_legislature(change, where):
    data = with_coalition(0.1, 0.9, 0.2)
    data["events"][0].update(change)
    with pytest.raises(ScenarioError, match=where.replace("[", r"\[").replace("]", r"\]")):
        scenario_from_dict(data)
