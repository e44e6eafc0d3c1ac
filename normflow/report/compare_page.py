"""The comparison report: ``normflow compare ... --out DIR``.

One page: the arms, a timeline of each arm's milestones (mean day of
reaching each, with the share of replications that reach it), and the
table of differences with their intervals."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from normflow.report.drawing import date_axis, new_figure
from normflow.report.page import Section, figure_html, note, page, table_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COMPARE_SECTIONS = ("arms", "timelines", "differences")
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2", "#937860")


def _escape(text: str) -> str:
    return str(text).replace("$", r"\$")


def timelines_figure(result: dict[str, Any]) -> Figure | None:
    """Each arm's milestones on one date axis: a marker at the mean day
    (among replications reaching it), its size the share reaching it."""
    arms = result["arms"]
    rows = result["rows"]
    # one value per (arm, milestone): arm A from the first comparison, the others from theirs
    days: dict[str, dict[str, float]] = {}
    shares: dict[str, dict[str, float]] = {}
    labels: dict[str, str] = {}
    for r in rows:
        kind, _, name = r["name"].partition(":")
        if kind not in ("day", "reached"):
            continue
        if kind == "day":
            labels.setdefault(name, r["label"].removeprefix("day: "))
        target = days if kind == "day" else shares
        if r["a"] is not None:
            target.setdefault(arms[0]["name"], {})[name] = r["a"]
        if r["b"] is not None:
            target.setdefault(r["b_arm"], {})[name] = r["b"]
    names = [n for n in labels if any(n in d for d in days.values())]
    if not names:
        return None
    fig = new_figure(10, 1.0 + 0.3 * len(names))
    ax = fig.add_subplot(1, 1, 1)
    for k, arm in enumerate(arms):
        start = dt.date.fromisoformat(arm.get("start") or arms[0].get("start") or "2000-01-01")
        xs, ys, sizes = [], [], []
        for y, name in enumerate(names):
            day = days.get(arm["name"], {}).get(name)
            if day is None:
                continue
            xs.append(start + dt.timedelta(days=float(day)))
            ys.append(y + (k - (len(arms) - 1) / 2) * 0.18)
            sizes.append(20 + 80 * float(shares.get(arm["name"], {}).get(name, 1.0)))
        ax.scatter(xs, ys, s=sizes, color=COLORS[k % len(COLORS)], label=_escape(arm["name"]), zorder=3)
    ax.set_yticks(range(len(names)), [_escape(labels[n][:70]) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    date_axis(ax)
    ax.legend(fontsize=9, loc="lower right")
    ax.set_title("Mean date each milestone is reached (marker size: share of runs reaching it)", fontsize=10)
    return fig


def compare_sections(result: dict[str, Any]) -> list[Section]:
    arms = result["arms"]
    rows = [
        (
            chr(ord("A") + i),
            a["name"],
            a["kind"],
            a["replications"],
            a.get("interventions", ""),
            str(a.get("overrides", "") or ""),
        )
        for i, a in enumerate(arms)
    ]
    paired = any(r["paired"] for r in result["rows"])
    body = table_html(["", "arm", "kind", "runs", "interventions", "overrides"], rows)
    body += note(
        "Scenario arms ran with common random numbers: replication k of every arm used the same seed, "
        "so differences are paired."
        if paired
        else "The arms are not paired (stored runs or experiments): intervals use Welch's normal approximation."
    )
    sections = [Section("arms", "Arms", body)]
    fig = timelines_figure(result)
    sections.append(
        Section(
            "timelines",
            "Timelines",
            figure_html(fig, "compare-timelines", "Milestones of each arm.")
            if fig
            else note("No milestone was reached in any arm."),
        )
    )
    table = []
    for r in result["rows"]:
        interval = "" if r["low"] is None else f"[{r['low']:.3g}, {r['high']:.3g}]"
        table.append((r["b_arm"], r["label"], _num(r["a"]), _num(r["b"]), _num(r["diff"]), interval))
    sections.append(
        Section(
            "differences",
            "Differences (B - A) with 95% intervals",
            table_html(["B", "measure", "A", "B", "B - A", "95% interval"], table)
            if table
            else note("Nothing to compare."),
        )
    )
    return sections


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def compare_report(result: dict[str, Any], data: Any = None) -> str:
    """The HTML page of a comparison (``normflow.compare.compare``'s result)."""
    title = "normflow compare: " + " vs ".join(a["name"] for a in result["arms"])
    return page(title, f"{len(result['arms'])} arms", "compare", compare_sections(result))
