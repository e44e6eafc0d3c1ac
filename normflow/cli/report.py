"""``normflow report``: one self-contained HTML page of a run or an
experiment directory."""

from __future__ import annotations

from pathlib import Path

import click

from normflow.errors import ReportError
from normflow.report.build import build_report
from normflow.report.page import iter_sections


@click.command("report")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Where to write the HTML page (default: DIRECTORY/report.html).",
)
def report_command(directory: str, output: str | None) -> None:
    """Write one self-contained HTML report of a run or an experiment.

    DIRECTORY is a run directory (normflow run ... --out DIRECTORY) or an
    experiment directory (its manifest.json and results).
    """
    text = build_report(directory)
    out = Path(output) if output else Path(directory) / "report.html"
    if not out.parent.exists():
        raise ReportError(f"{out}: the directory {out.parent} does not exist")
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out} ({len(text) // 1024} KiB, sections: {', '.join(iter_sections(text))})")
