"""Negotiation as a two-level game, deal quality, a state's disposition, and
central backlash: property tests with the testing kit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import scenario
from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation, events
from normflow.interventions import Interventions
from normflow.processes.stance import disposition_of
from normflow.scenario import StanceParams
from normflow.testing import EventRecorder, check_invariants, examples
from normflow.world import Decaying, StateStance

unit = st.floats(0.0, 1.0)


def _talks(positions=(0.3, 0.7), win_sets=(0.5, 0.5), optimum=None, power=(), expertise=0.9, **neg):
    lgs = {
        "named": [{"id": "city", "state": "japan", "population": 100_000, "access": 0.9, "support": 0.0}],
        "groups": [],
    }
    groups = {
        "groups": [{"id": "g", "state": "japan", "locality": "city", "expertise": expertise}],
        "populations": [],
    }
    spec = {
        "id": "talks",
        "issue": "suffrage",
        "parties": ["japan", "korea"],
        "opens": "1990-02-01",
        "positions": list(positions),
        "win_sets": list(win_sets),
        "power": list(power),
    }
    if optimum is not None:
        spec["optimum"] = optimum
    procs = {"information": {"lg_share_rate": 0.0}, "negotiation": {"round_rate": 52.0, **neg}}
    return scenario(local_governments=lgs, civil_society=groups, negotiations=[spec], processes=procs)


def _run(scen, seed=1, opposition=None, **kwargs):
    rec = EventRecorder()
    sim = Simulation(scen, seed, plugins=[rec], autoload=False, **kwargs)
    if opposition is not None:
        for state, level in opposition.items():
            sim.world.stance(state, "suffrage").opposition = level
    result = sim.run()
    return result, rec


@given(
    positions=st.tuples(unit, unit),
    win=st.floats(0.0, 1.0),
    support=unit,
    seed=st.integers(0, 2**16),
)
@examples(ci=15, thorough=300)
def test_an_agreement_outside_a_ratifiers_acceptable_set_never_ratifies(positions, win, support, seed):
    # Korea's ratifiers are wholly opposed: their acceptable set is a point
    # (no pressure on Korea widens it), so no deal can be ratified
    scen = _talks(positions=positions, win_sets=(win, win), max_renegotiations=2)
    scen = scenario_with_support(scen, support)
    result, rec = _run(scen, seed=seed, opposition={"korea": 1.0})
    assert result.milestones["agreement_reached:talks"] is None
    assert not rec.of(events.AgreementReached)
    for failed in rec.of(events.AgreementFailed):
        assert failed.reason == "stalled" or failed.reason.startswith(("outside_win_set:", "ratification:"))
    assert len(rec.of(events.AgreementRenegotiated)) <= 2
    check_invariants(rec.lines(), scen)


def scenario_with_support(scen, support):
    import attrs

    states = tuple(attrs.evolve(s, public_support=support) for s in scen.states)
    return attrs.evolve(scen, states=states)


@given(
    positions=st.tuples(unit, unit),
    power=st.tuples(st.floats(0.1, 10.0), st.floats(0.1, 10.0)),
    expertise=unit,
    seed=st.integers(0, 2**16),
)
@examples(ci=15, thorough=300)
def test_deal_and_its_quality_stay_in_bounds(positions, power, expertise, seed):
    scen = _talks(positions=positions, power=power, expertise=expertise, win_sets=(1.0, 1.0))
    result, rec = _run(scen, seed=seed)
    if "deal_quality.talks" in result.metrics:
        assert 0.0 <= result.metrics["deal.talks"] <= 1.0
        assert 0.0 <= result.metrics["deal_quality.talks"] <= 1.0
    for changed in rec.of(events.PolicyChanged):
        assert 0.0 <= changed.position <= 1.0
    check_invariants(rec.lines(), scen)


def _mean_distance(expertise, optimum=0.9, seeds=range(8)):
    out = []
    for seed in seeds:
        scen = _talks(
            positions=(0.2, 0.4),
            win_sets=(1.0, 1.0),
            expertise=expertise,
            optimum=optimum,
            expertise_weight_main=0.8,
        )
        result, _ = _run(scen, seed=seed)
        if "deal.talks" in result.metrics:
            out.append(abs(result.metrics["deal.talks"] - optimum))
    assert out, "no deal was struck"
    return float(np.mean(out))


def test_expertise_moves_the_deal_toward_the_technical_optimum():
    # the optimum lies outside both positions: only expertise can move the deal there
    assert _mean_distance(expertise=0.95) < _mean_distance(expertise=0.05) - 0.05


def test_interests_pull_the_deal_toward_the_stronger_side():
    def deal(power):
        scen = _talks(positions=(0.2, 0.8), power=power, win_sets=(1.0, 1.0), expertise=0.9, optimum=0.5)
        values = [_run(scen, seed=s)[0].metrics.get("deal.talks") for s in range(5)]
        return float(np.mean([v for v in values if v is not None]))

    assert deal((10.0, 1.0)) < 0.4 < 0.6 < deal((1.0, 10.0))


def test_a_ratifier_that_sends_the_deal_back_reopens_the_main_phase():
    # Korea's acceptable set is narrow around its position; Japan is stronger, so the
    # first deal lands outside it; the talks resume and respect it the second time
    scen = _talks(
        positions=(0.2, 0.8),
        win_sets=(1.0, 0.15),
        power=(5.0, 1.0),
        expertise=0.9,
        renegotiation_probability=1.0,
        ratification_base=1.0,
        quality_weight=0.0,
    )
    scen = scenario_with_support(scen, 1.0)  # every deal inside a set is ratified
    reopened = 0
    for seed in range(5):
        result, rec = _run(scen, seed=seed)
        check_invariants(rec.lines(), scen)
        sent = rec.of(events.AgreementRenegotiated)
        reopened += len(sent)
        if result.milestones["agreement_reached:talks"] is not None and sent:
            # the deal Korea's ratifiers accepted lies in their set: around Korea's ideal
            # (0.8), half-width 0.15 * (0.5 + public support 1), plus at most 0.1 for pressure
            assert abs(result.metrics["deal.talks"] - 0.8) <= 0.15 * 1.5 + 0.1 + 1e-9
    assert reopened > 0


# -- disposition ----------------------------------------------------------------------


def _stance(reputation, phase):
    stance = StateStance(
        state="s",
        issue="i",
        commitment=0.5,
        position=0.2,
        public_support=0.5,
        salience=Decaying(180.0),
        pressure=Decaying(365.0),
        foreign_pressure=Decaying(365.0),
        reputation=Decaying(365.0),
        norm_phase=phase,
    )
    stance.reputation.add(0.0, reputation)
    return stance


@given(r1=st.floats(0, 100), r2=st.floats(0, 100), phase=st.one_of(st.none(), unit))
@examples(ci=50, thorough=1000)
def test_disposition_is_bounded_and_rises_with_reputational_cost(r1, r2, phase):
    params = StanceParams()
    d1, d2 = disposition_of(_stance(r1, phase), params, 0.0), disposition_of(_stance(r2, phase), params, 0.0)
    assert -1.0 <= d1 <= 1.0 and -1.0 <= d2 <= 1.0
    if r1 <= r2:
        assert d1 <= d2 + 1e-12


@given(p1=unit, p2=unit)
@examples(ci=50, thorough=1000)
def test_disposition_rises_with_the_norm_phase(p1, p2):
    params = StanceParams()
    lo, hi = sorted((p1, p2))
    assert disposition_of(_stance(0.0, lo), params, 0.0) <= disposition_of(_stance(0.0, hi), params, 0.0)
    # no phase machine is neutral: between repression and rule-consistency
    none = disposition_of(_stance(0.0, None), params, 0.0)
    assert (
        disposition_of(_stance(0.0, 0.0), params, 0.0) < none < disposition_of(_stance(0.0, 1.0), params, 0.0)
    )


def test_reputational_cost_moves_a_negotiating_position_toward_the_norm():
    # Japan's stated commitment far above its practice, and pressure on it: its
    # recent reputational cost shifts its ideal point, so the deal lands higher
    def deals(weight):
        out = []
        for seed in range(4):
            scen = _talks(positions=(0.2, 0.8), win_sets=(1.0, 1.0), expertise=0.9, optimum=0.5)
            import attrs

            stance = attrs.evolve(scen.processes.stance, position_weight=weight, reputation_weight=1.0)
            scen = attrs.evolve(scen, processes=attrs.evolve(scen.processes, stance=stance))
            sim = Simulation(scen, seed, autoload=False)
            japan = sim.world.stance("japan", "suffrage")
            japan.reputation.add(0.0, 50.0)
            japan.reputation.half_life = 1e9  # keep it for the whole run
            result = sim.run()
            out.append(result.metrics.get("deal.talks"))
        return float(np.mean([x for x in out if x is not None]))

    assert deals(0.5) > deals(0.0) + 0.05


# -- central backlash -------------------------------------------------------------------


def _backlash_scenario(penetrability, commitment, **params):
    lgs = {
        "named": [
            {
                "id": "city",
                "state": "japan",
                "population": 100_000,
                "access": 0.9,
                "support": 0.9,
                "partners": ["abroad"],
            },
            {"id": "abroad", "state": "korea", "population": 100_000, "access": 0.8, "support": 0.9},
        ],
        "groups": [],
    }
    states = [
        {"id": "japan", "penetrability": penetrability, "commitment": commitment},
        {"id": "korea", "penetrability": penetrability, "commitment": commitment},
    ]
    groups = {
        "groups": [{"id": "g", "state": "japan", "locality": "city", "expertise": 0.9, "resources": 2.0}],
        "populations": [],
    }
    # no information sharing: the assemblies' support stays where it starts (0.9)
    procs = {"backlash": {"enabled": True, "rate": 5.0, **params}, "information": {"lg_share_rate": 0.0}}
    return scenario(states=states, local_governments=lgs, civil_society=groups, processes=procs)


class _Diplomacy:
    """A stand-in for a local-diplomacy plugin: the city's channel is used monthly."""

    normflow_plugin_name = "test_channel"

    def __init__(self):
        self.access_seen = []

    from normflow.hookspecs import hookimpl

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def run():
            while sim.env.now + 30 <= sim.horizon:
                yield sim.env.timeout(30)
                self.access_seen.append(float(sim.world.lg_access[sim.world.lg_index["city"]]))
                sim.bus.publish(
                    events.ChannelUsed(
                        t=sim.env.now,
                        channel="x",
                        path=("city", "abroad", "korea"),
                        issue="suffrage",
                        amount=1.0,
                    )
                )

        register("channel", run)


@given(penetrability=unit, commitment=unit, seed=st.integers(0, 2**16))
@examples(ci=15, thorough=200)
def test_backlash_only_curbs_activity_ahead_of_the_stated_policy(penetrability, commitment, seed):
    scen = _backlash_scenario(penetrability, commitment)
    rec, channel = EventRecorder(events.CentralBacklash), _Diplomacy()
    Simulation(scen, seed, plugins=[rec, channel], autoload=False).run()
    curbs = rec.of(events.CentralBacklash)
    if commitment >= 0.9 or penetrability >= 1.0:
        assert not curbs  # no gap, or an open state: nothing to curb
    assert all(0.0 <= a <= 0.9 for a in channel.access_seen)
    assert all(c.local_government in ("city", "abroad") for c in curbs)


def test_a_closed_centralized_state_curbs_and_a_closed_channel_reopens():
    scen = _backlash_scenario(0.0, 0.0, actions=[0.0, 1.0, 0.0], closure_days=200.0)
    rec, channel = EventRecorder(events.CentralBacklash), _Diplomacy()
    result = Simulation(scen, 3, plugins=[rec, channel], autoload=False).run()
    assert rec.of(events.CentralBacklash)
    assert {c.action for c in rec.of(events.CentralBacklash)} == {"channel_closed"}
    assert 0.0 in channel.access_seen and result.counts.get("backlash_channel_reopened", 0) > 0
    # after reopening, the city has its access back
    assert 0.9 in channel.access_seen[channel.access_seen.index(0.0) :]


def test_backlash_delays_what_the_channel_carries():
    # a curb withdraws the access that carries pressure: fewer pressure events pass
    def pressure(enabled):
        scen = _backlash_scenario(0.0, 0.0, actions=[1.0, 0.0, 0.0], access_cut=1.0)
        if not enabled:
            scen = _backlash_scenario(0.0, 0.0, enabled=False)
        rec = EventRecorder(events.PressureApplied)
        Simulation(scen, 2, plugins=[rec, _Diplomacy()], autoload=False).run()
        return len([e for e in rec.of(events.PressureApplied) if e.channel == "local_government"])

    assert pressure(True) < pressure(False)


# -- knockout switches and named random streams ------------------------------------------


def test_switching_one_process_off_never_reshuffles_another_process_draws():
    # campaigns draw their times from their own stream: with information exchange
    # switched off their times stay the same (their force changes, not their clock)
    scen = scenario()

    def campaign_times(off):
        rec = EventRecorder(events.PublicSupportChanged)
        Simulation(scen, 5, plugins=[rec], autoload=False, interventions=Interventions(off=off)).run()
        return [e.t for e in rec.of(events.PublicSupportChanged)]

    base = campaign_times(())
    assert base
    assert campaign_times(("information",)) == base
    assert campaign_times(("top_down",)) == base

    # and the legislature's calendar is its own stream too
    def sessions(off):
        rec = EventRecorder(events.SessionOpened)
        Simulation(scen, 5, plugins=[rec], autoload=False, interventions=Interventions(off=off)).run()
        return [e.t for e in rec.of(events.SessionOpened)]

    assert sessions(("information",)) == sessions(("downward",)) == sessions(())


def test_a_switched_off_process_does_nothing():
    scen = scenario()
    rec = EventRecorder(events.InformationExchanged, events.PressureApplied)
    Simulation(
        scen, 5, plugins=[rec], autoload=False, interventions=Interventions(off=("information", "top_down"))
    ).run()
    assert not rec.of(events.InformationExchanged)
    assert not [e for e in rec.of(events.PressureApplied) if e.channel in ("domestic", "local_government")]


def test_an_unknown_process_name_is_refused():
    with pytest.raises(ValueError, match="off: got 'nope'"):
        Interventions(off=("nope",))


KNOCKOUT_TOML = """
[scenario]
name = "small"
start = 1990-01-01
end = 1993-12-31

[[states]]
id = "japan"
legislature = { name = "Diet" }

[[states]]
id = "korea"

[[issues]]
id = "suffrage"
state = "japan"

[[local_governments.named]]
id = "city"
state = "japan"
support = 0.6

[[civil_society.groups]]
id = "g"
state = "japan"
locality = "city"

[[negotiations]]
id = "talks"
issue = "suffrage"
parties = ["japan", "korea"]
opens = 1991-01-01
"""


def test_knockout_study_shape_and_inertness(tmp_path):
    from normflow.knockout import run_knockout

    path = tmp_path / "small.toml"
    path.write_text(KNOCKOUT_TOML, encoding="utf-8")
    out = run_knockout(str(path), runs=3, seed=1)
    assert out["scenario"] == "small" and out["runs"] == 3
    names = [m["name"] for m in out["mechanisms"]]
    assert "information" in names and "negotiation" in names and "backlash" not in names
    for m in out["mechanisms"]:
        assert set(m) == {"name", "inert", "effects"}
        for e in m["effects"]:
            assert set(e) == {
                "milestone",
                "share_diff",
                "share_low",
                "share_high",
                "time_diff",
                "time_low",
                "time_high",
            }
            assert -1.0 <= e["share_diff"] <= 1.0
    neg = next(m for m in out["mechanisms"] if m["name"] == "negotiation")
    opened = next(e for e in neg["effects"] if e["milestone"].startswith("negotiation_opened:"))
    # the talks open on a fixed date: without the process they never do, in every pair
    assert opened["share_diff"] == opened["share_low"] == 1.0
    assert neg["inert"] is False
    assert not math.isnan(opened["time_diff"])


def test_knockout_command_prints_the_json_shape_and_refuses_bad_input(tmp_path):
    from click.testing import CliRunner

    from normflow.cli import cli

    path = tmp_path / "small.toml"
    path.write_text(KNOCKOUT_TOML, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["knockout", str(path), "-n", "2", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    import json

    out = json.loads(result.stdout)
    assert out["runs"] == 2 and {m["name"] for m in out["mechanisms"]} >= {"information", "negotiation"}
    bad = runner.invoke(cli, ["knockout", str(tmp_path / "missing.toml"), "-n", "2"])
    assert bad.exit_code == 2 and "missing.toml" in bad.output and "Traceback" not in bad.output
    assert runner.invoke(cli, ["knockout", str(path), "-n", "1"]).exit_code == 2
    assert runner.invoke(cli, ["knockout", str(path), "-n", "2", "--seed", "-1"]).exit_code == 2


@given(
    access_cut=unit,
    reprimand_cost=unit,
    actions=st.tuples(unit, unit, unit).filter(lambda a: sum(a) > 0.01),
    closure_days=st.floats(1.0, 2000.0),
    seed=st.integers(0, 2**16),
)
@examples(ci=10, thorough=200)
def test_backlash_never_makes_access_or_backing_negative_nor_raises_them(
    access_cut, reprimand_cost, actions, closure_days, seed
):
    # a fully centralized state wholly at odds with its cities: curbs come often,
    # whatever their size; access and support stay in [0, where they started]
    scen = _backlash_scenario(
        0.0,
        0.0,
        access_cut=access_cut,
        reprimand_cost=reprimand_cost,
        actions=list(actions),
        closure_days=closure_days,
    )
    rec, channel = EventRecorder(), _Diplomacy()
    sim = Simulation(scen, seed, plugins=[rec, channel], autoload=False)
    sim.run()
    w = sim.world
    assert np.all(w.lg_access >= 0.0) and np.all(w.lg_access <= np.array([0.9, 0.8]) + 1e-12)
    assert np.all(w.lg_support >= 0.0) and np.all(w.lg_support <= 0.9 + 1e-12)
    assert all(0.0 <= a <= 0.9 for a in channel.access_seen)
    check_invariants(rec.lines(), scen)


@given(c1=st.floats(0.01, 1.0), c2=st.floats(0.01, 1.0), seed=st.integers(0, 2**16))
@examples(ci=15, thorough=200)
def test_the_kth_round_falls_on_the_same_day_however_the_talks_went(c1, c2, seed):
    # common random numbers: round gaps have their own stream, ratification its
    # keyed draws, so talks that converge at different speeds hold their k-th
    # round on the same day (knockout arms stay coupled)
    # (up to the first agreement: a ratification's wait then shifts later rounds)
    days = []
    for c in (c1, c2):
        scen = _talks(positions=(0.2, 0.8), win_sets=(0.5, 0.5), convergence=c)
        _, rec = _run(scen, seed=seed)
        agreed = [e.t for e in rec.of(events.NegotiationPhaseChanged) if e.phase == "agreement"]
        until = agreed[0] if agreed else math.inf
        days.append([e.t for e in rec.of(events.ExpertiseHeard) if e.t <= until])
    short, long = sorted(days, key=len)
    assert short and long[: len(short)] == short


@given(practice=st.floats(0.3, 1.0), seed=st.integers(0, 2**16))
@examples(ci=10, thorough=150)
def test_a_deal_below_a_partys_practice_is_judged_as_that_practice(practice, seed):
    # Korea already practises more than any deal can give (both positions and
    # the optimum lie below its practice): adopting the deal leaves its policy
    # where it is, so its ratifiers, however narrow their set, never send it
    # back for asking too little -- no renegotiation, no failure outside a set
    import attrs

    scen = _talks(positions=(0.0, 0.0), win_sets=(0.01, 0.01), optimum=0.0, max_renegotiations=2)
    states = tuple(attrs.evolve(s, practice=practice) if s.id == "korea" else s for s in scen.states)
    scen = attrs.evolve(scen, states=states)
    result, rec = _run(scen, seed=seed)
    assert not [e for e in rec.of(events.AgreementRenegotiated) if e.state == "korea"]
    assert not [e for e in rec.of(events.AgreementFailed) if e.reason == "outside_win_set:korea"]
    for changed in rec.of(events.PolicyChanged):
        if changed.state == "korea":
            assert changed.position >= practice - 1e-12
    check_invariants(rec.lines(), scen)
