"""The three bundled case studies load, and ``normflow validate`` runs them.

These are smoke tests with one or two replications: the calibration itself
(every stylized fact in at least 70% of 200 runs) is measured with
``normflow validate NAME -n 200`` and recorded in docs/cases/.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from normflow.cli import cli
from normflow.facts import SoonerWithout
from normflow.scenario import bundled_scenarios, load_scenario

CASES = ("kawasaki-suffrage", "kitakyushu-dalian", "niigata-harbin")


def validate(*args: str):
    return CliRunner().invoke(cli, ["validate", *args], catch_exceptions=False)


@pytest.mark.parametrize("name", CASES)
def test_each_case_is_bundled_and_declares_its_stylized_facts(name):
    assert name in bundled_scenarios()
    scenario = load_scenario(name)
    assert scenario.name == name
    assert len(scenario.facts) >= 3


@pytest.mark.parametrize("name", ["kitakyushu-dalian", "niigata-harbin"])
def test_the_local_diplomacy_cases_require_the_plugin(name):
    assert "local_diplomacy" in load_scenario(name).plugins.use


@pytest.mark.parametrize("name", CASES)
def test_validate_prints_one_json_object_with_a_share_per_fact(name):
    out = validate(name, "-n", "1", "--json", "--workers", "1")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["scenario"] == name and report["runs"] == 1
    loaded = load_scenario(name)
    facts = loaded.facts
    # the facts, then the calibration targets, each with its null-arm share
    assert [f["kind"] for f in report["facts"]] == ["fact"] * len(facts) + ["target"] * len(loaded.targets)
    for item in report["facts"]:
        assert {"name", "share", "low", "high", "null_share", "informative"} <= set(item)
        assert 0.0 <= item["low"] <= item["share"] <= item["high"] <= 1.0
    names = {m["name"] for m in report["milestones"]}
    assert {m for f in facts for m in f.milestones() if not m.endswith("*")} <= names
    for m in report["milestones"]:
        assert {"name", "reached", "median", "p10", "p90"} <= set(m)


def test_validate_gives_the_same_report_with_a_pool_of_workers():
    serial = validate("kitakyushu-dalian", "-n", "2", "--seed", "3", "--json", "--workers", "1")
    pooled = validate("kitakyushu-dalian", "-n", "2", "--seed", "3", "--json", "--workers", "2")
    assert pooled.exit_code == 0, pooled.output
    assert json.loads(serial.stdout) == json.loads(pooled.stdout)


def test_removing_the_local_government_role_leaves_only_the_state_to_state_route():
    out = validate("kitakyushu-dalian", "-n", "8", "--json", "--workers", "1", "--local-government-role", "0")
    report = json.loads(out.stdout)
    assert report["local_government_role"] == 0.0
    through_dalian = [f for f in report["facts"] if "through Dalian" in f["name"]]
    assert through_dalian and all(f["share"] == 0.0 for f in through_dalian)
    opened = next(m for m in report["milestones"] if m["name"] == "negotiation_opened:dalian-aid")
    # Beijing asks only when the 1994 state-to-state talks take up the case (a chance per run), and
    # then within a month of them: the other route history offered
    assert opened["reached"] < 1.0
    if opened["reached"] > 0:
        assert opened["p10"] >= "1994-03-20" and opened["p90"] <= "1994-05-01"


def test_the_paired_counterfactual_reports_the_days_gained():
    (fact,) = [f for f in load_scenario("niigata-harbin").facts if isinstance(f, SoonerWithout)]
    out = validate("niigata-harbin", "-n", "1", "--json", "--workers", "1")
    item = next(f for f in json.loads(out.stdout)["facts"] if f["name"] == fact.name)
    assert set(item["measured"]) == {"median", "p10", "p90"}
    assert (item["measured"]["median"] > 0) == (item["share"] == 1.0)


def test_validate_prints_a_table_by_default():
    out = validate("kitakyushu-dalian", "-n", "1", "--workers", "1")
    assert out.exit_code == 0
    assert "Beijing approaches Tokyo" in out.stdout and "95% interval" in out.stdout
    assert "negotiation_opened:dalian-aid" in out.stdout


def test_a_fact_naming_an_unknown_milestone_is_a_one_line_error(tmp_path):
    text = load_scenario("kitakyushu-dalian").source
    assert text is not None
    body = (
        open(text, encoding="utf-8")
        .read()
        .replace('milestone = "policy_changed:japan"', 'milestone = "policy_changed:jpn"')
    )
    path = tmp_path / "typo.toml"
    path.write_text(body, encoding="utf-8")
    out = CliRunner().invoke(cli, ["validate", str(path), "-n", "1", "--workers", "1"])
    assert out.exit_code == 2
    assert "facts[2].milestone" in out.output and "policy_changed:japan" in out.output
    assert "Traceback" not in out.output


def test_validate_refuses_a_role_out_of_range():
    out = CliRunner().invoke(cli, ["validate", "kitakyushu-dalian", "--local-government-role", "-1"])
    assert out.exit_code == 2
