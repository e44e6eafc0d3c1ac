"""Mechanisms whose net effect can be negative: counter-mobilization, the
three autonomies and co-optation, costs; and dated onsets."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from helpers import BASE, diet_window, scenario
from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation
from normflow.facts import CountBy
from normflow.processes.counter import CounterMobilization
from normflow.scenario import scenario_from_dict
from normflow.testing import EventRecorder, check_invariants, examples
from normflow.testing.strategies import scenario_dicts

SEEDS = st.integers(0, 2**32 - 1)

#: Opponents strong enough to answer every success.
STRONG_COUNTER = {
    "enabled": True,
    "resolution_trigger": 1.0,
    "counter_resolution_rate": 0.5,
    "withdrawal_rate": 0.5,
    "half_mobilization": 0.1,
}
OPPONENTS = {"state": "japan", "count": 60, "prefix": "opp", "stance": "opponent", "resources": 2.0}


def run(s, seed=0):
    recorder = EventRecorder()
    result = Simulation(s, seed, plugins=[recorder], autoload=False).run()
    return result, recorder.events


def kinds(events, kind):
    return [e for e in events if e.kind == kind]


def contested(counter: dict[str, Any], **processes: Any):
    """Many assemblies ready to pass resolutions, and organized opponents."""
    data = copy.deepcopy(BASE)
    data["local_governments"]["groups"] = [{"state": "japan", "count": 300, "support": 0.5}]
    data["civil_society"]["populations"] = [{"state": "japan", "count": 40}, OPPONENTS]
    data["processes"] = {"counter": counter, **processes}
    return scenario_from_dict(data)


def test_opponents_answer_resolutions_with_counter_resolutions_and_withdrawals():
    _, events = run(contested(STRONG_COUNTER))
    assert kinds(events, "resolution_passed")
    assert kinds(events, "resolution_withdrawn") and kinds(events, "counter_resolution_passed")
    first = min(e.t for e in kinds(events, "resolution_passed"))
    assert min(e.t for e in kinds(events, "counter_resolution_passed")) > first  # a reaction, not an onset


def test_without_declared_opponents_nothing_counter_mobilizes():
    data = copy.deepcopy(BASE)
    data["processes"] = {"counter": STRONG_COUNTER}
    _, events = run(scenario_from_dict(data))
    assert kinds(events, "resolution_passed")
    assert not kinds(events, "resolution_withdrawn") and not kinds(events, "counter_resolution_passed")


def test_switched_off_counter_mobilization_changes_nothing():
    on = Simulation(contested({**STRONG_COUNTER, "enabled": False}), 0, autoload=False).run()
    off = Simulation(contested({}), 0, autoload=False).run()
    assert on.to_dict() == off.to_dict()


def test_a_withdrawn_resolution_counts_once_and_no_longer_stands():
    result, events = run(contested(STRONG_COUNTER))
    passed = {e.local_government for e in kinds(events, "resolution_passed")}
    withdrawn = [e.local_government for e in kinds(events, "resolution_withdrawn")]
    assert withdrawn and len(set(withdrawn)) == len(withdrawn) and set(withdrawn) <= passed
    count = CountBy(count="resolutions", by=result.end, between=(0, 1e9))
    assert (
        count.value(result)
        == len(passed) - len(withdrawn)
        == result.final["issues"]["suffrage"]["resolutions"]
    )


@pytest.mark.parametrize("whole", [False, True])
@pytest.mark.parametrize("odd", ["none", "negative", "nan"])
def test_a_meeting_s_counter_acts_are_those_the_rule_picks_over_all_assemblies(odd, whole):
    """``at_meeting`` applies the rule only to assemblies whose draw is below the
    larger rate * m (no chance exceeds it while support is not negative): the
    same withdrawals and counter-resolutions as the rule applied to every
    assembly as arrays, also when some support is negative or NaN; for the
    state's assemblies (bucheon, in korea, is not one) and for every local
    government at once (the columns read whole)."""
    sim = Simulation(contested(STRONG_COUNTER), 0, autoload=False)
    w, p = sim.world, sim.scenario.processes.counter
    counter = CounterMobilization(sim, 0)
    counter.mobilization.add(0.0, 5.0)
    n = len(w.lg_ids)
    members = np.arange(n) if whole else np.flatnonzero(w.lg_state == counter.state)
    assert whole or len(members) < n
    draw = np.random.default_rng(11)
    for t in range(1, 9):
        support = draw.random(n)
        if odd == "negative":
            support[draw.integers(0, n, 20)] = -0.8
        elif odd == "nan":
            support[draw.integers(0, n, 20)] = np.nan
        w.lg_support[0] = support
        w.lg_resolution_t[0] = np.where(draw.random(n) < 0.5, 0.0, np.nan)
        w.lg_withdrawn_t[0] = np.where(draw.random(n) < 0.2, 0.0, np.nan)
        w.lg_counter_t[0] = np.where(draw.random(n) < 0.2, 0.0, np.nan)
        # the rule over every assembly, from the draws at_meeting is about to make
        m = counter.level(float(t))
        state = counter.rng.bit_generator.state
        luck = counter.rng.random(len(members))
        counter.rng.bit_generator.state = state
        gap = 1.0 - support[members]
        unpassed = np.isnan(w.lg_resolution_t[0][members])
        standing = np.isnan(w.lg_withdrawn_t[0][members]) & ~unpassed
        untouched = unpassed & np.isnan(w.lg_counter_t[0][members])
        expect_w = members[standing & (luck < p.withdrawal_rate * m * gap)]
        expect_c = members[untouched & (luck < p.counter_resolution_rate * m * gap)]
        expect_support = support.copy()
        for lg in [*expect_w, *expect_c]:
            expect_support[lg] = max(expect_support[lg] - p.support_loss, 0.0)
        counter.at_meeting(float(t), members, whole=whole)
        assert len(expect_w) and len(expect_c)
        assert (np.flatnonzero(w.lg_withdrawn_t[0] == t) == expect_w).all()
        assert (np.flatnonzero(w.lg_counter_t[0] == t) == expect_c).all()
        assert np.array_equal(w.lg_support[0], expect_support, equal_nan=True)


def with_opponents(data: dict[str, Any]) -> Any:
    data = copy.deepcopy(data)
    issue = data["issues"][0]
    state = issue["state"]
    data.setdefault("local_governments", {}).setdefault("groups", []).append(
        {"state": state, "count": 40, "prefix": "towns", "support": 0.6}
    )
    data.setdefault("civil_society", {}).setdefault("groups", []).append(
        {"id": "opposition", "state": state, "issue": issue["id"], "stance": "opponent", "resources": 5.0}
    )
    data.setdefault("processes", {})["counter"] = STRONG_COUNTER
    return scenario_from_dict(data)


@examples(ci=12, thorough=300)
@given(scenario_dicts(min_days=365, max_days=4 * 365).map(with_opponents), SEEDS)
def test_counter_mobilization_never_makes_a_resolution_count_negative(s, seed):
    result, events = run(s, seed)
    check_invariants(events, s)
    for issue, info in result.final["issues"].items():
        count = CountBy(count="resolutions", by=result.end, between=(0, 1e9), issue=issue)
        assert info["resolutions"] >= 0 and count.value(result) >= 0
        share = CountBy(count="resolutions", by=result.end, between=(0, 1), share="population", issue=issue)
        assert share.value(result) >= -1e-9
    standing = 0
    for e in events:
        standing += (e.kind == "resolution_passed") - (e.kind == "resolution_withdrawn")
        assert standing >= 0


def agenda_by_coverage(counter: dict[str, Any]):
    """The issue reaches the agenda only once resolutions cover enough of
    the country, in a Diet that sits all year."""
    data = copy.deepcopy(BASE)
    data["scenario"]["end"] = "1999-12-31"
    data["states"][0]["legislature"] = {
        "name": "Diet",
        "ordinary_session": {"month": 1, "day": 2, "days": 360},
        "extraordinary_sessions": [],
    }
    data["local_governments"]["groups"] = [
        {"state": "japan", "count": 300, "support": {"dist": "beta", "mean": 0.35, "concentration": 20}}
    ]
    data["civil_society"]["populations"] = [{"state": "japan", "count": 40}, OPPONENTS]
    data["processes"] = {
        "agenda": {
            "problem_threshold": 0.0,
            "policy_hazard": 1.0,
            "politics_public_weight": 0.0,
            "politics_threshold": 0.25,
            "resolution_rate": 0.2,
        },
        "counter": counter,
    }
    return scenario_from_dict(data)


def test_counter_mobilization_can_make_the_agenda_later():
    """Paired seeds: opponents who answer early resolutions with withdrawals
    and counter-resolutions hold coverage down, and the agenda comes later
    (or not at all) than without them."""
    horizon = agenda_by_coverage({}).horizon
    delays = []
    for seed in range(6):
        with_, _ = run(agenda_by_coverage(STRONG_COUNTER), seed)
        without, _ = run(agenda_by_coverage({}), seed)
        t_with = with_.milestones["agenda_placed"]
        t_without = without.milestones["agenda_placed"]
        assert t_without is not None
        delays.append((horizon if t_with is None else t_with) - t_without)
    assert min(delays) >= 0 and np.mean(delays) > 180


def test_counter_lobbying_lowers_what_the_governing_parties_take_up():
    def taken_up(counter):
        data = copy.deepcopy(BASE)
        data["states"][0]["legislature"] = {"name": "Diet", "government_support": 0.45}
        data["civil_society"]["populations"] = [{"state": "japan", "count": 40}, OPPONENTS]
        data["processes"] = {
            "agenda": {
                "problem_threshold": 0.0,
                "politics_threshold": 0.0,
                "policy_hazard": 1.0,
                "stage_days": 5.0,
                "resubmit_probability": 1.0,
            },
            "counter": counter,
        }
        s = scenario_from_dict(data)
        events = [e for seed in range(5) for e in run(s, seed)[1]]
        return len(kinds(events, "bill_taken_up")), len(kinds(events, "counter_lobbying"))

    base, none = taken_up({})
    lobbied, acts = taken_up({**STRONG_COUNTER, "agenda_trigger": 5.0, "lobbying_rate": 50.0})
    assert none == 0 and acts > 0
    assert lobbied < base


# -- the three autonomies and co-optation -------------------------------------------------


def supported(autonomy: dict[str, Any]):
    return scenario(
        processes={"autonomy": {"enabled": True, **autonomy}, "accountability": {"campaign_rate": 12.0}}
    )


def test_local_support_raises_resources_and_delegated_autonomy_but_lowers_administrative():
    sim = Simulation(supported({"support_rate": 12.0}), 0, autoload=False)
    w = sim.world
    g = w.group_index["residents"]
    resources = w.group_resources[g]
    sim.run()
    root = w.coalition_of(g)
    assert sim.tally["coalition_supported"] > 0
    assert w.group_resources[g] > resources
    assert w.coalition_delegated[root] > 0.1 and w.coalition_administrative[root] < 0.9


def test_a_co_opted_coalition_presses_less():
    def pressure(rate):
        sim = Simulation(supported({"support_rate": rate, "administrative_loss": 0.3}), 0, autoload=False)
        result = sim.run()
        return result.counts.get("pressure_applied", 0), result.counts.get("campaign_softened", 0)

    free, softened_free = pressure(0.0)
    co_opted, softened = pressure(24.0)
    assert softened_free == 0 and softened > 0
    assert co_opted < free


def test_autonomies_stay_in_the_unit_interval():
    sim = Simulation(supported({"support_rate": 50.0, "administrative_loss": 0.9}), 1, autoload=False)
    sim.run()
    w = sim.world
    for a in (w.coalition_delegated, w.coalition_administrative, w.coalition_political):
        assert np.all((a >= 0.0) & (a <= 1.0))


# -- costs ----------------------------------------------------------------------------


def test_a_group_that_overspends_stalls():
    def counts(costs):
        s = scenario(processes={"costs": costs, "accountability": {"campaign_rate": 24.0}})
        return Simulation(s, 0, autoload=False).run().counts

    free = counts({})
    dear = counts({"enabled": True, "campaign_cost": 1.0, "replenish_rate": 0.5})
    assert dear.get("campaign_stalled", 0) > 0 and "campaign_stalled" not in free
    assert dear["pressure_applied"] < free["pressure_applied"]


def test_resolutions_spend_political_capital():
    def resolutions(costs):
        data = copy.deepcopy(BASE)
        data["local_governments"]["groups"] = [{"state": "japan", "count": 300, "support": 0.6}]
        data["processes"] = {"costs": costs}
        return Simulation(scenario_from_dict(data), 0, autoload=False).run().final["issues"]["suffrage"]

    assert resolutions({"enabled": True, "resolution_cost": 2.0})["resolutions"] == 0
    assert resolutions({"enabled": True, "resolution_cost": 0.5})["resolutions"] > 0


# -- dated onsets ----------------------------------------------------------------------


def test_no_resolution_passes_before_the_dated_launch_of_the_campaign():
    launch = {"date": "1992-08-01", "category": "launch", "starts": "resolutions", "issue": "suffrage"}
    _, events = run(scenario(events=[launch]))
    passed = kinds(events, "resolution_passed")
    assert passed and min(e.t for e in passed) >= (1992 - 1990) * 365 + 212
    _, early = run(scenario())
    assert min(e.t for e in kinds(early, "resolution_passed")) < 365


def test_no_campaign_presses_before_its_launch():
    launch = {"date": "1993-01-01", "category": "launch", "starts": "campaigns"}
    _, events = run(scenario(events=[launch]))
    moved = [e for e in kinds(events, "pressure_applied") if e.channel in ("domestic", "local_government")]
    assert moved and min(e.t for e in moved) >= 3 * 365


def test_a_launch_names_what_it_starts():
    from normflow.schema import ScenarioError

    data = copy.deepcopy(BASE)
    data["events"] = [{"date": "1992-08-01", "category": "launch"}]
    try:
        scenario_from_dict(data)
    except ScenarioError as exc:
        assert "events[0].starts" in str(exc)
    else:
        raise AssertionError("a launch without 'starts' was accepted")


# -- organized opposition on the state's stance ---------------------------------------


def test_counter_mobilization_writes_the_state_s_organized_opposition():
    """Opponents' level is the state's ``opposition``, which the politics
    stream, the legislature's votes and a negotiation's ratification read;
    without opponents, or switched off, it stays 0."""

    def opposition(counter):
        sim = Simulation(contested(counter), 0, autoload=False)
        sim.run()
        return sim.world.stance("japan", "suffrage").opposition, sim

    level, sim = opposition(STRONG_COUNTER)
    assert 0.0 < level < 1.0
    off, _ = opposition({**STRONG_COUNTER, "enabled": False})
    assert off == 0.0


def agenda_by_margin(counter: dict[str, Any]):
    """Politics is national support alone; the agenda waits for a window the
    streams open, then for entrepreneurs to couple them (``coupling_days``);
    opponents roused by resolutions weigh on the politics stream."""
    data = diet_window(end="1996-12-31", visit="1992-06-01", threshold=0.7, counter=counter)
    data["states"][0]["public_support"] = 0.6
    data["local_governments"]["groups"] = [{"state": "japan", "count": 300, "support": 0.5}]
    data["civil_society"]["populations"] = [{"state": "japan", "count": 40}, OPPONENTS]
    return scenario_from_dict(data)


def test_organized_opposition_makes_the_agenda_later():
    """Paired seeds: the same window (a 1992 visit), but opponents roused by
    the resolutions narrow the politics stream's margin, so the streams are
    coupled later (or not at all)."""
    horizon = agenda_by_margin({}).horizon
    delays = []
    for seed in range(5):
        with_, events = run(agenda_by_margin(STRONG_COUNTER), seed)
        without, _ = run(agenda_by_margin({}), seed)
        assert kinds(events, "counter_resolution_passed") or kinds(events, "resolution_withdrawn")
        t_with = with_.milestones["agenda_placed"]
        t_without = without.milestones["agenda_placed"]
        assert t_without is not None
        delays.append((horizon if t_with is None else t_with) - t_without)
    assert min(delays) >= 0 and np.mean(delays) > 30


@examples(ci=8, thorough=200)
@given(scenario_dicts(min_days=365, max_days=3 * 365).map(with_opponents), SEEDS)
def test_organized_opposition_stays_in_the_unit_interval(s, seed):
    sim = Simulation(s, seed, autoload=False)
    sim.run()
    for stance in sim.world.stances.values():
        assert 0.0 <= stance.opposition < 1.0


def test_support_binds_the_group_that_takes_it_even_inside_a_large_coalition():
    """Co-optation is local: the member a local government subsidizes loses
    its own administrative autonomy in full (``administrative_loss`` per
    support) and presses more softly, though the coalition as a whole --
    one subsidized member among many -- keeps most of its autonomy."""
    s = scenario(
        processes={
            "autonomy": {"enabled": True, "support_rate": 1.5, "administrative_loss": 0.6},
            "accountability": {"campaign_rate": 12.0},
            "information": {"contact_rate": 24.0},
        }
    )
    p = s.processes.autonomy
    sim = Simulation(s, 0, autoload=False)
    result = sim.run()
    w = sim.world
    supported = np.flatnonzero(w.group_administrative < p.administrative_start)
    assert len(supported) and np.all(w.group_locality[supported] >= 0)  # a local government's support
    # each support took 60% of the group's own autonomy
    steps = np.log(w.group_administrative[supported] / p.administrative_start) / np.log(
        1.0 - p.administrative_loss
    )
    assert np.allclose(steps, np.round(steps)) and steps.min() >= 1
    roots = w.coalition_roots()[supported]
    bound = (w.group_administrative[supported] < p.cooptation_threshold) & (
        w.coalition_administrative[roots] >= p.cooptation_threshold
    )
    assert bound.any() and w.coalition_size[roots[bound]].max() > 10
    assert result.counts.get("campaign_softened", 0) > 0


def with_autonomy(data: dict[str, Any]) -> Any:
    data = copy.deepcopy(data)
    data.setdefault("processes", {})["autonomy"] = {
        "enabled": True,
        "support_rate": 12.0,
        "administrative_loss": 0.5,
    }
    return scenario_from_dict(data)


@examples(ci=8, thorough=200)
@given(scenario_dicts(min_days=365, max_days=3 * 365).map(with_autonomy), SEEDS)
def test_a_group_s_own_administrative_autonomy_only_falls_and_stays_in_the_unit_interval(s, seed):
    sim = Simulation(s, seed, autoload=False)
    start = s.processes.autonomy.administrative_start
    sim.run()
    a = sim.world.group_administrative
    assert np.all((a >= 0.0) & (a <= start + 1e-12))
    assert sim.tally["coalition_supported"] == 0 or a.min() < start


def test_a_plugin_s_act_costs_capital_and_an_unpaid_act_does_not_happen():
    """``sim.spend``: delegations and visits a plugin runs are charged to the
    local government's political capital (or a group's budget) when costs
    are modelled; an act that cannot be paid is refused, and capital comes
    back with time."""
    paying = Simulation(
        scenario(processes={"costs": {"enabled": True, "capital_rate": 1.0}}), 0, autoload=False
    )
    assert paying.spend("kawasaki", 0.6, t=0.0)  # capital starts full (1)
    assert not paying.spend("kawasaki", 0.6, t=0.0)  # 0.4 left: refused, not charged
    assert paying.spend("kawasaki", 0.4, t=0.0)
    assert paying.spend("kawasaki", 0.5, t=0.5 * 365.25)  # half a year regains half
    assert paying.tally["act_unpaid"] == 1
    budget = paying.world.group_budget[paying.world.group_index["residents"]]
    assert paying.spend("residents", budget, t=0.0) and not paying.spend("residents", 0.01, t=0.0)
    free = Simulation(scenario(), 0, autoload=False)
    assert all(free.spend("kawasaki", 0.9, t=0.0) for _ in range(5))
    with pytest.raises(KeyError, match="osaka"):
        paying.spend("osaka", 0.1)


# -- the Kawasaki case ----------------------------------------------------------------------


def test_in_kawasaki_opponents_answer_and_supported_groups_are_co_opted():
    """The case as bundled (counter-mobilization and autonomies on, their
    defaults): each run, to the end of 1999, has counter-resolutions or
    withdrawals, organized opposition on Japan's stance, and groups that took
    local support pressing more softly; switched off, none of it."""
    import datetime as dt

    from normflow.interventions import Interventions
    from normflow.scenario import load_scenario

    s = load_scenario("kawasaki-suffrage")
    until = dt.date(1999, 12, 31)
    for seed in range(2):
        sim = Simulation(s, seed)
        counts = sim.run(until=until).counts
        assert counts["counter_resolution_passed"] + counts["resolution_withdrawn"] > 0
        assert sim.world.stance("japan", "local-suffrage").opposition > 0.0
        assert counts["campaign_softened"] > 0 and counts["coalition_supported"] > 0
        assert np.min(sim.world.group_administrative) < s.processes.autonomy.cooptation_threshold
    off = Simulation(s, 0, interventions=Interventions(off=("counter_mobilization", "autonomy")))
    counts = off.run(until=until).counts
    assert counts.get("counter_resolution_passed", 0) + counts.get("resolution_withdrawn", 0) == 0
    assert counts.get("campaign_softened", 0) == 0
    assert off.world.stance("japan", "local-suffrage").opposition == 0.0


@pytest.mark.parametrize("name", ["kawasaki-suffrage", "minimal", "generic"])
def test_the_shares_of_population_under_resolutions_match_their_definition(name):
    # World.resolution_share and counter_share skip the state's mask where the state
    # holds every local government (kawasaki-suffrage) and use it elsewhere: either way,
    # the population of the state's assemblies passed by t (and, for resolutions, not
    # withdrawn by t), summed as numpy sums the selected populations, over the state's
    from normflow import load_scenario

    w = Simulation(load_scenario(name), 1).world
    rng = np.random.default_rng(7)
    n = len(w.lg_ids)
    for dates in (w.lg_resolution_t, w.lg_withdrawn_t, w.lg_counter_t):
        dates[0] = np.where(rng.random(n) < 0.5, rng.uniform(0, 100, n), np.nan)
    for st_index in range(len(w.states)):
        total = w.state_population[st_index]
        in_state = w.lg_state == st_index
        for t in (0.0, 30.0, 50.5, 100.0):
            passed = in_state & (w.lg_resolution_t[0] <= t) & ~(w.lg_withdrawn_t[0] <= t)
            countered = in_state & (w.lg_counter_t[0] <= t)
            if total <= 0:
                assert w.resolution_share(0, st_index, t) == w.counter_share(0, st_index, t) == 0.0
                continue
            assert w.resolution_share(0, st_index, t) == float(w.lg_population[passed].sum() / total)
            assert w.counter_share(0, st_index, t) == float(w.lg_population[countered].sum() / total)
