"""``normflow scenarios``: the bundled scenarios, listed or shown."""

from __future__ import annotations

import tomllib

import click

from normflow.scenario import bundled_scenarios, resolve_scenario_path


@click.group("scenarios", invoke_without_command=True)
@click.pass_context
def scenarios_group(ctx: click.Context) -> None:
    """List the bundled scenarios."""
    if ctx.invoked_subcommand is not None:
        return
    for name, path in sorted(bundled_scenarios().items()):
        meta = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario", {})
        click.echo(f"{name:24s} {meta.get('description', '')}")


@scenarios_group.command("show")
@click.argument("name")
def scenarios_show(name: str) -> None:
    """Print a bundled scenario's file."""
    click.echo(resolve_scenario_path(name).read_text(encoding="utf-8"), nl=False)
