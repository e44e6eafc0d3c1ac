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
def new_plugin_command(name: str, directory: str) -> None:
    """Write a ready-to-install plugin project into ./NAME/.

    NAME is the distribution name, e.g. normflow-shaming: the module is
    normflow_shaming and the plugin's name is shaming.
    """
    try:
        root = write_plugin_project(name, directory)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    names = PluginNames.from_name(name)
    click.echo(f"wrote {root}/ (plugin '{names.plugin}', module {names.module})")
    click.echo(f"next: pip install -e {root} && normflow plugins")
