"""``normflow experiment``: run an experiment (replications over a sweep,
stored as they finish) and summarize a stored one."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from normflow.cli.base import fail, guarded, parse_overrides, parse_value, plugin_options
from normflow.cli.options import FiniteFloat, intervene_option
from normflow.errors import ExperimentError
from normflow.experiment.plan import MAX_TASKS
from normflow.experiment.results import summarize
from normflow.experiment.running import run_experiment
from normflow.store import StoreError


def _split_values(text: str) -> list[str]:
    """``a,b,[1,2],"x,y"`` -> four values: commas inside brackets or quotes stay."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [v for v in out if v]


def _parse_sweep(items: tuple[str, ...]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not _split_values(values):
            raise click.BadParameter(
                f"'{item}': expected PATH=V1,V2,..., e.g. processes.agenda.stage_days=15,30,60",
                param_hint="--sweep",
            )
        out[key.strip()] = [parse_value(v) for v in _split_values(values)]
    return out


def _planning(done: int, total: int) -> None:
    """Progress of checking a large plan's cells, on stderr."""
    end = "\n" if done >= total else "\r"
    click.echo(f"planning: {done:,} of {total:,} cells checked", err=True, nl=False)
    click.echo(end, err=True, nl=False)


@click.group("experiment")
def experiment_cli() -> None:
    """Replications and parameter sweeps, stored on disk as they finish."""


@experiment_cli.command("run")
@click.argument("spec", required=False, metavar="[SPEC|SCENARIO]")
@click.option("--replications", "-n", type=click.IntRange(1), help="Replications per sweep cell.")
@click.option(
    "--seed", type=click.IntRange(0, 2**63 - 1), help="Base seed (replication k uses its k-th child)."
)
@click.option(
    "--sweep",
    multiple=True,
    metavar="PATH=V1,V2,...",
    help="Sweep a scenario field (or local_government_role) over values; repeat for a full factorial.",
)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Fix a scenario field.")
@intervene_option
@click.option(
    "--workers", type=click.IntRange(1), help="Worker processes (default: all cores; 1 = in process)."
)
@click.option("--scheduler", metavar="ADDRESS", help="Run on a Dask cluster at ADDRESS ('local' starts one).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output directory (default: experiments/<scenario>-<fingerprint>).",
)
@click.option(
    "--resume", is_flag=True, help="Continue the experiment in --out; compute only what is missing."
)
@click.option("--retry-failed", is_flag=True, help="With --resume, compute failed replications again.")
@click.option("--csv", is_flag=True, help="Also write results.csv.")
@click.option(
    "--timeout",
    type=FiniteFloat(0.01, 1e7),
    metavar="SECONDS",
    help="Stop a replication that runs longer and store it as failed (default: no limit).",
)
@click.option(
    "--max-tasks",
    type=click.IntRange(1),
    default=MAX_TASKS,
    show_default=True,
    help="Refuse a plan of more replications in all (cells times replications).",
)
@plugin_options
def run_command(
    spec: str | None,
    replications: int | None,
    seed: int | None,
    sweep: tuple[str, ...],
    overrides: tuple[str, ...],
    intervene: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    out: str | None,
    resume: bool,
    retry_failed: bool,
    csv: bool,
    timeout: float | None,
    max_tasks: int,
    with_plugins: tuple[str, ...] = (),
    without_plugins: tuple[str, ...] = (),
) -> None:
    """Run SPEC (an experiment file) or SCENARIO (a bundled name or a file)
    many times, over a sweep, and store one row per replication."""
    if spec is None and not (resume and out):
        fail("give a SPEC or SCENARIO, or --resume with --out DIR")
    if retry_failed and not resume:
        fail("--retry-failed only makes sense with --resume")
    began = time.perf_counter()
    where = f" --out {out}" if out else ""
    experiment = guarded(
        lambda: run_experiment(
            spec,
            out,
            replications=replications,
            seed=seed,
            sweep=_parse_sweep(sweep),
            overrides=parse_overrides(overrides),
            intervene=intervene,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            retry_failed=retry_failed,
            csv=csv,
            progress=True,
            timeout=timeout,
            max_tasks=max_tasks,
            on_plan=_planning,
            with_plugins=with_plugins,
            without_plugins=without_plugins,
        ),
        bad=(StoreError,),
        failed=(ExperimentError,),
        interrupted=f"finished replications are stored. Continue with: normflow experiment run{where} --resume",
    )
    wall = time.perf_counter() - began
    table = experiment.results()
    failed = int((table["status"] != "ok").sum()) if len(table) else 0
    rate = experiment.computed / wall if wall > 0 else 0.0
    click.echo(
        f"{len(table)} replications stored ({failed} failed, {experiment.computed} computed now) "
        f"in {wall:.1f} s ({rate:.1f}/s)",
        err=True,
    )
    click.echo(str(experiment.directory))


@experiment_cli.command("summarize")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stable: sorted keys, rounded).")
@click.option("--curves", is_flag=True, help="Include the Kaplan-Meier curves in the JSON.")
def summarize_command(directory: str, as_json: bool, curves: bool) -> None:
    """Per-cell means with 95% intervals, shares, and time to each milestone."""
    try:
        summary = summarize(directory)
    except StoreError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(summary.to_json(curves=curves))
        return
    summary.print(file=sys.stdout)
