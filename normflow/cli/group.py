"""The ``normflow`` group: global options, and the translation of the
exceptions studies raise into one-line messages and exit codes.

A usage error click finds (a bad option value, a missing argument) is one
line too (``error: ...``, exit 2), not click's usage block; a reader who
closed the pipe (``normflow plugins | head -1``) ends the command quietly
with exit 0.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

import click

# PluginRunError by normflow's lazy name: the run machinery is then imported with
# attrs' code cache (normflow/__init__.py), as through the Python API
from normflow import PluginRunError, log
from normflow.cli.base import EXIT_BAD_INPUT, EXIT_RUN_FAILED, fail, show_warning
from normflow.errors import ExperimentError, ReportError
from normflow.interventions import InterventionError
from normflow.outputs import OutputError
from normflow.plugins import PluginError
from normflow.scenario import LIMITS, Limits
from normflow.schema import ScenarioError, one_line


class _NeverRaised(Exception):
    """Stands for the exception class of a module that was never imported."""


def _raised_by(module: str, name: str) -> type[BaseException]:
    """The exception class ``name`` of ``module`` if the module is imported,
    else a class nobody raises: an exception can only be an instance of a class
    whose module was imported. So ``normflow run`` does not import the studies'
    modules (compare, explain, store: about 13M instructions) for their
    exception classes alone; ``invoke`` looks them up when an exception
    reaches its clause."""
    loaded = sys.modules.get(module)
    return _NeverRaised if loaded is None else getattr(loaded, name)


def quiet_pipe() -> None:
    """The reader of stdout has gone: stop quietly, with exit 0, and keep
    Python from complaining when it flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test runner's buffer): nothing to flush
    sys.exit(0)


class NormflowGroup(click.Group):
    """Turns the project's exceptions into one-line messages and exit codes.

    A command may be added by the module that defines it (``add_lazy_command``):
    the module is imported when the command is looked up (``normflow run``
    imports the run command's module alone, not those of every study), and
    ``commands`` imports them all for whatever reads the whole table (help
    pages, the docs, the tests). A command added later under the same name
    (a plugin's) replaces it, as ``add_command`` replaces an added command."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: command name -> (module, attribute) not imported yet
        self._lazy: dict[str, tuple[str, str]] = {}
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> dict[str, click.Command]:  # type: ignore[override]
        for name in list(self._lazy):
            self._load(name)
        return self._commands

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._commands = value

    def add_lazy_command(self, name: str, module: str, attribute: str) -> None:
        self._commands.pop(name, None)
        self._lazy[name] = (module, attribute)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self._lazy.pop(name or cmd.name or "", None)
        # click's add_command writes through ``commands``: without lazy entries
        # meanwhile, that reads the table as it stands instead of importing them all
        lazy, self._lazy = self._lazy, {}
        try:
            super().add_command(cmd, name)
        finally:
            self._lazy = lazy

    def _load(self, name: str) -> None:
        import importlib

        module, attribute = self._lazy.pop(name)
        self._commands[name] = getattr(importlib.import_module(module), attribute)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self._lazy:
            self._load(cmd_name)
        return self._commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self._commands, *self._lazy})

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            value = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as exc:
            # click's usage errors (bad option values, missing arguments): one line
            fail(one_line(exc.format_message()), exc.exit_code)
        except click.exceptions.Abort:
            fail("interrupted", 130)
        except BrokenPipeError:
            quiet_pipe()
        sys.exit(value if isinstance(value, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScenarioError as exc:
            fail(exc.message)
        except PluginError as exc:
            fail(str(exc))
        except PluginRunError as exc:
            fail(str(exc), EXIT_RUN_FAILED)
        except ReportError as exc:
            fail(str(exc))
        except ExperimentError as exc:
            fail(str(exc), EXIT_RUN_FAILED)
        except (
            _raised_by("normflow.compare", "CompareError"),
            _raised_by("normflow.explain", "ExplainError"),
            InterventionError,
            OutputError,
        ) as exc:
            fail(one_line(str(exc)))
        except BrokenPipeError:
            quiet_pipe()
        except _raised_by("normflow.store", "StoreError") as exc:
            fail(str(exc))
        except OSError as exc:
            fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}".lstrip(": "))
        except KeyboardInterrupt:
            fail("interrupted", 130)


@click.group(cls=NormflowGroup)
@click.version_option(package_name="normflow")
@click.option("--log-json", is_flag=True, help="Write the run log as JSON lines on stderr.")
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--max-actors",
    type=click.IntRange(1),
    default=LIMITS.max_actors,
    show_default=True,
    help="Refuse a world with more actors (states, local governments, groups) than this.",
)
@click.option(
    "--max-years",
    type=click.IntRange(1),
    default=LIMITS.max_years,
    show_default=True,
    help="Refuse a scenario whose horizon is longer than this many years.",
)
def cli(log_json: bool, log_level: str, max_actors: int, max_years: int) -> None:
    """Simulate how advocacy coalitions, local governments, legislatures and
    states turn information and moral authority into policy change."""
    import normflow.scenario

    normflow.scenario.LIMITS = Limits(max_actors=max_actors, max_years=max_years)
    log.configure(json=log_json, level=log_level)
    warnings.showwarning = show_warning
