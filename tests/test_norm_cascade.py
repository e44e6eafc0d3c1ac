"""The norm cascade plugin: national decisions (and only they) raise
international support; past the tipping point the states still outside are
socialized toward the norm."""

from __future__ import annotations

import normflow_norm_cascade
import pytest
from hypothesis import given
from hypothesis import strategies as st
from plugin_helpers import simulate, toml_value

import normflow
from normflow import events
from normflow.testing import examples

YEAR = 365.0


def scenario(years: int = 4, extra: str = "", **settings: object) -> str:
    """Three states, each the target of its own issue of one norm; no civil
    society, so only the test's ``Script`` makes national decisions."""
    config = "\n".join(f"{k} = {toml_value(v)}" for k, v in settings.items())
    states = "\n".join(
        f'[[states]]\nid = "{s}"\ncommitment = 0.2\npractice = 0.1\npublic_support = 0.2\n'
        f'[[issues]]\nid = "rights-{s}"\nstate = "{s}"\n'
        for s in ("a", "b", "c")
    )
    return f"""
[scenario]
name = "cascade"
start = 1990-01-01
end = {1990 + years - 1}-12-31

{states}
{extra}

[plugins.norm_cascade]
{config}
"""


class Script:
    """Makes national decisions at fixed days: ``("agenda", day, issue)``
    publishes ``AgendaPlaced``; ``("policy", day, state, issue)`` changes a
    state's policy through the public API."""

    normflow_plugin_name = "script"

    def __init__(self, *steps: tuple):
        self.steps = sorted(steps, key=lambda s: s[1])

    @normflow.hookimpl
    def normflow_register_processes(self, sim, register):
        def play():
            for step in self.steps:
                yield sim.env.timeout(step[1] - sim.env.now)
                if step[0] == "agenda":
                    sim.bus.publish(events.AgendaPlaced(t=sim.env.now, legislature="Diet", issue=step[2]))
                else:
                    sim.change_policy(sim.env.now, step[2], step[3], 1.0, cause="test")

        register("script", play)


def run(text: str, *steps: tuple):
    return simulate(text, [normflow_norm_cascade, Script(*steps)])


def test_support_counts_an_agenda_as_half_an_adopter_and_a_policy_change_as_one():
    sim, result = run(scenario(), ("agenda", 100, "rights-a"), ("policy", 200, "b", "rights-b"))
    mechanism = normflow_norm_cascade._runs[sim]
    assert result.metrics["norm_cascade.support"] == pytest.approx((0.5 + 1.0) / 3, abs=1e-6)
    assert result.metrics["norm_cascade.adopters"] == 1
    assert result.metrics["norm_cascade.agenda_states"] == 1
    assert mechanism.standing == {"a": 1, "b": 2, "c": 0}


def test_initial_support_scales_the_adopting_share_into_the_rest_of_the_range():
    _, result = run(scenario(initial_support=0.4), ("policy", 10, "a", "rights-a"))
    assert result.metrics["norm_cascade.support"] == pytest.approx(0.4 + 0.6 / 3, abs=1e-6)


def test_a_state_keeps_its_furthest_standing():
    _, result = run(scenario(), ("policy", 10, "a", "rights-a"), ("agenda", 20, "rights-a"))
    assert result.metrics["norm_cascade.support"] == pytest.approx(1 / 3, abs=1e-6)


def test_tipping_is_reached_when_support_first_crosses_the_threshold():
    _, result = run(
        scenario(tipping_threshold=0.5),
        ("agenda", 100, "rights-a"),
        ("policy", 300, "b", "rights-b"),
        ("policy", 500, "c", "rights-c"),
    )
    # 1/6 after day 100, 1/2 after day 300
    assert result.milestones["norm_cascade.tipping"] == 300
    assert result.milestones["norm_cascade.internalization"] is None


def test_an_agreement_makes_every_party_an_adopter():
    text = scenario(
        tipping_threshold=0.6,
        internalization_threshold=0.6,
        extra="""
[[negotiations]]
id = "deal"
issue = "rights-a"
parties = ["a", "b"]
opens = 1990-01-01
positions = [0.5, 0.5]
win_sets = [0.5, 0.5]
[processes.negotiation]
prenegotiation_threshold = 0.0
ratification_base = 1.0
""",
    )
    sim, result = run(text)
    assert result.milestones["agreement_reached:deal"] is not None
    assert normflow_norm_cascade._runs[sim].standing == {"a": 2, "b": 2, "c": 0}
    assert result.milestones["norm_cascade.tipping"] == result.milestones["agreement_reached:deal"]


def test_local_resolutions_alone_do_not_move_international_support():
    extra = """
[[local_governments.named]]
id = "town"
state = "a"
support = 0.9
[processes.agenda]
resolution_rate = 1.0
"""
    _, result = run(scenario(extra=extra))
    assert result.final["issues"]["rights-a"]["resolutions"] == 1
    assert result.metrics["norm_cascade.support"] == 0.0
    assert result.metrics["norm_cascade.support_mean"] == 0.0


def test_after_tipping_non_adopters_move_toward_the_norm_and_adopters_are_left_alone():
    sim, result = run(scenario(years=3), ("policy", 30, "a", "rights-a"))
    states = result.final["states"]
    # tipped on day 30 (1/3 support): b and c are pulled toward 1 every month
    assert result.milestones["norm_cascade.tipping"] == 30
    # the cascade is the system's, not one state's: no per-state copy of its milestones
    assert not [m for m in result.milestones if m.startswith("norm_cascade.") and ":" in m]
    for s in ("b", "c"):
        assert states[s][f"rights-{s}"]["commitment"] > 0.4
        assert states[s][f"rights-{s}"]["public_support"] > 0.4
    # a's commitment is as written (0.2): it has adopted, nothing pulls it
    assert states["a"]["rights-a"]["commitment"] == pytest.approx(0.2)
    assert result.counts["norm_cascade_socialized"] > 0


def test_before_tipping_nothing_is_socialized():
    _, result = run(scenario(years=3, tipping_threshold=0.9), ("policy", 30, "a", "rights-a"))
    assert result.milestones["norm_cascade.tipping"] is None
    assert result.final["states"]["b"]["rights-b"]["commitment"] == pytest.approx(0.2)
    assert "norm_cascade_socialized" not in result.counts


def test_the_norm_can_be_restricted_to_some_issues():
    _, result = run(scenario(issues=["rights-b"]), ("policy", 10, "a", "rights-a"))
    assert result.metrics["norm_cascade.support"] == 0.0


def test_support_mean_is_the_time_average_of_support():
    _, result = run(scenario(years=2), ("policy", 365, "a", "rights-a"))
    horizon = 729  # 1990-01-01 to 1991-12-31
    expected = (1 / 3) * (horizon - 365) / horizon
    assert result.metrics["norm_cascade.support_mean"] == pytest.approx(expected, abs=1e-6)


def test_an_unknown_issue_in_the_section_names_its_path():
    with pytest.raises(normflow.ScenarioError, match=r"plugins\.norm_cascade\.issues\[0\]: got 'nope'"):
        run(scenario(issues=["nope"]))


def test_internalization_below_tipping_is_refused():
    with pytest.raises(normflow.ScenarioError, match="plugins.norm_cascade"):
        run(scenario(tipping_threshold=0.5, internalization_threshold=0.4))


def test_the_cascade_is_registered_by_entry_point():
    from normflow.plugins import installed_entry_points

    assert {ep.name: ep.value for ep in installed_entry_points()}["norm_cascade"] == "normflow_norm_cascade"


def test_the_plugin_passes_the_conformance_kit():
    from normflow.testing.conformance import check_plugin

    scenarios = [normflow.loads_scenario(scenario(years=3)), normflow.load_scenario("minimal")]
    report = check_plugin(normflow_norm_cascade, scenarios=scenarios, max_examples=4)
    assert report.config_sections == ("norm_cascade",)
    assert report.runs >= 2


# -- moral authority: international support weighs in every appeal before the cascade ----------


class Prober:
    """Presses ``target`` on ``issue`` with 1.0 on each of ``days`` and keeps
    the amount the modifiers let through."""

    normflow_plugin_name = "prober"

    def __init__(self, target: str, issue: str, *days: float):
        self.target, self.issue, self.days = target, issue, days
        self.applied: list[float] = []

    @normflow.hookimpl
    def normflow_register_processes(self, sim, register):
        def press():
            for day in self.days:
                yield sim.env.timeout(day - sim.env.now)
                self.applied.append(
                    sim.apply_pressure(sim.env.now, "t", self.target, self.issue, "test", "moral", 1.0)
                )

        register("prober", press)


@examples(ci=15, thorough=300)
@given(st.floats(0.0, 10.0), st.floats(0.0, 0.3))
def test_moral_authority_weighs_pressure_on_a_non_adopter_by_international_support(authority, initial):
    """Before any state acts the weight is 1 + authority x initial support;
    once another state adopts, support and the weight rise; pressure on a
    state that has adopted is never weighed."""
    probe_b = Prober("b", "rights-b", 5, 50)
    probe_a = Prober("a", "rights-a", 50)
    probe_a.normflow_plugin_name = "prober-a"
    text = scenario(
        years=1,
        initial_support=initial,
        moral_authority=authority,
        tipping_threshold=0.99,
        internalization_threshold=0.995,
    )
    simulate(text, [normflow_norm_cascade, Script(("policy", 10, "a", "rights-a")), probe_b, probe_a])
    before, after = probe_b.applied
    assert before == pytest.approx(1.0 + authority * initial, rel=1e-12)
    support = initial + (1.0 - initial) / 3
    assert after == pytest.approx(1.0 + authority * support, rel=1e-12)
    assert after >= before >= 1.0
    assert probe_a.applied == [1.0]  # a adopted on day 10


def test_without_moral_authority_no_pressure_modifier_is_registered():
    probe = Prober("b", "rights-b", 5)
    sim, _ = simulate(scenario(years=1, initial_support=0.5), [normflow_norm_cascade, probe])
    assert probe.applied == [1.0]
    assert not sim._pressure_mods


def test_each_milestone_publishes_an_event_caused_by_the_decision_that_reached_it():
    """normflow explain follows the cascade's milestones back to the national
    decision: a PhaseChanged event of machine norm_cascade, caused by it."""
    from plugin_helpers import Recorder

    from normflow.explain import explain_events

    recorder = Recorder(events.PolicyChanged, events.PhaseChanged)
    text = scenario(years=2, tipping_threshold=0.3, internalization_threshold=0.6)
    simulate(
        text,
        [
            normflow_norm_cascade,
            Script(("policy", 30, "a", "rights-a"), ("policy", 60, "b", "rights-b")),
            recorder,
        ],
    )
    changes = recorder.of(events.PhaseChanged, machine="norm_cascade")
    assert [(e.phase, e.subject, e.t) for e in changes] == [
        ("tipping", "", 30),
        ("internalization", "", 60),
    ]
    policy = {e.state: e.id for e in recorder.of(events.PolicyChanged)}
    assert [e.causes for e in changes] == [(policy["a"],), (policy["b"],)]
    rows = [e.to_dict() for e in recorder.events]
    chain = explain_events(rows, "norm_cascade.internalization")["chain"]
    assert chain["kind"] == "phase_changed" and chain["causes"][0]["kind"] == "policy_changed"


def visit_window(authority: float):
    """test_diet's window: a Diet that sits all year; politics is national
    support (0.3) under a threshold of 0.45 until a state visit of strength 2
    adds 0.2: the visit opens the window, the margin decides how soon it is
    used. International support 0.3 with ``authority`` moral authority."""
    from helpers import diet_window

    from normflow.scenario import scenario_from_dict

    data = diet_window()
    data["plugins"] = {"norm_cascade": {"initial_support": 0.3, "moral_authority": authority}}
    return scenario_from_dict(data)


@examples(ci=5, thorough=100)
@given(st.floats(0.1, 5.0), st.integers(0, 2**32 - 1))
def test_moral_authority_never_places_the_issue_later_and_can_place_it_sooner(authority, seed):
    """The route to the agenda before the agenda: the visit's appeal weighs
    more under international support, the politics margin widens, and the
    streams are coupled no later (paired seeds)."""

    def day(a: float) -> float:
        sim = normflow.Simulation(visit_window(a), seed, plugins=[normflow_norm_cascade], autoload=False)
        return sim.run().milestones["agenda_placed"]

    without, with_ = day(0.0), day(authority)
    if without is not None:
        assert with_ is not None and with_ <= without


def test_moral_authority_places_the_issue_sooner_on_average():
    def mean_day(a: float) -> float:
        s = visit_window(a)
        days = [
            normflow.Simulation(s, seed, plugins=[normflow_norm_cascade], autoload=False)
            .run()
            .milestones["agenda_placed"]
            for seed in range(6)
        ]
        days = [s.horizon if d is None else d for d in days]  # restricted mean
        return sum(days) / len(days)

    assert mean_day(3.0) < mean_day(0.0)
