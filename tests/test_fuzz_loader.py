"""The scenario loader, fuzzed: whatever it is given, it either returns a
scenario or raises ``ScenarioError`` -- never another exception, never a
traceback on the command line.

Inputs: random text; random TOML built from the schema's own keys and any
TOML value; valid scenarios with one field broken (the error must name that
field), or with random edits; garbage bytes, alone or spliced into a valid
file; random ``--set`` overrides. The quick profile runs a few hundred
examples per test; the thorough one 10,000 (see docs/testing-plugins.md).
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import normflow.scenario
from normflow import Simulation
from normflow.cli import cli
from normflow.scenario import load_scenario, loads_scenario, scenario_from_dict
from normflow.schema import ScenarioError, one_line, structure
from normflow.testing import examples
from normflow.testing.conformance import as_toml_data
from normflow.testing.strategies import (
    invalid_scenario_dicts,
    mutated_scenario_dicts,
    scenario_dicts,
    toml_text,
    toml_values,
)

FUZZ = examples(ci=100, thorough=10_000)
FEW = examples(ci=5, thorough=200)

#: Keys the schema knows, so that random TOML gets past the first check.
SCHEMA_KEYS = [
    "scenario", "states", "issues", "local_governments", "civil_society", "ties", "negotiations",
    "events", "processes", "plugins", "facts", "name", "start", "end", "id", "state", "named",
    "groups", "populations", "count", "prefix", "access", "openness", "support", "legislature",
    "partners", "dist", "mean", "low", "high", "median", "sigma", "require", "information",
    "agenda", "milestone", "between", "before", "not_before", "by", "share", "issue",
    "sooner_than_without", "partnership",
]  # fmt: skip


def loads_or_refuses(text: str) -> None:
    """Load ``text``; a valid result must also set up a run."""
    try:
        scenario = loads_scenario(text, file="fuzz.toml")
    except ScenarioError as exc:
        assert exc.message.startswith("fuzz.toml: ")
        return
    try:
        Simulation(scenario, 0, autoload=False).run(until=30)
    except ScenarioError:
        pass  # e.g. a section for a plugin that is not loaded


@FUZZ
@given(st.text())
def test_random_text_is_refused_with_a_scenario_error(text):
    loads_or_refuses(text)


# small documents: a wrong value is found as soon in a short table as in a long one
random_tables = st.dictionaries(
    st.sampled_from(SCHEMA_KEYS) | st.text(max_size=6), toml_values(4), max_size=5
)
random_documents = st.fixed_dictionaries(
    {},
    optional={
        "scenario": random_tables,
        "states": st.lists(random_tables, max_size=2),
        "issues": st.lists(random_tables, max_size=2),
        "local_governments": random_tables,
        "civil_society": random_tables,
        "processes": random_tables,
        "plugins": random_tables,
        "facts": st.lists(random_tables, max_size=2),
        "events": st.lists(random_tables, max_size=2),
    },
)


@FUZZ
@given(random_documents)
def test_random_toml_is_refused_with_a_scenario_error(data):
    loads_or_refuses(toml_text(data))


@examples(ci=30, thorough=2000)
@given(scenario_dicts())
def test_a_generated_scenario_reads_back_from_its_toml(data):
    assert loads_scenario(toml_text(data)) == scenario_from_dict(data)


SCHEMA_CLASSES = [
    cls
    for cls in vars(normflow.scenario).values()
    if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == "normflow.scenario"
]


@pytest.mark.parametrize("cls", SCHEMA_CLASSES, ids=lambda cls: cls.__name__)
def test_a_schema_table_validates_its_own_defaults_written_out(cls):
    required = {f.name: REQUIRED_EXAMPLES[f.name] for f in attrs.fields(cls) if f.default is attrs.NOTHING}
    bare = structure(cls, dict(required))
    written = {**as_toml_data(bare), **required}
    assert structure(cls, written) == bare


#: A valid value for each required field of the schema's tables.
REQUIRED_EXAMPLES: dict[str, Any] = {
    "name": "x",
    "start": "2000-01-01",
    "end": "2001-01-01",
    "id": "x",
    "state": "japan",
    "count": 3,
    "a": "g1",
    "b": "g2",
    "issue": "suffrage",
    "parties": ["japan", "korea"],
    "date": "2000-06-01",
    "category": "custom",
    "scenario": {"name": "x", "start": "2000-01-01", "end": "2001-01-01"},
    "states": [{"id": "japan"}],
    "issues": [{"id": "suffrage", "state": "japan"}],
}


@FUZZ
@given(invalid_scenario_dicts())
def test_one_broken_field_is_named_in_the_error(broken):
    data, mutation = broken
    with pytest.raises(ScenarioError) as caught:
        loads_scenario(toml_text(data), file="broken.toml")
    path = caught.value.path
    assert path == mutation.path or path.startswith((mutation.path + ".", mutation.path + "[")), (
        mutation,
        caught.value.message,
    )
    # the message is one line: a key's control characters are shown escaped
    assert caught.value.message.startswith(one_line(f"broken.toml: {path}: got "))


@FUZZ
@given(mutated_scenario_dicts())
def test_mutated_scenarios_load_or_are_refused(data):
    loads_or_refuses(toml_text(data))


@FUZZ
@given(st.binary(max_size=300))
def test_garbage_bytes_are_refused_with_a_scenario_error(garbage):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "garbage.toml")
        path.write_bytes(garbage)
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
    assert caught.value.file == str(path)


@FUZZ
@given(scenario_dicts(), st.binary(min_size=1, max_size=20), st.floats(0, 1))
def test_garbage_spliced_into_a_valid_file_is_refused_or_read(data, garbage, where):
    text = toml_text(data).encode("utf-8")
    cut = int(where * len(text))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "spliced.toml")
        path.write_bytes(text[:cut] + garbage + text[cut:])
        try:
            load_scenario(path)
        except ScenarioError as exc:
            assert exc.file == str(path)


#: Dotted paths overrides may name: real ones, near misses and nonsense.
override_paths = st.one_of(
    st.sampled_from(
        [
            "processes.agenda.stage_days",
            "processes.information.contact_rate",
            "processes.agenda.assembly_months",
            "scenario.end",
            "scenario.start",
            "states",
            "plugins.spiral.half_life",
            "plugins.require",
            "plugins",
            "processes.agenda",
            "processes.agenda.stage_days.deeper",
            "issues.0.state",
        ]
    ),
    st.lists(st.sampled_from(SCHEMA_KEYS) | st.text(min_size=1, max_size=5), min_size=1, max_size=4).map(
        ".".join
    ),
)


@FUZZ
@given(st.dictionaries(override_paths, toml_values(), max_size=3))
def test_overrides_of_any_path_and_value_load_or_are_refused(overrides):
    try:
        load_scenario("minimal", overrides=overrides)
    except ScenarioError:
        pass


@examples(ci=30, thorough=2000)
@given(scenario_dicts(), st.dictionaries(override_paths, toml_values(), max_size=2))
def test_loading_leaves_the_given_data_unchanged(data, overrides):
    kept = copy.deepcopy(data)
    try:
        scenario_from_dict(data, overrides=overrides)
    except ScenarioError:
        pass
    assert data == kept


# -- the command line ---------------------------------------------------------------


def run_cli(args: list[str]) -> Any:
    return CliRunner().invoke(cli, args, catch_exceptions=True)


def assert_one_line_error(result: Any) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1


@FEW
@given(invalid_scenario_dicts())
def test_the_cli_refuses_a_broken_scenario_in_one_line(broken):
    data, mutation = broken
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "broken.toml")
        path.write_text(toml_text(data), encoding="utf-8")
        result = run_cli(["run", str(path)])
    assert_one_line_error(result)
    assert mutation.path.split("[")[0].split(".")[0] in result.stderr


@FEW
@given(st.binary(max_size=200))
def test_the_cli_refuses_garbage_in_one_line(garbage):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "garbage.toml")
        path.write_bytes(garbage)
        assert_one_line_error(run_cli(["run", str(path)]))


@FEW
@given(st.dictionaries(override_paths, toml_values(), min_size=1, max_size=2))
def test_the_cli_refuses_a_bad_override_in_one_line_or_runs(overrides):
    args = ["run", "minimal", "--until", "1990-03-01"]
    for path, value in overrides.items():
        args += ["--set", f"{path}={toml_text({'v': value})[4:].strip()}"]
    result = run_cli(args)
    if result.exit_code != 0:
        assert_one_line_error(result)


def test_a_broken_file_through_the_installed_command_gives_no_traceback(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_bytes(b'[scenario]\nname = "x"\nstart = 2000-01-01\nend = \xff\xfe\n')
    command = Path(sys.executable).with_name("normflow")
    done = subprocess.run([str(command), "run", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
