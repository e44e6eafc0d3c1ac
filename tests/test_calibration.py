"""ABC-SMC calibration (pyabc) on a tiny scenario (tests/data/tiny-targets.toml:
21 local governments and 17 groups over four years, one dated target), whose
runs take a few milliseconds: what is tested (outputs, replay, determinism on
any number of workers, resume, budgets, replications) does not depend on the
scenario's size. The shipped posteriors of the cases are checked last."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyabc")

from normflow.calibration import CalibrationError, calibrate, replay  # noqa: E402
from normflow.paramspec import parameter_spec_from_dict  # noqa: E402
from normflow.scenario import load_scenario  # noqa: E402
from normflow.targets import statistics  # noqa: E402

TINY = str(Path(__file__).parent / "data" / "tiny-targets.toml")
SPEC_DICT = {
    "scenario": "tiny-targets",
    "parameters": [
        {
            "name": "politics_threshold",
            "path": "processes.agenda.politics_threshold",
            "prior": "uniform",
            "low": 0.3,
            "high": 0.8,
            "reason": "test: gates the agenda (the target's milestone)",
        },
        {
            "name": "contact_rate",
            "path": "processes.information.contact_rate",
            "prior": "log-uniform",
            "low": 1.0,
            "high": 24.0,
            "reason": "test",
        },
    ],
}
SPEC = parameter_spec_from_dict(SPEC_DICT, file="test-spec")
NAMES = ["politics_threshold", "contact_rate"]


def run(out, **kw):
    # figures only where they are checked: matplotlib costs more than the runs here
    options = {"population": 8, "generations": 2, "seed": 5, "figures": False, **kw}
    return calibrate(TINY, SPEC, out, **options)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    return run(tmp_path_factory.mktemp("cal") / "straight", figures=True)


def test_calibration_writes_its_outputs(straight):
    d = straight.directory
    summary = json.loads((d / "calibration.json").read_text())
    assert summary["scenario"] == "tiny-targets"
    assert summary["generations"] == 2
    assert summary["runs"] >= 2 * 8
    assert len(summary["epsilon"]) == 2 and summary["epsilon"][1] <= summary["epsilon"][0]
    names = [p["name"] for p in summary["parameters"]]
    assert names == NAMES
    for p in summary["parameters"]:
        post = p["posterior"]
        assert p["prior"]["low"] <= post["low"] <= post["median"] <= post["high"] <= p["prior"]["high"]
    table = pd.read_csv(d / "posterior.csv")
    assert len(table) == 8 and table["weight"].sum() == pytest.approx(1.0)
    assert (d / "history.db").stat().st_size > 0
    assert (d / "figures" / "posterior.png").exists() and (d / "figures" / "epsilon.png").exists()
    # the calibrated scenario loads and holds the posterior medians
    calibrated = load_scenario(d / "tiny-targets-calibrated.toml")
    median = summary["parameters"][0]["posterior"]["median"]
    assert calibrated.processes.agenda.politics_threshold == pytest.approx(median)
    assert "posterior" in (d / "tiny-targets-calibrated.toml").read_text().split("\n\n")[0]


def test_a_particle_replays_exactly(straight):
    import pyabc

    history = pyabc.History(f"sqlite:///{straight.directory / 'history.db'}")
    weights, sum_stats = history.get_weighted_sum_stats(t=history.max_t)
    frame, _ = history.get_distribution(m=0, t=history.max_t)
    values = frame.iloc[0].to_dict()
    again = statistics(load_scenario(TINY).targets, replay(TINY, SPEC, values, seed=5))
    stored = history.get_population(t=history.max_t).particles
    particle = next(p for p in stored if all(p.parameter[k] == v for k, v in values.items()))
    assert again == pytest.approx(dict(particle.sum_stat))


def test_same_seed_same_posterior_on_any_number_of_workers(straight, tmp_path):
    again = run(tmp_path / "pool", workers=2)
    a = pd.read_csv(straight.directory / "posterior.csv")
    b = pd.read_csv(again.directory / "posterior.csv")
    cols = [*NAMES, "weight"]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())
    other = run(tmp_path / "other-seed", seed=6, generations=1)
    c = pd.read_csv(other.directory / "posterior.csv")
    assert not np.array_equal(a[cols[:2]].to_numpy(), c[cols[:2]].to_numpy())


def test_a_local_dask_scheduler_gives_the_same_posterior(straight, tmp_path):
    # --scheduler local: a Dask cluster on loopback, started and closed by the run
    pytest.importorskip("distributed")
    dask = run(tmp_path / "dask", scheduler="local")
    a = pd.read_csv(straight.directory / "posterior.csv")
    b = pd.read_csv(dask.directory / "posterior.csv")
    cols = [*NAMES, "weight"]
    np.testing.assert_array_equal(a[cols].to_numpy(), b[cols].to_numpy())


def test_resume_continues_where_it_stopped(straight, tmp_path):
    first = run(tmp_path / "r", generations=1)
    assert first.summary["generations"] == 1
    with pytest.raises(CalibrationError, match="--resume"):
        run(tmp_path / "r", generations=2)
    resumed = run(tmp_path / "r", generations=2, resume=True)
    assert resumed.summary["generations"] == 2
    a = pd.read_csv(straight.directory / "posterior.csv")
    b = pd.read_csv(resumed.directory / "posterior.csv")
    np.testing.assert_allclose(a["politics_threshold"], b["politics_threshold"])
    with pytest.raises(CalibrationError, match="different calibration"):
        run(tmp_path / "r", generations=3, resume=True, population=9)


def test_each_stored_generation_records_its_runs_in_the_manifest(tmp_path):
    # a command killed between generations (SIGTERM, SIGKILL: no handler runs)
    # leaves a manifest that counts every stored generation's runs
    seen = []

    def on_generation(t, eps, acceptance):
        seen.append(json.loads((tmp_path / "g" / "manifest.json").read_text())["computed"])

    result = run(tmp_path / "g", generations=2, on_generation=on_generation)
    assert len(seen) == 2
    assert 8 <= seen[0] < seen[1] == result.summary["runs"]


def test_resume_from_another_checkout_compares_contents_not_paths(tmp_path):
    # the same spec read from another place (a moved or re-cloned directory) resumes;
    # its parameters, compared by content, must still match
    import attrs

    run(tmp_path / "m", generations=1)
    moved = attrs.evolve(SPEC, source="/elsewhere/spec.toml")
    resumed = calibrate(
        TINY, moved, tmp_path / "m", population=8, generations=2, seed=5, figures=False, resume=True
    )
    assert resumed.summary["generations"] == 2
    narrower = parameter_spec_from_dict(
        {
            "parameters": [
                {**p, "high": 0.7} if p["name"] == "politics_threshold" else p
                for p in SPEC_DICT["parameters"]
            ]
        },
        file="/elsewhere/spec.toml",
    )
    with pytest.raises(CalibrationError, match="parameters"):
        calibrate(
            TINY, narrower, tmp_path / "m", population=8, generations=3, seed=5, figures=False, resume=True
        )


def test_a_scenario_without_targets_is_refused(tmp_path):
    spec = parameter_spec_from_dict(
        {
            "parameters": [
                {
                    "path": "processes.agenda.politics_threshold",
                    "prior": "uniform",
                    "low": 0.2,
                    "high": 0.8,
                    "reason": "r",
                }
            ]
        }
    )
    with pytest.raises(CalibrationError, match="no \\[\\[targets\\]\\]"):
        calibrate("minimal", spec, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_validate_draws_parameters_from_the_posterior(straight, tmp_path):
    from normflow.schema import ScenarioError
    from normflow.validate import posterior_draws, validate

    table = pd.read_csv(straight.directory / "posterior.csv")
    draws = posterior_draws(straight.directory, 20, 0, "tiny-targets")
    path = "processes.agenda.politics_threshold"
    assert len(draws) == 20 and {d[path] for d in draws} <= set(table["politics_threshold"])
    assert draws == posterior_draws(straight.directory, 20, 0, "tiny-targets")
    report = validate(load_scenario(TINY), 3, posterior=straight.directory, null=False)
    assert report.posterior == str(straight.directory)
    assert [f.kind for f in report.facts].count("target") == 1
    with pytest.raises(ScenarioError, match="a calibration of minimal"):
        posterior_draws(straight.directory, 2, 0, "minimal")
    with pytest.raises(ScenarioError, match="posterior.csv"):
        posterior_draws(tmp_path, 2, 0, "tiny-targets")


def test_max_runs_caps_all_generations_together(tmp_path):
    done = run(tmp_path / "capped", generations=5, max_runs=40)
    assert done.summary["evaluations"] <= 40
    assert 1 <= done.summary["generations"] < 5


def test_replications_judge_a_particle_on_all_its_runs(tmp_path):
    import pyabc

    from normflow.targets import replicate_key, replicated_distance, target_name

    done = run(tmp_path / "rep", generations=1, population=4, replications=3)
    assert done.summary["replications"] == 3 and done.summary["runs"] >= 3 * 4
    history = pyabc.History(f"sqlite:///{done.directory / 'history.db'}")
    particle = history.get_population(t=0).particles[0]
    values = dict(particle.parameter)
    targets = tuple(t for t in load_scenario(TINY).targets if not t.descriptive)
    # each stored replication is the particle's run k, replayed exactly
    for k in range(3):
        again = statistics(targets, replay(TINY, SPEC, values, seed=5, replication=k))
        assert {replicate_key(n, k): v for n, v in again.items()} == pytest.approx(
            {key: particle.sum_stat[key] for key in (replicate_key(target_name(t), k) for t in targets)}
        )
    # replications have their own seeds (replication 0 keeps the one-run seed)
    from normflow.calibration.model import particle_seed

    seeds = [particle_seed(5, values, SPEC.names, k).generate_state(2).tolist() for k in range(3)]
    assert len({tuple(s) for s in seeds}) == 3
    assert seeds[0] == particle_seed(5, values, SPEC.names).generate_state(2).tolist()
    # the distance is over all of them
    obs = {target_name(t): t.observed(load_scenario(TINY).start) for t in targets}
    assert particle.distance == pytest.approx(replicated_distance(targets, dict(particle.sum_stat), obs, 3))
    with pytest.raises(CalibrationError, match="different calibration"):
        run(tmp_path / "rep", generations=2, population=4, replications=2, resume=True)


def test_the_shipped_posteriors_fit_their_cases_and_validate_by_name():
    from normflow.paramspec import load_parameter_spec, scenario_data
    from normflow.validate import bundled_posteriors, posterior_draws, resolve_posterior, validate

    shipped = bundled_posteriors()
    assert "kitakyushu-dalian" in shipped
    for case, directory in shipped.items():
        manifest = json.loads((directory / "manifest.json").read_text())
        summary = json.loads((directory / "calibration.json").read_text())
        assert manifest["scenario"] == summary["scenario"] == case
        # the posterior's parameters are the case's shipped spec, and they reach the scenario's fields
        spec = load_parameter_spec(case).bind(*scenario_data(case)[::2])
        assert [p["path"] for p in manifest["parameters"]] == [p.path for p in spec.parameters]
        table = pd.read_csv(directory / "posterior.csv")
        assert table["weight"].sum() == pytest.approx(1.0) and len(table) == summary["population"]
        for p in spec.parameters:
            lo, hi = p.support()
            assert ((table[p.label] >= lo) & (table[p.label] <= hi)).all(), p.label
        assert resolve_posterior(case) == directory
        assert len(posterior_draws(case, 3, 0, case)) == 3
    report = validate(load_scenario("kitakyushu-dalian"), 2, posterior="kitakyushu-dalian", null=False)
    assert report.posterior == "kitakyushu-dalian"


def test_a_posterior_draw_sets_plugin_parameters_too(tmp_path):
    from normflow.validate import validate

    # a posterior that puts the mobilisations through Dalian ten years apart: the channel
    # (first used at the first mobilisation after the 1993 proposal) is then used only in 1998
    path = "plugins.local_diplomacy.interval_days"
    manifest = {"scenario": "kitakyushu-dalian", "parameters": [{"name": "interval_days", "path": path}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    pd.DataFrame({"interval_days": [3650.0], "weight": [1.0]}).to_csv(tmp_path / "posterior.csv", index=False)
    scenario = load_scenario("kitakyushu-dalian")
    drawn = validate(scenario, 2, posterior=tmp_path, null=False)
    plain = validate(scenario, 2, null=False)
    channel = "channel_used:local_diplomacy:kitakyushu>dalian"
    median = {m.name: m.median for m in drawn.milestones}[channel]
    assert median is not None and median >= "1998-01-01"
    assert {m.name: m.median for m in plain.milestones}[channel] < "1995-01-01"


def test_stop_at_targets_runs_the_same_run_up_to_the_targets_horizon(straight, tmp_path):
    import datetime as dt

    from normflow.calibration.model import ParticleModel
    from normflow.calibration.run import censoring_bound, targets_horizon
    from normflow.paramspec import scenario_data
    from normflow.scenario import scenario_from_dict

    data, _, file = scenario_data(TINY)
    base = scenario_from_dict(data, file=file)
    # the agenda target (1992-07-01, to the year): nothing after 1993-07-01 can meet it
    horizon = targets_horizon(base.targets, base.scenario.end)
    assert horizon == dt.date(1993, 7, 1) < base.scenario.end
    spec = SPEC.bind(data, file)
    full = ParticleModel(data, file, spec, base.targets, 5)
    cut = ParticleModel(data, file, spec, base.targets, 5, until=horizon)
    day = float((horizon - base.start).days)
    censored = reached = 0
    for threshold in (0.3, 0.45, 0.6, 0.8):
        values = {"politics_threshold": threshold, "contact_rate": 4.0}
        a, b = full.run(values), cut.run(values)
        assert b.end == horizon
        # the same run up to the horizon: every milestone reached by then, on the same day
        early = {k: t for k, t in a.milestones.items() if t is not None and t <= day}
        assert {k: t for k, t in b.milestones.items() if t is not None} == early
        (sa,), (sb,) = full(values).values(), cut(values).values()
        if sa <= day:
            assert sb == sa
            reached += 1
        else:
            assert sb == day  # censored at the horizon, not at the scenario's end
            censored += 1
    assert reached and censored
    # a censored run deviates by at least one tolerance whichever way it is censored
    assert censoring_bound(base.targets, horizon, base.start, 1, "rms") == pytest.approx(1.0)
    assert censoring_bound(base.targets, horizon, base.start, 4, "max") == pytest.approx(0.5)
    stopped = run(tmp_path / "stop", stop_at_targets=True)
    summary = json.loads((stopped.directory / "calibration.json").read_text())
    assert summary["horizon"] == {"date": "1993-07-01", "exact_below": pytest.approx(1.0)}
    assert json.loads((stopped.directory / "manifest.json").read_text())["horizon"] == "1993-07-01"
    assert json.loads((straight.directory / "calibration.json").read_text())["horizon"] is None
    with pytest.raises(CalibrationError, match="horizon"):
        run(tmp_path / "stop", generations=3, resume=True)


def test_the_local_transition_is_recorded_and_weights_give_an_effective_sample_size(straight, tmp_path):
    local = run(tmp_path / "local", transition="local")
    summary = json.loads((local.directory / "calibration.json").read_text())
    assert summary["transition"] == "local"
    for s in (summary, straight.summary):
        assert len(s["ess"]) == 2
        assert s["ess"][0] == pytest.approx(8.0)  # the first generation's weights are equal
        assert 1.0 <= s["ess"][1] <= 8.0
    a = pd.read_csv(straight.directory / "posterior.csv")
    b = pd.read_csv(local.directory / "posterior.csv")
    assert not np.array_equal(a[NAMES].to_numpy(), b[NAMES].to_numpy())
    with pytest.raises(CalibrationError, match="transition"):
        run(tmp_path / "local", generations=3, resume=True)
    with pytest.raises(CalibrationError, match="--transition"):
        run(tmp_path / "bad", transition="uniform")


def test_log_space_samples_log_uniform_parameters_on_the_log_scale_and_replays(tmp_path):
    import pyabc

    logged = run(tmp_path / "log", log_space=True)
    summary = json.loads((logged.directory / "calibration.json").read_text())
    assert summary["log_space"] == ["contact_rate"]  # the spec's one log-uniform parameter
    history = pyabc.History(f"sqlite:///{logged.directory / 'history.db'}")
    frame, _ = history.get_distribution(m=0, t=history.max_t)
    table = pd.read_csv(logged.directory / "posterior.csv")
    # the history holds the log; posterior.csv the value the runs used
    np.testing.assert_allclose(np.log(table["contact_rate"]), frame["contact_rate"].to_numpy(), rtol=1e-12)
    assert ((table["contact_rate"] >= 1.0) & (table["contact_rate"] <= 24.0)).all()
    np.testing.assert_array_equal(table["politics_threshold"], frame["politics_threshold"].to_numpy())
    # a particle of posterior.csv replays to the statistics the calibration stored for it
    sampled = frame.iloc[0].to_dict()  # as pyabc sampled it (log scale)
    stored = history.get_population(t=history.max_t).particles
    particle = next(p for p in stored if all(p.parameter[k] == v for k, v in sampled.items()))
    again = statistics(
        load_scenario(TINY).targets, replay(TINY, SPEC, table.iloc[0][NAMES].to_dict(), seed=5)
    )
    assert again == pytest.approx(dict(particle.sum_stat))
    with pytest.raises(CalibrationError, match="log_space"):
        run(tmp_path / "log", generations=3, resume=True)
