"""Hypotheses over parameter draws: draws from the spec's priors, runs
paired within a draw, the share of parameter space supporting each
hypothesis, the PRIM failure region, and the command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from normflow.cli import cli
from normflow.hypotheses.arms import Arm
from normflow.hypotheses.draws import draw_values, reading, run_over_draws
from normflow.hypotheses.effects import SUPPORTED
from normflow.hypotheses.params import load_spec, spec_path
from normflow.hypotheses.prim import failure_region, peel
from normflow.hypotheses.running import simulation_of
from normflow.scenario import loads_scenario, resolve_scenario_path
from normflow.store import Store

SEED = 5


@pytest.fixture(scope="module")
def h1(tmp_path_factory):
    """H1 on niigata-harbin over three draws, four paired runs each."""
    out = tmp_path_factory.mktemp("draws")
    result = run_over_draws(
        ["H1"], out, draws=3, replications=4, seed=SEED, workers=1, scenarios=["niigata-harbin"]
    )
    return out, result


def bound(name: str):
    path = resolve_scenario_path(name)
    return load_spec(spec_path(name), path.read_text(encoding="utf-8"), str(path))


# -- PRIM ----------------------------------------------------------------------------


def test_prim_finds_the_region_where_failures_lie():
    rng = np.random.default_rng(0)
    x = rng.random((200, 3))
    y = (x[:, 1] > 0.7).astype(float)  # fails where b is high, whatever a and c
    box = peel(x, y, ["a", "b", "c"])
    [(name, low, high)] = box.restricted()
    assert name == "b" and high is None and 0.6 < low <= 0.71
    assert box.density == 1.0 and box.coverage > 0.9
    assert "b above" in failure_region(x, y, ["a", "b", "c"])


def test_prim_says_nowhere_and_everywhere_plainly():
    x = np.random.default_rng(1).random((10, 2))
    assert failure_region(x, np.zeros(10), ["a", "b"]).startswith("nowhere")
    assert failure_region(x, np.ones(10), ["a", "b"]).startswith("everywhere")
    assert peel(x, np.zeros(10), ["a", "b"]) is None


def test_the_share_is_read_in_words():
    assert reading(0.9) == "holds almost everywhere"
    assert reading(0.0) == "does not hold"


# -- draws -----------------------------------------------------------------------------


def test_draws_follow_the_spec_and_the_seed():
    spec = bound("generic")
    a = draw_values(spec, 5, SEED, "generic")
    assert a.shape == (5, len(spec.names))
    np.testing.assert_array_equal(a, draw_values(spec, 5, SEED, "generic"))
    assert not np.array_equal(a, draw_values(spec, 5, SEED + 1, "generic"))
    for j, p in enumerate(spec.parameters):
        lo, hi = p.support()
        assert np.all((a[:, j] >= lo) & (a[:, j] <= hi)), p.label
    assert len({tuple(row) for row in a}) == 5


def test_each_draw_runs_its_parameters_and_pairs_the_arms_by_seed(h1):
    from normflow.hypotheses.draws import posterior_of, posterior_values

    out, _ = h1
    # the case's shipped posterior when there is one (calib ships niigata-harbin's), else the spec's priors
    posterior = posterior_of("niigata-harbin", {})
    if posterior is not None:
        spec, values = posterior_values(posterior, 3, SEED, "niigata-harbin")
    else:
        spec = bound("niigata-harbin")
        values = draw_values(spec, 3, SEED, "niigata-harbin")
    for i in range(3):
        [with_dir] = (out / "runs" / "niigata-harbin").glob(f"d{i}-*/role1")
        [without_dir] = (out / "runs" / "niigata-harbin").glob(f"d{i}-*/role0")
        manifest = Store(with_dir).read_manifest()
        applied = manifest["spec"]["overrides"]
        for path, value in spec.overrides(values[i]).items():
            assert applied[path] == pytest.approx(value)
        a, b = Store(with_dir).table(), Store(without_dir).table()
        assert list(a["replication"]) == list(b["replication"]) == [0, 1, 2, 3]
        assert list(a["spawn_key"]) == list(b["spawn_key"]) == ["0", "1", "2", "3"]
    # the stored row is the run of that draw's parameters with the k-th child seed
    path = resolve_scenario_path("niigata-harbin")
    scenario = loads_scenario(
        path.read_text(encoding="utf-8"), str(path), overrides=spec.overrides(values[2])
    )
    plain = simulation_of(scenario, Arm(1.0), 1, SEED).run()
    [with_dir] = (out / "runs" / "niigata-harbin").glob("d2-*/role1")
    row = Store(with_dir).table().set_index("replication").loc[1]
    checked = 0
    for name, t in plain.milestones.items():
        if f"{name}_censored" in row.index:
            assert bool(row[f"{name}_censored"]) == (t is None)
            checked += 1
    assert checked > 0


def test_the_share_supporting_counts_the_draws_whose_verdict_is_supported(h1):
    out, result = h1
    draws = pd.read_csv(out / "draws.csv")
    support = pd.read_csv(out / "support.csv")
    assert set(support["hypothesis"]) == {"H1"} and set(support["scenario"]) == {"niigata-harbin"}
    for row in support.itertuples():
        mine = draws[(draws.outcome == row.outcome) & (draws.measure == row.measure)]
        assert len(mine) == row.draws == 3
        assert row.supported == int((mine.verdict == SUPPORTED).sum())
        assert row.share_supported == pytest.approx(row.supported / 3)
        assert row.q05 <= row.q50 <= row.q95
        assert isinstance(row.fails_where, str) and row.fails_where
    assert result.share("H1", "niigata-harbin") == support.share_supported.iloc[0]
    # every draw's parameter values are in its rows
    from normflow.hypotheses.draws import posterior_of, posterior_values

    posterior = posterior_of("niigata-harbin", {})  # named by path when drawn from a shipped posterior
    names = (
        posterior_values(posterior, 1, SEED, "niigata-harbin")[0].names
        if posterior is not None
        else bound("niigata-harbin").names
    )
    assert {c for c in draws.columns if c.startswith("param.")} == {f"param.{n}" for n in names}


def test_stored_draws_are_reused(h1, tmp_path):
    out, result = h1
    seen = []
    again = run_over_draws(
        ["H1"],
        out,
        draws=3,
        replications=4,
        seed=SEED,
        workers=1,
        scenarios=["niigata-harbin"],
        progress=seen.append,
    )
    assert again.support == result.support


def test_a_scenario_without_a_spec_is_one_clear_error(tmp_path, monkeypatch):
    import normflow.hypotheses.draws as draws

    monkeypatch.setattr(draws, "spec_path", lambda name: None)
    monkeypatch.setattr(draws, "posterior_of", lambda name, given: None)  # no shipped posterior either
    with pytest.raises(Exception, match="parameter spec"):
        run_over_draws(["H1"], tmp_path, draws=1, replications=1, workers=1, scenarios=["niigata-harbin"])


def test_the_command_reports_the_share_of_parameter_space(h1):
    out, _ = h1
    done = CliRunner().invoke(
        cli,
        ["hypotheses", "H1", "--draws", "3", "-n", "4", "--seed", str(SEED), "--out", str(out),
         "--workers", "1", "--scenario", "niigata-harbin"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "share of parameter space" in done.output and "niigata-harbin" in done.output
    assert "0 runs computed now" in done.output  # all reused
    assert "policy: share reached" in done.output  # the grid of shares, a column per scenario


def test_the_share_grid_has_a_row_per_hypothesis_and_outcome_and_a_column_per_scenario():
    from normflow.hypotheses.tables import share_grid

    def row(h, scenario, outcome, measure, supported, draws):
        return {"hypothesis": h, "scenario": scenario, "outcome": outcome, "measure": measure,
                "supported": supported, "draws": draws, "share_supported": supported / draws}  # fmt: skip

    support = [
        row("H1", "kitakyushu-dalian", "policy_changed:japan", "share reached", 5, 6),
        row("H1", "niigata-harbin", "policy_changed:china", "share reached", 0, 6),
        row("H3", "kawasaki-suffrage", "international norm support", "time-averaged support", 2, 8),
        row("H4", "niigata-harbin", "negotiation_main:harbin-khabarovsk", "interaction", 1, 6),
    ]
    scenarios, rows = share_grid(support)
    assert scenarios == ["kitakyushu-dalian", "niigata-harbin", "kawasaki-suffrage"]
    # each case's own policy milestone lands on one row: "policy"
    assert rows == [
        ("H1", "policy: share reached", ["83% (5/6)", "0% (0/6)", "-"]),
        ("H3", "international norm support: time-averaged support", ["-", "-", "25% (2/8)"]),
        ("H4", "agenda step: interaction", ["-", "17% (1/6)", "-"]),
    ]


def test_draws_zero_keeps_the_single_point_design(tmp_path):
    done = CliRunner().invoke(
        cli,
        ["hypotheses", "H1", "--draws", "0", "-n", "2", "--out", str(tmp_path), "--workers", "1",
         "--scenario", "niigata-harbin"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (tmp_path / "h1.csv").exists() and not (tmp_path / "support.csv").exists()


# -- posterior draws -----------------------------------------------------------------


def calibration_dir(path, scenario, particles):
    """A calibration directory as ``normflow calibrate`` writes it: a
    manifest naming the scenario and its parameters, weighted particles."""
    path.mkdir()
    names = list(particles[0][1])
    manifest = {
        "scenario": scenario,
        "parameters": [{"name": n, "path": p} for n, p in names],
    }
    (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    rows = [{"weight": w, **{n: v for (n, _), v in values.items()}} for w, values in particles]
    pd.DataFrame(rows).to_csv(path / "posterior.csv", index=False)
    return path


def test_draws_come_from_a_posterior_where_one_is_given(tmp_path):
    """A case with a posterior draws its parameters from it, resampled by
    weight (a particle of weight 0 is never drawn); the summary says so."""
    threshold = ("request_threshold", "negotiations.harbin-khabarovsk.request_threshold")
    access = ("heilongjiang_access", "local_governments.heilongjiang.access")
    posterior = calibration_dir(
        tmp_path / "calibrated",
        "niigata-harbin",
        [(1.0, {threshold: 3.0, access: 0.9}), (0.0, {threshold: 50.0, access: 0.1})],
    )
    result = run_over_draws(
        ["H1"], tmp_path / "out", draws=2, replications=1, seed=SEED, workers=1,
        scenarios=["niigata-harbin"], posteriors={"niigata-harbin": posterior},
    )  # fmt: skip
    frame = result.effects_frame()
    assert set(frame[f"param.{threshold[1]}"]) == {3.0}
    assert set(frame[f"param.{access[1]}"]) == {0.9}
    assert {r["draws_from"] for r in result.support} == {"posterior"}
    stored = list((tmp_path / "out" / "runs" / "niigata-harbin").glob("d0-*/role1"))
    manifest = Store(stored[0]).read_manifest()
    assert manifest["spec"]["overrides"][threshold[1]] == 3.0


def test_a_posterior_of_another_case_is_one_clear_error(tmp_path):
    from normflow.schema import ScenarioError

    posterior = calibration_dir(
        tmp_path / "calibrated",
        "kitakyushu-dalian",
        [(1.0, {("request_threshold", "negotiations.dalian-aid.request_threshold"): 3.0})],
    )
    with pytest.raises(ScenarioError, match="a calibration of niigata-harbin"):
        run_over_draws(
            ["H1"], tmp_path / "out", draws=1, replications=1, seed=SEED, workers=1,
            scenarios=["niigata-harbin"], posteriors={"niigata-harbin": posterior},
        )  # fmt: skip


def test_the_posterior_reader_is_shared_and_checks_the_directory(tmp_path):
    """``normflow.calibration.read_posterior`` reads the particles that both
    validation and the hypotheses draw from: weights normalized, values in
    the manifest's order, whole-number parameters rounded."""
    from normflow.calibration import read_posterior
    from normflow.schema import ScenarioError

    threshold = ("request_threshold", "negotiations.harbin-khabarovsk.request_threshold")
    access = ("heilongjiang_access", "local_governments.heilongjiang.access")
    directory = calibration_dir(
        tmp_path / "calibrated",
        "niigata-harbin",
        [(3.0, {threshold: 3.4, access: 0.9}), (1.0, {threshold: 6.0, access: 0.2})],
    )
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    manifest["parameters"][0]["integer"] = True
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    posterior = read_posterior(directory, "niigata-harbin")
    assert posterior.paths == [threshold[1], access[1]]
    np.testing.assert_allclose(posterior.weights, [0.75, 0.25])
    np.testing.assert_allclose(posterior.values, [[3.4, 0.9], [6.0, 0.2]])
    assert posterior.overrides(0) == {threshold[1]: 3, access[1]: 0.9}
    rows = posterior.resample(400, np.random.default_rng(0))
    assert 0.65 < np.mean(rows == 0) < 0.85
    table = pd.read_csv(directory / "posterior.csv").drop(columns="weight")
    table.to_csv(directory / "posterior.csv", index=False)
    with pytest.raises(ScenarioError, match="posterior.csv with the columns weight"):
        read_posterior(directory, "niigata-harbin")
