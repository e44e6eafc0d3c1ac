"""The hypotheses' effects as a table on the terminal: per design, scenario
and outcome, the paired effect with its 95% interval and the verdict."""

from __future__ import annotations

from typing import Any

import numpy as np

from normflow.hypotheses.design import HypothesisResult


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def print_results(results: list[HypothesisResult], primary_only: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = 180
    table = Table(title="hypotheses: paired effects with 95% intervals", title_justify="left")
    for col in ("H", "scenario", "outcome", "measure", "effect [95% CI]", "n", "predicted", "verdict"):
        table.add_column(col, overflow="fold")
    for result in results:
        for r in result.effects:
            if primary_only and not r["primary"]:
                continue
            colour = {"supported": "green", "not supported": "red"}.get(r["verdict"], "yellow")
            table.add_row(
                r["hypothesis"],
                r["scenario"],
                r["outcome"],
                r["measure"],
                f"{_fmt(r['estimate'])} [{_fmt(r['low'])}, {_fmt(r['high'])}]",
                str(r["n"]),
                r["predicted"],
                f"[{colour}]{r['verdict']}[/{colour}]",
            )
    console.print(table)
