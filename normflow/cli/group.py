"""The ``normflow`` group: global options, and the translation of the
exceptions studies raise into one-line messages and exit codes."""

from __future__ import annotations

import warnings
from typing import Any

import click

from normflow import log
from normflow.cli.base import EXIT_RUN_FAILED, fail, show_warning
from normflow.errors import ExperimentError, ReportError
from normflow.plugins import PluginError
from normflow.schema import ScenarioError
from normflow.simulation import PluginRunError


class NormflowGroup(click.Group):
    """Turns the project's exceptions into one-line messages and exit codes."""

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
def cli(log_json: bool, log_level: str) -> None:
    """Simulate how advocacy coalitions, local governments, legislatures and
    states turn information and moral authority into policy change."""
    log.configure(json=log_json, level=log_level)
    warnings.showwarning = show_warning
