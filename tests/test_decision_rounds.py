"""Decision rounds: a state adopts an agreement (and lodges a request for
talks) only in the yearly rounds its scenario declares (docs/processes.md,
"Decision rounds"). Property tests with the testing kit."""

from __future__ import annotations

import datetime as dt

import attrs
from helpers import scenario
from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation
from normflow.processes.negotiation import next_round_day
from normflow.scenario import DecisionRound, load_scenario
from normflow.testing import examples

rounds_st = st.lists(
    st.builds(
        DecisionRound,
        month=st.integers(1, 12),
        day=st.integers(1, 28),
        days=st.integers(0, 120),
        lead_days=st.sampled_from([0, 0, 30, 115, 168]),
        firm_lead_days=st.sampled_from([0, 0, 53]),
    ),
    min_size=1,
    max_size=3,
).map(tuple)


def _eligible(scen, rounds, ready: float, day: float) -> bool:
    """Whether a matter ready on day ``ready`` can be decided on ``day``."""
    for r in rounds:
        for y in range(scen.date_of(day).year - 1, scen.date_of(day).year + 2):
            opens = scen.day_of(dt.date(y, r.month, r.day))
            if r.lead_days == 0 and opens <= day <= opens + r.days and day >= ready:
                return True
            if day == opens and ready <= opens - r.lead_days:
                return True
    return False


@given(rounds=rounds_st, t=st.integers(0, 1500), frac=st.sampled_from([0.0, 0.25, 0.5]))
@examples(ci=60, thorough=1000)
def test_a_matter_is_decided_on_the_first_day_a_round_takes_it(rounds, t, frac):
    scen = scenario()
    ready = t + frac
    day = next_round_day(scen, rounds, ready)
    assert day >= ready
    assert day - ready <= 366 + 364  # within a year and a round's lead
    assert _eligible(scen, rounds, ready, day)
    # no earlier whole day (nor the ready day itself) would do
    earlier = [ready] + [float(d) for d in range(int(ready) + 1, int(day))]
    assert not any(_eligible(scen, rounds, ready, d) for d in earlier if d < day)


@given(t=st.floats(0, 1500))
@examples(ci=20, thorough=200)
def test_no_rounds_decide_any_day(t):
    assert next_round_day(scenario(), (), t) == t


def _talks(rounds=(), switch=True, seed_rounds=None):
    """Japan and Korea agree quickly and always ratify; Japan decides in its rounds."""
    states = [
        {"id": "japan", "public_support": 1.0, "decision_rounds": [attrs.asdict(r) for r in rounds]},
        {"id": "korea", "public_support": 1.0, "request_rounds": seed_rounds or []},
    ]
    spec = {
        "id": "talks",
        "issue": "suffrage",
        "parties": ["korea", "japan"],
        "opens": "1990-03-01",
        "positions": [0.5, 0.45],
        "win_sets": [1.0, 1.0],
    }
    procs = {
        "information": {"lg_share_rate": 0.0},
        "negotiation": {
            "round_rate": 52.0,
            "ratification_base": 1.0,
            "quality_weight": 0.0,
            "ratification_days": 20.0,
            "decision_rounds": switch,
        },
        "stance": {"stage_weight": 0.0},
    }
    return scenario(states=states, negotiations=[spec], processes=procs)


def _adopted(scen, seed):
    r = Simulation(scen, seed, autoload=False).run()
    return r.milestones["agreement_reached:talks"]


@given(rounds=rounds_st, seed=st.integers(0, 2**16))
@examples(ci=15, thorough=200)
def test_an_agreement_is_adopted_only_in_a_round_and_never_sooner(rounds, seed):
    free = _adopted(_talks(), seed)
    bound = _adopted(_talks(rounds), seed)
    assert free is not None  # the talks always close within the run without rounds
    if bound is None:
        # only when no round the agreement could reach lies within the run
        assert next_round_day(_talks(rounds), rounds, free) > _talks().horizon
        return
    assert bound >= free
    assert bound == next_round_day(_talks(rounds), rounds, free)


@given(rounds=rounds_st, seed=st.integers(0, 2**16))
@examples(ci=10, thorough=100)
def test_switched_off_rounds_change_nothing(rounds, seed):
    off = Simulation(_talks(rounds, switch=False), seed, autoload=False).run()
    none = Simulation(_talks(), seed, autoload=False).run()
    assert off.milestones == none.milestones


def test_a_request_is_lodged_in_the_requesters_round():
    # Korea is pressed in April 1990 (above its threshold at once) but lodges
    # requests only from 1 October: the talks open then, not in April
    def scen(request_rounds):
        base = _talks(seed_rounds=request_rounds)
        data = {
            "states": [
                {"id": "japan", "public_support": 1.0},
                {"id": "korea", "public_support": 1.0, "request_rounds": request_rounds},
            ],
            "negotiations": [
                {
                    "id": "talks",
                    "issue": "suffrage",
                    "parties": ["korea", "japan"],
                    "requester": "korea",
                    "request_threshold": 1.0,
                    "positions": [0.5, 0.45],
                    "win_sets": [1.0, 1.0],
                }
            ],
            "events": [
                {
                    "date": "1990-04-02",
                    "category": "pressure",
                    "state": "japan",
                    "target": "korea",
                    "strength": 20,
                }
            ],
        }
        return scenario(processes=attrs.asdict(base.processes), **data)

    free = Simulation(scen([]), 3, autoload=False).run()
    bound = Simulation(scen([{"month": 10, "day": 1}]), 3, autoload=False).run()
    opened_free = free.milestone_date("negotiation_opened:talks")
    opened_bound = bound.milestone_date("negotiation_opened:talks")
    assert opened_free is not None and opened_free < "1990-06-01"
    assert opened_bound == "1990-10-01"


def test_kitakyushu_adopts_only_in_japans_aid_round():
    scen = load_scenario("kitakyushu-dalian")
    (aid_round,) = next(s for s in scen.states if s.id == "japan").decision_rounds
    for seed in range(8):
        day = Simulation(scen, seed).run().milestones["policy_changed:japan"]
        if day is not None:
            date = scen.date_of(day)
            assert (date.month, date.day) == (aid_round.month, aid_round.day)


@given(
    rounds=rounds_st,
    t=st.floats(0, 1500),
    s1=st.floats(0.0, 2.0),
    s2=st.floats(0.0, 2.0),
)
@examples(ci=60, thorough=1000)
def test_a_shorter_lead_never_decides_later(rounds, t, s1, s2):
    # a state that leans toward the norm asks less lead (lead_scale < 1): the
    # same matter is decided on the same day or sooner, never later, and never
    # before it is ready
    scen = scenario()
    short, long = sorted((s1, s2))
    day_short = next_round_day(scen, rounds, t, short)
    day_long = next_round_day(scen, rounds, t, long)
    assert t <= day_short <= day_long
    assert next_round_day(scen, rounds, t, 1.0) == next_round_day(scen, rounds, t)


def test_a_state_leaning_toward_the_norm_takes_a_late_plan_up_sooner():
    # Kitakyushu, its adoption decided in Japan's yearly aid round (lead 168
    # days): Japan leans toward the norm by the 1990s (reputational cost, the
    # spiral's later phases), so with the lead's weight on its disposition a
    # plan agreed after the August deadline can still make that year's round.
    # Same seeds, same draws (keyed by ratifier and attempt): some runs adopt
    # a year sooner, and on average none later
    path = "normflow/scenarios/kitakyushu-dalian.toml"
    # (slow preparation, 150 days on average, so that agreed plans straddle the deadline)
    slow = {"processes.negotiation.ratification_days": 150.0}
    on = load_scenario(path, overrides=slow)
    off = load_scenario(path, overrides={**slow, "processes.stance.lead_weight": 0.0})
    horizon = on.horizon
    a = [Simulation(on, seed).run().milestones["policy_changed:japan"] for seed in range(12)]
    b = [Simulation(off, seed).run().milestones["policy_changed:japan"] for seed in range(12)]
    a = [horizon if x is None else x for x in a]
    b = [horizon if x is None else x for x in b]
    assert sum(x < y for x, y in zip(a, b, strict=True)) >= 1
    assert sum(a) < sum(b)


@given(rounds=rounds_st, t=st.floats(0, 1500), scale=st.floats(0.0, 2.0))
@examples(ci=60, thorough=1000)
def test_no_priority_waives_a_firm_lead(rounds, t, scale):
    # whatever the state's priority (lead_scale), a matter is decided in a
    # round only if it was ready at least firm_lead_days before it opened
    scen = scenario()
    day = next_round_day(scen, rounds, t, scale)
    opening = [r for r in rounds if scen.date_of(day) == dt.date(scen.date_of(day).year, r.month, r.day)]
    if day > t and opening:
        assert any(t <= day - min(r.firm_lead_days, r.lead_days) for r in opening)
    # a firm lead as long as the whole lead leaves nothing to priority
    fixed = tuple(attrs.evolve(r, firm_lead_days=r.lead_days) for r in rounds)
    assert next_round_day(scen, fixed, t, scale) == next_round_day(scen, fixed, t)


@given(t=st.integers(5000, 7000), scale=st.floats(0.0, 2.0))
@examples(ci=60, thorough=1000)
def test_kitakyushus_february_round_is_the_draft_budgets_round_adopted_53_days_later(t, scale):
    # Japan's aid round adopts in February (the record dates this adoption to
    # February 1996) with the deadlines of the draft budget of 24 December
    # (the August requests; a priority's lead never past the draft): the same
    # plans make the same year's budget as a round on 24 December with a lead
    # of 115 days would take, and are adopted 53 days after that day
    scen = load_scenario("kitakyushu-dalian")
    (aid_round,) = next(s for s in scen.states if s.id == "japan").decision_rounds
    assert (aid_round.month, aid_round.day, aid_round.lead_days, aid_round.firm_lead_days) == (2, 15, 168, 53)
    budget = (DecisionRound(month=12, day=24, lead_days=115),)
    draft = next_round_day(scen, budget, float(t), scale)
    adopted = next_round_day(scen, (aid_round,), float(t), scale)
    assert scen.date_of(adopted) == scen.date_of(draft) + dt.timedelta(days=53)
