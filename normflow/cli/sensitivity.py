"""``normflow sensitivity``: Morris screening or Sobol indices of a
scenario's outputs over a parameter spec (normflow.sensitivity)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from normflow.cli.base import fail, guarded, progress_bar, scheduler_option, seed_option, workers_option


@click.command("sensitivity")
@click.argument("scenario")
@click.option(
    "--params", required=True, metavar="SPEC", help="Parameter spec: a TOML file or a bundled name."
)
@click.option("--method", type=click.Choice(["morris", "sobol"]), default="morris", show_default=True)
@click.option(
    "-n",
    "n",
    type=click.IntRange(1),
    default=10,
    show_default=True,
    help="Morris: trajectories (n (d + 1) points); Sobol: base samples (n (d + 2) points).",
)
@click.option("--outputs", default=None, metavar="NAME,...", help="Outputs to analyse (default: see docs).")
@click.option("--replications", type=click.IntRange(1), default=2, show_default=True, help="Runs per point.")
@workers_option(default=1)
@scheduler_option("Run on Dask ('local': a LocalCluster).")
@seed_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option(
    "--out", type=click.Path(file_okay=False), default=None, help="Write results, design and figures here."
)
def sensitivity_command(
    scenario: str,
    params: str,
    method: str,
    n: int,
    outputs: str | None,
    replications: int,
    workers: int,
    scheduler: str | None,
    seed: int,
    as_json: bool,
    out: str | None,
) -> None:
    """Rank SCENARIO's free parameters (--params) by their influence on its
    outputs: Morris elementary effects (mu*, sigma) or Sobol indices (S1,
    ST, with confidence intervals), designed and analysed by SALib.

    Outputs: reached:<milestone>, time:<milestone> (restricted mean time),
    target:<name>, distance, metrics.<name>. See docs/calibration.md."""
    from rich.console import Console

    try:
        from normflow.sensitivity import SensitivityError, sensitivity, write_sensitivity
    except ImportError as exc:
        fail(f"sensitivity analysis needs SALib: pip install 'normflow[calibration]' ({exc})")
        return
    wanted = [o.strip() for o in outputs.split(",") if o.strip()] if outputs else None
    progress = progress_bar(description=f"{method} design points")
    task: list[Any] = []

    def on_progress(done: int, total: int) -> None:
        if not task:
            task.append(progress.add_task("points", total=total))
        progress.update(task[0], completed=done)

    def work() -> Any:
        with progress:
            return sensitivity(
                scenario,
                params,
                method=method,  # type: ignore[arg-type]
                n=n,
                outputs=wanted,
                replications=replications,
                workers=workers,
                scheduler=scheduler,
                seed=seed,
                on_progress=on_progress,
            )

    # RuntimeError: the executor (Dask missing, a scheduler unreachable)
    result = guarded(work, bad=(SensitivityError,), failed=(RuntimeError,))
    if out is not None:
        write_sensitivity(result, out)
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    _print(result, Console(file=sys.stdout, width=None if Console().is_terminal else 140))


def _print(result: Any, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    for output in result.outputs:
        table = Table(title=escape(f"{output['name']} ({result.method}, {result.runs} runs)"))
        table.add_column("parameter")
        if result.method == "morris":
            cols = [("mu*", "mu_star"), ("sigma", "sigma")]
        else:
            cols = [("ST", "ST"), ("ST 95%", "ST_conf"), ("S1", "S1"), ("S1 95%", "S1_conf")]
        for label, _ in cols:
            table.add_column(label, justify="right")
        for p in output["parameters"]:
            cells = []
            for _label, key in cols:
                v = p[key]
                cells.append("" if v is None else (f"+-{v:.3g}" if key.endswith("_conf") else f"{v:.4g}"))
            table.add_row(escape(p["name"]), *cells)
        console.print(table)
