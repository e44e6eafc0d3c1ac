"""The boomerang plugin: outside pressure only after a block, only through an
ally abroad (or an institution), never more than the cap at once."""

from __future__ import annotations

import normflow_boomerang
import pytest
from plugin_helpers import Recorder, simulate, toml_value

import normflow
from normflow import events


def scenario(japan_penetrability: float = 0.1, ally: bool = True, **settings: object) -> str:
    """Japan's closed door, a Korean-resident group in Kawasaki and (if
    ``ally``) a Seoul NGO tied to it; contacts mostly along the tie, so the
    two form a coalition across the border within weeks."""
    settings = {"take_up": 1.0, "delay_days": 30, **settings}
    config = "\n".join(f"{k} = {toml_value(v)}" for k, v in settings.items())
    ally_text = (
        """
[[civil_society.groups]]
id = "seoul-ngo"
state = "korea"
locality = "bucheon"

[[ties]]
a = "residents"
b = "seoul-ngo"
"""
        if ally
        else """
[[civil_society.groups]]
id = "tokyo-ngo"
state = "japan"
locality = "kawasaki"

[[ties]]
a = "residents"
b = "tokyo-ngo"
"""
    )
    return f"""
[scenario]
name = "boomerang"
start = 1990-01-01
end = 1993-12-31

[[states]]
id = "japan"
penetrability = {japan_penetrability}

[[states]]
id = "korea"
penetrability = 0.9

[[issues]]
id = "suffrage"
state = "japan"
area = "legal_equality"

[[local_governments.named]]
id = "kawasaki"
state = "japan"
support = 0.1
access = {japan_penetrability}

[[local_governments.named]]
id = "bucheon"
state = "korea"

[[civil_society.groups]]
id = "residents"
state = "japan"
locality = "kawasaki"
nationality = "korea"
resources = 3.0
{ally_text}
[processes.information]
contact_rate = 40
tie_share = 0.9

[plugins.boomerang]
{config}
"""


def test_boomerang_comes_only_after_a_block_of_the_same_group():
    rec = Recorder(events.AccessBlocked, events.ChannelUsed, events.PressureApplied)
    _, result = simulate(scenario(), [normflow_boomerang, rec])
    boomerangs = rec.of(events.ChannelUsed, channel="boomerang")
    assert result.metrics["boomerang.count"] == len(boomerangs) > 0
    blocks = rec.of(events.AccessBlocked)
    for b in boomerangs:
        group, ally, ally_state, target = b.path
        assert (ally, ally_state, target) == ("seoul-ngo", "korea", "japan")
        assert any(x.group == group and x.state == target and x.t < b.t for x in blocks)
    assert result.milestones["boomerang:japan"] == boomerangs[0].t


def test_no_block_no_boomerang():
    rec = Recorder(events.AccessBlocked, events.ChannelUsed)
    _, result = simulate(scenario(japan_penetrability=1.0), [normflow_boomerang, rec])
    assert rec.of(events.AccessBlocked) == []
    assert result.metrics["boomerang.count"] == 0
    assert result.milestones["boomerang:japan"] is None


def test_the_blocked_state_is_pressed_from_outside_by_the_allys_state():
    rec = Recorder(events.PressureApplied)
    simulate(scenario(), [normflow_boomerang, rec])
    outside = rec.of(events.PressureApplied, channel="boomerang")
    assert outside and all(p.source == "korea" and p.target == "japan" for p in outside)


def test_boomerang_pressure_counts_as_foreign_pressure():
    sim, _ = simulate(scenario(), [normflow_boomerang])
    assert sim.world.stance("japan", "suffrage").foreign_pressure.value > 0


def test_without_an_ally_abroad_there_is_no_boomerang():
    rec = Recorder(events.AccessBlocked)
    _, result = simulate(scenario(ally=False), [normflow_boomerang, rec])
    assert len(rec.of(events.AccessBlocked)) > 10
    assert result.metrics["boomerang.count"] == 0


def test_an_international_institution_is_a_route_for_a_coalition_without_allies_abroad():
    rec = Recorder(events.PressureApplied)
    text = scenario(ally=False, institution="un-hrc", institution_leverage=1.0)
    _, result = simulate(text, [normflow_boomerang, rec])
    outside = rec.of(events.PressureApplied, channel="boomerang")
    assert result.metrics["boomerang.count"] == len(outside) > 0
    assert {p.source for p in outside} == {"un-hrc"}


def test_never_more_boomerangs_under_way_than_the_cap():
    seen: list[int] = []

    class Watch:
        @normflow.hookimpl
        def normflow_register_handlers(self, sim, register):
            # registered after the boomerang's own handler, so it sees the count it left
            register(events.AccessBlocked, lambda ev: seen.append(max(_pending(sim).values(), default=0)))

    text = scenario(max_pending=2, delay_days=200)
    simulate(text, [normflow_boomerang, Watch()])
    assert max(seen) == 2


def _pending(sim):
    return normflow_boomerang._runs[sim].pending


@pytest.mark.parametrize(
    ("key", "value"), [("take_up", 1.5), ("delay_days", 0), ("max_pending", 0), ("tempo", 1)]
)
def test_a_bad_boomerang_setting_names_its_field(key, value):
    text = scenario(**{key: value})
    with pytest.raises(normflow.ScenarioError, match=f"plugins.boomerang.{key}"):
        simulate(text, [normflow_boomerang])


def test_outside_pressure_that_a_modifier_withholds_is_no_boomerang():
    class ClosedWorld:
        @normflow.hookimpl
        def normflow_register_modifiers(self, register):
            register(
                "pressure",
                lambda amount, source, target, issue, channel: 0.0 if channel == "boomerang" else amount,
            )

    rec = Recorder(events.ChannelUsed)
    _, result = simulate(scenario(), [normflow_boomerang, ClosedWorld(), rec])
    assert result.metrics["boomerang.count"] == 0 and rec.events == []
    assert result.milestones["boomerang:japan"] is None
