"""The shaming plugin inside real runs of normflow's bundled ``minimal`` scenario."""

import normflow_shaming as plugin
import pytest

import normflow
from normflow.testing import check_plugin

THREE_YEARS = 3 * 365


# --8<-- [start:helper]
def run(seed=1, **overrides):
    scenario = normflow.load_scenario("minimal", overrides=overrides)
    # autoload=False: this plugin alone, whatever else is installed
    sim = normflow.Simulation(scenario, seed, plugins=[plugin], autoload=False)
    return sim.run(until=THREE_YEARS)


# --8<-- [end:helper]


# --8<-- [start:conformance]
def test_the_plugin_conforms():
    # "shaming" names the audience the pressure comes from, not an actor of
    # the scenario: the invariant checks are told to expect it
    check_plugin(plugin, extra_actors=["shaming"], max_examples=5)


# --8<-- [end:conformance]


# --8<-- [start:tests]
def test_a_state_whose_practice_falls_short_is_shamed():
    result = run()
    assert result.metrics["shaming.episodes"] > 0
    assert result.metrics["shaming.pressure"] > 0
    assert result.milestones["shamed:japan"] is not None


def test_no_shortfall_worth_shaming_means_no_campaign():
    result = run(**{"plugins.shaming.min_gap": 1.0})
    assert result.metrics["shaming.episodes"] == 0
    assert result.milestones["shamed:japan"] is None


def test_shaming_adds_pressure_on_the_state():
    base = normflow.Simulation(normflow.load_scenario("minimal"), 1, autoload=False).run(until=THREE_YEARS)
    shamed = run()
    assert shamed.counts["pressure_applied"] > base.counts["pressure_applied"]


def test_a_bad_config_value_is_reported_with_its_path():
    with pytest.raises(normflow.ScenarioError, match="plugins.shaming.rate"):
        run(**{"plugins.shaming.rate": -1})


def test_the_same_seed_gives_the_same_run():
    assert run(seed=7).to_dict() == run(seed=7).to_dict()


# --8<-- [end:tests]
