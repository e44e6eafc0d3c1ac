"""``normflow interventions``: the counterfactual switches ``--intervene`` takes."""

from __future__ import annotations

import json

import click

from normflow.interventions import describe_interventions


@click.command("interventions")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
def interventions_command(as_json: bool) -> None:
    """List the interventions --intervene NAME[=VALUE] offers (run, validate,
    experiment run, compare)."""
    rows = describe_interventions()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['name']:24s} {row['description']}")
