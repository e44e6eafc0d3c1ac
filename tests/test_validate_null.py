"""validate's null arm, targets as facts, and posterior draws."""

from __future__ import annotations

import datetime as dt

from normflow.paramspec import scenario_data
from normflow.scenario import scenario_from_dict
from normflow.validate import null_arm, validate


def kitakyushu_with(extra_facts):
    data, _, file = scenario_data("kitakyushu-dalian")
    data = {**data, "facts": [*data["facts"], *extra_facts]}
    return scenario_from_dict(data, file=file)


def test_a_fact_that_holds_without_the_campaign_is_uninformative():
    scenario = kitakyushu_with(
        [
            {
                "name": "Beijing does not approach Tokyo before 2001",
                "milestone": "negotiation_opened:dalian-aid",
                "not_before": dt.date(2001, 1, 1),
            },
            {
                "name": "the same, labelled descriptive",
                "milestone": "negotiation_opened:dalian-aid",
                "not_before": dt.date(2001, 1, 1),
                "descriptive": True,
            },
        ]
    )
    report = validate(scenario, 4, seed=2).to_dict()
    facts = {f["name"]: f for f in report["facts"]}
    # without civil society only the state-to-state route opens the talks (in some runs)
    approach = next(f for name, f in facts.items() if name.startswith("Beijing approaches Tokyo"))
    assert approach["null_share"] < approach["share"] and approach["informative"] is True
    never = facts["Beijing does not approach Tokyo before 2001"]
    assert never["null_share"] == 1.0 and never["informative"] is False and not never["descriptive"]
    assert facts["the same, labelled descriptive"]["descriptive"] is True
    # targets are reported with the facts
    kinds = [f["kind"] for f in report["facts"]]
    assert kinds.count("target") == 2 and kinds[-1] == "target"
    assert report["null_arm"].startswith("the campaign switched off")


def test_the_null_arm_has_no_groups_and_keeps_the_rest():
    scenario = kitakyushu_with([])
    null = null_arm(scenario)
    assert not null.civil_society.groups and not null.civil_society.populations and not null.ties
    assert null.local_governments == scenario.local_governments and null.negotiations == scenario.negotiations


def test_without_the_null_arm_nothing_is_judged():
    report = validate(kitakyushu_with([]), 2, seed=2, null=False).to_dict()
    assert all(f["null_share"] is None and f["informative"] is None for f in report["facts"])
