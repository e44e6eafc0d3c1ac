"""The spiral plugin: one phase at a time forward, backsliding only from denial
and tactical concessions, habituation after prescriptive status."""

from __future__ import annotations

import normflow_spiral
import pytest
from normflow_spiral import PHASES
from plugin_helpers import Presser, Recorder, simulate, toml_value

import normflow
from normflow import events

YEAR = 365.0


def scenario(years: int = 10, **settings: object) -> str:
    """One state, one issue, no civil society: pressure comes only from the
    test's ``Presser``, so the schedule of pressure is exactly known."""
    config = "\n".join(f"{k} = {toml_value(v)}" for k, v in settings.items())
    return f"""
[scenario]
name = "spiral"
start = 1990-01-01
end = {1990 + years - 1}-12-31

[[states]]
id = "burma"
commitment = 0.5
practice = 0.1

[[issues]]
id = "detention"
state = "burma"
area = "bodily_harm"

[plugins.spiral]
{config}
"""


def phase_changes(text: str, presser: Presser, seed: int = 1):
    rec = Recorder(events.PhaseChanged)
    sim, result = simulate(text, [normflow_spiral, presser, rec], seed=seed)
    return sim, result, rec.of(events.PhaseChanged, machine="spiral")


def steps(changes) -> list[tuple[int, int]]:
    return [(PHASES.index(c.previous), PHASES.index(c.phase)) for c in changes]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_phases_move_forward_one_at_a_time_all_the_way(seed):
    text = scenario(habituation_days=YEAR)
    _, result, changes = phase_changes(text, Presser("burma", "detention", 2.0, 30, 0, 10 * YEAR), seed)
    assert steps(changes) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert result.milestones["spiral.rule_consistent:burma"] == changes[-1].t


class Bursts:
    """A year of pressure, then two of silence, again and again."""

    @normflow.hookimpl
    def normflow_register_processes(self, sim, register):
        def press():
            while sim.env.now + 3 * YEAR <= sim.horizon:
                for _ in range(12):
                    sim.apply_pressure(sim.env.now, "test", "burma", "detention", "test", "moral", 1.5)
                    yield sim.env.timeout(30)
                yield sim.env.timeout(2 * YEAR)

        register("bursts", press)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_on_and_off_pressure_never_skips_forward_and_slides_back_only_from_early_phases(seed):
    text = scenario(years=12, half_life=90, backslide_days=180, concessions_probability=0.3)
    _, result, changes = phase_changes(text, Bursts(), seed)
    moves = steps(changes)
    assert all(after - before in (1, -1) for before, after in moves)
    backward = [(before, after) for before, after in moves if after < before]
    assert backward, "the test needs pressure that stops long enough to slide back"
    assert {PHASES[before] for before, _ in backward} <= {"denial", "tactical_concessions"}
    assert result.metrics["spiral.backslides"] == len(backward)


def test_prescriptive_status_holds_without_pressure_and_practice_converges():
    def run(habituation_days: float):
        text = scenario(
            years=12,
            denial_probability=1.0,
            concessions_probability=1.0,
            prescriptive_probability=1.0,
            habituation_days=habituation_days,
            practice_half_life=YEAR,
        )
        # one year of heavy pressure, then eleven of nothing at all
        return phase_changes(text, Presser("burma", "detention", 10.0, 30, 0, YEAR))

    sim, result, changes = run(habituation_days=2 * YEAR)
    assert [c.phase for c in changes] == list(PHASES[1:])
    habitual = sim.world.stance("burma", "detention")
    assert habitual.commitment == pytest.approx(0.9)
    assert habitual.commitment - habitual.position < 0.01
    assert result.metrics["spiral.phase.burma.detention"] == "rule_consistent"

    sim, result, changes = run(habituation_days=30 * YEAR)
    assert [c.phase for c in changes] == list(PHASES[1:4])  # holds, never slides back
    assert sim.world.stance("burma", "detention").position < habitual.position - 0.1


def test_tactical_concessions_raise_stated_commitment():
    text = scenario(years=3, prescriptive_threshold=1e6, concession_commitment=0.2, backslide_days=5000)
    sim, _, changes = phase_changes(text, Presser("burma", "detention", 2.0, 30, 0, 3 * YEAR))
    assert [c.phase for c in changes] == ["denial", "tactical_concessions"]
    assert sim.world.stance("burma", "detention").commitment == pytest.approx(0.7)


def test_no_pressure_no_movement():
    _, result, changes = phase_changes(scenario(), Presser("burma", "detention", 0.0, 30, 0, 0))
    assert changes == []
    assert result.metrics["spiral.phase.burma.detention"] == "repression"


def test_a_state_can_start_in_a_later_phase():
    text = scenario(years=2, start_phases={"burma": "prescriptive_status"}, habituation_days=YEAR)
    _, _, changes = phase_changes(text, Presser("burma", "detention", 0.0, 30, 0, 0))
    assert steps(changes) == [(3, 4)]


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"denial_threshold": 10.0, "concessions_threshold": 5.0}, "plugins.spiral"),
        ({"backslide_threshold": 2.0}, "plugins.spiral"),
        ({"start_phase": "revolution"}, "plugins.spiral.start_phase"),
        ({"start_phases": {"burma": "revolution"}}, "plugins.spiral"),
        ({"start_phases": {"mars": "denial"}}, "plugins.spiral.start_phases.mars"),
        ({"half_life": 0}, "plugins.spiral.half_life"),
    ],
)
def test_a_bad_spiral_setting_is_a_scenario_error_naming_where(settings, where):
    with pytest.raises(normflow.ScenarioError) as err:
        simulate(scenario(**settings), [normflow_spiral])
    assert err.value.path == where


def test_each_check_takes_the_uniforms_one_draw_per_check_would_give(monkeypatch):
    # Spiral.run draws the uniforms of CHECKS_PER_DRAW checks at once; every check
    # (more of them than one draw holds) still gets the numbers of one draw of a
    # uniform per machine, from the spiral's own stream
    seen: list[tuple[float, float]] = []
    step = normflow_spiral.Spiral._step

    def recording(self, m, t, habit, u):
        seen.append((t, u))
        return step(self, m, t, habit, u)

    monkeypatch.setattr(normflow_spiral.Spiral, "_step", recording)
    sim, _ = simulate(scenario(years=8), [normflow_spiral], seed=4)
    checks = sorted({t for t, _ in seen})
    assert len(checks) > normflow_spiral.CHECKS_PER_DRAW
    fresh = normflow.rng.Streams(4)("spiral")
    assert [u for _, u in seen] == [float(fresh.random(1)[0]) for _ in checks]
