"""The ``normflow`` command: the interface layer, the only part of normflow
that knows click and exit codes.

One module per command group: ``run``, ``scenarios``, ``plugins``,
``validate``, ``calibrate``, ``sensitivity``, ``experiment``, ``hypotheses``, ``knockout``, ``report``, ``bench``,
``new_plugin``, ``compare``, ``explain``, ``interventions``, ``plot``;
``options`` the option types and checks several commands share; ``group`` holds the top-level group and turns the
exceptions studies raise into one-line messages, ``base`` what every
command shares. Plugins may add commands through
``normflow_register_commands``.
"""

from __future__ import annotations

import warnings

from normflow.cli.base import (
    EXIT_BAD_INPUT,
    EXIT_RUN_FAILED,
    fail,
    parse_overrides,
    parse_value,
    show_warning,
)
from normflow.cli.bench import bench_command
from normflow.cli.calibrate import calibrate_command
from normflow.cli.compare import compare_command
from normflow.cli.experiment import experiment_cli
from normflow.cli.explain import explain_command
from normflow.cli.group import NormflowGroup, cli
from normflow.cli.hypotheses import hypotheses_command
from normflow.cli.interventions import interventions_command
from normflow.cli.knockout import knockout_command
from normflow.cli.new_plugin import new_plugin_command
from normflow.cli.plot import plot_group
from normflow.cli.plugins import add_plugin_commands, plugins_command
from normflow.cli.report import report_command
from normflow.cli.run import run_command
from normflow.cli.scenarios import scenarios_group
from normflow.cli.sensitivity import sensitivity_command
from normflow.cli.validate import validate_command

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_RUN_FAILED",
    "NormflowGroup",
    "cli",
    "fail",
    "main",
    "parse_overrides",
    "parse_value",
]

for command in (
    run_command,
    scenarios_group,
    plugins_command,
    validate_command,
    calibrate_command,
    sensitivity_command,
    experiment_cli,
    hypotheses_command,
    knockout_command,
    new_plugin_command,
    report_command,
    bench_command,
    compare_command,
    explain_command,
    interventions_command,
    plot_group,
):
    cli.add_command(command)


def main() -> None:
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        add_plugin_commands(cli)
    cli(prog_name="normflow")
