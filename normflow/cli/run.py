"""``normflow run``: one run of a scenario, summarized (a table, or JSON),
optionally with its trace, its run directory and a plot."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from normflow import Simulation
from normflow.cli.base import parse_overrides, plugin_options
from normflow.cli.options import (
    DATE,
    SEED,
    FiniteFloat,
    check_until,
    force_option,
    intervene_option,
    interventions_of,
)
from normflow.outputs import check_figure, check_trace, prepare_directory
from normflow.scenario import bundled_scenarios, load_scenario
from normflow.scenario import with_plugins as with_plugins_of


def run_outputs() -> tuple[str, ...]:
    """What a run directory holds (replaced together with --force). The
    report's modules come only with an output that needs them (--out, --plot)."""
    from normflow.report.series import SUMMARY, TRACE

    return (SUMMARY, TRACE, "trace.parquet", "report.html", "network.png")


@click.command("run")
@click.argument("scenario")
@click.option(
    "--seed", type=SEED, default=0, show_default=True, help="Seed of the run's random streams (>= 0)."
)
@click.option(
    "--until",
    type=DATE,
    help="Stop at this date (YYYY-MM-DD), after the scenario's start and not after its end.",
)
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(),
    help="Write every event here: a path ending in .jsonl (JSON Lines) or .parquet (columnar Parquet).",
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
    type=FiniteFloat(0, 10),
    default=1.0,
    show_default=True,
    help="Scale local governments' openness, access and assembly support (0 removes their role).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(),
    help="Write the run directory here: summary.json and trace.jsonl (for normflow report); "
    "a non-empty directory needs --force.",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(),
    help="Draw the run's timeline and public support into this file, in the format its "
    "extension names (.png, .pdf, .svg, ...).",
)
@intervene_option
@force_option
@plugin_options
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
    intervene: tuple[str, ...],
    force: bool,
    with_plugins: tuple[str, ...] = (),
    without_plugins: tuple[str, ...] = (),
) -> None:
    """Run SCENARIO (a bundled name or a TOML path) once and summarize it."""
    loaded = load_scenario(scenario, overrides=parse_overrides(overrides))
    loaded = with_plugins_of(loaded, with_plugins, without_plugins)
    interventions = interventions_of(intervene)
    stop = check_until(loaded, until)
    # every output is checked before anything runs or is written
    if out_dir is not None and trace_path is not None:
        raise click.UsageError("--out holds the run's trace; give --trace or --out, not both")
    if trace_path is not None:
        check_trace(trace_path, force=force)
    if plot_path is not None:
        check_figure(plot_path, "--plot", force=force)
    if out_dir is not None or plot_path is not None:
        # the report's modules come only with an output that needs them
        from normflow import report
    if out_dir is not None:
        prepare_directory(out_dir, "--out", force=force, ours=run_outputs())
        trace_path = str(Path(out_dir) / report.series.TRACE)
    sim = Simulation(
        loaded,
        seed,
        trace=trace_path,
        local_government_role=local_government_role,
        interventions=interventions,
    )
    series = None
    if plot_path is not None:
        series = report.RunSeries(loaded.start)
        series.watch(sim)
    result = sim.run(until=stop)
    summary = result.to_dict()
    # how the scenario was named, to run it again (normflow plot network)
    summary["source"] = scenario if scenario in bundled_scenarios() else str(Path(scenario).resolve())
    if out_dir is not None:
        report.write_run_outputs(Path(out_dir), summary)
    if series is not None:
        series.end_t = float((result.end - result.start).days)
        report.plot_run(summary, series, Path(plot_path))
    if as_json:
        click.echo(json.dumps(summary, sort_keys=False))
        return
    _print_summary(result)


def _print_summary(result: Any) -> None:
    """Outcomes first, in words and dates; then the milestones in date order
    with their labels; then where things stood at the end."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{result.scenario}[/bold]  seed {result.seed}  {result.start} → {result.end}")
    if result.overrides:
        console.print("overrides: " + ", ".join(f"{k}={v}" for k, v in result.overrides.items()))
    if result.interventions:
        console.print("interventions: " + ", ".join(f"{k}={v}" for k, v in result.interventions.items()))
    outcomes = result.outcomes or {}
    lines = [
        item["text"]
        for key in ("agenda", "policy_changes", "negotiations", "bills")
        for item in outcomes.get(key, ())
    ]
    if lines:
        console.print("[bold]Outcomes[/bold]", highlight=False)
        for line in lines:
            console.print(f"  • {line}", highlight=False, markup=False)
    table = Table(title="Milestones, in date order")
    table.add_column("date")
    table.add_column("milestone")
    table.add_column("name", style="dim")
    for name, t in result.milestones_by_date():
        table.add_row(result.date_of(t) or "not reached", result.labels.get(name, name), name)
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
