"""Figures of one run: its timeline (milestones, sessions, phases), public
support, pressure and positions, resolutions; and the PNG that
``normflow run --plot`` writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from normflow.errors import ReportError
from normflow.report.drawing import date_axis, literal_text, new_figure, thin, top_series
from normflow.report.series import RunSeries

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# Phases get distinct colours; legislative sessions get greys so that they
# never read as a phase of a negotiation or a spiral.
_PHASE_COLORS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#17becf", "#bcbd22", "#1f77b4", "#d62728", "#8c564b", "#e377c2", "#2ca02c",
)  # fmt: skip


_SESSION_GREYS = {"ordinary": "#555555", "extraordinary": "#999999", "special": "#c8c8c8"}

#: How a negotiation ended: always these colours, never one from the cycle.
_OUTCOME_COLORS = {"agreed": "#2ca02c", "failed": "#d62728"}


def timeline_figure(series: RunSeries, milestones: dict[str, Any], into: Any = None) -> Figure | None:
    """Milestones as dots on their dates; sessions and phases as spans."""
    lanes_ms = list(milestones)
    lanes_sp = sorted(series.sessions) + sorted(series.phases)
    rows = lanes_ms + lanes_sp
    if not rows:
        return None
    end = series.end_t if series.end_t is not None else _last_time(series, milestones)
    fig = into if into is not None else new_figure(9, 1.2 + 0.32 * len(rows))
    ax = fig.add_subplot()
    y_of = {name: len(rows) - 1 - i for i, name in enumerate(rows)}
    for name in lanes_ms:
        t = milestones[name].get("t")
        if t is None:
            ax.text(series.date(0), y_of[name], "  not reached", va="center", fontsize=8, color="#888")
        else:
            ax.plot([series.date(t)], [y_of[name]], "o", color="#222", ms=5)
    colors: dict[str, str] = {}
    phases_seen: set[str] = set()
    for name in sorted(series.sessions):
        for t0, t1, kind in series.sessions[name]:
            color = colors.setdefault(f"{kind} session", _SESSION_GREYS.get(kind, "#777777"))
            _span(ax, series, y_of[name], t0, end if t1 is None else t1, color)
    for name in sorted(series.phases):
        steps = series.phases[name]
        for i, (t0, phase) in enumerate(steps):
            t1 = steps[i + 1][0] if i + 1 < len(steps) else end
            if phase in _OUTCOME_COLORS:
                color = colors.setdefault(phase, _OUTCOME_COLORS[phase])
            else:
                cycle = [c for c in _PHASE_COLORS if c not in _OUTCOME_COLORS.values()]
                color = colors.setdefault(phase, cycle[len(phases_seen) % len(cycle)])
                phases_seen.add(phase)
            _span(ax, series, y_of[name], t0, max(t1, t0 + 1), color)
    for t, name in series.exogenous:
        ax.axvline(series.date(t), color="#bbb", lw=0.8, ls="--", zorder=0)
        ax.text(series.date(t), len(rows) - 0.4, name, rotation=90, fontsize=7, va="top", color="#666")
    names = [_lane_label(milestones, rows[len(rows) - 1 - i]) for i in range(len(rows))]
    ax.set_yticks(range(len(rows)), names, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(series.date(0), series.date(end))
    if lanes_ms and lanes_sp:
        ax.axhline(len(lanes_sp) - 0.5, color="#ccc", lw=0.8)
    if colors:
        from matplotlib.patches import Patch

        handles = [Patch(color=c, label=label) for label, c in colors.items()]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(6, len(handles)), fontsize=9)
    date_axis(ax)
    ax.grid(axis="x", color="#eee")
    return fig


def _lane_label(milestones: dict[str, Any], name: str) -> str:
    """A milestone's plain label (shortened) for its lane; other lanes by name.
    Escaped for matplotlib: a ``$`` in a name is text, not mathematics."""
    m = milestones.get(name)
    label = m.get("label") if isinstance(m, dict) else None
    text = str(label or name)
    if len(text) > 60:
        text = text[:57] + "..."
    return text.replace("$", r"\$")


def _span(ax: Any, series: RunSeries, y: float, t0: float, t1: float, color: str) -> None:
    ax.broken_barh([(series.date(t0), dt.timedelta(days=t1 - t0))], (y - 0.35, 0.7), color=color)


def _last_time(series: RunSeries, milestones: dict[str, Any]) -> float:
    times = [m["t"] for m in milestones.values() if m.get("t") is not None]
    times += [p[-1][0] for p in series.support.values() if p]
    return max(times, default=1.0)


def support_figure(
    series: RunSeries, states: Iterable[str], into: Any = None
) -> tuple[Figure | None, list[str]]:
    """Public support per place (states first), as steps."""
    if not series.support:
        return None, []
    keys, left_out = top_series(series.support, states)
    fig = into if into is not None else new_figure(9, 3.6)
    ax = fig.add_subplot()
    for where in keys:
        points = thin(series.support[where])
        if series.end_t is not None and points[-1][0] < series.end_t:
            points = [*points, (series.end_t, points[-1][1])]
        ax.step([series.date(t) for t, _ in points], [s for _, s in points], where="post", label=where)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("public support")
    ax.legend(fontsize=8, loc="lower right")
    date_axis(ax)
    ax.grid(color="#eee")
    return fig, [str(k) for k in left_out]


def pressure_figure(series: RunSeries) -> tuple[Figure | None, list[str]]:
    """Cumulative pressure reaching each state, per channel, with the dates
    and new positions of policy changes."""
    if not series.pressure and not series.policy:
        return None, []
    keys, left_out = top_series(series.pressure)
    fig = new_figure(9, 3.8)
    ax = fig.add_subplot()
    for target, channel in keys:
        points = series.pressure[(target, channel)]
        total, cumulative = 0.0, []
        for t, amount in points:
            total += amount
            cumulative.append((t, total))
        points = thin(cumulative)
        ax.step(
            [series.date(t) for t, _ in points],
            [x for _, x in points],
            where="post",
            label=f"{target} via {channel}",
        )
    ax.set_ylabel("cumulative pressure")
    if series.policy:
        pos = ax.twinx()
        for i, p in enumerate(series.policy):
            pos.plot([series.date(p["t"])], [p["position"]], "D", color="#c0392b", ms=6)
            pos.annotate(
                f"{p['state']}: policy → {p['position']:.2f}",
                (series.date(p["t"]), p["position"]),
                textcoords="offset points",
                xytext=(6, -10 - 11 * i),  # stacked: changes often come together (an agreement)
                fontsize=7,
                color="#c0392b",
            )
        pos.set_ylim(0, 1.1)
        pos.set_ylabel("position after policy change", color="#c0392b")
    if keys:
        ax.legend(fontsize=8, loc="upper left")
    date_axis(ax)
    ax.grid(color="#eee")
    return fig, [f"{t} via {c}" for t, c in left_out]


def resolutions_figure(series: RunSeries, summary: dict[str, Any]) -> Figure | None:
    """Local assemblies' resolutions: how many, and what share of the
    state's population their local governments hold."""
    if not series.resolutions:
        return None
    issues = summary.get("final", {}).get("issues", {})
    fig = new_figure(9, 3.2)
    ax = fig.add_subplot()
    share_ax = None
    for issue, points in sorted(series.resolutions.items()):
        times = [series.date(t) for t, _ in points]
        ax.step(times, range(1, len(points) + 1), where="post", label=f"{issue}: resolutions")
        population = issues.get(issue, {}).get("population")
        if population:
            share_ax = share_ax or ax.twinx()
            shares, total = [], 0
            for _, pop in points:
                total += pop
                shares.append(total / population)
            share_ax.step(times, shares, where="post", ls="--", label=f"{issue}: population share")
    ax.set_ylabel("resolutions passed")
    if share_ax is not None:
        share_ax.set_ylim(0, 1.02)
        share_ax.set_ylabel("share of population (dashed)")
    ax.legend(fontsize=8, loc="upper left")
    date_axis(ax)
    ax.grid(color="#eee")
    return fig


def plot_run(summary: dict[str, Any], series: RunSeries, path: Path) -> None:
    """A quick look at one run in the format ``path``'s extension names
    (PNG, PDF, SVG, ...): its timeline above its public support."""
    milestones = summary.get("milestones", {})
    states = summary.get("final", {}).get("states", {})
    panels = []
    if milestones or series.sessions or series.phases:
        rows = len(milestones) + len(series.sessions) + len(series.phases)
        panels.append((1.2 + 0.32 * rows, lambda f: timeline_figure(series, milestones, f)))
    if series.support:
        panels.append((3.6, lambda f: support_figure(series, states, f)))
    if not panels:
        raise ReportError("the run has no milestones, phases or public support to plot")
    heights = [h for h, _ in panels]
    fig = new_figure(9, sum(heights) + 0.4)
    targets = fig.subfigures(len(panels), 1, height_ratios=heights) if len(panels) > 1 else [fig]
    for target, (_, draw) in zip(targets, panels, strict=True):
        draw(target)
    fig.suptitle(f"{summary.get('scenario', '')}  seed {summary.get('seed')}", fontsize=10)
    # the format the file's extension names (png, pdf, svg, ...); png without one
    literal_text(fig).savefig(path, format=Path(path).suffix.lower().lstrip(".") or "png", dpi=110)
