"""What one run produced: its milestones (times and dates), final state,
event counts and metrics, and the event times, ready for JSON
(``RunResult.to_dict``) or for one row of a results table.

It is plain data, below the simulation that makes it, so facts, studies
and reports read results without importing the engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from normflow.outcomes import milestone_label

__all__ = ["RunResult"]


@attrs.frozen
class RunResult:
    """What a run produced, ready for JSON (``to_dict``) or a table."""

    scenario: str
    seed: int | None
    start: dt.date
    end: dt.date
    milestones: dict[str, float | None]
    final: dict[str, Any]
    counts: dict[str, int]
    metrics: dict[str, Any]
    event_times: dict[str, list[float]]
    plugins: dict[str, str]
    wall_seconds: float = attrs.field(eq=False, default=0.0)
    #: how the run ended (agenda, bills, negotiations, policy changes; see normflow.outcomes)
    outcomes: dict[str, Any] = attrs.field(factory=dict)
    #: a plain-language label for every milestone
    labels: dict[str, str] = attrs.field(factory=dict)
    #: the ``--set`` overrides the scenario was loaded with
    overrides: dict[str, Any] = attrs.field(factory=dict)
    #: the interventions the run applied (the switches that differ from the scenario as written)
    interventions: dict[str, Any] = attrs.field(factory=dict)
    #: where the run's trace was written (None: no trace)
    trace_path: str | None = attrs.field(eq=False, default=None)
    #: the run's events, kept when the simulation was built with keep_events=True
    kept_events: list[dict[str, Any]] | None = attrs.field(eq=False, default=None, repr=False)

    def date_of(self, t: float | None) -> str | None:
        if t is None:
            return None
        return (self.start + dt.timedelta(days=int(t))).isoformat()

    def milestone_date(self, name: str) -> str | None:
        return self.date_of(self.milestones.get(name))

    def milestones_by_date(self) -> list[tuple[str, float | None]]:
        """Milestones in the order they were reached; those never reached last."""
        order = {name: i for i, name in enumerate(self.milestones)}
        return sorted(
            self.milestones.items(),
            key=lambda item: (item[1] is None, item[1] if item[1] is not None else 0.0, order[item[0]]),
        )

    def events(self) -> Any:
        """The run's events as a pandas DataFrame: one row per event in the
        order they happened, columns ``kind``, ``t``, ``date`` (a datetime),
        ``label`` and every event field (missing where a kind has no such
        field). Needs a run built with ``trace=...`` or ``keep_events=True``."""
        import pandas as pd

        from normflow.events import label_of

        if self.kept_events is not None:
            rows = self.kept_events
        elif self.trace_path is not None:
            from normflow.trace import read_trace

            rows = [
                r for r in read_trace(self.trace_path) if r.get("kind") not in ("trace_start", "trace_end")
            ]
        else:
            raise ValueError(
                "this run kept no events: build the Simulation with keep_events=True (or trace=PATH)"
            )
        frame = pd.DataFrame.from_records(rows)
        if frame.empty:
            return pd.DataFrame(columns=["kind", "t", "date", "label"])
        frame["date"] = pd.to_datetime(frame["date"])
        frame["label"] = frame["kind"].map(label_of)
        first = ["kind", "t", "date", "label"]
        return frame[first + [c for c in frame.columns if c not in first]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "overrides": {k: json_value(v) for k, v in self.overrides.items()},
            "interventions": self.interventions,
            "outcomes": self.outcomes,
            "milestones": {
                name: {
                    "reached": t is not None,
                    "t": t,
                    "date": self.date_of(t),
                    "label": self.labels.get(name) or milestone_label(name),
                }
                for name, t in self.milestones_by_date()
            },
            "final": self.final,
            "counts": dict(sorted(self.counts.items())),
            "metrics": self.metrics,
            "plugins": self.plugins,
        }


def json_value(value: Any) -> Any:
    """An override's value as JSON can hold it (a TOML date or time as its ISO text)."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value
