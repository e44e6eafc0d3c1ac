"""The hypothesis designs (H1-H5): their wiring at small N on the cheap case
scenarios, seeds paired across arms, verdicts that can fail, stored runs
reused, and the command line."""

from __future__ import annotations

import datetime as dt

import attrs
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from normflow import Simulation, load_scenario
from normflow.cli import cli
from normflow.hypotheses import (
    DESIGNS,
    NOT_APPLICABLE,
    NOT_SUPPORTED,
    SUPPORTED,
    Arm,
    paired_effect,
    run_hypotheses,
)
from normflow.hypotheses.effects import MIN_CONSTANT_PAIRS, TOO_FEW
from normflow.hypotheses.h4 import H4
from normflow.store import Store

CHEAP = ("kitakyushu-dalian", "niigata-harbin")
N = 3
SEED = 11


#: The surface of H4 in these tests: its corners (the command's default is 3 x 3).
SURFACE = H4(penetrability=(0.1, 0.6), foreign=(0.0, 2.0))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three replications, in process, into one directory: H1 and H2 on the
    two cheap cases, H4 (on the surface's corners) on Niigata, H5 on
    Kitakyushu -- the pairs the tests below read."""
    out = tmp_path_factory.mktemp("hypotheses")
    results = []
    for designs, scenarios in (
        (["H1", "H2"], CHEAP),
        ([SURFACE], ["niigata-harbin"]),
        (["H5"], ["kitakyushu-dalian"]),
    ):
        results += run_hypotheses(designs, out, replications=N, seed=SEED, workers=1, scenarios=scenarios)
    return out, {r.key: r for r in results}


def store(out, scenario: str, arm: str, seed: int = SEED) -> Store:
    """The store of one arm: runs/<scenario>/<version>/<arm>, the version
    naming the scenario text, overrides and seed."""
    [path] = (out / "runs" / scenario).glob(f"seed{seed}-*/{arm}")
    return Store(path)


def effects(result, **match):
    return [r for r in result.effects if all(r[k] == v for k, v in match.items())]


# -- statistics and verdicts ----------------------------------------------------------


def test_an_effect_on_the_predicted_side_is_supported():
    e = paired_effect(np.r_[np.ones(20), np.zeros(5)], +1)
    assert e["verdict"] == SUPPORTED and e["direction"] == "as predicted"
    assert e["low"] > 0 and e["interval"] == "paired bootstrap (BCa)"


def test_an_effect_of_the_wrong_sign_is_not_supported():
    e = paired_effect(-np.r_[np.ones(20), np.zeros(5)], +1)
    assert e["verdict"] == NOT_SUPPORTED and e["direction"] == "opposite"
    e = paired_effect(np.r_[np.ones(20), np.zeros(5)] * 100, -1)
    assert e["verdict"] == NOT_SUPPORTED and e["direction"] == "opposite"


def test_no_difference_is_not_supported_and_no_pairs_is_not_applicable():
    assert paired_effect(np.zeros(30), +1)["verdict"] == NOT_SUPPORTED
    assert paired_effect(np.full(4, np.nan), +1)["verdict"] == NOT_APPLICABLE
    assert paired_effect([1.0], +1)["verdict"] == NOT_SUPPORTED  # one pair: no interval


def test_an_interval_that_straddles_zero_is_not_supported():
    rng = np.random.default_rng(0)
    e = paired_effect(rng.normal(0.0, 1.0, 40), +1)
    assert e["low"] < 0 < e["high"] and e["verdict"] == NOT_SUPPORTED


# -- pairing -------------------------------------------------------------------------------


def test_replication_k_of_every_arm_runs_with_the_kth_child_seed(runs):
    out, _ = runs
    scenario = "kitakyushu-dalian"
    keys = {arm.key for d in (DESIGNS["H1"], DESIGNS["H2"], DESIGNS["H5"]) for arm in d.arms.values()}
    assert len(keys) == 8  # role 1 and 0, and the six resource-level arms of H5
    tables = {key: store(out, scenario, key).table() for key in keys}
    for table in tables.values():
        assert list(table["replication"]) == list(range(N))
        assert list(table["spawn_key"]) == [str(k) for k in range(N)]
        assert set(table["seed"]) == {SEED}
    # the stored row is the run of SeedSequence(SEED, spawn_key=(k,)) in that arm
    k = 1
    plain = Simulation(
        load_scenario(scenario), np.random.SeedSequence(SEED, spawn_key=(k,)), local_government_role=0.0
    ).run()
    row = tables["role0"].set_index("replication").loc[k]
    for name, t in plain.milestones.items():
        if f"{name}_censored" in row.index:
            assert bool(row[f"{name}_censored"]) == (t is None)


def test_arms_differ_in_what_they_switch_not_in_their_luck():
    from normflow.hypotheses.running import simulation_of as _simulation

    scenario = load_scenario("kitakyushu-dalian")
    with_lg = _simulation(scenario, Arm(1.0), 2, SEED).world
    without = _simulation(scenario, Arm(0.0), 2, SEED).world
    other = _simulation(scenario, Arm(1.0), 3, SEED).world
    # the same draws build the same world; only the switched part differs
    assert np.array_equal(with_lg.group_commitment, without.group_commitment)
    assert np.array_equal(with_lg.lg_population, without.lg_population)
    assert not np.array_equal(with_lg.lg_access, without.lg_access)
    assert not np.array_equal(with_lg.group_commitment, other.group_commitment)


# -- each design's wiring ---------------------------------------------------------------------


def test_h1_compares_share_and_time_with_and_without_local_government(runs):
    out, results = runs
    h1 = results["H1"]
    table = pd.read_csv(out / "h1.csv")
    assert set(table["scenario"]) == set(CHEAP)
    assert (out / "h1.png").stat().st_size > 0 and (out / "h1_arms.csv").exists()
    row = effects(
        h1, scenario="kitakyushu-dalian", outcome="negotiation_opened:dalian-aid", measure="share reached"
    )[0]
    arms = pd.read_csv(out / "h1_arms.csv")
    share = arms[
        (arms.scenario == "kitakyushu-dalian")
        & (arms.outcome == "negotiation_opened:dalian-aid")
        & (arms.measure == "share reached")
    ].set_index("arm")["estimate"]
    assert row["estimate"] == pytest.approx(share["with"] - share["without"])
    # without local governments only the state-to-state route is left (the 1994 talks, which
    # take up Dalian's case in some runs): Beijing asks less often, never through Dalian
    assert share["without"] < share["with"]
    assert row["n"] == N and row["predicted"] == "> 0"
    if row["interval"] == "all pairs equal" and row["n"] < MIN_CONSTANT_PAIRS:
        # every pair equal over a handful of runs is not yet an interval
        assert row["verdict"] == TOO_FEW
    else:
        assert row["verdict"] == (SUPPORTED if row["low"] is not None and row["low"] > 0 else NOT_SUPPORTED)
    timing = effects(h1, scenario="kitakyushu-dalian", outcome="negotiation_opened:dalian-aid")[1]
    assert timing["predicted"] == "< 0" and timing["estimate"] < 0


def test_a_design_forced_to_the_wrong_sign_reports_not_supported(runs):
    out, _ = runs
    swapped = attrs.evolve(DESIGNS["H1"], arms={"with": Arm(0.0), "without": Arm(1.0)})
    [result] = run_hypotheses(
        [swapped], out, replications=N, seed=SEED, workers=1, scenarios=["kitakyushu-dalian"]
    )
    row = effects(result, outcome="negotiation_opened:dalian-aid", measure="share reached")[0]
    assert row["estimate"] < 0
    assert row["direction"] == "opposite" and row["verdict"] == NOT_SUPPORTED


def test_h2_reports_expertise_per_round_and_no_pairs_where_talks_never_open(runs, tmp_path):
    _, results = runs
    # a pair exists only where the talks reach the main phase in both arms; without local
    # governments they open only through the state-to-state route, in some runs
    for row in effects(results["H2"], measure="main phase, per round"):
        assert 0 <= row["n"] <= N
        assert (row["n"] == 0) == (row["verdict"] == NOT_APPLICABLE)
    short = {"generic": {"scenario.end": dt.date(1995, 6, 30), "events": []}}
    [h2] = run_hypotheses(
        ["H2"], tmp_path, replications=2, seed=SEED, workers=1, scenarios=["generic"], overrides=short
    )
    main = effects(h2, measure="main phase, per round")[0]
    assert main["n"] == 2
    arms = {r["arm"]: r["estimate"] for r in h2.arms if r["measure"] == "main phase, per round"}
    assert main["estimate"] == pytest.approx(arms["with"] - arms["without"])
    pre = {r["arm"]: r["estimate"] for r in h2.arms if r["measure"] == "prenegotiation, per round"}
    assert all(v > 0 for v in pre.values())
    assert (tmp_path / "h2.png").exists()


def test_h3_reads_norm_support_with_and_without_local_resolutions(tmp_path):
    # the local-diplomacy cases pass no resolutions and use no norm cascade: H3 runs on the others
    assert DESIGNS["H3"].scenarios == ("kawasaki-suffrage", "generic")
    short = {"generic": {"scenario.end": dt.date(1995, 6, 30), "events": []}}
    [h3] = run_hypotheses(
        ["H3"], tmp_path, replications=2, seed=SEED, workers=1, scenarios=["generic"], overrides=short
    )
    row = effects(h3, scenario="generic", measure="time-averaged support")[0]
    arms = {r["arm"]: r["estimate"] for r in h3.arms if r["measure"] == "time-averaged support"}
    assert row["n"] == 2
    assert row["estimate"] == pytest.approx(arms["with local adoption"] - arms["without local adoption"])


def test_h3_needs_the_norm_cascade_plugin(tmp_path, monkeypatch):
    monkeypatch.setenv("NORMFLOW_LOAD_PLUGINS", "local_diplomacy")
    with pytest.raises(Exception, match="norm_cascade"):
        run_hypotheses(["H3"], tmp_path, replications=1, workers=1, scenarios=["generic"])


def test_h4_interaction_is_the_p_by_f_coefficient_over_the_surface(runs):
    from normflow.hypotheses.h4 import interaction, label

    out, results = runs
    # the surface reaches the world: no pressure from abroad at foreign x0
    muted = store(out, "niigata-harbin", "role1-foreign0-penetrability0.1").table()
    doubled = store(out, "niigata-harbin", "role1-foreign2-penetrability0.1").table()
    assert (muted["metrics.local_diplomacy.pressure"] == 0).all()
    assert (doubled["metrics.local_diplomacy.pressure"] > 0).any()
    shares = {(r["arm"], r["outcome"]): r["estimate"] for r in results["H4"].arms}
    p, f = np.array(SURFACE.penetrability), np.array(SURFACE.foreign)
    primary = [r for r in effects(results["H4"], scenario="niigata-harbin") if r["primary"]]
    assert len(primary) == 2
    for row in primary:
        o = row["outcome"]
        # the coefficient is linear in y: its mean over replications is the coefficient of the shares
        grid = {
            role: np.array(
                [[[shares[(label(role, a, b), o)] for b in SURFACE.foreign] for a in SURFACE.penetrability]]
            )
            for role in ("with", "without")
        }
        expected = interaction(grid["with"], p, f)[0] - interaction(grid["without"], p, f)[0]
        assert row["estimate"] == pytest.approx(expected, abs=1e-12)


def test_h4_interaction_of_a_known_surface():
    from normflow.hypotheses.h4 import interaction

    p, f = np.array([0.0, 0.5, 1.0]), np.array([0.0, 1.0, 2.0])
    additive = (0.2 + 0.3 * p[:, None] + 0.1 * f[None, :])[None]
    both = (p[:, None] * f[None, :])[None]  # y = p * f: coefficient 1
    assert interaction(additive, p, f)[0] == pytest.approx(0.0, abs=1e-12)
    assert interaction(both, p, f)[0] == pytest.approx(1.0)
    assert interaction(-both, p, f)[0] == pytest.approx(-1.0)


def test_h5_scales_resources_lends_and_contrasts_the_poor_with_the_rich(runs):
    out, results = runs
    campaigns = [
        store(out, "kitakyushu-dalian", f"role1-resources{x}-set*").table()["counts.campaign"].sum()
        for x in ("0.25", "4")
    ]
    middle = store(out, "kitakyushu-dalian", "role1-set*").table()["counts.campaign"].sum()
    assert campaigns[0] < middle < campaigns[1]
    # the poor groups campaign more with local government: it pays for what they cannot
    poor_without = (
        store(out, "kitakyushu-dalian", "role0-resources0.25-set*").table()["counts.campaign"].sum()
    )
    assert campaigns[0] > poor_without
    levels = {
        row["measure"]: row["estimate"]
        for row in effects(results["H5"], scenario="kitakyushu-dalian", outcome="policy_changed:japan")
    }
    assert levels["share reached"] == pytest.approx(
        levels["share reached, resources x0.25"] - levels["share reached, resources x4"]
    )


# -- running, storing, command line --------------------------------------------------------------


def test_stored_runs_are_reused_and_another_seed_gets_its_own(runs):
    out, _ = runs
    seen = []
    run_hypotheses(
        ["H1"], out, replications=N, seed=SEED, workers=1, scenarios=CHEAP, progress=seen.append, plots=False
    )
    assert seen[-1].computed == 0 and seen[-1].done == seen[-1].total
    seen.clear()
    run_hypotheses(
        ["H1"], out, replications=1, seed=SEED + 1, workers=1, scenarios=CHEAP, progress=seen.append,
        plots=False,
    )  # fmt: skip
    assert seen[-1].computed == seen[-1].total == 4
    assert store(out, "niigata-harbin", "role1", seed=SEED + 1).table()["seed"].tolist() == [SEED + 1]
    assert len(store(out, "niigata-harbin", "role1").table()) == N


def test_a_pool_of_workers_stores_the_same_rows_as_one_process(runs, tmp_path):
    out, _ = runs
    run_hypotheses(["H1"], tmp_path, replications=2, seed=SEED, workers=2, scenarios=["niigata-harbin"])
    for arm in ("role1", "role0"):
        pooled = store(tmp_path, "niigata-harbin", arm).table()
        alone = store(out, "niigata-harbin", arm).table()
        alone = alone[alone.replication < 2]
        cols = [c for c in alone.columns if c in pooled.columns and c.endswith(("_days", "_censored"))]
        # a count column exists only where some stored run counted the event
        cols += [
            c
            for c in alone.columns
            if c.startswith(("metrics.", "counts.")) and (c in pooled.columns or alone[c].isna().all())
        ]
        for c in cols:
            if c not in pooled.columns:
                pooled[c] = alone[c].to_numpy()
        pd.testing.assert_frame_equal(pooled[cols].reset_index(drop=True), alone[cols].reset_index(drop=True))


def test_the_command_writes_tables_and_prints_verdicts(runs):
    out, _ = runs
    done = CliRunner().invoke(
        cli, ["hypotheses", "H1", "--draws", "0", "-n", str(N), "--seed", str(SEED), "--out", str(out),
              "--workers", "1", "--scenario", "niigata-harbin"]
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "H1" in done.output and "policy_changed:china" in done.output and "supported" in done.output
    assert "0 runs computed now" in done.output  # the fixture's runs, reused
    assert (out / "h1.csv").exists() and (out / "hypotheses.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["H9"], "HYPOTHESIS: got 'H9'; expected one of H1, H2, H3, H4, H5 or all"),
        (["H1", "--scenario", "atlantis"], "--scenario: got 'atlantis'"),
        (["H1", "-n", "0"], "Invalid value for '--replications'"),
        (["H1", "--posterior", "nowhere"], "--posterior: got 'nowhere'; expected SCENARIO=DIR"),
        (
            ["H1", "--scenario", "niigata-harbin", "--posterior", "niigata-harbin=/nonexistent"],
            "--posterior: got '/nonexistent'",
        ),
    ],
)
def test_bad_input_is_one_clear_line(args, message, tmp_path):
    done = CliRunner().invoke(cli, ["hypotheses", *args, "--out", str(tmp_path / "x"), "--workers", "1"])
    assert done.exit_code == 2
    assert message in done.output
    assert "Traceback" not in done.output
