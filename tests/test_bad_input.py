"""Every bad input in this table exits 2 with one clear line naming the file,
the field path, the value and what was expected -- never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from normflow.cli import cli

GOOD = """
[scenario]
name = "t"
start = 1990-01-01
end = 1992-12-31

[[states]]
id = "japan"
penetrability = 0.2
legislature = { name = "Diet" }

[[states]]
id = "korea"

[[issues]]
id = "suffrage"
state = "japan"

[[local_governments.named]]
id = "kawasaki"
state = "japan"
access = 0.6

[[local_governments.groups]]
state = "japan"
count = 10
access = 0.2

[[civil_society.groups]]
id = "residents"
state = "japan"
locality = "kawasaki"
"""

CASES = [
    # (name, text transformation, substrings the message must contain)
    (
        "missing field",
        lambda t: t.replace("start = 1990-01-01\n", ""),
        ["scenario.start", "missing", "required field 'start'"],
    ),
    (
        "out of range",
        lambda t: t.replace("penetrability = 0.2", "penetrability = 1.5"),
        ["states[0].penetrability", "1.5", "[0, 1]"],
    ),
    (
        "wrong type",
        lambda t: t.replace("access = 0.2", 'access = "high"'),
        ["local_governments.groups[0].access", "'high'", "a number"],
    ),
    (
        "unknown key",
        lambda t: t.replace("penetrability = 0.2", "penetrabilty = 0.2"),
        ["states[0].penetrabilty", "did you mean 'penetrability'"],
    ),
    (
        "dangling reference",
        lambda t: t.replace('locality = "kawasaki"', 'locality = "osaka"'),
        ["civil_society.groups[0].locality", "'osaka'", "named local government"],
    ),
    (
        "duplicate id",
        lambda t: t.replace('id = "korea"', 'id = "japan"'),
        ["states[1].id", "'japan'", "not already used"],
    ),
    ("bad toml", lambda t: t + "\n[[states]\n", ["valid TOML"]),
    (
        "end before start",
        lambda t: t.replace("end = 1992-12-31", "end = 1989-12-31"),
        ["scenario.end", "a date after start"],
    ),
    (
        "bad distribution",
        lambda t: t.replace("access = 0.2", 'access = { dist = "gamma", a = 1 }'),
        ["local_governments.groups[0].access.dist", "'gamma'", "one of"],
    ),
    (
        "bad distribution parameter",
        lambda t: t.replace("access = 0.2", 'access = { dist = "beta", mean = 1.5, concentration = 3 }'),
        ["access.mean", "strictly between 0 and 1"],
    ),
    (
        "negative count",
        lambda t: t.replace("count = 10", "count = -3"),
        ["local_governments.groups[0].count", "-3"],
    ),
    (
        "bad date",
        lambda t: t.replace("end = 1992-12-31", 'end = "soon"'),
        ["scenario.end", "'soon'", "a date"],
    ),
    (
        "event outside horizon",
        lambda t: t + '\n[[events]]\ndate = 2001-01-01\ncategory = "election"\nstate = "japan"\n',
        ["events[0].date", "a date between"],
    ),
    (
        "election without legislature",
        lambda t: t + '\n[[events]]\ndate = 1991-01-01\ncategory = "election"\nstate = "korea"\n',
        ["events[0].state", "legislature"],
    ),
    (
        "unknown category",
        lambda t: t + '\n[[events]]\ndate = 1991-01-01\ncategory = "coup"\n',
        ["events[0].category", "'coup'", "one of"],
    ),
    (
        "negotiation with unknown party",
        lambda t: (
            t
            + '\n[[negotiations]]\nid = "n"\nissue = "suffrage"\nparties = ["japan", "china"]\nopens = 1991-01-01\n'
        ),
        ["negotiations[0].parties[1]", "'china'"],
    ),
    (
        "a used plugin that is not installed",
        lambda t: t + '\n[plugins]\nuse = ["no-such-plugin"]\n',
        ["plugins.use", "'no-such-plugin'", "an installed plugin (installed: "],
    ),
    (
        "unknown plugin section",
        lambda t: t + "\n[plugins.nonesuch]\nx = 1\n",
        ["plugins.nonesuch", "known sections"],
    ),
]


@pytest.fixture
def write(tmp_path):
    def _write(text: str, name: str = "s.toml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def test_the_good_scenario_runs(write):
    result = CliRunner().invoke(cli, ["run", str(write(GOOD)), "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name,transform,needles", CASES, ids=[c[0] for c in CASES])
def test_bad_scenario_exits_2_with_a_clear_message(write, name, transform, needles, monkeypatch):
    monkeypatch.setenv("NORMFLOW_LOAD_PLUGINS", "")
    path = write(transform(GOOD))
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 2, result.output
    message = result.stderr.strip()
    assert message.startswith("error: ") and "\n" not in message
    assert str(path) in message
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert "Traceback" not in result.output


def test_unknown_scenario_name_lists_the_bundled_ones():
    result = CliRunner().invoke(cli, ["run", "no-such-scenario"])
    assert result.exit_code == 2
    assert "'no-such-scenario'" in result.stderr and "minimal" in result.stderr


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    result = CliRunner().invoke(cli, ["run", str(path)])
    assert result.exit_code == 2 and "UTF-8" in result.stderr


def test_trace_into_a_missing_directory(tmp_path):
    result = CliRunner().invoke(cli, ["run", "minimal", "--trace", str(tmp_path / "nope" / "t.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_bad_override_value_names_the_path():
    result = CliRunner().invoke(cli, ["run", "minimal", "--set", "processes.agenda.stage_days=-4"])
    assert result.exit_code == 2
    assert "processes.agenda.stage_days" in result.stderr and "-4" in result.stderr


def test_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(GOOD.replace("penetrability = 0.2", "penetrability = 7"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "normflow", "run", str(path)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ")
    assert "states[0].penetrability" in done.stderr


def test_a_long_value_in_an_error_keeps_its_end_where_a_file_name_is():
    from normflow.scenario import ScenarioError, resolve_scenario_path

    long = "/tmp/" + "d" * 120 + "/missing-case.toml"
    with pytest.raises(ScenarioError) as err:
        resolve_scenario_path(long)
    message = str(err.value)
    assert "missing-case.toml" in message and "..." in message and len(message) < len(long) + 150
