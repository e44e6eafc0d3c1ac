"""``normflow calibrate``: ABC-SMC of a scenario's free parameters against
its targets (normflow.calibration)."""

from __future__ import annotations

import sys
from typing import Any

import click

from normflow.cli.base import fail, guarded, progress_bar, scheduler_option, seed_option, workers_option


@click.command("calibrate")
@click.argument("scenario")
@click.option(
    "--params",
    "params",
    required=True,
    metavar="SPEC",
    help="Parameter spec: a TOML file, or the name of a bundled one (as the scenario's).",
)
@click.option(
    "--population", type=click.IntRange(2), default=100, show_default=True, help="Particles per generation."
)
@click.option(
    "--generations",
    type=click.IntRange(1),
    default=5,
    show_default=True,
    help="Generations in all (with --resume, including those already stored).",
)
@click.option(
    "--max-runs", type=click.IntRange(1), default=None, help="Stop before evaluating more candidates."
)
@workers_option(default=1)
@scheduler_option(
    "Run on Dask: 'local' starts a LocalCluster of --workers workers; else a scheduler address."
)
@seed_option("Seed of the calibration.")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Directory for the history and outputs."
)
@click.option(
    "--replications",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Runs per particle; its distance is the root mean square over them (favours parameters "
    "that meet the targets reliably).",
)
@click.option(
    "--distance",
    "distance_kind",
    type=click.Choice(["rms", "max"]),
    default="rms",
    show_default=True,
    help="Combine the targets' deviations by their root mean square, or take the largest "
    "(each target must be met; one met easily cannot make up for one missed).",
)
@click.option(
    "--stop-at-targets",
    is_flag=True,
    help="Stop each run at the last date the targets look at (a count's date; a milestone's date "
    "plus its tolerance) instead of the scenario's end: cheaper; a milestone not reached by then is "
    "censored there (see docs/calibration.md).",
)
@click.option(
    "--transition",
    type=click.Choice(["normal", "local"]),
    default="normal",
    show_default=True,
    help="Perturbation kernel: one multivariate normal (pyabc's default), or a normal per particle "
    "shaped by its nearest neighbours (pyabc.LocalTransition; resists weight collapse).",
)
@click.option(
    "--log-space",
    is_flag=True,
    help="Perturb and weigh log-uniform parameters on the log scale, where their prior is flat "
    "(keeps the importance weights from collapsing; posterior.csv holds natural values).",
)
@click.option("--resume", is_flag=True, help="Continue the calibration stored in --out.")
def calibrate_command(
    scenario: str,
    params: str,
    population: int,
    generations: int,
    max_runs: int | None,
    workers: int,
    scheduler: str | None,
    seed: int,
    out: str,
    replications: int,
    distance_kind: str,
    stop_at_targets: bool,
    transition: str,
    log_space: bool,
    resume: bool,
) -> None:
    """Estimate SCENARIO's free parameters (--params) from its [[targets]] by
    approximate Bayesian computation (ABC-SMC, pyabc).

    Writes into --out: pyabc's SQLite history (history.db), posterior.csv
    (weighted particles), calibration.json, the calibrated scenario
    (posterior medians; the posterior in its header) and figures. The same
    --seed gives the same posterior on any number of workers. See
    docs/calibration.md."""
    from rich.console import Console
    from rich.progress import TextColumn

    try:
        from normflow.calibration import CalibrationError, calibrate
    except ImportError as exc:
        fail(f"calibration needs pyabc: pip install 'normflow[calibration]' ({exc})")
        return
    err = Console(stderr=True)
    progress = progress_bar(TextColumn("accepted, {task.fields[evaluated]} evaluated"), transient=False)
    tasks: dict[int, Any] = {}

    def on_progress(t: int, accepted: int, n: int, evaluated: int) -> None:
        if t not in tasks:
            label = "prior sample (first epsilon)" if t < 0 else f"generation {t}"
            tasks[t] = progress.add_task(label, total=n, evaluated=0)
        progress.update(tasks[t], completed=accepted, evaluated=evaluated)

    def on_generation(t: int, epsilon: float, acceptance: float) -> None:
        if not err.is_terminal:
            click.echo(f"generation {t}: epsilon {epsilon:.4g}, acceptance {acceptance:.1%}", err=True)

    def work() -> Any:
        with progress:
            return calibrate(
                scenario,
                params,
                out,
                population=population,
                generations=generations,
                max_runs=max_runs,
                workers=workers,
                scheduler=scheduler,
                seed=seed,
                resume=resume,
                replications=replications,
                distance_kind=distance_kind,
                stop_at_targets=stop_at_targets,
                transition=transition,
                log_space=log_space,
                on_progress=on_progress,
                on_generation=on_generation,
            )

    # RuntimeError: the executor (Dask missing, a scheduler unreachable)
    result = guarded(work, bad=(CalibrationError,), failed=(RuntimeError,))
    _print_summary(result, Console(file=sys.stdout, width=None if Console().is_terminal else 140))


def _print_summary(result: Any, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    s = result.summary
    eps = ", ".join(f"{e:.3g}" for e in s["epsilon"])
    table = Table(
        title=f"{s['scenario']}: posterior after {s['generations']} generations "
        f"({s['runs']} runs, {result.wall_seconds:.0f} s; epsilon {eps}; "
        f"effective sample size {s['ess'][-1]:.1f})"
    )
    for col, just in (("parameter", "left"), ("median", "right"), ("5%-95%", "right"), ("prior", "left")):
        table.add_column(col, justify=just)
    for p in s["parameters"]:
        post = p["posterior"]
        prior = ", ".join(f"{k} {v:g}" for k, v in p["prior"].items() if k != "kind")
        table.add_row(
            escape(p["name"]),
            f"{post['median']:.4g}",
            f"{post['low']:.4g}-{post['high']:.4g}",
            escape(f"{p['prior']['kind']} ({prior})"),
        )
    console.print(table)
    console.print(
        escape(
            f"written to {result.directory}: history.db, posterior.csv, calibration.json, "
            f"{s['scenario']}-calibrated.toml, figures/"
        )
    )
