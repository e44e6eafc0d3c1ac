"""The local-diplomacy plugin: a foreign state is reached only through a
partner local government with access; access is shared inside a coalition;
several partners add channels and a province a strong one."""

from __future__ import annotations

import normflow_local_diplomacy
import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_helpers import Recorder, simulate, toml_value

import normflow
from normflow import events
from normflow.testing import examples


def scenario(
    dalian_access: float = 0.8,
    *,
    groups: str | None = None,
    extra: str = "",
    years: int = 4,
    **settings: object,
) -> str:
    """Kitakyushu (Japan) and its partner Dalian (China); pollution control
    is China's issue, so Japanese groups' own campaigns never reach Beijing."""
    config = "\n".join(f"{k} = {toml_value(v)}" for k, v in settings.items())
    groups = (
        groups
        if groups is not None
        else """
[[civil_society.groups]]
id = "kitakyushu-forum"
state = "japan"
locality = "kitakyushu"
expertise = 0.8
"""
    )
    return f"""
[scenario]
name = "local-diplomacy"
start = 1990-01-01
end = {1990 + years - 1}-12-31

[[states]]
id = "japan"

[[states]]
id = "china"
penetrability = 0.05

[[issues]]
id = "pollution"
state = "china"
area = "environment"

[[local_governments.named]]
id = "kitakyushu"
state = "japan"
support = 0.9
partners = ["dalian"]

[[local_governments.named]]
id = "dalian"
state = "china"
level = "city"
access = {dalian_access}
{extra}
{groups}
[plugins.local_diplomacy]
{config}
"""


def pressure_on_china(text: str, *more_plugins, seed: int = 1):
    rec = Recorder(events.PressureApplied, events.ChannelUsed)
    sim, result = simulate(text, [normflow_local_diplomacy, rec, *more_plugins], seed=seed)
    return sim, result, rec.of(events.PressureApplied, target="china"), rec.of(events.ChannelUsed)


def test_the_partner_state_is_reached_through_the_partner_with_its_access():
    sim, result, pressed, used = pressure_on_china(scenario(dalian_access=0.8))
    assert pressed and all(p.channel == "local_diplomacy" and p.source == "dalian" for p in pressed)
    assert {u.path for u in used} == {("kitakyushu", "dalian", "china")}
    assert result.metrics["local_diplomacy.uses"] == len(used) == len(pressed)
    assert sim.world.stance("china", "pollution").pressure.value > 0
    assert result.milestones["channel_used:local_diplomacy:kitakyushu>dalian"] == used[0].t


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_partner_without_access_never_carries_anything(seed):
    sim, result, pressed, used = pressure_on_china(scenario(dalian_access=0.0, years=10), seed=seed)
    assert pressed == [] and used == []
    assert result.milestones["channel_used:local_diplomacy:kitakyushu>dalian"] is None


def test_the_channel_is_registered_with_the_partners_access():
    sim, _, _, _ = pressure_on_china(scenario(dalian_access=0.35))
    (channel,) = [c for c in sim.world.channels if c.name.startswith("local_diplomacy:")]
    assert (channel.source, channel.via, channel.target, channel.access) == (
        "kitakyushu",
        ("dalian",),
        "china",
        pytest.approx(0.35),
    )


def test_a_local_government_that_does_not_support_the_issue_lends_no_channel():
    # the group's own persuasion (local sharing) is off, so support stays at 0
    text = (
        scenario().replace("support = 0.9", "support = 0.0") + "[processes.information]\nlg_share_rate = 0\n"
    )
    _, _, pressed, _ = pressure_on_china(text)
    assert pressed == []


def test_pressure_from_partners_opens_a_negotiation_waiting_for_the_requester():
    negotiation = """
[[negotiations]]
id = "aid"
issue = "pollution"
parties = ["china", "japan"]
requester = "china"
request_threshold = 2.0
"""
    for access, opened in ((0.0, False), (0.9, True)):
        _, result, _, _ = pressure_on_china(scenario(dalian_access=access, extra=negotiation))
        assert (result.milestones["negotiation_opened:aid"] is not None) is opened


NIIGATA = """
[[local_governments.named]]
id = "niigata"
state = "japan"
support = 0.9
partners = ["harbin", "heilongjiang"]

[[local_governments.named]]
id = "harbin"
state = "china"
access = 1.0

[[local_governments.named]]
id = "heilongjiang"
state = "china"
level = "province"
access = 1.0
"""


def test_several_partners_each_add_a_channel_and_a_province_a_strong_one():
    groups = """
[[civil_society.groups]]
id = "niigata-council"
state = "japan"
locality = "niigata"
expertise = 0.8
"""
    text = scenario(dalian_access=0.0, groups=groups, extra=NIIGATA, province_multiplier=3.0)
    _, _, pressed, used = pressure_on_china(text)
    by_time: dict[float, dict[str, float]] = {}
    for p in pressed:
        by_time.setdefault(p.t, {})[p.source] = p.amount
    assert by_time and all(set(at) == {"harbin", "heilongjiang"} for at in by_time.values())
    for at in by_time.values():
        assert at["heilongjiang"] == pytest.approx(3.0 * at["harbin"])
    assert {u.path for u in used} == {("niigata", "harbin", "china"), ("niigata", "heilongjiang", "china")}


def test_access_is_transferable_inside_a_coalition():
    # the Tokyo group holds the expertise but has no partner abroad; the
    # Niigata club has the partner but nothing to say. Exchange is switched
    # off so that only the coalition can bring the two together.
    groups = """
[[civil_society.groups]]
id = "tokyo-experts"
state = "japan"
locality = "tokyo"
expertise = 0.9

[[civil_society.groups]]
id = "niigata-club"
state = "japan"
locality = "niigata"
expertise = 0.0

[processes.information]
contact_rate = 0
lg_share_rate = 0
"""
    extra = NIIGATA + '\n[[local_governments.named]]\nid = "tokyo"\nstate = "japan"\nsupport = 0.9\n'
    text = scenario(dalian_access=0.0, groups=groups, extra=extra)

    _, _, alone, _ = pressure_on_china(text)
    assert alone == []

    class Allied:
        @normflow.hookimpl
        def normflow_register_channels(self, sim):
            w = sim.world
            w.merge(w.group_index["tokyo-experts"], w.group_index["niigata-club"])

    _, _, allied, used = pressure_on_china(text, Allied())
    assert allied and {p.source for p in allied} == {"harbin", "heilongjiang"}
    assert {u.path[0] for u in used} == {"niigata"}


def test_a_scenario_without_partners_abroad_is_left_alone():
    text = scenario().replace('partners = ["dalian"]', "")
    sim, result, pressed, used = pressure_on_china(text)
    assert pressed == used == []
    assert [c for c in sim.world.channels if c.name.startswith("local_diplomacy")] == []
    assert result.metrics["local_diplomacy.uses"] == 0


def test_the_counterfactual_without_local_governments_closes_the_channels():
    rec = Recorder(events.ChannelUsed)
    sim = normflow.Simulation(
        normflow.loads_scenario(scenario()),
        1,
        plugins=[normflow_local_diplomacy, rec],
        autoload=False,
        local_government_role=0.0,
    )
    sim.run()
    assert sim.world.channels == [] and rec.events == []


def _lone_groups(expertise, localities=("kitakyushu",)):
    return "".join(
        f"""
[[civil_society.groups]]
id = "forum-{k}"
state = "japan"
locality = "{localities[k % len(localities)]}"
expertise = {e}
"""
        for k, e in enumerate(expertise)
    )


def test_many_lone_groups_asking_one_partner_do_not_multiply_what_it_carries():
    # five groups of one city that never exchange (so never form a coalition, and
    # their information stays put): Dalian relays the city's case once per
    # mobilisation, with the strongest case -- what the best-informed group alone gets
    quiet = "[processes.information]\ncontact_rate = 0\nlg_share_rate = 0\n"
    five = scenario(dalian_access=1.0, groups=_lone_groups([0.2, 0.35, 0.5, 0.65, 0.8])) + quiet
    best = scenario(dalian_access=1.0, groups=_lone_groups([0.8])) + quiet
    _, _, pressed, used = pressure_on_china(five)
    _, _, _, alone = pressure_on_china(best)
    assert used and len(used) == len(pressed)
    times = [u.t for u in used]
    assert len(times) == len(set(times))  # one relay per quarter
    assert [u.amount for u in used] == pytest.approx([u.amount for u in alone])


@given(
    expertise=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6),
    strength=st.floats(0.0, 5.0),
    multiplier=st.floats(1.0, 4.0),
    weight=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
@examples(ci=10, thorough=200)
def test_a_partner_relays_at_most_once_a_mobilisation_and_never_more_than_a_full_case(
    expertise, strength, multiplier, weight, seed
):
    # any number of groups, in or out of coalitions: each partner carries one case per
    # mobilisation, at most strength (times the province multiplier) -- force and
    # legitimacy are each at most 1
    groups = _lone_groups(expertise, ("kitakyushu", "niigata"))
    text = (
        scenario(
            dalian_access=1.0, groups=groups, extra=NIIGATA, strength=strength, province_multiplier=multiplier
        )
        + f"[processes.accountability]\nlegitimacy_weight = {weight}\n"
    )
    rec = Recorder(events.ChannelUsed)
    sim, _ = simulate(text, [normflow_local_diplomacy, rec], seed=seed)
    seen: set[tuple[float, str]] = set()
    for u in rec.of(events.ChannelUsed):
        partner = u.path[1]
        assert (u.t, partner) not in seen
        seen.add((u.t, partner))
        cap = strength * (multiplier if partner == "heilongjiang" else 1.0)
        assert 0.0 < u.amount <= cap + 1e-9
    assert all(t == pytest.approx(90.0 * round(t / 90.0)) for t, _ in seen)  # only at mobilisations


def test_a_relay_costs_political_capital_only_when_costs_are_modelled():
    # Dalian always gets through; each relay costs Kitakyushu 0.6 of its capital,
    # regained at 0.5 a year: with costs on, relays thin out to about one in five
    # quarters; with costs off the same cost is never charged
    def uses(costs_on):
        text = scenario(dalian_access=1.0, years=6, cost=0.6) + (
            f"[processes.costs]\nenabled = {str(costs_on).lower()}\ncapital_rate = 0.5\n"
        )
        _, result, _, used = pressure_on_china(text)
        return len(used), result.counts.get("act_unpaid", 0)

    free, unpaid_free = uses(False)
    paid, unpaid = uses(True)
    assert free == 24 and unpaid_free == 0  # every quarter
    assert 0 < paid < free / 2 and unpaid == free - paid
