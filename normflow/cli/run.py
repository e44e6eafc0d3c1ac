"""``normflow run``: one run of a scenario, summarized (a table, or JSON),
optionally with its trace, its run directory and a plot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from normflow import report
from normflow.cli.base import parse_overrides
from normflow.scenario import load_scenario
from normflow.schema import ScenarioError
from normflow.simulation import Simulation


@click.command("run")
@click.argument("scenario")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run's random streams.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Stop at this date (YYYY-MM-DD).")
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write every event as JSON Lines here (a path ending in .parquet: a columnar Parquet trace).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. processes.agenda.stage_days=45.",
)
@click.option(
    "--local-government-role",
    type=click.FloatRange(0, 10),
    default=1.0,
    show_default=True,
    help="Scale local governments' openness, access and assembly support (0 removes their role).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the run directory here: summary.json and trace.jsonl (for normflow report).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Draw the run's timeline and public support into this PNG.",
)
def run_command(
    scenario: str,
    seed: int,
    until: dt.datetime | None,
    trace_path: str | None,
    as_json: bool,
    overrides: tuple[str, ...],
    local_government_role: float,
    out_dir: str | None,
    plot_path: str | None,
) -> None:
    """Run SCENARIO (a bundled name or a TOML path) once and summarize it."""
    loaded = load_scenario(scenario, overrides=parse_overrides(overrides))
    if out_dir is not None:
        if trace_path is not None:
            raise click.UsageError("--out holds the run's trace; give --trace or --out, not both")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        trace_path = str(Path(out_dir) / report.TRACE)
    if trace_path is not None:
        _check_writable(Path(trace_path))
    if plot_path is not None:
        _check_writable(Path(plot_path), "--plot")
    sim = Simulation(loaded, seed, trace=trace_path, local_government_role=local_government_role)
    series = None
    if plot_path is not None:
        series = report.RunSeries(loaded.start)
        series.watch(sim)
    result = sim.run(until=until.date() if until else None)
    if out_dir is not None:
        report.write_run_outputs(Path(out_dir), result.to_dict())
    if series is not None:
        series.end_t = float((result.end - result.start).days)
        report.plot_run(result.to_dict(), series, Path(plot_path))
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=False))
        return
    _print_summary(result)


def _check_writable(path: Path, option: str = "--trace") -> None:
    if not path.parent.exists():
        raise ScenarioError(
            option, str(path), f"a file in an existing directory ({path.parent} does not exist)"
        )


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.scenario}  seed {result.seed}  {result.start} → {result.end}")
    table.add_column("milestone")
    table.add_column("date")
    table.add_column("day", justify="right")
    for name, t in result.milestones.items():
        table.add_row(name, result.date_of(t) or "not reached", "" if t is None else f"{t:.0f}")
    console.print(table)
    for issue, info in result.final["issues"].items():
        console.print(
            f"{issue}: {info['resolutions']} of {info['local_governments']} local governments passed resolutions "
            f"({info['resolution_population_share']:.0%} of the population)"
        )
    for state, issues in result.final["states"].items():
        for issue, st in issues.items():
            console.print(
                f"{state} / {issue}: position {st['position']:.2f}, public support {st['public_support']:.2f}, "
                f"on agenda {st['on_agenda']}, policy changed {st['policy_changed']}"
            )
