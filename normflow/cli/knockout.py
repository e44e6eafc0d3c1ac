"""``normflow knockout``: switch each mechanism a scenario uses off in turn
and print its effect on every milestone (``normflow.knockout``)."""

from __future__ import annotations

import json
import os
import sys

import click

from normflow.cli.base import EXIT_RUN_FAILED, fail, progress_bar
from normflow.cli.options import SEED


@click.command("knockout")
@click.argument("scenario")
@click.option(
    "-n",
    "--runs",
    type=click.IntRange(2),
    default=100,
    show_default=True,
    help="Paired replications per arm.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Base seed of the replications (>= 0).")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Worker processes (default: the number of CPUs).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--all", "show_all", is_flag=True, help="Show every milestone, not only the outcomes.")
def knockout_command(
    scenario: str, runs: int, seed: int, workers: int | None, as_json: bool, show_all: bool
) -> None:
    """Switch off, in turn, each core sub-process SCENARIO uses and each active
    plugin, and measure what each one does.

    Replication k of every arm runs with the same seed (common random numbers),
    so each effect is a paired difference, with minus without: in the share of
    runs reaching a milestone and in the restricted mean days to it (the
    horizon where it is not reached), with 95% intervals. A mechanism is
    ``inert`` when no outcome milestone (agenda step, negotiation opened, in its
    main phase or ended in agreement, bill enacted, policy changed) moves."""
    from normflow.knockout import KnockoutError, run_knockout

    if workers is None:
        workers = max(1, os.cpu_count() or 1)
    with progress_bar() as progress:
        task = progress.add_task(f"knockout {scenario}", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            out = run_knockout(scenario, runs=runs, seed=seed, workers=workers, progress=advance)
        except KnockoutError as exc:
            fail(str(exc), EXIT_RUN_FAILED)
            return
    if as_json:
        click.echo(json.dumps(out))
        return
    _print(out, show_all)


def _fmt(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:+.{digits}f}"


def _print(out: dict, show_all: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    from normflow.knockout import is_outcome

    console = Console(file=sys.stdout)
    if not console.is_terminal:
        console = Console(file=sys.stdout, width=160)
    table = Table(title=f"{out['scenario']}: knockout, {out['runs']} paired replications per arm")
    for column in (
        "mechanism",
        "milestone",
        "share (with - without)",
        "95% interval",
        "days (with - without)",
        "95% interval",
    ):
        table.add_column(column)
    for m in out["mechanisms"]:
        name = f"{m['name']} [red](inert)[/red]" if m["inert"] else m["name"]
        rows = [e for e in m["effects"] if show_all or is_outcome(e["milestone"])]
        for i, e in enumerate(rows):
            table.add_row(
                name if i == 0 else "",
                e["milestone"],
                _fmt(e["share_diff"], 3),
                f"{_fmt(e['share_low'], 3)} .. {_fmt(e['share_high'], 3)}",
                _fmt(e["time_diff"], 0),
                f"{_fmt(e['time_low'], 0)} .. {_fmt(e['time_high'], 0)}",
            )
        if not rows:
            table.add_row(name, "(no outcome milestone)", "", "", "", "")
    console.print(table)
