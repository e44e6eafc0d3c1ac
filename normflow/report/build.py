"""The entry point: the HTML page for a run or an experiment directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from normflow.errors import ReportError
from normflow.report.experiment_page import EXPERIMENT_MANIFEST, experiment_report
from normflow.report.run_page import run_report
from normflow.report.series import SUMMARY, TRACE

if TYPE_CHECKING:
    pass


def build_report(directory: str | Path) -> str:
    """The HTML page for a run or experiment directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ReportError(f"{directory}: not a directory")
    if (directory / EXPERIMENT_MANIFEST).exists():
        return experiment_report(directory)
    if (directory / SUMMARY).exists() or (directory / TRACE).exists():
        return run_report(directory)
    raise ReportError(
        f"{directory}: neither a run directory ({SUMMARY}, {TRACE}; see normflow run --out) "
        f"nor an experiment directory ({EXPERIMENT_MANIFEST})"
    )
