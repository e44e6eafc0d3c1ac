"""``normflow report``: one self-contained HTML page of a run or an
experiment directory."""

from __future__ import annotations

from pathlib import Path

import click

from normflow.cli.options import force_option
from normflow.outputs import check_file
from normflow.report.build import build_report
from normflow.report.page import iter_sections


@click.command("report")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Where to write the HTML page, a path ending in .html (default: DIRECTORY/report.html).",
)
@force_option
def report_command(directory: str, output: str | None, force: bool) -> None:
    """Write one self-contained HTML report of a run or an experiment.

    DIRECTORY is a run directory (normflow run ... --out DIRECTORY) or an
    experiment directory (its manifest.json and results).
    """
    out = Path(output) if output else Path(directory) / "report.html"
    check_file(out, "--output", force=force, suffixes=(".html", ".htm"), what="an HTML page")
    text = build_report(directory)
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out} ({len(text) // 1024} KiB, sections: {', '.join(iter_sections(text))})")
