"""The four core processes behave as THEORY.md and docs/processes.md say."""

from __future__ import annotations

import datetime as dt

import numpy as np
from helpers import BASE, run, scenario, traced

from normflow import Simulation


def _kinds(lines, kind):
    return [x for x in lines if x["kind"] == kind]


# -- information exchange --------------------------------------------------------


def test_open_local_government_makes_exchange_more_frequent_and_successful():
    def contacts(openness):
        lgs = {
            "named": [{"id": "city", "state": "japan", "population": 100_000, "openness": openness}],
            "groups": [],
        }
        pops = {"populations": [{"state": "japan", "count": 200}], "groups": []}
        s = scenario(
            local_governments=lgs, civil_society=pops, processes={"accountability": {"campaign_rate": 0.0}}
        )
        sim = Simulation(s, 3, autoload=False)
        sim.run()
        return sim.tally["information_exchanged"]

    closed, open_ = contacts(0.0), contacts(1.0)
    # rate is multiplied by (1 + venue_boost * openness) = 2 at openness 1
    assert 1.8 < open_ / closed < 2.2


def test_success_chance_follows_openness(tmp_path):
    lgs = {"named": [{"id": "city", "state": "japan", "population": 100_000, "openness": 0.5}], "groups": []}
    pops = {"populations": [{"state": "japan", "count": 100}], "groups": []}
    s = scenario(
        local_governments=lgs, civil_society=pops, processes={"accountability": {"campaign_rate": 0.0}}
    )
    from normflow import events

    seen = []
    sim = Simulation(s, 5, autoload=False)
    sim.bus.subscribe(events.InformationExchanged, seen.append)
    sim.run()
    share = np.mean([e.success for e in seen])
    expected = 0.3 + 0.7 * 0.5  # p0 + (1 - p0) * openness
    assert abs(share - expected) < 0.03


def test_coalitions_form_only_across_a_border_or_a_nationality_line(tmp_path):
    # all groups Japanese, same nationality: exchange never forms a coalition
    same = {"groups": [], "populations": [{"state": "japan", "count": 60}]}
    result = run(scenario(civil_society=same))
    assert result.counts.get("coalition_formed", 0) == 0
    assert result.final["coalitions"]["count"] == 0
    # Korean residents among Japanese supporters: coalitions form across the nationality line
    mixed = {
        "groups": [],
        "populations": [
            {"state": "japan", "count": 30, "prefix": "jp"},
            {"state": "japan", "count": 30, "prefix": "kr", "nationality": "korea"},
        ],
    }
    result, lines = traced(scenario(civil_society=mixed), tmp_path)
    formed = _kinds(lines, "coalition_formed")
    assert formed and all(x["crossing"] == "nationality" for x in formed)


# -- accountability ----------------------------------------------------------------


def test_closed_state_blocks_domestic_pressure_but_a_supportive_local_government_carries_it(tmp_path):
    lgs = {
        "named": [{"id": "city", "state": "japan", "population": 100_000, "access": 1.0, "support": 0.0}],
        "groups": [],
    }
    groups = {"groups": [{"id": "g", "state": "japan", "locality": "city"}], "populations": []}
    states = [{"id": "japan", "penetrability": 0.0}, {"id": "korea"}]
    procs = {"information": {"lg_share_rate": 0.0}}
    _, lines = traced(
        scenario(states=states, local_governments=lgs, civil_society=groups, processes=procs), tmp_path
    )
    assert _kinds(lines, "access_blocked")
    assert not _kinds(lines, "pressure_applied")
    # the same group, its local government now supporting the issue (>= support_threshold)
    lgs["named"][0]["support"] = 0.9
    _, lines = traced(
        scenario(states=states, local_governments=lgs, civil_society=groups, processes=procs),
        tmp_path,
        name="b.jsonl",
    )
    applied = _kinds(lines, "pressure_applied")
    assert applied and all(x["channel"] == "local_government" for x in applied)
    assert not _kinds(lines, "access_blocked")


def test_reputational_cost_moves_practice_toward_commitment_only_where_they_diverge():
    def final_position(commitment, practice):
        states = [
            {"id": "japan", "penetrability": 1.0, "commitment": commitment, "practice": practice},
            {"id": "korea"},
        ]
        r = run(
            scenario(
                states=states, civil_society={"groups": [], "populations": [{"state": "japan", "count": 40}]}
            )
        )
        return r.final["states"]["japan"]["suffrage"]["position"], r.final["states"]["japan"]["suffrage"][
            "reputational_cost"
        ]

    pos, cost = final_position(0.8, 0.2)
    assert 0.2 < pos <= 0.8 and cost > 0
    pos, cost = final_position(0.2, 0.2)
    assert pos == 0.2 and cost == 0


# -- agenda-setting ----------------------------------------------------------------


def test_no_resolution_without_local_support():
    lgs = {"named": [], "groups": [{"state": "japan", "count": 300, "support": 0.1}]}
    pops = {"groups": [], "populations": [{"state": "japan", "count": 40}]}
    procs = {"information": {"lg_share_rate": 0.0}, "agenda": {"resolution_min_support": 0.3}}
    result = run(scenario(local_governments=lgs, civil_society=pops, processes=procs))
    assert result.final["issues"]["suffrage"]["resolutions"] == 0
    lgs["groups"][0]["support"] = 0.8
    result = run(scenario(local_governments=lgs, civil_society=pops, processes=procs))
    assert result.final["issues"]["suffrage"]["resolutions"] > 0


def test_resolutions_pass_only_at_assembly_meetings(tmp_path):
    _, lines = traced(scenario(processes={"agenda": {"assembly_months": [6]}}), tmp_path)
    resolutions = _kinds(lines, "resolution_passed")
    assert resolutions
    assert {x["date"][5:] for x in resolutions} == {"06-15"}


def _sessions(lines):
    opened = [x["t"] for x in _kinds(lines, "session_opened")]
    closed = [x["t"] for x in _kinds(lines, "session_closed")]
    return list(zip(opened, closed, strict=False))


def _eager_agenda():
    return {
        "accountability": {"salience_bump": 0.5, "national_support_gain": 0.05},
        "agenda": {"problem_threshold": 0.05, "politics_threshold": 0.1, "policy_hazard": 1.0},
    }


def test_agenda_is_placed_only_while_a_session_is_open(tmp_path):
    for seed in range(3):
        _, lines = traced(scenario(processes=_eager_agenda()), tmp_path, seed=seed, name=f"{seed}.jsonl")
        placed = _kinds(lines, "agenda_placed")
        assert placed, "the eager settings should put the issue on the agenda"
        sessions = _sessions(lines)
        for x in placed:
            assert any(a <= x["t"] <= b for a, b in sessions)


def test_diet_calendar_opens_in_january_for_150_days(tmp_path):
    legislature = {"name": "Diet", "extension_probability": 0.0, "extraordinary_sessions": []}
    states = [{"id": "japan", "legislature": legislature}, {"id": "korea"}]
    _, lines = traced(scenario(states=states, civil_society={"groups": [], "populations": []}), tmp_path)
    sessions = _sessions(lines)
    assert len(sessions) == 5  # 1990..1994
    for (a, b), opened in zip(sessions, _kinds(lines, "session_opened"), strict=True):
        assert opened["date"][5:] == "01-20" and b - a == 150


def _bill_scenario(continuation, **agenda):
    procs = _eager_agenda()
    procs["agenda"] = {**procs["agenda"], "stage_days": 400.0, **agenda}
    leg = {"name": "Diet", "government_support": 1.0, "continuation_probability": continuation}
    return scenario(states=[{"id": "japan", "legislature": leg}, {"id": "korea"}], processes=procs)


def test_bills_lapse_at_session_end_unless_deliberation_is_continued(tmp_path):
    _, lines = traced(_bill_scenario(0.0), tmp_path)
    lapsed = _kinds(lines, "bill_lapsed")
    assert lapsed and all(x["reason"] == "session_end" for x in lapsed)
    assert not _kinds(lines, "bill_carried_over")
    closes = {x["t"] for x in _kinds(lines, "session_closed")}
    assert all(x["t"] in closes for x in lapsed)
    _, lines = traced(_bill_scenario(1.0), tmp_path, name="c.jsonl")
    assert _kinds(lines, "bill_carried_over")
    assert not [x for x in _kinds(lines, "bill_lapsed") if x["reason"] == "session_end"]


def test_a_lapsed_bill_never_advances(tmp_path):
    _, lines = traced(_bill_scenario(0.3), tmp_path)
    dead = {}
    for x in lines:
        if x["kind"] in ("bill_lapsed", "bill_rejected"):
            dead[x["bill"]] = x["t"]
        if x["kind"] in ("bill_advanced", "bill_enacted", "bill_carried_over"):
            assert x["bill"] not in dead


def test_bill_passes_committee_and_plenary_of_both_houses_then_policy_changes(tmp_path):
    result, lines = traced(_bill_scenario(1.0, stage_days=10.0), tmp_path)
    enacted = _kinds(lines, "bill_enacted")
    assert enacted
    bill = enacted[0]["bill"]
    stages = [x["stage"] for x in lines if x["kind"] == "bill_advanced" and x["bill"] == bill]
    assert stages == ["lower_committee", "lower_plenary", "upper_committee", "upper_plenary"]
    assert result.milestones["bill_enacted"] is not None
    assert result.milestones["policy_changed:japan"] == result.milestones["bill_enacted"]
    assert result.final["states"]["japan"]["suffrage"]["policy_changed"] is True


def test_dissolution_kills_pending_bills(tmp_path):
    s = _bill_scenario(1.0)
    data_events = [{"date": "1992-03-01", "category": "dissolution", "state": "japan"}]
    import copy

    from normflow.scenario import scenario_from_dict

    raw = copy.deepcopy(BASE)
    raw["states"] = [
        {
            "id": "japan",
            "legislature": {"name": "Diet", "government_support": 1.0, "continuation_probability": 1.0},
        },
        {"id": "korea"},
    ]
    procs = _eager_agenda()
    procs["agenda"]["stage_days"] = 2000.0
    raw["processes"] = procs
    raw["events"] = data_events
    s = scenario_from_dict(raw)
    _, lines = traced(s, tmp_path)
    killed = [x for x in _kinds(lines, "bill_lapsed") if x["reason"] == "dissolution"]
    assert killed and all(x["date"] == "1992-03-01" for x in killed)


# -- interstate negotiation -------------------------------------------------------


def _negotiation_scenario(lg_support):
    lgs = {
        "named": [
            {"id": "city", "state": "japan", "population": 100_000, "access": 0.9, "support": lg_support}
        ],
        "groups": [],
    }
    groups = {
        "groups": [{"id": "g", "state": "japan", "locality": "city", "expertise": 0.9}],
        "populations": [],
    }
    neg = [
        {
            "id": "talks",
            "issue": "suffrage",
            "parties": ["japan", "korea"],
            "opens": "1990-06-01",
            "positions": [0.3, 0.7],
            "win_sets": [0.5, 0.5],
        }
    ]
    procs = {"information": {"lg_share_rate": 0.0}, "negotiation": {"round_rate": 52.0}}
    return scenario(local_governments=lgs, civil_society=groups, negotiations=neg, processes=procs)


def test_expertise_weighs_most_in_prenegotiation_and_fades_in_the_main_phase(tmp_path):
    _, lines = traced(_negotiation_scenario(lg_support=0.0), tmp_path)
    heard = _kinds(lines, "expertise_heard")
    pre = {x["weight"] for x in heard if x["phase"] == "prenegotiation"}
    main = {x["weight"] for x in heard if x["phase"] == "main"}
    assert pre == {0.8} and main == {0.2}


def test_local_government_access_keeps_expertise_heard_in_the_main_phase(tmp_path):
    _, lines = traced(_negotiation_scenario(lg_support=0.9), tmp_path)
    main = [x for x in _kinds(lines, "expertise_heard") if x["phase"] == "main"]
    assert main
    assert all(x["channel"] == "local_government" and abs(x["weight"] - 0.8 * 0.9) < 1e-9 for x in main)


def test_negotiation_phases_come_in_order(tmp_path):
    _, lines = traced(_negotiation_scenario(lg_support=0.9), tmp_path)
    phases = [x["phase"] for x in _kinds(lines, "negotiation_phase_changed")]
    order = ["prenegotiation", "main", "agreement", "ratification"]
    assert phases == order[: len(phases)]
    assert phases[:2] == order[:2]


def test_negotiation_opened_by_request_waits_for_pressure():
    neg = [
        {
            "id": "talks",
            "issue": "suffrage",
            "parties": ["japan", "korea"],
            "requester": "japan",
            "request_threshold": 1e9,
        }
    ]
    result = run(scenario(negotiations=neg))
    assert result.milestones["negotiation_opened:talks"] is None


def test_state_visit_is_foreign_pressure_on_the_target(tmp_path):
    events = [
        {
            "date": "1991-05-01",
            "category": "state_visit",
            "state": "korea",
            "target": "japan",
            "strength": 2.0,
        }
    ]
    _, lines = traced(scenario(events=events), tmp_path)
    visit = [x for x in _kinds(lines, "pressure_applied") if x["channel"] == "interstate"]
    assert len(visit) == 1 and visit[0]["source"] == "korea" and visit[0]["target"] == "japan"
    assert visit[0]["date"] == dt.date(1991, 5, 1).isoformat()


def test_opponents_counter_campaign_lowers_public_support():
    def support(stance):
        pops = {"groups": [], "populations": [{"state": "japan", "count": 80, "stance": stance}]}
        r = run(scenario(civil_society=pops))
        return r.final["states"]["japan"]["suffrage"]["public_support"]

    assert support("opponent") < 0.3 < support("supporter")  # 0.3 is the starting support


def test_coalition_roots_follow_every_merge_and_each_caller_gets_its_own_copy():
    sim = Simulation(scenario(), 1)
    w = sim.world
    n = len(w.group_ids)
    assert n >= 4
    first = w.coalition_roots()
    assert first.tolist() == list(range(n))
    first[:] = 0  # a caller's copy: writing to it changes nothing in the world
    assert w.coalition_roots().tolist() == list(range(n))
    w.merge(0, 1)
    w.merge(2, 3)
    w.merge(1, 3)
    roots = w.coalition_roots()
    assert roots.tolist() == [w.coalition_of(g) for g in range(n)]
    assert len({int(roots[g]) for g in range(4)}) == 1
    assert w.merge(0, 2) is None  # already one coalition: the roots stay
    assert w.coalition_roots().tolist() == roots.tolist()


def test_the_run_tally_counts_like_a_counter_and_survives_pickling():
    import pickle
    from collections import Counter

    from normflow.simulation import Tally

    sim = Simulation(scenario(), 1)
    assert isinstance(sim.tally, Tally) and isinstance(sim.tally, Counter)
    tally = Tally()
    tally["campaign"] += 1
    tally["campaign"] += 2
    tally["blocked"] += 0
    assert tally["never"] == 0 and "never" not in tally
    assert list(tally.items()) == [("campaign", 3), ("blocked", 0)]
    back = pickle.loads(pickle.dumps(tally))
    assert type(back) is Tally and back == tally
    assert tally + Counter(campaign=1) == Counter(campaign=4)
    # a plain dictionary store, not Counter's Python-level slot (see Tally)
    assert Tally.__delitem__ is dict.__delitem__
