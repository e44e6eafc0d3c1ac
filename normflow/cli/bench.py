"""``normflow bench``: the engine measured against naive SimPy and Mesa
references, each measurement in a fresh process."""

from __future__ import annotations

import json
import sys

import click

from normflow.bench import BenchError, print_report, run_suite


@click.command("bench")
@click.option("--quick", is_flag=True, help="Smaller sizes, one repetition, 4 replications: a smoke run.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows and targets as one JSON object.")
@click.option(
    "--repeat",
    type=click.IntRange(1, 20),
    default=None,
    help="Repetitions per row (default 3; 1 with --quick).",
)
@click.option(
    "--replications",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Replications of the experiment rows (default 200; 4 with --quick).",
)
def bench_command(quick: bool, as_json: bool, repeat: int | None, replications: int | None) -> None:
    """Measure the engine against naive SimPy and Mesa references and print the table.

    Each measurement runs in its own Python process; the full suite takes
    several minutes (the 180,000-group row and the 200-replication
    experiment dominate)."""
    say = (lambda _: None) if as_json else (lambda text: click.echo(f"… {text}", err=True))
    try:
        report = run_suite(quick=quick, repeat=repeat, say=say, replications=replications)
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        print_report(report)
