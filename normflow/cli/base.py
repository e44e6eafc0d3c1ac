"""What every command shares: exit codes, the one-line failure message, and
the parsing of ``--set PATH=VALUE`` options.

Every user mistake ends in one line on stderr naming where and what, and a
non-zero exit (2 for bad input, 1 for a run that failed); never a
traceback.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


EXIT_INTERRUPTED = 130

T = TypeVar("T")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def guarded(
    work: Callable[[], T],
    *,
    bad: tuple[type[BaseException], ...] = (),
    failed: tuple[type[BaseException], ...] = (),
    interrupted: str | None = None,
) -> T:
    """``work()``, its errors as one line: one of ``bad`` is bad input
    (exit 2), one of ``failed`` a run that failed (exit 1); with
    ``interrupted`` (how to continue), Ctrl-C exits 130 saying so."""
    try:
        return work()
    except bad as exc:
        fail(str(exc))
    except failed as exc:
        fail(str(exc), EXIT_RUN_FAILED)
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        fail(f"interrupted; {interrupted}", EXIT_INTERRUPTED)


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


#: A seed as the commands take it: any SeedSequence entropy up to 2**63 - 1.
SEED = click.IntRange(0, 2**63 - 1)


def seed_option(help: str | None = None, default: int | None = 0) -> Callable[[T], T]:
    """``--seed``: a whole number in ``SEED`` (shown with its default)."""
    return click.option("--seed", type=SEED, default=default, show_default=default is not None, help=help)


def workers_option(default: int | None = None, help: str = "Worker processes.") -> Callable[[T], T]:
    """``--workers``: one or more worker processes (``None``: the command's own default)."""
    return click.option(
        "--workers", type=click.IntRange(1), default=default, show_default=default is not None, help=help
    )


def scheduler_option(help: str) -> Callable[[T], T]:
    """``--scheduler ADDRESS|local``: run on a Dask scheduler, or on a local cluster."""
    return click.option("--scheduler", default=None, metavar="ADDRESS|local", help=help)


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


def progress_bar(*extra: Any, description: str = "{task.description}", transient: bool = True) -> Any:
    """The commands' progress bar on stderr (drawn only on a terminal):
    description, bar, done/total, ``extra`` columns, time elapsed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        *extra,
        TimeElapsedColumn(),
        console=err,
        transient=transient,
        disable=not err.is_terminal,
    )


def show_warning(
    message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    """Warnings (a plugin that failed to load, say) as one line on stderr."""
    click.echo(f"warning: {message}", err=True)
