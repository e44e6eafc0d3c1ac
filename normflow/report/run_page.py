"""The run report: the sections of a run directory's page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from normflow.errors import ReportError
from normflow.report.page import Section, figure_html, note, page, table_html
from normflow.report.run_figures import pressure_figure, resolutions_figure, support_figure, timeline_figure
from normflow.report.series import SUMMARY, TRACE, RunSeries, read_trace_series, start_date

if TYPE_CHECKING:
    pass


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
    sections = run_sections(summary, series, summary.get("counts", {}))
    if not (directory / TRACE).exists():
        sections[1] = attrs.evolve(
            sections[1], body=note(f"No {TRACE} here: the figures need the run's trace.") + sections[1].body
        )
    title = f"normflow run: {summary.get('scenario', directory.name)}"
    subtitle = f"seed {summary.get('seed')}, {summary.get('start', '?')} to {summary.get('end', '?')}"
    return page(title, subtitle, "run", sections)


def write_run_outputs(directory: Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json`` beside the trace of a run directory."""
    path = directory / SUMMARY
    path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return path
