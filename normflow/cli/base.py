"""What every command shares: exit codes, the one-line failure message, and
the parsing of ``--set PATH=VALUE`` options.

Every user mistake ends in one line on stderr naming where and what, and a
non-zero exit (2 for bad input, 1 for a run that failed); never a
traceback.
"""

from __future__ import annotations

import sys
import tomllib
from typing import Any

import click

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def parse_value(text: str) -> Any:
    """A ``--set`` value: anything TOML accepts on the right of ``=``."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(items: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(
                f"'{item}': expected PATH=VALUE, e.g. processes.agenda.stage_days=45", param_hint="--set"
            )
        key, value = item.split("=", 1)
        out[key.strip()] = parse_value(value.strip())
    return out


def plugin_options(command: Any) -> Any:
    """``--with NAME`` and ``--without NAME`` (each repeatable): plugins added
    to, or removed from, the ones the scenario uses, for this command."""
    command = click.option(
        "--without",
        "without_plugins",
        multiple=True,
        metavar="NAME",
        help="Leave this plugin out, whatever the scenario uses (repeatable).",
    )(command)
    return click.option(
        "--with",
        "with_plugins",
        multiple=True,
        metavar="NAME",
        help="Add this installed plugin to the ones the scenario uses (repeatable).",
    )(command)


def show_warning(
    message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """Warnings (a plugin that failed to load, say) as one line on stderr."""
    click.echo(f"warning: {message}", err=True)
