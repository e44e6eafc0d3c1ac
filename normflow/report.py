"""Pictures of runs and experiments: one self-contained HTML page, or a PNG.

``normflow report DIR`` reads either

- a **run directory**, as ``normflow run SCENARIO --out DIR`` writes it:
  ``summary.json`` (the run's summary, as ``--json`` prints it) and
  ``trace.jsonl`` (every event); or
- an **experiment directory** (``manifest.json`` and the results table of
  ``normflow.store``),

and writes one HTML file whose figures are inline SVG drawn by matplotlib:
no script, style sheet, font or image is fetched from anywhere, so the page
can be mailed or archived as it is. A series the data does not hold (a trace
without pressure events, an experiment without a swept parameter) is named
on the page instead of failing the report.

Every section of the page is a ``<section class="report-section">`` with a
stable id. A few lines of inline script mark each section
``data-rendered="true"`` once its figure or table has a size on screen, and
count script errors in ``data-errors`` on ``<body>``: the test suite reads
them from a headless browser, and a reader never needs the script.

``normflow run ... --plot FILE.png`` draws the run's timeline and public
support from the same series, collected in memory while the run goes.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import click

from normflow import events as ev

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from normflow.simulation import Simulation

SUMMARY = "summary.json"
TRACE = "trace.jsonl"
EXPERIMENT_MANIFEST = "manifest.json"

#: Event kinds the run report reads; the rest of a trace is skipped unparsed.
RUN_KINDS = frozenset(
    {
        "trace_start",
        "trace_end",
        ev.PublicSupportChanged.kind,
        ev.PressureApplied.kind,
        ev.PolicyChanged.kind,
        ev.SessionOpened.kind,
        ev.SessionClosed.kind,
        ev.NegotiationPhaseChanged.kind,
        ev.AgreementReached.kind,
        ev.AgreementFailed.kind,
        ev.PhaseChanged.kind,
        ev.ResolutionPassed.kind,
        ev.ExogenousEvent.kind,
    }
)
_EVENT_CLASSES = tuple(ev.EVENT_BY_KIND[k] for k in sorted(RUN_KINDS) if k in ev.EVENT_BY_KIND)

#: More lines than this in one plot become unreadable; the rest are named.
MAX_SERIES = 10
#: Points per drawn series; longer series are thinned evenly (ends kept).
MAX_POINTS = 2500


class ReportError(click.ClickException):
    """The directory cannot be reported on (one line for the user, exit 2)."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


# -- the series of a run ------------------------------------------------------


@attrs.define
class RunSeries:
    """What the run report draws, gathered from trace lines or live events.

    Times are simulated days; ``start`` turns them into dates."""

    start: dt.date
    support: dict[str, list[tuple[float, float]]] = attrs.Factory(lambda: defaultdict(list))
    pressure: dict[tuple[str, str], list[tuple[float, float]]] = attrs.Factory(lambda: defaultdict(list))
    policy: list[dict[str, Any]] = attrs.Factory(list)
    sessions: dict[str, list[list[Any]]] = attrs.Factory(lambda: defaultdict(list))
    phases: dict[str, list[tuple[float, str]]] = attrs.Factory(lambda: defaultdict(list))
    resolutions: dict[str, list[tuple[float, int]]] = attrs.Factory(lambda: defaultdict(list))
    exogenous: list[tuple[float, str]] = attrs.Factory(list)
    end_t: float | None = None
    complete: bool | None = None
    error: str | None = None

    def add(self, data: dict[str, Any]) -> None:
        """Take one event, as a trace line or ``Event.to_dict()``."""
        kind = data["kind"]
        t = data.get("t")
        if kind == "public_support_changed":
            self.support[data["where"]].append((t, data["support"]))
        elif kind == "pressure_applied":
            self.pressure[(data["target"], data["channel"])].append((t, data["amount"]))
        elif kind == "policy_changed":
            self.policy.append(data)
        elif kind == "session_opened":
            self.sessions[data["legislature"]].append([t, None, data["session"]])
        elif kind == "session_closed":
            spans = self.sessions[data["legislature"]]
            if spans and spans[-1][1] is None:
                spans[-1][1] = t
        elif kind == "negotiation_phase_changed":
            self.phases[f"negotiation {data['negotiation']}"].append((t, data["phase"]))
        elif kind in ("agreement_reached", "agreement_failed"):
            label = "agreed" if kind == "agreement_reached" else "failed"
            self.phases[f"negotiation {data['negotiation']}"].append((t, label))
        elif kind == "phase_changed":
            self.phases[f"{data['machine']} {data['subject']}"].append((t, data["phase"]))
        elif kind == "resolution_passed":
            self.resolutions[data["issue"]].append((t, data["population"]))
        elif kind == "exogenous":
            self.exogenous.append((t, data["name"]))
        elif kind == "trace_end":
            self.complete = data.get("complete")
            self.error = data.get("error")
            self.end_t = data.get("t", self.end_t)

    def date(self, t: float) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time()) + dt.timedelta(days=float(t))

    def watch(self, sim: Simulation) -> None:
        """Collect the report's series from a simulation about to run (only
        the event classes read here are built)."""
        for cls in _EVENT_CLASSES:
            sim.bus.subscribe(cls, lambda event: self.add(event.to_dict()))


def read_trace_series(path: Path, start: dt.date | None = None) -> RunSeries:
    """The report's series from a JSONL trace, skipping the kinds it does not
    draw without parsing them (a trace holds millions of contacts)."""
    series: RunSeries | None = None if start is None else RunSeries(start)
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.startswith('{"kind":"'):  # as normflow writes it: the kind, unparsed
                if line[9 : line.find('"', 9)] not in RUN_KINDS:
                    continue
            elif not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if not isinstance(data, dict) or "kind" not in data:
                raise ReportError(f"{path}:{n}: not a normflow trace line (a JSON object with a 'kind')")
            kind = data["kind"]
            if kind not in RUN_KINDS:
                continue
            if kind == "trace_start" and series is None:
                series = RunSeries(_date(data.get("start"), path))
            elif series is not None:
                series.add(data)
    if series is None:
        raise ReportError(f"{path}: the trace has no trace_start line and no summary gives the start date")
    return series


def _date(text: Any, where: Path) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ReportError(f"{where}: start date {text!r} is not YYYY-MM-DD") from None


# -- figures ------------------------------------------------------------------


def _figure(width: float, height: float, margins: dict[str, float] | None = None) -> Figure:
    """A figure without pyplot (no global state, no GUI backend). With
    ``margins`` the layout is fixed, which draws about three times faster
    than matplotlib's constrained layout: used where a page has many small
    figures of known shape."""
    from matplotlib.figure import Figure

    if margins is not None:
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(**margins)
        return fig
    return Figure(figsize=(width, height), layout="constrained")


def figure_svg(fig: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element to inline (deterministic ids, so
    two figures on one page never share a clip-path id)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"normflow-{salt}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / (MAX_POINTS - 1)
    return [points[int(i * step)] for i in range(MAX_POINTS - 1)] + [points[-1]]


def _date_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


# Phases get distinct colours; legislative sessions get greys so that they
# never read as a phase of a negotiation or a spiral.
_PHASE_COLORS = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#17becf", "#bcbd22", "#1f77b4", "#d62728", "#8c564b", "#e377c2", "#2ca02c",
)  # fmt: skip
_SESSION_GREYS = {"ordinary": "#555555", "extraordinary": "#999999", "special": "#c8c8c8"}


def timeline_figure(series: RunSeries, milestones: dict[str, Any], into: Any = None) -> Figure | None:
    """Milestones as dots on their dates; sessions and phases as spans."""
    lanes_ms = list(milestones)
    lanes_sp = sorted(series.sessions) + sorted(series.phases)
    rows = lanes_ms + lanes_sp
    if not rows:
        return None
    end = series.end_t if series.end_t is not None else _last_time(series, milestones)
    fig = into if into is not None else _figure(9, 1.2 + 0.32 * len(rows))
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
            color = colors.setdefault(phase, _PHASE_COLORS[len(phases_seen) % len(_PHASE_COLORS)])
            phases_seen.add(phase)
            _span(ax, series, y_of[name], t0, max(t1, t0 + 1), color)
    for t, name in series.exogenous:
        ax.axvline(series.date(t), color="#bbb", lw=0.8, ls="--", zorder=0)
        ax.text(series.date(t), len(rows) - 0.4, name, rotation=90, fontsize=7, va="top", color="#666")
    ax.set_yticks(range(len(rows)), [rows[len(rows) - 1 - i] for i in range(len(rows))], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(series.date(0), series.date(end))
    if lanes_ms and lanes_sp:
        ax.axhline(len(lanes_sp) - 0.5, color="#ccc", lw=0.8)
    if colors:
        from matplotlib.patches import Patch

        handles = [Patch(color=c, label=label) for label, c in colors.items()]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(6, len(handles)), fontsize=8)
    _date_axis(ax)
    ax.grid(axis="x", color="#eee")
    return fig


def _span(ax: Any, series: RunSeries, y: float, t0: float, t1: float, color: str) -> None:
    ax.broken_barh([(series.date(t0), dt.timedelta(days=t1 - t0))], (y - 0.35, 0.7), color=color)


def _last_time(series: RunSeries, milestones: dict[str, Any]) -> float:
    times = [m["t"] for m in milestones.values() if m.get("t") is not None]
    times += [p[-1][0] for p in series.support.values() if p]
    return max(times, default=1.0)


def _top(keyed: dict[Any, list[Any]], first: Iterable[Any] = ()) -> tuple[list[Any], list[Any]]:
    """The series to draw (``first`` ones, then the longest) and those left out."""
    first = [k for k in first if k in keyed]
    rest = sorted((k for k in keyed if k not in first), key=lambda k: (-len(keyed[k]), str(k)))
    keys = (first + rest)[:MAX_SERIES]
    return keys, [k for k in keyed if k not in keys]


def support_figure(
    series: RunSeries, states: Iterable[str], into: Any = None
) -> tuple[Figure | None, list[str]]:
    """Public support per place (states first), as steps."""
    if not series.support:
        return None, []
    keys, left_out = _top(series.support, states)
    fig = into if into is not None else _figure(9, 3.6)
    ax = fig.add_subplot()
    for where in keys:
        points = _thin(series.support[where])
        if series.end_t is not None and points[-1][0] < series.end_t:
            points = [*points, (series.end_t, points[-1][1])]
        ax.step([series.date(t) for t, _ in points], [s for _, s in points], where="post", label=where)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("public support")
    ax.legend(fontsize=8, loc="lower right")
    _date_axis(ax)
    ax.grid(color="#eee")
    return fig, [str(k) for k in left_out]


def pressure_figure(series: RunSeries) -> tuple[Figure | None, list[str]]:
    """Cumulative pressure reaching each state, per channel, with the dates
    and new positions of policy changes."""
    if not series.pressure and not series.policy:
        return None, []
    keys, left_out = _top(series.pressure)
    fig = _figure(9, 3.8)
    ax = fig.add_subplot()
    for target, channel in keys:
        points = series.pressure[(target, channel)]
        total, cumulative = 0.0, []
        for t, amount in points:
            total += amount
            cumulative.append((t, total))
        points = _thin(cumulative)
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
    _date_axis(ax)
    ax.grid(color="#eee")
    return fig, [f"{t} via {c}" for t, c in left_out]


def resolutions_figure(series: RunSeries, summary: dict[str, Any]) -> Figure | None:
    """Local assemblies' resolutions: how many, and what share of the
    state's population their local governments hold."""
    if not series.resolutions:
        return None
    issues = summary.get("final", {}).get("issues", {})
    fig = _figure(9, 3.2)
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
    _date_axis(ax)
    ax.grid(color="#eee")
    return fig


# -- experiment figures ---------------------------------------------------------


def _cell_label(row: pd.Series, params: list[str]) -> str:
    if not params:
        return "all runs"
    return ", ".join(f"{p.rsplit('.', 1)[-1]}={_fmt(row[p])}" for p in params)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def km_figure(table: pd.DataFrame, milestone: str, params: list[str], start: str) -> tuple[Figure, list[str]]:
    """Per cell, the Kaplan–Meier share of runs that have reached the
    milestone (``normflow.stats.kaplan_meier``) with its pointwise 95% band;
    runs that never reach it are censored at their horizon."""
    from normflow.stats import kaplan_meier

    fig = _figure(5.2, 3.2, {"left": 0.13, "right": 0.97, "bottom": 0.15, "top": 0.9})
    ax = fig.add_subplot()
    cells = list(table.groupby("cell", sort=True))
    left_out = [_cell_label(g.iloc[0], params) for _, g in cells[MAX_SERIES:]]
    for _, group in cells[:MAX_SERIES]:
        censored = group[f"{milestone}_censored"].astype("boolean").fillna(True).to_numpy(dtype=bool)
        km = kaplan_meier(group[f"{milestone}_days"].astype(float).to_numpy(), censored)
        label = f"{_cell_label(group.iloc[0], params)} (n={km.n}, reached {km.events})"
        if km.events == 0:
            horizon = float(group[f"{milestone}_days"].max())
            ax.step([0.0, horizon], [0.0, 0.0], where="post", label=label)
            continue
        # the curve runs on, flat, to the last run's horizon
        end = max(float(group[f"{milestone}_days"].max()), float(km.days[-1]))
        days = [0.0, *km.days.tolist(), end]
        reached = [0.0, *(1 - km.survival).tolist(), float(1 - km.survival[-1])]
        (line,) = ax.step(days, reached, where="post", label=label)
        ax.fill_between(
            days,
            [0.0, *(1 - km.high).tolist(), float(1 - km.high[-1])],
            [0.0, *(1 - km.low).tolist(), float(1 - km.low[-1])],
            step="post",
            alpha=0.15,
            color=line.get_color(),
            linewidth=0,
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"days from {start}" if start else "days from the scenario's start")
    ax.set_ylabel("share of runs that reached it")
    ax.set_title(milestone, fontsize=10)
    ax.legend(fontsize=6, loc="upper left")
    ax.grid(color="#eee")
    return fig, left_out


def sweep_figure(table: pd.DataFrame, param: str, milestones: list[str]) -> Figure:
    """Small multiples, one per milestone: the share of runs reaching it by
    the horizon against one swept parameter (other parameters pooled), with
    95% Wilson intervals (``normflow.stats.share_interval``)."""
    from normflow.stats import share_interval

    cols = min(4, len(milestones))
    rows = math.ceil(len(milestones) / cols)
    height = 0.8 + 2.0 * rows
    fig = _figure(
        9.5,
        height,
        {
            "left": 0.09,
            "right": 0.98,
            "bottom": 0.55 / height,
            "top": 1 - 0.3 / height,
            "hspace": 0.55,
            "wspace": 0.12,
        },
    )
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    values = sorted(table[param].dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    xs = values if numeric else list(range(len(values)))
    for i, ax in enumerate(axes.flat):
        if i >= len(milestones):
            ax.set_visible(False)
            continue
        m = milestones[i]
        shares, below, above = [], [], []
        for v in values:
            censored = table.loc[table[param] == v, f"{m}_censored"].astype("boolean").fillna(True)
            ci = share_interval(int((~censored).sum()), int(censored.size))
            share = math.nan if ci["share"] is None else ci["share"]
            shares.append(share)
            below.append(share - ci["low"] if ci["low"] is not None else 0.0)
            above.append(ci["high"] - share if ci["high"] is not None else 0.0)
        ax.errorbar(xs, shares, yerr=[below, above], marker="o", ms=3, capsize=2, lw=1)
        ax.set_title(m, fontsize=7)
        ax.set_ylim(-0.04, 1.04)
        ax.tick_params(labelsize=7)
        ax.grid(color="#eee")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in values])
    fig.supxlabel(param, fontsize=9)
    fig.supylabel("share reached by the horizon", fontsize=9)
    return fig


# -- HTML ---------------------------------------------------------------------

STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:60rem;
padding:1rem 1.5rem 4rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
nav a{margin-right:1rem}table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}th{background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#6b5b00;background:#fff8d6;border-left:4px solid #e0c200;padding:.4rem .7rem}
figure{margin:.8rem 0}figure svg{max-width:100%;height:auto}.meta{color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(27rem,1fr));gap:0 1rem}
.grid figure{margin:.3rem 0}
"""

# Runs first, before any figure: records script errors so that a test (or
# a curious reader with the inspector) can see them on <body>.
HEAD_SCRIPT = """
window.normflowErrors=[];
window.addEventListener("error",function(e){window.normflowErrors.push(String(e.message));});
"""

# Runs last: a section has rendered when its figure or table takes space.
TAIL_SCRIPT = """
(function(){
  var sections=document.querySelectorAll("section.report-section");
  for(var i=0;i<sections.length;i++){
    var s=sections[i],shown=false,parts=s.querySelectorAll("svg, table, p.note");
    for(var j=0;j<parts.length;j++){
      var box=parts[j].getBoundingClientRect();
      if(box.width>0&&box.height>0){shown=true;}
    }
    s.setAttribute("data-rendered",shown?"true":"false");
  }
  document.body.setAttribute("data-errors",String(window.normflowErrors.length));
  if(window.normflowErrors.length){document.body.setAttribute("data-error-list",window.normflowErrors.join(" | "));}
})();
"""


@attrs.frozen
class Section:
    id: str
    title: str
    body: str


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def figure_html(fig: Figure, salt: str, caption: str = "") -> str:
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{figure_svg(fig, salt)}{cap}</figure>"


def table_html(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = _number(value) if isinstance(value, float) else value
            cells.append(f'<td class="num">{_esc(text)}</td>' if numeric else f"<td>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def page(title: str, subtitle: str, kind: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{s.id}">{_esc(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section class="report-section" id="{s.id}"><h2>{_esc(s.title)}</h2>{s.body}</section>'
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{STYLE}</style><script>{HEAD_SCRIPT}</script></head>"
        f'<body data-report="{kind}"><header><h1>{_esc(title)}</h1><p class="meta">{_esc(subtitle)}</p>'
        f"<nav>{nav}</nav></header>{body}<script>{TAIL_SCRIPT}</script></body></html>\n"
    )


# -- the run report -------------------------------------------------------------

RUN_SECTIONS = ("summary", "timeline", "public-support", "pressure-and-positions", "resolutions", "events")


def run_sections(summary: dict[str, Any], series: RunSeries, counts: dict[str, int]) -> list[Section]:
    milestones = summary.get("milestones", {})
    states = list(summary.get("final", {}).get("states", {}))
    sections = [Section("summary", "Summary", _run_summary_html(summary, series))]

    fig = timeline_figure(series, milestones)
    body = (
        figure_html(
            fig, "timeline", "Milestones (dots) and phases (spans); dashed lines are scheduled events."
        )
        if fig
        else note("The run declared no milestones and the trace holds no sessions or phases.")
    )
    reached = [(n, m.get("date") or "not reached", m.get("t")) for n, m in milestones.items()]
    if reached:
        body += table_html(
            ["milestone", "date", "day"], [(n, d, t if t is not None else "") for n, d, t in reached]
        )
    sections.append(Section("timeline", "Timeline", body))

    fig, left_out = support_figure(series, states)
    body = (
        figure_html(fig, "support", "Public support for the issue, where it changed.")
        if fig
        else note("The trace holds no public_support_changed events: no public support series to draw.")
    )
    if left_out:
        body += note(f"{len(left_out)} more places not drawn: {', '.join(left_out[:20])}")
    sections.append(Section("public-support", "Public support", body))

    fig, left_out = pressure_figure(series)
    if fig:
        body = figure_html(
            fig,
            "pressure",
            "Cumulative pressure reaching each state, by channel; diamonds mark policy changes "
            "and the position they set.",
        )
        if not series.policy:
            body += note("No policy changed in this run: the trace records positions only when one does.")
    else:
        body = note("The trace holds no pressure_applied or policy_changed events: nothing to draw.")
    if left_out:
        body += note(f"{len(left_out)} more series not drawn: {', '.join(left_out[:20])}")
    final_rows = [
        (
            state,
            issue,
            st.get("position"),
            st.get("commitment"),
            st.get("public_support"),
            st.get("policy_changed"),
        )
        for state, issues in summary.get("final", {}).get("states", {}).items()
        for issue, st in issues.items()
    ]
    if final_rows:
        body += "<p>Final stances:</p>" + table_html(
            ["state", "issue", "position", "commitment", "public support", "policy changed"], final_rows
        )
    sections.append(Section("pressure-and-positions", "Pressure and positions", body))

    fig = resolutions_figure(series, summary)
    body = (
        figure_html(fig, "resolutions", "Resolutions passed by local assemblies, cumulative.")
        if fig
        else note("The trace holds no resolution_passed events: no local assembly passed a resolution.")
    )
    sections.append(Section("resolutions", "Local resolutions", body))

    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    body = table_html(["event", "count"], rows) if rows else note("The summary holds no event counts.")
    sections.append(Section("events", "Event counts", body))
    return sections


def _run_summary_html(summary: dict[str, Any], series: RunSeries) -> str:
    rows = [
        ("scenario", summary.get("scenario", "?")),
        ("seed", summary.get("seed")),
        ("from", summary.get("start", series.start.isoformat())),
        ("to", summary.get("end", "?")),
        ("plugins", ", ".join(f"{k} {v}" for k, v in summary.get("plugins", {}).items()) or "none"),
    ]
    out = table_html(["", ""], rows)
    metrics = summary.get("metrics", {})
    if metrics:
        out += "<p>Metrics:</p>" + table_html(["metric", "value"], sorted(metrics.items()))
    if series.complete is False:
        out += note(f"The trace is incomplete: the run stopped early ({series.error or 'no reason given'}).")
    return out


def load_run(directory: Path) -> tuple[dict[str, Any], RunSeries]:
    """A run directory's summary and series; either file may be missing,
    not both."""
    summary_path, trace_path = directory / SUMMARY, directory / TRACE
    summary: dict[str, Any] = {}
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ReportError(f"{summary_path}: not JSON ({exc})") from None
        if not isinstance(summary, dict):
            raise ReportError(f"{summary_path}: expected a JSON object (a run summary)")
    start = _date(summary["start"], summary_path) if "start" in summary else None
    if trace_path.exists():
        series = read_trace_series(trace_path, start)
    elif start is not None:
        series = RunSeries(start)
    else:
        raise ReportError(f"{directory}: neither {SUMMARY} nor {TRACE} is here")
    return summary, series


def run_report(directory: Path) -> str:
    summary, series = load_run(directory)
    sections = run_sections(summary, series, summary.get("counts", {}))
    if not (directory / TRACE).exists():
        sections[1] = attrs.evolve(
            sections[1], body=note(f"No {TRACE} here: the figures need the run's trace.") + sections[1].body
        )
    title = f"normflow run: {summary.get('scenario', directory.name)}"
    subtitle = f"seed {summary.get('seed')}, {summary.get('start', '?')} to {summary.get('end', '?')}"
    return page(title, subtitle, "run", sections)


# -- the experiment report ------------------------------------------------------

EXPERIMENT_SECTIONS = ("experiment", "kaplan-meier", "sweeps")


def load_experiment(directory: Path) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    """An experiment's manifest, swept parameters and results table."""
    from normflow.experiment import open_experiment
    from normflow.store import StoreError

    try:
        experiment = open_experiment(directory)
        return experiment.manifest, experiment.parameters, experiment.results()
    except StoreError as exc:
        raise ReportError(str(exc)) from None
    except (KeyError, ValueError) as exc:
        raise ReportError(f"{directory}: unreadable experiment ({type(exc).__name__}: {exc})") from None


def milestone_columns(table: pd.DataFrame) -> list[str]:
    return [c.removesuffix("_censored") for c in table.columns if c.endswith("_censored")]


def experiment_sections(
    manifest: dict[str, Any], parameters: list[str], table: pd.DataFrame
) -> list[Section]:
    params = [p for p in parameters if p in table.columns]
    start = str(manifest.get("scenario", {}).get("start", ""))
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    statuses = Counter(table["status"]) if "status" in table.columns else Counter({"ok": len(table)})
    rows = [
        ("scenario", _scenario_name(manifest)),
        ("cells", table["cell"].nunique() if len(table) else 0),
        ("replications stored", len(table)),
        ("status", ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) or "none"),
        ("swept parameters", ", ".join(params) or "none"),
    ]
    body = table_html(["", ""], rows)
    if params and len(ok):
        cells = ok.groupby("cell", sort=True).first()[params].reset_index()
        body += "<p>Cells:</p>" + table_html(["cell", *params], cells.itertuples(index=False))
    if statuses.get("ok", 0) < len(table):
        body += note(
            f"{len(table) - statuses.get('ok', 0)} replications failed and are left out of the figures."
        )
    sections = [Section("experiment", "Experiment", body)]

    milestones = milestone_columns(ok)
    if not len(ok):
        km_body = note("No replication finished: no curve to draw.")
    elif not milestones:
        km_body = note("The results table holds no milestone columns (<name>_days, <name>_censored).")
    else:
        parts = []
        for m in milestones:
            fig, left_out = km_figure(ok, m, params, start)
            parts.append(figure_html(fig, f"km-{m}"))
            if left_out:
                parts.append(note(f"{len(left_out)} more cells not drawn for {m}."))
        km_body = '<div class="grid">' + "".join(parts) + "</div>"
    sections.append(Section("kaplan-meier", "Time to each milestone (Kaplan–Meier)", km_body))

    if not params:
        sweep_body = note("This experiment sweeps no parameter: every replication ran the same scenario.")
    elif not len(ok) or not milestones:
        sweep_body = note("No finished replication with milestones: nothing to plot against the parameters.")
    else:
        sweep_body = "".join(
            figure_html(
                sweep_figure(ok, p, milestones), f"sweep-{p}", f"Share reaching each milestone against {p}."
            )
            for p in params
        )
    sections.append(Section("sweeps", "Sweeps", sweep_body))
    return sections


def _scenario_name(manifest: dict[str, Any]) -> str:
    scen = manifest.get("scenario")
    if isinstance(scen, dict):
        return str(scen.get("name", "?"))
    return str(scen or manifest.get("scenario_name", "?"))


def experiment_report(directory: Path) -> str:
    manifest, parameters, table = load_experiment(directory)
    sections = experiment_sections(manifest, parameters, table)
    title = f"normflow experiment: {_scenario_name(manifest)}"
    return page(title, str(directory), "experiment", sections)


# -- entry points ---------------------------------------------------------------


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


def write_run_outputs(directory: Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` beside the trace of a run directory."""
    path = directory / SUMMARY
    path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return path


def plot_run(summary: dict[str, Any], series: RunSeries, path: Path) -> None:
    """A quick look at one run as a PNG: its timeline above its public support."""
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
    fig = _figure(9, sum(heights) + 0.4)
    targets = fig.subfigures(len(panels), 1, height_ratios=heights) if len(panels) > 1 else [fig]
    for target, (_, draw) in zip(targets, panels, strict=True):
        draw(target)
    fig.suptitle(f"{summary.get('scenario', '')}  seed {summary.get('seed')}", fontsize=10)
    fig.savefig(path, format="png", dpi=110)


def iter_sections(html_text: str) -> Iterator[str]:
    """Ids of the report sections in a page (for tests and tools)."""
    import re

    yield from re.findall(r'<section class="report-section" id="([^"]+)"', html_text)


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
