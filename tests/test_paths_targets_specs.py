"""Field paths, calibration targets and parameter specs."""

from __future__ import annotations

import datetime as dt
import tomllib

import numpy as np
import pytest

from normflow.calibration.outputs import to_toml, weighted_quantile
from normflow.paramspec import (
    apply_values,
    bundled_specs,
    load_parameter_spec,
    parameter_spec_from_dict,
    scenario_data,
)
from normflow.scenario import bundled_scenarios, load_scenario, scenario_from_dict
from normflow.schema import ScenarioError
from normflow.simulation import Simulation
from normflow.targets import CountTarget, MilestoneDate, distance, observed, parse_targets, statistics

# -- paths (the --set resolver, normflow.scenario) -------------------------------------


def test_spec_values_reach_one_state_and_one_named_actor():
    data, _, file = scenario_data("kitakyushu-dalian")
    spec = parameter_spec_from_dict(
        {
            "parameters": [
                {
                    "path": "local_governments.dalian.access",
                    "prior": "uniform",
                    "low": 0,
                    "high": 1,
                    "reason": "r",
                },
                {"path": "states.china.practice", "prior": "uniform", "low": 0, "high": 1, "reason": "r"},
                {
                    "path": "negotiations.dalian-aid.win_sets[1]",
                    "prior": "uniform",
                    "low": 0,
                    "high": 1,
                    "reason": "r",
                },
            ]
        }
    ).bind(data, file)
    s = scenario_from_dict(apply_values(data, spec, dict(zip(spec.names, [0.42, 0.33, 0.25], strict=True))))
    dalian = next(x for x in s.local_governments.named if x.id == "dalian")
    assert dalian.access == 0.42
    assert s.states[1].practice == 0.33
    assert s.negotiations[0].win_sets == (0.35, 0.25)
    # the other state and the other city are untouched, and so is the caller's data
    assert s.states[0].practice == 0.3
    assert next(x for x in s.local_governments.named if x.id == "kitakyushu").access == 0.8
    assert scenario_from_dict(data).states[1].practice == 0.1


def test_integer_fields_are_found_and_draws_rounded():
    data, _, file = scenario_data("kitakyushu-dalian")
    spec = parameter_spec_from_dict(
        {
            "parameters": [
                {
                    "path": "local_governments.dalian.population",
                    "prior": "uniform",
                    "low": 1e5,
                    "high": 1e6,
                    "reason": "r",
                }
            ]
        }
    ).bind(data, file)
    assert spec.parameters[0].integer
    assert spec.overrides([123456.7]) == {"local_governments.dalian.population": 123457}


# -- targets ----------------------------------------------------------------------------


def test_targets_measure_deviation_in_tolerances():
    s = load_scenario("kitakyushu-dalian")
    assert len(s.targets) == 2 and all(isinstance(t, MilestoneDate) for t in s.targets)
    assert s.targets[0].tolerance == 183.0  # a date known to the month
    result = Simulation(s, 3).run()
    stats = statistics(s.targets, result)
    obs = observed(s)
    t = s.targets[1]
    expected = abs(stats[t.name] - obs[t.name]) / t.tolerance  # the adoption: also to the month
    assert t.tolerance == 183.0
    assert t.deviation(stats[t.name], obs[t.name]) == pytest.approx(expected)
    assert t.holds(result) == (expected <= 1.0)
    assert distance(s.targets, obs, obs) == 0.0
    assert distance(s.targets, stats, obs) > 0.0


def test_count_target_uses_the_sources_range_on_each_side():
    (t,) = parse_targets(
        [{"count": "resolutions", "by": dt.date(2001, 12, 31), "value": 1450, "between": [1300, 1500]}]
    )
    assert isinstance(t, CountTarget)
    assert t.deviation(1500, 1450) == pytest.approx(1.0)
    assert t.deviation(1300, 1450) == pytest.approx(1.0)
    assert t.deviation(1375, 1450) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"milestone": "x", "date": dt.date(1993, 9, 15)}, "exactly one of precision"),
        ({"milestone": "x", "date": dt.date(1993, 9, 15), "precision": "week"}, "precision"),
        ({"count": "resolutions", "by": dt.date(2001, 1, 1), "value": 5}, "exactly one of tolerance"),
        ({"count": "bananas", "by": dt.date(2001, 1, 1), "value": 5, "tolerance": 1}, "one of"),
        (
            {"count": "resolutions", "by": dt.date(2001, 1, 1), "value": 5, "between": [6, 9]},
            "around the value",
        ),
    ],
)
def test_bad_targets_are_refused_with_the_entry(table, message):
    with pytest.raises(ScenarioError, match=message) as info:
        parse_targets([table])
    assert info.value.path.startswith("targets[0]")


# -- parameter specs ---------------------------------------------------------------------


def test_every_bundled_scenario_has_a_spec_that_binds():
    assert set(bundled_specs()) >= {"kitakyushu-dalian", "kawasaki-suffrage", "niigata-harbin", "minimal"}
    for name in bundled_specs():
        spec = load_parameter_spec(name)
        data, _, file = scenario_data(spec.scenario)
        bound = spec.bind(data, file)
        draws = bound.sample(50, np.random.default_rng(1))
        for j, p in enumerate(bound.parameters):
            lo, hi = p.support()
            assert (draws[:, j] >= lo).all() and (draws[:, j] <= hi).all()
            assert p.reason


def test_priors_follow_their_kind():
    spec = parameter_spec_from_dict(
        {
            "parameters": [
                {"path": "a", "prior": "log-uniform", "low": 1.0, "high": 100.0, "reason": "r"},
                {"path": "b", "prior": "beta", "a": 2.0, "b": 2.0, "low": 10.0, "high": 20.0, "reason": "r"},
                {"path": "c", "prior": "normal", "mean": 0.5, "sd": 0.1, "low": 0.4, "reason": "r"},
            ]
        }
    )
    x = spec.sample(4000, np.random.default_rng(0))
    assert np.median(x[:, 0]) == pytest.approx(10.0, rel=0.1)  # log-uniform: geometric midpoint
    assert np.median(x[:, 1]) == pytest.approx(15.0, rel=0.03)
    assert x[:, 2].min() >= 0.4


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "x", "prior": "uniform", "low": 1, "high": 2}, "reason"),
        ({"path": "x", "prior": "cauchy", "reason": "r"}, "one of uniform"),
        ({"path": "x", "prior": "uniform", "low": 2, "high": 1, "reason": "r"}, "above low"),
        ({"path": "x", "prior": "log-uniform", "low": 0, "high": 1, "reason": "r"}, "above 0"),
        ({"path": "x", "prior": "normal", "mean": 0, "reason": "r"}, "needs mean and sd"),
        ({"path": "x", "prior": "uniform", "low": 0, "high": 1, "sd": 1, "reason": "r"}, "no sd"),
        ({"path": "x..y", "prior": "uniform", "low": 0, "high": 1, "reason": "r"}, "dotted path"),
    ],
)
def test_bad_specs_name_the_entry(entry, message):
    with pytest.raises(ScenarioError, match=message) as info:
        parameter_spec_from_dict({"parameters": [entry]}, file="spec.toml")
    assert info.value.path.startswith("parameters[0]") and "spec.toml" in str(info.value)


def test_binding_refuses_a_path_or_prior_the_scenario_cannot_take():
    data, _, file = scenario_data("kitakyushu-dalian")
    missing = parameter_spec_from_dict(
        {
            "parameters": [
                {"path": "states.korea.practice", "prior": "uniform", "low": 0, "high": 1, "reason": "r"}
            ]
        }
    )
    with pytest.raises(ScenarioError, match=r"parameters\[0\].*\(japan, china\)"):
        missing.bind(data, file)
    too_wide = parameter_spec_from_dict(
        {
            "parameters": [
                {"path": "states.china.practice", "prior": "uniform", "low": 0, "high": 2, "reason": "r"}
            ]
        }
    )
    with pytest.raises(ScenarioError, match=r"parameters\[0\].*accepts at states\.china\.practice"):
        too_wide.bind(data, file)


# -- the TOML writer and weighted quantiles ----------------------------------------------


@pytest.mark.parametrize("name", sorted(bundled_scenarios()))
def test_scenarios_written_back_read_the_same(name):
    data, _, _ = scenario_data(name)
    assert tomllib.loads(to_toml(data)) == data


def test_weighted_quantile_follows_the_weights():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_quantile(values, np.ones(4), 0.5) == pytest.approx(2.5)
    assert weighted_quantile(values, np.array([0.0, 0.0, 0.0, 1.0]), 0.5) == pytest.approx(4.0)
    assert weighted_quantile(values, np.array([10.0, 1.0, 1.0, 1.0]), 0.5) < 1.5


def test_the_max_distance_lets_no_target_make_up_for_another():
    from normflow.targets import replicate_key, replicated_distance, target_name

    s = load_scenario("kitakyushu-dalian")
    a, b = s.targets
    obs = observed(s)
    # two runs: target a met exactly in both, target b missed by 1.5 and 0.5 tolerances
    sim = {
        replicate_key(target_name(a), 0): obs[a.name],
        replicate_key(target_name(a), 1): obs[a.name],
        replicate_key(target_name(b), 0): obs[b.name] + 1.5 * b.tolerance,
        replicate_key(target_name(b), 1): obs[b.name] - 0.5 * b.tolerance,
    }
    b_rms = ((1.5**2 + 0.5**2) / 2) ** 0.5
    assert replicated_distance(s.targets, sim, obs, 2, "max") == pytest.approx(b_rms)
    assert replicated_distance(s.targets, sim, obs, 2) == pytest.approx((b_rms**2 / 2) ** 0.5)
    assert (
        replicated_distance(s.targets, sim, obs, 2) < 1.0 < replicated_distance(s.targets, sim, obs, 2, "max")
    )
