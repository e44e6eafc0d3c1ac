"""Issue 18, defect 4: a ``$`` in a name reached matplotlib's math parser
and broke ``run --plot`` and ``normflow report``; names are now drawn as
they are written."""

from __future__ import annotations

from click.testing import CliRunner
from test_bad_input import GOOD

from normflow.cli import cli

DOLLARS = (
    GOOD.replace('name = "t"', 'name = "costs $5 $\\\\frac{a}{b}$"')
    + """
[[events]]
date = 1991-04-01
category = "state_visit"
name = "visit $\\\\frac$"
state = "korea"
target = "japan"
issue = "suffrage"
"""
)


def test_dollars_in_names_reach_figures_as_text(tmp_path):
    scenario = tmp_path / "dollars.toml"
    scenario.write_text(DOLLARS, encoding="utf-8")
    runner = CliRunner()
    plot = tmp_path / "plot.png"
    result = runner.invoke(cli, ["run", str(scenario), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.stat().st_size > 1000
    out = tmp_path / "run"
    result = runner.invoke(cli, ["run", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["report", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "$\\frac$" in page  # the name, drawn as written (SVG text, not TeX)
