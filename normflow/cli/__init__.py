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
from normflow.cli.group import NormflowGroup, cli
from normflow.cli.plugins import add_plugin_commands

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

#: The commands, by name: each one's module and the command in it. A module is
#: imported when its command is looked up (``NormflowGroup.add_lazy_command``),
#: so ``normflow run`` does not load what the studies, reports and the bench
#: need (pandas, pyarrow, the process pools and the rest).
COMMANDS = {
    "run": ("normflow.cli.run", "run_command"),
    "scenarios": ("normflow.cli.scenarios", "scenarios_group"),
    "plugins": ("normflow.cli.plugins", "plugins_command"),
    "validate": ("normflow.cli.validate", "validate_command"),
    "calibrate": ("normflow.cli.calibrate", "calibrate_command"),
    "sensitivity": ("normflow.cli.sensitivity", "sensitivity_command"),
    "experiment": ("normflow.cli.experiment", "experiment_cli"),
    "hypotheses": ("normflow.cli.hypotheses", "hypotheses_command"),
    "knockout": ("normflow.cli.knockout", "knockout_command"),
    "new-plugin": ("normflow.cli.new_plugin", "new_plugin_command"),
    "report": ("normflow.cli.report", "report_command"),
    "bench": ("normflow.cli.bench", "bench_command"),
    "compare": ("normflow.cli.compare", "compare_command"),
    "explain": ("normflow.cli.explain", "explain_command"),
    "interventions": ("normflow.cli.interventions", "interventions_command"),
    "plot": ("normflow.cli.plot", "plot_group"),
}

for _name, (_module, _attribute) in COMMANDS.items():
    cli.add_lazy_command(_name, _module, _attribute)


def __getattr__(name: str) -> object:
    """The command objects as attributes of this module (``run_command``, ...),
    as when every command module was imported with it."""
    import importlib

    for module, attribute in COMMANDS.values():
        if attribute == name:
            return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'normflow.cli' has no attribute {name!r}")


def main() -> None:
    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        add_plugin_commands(cli)
    cli(prog_name="normflow")
