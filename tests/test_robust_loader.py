"""Issue 18, defects 1 and 2: inputs that crashed the loader by class, or
ran without bound, are refused with one line and exit 2."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from test_bad_input import GOOD

from normflow.cli import cli
from normflow.scenario import Limits, check_size, load_scenario, loads_scenario, world_size
from normflow.schema import MAX_FILE_BYTES, MAX_NESTING, ScenarioError, check_nesting, parse_toml


def group_with(text: str) -> str:
    """GOOD with the anonymous local-government group's ``access`` line replaced."""
    return GOOD.replace("count = 10\naccess = 0.2", f"count = 10\n{text}")


CRASHERS = [
    # (name, text, substrings of the one-line message)
    ("array 500 deep", GOOD + "\nx = " + "[" * 500 + "]" * 500, ["nested arrays", str(MAX_NESTING)]),
    ("inline tables 400 deep", GOOD + "\nx = " + "{a=" * 400 + "1" + "}" * 400, ["nested"]),
    ("dotted table 3000 deep", GOOD + "\n[" + ".".join(["a"] * 3000) + "]\nb = 1\n", ["dotted keys"]),
    ("dotted key 3000 deep", GOOD + "\n" + ".".join(["a"] * 3000) + " = 1\n", ["dotted keys"]),
    (
        "uniform beyond floats",
        group_with('population = { dist = "uniform", low = 1e307, high = 1e308 }'),
        ["population.low", "magnitude"],
    ),
    (
        "lognormal beyond floats",
        group_with('population = { dist = "lognormal", median = 1e308, sigma = 1.2 }'),
        ["population.median", "magnitude"],
    ),
    (
        "lognormal whose samples overflow",
        group_with('population = { dist = "lognormal", median = 1e250, sigma = 20 }'),
        ["population.sigma", "finite"],
    ),
    (
        "normal whose samples overflow",
        group_with('population = { dist = "normal", mean = 10, sd = 1e308 }'),
        ["population.sd"],
    ),
    ("dist is a table", group_with("access = { dist = {} }"), ["access.dist", "one of"]),
    ("dist is a list", group_with("access = { dist = [1] }"), ["access.dist", "one of"]),
    ("count of 300 digits", GOOD.replace("count = 10", "count = 1" + "0" * 300), ["count", "2**53"]),
    ("float field of 300 digits", GOOD.replace("access = 0.6", "access = 1" + "0" * 300), ["access"]),
    ("integer of 5000 digits", GOOD.replace("access = 0.6", "access = 1" + "0" * 5000), ["TOML"]),
    ("population beyond any city", GOOD.replace("access = 0.6", "population = 10000000000"), ["population"]),
    ("year 9999", GOOD.replace("end = 1992-12-31", "end = 9999-12-31"), ["scenario.end", "--max-years"]),
    (
        "ten million actors",
        GOOD.replace("count = 10", "count = 2000000")
        + "".join(
            f'\n[[local_governments.groups]]\nstate = "japan"\nprefix = "p{i}"\ncount = 2000000\n'
            for i in range(4)
        ),
        ["10,000,0", "actors", "1,000,000", "--max-actors"],
    ),
]


@pytest.mark.parametrize("name,text,needles", CRASHERS, ids=[c[0] for c in CRASHERS])
@pytest.mark.parametrize("command", ["run", "validate"])
def test_each_class_of_loader_crash_is_one_line_and_exit_2(tmp_path, command, name, text, needles):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, [command, str(path)])
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_devices_are_not_read(path):
    if not os.path.exists(path):
        pytest.skip(f"no {path} here")
    result = CliRunner().invoke(cli, ["run", path])
    assert result.exit_code == 2
    assert "a regular scenario file" in result.output


def test_a_pipe_is_not_read(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)  # reading it would block forever
    with pytest.raises(ScenarioError, match="regular scenario file"):
        load_scenario(fifo)


def test_a_file_above_the_size_limit_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ScenarioError, match=f"at most {MAX_FILE_BYTES} bytes"):
        load_scenario(big)


def test_nesting_is_checked_in_text_not_in_strings_or_comments():
    deep = "[" * 40
    check_nesting(f'a = "{deep}"\nb = \'{deep}\'\nc = """\n{deep}\n"""\n# {deep}\n', "f")
    assert parse_toml('a = "x\\"[[["\nb = [[1], [2]]', "f") == {"a": 'x"[[[', "b": [[1], [2]]}
    with pytest.raises(ScenarioError, match="nested"):
        check_nesting("a = " + "[" * (MAX_NESTING + 1), "f")


def test_world_and_horizon_limits_are_explicit_and_can_be_raised():
    scenario = loads_scenario(GOOD, file="good.toml")
    assert world_size(scenario) == 2 + 1 + 10 + 1
    check_size(scenario)
    with pytest.raises(ScenarioError, match="14 actors.*at most 13"):
        check_size(scenario, Limits(max_actors=13))
    with pytest.raises(ScenarioError, match="at most 2 years"):
        check_size(scenario, Limits(max_years=2))
    check_size(scenario, Limits(max_actors=14, max_years=3))
