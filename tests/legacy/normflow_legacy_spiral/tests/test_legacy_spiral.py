"""The legacy spiral's own tests, in the first edition's style: the plugin
passed by hand with autoload=False, the bundled minimal scenario, a scripted
pressure plugin, check_plugin with its first-edition arguments."""

import normflow_legacy_spiral as plugin
import pytest

import normflow
from normflow.testing import EventRecorder, check_plugin

TEN_YEARS = 10 * 365


class Presses:
    """Presses Japan hard once a month, the way a third-party test would."""

    normflow_plugin_name = "presses"

    @normflow.hookimpl
    def normflow_register_processes(self, sim, register):
        def press():
            while sim.env.now + 30 <= sim.horizon:
                yield sim.env.timeout(30)
                sim.apply_pressure(sim.env.now, "korea", "japan", "local-suffrage", "test", "moral", 20.0)

        register("press", press)


def run(seed=1, **overrides):
    scenario = normflow.load_scenario("minimal", overrides=overrides)
    recorder = EventRecorder(normflow.events.PhaseChanged)
    sim = normflow.Simulation(scenario, seed, plugins=[plugin, Presses(), recorder], autoload=False)
    return sim.run(until=TEN_YEARS), recorder


def test_the_plugin_conforms():
    check_plugin(plugin, max_examples=3, phase_orders={"legacy_spiral": plugin.PHASES})


def test_sustained_pressure_moves_the_state_along_the_spiral():
    result, recorder = run()
    phases = [e.phase for e in recorder.events if e.machine == "legacy_spiral" and e.subject == "japan"]
    assert phases[:2] == ["denial", "tactical_concessions"]
    assert result.milestones["legacy_spiral.denial:japan"] is not None
    assert result.metrics["legacy_spiral.phase.japan.local-suffrage"] in plugin.PHASES[1:]


def test_a_bad_setting_is_reported_with_its_path():
    with pytest.raises(normflow.ScenarioError, match="plugins.legacy_spiral.check_days"):
        run(**{"plugins.legacy_spiral.check_days": 0})


def test_the_same_seed_gives_the_same_run():
    first, second = run(seed=5)[0], run(seed=5)[0]
    assert (first.milestones, first.metrics, first.final) == (second.milestones, second.metrics, second.final)
