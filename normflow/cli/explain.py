"""``normflow explain TRACE MILESTONE``: the causal chain behind a milestone,
built from the ``causes`` a run recorded in its trace."""

from __future__ import annotations

import json

import click

from normflow.explain import explain, render


@click.command("explain")
@click.argument("trace", type=click.Path(exists=True))
@click.argument("milestone")
@click.option("--json", "as_json", is_flag=True, help="Print the chain as one JSON object.")
def explain_command(trace: str, milestone: str, as_json: bool) -> None:
    """Explain MILESTONE of the run whose trace is TRACE (a .jsonl or .parquet
    trace, or a run directory): the events that led to it, back to their roots.

    MILESTONE is a milestone name (agenda_placed, policy_changed:japan,
    negotiation_opened:ID, boomerang:STATE, ...), an event kind, or id:N.
    """
    result = explain(trace, milestone)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(render(result))
