"""``normflow plot``: figures of a run (``plot network RUN``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from normflow.cli.options import DATE, force_option
from normflow.errors import ReportError
from normflow.outputs import check_figure, figure_format


@click.group("plot")
def plot_group() -> None:
    """Figures of a run."""


@plot_group.command("network")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--date", "when", type=DATE, help="Draw the network on this date (default: the run's end).")
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    help="The figure file; its extension names the format (default: RUN/network.png).",
)
@force_option
def network_command(run: str, when: dt.datetime | None, out: str | None, force: bool) -> None:
    """Draw the network of the run in directory RUN (normflow run ... --out RUN):
    states, local governments, groups aggregated by population, partner links
    and coalitions at a date."""
    from normflow.network import network_figure, network_graph, world_at

    summary_path = Path(run) / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{summary_path}: not a readable run summary ({exc})") from None
    if not isinstance(summary, dict) or "scenario" not in summary:
        raise ReportError(f"{summary_path}: not a run summary")
    path = check_figure(out or Path(run) / "network.png", "--out", force=force)
    day = when.date() if when else None
    start, end = dt.date.fromisoformat(summary["start"]), dt.date.fromisoformat(summary["end"])
    if day is not None and not start < day <= end:
        raise click.BadParameter(f"{day} is not in the run's span ({start} to {end})", param_hint="--date")
    world, t = world_at(summary, day)
    graph = network_graph(world, t)
    network_figure(graph).savefig(path, format=figure_format(path), dpi=110)
    click.echo(
        f"wrote {path} ({graph.number_of_nodes()} nodes, {graph.number_of_edges()} links, "
        f"{graph.graph.get('coalitions', 0)} coalitions on {graph.graph.get('date')})"
    )
