"""``normflow validate``: how often a scenario's stylized facts hold over
replications, with intervals, and when its milestones are reached."""

from __future__ import annotations

import json
import os
import sys

import click

from normflow.cli.base import plugin_options, progress_bar
from normflow.cli.options import SEED, FiniteFloat, intervene_option, interventions_of
from normflow.scenario import load_scenario
from normflow.scenario import with_plugins as with_plugins_of
from normflow.validate import ReplicationFailed, print_validation, validate


@click.command("validate")
@click.argument("scenario")
@click.option("-n", "--runs", type=click.IntRange(1), default=50, show_default=True, help="Replications.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Base seed of the replications (>= 0).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--local-government-role",
    type=FiniteFloat(0, 10),
    default=1.0,
    show_default=True,
    help="Scale local governments' openness, access and assembly support; 0 removes their role "
    "(and partner links abroad). See docs/cases/index.md.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Worker processes (default: the number of CPUs, at most the number of runs).",
)
@intervene_option
@plugin_options
@click.option(
    "--posterior",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR|CASE",
    help="Draw each run's parameters from the posterior of the calibration in DIR (normflow calibrate), "
    "or from the posterior shipped for a bundled CASE.",
)
@click.option(
    "--null/--no-null",
    default=True,
    show_default=True,
    help="Also run each replication with the campaign switched off, and flag facts that hold anyway.",
)
def validate_command(
    scenario: str,
    runs: int,
    seed: int,
    as_json: bool,
    local_government_role: float,
    workers: int | None,
    intervene: tuple[str, ...],
    posterior: str | None,
    null: bool,
    with_plugins: tuple[str, ...] = (),
    without_plugins: tuple[str, ...] = (),
) -> None:
    """Run SCENARIO's replications and report how often each stylized fact holds.

    Prints, per fact and calibration target, the share of runs in which it
    holds with a 95% Wilson interval, and the share of null-arm runs (the
    campaign switched off) in which it holds: a fact holding in at least half
    of those is flagged uninformative. With --posterior DIR, each run's
    parameters are drawn from a calibration's posterior (a bundled case's
    name: the posterior shipped with normflow). Per milestone, the
    share of runs that reached it and the median
    and 10th-90th percentile dates among those. Always exits 0 once the runs
    are done: it reports, it does not judge."""
    loaded = with_plugins_of(load_scenario(scenario), with_plugins, without_plugins)
    interventions = interventions_of(intervene)
    if workers is None:
        workers = min(os.cpu_count() or 1, runs)
    with progress_bar() as progress:
        task = progress.add_task(f"validating {loaded.name}", total=runs)
        try:
            report = validate(
                loaded,
                runs,
                seed,
                local_government_role=local_government_role,
                workers=workers,
                null=null,
                posterior=posterior,
                on_done=lambda: progress.advance(task),
                interventions=interventions,
            )
        except ReplicationFailed as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    from rich.console import Console

    out = Console(file=sys.stdout)
    if not out.is_terminal:
        out = Console(file=sys.stdout, width=160)  # a file or a pipe: never truncate names
    print_validation(report, out)
