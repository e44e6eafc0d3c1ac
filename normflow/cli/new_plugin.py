"""``normflow new-plugin``: a ready-to-install plugin project."""

from __future__ import annotations

import click

from normflow.scaffold import PluginNames, write_plugin_project


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "-d",
    "--directory",
    type=click.Path(file_okay=False, exists=True),
    default=".",
    show_default=True,
    help="Write the project inside this existing directory.",
)
@click.option(
    "--plugin-name",
    default=None,
    metavar="NAME",
    help="The plugin's own name (entry point, metric prefix, config section); default: NAME without 'normflow-'.",
)
def new_plugin_command(name: str, directory: str, plugin_name: str | None) -> None:
    """Write a ready-to-install plugin project into ./NAME/.

    NAME is the distribution name, e.g. normflow-shaming: the module is
    normflow_shaming and the plugin's name is shaming (or --plugin-name).
    """
    try:
        names = PluginNames.from_name(name, plugin_name)
        root = write_plugin_project(name, directory, plugin_name)
    except ValueError as exc:
        own = plugin_name is not None and str(exc).startswith(f"'{plugin_name}'")
        raise click.BadParameter(str(exc), param_hint="--plugin-name" if own else "NAME") from None
    click.echo(f"wrote {root}/ (plugin '{names.plugin}', module {names.module})")
    click.echo(f"next: pip install -e {root} && normflow plugins")
