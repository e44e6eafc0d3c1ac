"""The command line never breaks: every bad value of every option is one
line and exit 2, outputs are written in the format their extension names,
never over earlier ones without --force and never through a link, and a
closed pipe is a quiet exit."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from normflow.cli import cli

#: a year of a run, for tests about what a command writes rather than what the run does
SHORT = ("--until", "1991-01-01")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line_error(out) -> str:
    assert out.exit_code == 2, (out.exit_code, out.output)
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "Traceback" not in out.output
    return lines[0]


pytestmark = pytest.mark.usefixtures("bundled_plugins")  # tests/conftest.py


# -- the defect list, line by line ------------------------------------------------------


def test_a_newline_in_a_key_is_one_line(tmp_path):
    path = tmp_path / "nl.toml"
    path.write_text('"a\\nb" = 0\n', encoding="utf-8")
    line = one_line_error(invoke("run", str(path)))
    assert "a\\nb" in line


@pytest.mark.parametrize("until", ["1980-01-01", "1990-01-01"])
def test_until_before_or_at_the_start_is_refused(until):
    line = one_line_error(invoke("run", "minimal", "--until", until))
    assert "--until" in line and "start" in line


def test_until_after_the_end_is_refused_saying_how_to_run_longer():
    line = one_line_error(invoke("run", "minimal", "--until", "2050-01-01"))
    assert "after the scenario's end" in line and "--set scenario.end=2050-01-01" in line
    longer = invoke("run", "minimal", "--json", "--until", "2001-06-30", "--set", "scenario.end=2001-06-30")
    assert longer.exit_code == 0 and json.loads(longer.stdout)["end"] == "2001-06-30"


@pytest.mark.parametrize(
    "args",
    [
        ("run", "minimal", "--seed", "-1"),
        ("validate", "minimal", "-n", "2", "--seed", "-1"),
        ("run", "minimal", "--local-government-role", "nan"),
        ("run", "minimal", "--local-government-role", "inf"),
        ("run", "minimal", "--intervene", "resource_scale=nan"),
        ("run", "minimal", "--intervene", "no_domestc"),
        ("validate", "minimal", "-n", "2", "--intervene", "no_domestc"),
        ("experiment", "run", "minimal", "-n", "1", "--intervene", "bogus"),
        ("compare", "minimal", "--intervene", "resource_scale=x"),
        ("run", "minimal", "--set", "states[0].penetrability=2"),
        ("run", "minimal", "--set", "nonsense"),
    ],
)
def test_bad_option_values_are_one_line(args):
    one_line_error(invoke(*args))


def test_set_reaches_a_state_by_name_and_the_json_records_it():
    out = invoke(
        "run", "kawasaki-suffrage", "--seed", "1", "--set", "states.japan.penetrability=0.9", "--json"
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["overrides"] == {"states.japan.penetrability": 0.9}
    assert list(summary)[: list(summary).index("milestones")][-1] == "outcomes"


def test_a_file_is_written_in_the_format_its_extension_names(tmp_path):
    pdf = tmp_path / "out.pdf"
    assert invoke("run", "minimal", *SHORT, "--plot", str(pdf)).exit_code == 0
    assert pdf.read_bytes().startswith(b"%PDF")
    svg = tmp_path / "out.svg"
    assert invoke("run", "minimal", *SHORT, "--plot", str(svg)).exit_code == 0
    assert b"<svg" in svg.read_bytes()[:400]
    assert "extension" in one_line_error(invoke("run", "minimal", "--plot", str(tmp_path / "out.txt")))
    assert "extension" in one_line_error(invoke("run", "minimal", "--trace", str(tmp_path / "x.csv")))
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "out.txt").exists()


def test_outputs_are_not_replaced_without_force(tmp_path):
    # what is refused or replaced does not depend on how long the runs are: a year each
    out_dir = tmp_path / "k1"
    assert invoke("run", "minimal", *SHORT, "--out", str(out_dir)).exit_code == 0
    assert invoke("report", str(out_dir)).exit_code == 0
    before = (out_dir / "summary.json").read_bytes()
    line = one_line_error(invoke("run", "minimal", *SHORT, "--seed", "2", "--out", str(out_dir)))
    assert "--force" in line
    assert (out_dir / "summary.json").read_bytes() == before
    assert invoke("run", "minimal", *SHORT, "--seed", "2", "--out", str(out_dir), "--force").exit_code == 0
    assert json.loads((out_dir / "summary.json").read_text())["seed"] == 2
    assert not (out_dir / "report.html").exists(), "the earlier run's report is not left behind"
    trace = tmp_path / "t.jsonl"
    assert invoke("run", "minimal", *SHORT, "--trace", str(trace)).exit_code == 0
    assert "--force" in one_line_error(invoke("run", "minimal", *SHORT, "--trace", str(trace)))
    assert invoke("run", "minimal", *SHORT, "--trace", str(trace), "--force").exit_code == 0
    report = out_dir / "page.html"
    report.write_text("mine")
    assert "--force" in one_line_error(invoke("report", str(out_dir), "-o", str(report)))
    assert report.read_text() == "mine"


def test_symbolic_links_are_not_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep")
    link = tmp_path / "t.jsonl"
    link.symlink_to(elsewhere)
    assert "symbolic link" in one_line_error(invoke("run", "minimal", "--trace", str(link), "--force"))
    assert elsewhere.read_text() == "keep"
    target = tmp_path / "real"
    target.mkdir()
    (tmp_path / "runlink").symlink_to(target)
    assert "symbolic link" in one_line_error(invoke("run", "minimal", "--out", str(tmp_path / "runlink")))
    assert list(target.iterdir()) == []


def test_a_closed_pipe_is_a_quiet_exit():
    read, write = os.pipe()
    os.close(read)  # whoever reads has gone before anything is written
    proc = subprocess.run(
        [sys.executable, "-m", "normflow", "plugins"], stdout=write, stderr=subprocess.PIPE, timeout=120
    )
    os.close(write)
    assert proc.returncode == 0 and proc.stderr == b""


# -- every option of every command ---------------------------------------------------------

NUMERIC = (click.types.IntParamType, click.types.FloatParamType)


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def _numeric_options():
    out = []
    for path, command in _commands(cli):
        for param in command.params:
            if isinstance(param, click.Option) and not param.is_flag:
                numeric = isinstance(param.type, NUMERIC) or param.type.name in ("number", "integer", "float")
                if numeric:
                    out.append((path, param.opts[-1]))
    return out


@pytest.mark.parametrize(("path", "option"), _numeric_options(), ids=str)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "abc", ""])
def test_no_numeric_option_takes_a_value_that_would_break_it(path, option, value):
    """NaN, infinities and text never reach a study: the option's type
    refuses them, which click reports in one line with exit 2."""
    command = cli
    for name in path:
        command = command.commands[name]
    param = next(p for p in command.params if option in p.opts)
    with click.Context(command) as ctx, pytest.raises(click.BadParameter):
        param.type.convert(value, param, ctx)


def test_every_command_refuses_a_bad_number_in_one_line():
    for path, option in _numeric_options():
        out = invoke(*path, option, "nan")
        if out.exit_code != 2:
            raise AssertionError((path, option, out.output))
        assert "Traceback" not in out.output


# -- the new commands ---------------------------------------------------------------------


def test_explain_prints_the_recorded_chain_of_the_agenda(kawasaki_seed1):
    trace, _, events = kawasaki_seed1  # `normflow run kawasaki-suffrage --seed 1 --trace`, once a session
    out = invoke("explain", str(trace), "agenda_placed")
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0] == "why agenda_placed:" and "reached the agenda of the Diet" in lines[1]
    assert any("passed a resolution" in x for x in lines) and any("[root]" in x for x in lines)
    chain = json.loads(invoke("explain", str(trace), "agenda_placed", "--json").stdout)["chain"]
    by_id = {e["id"]: e for e in events if e.get("id")}
    assert [c["id"] for c in chain["causes"]] == list(by_id[chain["id"]]["causes"])
    assert "not reached" in one_line_error(invoke("explain", str(trace), "agreement_reached:none"))


def test_compare_two_arms_one_with_an_intervention_paired(tmp_path):
    out = invoke("compare", "minimal", "minimal --intervene no_local_resolutions", "-n", "3", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert len(result["arms"]) == 2 and result["arms"][1]["interventions"] == "no local resolutions"
    rows = {r["name"]: r for r in result["rows"]}
    for r in result["rows"]:
        assert {"name", "a", "b", "diff", "low", "high"} <= set(r)
    res = rows["count:resolution_passed"]
    assert res["paired"] and res["b"] == 0 and res["high"] < 0
    # one arm and --intervene: the second arm is the first with the intervention
    same = json.loads(
        invoke("compare", "minimal", "--intervene", "no_local_resolutions", "-n", "3", "--json").stdout
    )
    assert same["rows"] == result["rows"]
    html_dir = tmp_path / "cmp"
    shown = invoke(
        "compare", "minimal", "--intervene", "no_local_resolutions", "-n", "2", "--out", str(html_dir)
    )
    assert shown.exit_code == 0 and "B - A" in shown.stdout
    page = (html_dir / "report.html").read_text()
    assert 'id="timelines"' in page and 'id="differences"' in page and "<svg" in page
    assert "--force" in one_line_error(
        invoke("compare", "minimal", "--intervene", "no_domestic", "-n", "1", "--out", str(html_dir))
    )


def test_interventions_are_listed_and_change_a_run():
    listed = invoke("interventions", "--json")
    names = [r["name"] for r in json.loads(listed.stdout)]
    assert "no_local_resolutions" in names and "resource_scale=VALUE" in names
    out = json.loads(invoke("run", "minimal", "--json", "--intervene", "no_local_resolutions").stdout)
    assert out["interventions"] == {"local_resolutions": False}
    assert out["counts"].get("resolution_passed", 0) == 0


def test_the_network_figure_and_the_outcomes_are_in_the_report(tmp_path):
    run_dir = tmp_path / "m1"
    assert invoke("run", "minimal", "--seed", "1", "--out", str(run_dir)).exit_code == 0
    assert invoke("report", str(run_dir)).exit_code == 0
    page = (run_dir / "report.html").read_text()
    sections = re.findall(r'<section class="report-section" id="([^"]+)"', page)
    assert sections[0] == "outcomes" and {"why", "network"} <= set(sections)
    network = page[page.index('id="network"') : page.index('id="public-support"')]
    assert "<svg" in network and "kawasaki" in network
    png = tmp_path / "net.png"
    out = invoke("plot", "network", str(run_dir), "--date", "1995-01-01", "--out", str(png))
    assert out.exit_code == 0, out.output
    assert png.read_bytes().startswith(b"\x89PNG") and "on 1995-01-01" in out.stdout
    assert "span" in one_line_error(
        invoke("plot", "network", str(run_dir), "--date", "2050-01-01", "--out", str(tmp_path / "x.png"))
    )


def test_a_date_given_with_set_reaches_every_json_output():
    """TOML dates in --set (scenario.end=...) are written as ISO text in
    every JSON the commands print."""
    ran = invoke("run", "minimal", "--json", "--until", "2001-06-30", "--set", "scenario.end=2001-12-31")
    assert ran.exit_code == 0 and json.loads(ran.stdout)["overrides"] == {"scenario.end": "2001-12-31"}
    compared = invoke("compare", "minimal", "--set", "scenario.end=2001-12-31", "-n", "1", "--json")
    assert compared.exit_code == 0, compared.output
    assert json.loads(compared.stdout)["arms"][1]["overrides"] == {"scenario.end": "2001-12-31"}
