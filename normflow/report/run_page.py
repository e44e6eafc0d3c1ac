"""The run report: the sections of a run directory's page.

Outcomes first (the agenda, each bill's fate, each negotiation's end, each
policy change), then the summary, the timeline with each milestone's plain
label, *why* (the causal chains of the main milestones, from the ``causes``
recorded in the trace), the network at the run's end, and the series."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from normflow.errors import ReportError
from normflow.report.page import Section, figure_html, note, page, table_html
from normflow.report.plugin_sections import plugin_sections
from normflow.report.run_figures import pressure_figure, resolutions_figure, support_figure, timeline_figure
from normflow.report.series import SUMMARY, TRACE, RunSeries, read_trace_series, start_date

if TYPE_CHECKING:
    pass


RUN_SECTIONS = (
    "outcomes",
    "summary",
    "timeline",
    "why",
    "network",
    "public-support",
    "pressure-and-positions",
    "resolutions",
    "events",
)

#: Causal chains drawn at most, and rows per chain.
MAX_CHAINS, MAX_CHAIN_ROWS = 3, 40


def outcomes_html(summary: dict[str, Any]) -> str:
    outcomes = summary.get("outcomes")
    if not isinstance(outcomes, dict):
        return note("The summary records no outcomes (it was written by an older normflow).")
    rows = []
    for key, what in (
        ("agenda", "agenda"),
        ("policy_changes", "policy change"),
        ("negotiations", "negotiation"),
        ("bills", "bill"),
    ):
        for item in outcomes.get(key) or ():
            if isinstance(item, dict):
                rows.append((what, item.get("text", ""), item.get("date") or ""))
    if not rows:
        return note("No agenda, bill, negotiation or policy change in this run.")
    return table_html(["", "outcome", "date"], rows)


def why_html(directory: Path | None, summary: dict[str, Any]) -> str:
    """The causal chains of the main reached milestones, as tables."""
    trace = None if directory is None else directory / TRACE
    if trace is None or not trace.exists():
        return note(f"No {TRACE} here: the causes of events are recorded in the run's trace.")
    from normflow.explain import ExplainError, explain_events
    from normflow.trace import read_trace

    milestones = summary.get("milestones", {})
    wanted = [
        name
        for name in milestones
        if name in ("agenda_placed", "bill_enacted")
        or name.startswith(("policy_changed:", "agreement_reached:"))
    ]
    reached = [n for n in wanted if isinstance(milestones.get(n), dict) and milestones[n].get("reached")]
    if not reached:
        return note("None of the agenda, an enacted bill, an agreement or a policy change was reached.")
    try:
        events = read_trace(trace)
    except (OSError, ValueError) as exc:
        return note(f"The trace does not read ({exc}).")
    out = []
    for name in reached[:MAX_CHAINS]:
        try:
            chain = explain_events(events, name)["chain"]
        except ExplainError as exc:
            out.append(note(str(exc)))
            continue
        rows = _chain_rows(chain)
        label = milestones[name].get("label") or name
        out.append(
            f"<h3>Why: {_esc(label)}</h3>"
            + table_html(["date", "event (each cause under what it caused)"], rows)
        )
    return "".join(out)


def _chain_rows(chain: dict[str, Any]) -> list[tuple[str, str]]:
    """A chain as table rows, each cause indented under what it caused."""
    rows: list[tuple[str, str]] = []
    stack = [(chain, 0)]
    while stack and len(rows) < MAX_CHAIN_ROWS:
        node, depth = stack.pop()
        arrow = "\u21b3 " if depth else ""
        rows.append((node.get("date") or "", "\u2003" * depth + arrow + node["text"]))
        stack.extend((cause, depth + 1) for cause in reversed(node.get("causes", ())))
    return rows


def network_html(summary: dict[str, Any]) -> str:
    if "scenario" not in summary or "seed" not in summary:
        return note(f"The network is rebuilt from the run's scenario and seed: {SUMMARY} is needed.")
    from normflow.network import network_figure, network_graph, world_at

    try:
        world, t = world_at(summary)
    except Exception as exc:  # the scenario moved or changed: say so, draw the rest
        return note(f"The network could not be rebuilt ({type(exc).__name__}: {exc}).")
    graph = network_graph(world, t)
    return figure_html(
        network_figure(graph),
        "network",
        "States (squares), local governments, groups aggregated by population; partner cities and "
        "coalitions, red where they cross a border or a nationality line.",
    )


def _esc(text: Any) -> str:
    import html

    return html.escape(str(text), quote=True)


def run_sections(
    summary: dict[str, Any], series: RunSeries, counts: dict[str, int], directory: Path | None = None
) -> list[Section]:
    milestones = summary.get("milestones", {})
    states = list(summary.get("final", {}).get("states", {}))
    sections = [
        Section("outcomes", "Outcomes", outcomes_html(summary)),
        Section("summary", "Summary", _run_summary_html(summary, series)),
    ]

    fig = timeline_figure(series, milestones)
    body = (
        figure_html(
            fig, "timeline", "Milestones (dots) and phases (spans); dashed lines are scheduled events."
        )
        if fig
        else note("The run declared no milestones and the trace holds no sessions or phases.")
    )
    reached = [
        (m.get("label") or n, n, m.get("date") or "not reached", m.get("t"))
        for n, m in milestones.items()
        if isinstance(m, dict)
    ]
    if reached:
        body += table_html(
            ["milestone", "name", "date", "day"],
            [(lab, n, d, t if t is not None else "") for lab, n, d, t in reached],
        )
    sections.append(Section("timeline", "Timeline", body))
    sections.append(Section("why", "Why: causes recorded in the trace", why_html(directory, summary)))
    sections.append(Section("network", "Network at the end of the run", network_html(summary)))

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
    start = start_date(summary["start"], summary_path) if "start" in summary else None
    if trace_path.exists():
        series = read_trace_series(trace_path, start)
    elif start is not None:
        series = RunSeries(start)
    else:
        raise ReportError(f"{directory}: neither {SUMMARY} nor {TRACE} is here")
    return summary, series


def run_report(directory: Path) -> str:
    summary, series = load_run(directory)
    sections = run_sections(summary, series, summary.get("counts", {}), directory)
    if not (directory / TRACE).exists():
        at = RUN_SECTIONS.index("timeline")
        sections[at] = attrs.evolve(
            sections[at], body=note(f"No {TRACE} here: the figures need the run's trace.") + sections[at].body
        )
    sections += plugin_sections("run", directory, summary=summary, plugin_names=summary.get("plugins") or ())
    title = f"normflow run: {summary.get('scenario', directory.name)}"
    subtitle = f"seed {summary.get('seed')}, {summary.get('start', '?')} to {summary.get('end', '?')}"
    return page(title, subtitle, "run", sections)


def write_run_outputs(directory: Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` beside the trace of a run directory."""
    path = directory / SUMMARY
    path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return path
