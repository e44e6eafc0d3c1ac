"""Interventions: switches that close the domestic or the international
opportunity structure, stop local resolutions, or scale groups' resources,
applied by the Simulation without editing the scenario."""

from __future__ import annotations

import normflow_boomerang
import normflow_local_diplomacy
import pytest
from plugin_helpers import Recorder

from normflow import Simulation, events, load_scenario
from normflow.interventions import DOMESTIC_CHANNELS, INTERNATIONAL_CHANNELS, Interventions

PLUGINS = [normflow_boomerang, normflow_local_diplomacy]


@pytest.fixture(scope="module")
def minimal():
    return load_scenario("minimal")


def run(scenario, interventions=None, seed=3, kinds=(events.PressureApplied, events.ResolutionPassed)):
    rec = Recorder(*kinds)
    sim = Simulation(scenario, seed, plugins=[*PLUGINS, rec], autoload=False, interventions=interventions)
    return sim, sim.run(), rec


def channels(rec: Recorder) -> set[str]:
    return {e.channel for e in rec.of(events.PressureApplied) if e.channel != "electoral"}


def test_the_default_interventions_change_nothing(minimal):
    _, plain, _ = run(minimal)
    _, with_default, _ = run(minimal, Interventions())
    assert plain.milestones == with_default.milestones
    assert plain.counts == with_default.counts
    assert plain.final == with_default.final


def test_without_domestic_channels_no_pressure_comes_through_the_own_door_and_no_assembly_resolves(minimal):
    _, base, base_rec = run(minimal)
    assert channels(base_rec) & DOMESTIC_CHANNELS  # the test would prove nothing otherwise
    _, result, rec = run(minimal, Interventions(domestic=False))
    assert not channels(rec) & DOMESTIC_CHANNELS
    assert not rec.of(events.ResolutionPassed)
    assert result.counts["pressure_withheld"] > 0
    # foreign pressure still arrives (the 1998 state visit)
    assert "interstate" in channels(rec)


def test_without_international_channels_no_pressure_comes_from_abroad(minimal):
    _, base, base_rec = run(minimal)
    assert {"interstate", "local_diplomacy"} <= channels(base_rec)
    sim, result, rec = run(minimal, Interventions(international=False))
    used = channels(rec)
    assert not used & INTERNATIONAL_CHANNELS
    assert not [e for e in rec.of(events.PressureApplied) if e.source == "korea"]
    assert used & DOMESTIC_CHANNELS
    assert rec.of(events.ResolutionPassed)
    # partner links abroad are cut before plugins set up: no local-diplomacy channel opens
    assert not sim.world.channels
    assert all(not partners for partners in sim.world.lg_partners)
    assert sim.world.stance("japan", "local-suffrage").foreign_pressure.value == 0


def test_a_state_visit_without_international_channels_does_not_raise_salience():
    # a scenario whose only actor is the visit: salience comes from it alone
    from normflow.scenario import loads_scenario

    text = """
[scenario]
name = "visit"
start = 1990-01-01
end = 1990-12-31
[[states]]
id = "japan"
[[states]]
id = "korea"
[[issues]]
id = "x"
state = "japan"
[[events]]
date = 1990-06-01
category = "state_visit"
state = "korea"
target = "japan"
strength = 3.0
"""
    scenario = loads_scenario(text)
    on = Simulation(scenario, 1, autoload=False)
    on.run()
    off = Simulation(scenario, 1, autoload=False, interventions=Interventions(international=False))
    off.run()
    assert on.world.stance("japan", "x").salience.value > 0
    assert off.world.stance("japan", "x").salience.value == 0
    assert off.world.stance("japan", "x").pressure.value == 0


def test_partner_links_inside_one_state_survive_closing_the_international_structure():
    from normflow.scenario import loads_scenario

    text = """
[scenario]
name = "twins"
start = 1990-01-01
end = 1990-12-31
[[states]]
id = "japan"
[[states]]
id = "korea"
[[issues]]
id = "x"
state = "japan"
[[local_governments.named]]
id = "a"
state = "japan"
partners = ["b", "c"]
[[local_governments.named]]
id = "b"
state = "japan"
[[local_governments.named]]
id = "c"
state = "korea"
"""
    sim = Simulation(
        loads_scenario(text), 1, autoload=False, interventions=Interventions(international=False)
    )
    w = sim.world
    assert w.lg_partners[w.lg_index["a"]] == [w.lg_index["b"]]
    assert w.lg_partners[w.lg_index["c"]] == []


def test_without_local_resolutions_assemblies_are_silent_and_pressure_still_flows(minimal):
    _, result, rec = run(minimal, Interventions(local_resolutions=False))
    assert not rec.of(events.ResolutionPassed)
    assert result.milestones["first_resolution"] is None
    assert channels(rec) & DOMESTIC_CHANNELS
    assert "pressure_withheld" not in result.counts


@pytest.mark.parametrize("scale", [0.25, 4.0])
def test_resource_scale_multiplies_every_groups_resources_and_campaigns_follow(scale):
    # without costs, campaigns come at a rate proportional to resources (elasticity 1)
    free = load_scenario("minimal", overrides={"processes.costs.enabled": False})
    _, base, _ = run(free)
    _, result, _ = run(free, Interventions(resource_scale=scale))
    scaled = Simulation(free, 3, autoload=False, interventions=Interventions(resource_scale=scale)).world
    plain = Simulation(free, 3, autoload=False).world
    assert scaled.group_resources == pytest.approx(plain.group_resources * scale)
    assert scaled.coalition_resources == pytest.approx(plain.coalition_resources * scale)
    ratio = result.counts["campaign"] / base.counts["campaign"]
    assert ratio == pytest.approx(scale, rel=0.15)


def test_with_costs_a_poor_coalition_campaigns_less_than_in_proportion(minimal):
    """Costs (minimal's default): campaigns spend resources that replenish at a
    fixed rate, so a coalition with a quarter of the resources overspends and
    stalls, campaigning less than a quarter as often."""
    assert minimal.processes.costs.enabled
    _, base, _ = run(minimal)
    _, poor, _ = run(minimal, Interventions(resource_scale=0.25))
    assert poor.counts["campaign"] / base.counts["campaign"] < 0.25 * 0.85


@pytest.mark.parametrize("bad", [-1.0, 101.0, "x", True])
def test_a_resource_scale_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="resource_scale"):
        Interventions(resource_scale=bad)


def test_blocks_classifies_channels():
    dom_off = Interventions(domestic=False)
    int_off = Interventions(international=False)
    assert dom_off.blocks("domestic", False) and dom_off.blocks("local_government", False)
    assert not dom_off.blocks("interstate", True) and not dom_off.blocks("shaming", False)
    assert int_off.blocks("boomerang", True) and int_off.blocks("local_diplomacy", False)
    assert int_off.blocks("anything", True) and not int_off.blocks("domestic", False)
    assert not Interventions().blocks("domestic", False)
    assert Interventions(domestic=False, international=False).label() == (
        "no domestic channels, no international channels"
    )
