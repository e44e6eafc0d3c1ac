"""The hypotheses' effects as a table on the terminal: per design, scenario
and outcome, the paired effect with its 95% interval and the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from normflow.hypotheses.cases import CASES
from normflow.hypotheses.design import HypothesisResult

if TYPE_CHECKING:
    from normflow.hypotheses.draws import DrawResults


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


def _what(scenario: str, outcome: str) -> str:
    """An outcome named the same way in every scenario: the agenda step, the
    policy, or the outcome itself (deal quality, norm support, campaigns)."""
    case = CASES.get(scenario)
    if case is not None and outcome == case.agenda:
        return "agenda step"
    if case is not None and outcome == case.institutionalized:
        return "policy"
    return outcome


def share_grid(support: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    """The summary as one grid: a column per scenario (in the order met),
    a row per hypothesis, outcome (the agenda step and the policy named alike
    across scenarios) and measure, each cell the share of draws supporting
    it with the count (``83% (5/6)``; ``-`` where the design does not run on
    the scenario)."""
    scenarios: list[str] = []
    cells: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in support:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])
        key = (r["hypothesis"], _what(r["scenario"], r["outcome"]), r["measure"])
        cells.setdefault(key, {})[r["scenario"]] = (
            f"{r['share_supported']:.0%} ({r['supported']}/{r['draws']})"
        )
    rows = [
        (h, f"{what}: {measure}", [cell.get(s, "-") for s in scenarios])
        for (h, what, measure), cell in cells.items()
    ]
    return scenarios, rows


def print_support(result: DrawResults) -> None:
    """Per hypothesis, scenario and primary effect: the share of parameter
    draws supporting it, the effect's median and 90% range over draws, and
    where it fails; then the shares alone, one row per hypothesis and
    outcome, one column per scenario."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = 200
    table = Table(
        title=(
            f"hypotheses over {result.draws} parameter draws x {result.replications} paired runs per arm: "
            "share of parameter space supporting each"
        ),
        title_justify="left",
    )
    for col in (
        "H",
        "scenario",
        "draws from",
        "outcome",
        "measure",
        "supported [95% CI]",
        "effect median [5%, 95%]",
        "fails where",
    ):
        table.add_column(col, overflow="fold")
    for r in result.support:
        share = r["share_supported"]
        colour = "green" if share >= 0.5 else ("yellow" if share > 0 else "red")
        table.add_row(
            r["hypothesis"],
            r["scenario"],
            r.get("draws_from", "prior"),
            r["outcome"],
            r["measure"],
            f"[{colour}]{share:.0%}[/{colour}] [{r['share_low']:.0%}, {r['share_high']:.0%}] ({r['supported']}/{r['draws']})",
            f"{_fmt(r['q50'])} [{_fmt(r['q05'])}, {_fmt(r['q95'])}]",
            r["fails_where"],
        )
    console.print(table)
    scenarios, rows = share_grid(result.support)
    grid = Table(
        title="share of parameter draws supporting each hypothesis (supported / draws), per scenario",
        title_justify="left",
    )
    grid.add_column("H")
    grid.add_column("outcome: measure", overflow="fold")
    for scenario in scenarios:
        grid.add_column(scenario, justify="right")
    for hypothesis, what, shares in rows:
        grid.add_row(hypothesis, what, *shares)
    console.print(grid)
