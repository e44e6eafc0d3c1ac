"""``normflow compare A B [...]``: arms side by side, paired when they are
scenario arms (common random numbers), with differences and intervals."""

from __future__ import annotations

import json

import click

from normflow.cli.base import parse_overrides
from normflow.cli.options import SEED, force_option, intervene_option
from normflow.compare import compare, parse_arm, representative_pairs
from normflow.outputs import prepare_directory


@click.command("compare")
@click.argument("arms", nargs=-1, required=True)
@click.option(
    "-n",
    "--runs",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="Replications of each scenario arm.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Base seed (the same for every arm).")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="With one arm: the second arm is the first with these overrides; with more: applied to every scenario arm.",
)
@intervene_option
@click.option("--json", "as_json", is_flag=True, help='Print {"arms": [...], "rows": [...]} on stdout.')
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write an HTML report (and comparison.json) here.",
)
@force_option
def compare_command(
    arms: tuple[str, ...],
    runs: int,
    seed: int,
    overrides: tuple[str, ...],
    intervene: tuple[str, ...],
    as_json: bool,
    out_dir: str | None,
    force: bool,
) -> None:
    """Compare ARMS side by side: each a scenario (optionally with its own
    --set, --intervene and --name, quoted as one argument, e.g.
    'minimal --intervene no_local_resolutions'), a run directory or a
    one-cell experiment directory. The first arm is the reference.

    With a single scenario arm, --set and --intervene make the second arm:
    normflow compare kawasaki-suffrage --intervene no_local_resolutions.
    """
    extra = []
    parse_overrides(overrides)  # a malformed item is refused here, in one line
    for item in overrides:
        extra += ["--set", item]  # as the user wrote it: the arm parses it like run --set
    for item in intervene:
        extra += ["--intervene", item]
    parsed = [parse_arm(text, i) for i, text in enumerate(arms)]
    if len(parsed) == 1:
        if not extra:
            raise click.UsageError(
                "give two arms, or one scenario with --set or --intervene making the second"
            )
        first = parsed[0]
        if first.kind != "scenario":
            raise click.UsageError(
                "--set and --intervene make a second arm from a scenario, not from a directory"
            )
        parsed.append(parse_arm(" ".join([arms[0], *map(_quote, extra)]), 1))
    elif extra:
        parsed = [
            parse_arm(" ".join([text, *map(_quote, extra)]), i) if arm.kind == "scenario" else arm
            for i, (text, arm) in enumerate(zip(arms, parsed, strict=True))
        ]
    target = (
        prepare_directory(out_dir, "--out", force=force, ours=("comparison.json", "report.html"))
        if out_dir
        else None
    )
    result, data = compare(parsed, replications=runs, seed=seed)
    if target is not None:
        from normflow.report.compare_page import compare_report

        (target / "comparison.json").write_text(
            json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8"
        )
        (target / "report.html").write_text(
            compare_report(result, representative_pairs(data)), encoding="utf-8"
        )
    if as_json:
        click.echo(json.dumps(result, default=str))
        return
    from rich.console import Console

    from normflow.compare import render_table

    render_table(result, Console())
    if target is not None:
        click.echo(f"wrote {target / 'report.html'}")


def _quote(text: str) -> str:
    import shlex

    return text if text == shlex.quote(text) else shlex.quote(text)
