"""``normflow plugins``: the loaded plugins, their hooks and config
sections; and the commands plugins add to ``normflow``."""

from __future__ import annotations

import json

import click

from normflow.plugins import PluginError, describe_plugins, get_plugin_manager


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
def plugins_command(as_json: bool) -> None:
    """List the loaded plugins, their hooks and config sections."""
    rows = describe_plugins(get_plugin_manager())
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no plugins loaded")
    for row in rows:
        click.echo(f"{row['name']} {row['version']} ({row['module']})")
        click.echo(f"  hooks: {', '.join(row['hooks'])}")
        if row["config_section"]:
            click.echo(f"  config: [plugins.{row['config_section']}]")


def add_plugin_commands(cli: click.Group) -> None:
    """Let every plugin implementing ``normflow_register_commands`` add its commands."""
    try:
        pm = get_plugin_manager()
    except PluginError:
        return  # every command that sets plugins up reports it as its error
    for impl in pm.hook.normflow_register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:  # a broken plugin must not brick the CLI
            click.echo(
                f"warning: plugin '{impl.plugin_name}' failed to add its commands: {type(exc).__name__}: {exc}",
                err=True,
            )
