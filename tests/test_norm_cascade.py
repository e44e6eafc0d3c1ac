"""The norm cascade plugin: national decisions (and only they) raise
international support; past the tipping point the states still outside are
socialized toward the norm."""

from __future__ import annotations

import normflow_norm_cascade
import pytest
from plugin_helpers import simulate, toml_value

import normflow
from normflow import events

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
