"""``normflow hypotheses``: the article's hypotheses as paired designs,
with effects, intervals and verdicts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from normflow.cli.base import fail, guarded, seed_option, workers_option
from normflow.errors import ExperimentError
from normflow.hypotheses.draws import run_over_draws
from normflow.hypotheses.running import run_hypotheses
from normflow.hypotheses.tables import print_results, print_support
from normflow.store import StoreError

T = TypeVar("T")


@click.command("hypotheses")
@click.argument("hypotheses", nargs=-1, metavar="[H1 ... H5 | all]")
@click.option(
    "--replications",
    "-n",
    type=click.IntRange(1),
    default=None,
    help="Replications per arm, paired across arms by seed (per draw; default 6 with draws, 200 with --draws 0).",
)
@click.option(
    "--draws",
    type=click.IntRange(0),
    default=8,
    show_default=True,
    help="Parameter draws per scenario: from the case's shipped posterior where it has one, else from "
    "its spec's priors (0: the scenario as written, one point).",
)
@click.option(
    "--posterior",
    "posteriors",
    multiple=True,
    metavar="SCENARIO=DIR",
    help="Draw SCENARIO's parameters from this calibration's posterior (a normflow calibrate --out "
    "directory; repeatable).",
)
@seed_option("Base seed: replication k of every arm runs with SeedSequence(seed, spawn_key=(k,)).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="hypotheses",
    show_default=True,
    help="Directory for the tables, plots and stored runs (runs already there are reused).",
)
@workers_option(help="Worker processes (default: all cores; 1 = in process).")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    metavar="NAME",
    help="Only these of each design's scenarios (repeatable).",
)
@click.option("--all-rows", is_flag=True, help="Print every effect, not only the primary ones.")
def hypotheses_command(
    hypotheses: tuple[str, ...],
    replications: int | None,
    draws: int,
    seed: int,
    out: str,
    workers: int | None,
    scenarios: tuple[str, ...],
    all_rows: bool,
    posteriors: tuple[str, ...] = (),
) -> None:
    """Test the article's hypotheses H1-H5 about local government: each a
    paired comparison on the bundled scenarios. Over parameter draws (the
    default), per hypothesis and scenario the share of parameter space
    supporting it, the effect's quantiles and where it fails, written to
    OUT/support.csv and OUT/draws.csv; with --draws 0, at the scenario as
    written, effects with 95% intervals and a verdict in OUT/hN.csv,
    hN_arms.csv and hN.png (the designs: docs/hypotheses.md)."""
    began = time.perf_counter()
    given = {}
    for item in posteriors:
        name, eq, directory = item.partition("=")
        if not eq or not name.strip() or not directory.strip():
            fail(f"--posterior: got {item!r}; expected SCENARIO=DIR")
        given[name.strip()] = directory.strip()
    if draws > 0:
        _over_draws(hypotheses, draws, replications or 6, seed, out, workers, scenarios, began, given)
        return
    replications = replications or 200
    results = _guarded(
        lambda: run_hypotheses(
            hypotheses or ("all",),
            out,
            replications=replications,
            seed=seed,
            workers=workers,
            scenarios=scenarios or None,
            progress=True,
        ),
        out,
    )
    print_results(results, primary_only=not all_rows)
    manifest = json.loads((Path(out) / "hypotheses.json").read_text(encoding="utf-8"))
    click.echo(
        f"{len(results)} hypotheses, {replications} replications per arm: {manifest['runs_computed']} runs "
        f"computed now ({manifest['runs_failed']} failed) in {time.perf_counter() - began:.0f} s",
        err=True,
    )
    click.echo(str(out))


def _over_draws(
    hypotheses: tuple[str, ...],
    draws: int,
    replications: int,
    seed: int,
    out: str,
    workers: int | None,
    scenarios: tuple[str, ...],
    began: float,
    posteriors: dict[str, str] | None = None,
) -> None:
    result = _guarded(
        lambda: run_over_draws(
            hypotheses or ("all",),
            out,
            draws=draws,
            replications=replications,
            seed=seed,
            workers=workers,
            scenarios=scenarios or None,
            posteriors=posteriors,
            progress=True,
        ),
        out,
    )
    print_support(result)
    manifest = json.loads((Path(out) / "hypotheses.json").read_text(encoding="utf-8"))
    click.echo(
        f"{draws} draws x {replications} runs per arm: {manifest['runs_computed']} runs computed now "
        f"({manifest['runs_failed']} failed) in {time.perf_counter() - began:.0f} s",
        err=True,
    )
    click.echo(str(out))


def _guarded(work: Callable[[], T], out: str) -> T:
    return guarded(
        work,
        bad=(StoreError,),
        failed=(ExperimentError,),
        interrupted=f"finished runs are stored in {out}/runs: run the same command again to continue",
    )
