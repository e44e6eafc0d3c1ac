"""The calibrate, sensitivity and validate --posterior commands (tiny runs:
CI runs a calibration and a sensitivity analysis in seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("pyabc")
pytest.importorskip("SALib")

from normflow.cli import cli  # noqa: E402

# a tiny scenario with one target (runs of a few milliseconds; see tests/test_calibration.py)
TINY = str(Path(__file__).parent / "data" / "tiny-targets.toml")


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, request):
    spec = tmp_path_factory.mktemp("spec") / "tiny.toml"
    spec.write_text(
        'scenario = "tiny-targets"\n'
        "[[parameters]]\n"
        'name = "politics_threshold"\n'
        'path = "processes.agenda.politics_threshold"\n'
        'prior = "uniform"\nlow = 0.3\nhigh = 0.8\n'
        'reason = "test"\n',
        encoding="utf-8",
    )
    out = tmp_path_factory.mktemp("cal") / "d"
    result = invoke(
        "calibrate",
        TINY,
        "--params",
        str(spec),
        "--population",
        "6",
        "--generations",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    return spec, out, result


def test_calibrate_writes_the_directory_and_resumes(calibrated):
    spec, out, result = calibrated
    assert "politics_threshold" in result.stdout
    summary = json.loads((out / "calibration.json").read_text())
    assert summary["generations"] == 1 and (out / "history.db").exists()
    again = invoke(
        "calibrate",
        TINY,
        "--params",
        str(spec),
        "--population",
        "6",
        "--generations",
        "2",
        "--out",
        str(out),
        "--resume",
    )
    assert again.exit_code == 0, again.output
    assert json.loads((out / "calibration.json").read_text())["generations"] == 2
    refused = invoke("calibrate", TINY, "--params", str(spec), "--out", str(out))
    assert refused.exit_code == 2 and "--resume" in refused.output
    assert len(refused.output.strip().splitlines()) == 1


def test_validate_with_the_posterior(calibrated):
    _, out, _ = calibrated
    result = invoke("validate", TINY, "--posterior", str(out), "-n", "2", "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["posterior"] == str(out)
    assert all("null_share" in f and "informative" in f for f in report["facts"])


def test_sensitivity_prints_the_json_shape():
    result = invoke(
        "sensitivity",
        "minimal",
        "--params",
        "minimal",
        "--method",
        "morris",
        "-n",
        "2",
        "--replications",
        "1",
        "--outputs",
        "time:agenda_placed",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["method"] == "morris"
    (output,) = data["outputs"]
    assert output["name"] == "time:agenda_placed"
    assert {p["name"] for p in output["parameters"]} == {
        "politics_threshold",
        "contact_rate",
        "japan_penetrability",
        "kawasaki_openness",
        "campaign_rate",
    }
    assert all({"mu_star", "sigma"} <= set(p) for p in output["parameters"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("calibrate", "minimal", "--params", "minimal", "--out", "x"),
            "declares no [[targets]]",
        ),
        (("calibrate", "kitakyushu-dalian", "--params", "no-such-spec.toml", "--out", "x"), "--params"),
        (
            ("sensitivity", "minimal", "--params", "minimal", "--outputs", "nothing"),
            "not an output of minimal",
        ),
        (("validate", "minimal", "--posterior", "no-such-dir"), "--posterior"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
