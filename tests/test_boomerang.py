"""The boomerang plugin: outside pressure only after a block, only through an
ally abroad (or an institution), never more than the cap at once."""

from __future__ import annotations

import normflow_boomerang
import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_helpers import Recorder, simulate, toml_value

import normflow
from normflow import events
from normflow.testing import examples


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


def _routes_by_hand(w) -> dict[int, list[tuple[int, int]]]:
    """The index of allies abroad from its definition, one group at a time:
    for each coalition (more than one member), its supporters' states, each
    with its first supporter there; kept for coalitions in two states or more."""
    found: dict[int, dict[int, int]] = {}
    for g in range(len(w.group_ids)):
        root = w.coalition_of(g)
        if w.group_supporter[g] and w.coalition_size[root] > 1:
            found.setdefault(root, {}).setdefault(int(w.group_state[g]), g)
    return {root: sorted(by_state.items()) for root, by_state in found.items() if len(by_state) > 1}


@given(
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=60),
    st.booleans(),
    st.booleans(),
)
@examples(ci=25, thorough=500)
def test_the_index_of_allies_abroad_is_its_definition(merges, one_state, supporters_at_home):
    """``_reindex`` (vectorized) gives the routes the definition gives, for
    coalitions made by any merges: across states, or
    (``one_state``) only between groups of one state, where no coalition has
    an ally abroad; with every group a supporter, or (``supporters_at_home``)
    only the groups of one state, so that coalitions across states still
    have supporters in one state only."""
    sim = normflow.Simulation(
        normflow.load_scenario("generic"), 1, plugins=[normflow_boomerang], autoload=False
    )
    w = sim.world
    mechanism = normflow_boomerang._runs[sim]
    home = w.group_state[0]
    if supporters_at_home:
        w.group_supporter[:] = w.group_state == home
    groups = range(len(w.group_ids))
    pool = [g for g in groups if w.group_state[g] == home] if one_state else list(groups)
    for a, b in merges:
        w.merge(pool[a % len(pool)], pool[b % len(pool)])
    mechanism._reindex(0.0)
    expected = _routes_by_hand(w)
    assert mechanism.routes == expected
    if one_state or supporters_at_home:
        assert expected == {}
    assert not mechanism.stale and mechanism.indexed_at == 0.0


def test_the_handler_of_blocked_attempts_makes_no_cells():
    """Tens of thousands of blocked attempts a run reach the handler, most
    with nowhere to turn: a name a nested function closes over would be a
    cell made at every call (about 2,200 machine instructions an attempt
    measured in the b326518 kawasaki copy), so the closure lives in
    ``_take_up``, which only attempts with a route reach."""
    assert normflow_boomerang.Boomerang.access_blocked.__code__.co_cellvars == ()


@pytest.mark.parametrize(
    ("ally", "ally_stance", "institution", "listens"),
    [
        (True, "supporter", None, True),  # a supporter abroad: a coalition may reach it
        (True, "opponent", None, False),  # abroad, but an opponent: never a route
        (False, "supporter", None, False),  # every group at home
        (False, "supporter", "un-hrc", True),  # at home, but an institution to appeal to
    ],
)
def test_the_boomerang_hears_blocks_only_in_a_run_where_one_could_lead_somewhere(
    ally, ally_stance, institution, listens
):
    """With every supporter in one state and no institution, no blocked
    attempt can ever have somewhere to turn (a group's state and stance are
    read only), so the mechanism does not subscribe: the engine then makes
    no call, id or guard per block. The run's outcome is the same as
    without the plugin."""
    settings = {} if institution is None else {"institution": institution, "institution_leverage": 1.0}
    text = scenario(ally=ally, **settings)
    if ally_stance == "opponent":
        text = text.replace('id = "seoul-ngo"\n', 'id = "seoul-ngo"\nstance = "opponent"\n')
        assert 'stance = "opponent"' in text
    sim, result = simulate(text, [normflow_boomerang])
    assert sim.bus.wants(events.AccessBlocked) is listens
    assert result.counts["access_blocked"] > 10
    if not listens:
        _, without = simulate(text, [])
        assert result.counts == without.counts
        assert result.milestones.items() >= without.milestones.items()
        assert result.metrics["boomerang.count"] == 0
        japan = sim.world.stance("japan", "suffrage")
        assert japan.foreign_pressure.value == 0.0
    else:
        assert result.metrics["boomerang.count"] > 0
