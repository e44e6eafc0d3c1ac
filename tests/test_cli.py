"""The command line: run, scenarios, and the shape of its outputs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from click.testing import CliRunner

from normflow.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_json_prints_milestones_with_calendar_dates():
    out = invoke("run", "minimal", "--seed", "1", "--json")
    assert out.exit_code == 0
    summary = json.loads(out.stdout)
    assert summary["scenario"] == "minimal" and summary["seed"] == 1
    reached = [m for m in summary["milestones"].values() if m["reached"]]
    assert reached
    for m in reached:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", m["date"])
    assert "agenda_placed" in summary["milestones"]
    assert summary["final"]["states"]["japan"]["local-suffrage"]["position"] >= 0


def test_run_until_stops_early():
    out = invoke("run", "minimal", "--json", "--until", "1991-01-01")
    summary = json.loads(out.stdout)
    assert summary["end"] == "1991-01-01"
    for m in summary["milestones"].values():
        assert not m["reached"] or m["date"] <= "1991-01-01"


def test_run_writes_a_trace_with_kinds_and_dates(tmp_path):
    path = tmp_path / "t.jsonl"
    out = invoke("run", "minimal", "--trace", str(path))
    assert out.exit_code == 0
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["kind"] == "trace_start" and lines[-1] == {
        "kind": "trace_end",
        "complete": True,
        "t": lines[-1]["t"],
    }
    body = lines[1:-1]
    assert body and all("kind" in x and "t" in x and "date" in x for x in body)


def test_set_overrides_a_scenario_field():
    a = json.loads(invoke("run", "minimal", "--json", "--set", "processes.agenda.assembly_months=[6]").stdout)
    b = json.loads(invoke("run", "minimal", "--json").stdout)
    assert a["counts"]["resolution_passed"] != b["counts"]["resolution_passed"]


def test_scenarios_lists_and_shows_the_bundled_ones():
    listing = invoke("scenarios")
    assert listing.exit_code == 0 and "minimal" in listing.stdout
    shown = invoke("scenarios", "show", "minimal")
    assert "[scenario]" in shown.stdout and 'name = "minimal"' in shown.stdout


def test_console_script_is_installed():
    done = subprocess.run([sys.executable, "-m", "normflow", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "normflow" in done.stdout


def test_run_log_is_json_with_scenario_and_seed_when_asked():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "normflow",
            "--log-json",
            "--log-level",
            "info",
            "run",
            "minimal",
            "--seed",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    events = {r["event"]: r for r in records}
    assert {"run.start", "run.end"} <= set(events)
    assert events["run.start"]["scenario"] == "minimal" and events["run.start"]["seed"] == 4
    json.loads(done.stdout)  # stdout stays pure JSON
