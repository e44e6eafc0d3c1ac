"""The ``normflow`` command.

Every user mistake ends in one line on stderr naming where and what, and a
non-zero exit (2 for bad input, 1 for a run that failed); never a
traceback. Plugins may add commands through ``normflow_register_commands``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tomllib
import warnings
from pathlib import Path
from typing import Any

import click

from normflow import log, report
from normflow.bench import bench_command
from normflow.experiment import experiment_cli
from normflow.hypotheses import hypotheses_command
from normflow.plugins import PluginError, describe_plugins, get_plugin_manager
from normflow.report import report_command
from normflow.scaffold import new_plugin_command
from normflow.scenario import bundled_scenarios, load_scenario, resolve_scenario_path
from normflow.schema import ScenarioError
from normflow.simulation import PluginRunError, Simulation
from normflow.validate import validate_command

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _show_warning(
    message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    click.echo(f"warning: {message}", err=True)


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
        except OSError as exc:
            fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}".lstrip(": "))
        except KeyboardInterrupt:
            fail("interrupted", 130)


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
    warnings.showwarning = _show_warning


@cli.command()
@click.argument("scenario")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run's random streams.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Stop at this date (YYYY-MM-DD).")
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write every event as JSON Lines here (a path ending in .parquet: a columnar Parquet trace).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a scenario field, e.g. processes.agenda.stage_days=45.",
)
@click.option(
    "--local-government-role",
    type=click.FloatRange(0, 10),
    default=1.0,
    show_default=True,
    help="Scale local governments' openness, access and assembly support (0 removes their role).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the run directory here: summary.json and trace.jsonl (for normflow report).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Draw the run's timeline and public support into this PNG.",
)
def run(
    scenario: str,
    seed: int,
    until: dt.datetime | None,
    trace_path: str | None,
    as_json: bool,
    overrides: tuple[str, ...],
    local_government_role: float,
    out_dir: str | None,
    plot_path: str | None,
) -> None:
    """Run SCENARIO (a bundled name or a TOML path) once and summarize it."""
    loaded = load_scenario(scenario, overrides=parse_overrides(overrides))
    if out_dir is not None:
        if trace_path is not None:
            raise click.UsageError("--out holds the run's trace; give --trace or --out, not both")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        trace_path = str(Path(out_dir) / report.TRACE)
    if trace_path is not None:
        _check_writable(Path(trace_path))
    if plot_path is not None:
        _check_writable(Path(plot_path), "--plot")
    sim = Simulation(loaded, seed, trace=trace_path, local_government_role=local_government_role)
    series = None
    if plot_path is not None:
        series = report.RunSeries(loaded.start)
        series.watch(sim)
    result = sim.run(until=until.date() if until else None)
    if out_dir is not None:
        report.write_run_outputs(Path(out_dir), result.to_dict())
    if series is not None:
        series.end_t = float((result.end - result.start).days)
        report.plot_run(result.to_dict(), series, Path(plot_path))
    if as_json:
        click.echo(json.dumps(result.to_dict(), sort_keys=False))
        return
    _print_summary(result)


def _check_writable(path: Path, option: str = "--trace") -> None:
    if not path.parent.exists():
        raise ScenarioError(
            option, str(path), f"a file in an existing directory ({path.parent} does not exist)"
        )


def _print_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.scenario}  seed {result.seed}  {result.start} → {result.end}")
    table.add_column("milestone")
    table.add_column("date")
    table.add_column("day", justify="right")
    for name, t in result.milestones.items():
        table.add_row(name, result.date_of(t) or "not reached", "" if t is None else f"{t:.0f}")
    console.print(table)
    for issue, info in result.final["issues"].items():
        console.print(
            f"{issue}: {info['resolutions']} of {info['local_governments']} local governments passed resolutions "
            f"({info['resolution_population_share']:.0%} of the population)"
        )
    for state, issues in result.final["states"].items():
        for issue, st in issues.items():
            console.print(
                f"{state} / {issue}: position {st['position']:.2f}, public support {st['public_support']:.2f}, "
                f"on agenda {st['on_agenda']}, policy changed {st['policy_changed']}"
            )


@cli.group(invoke_without_command=True)
@click.pass_context
def scenarios(ctx: click.Context) -> None:
    """List the bundled scenarios."""
    if ctx.invoked_subcommand is not None:
        return
    for name, path in sorted(bundled_scenarios().items()):
        meta = tomllib.loads(path.read_text(encoding="utf-8")).get("scenario", {})
        click.echo(f"{name:24s} {meta.get('description', '')}")


@scenarios.command("show")
@click.argument("name")
def scenarios_show(name: str) -> None:
    """Print a bundled scenario's file."""
    click.echo(resolve_scenario_path(name).read_text(encoding="utf-8"), nl=False)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON list.")
def plugins(as_json: bool) -> None:
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


cli.add_command(validate_command)
cli.add_command(experiment_cli)
cli.add_command(hypotheses_command)
cli.add_command(new_plugin_command)
cli.add_command(report_command)
cli.add_command(bench_command)


def _add_plugin_commands() -> None:
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


def main() -> None:
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        _add_plugin_commands()
    cli(prog_name="normflow")
