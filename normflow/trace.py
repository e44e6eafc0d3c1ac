"""Trace sinks: where a run's events go.

``JsonlTrace`` writes one JSON object per line: the event's ``kind``, its
simulated time ``t`` (days), its calendar ``date``, then its fields. The
first line is a header (``kind = "trace_start"``) naming the scenario and
seed; the last is ``trace_end`` with ``complete`` true, or false with the
error when the run was aborted, so a reader always knows whether the file is
whole. Lines are written through a buffer; memory does not grow with the run.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import IO, Any

from normflow.events import Event


class JsonlTrace:
    def __init__(self, path: str | Path, start: dt.date, header: dict[str, Any] | None = None):
        self.path = Path(path)
        self._start = start
        self._dates: dict[int, str] = {}
        self._file: IO[str] = open(self.path, "w", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        self.lines = 0
        self._write({"kind": "trace_start", **(header or {})})

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(self._dumps(obj))
        self._file.write("\n")
        self.lines += 1

    def date(self, t: float) -> str:
        day = int(t)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = (self._start + dt.timedelta(days=day)).isoformat()
        return text

    def __call__(self, event: Event) -> None:
        data = event.to_dict()
        data["date"] = self.date(event.t)
        self._write(data)

    def close(self, complete: bool = True, error: str | None = None, t: float | None = None) -> None:
        if self._file.closed:
            return
        end: dict[str, Any] = {"kind": "trace_end", "complete": complete}
        if t is not None:
            end["t"] = t
        if error:
            end["error"] = error
        self._write(end)
        self._file.close()


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """All lines of a JSONL trace, as dictionaries (header and end included)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
