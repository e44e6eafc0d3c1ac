"""The series of a run: what its figures draw (public support, pressure,
positions, resolutions, sessions, phases), collected from a trace file or
while the run goes (``RunSeries.watch``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from normflow import events as ev
from normflow.errors import ReportError

if TYPE_CHECKING:
    from normflow.simulation import Simulation

SUMMARY = "summary.json"


TRACE = "trace.jsonl"


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
                series = RunSeries(start_date(data.get("start"), path))
            elif series is not None:
                series.add(data)
    if series is None:
        raise ReportError(f"{path}: the trace has no trace_start line and no summary gives the start date")
    return series


def start_date(text: Any, where: Path) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise ReportError(f"{where}: start date {text!r} is not YYYY-MM-DD") from None
