"""The stylized-facts vocabulary: each kind of fact on hand-made run summaries,
and the errors a bad fact gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from helpers import BASE, scenario

from normflow.facts import (
    CountBy,
    HappensBefore,
    MilestoneBetween,
    NotBefore,
    SoonerWithout,
    check_milestones,
    fact_name,
    parse_fact,
    parse_facts,
    without_partnership,
)
from normflow.scenario import loads_scenario
from normflow.schema import ScenarioError
from normflow.simulation import RunResult
from normflow.validate import wilson

START = dt.date(1990, 1, 1)


def day(date: str) -> float:
    return float((dt.date.fromisoformat(date) - START).days)


def result(
    milestones: dict[str, float | None] | None = None,
    event_times: dict[str, list[float]] | None = None,
    issues: dict[str, Any] | None = None,
) -> RunResult:
    return RunResult(
        scenario="hand-made",
        seed=0,
        start=START,
        end=dt.date(2004, 12, 31),
        milestones=milestones or {},
        final={"states": {}, "issues": issues or {}},
        counts={},
        metrics={},
        event_times=event_times or {},
        plugins={},
    )


def fact(**data: Any):
    return parse_fact(data, "facts[0]")


# -- milestone between two dates -------------------------------------------------


def test_between_holds_when_the_milestone_falls_inside_the_window():
    f = fact(milestone="agenda_placed", between=[dt.date(1997, 1, 1), dt.date(1999, 12, 31)])
    assert isinstance(f, MilestoneBetween)
    assert f.holds(result({"agenda_placed": day("1998-10-09")}))


def test_between_counts_both_ends_as_inside():
    f = fact(milestone="agenda_placed", between=[dt.date(1997, 1, 1), dt.date(1999, 12, 31)])
    assert f.holds(result({"agenda_placed": day("1997-01-01")}))
    assert f.holds(result({"agenda_placed": day("1999-12-31") + 0.99}))


def test_between_fails_outside_the_window_or_when_never_reached():
    f = fact(milestone="agenda_placed", between=[dt.date(1997, 1, 1), dt.date(1999, 12, 31)])
    assert not f.holds(result({"agenda_placed": day("1996-12-31")}))
    assert not f.holds(result({"agenda_placed": day("2000-01-01")}))
    assert not f.holds(result({"agenda_placed": None}))


# -- not before ---------------------------------------------------------------------


def test_not_before_holds_when_never_reached_or_reached_on_or_after_the_date():
    f = fact(milestone="bill_enacted", not_before=dt.date(2005, 1, 1))
    assert isinstance(f, NotBefore)
    assert f.holds(result({"bill_enacted": None}))
    assert f.holds(result({}))
    assert fact(milestone="bill_enacted", not_before=dt.date(2003, 1, 1)).holds(
        result({"bill_enacted": day("2003-01-01")})
    )


def test_not_before_fails_when_reached_earlier():
    f = fact(milestone="bill_enacted", not_before=dt.date(2005, 1, 1))
    assert not f.holds(result({"bill_enacted": day("2004-06-30")}))


# -- happens before -------------------------------------------------------------------


def test_before_holds_when_the_first_comes_strictly_earlier_or_the_second_never():
    f = fact(milestone="first_resolution", before="agenda_placed")
    assert isinstance(f, HappensBefore)
    assert f.holds(result({"first_resolution": 10.0, "agenda_placed": 20.0}))
    assert f.holds(result({"first_resolution": 10.0, "agenda_placed": None}))


def test_before_fails_when_reversed_simultaneous_or_the_first_never_happens():
    f = fact(milestone="first_resolution", before="agenda_placed")
    assert not f.holds(result({"first_resolution": 30.0, "agenda_placed": 20.0}))
    assert not f.holds(result({"first_resolution": 20.0, "agenda_placed": 20.0}))
    assert not f.holds(result({"first_resolution": None, "agenda_placed": 20.0}))


def test_a_trailing_star_stands_for_the_earliest_matching_milestone():
    f = fact(milestone="channel_used:local_diplomacy:niigata*", before="negotiation_opened:route")
    ms = {
        "channel_used:local_diplomacy:niigata-city>harbin": 300.0,
        "channel_used:local_diplomacy:niigata-pref>heilongjiang": 100.0,
        "channel_used:local_diplomacy:harbin>niigata-city": 1.0,
        "negotiation_opened:route": 200.0,
    }
    assert f.holds(result(ms))
    ms["channel_used:local_diplomacy:niigata-pref>heilongjiang"] = None
    assert not f.holds(result(ms))


# -- counts by a date ------------------------------------------------------------------

RESOLUTIONS = {
    "resolution_passed": [day("1995-03-15"), day("2001-12-31"), day("2002-01-01")],
    "resolution_population": [600_000.0, 200_000.0, 100_000.0],
}
ISSUES = {"suffrage": {"local_governments": 4, "population": 1_000_000.0}}


def test_count_includes_events_up_to_the_end_of_the_day():
    f = fact(count="resolutions", by=dt.date(2001, 12, 31), between=[2, 2])
    assert isinstance(f, CountBy)
    assert f.value(result(event_times=RESOLUTIONS, issues=ISSUES)) == 2
    assert f.holds(result(event_times=RESOLUTIONS, issues=ISSUES))
    assert not fact(count="resolutions", by=dt.date(2001, 12, 30), between=[2, 2]).holds(
        result(event_times=RESOLUTIONS, issues=ISSUES)
    )


def test_count_as_share_of_local_governments():
    f = fact(count="resolutions", by=dt.date(2001, 12, 31), share="local_governments", between=[0.4, 0.6])
    assert f.value(result(event_times=RESOLUTIONS, issues=ISSUES)) == pytest.approx(0.5)
    assert f.holds(result(event_times=RESOLUTIONS, issues=ISSUES))
    assert not fact(
        count="resolutions", by=dt.date(1999, 1, 1), share="local_governments", between=[0.4, 0.6]
    ).holds(result(event_times=RESOLUTIONS, issues=ISSUES))


def test_count_as_share_of_population_covered():
    f = fact(count="resolutions", by=dt.date(2001, 12, 31), share="population", between=[0.75, 0.85])
    assert f.value(result(event_times=RESOLUTIONS, issues=ISSUES)) == pytest.approx(0.8)
    assert f.holds(result(event_times=RESOLUTIONS, issues=ISSUES))
    assert not fact(
        count="resolutions", by=dt.date(2001, 12, 31), share="population", between=[0.9, 1]
    ).holds(result(event_times=RESOLUTIONS, issues=ISSUES))


def test_count_of_a_series_that_never_happened_is_zero():
    f = fact(count="bills_lapsed", by=dt.date(2004, 12, 31), between=[0, 0])
    assert f.holds(result())


# -- the paired counterfactual ------------------------------------------------------------


def test_sooner_without_compares_the_same_replication_with_and_without_the_partnership():
    f = fact(milestone="negotiation_main:route", sooner_than_without={"partnership": ["a", "b"]})
    assert isinstance(f, SoonerWithout)
    assert f.holds_pair(result({"negotiation_main:route": 100.0}), result({"negotiation_main:route": 400.0}))
    assert f.holds_pair(result({"negotiation_main:route": 100.0}), result({"negotiation_main:route": None}))
    assert not f.holds_pair(
        result({"negotiation_main:route": 400.0}), result({"negotiation_main:route": 400.0})
    )
    assert not f.holds_pair(
        result({"negotiation_main:route": None}), result({"negotiation_main:route": None})
    )
    assert (
        f.gain(result({"negotiation_main:route": 100.0}), result({"negotiation_main:route": 400.0})) == 300.0
    )


def test_without_partnership_cuts_the_link_both_ways_and_nothing_else():
    s = scenario()
    cut = without_partnership(s, "bucheon", "kawasaki")
    named = {x.id: x for x in cut.local_governments.named}
    assert named["kawasaki"].partners == ()
    assert s.local_governments.named[0].partners == ("bucheon",)
    assert cut.states == s.states and cut.civil_society == s.civil_society


# -- names -------------------------------------------------------------------------------


def test_a_fact_without_a_name_gets_a_sentence():
    f = fact(milestone="bill_enacted", not_before=dt.date(2005, 1, 1))
    assert fact_name(f) == "bill_enacted not before 2005-01-01"
    assert fact_name(fact(milestone="x", before="y", name="called so")) == "called so"


# -- bad fact specs ------------------------------------------------------------------------


def bad(data: Any, scen_changes: dict[str, Any] | None = None) -> ScenarioError:
    facts = [{"milestone": "agenda_placed", "not_before": dt.date(1991, 1, 1)}] * 2 + [data]
    with pytest.raises(ScenarioError) as info:
        scenario(facts=facts, **(scen_changes or {}))
    return info.value


def test_between_with_three_dates_names_the_field_path():
    err = bad({"milestone": "agenda_placed", "between": [dt.date(1991, 1, 1)] * 3})
    assert err.path == "facts[2].between"
    assert "two values" in err.expected


def test_reversed_window_is_refused():
    err = bad({"milestone": "agenda_placed", "between": [dt.date(1993, 1, 1), dt.date(1991, 1, 1)]})
    assert err.path == "facts[2].between" and "low <= high" in err.expected


def test_a_date_that_is_not_a_date_names_the_element():
    err = bad({"milestone": "agenda_placed", "between": [dt.date(1991, 1, 1), "soon"]})
    assert err.path == "facts[2].between[1]"


def test_a_table_of_no_known_kind_lists_the_vocabulary():
    err = bad({"milestone": "agenda_placed", "after": dt.date(1991, 1, 1)})
    assert err.path == "facts[2]"
    assert "not_before" in err.expected and "between" in err.expected


def test_a_misspelt_key_is_named_with_a_suggestion():
    err = bad({"milestone": "agenda_placed", "not_before": dt.date(1991, 1, 1), "nmae": "x"})
    assert err.path == "facts[2].nmae" and "did you mean 'name'" in err.expected


def test_an_unknown_count_lists_the_countable_series():
    err = bad({"count": "petitions", "by": dt.date(1993, 1, 1), "between": [0, 5]})
    assert err.path == "facts[2].count" and "resolutions" in err.expected


def test_population_share_only_for_resolutions():
    err = bad({"count": "bills_lapsed", "by": dt.date(1993, 1, 1), "between": [0, 1], "share": "population"})
    assert err.path == "facts[2].share"


def test_a_share_above_one_is_refused():
    err = bad(
        {"count": "resolutions", "by": dt.date(1993, 1, 1), "between": [0, 50], "share": "local_governments"}
    )
    assert err.path == "facts[2].between" and "between 0 and 1" in err.expected


def test_a_count_date_outside_the_run_is_refused():
    err = bad({"count": "resolutions", "by": dt.date(2010, 1, 1), "between": [0, 5]})
    assert err.path == "facts[2].by"


def test_a_partnership_that_does_not_exist_is_refused():
    err = bad({"milestone": "agenda_placed", "sooner_than_without": {"partnership": ["kawasaki", "osaka"]}})
    assert err.path == "facts[2].sooner_than_without.partnership" and "osaka" in repr(err.value)
    local = BASE["local_governments"]
    named = [dict(local["named"][0], partners=[]), local["named"][1]]
    err = bad(
        {"milestone": "agenda_placed", "sooner_than_without": {"partnership": ["kawasaki", "bucheon"]}},
        {"local_governments": {"named": named, "groups": local["groups"]}},
    )
    assert "declared as partners" in err.expected


def test_the_error_from_a_file_names_the_file():
    text = """
[scenario]
name = "x"
start = 1990-01-01
end = 1991-01-01
[[states]]
id = "a"
[[issues]]
id = "i"
state = "a"
[[facts]]
milestone = "agenda_placed"
between = [1990-01-01]
"""
    with pytest.raises(ScenarioError) as info:
        loads_scenario(text, file="case.toml")
    assert info.value.message.startswith("case.toml: facts[0].between:")


def test_facts_must_be_a_list_of_tables():
    with pytest.raises(ScenarioError) as info:
        parse_facts({"milestone": "x"})
    assert info.value.path == "facts"
    with pytest.raises(ScenarioError) as info:
        parse_facts(["agenda_placed"])
    assert info.value.path == "facts[0]"


def test_an_undeclared_milestone_is_named_with_the_known_ones():
    facts = parse_facts([{"milestone": "agenda_placed", "before": "bill_passed"}])
    with pytest.raises(ScenarioError) as info:
        check_milestones(facts, {"agenda_placed": None, "bill_enacted": None})
    assert info.value.path == "facts[0].before" and "bill_enacted" in info.value.expected
    patterns = parse_facts([{"milestone": "channel_used:*", "not_before": dt.date(1991, 1, 1)}])
    with pytest.raises(ScenarioError):
        check_milestones(patterns, {"agenda_placed": None})
    check_milestones(patterns, {"channel_used:local_diplomacy:a>b": None})


# -- the interval -------------------------------------------------------------------------


def test_wilson_interval_matches_the_textbook_values():
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
