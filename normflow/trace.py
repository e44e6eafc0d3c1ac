"""Trace sinks: where a run's events go.

``JsonlTrace`` writes one JSON object per line: the event's ``kind``, its
simulated time ``t`` (days), its fields, then its calendar ``date``. The
first line is a header (``kind = "trace_start"``) naming the scenario and
seed; the last is ``trace_end`` with ``complete`` true, or false with the
error when the run was aborted, so a reader always knows whether the file is
whole. Lines are written through a buffer; memory does not grow with the run.

Each event class gets its own line serialiser, compiled once from the
class's fields (an f-string template with the keys written in and one
encoder per field type), which writes exactly the bytes ``json`` would for
``event.to_dict()`` plus the date, at a fraction of the cost. The same
template serves ``row_writer(cls)``, which a process uses to trace an event
it never builds as an object because nothing but the trace listens
(``Bus.direct``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from json.encoder import encode_basestring
from pathlib import Path
from typing import IO, Any

import attrs

from normflow.events import Event

# What the compiled templates call; json's own encoder for anything unusual,
# so that the output is byte for byte what json.dumps would give.
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_NAMESPACE = {
    "_enc": encode_basestring,
    "_dumps": _DUMPS,
    "_float": float.__repr__,
    "_int": int.__repr__,
    "_true": "true",
    "_false": "false",
}


def _encoder(name: str, annotation: Any) -> str:
    """The f-string expression encoding the value ``name`` of a field typed ``annotation``."""
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    kind = kind.replace(" ", "")
    if kind == "str":
        return f"_enc({name}) if {name}.__class__ is str else _dumps({name})"
    if kind in ("str|None", "None|str"):
        return f"_enc({name}) if {name}.__class__ is str else _dumps({name})"
    if kind == "float":
        # inf and nan (x - x != 0) take json's spelling (Infinity, NaN)
        return f"_float({name}) if {name}.__class__ is float and {name} - {name} == 0.0 else _dumps({name})"
    if kind == "int":
        return f"_int({name}) if {name}.__class__ is int else _dumps({name})"
    if kind == "bool":
        return f"_true if {name} is True else _false if {name} is False else _dumps({name})"
    return f"_dumps({name})"


def _template(cls: type[Event]) -> tuple[list[str], str]:
    """The field names of ``cls`` and the f-string body of its trace line, in
    which each field is a local variable of that name and ``date`` the date."""
    names = [f.name for f in attrs.fields(cls)]
    parts = ['{{"kind":' + _DUMPS(cls.kind).replace("{", "{{").replace("}", "}}")]
    for f in attrs.fields(cls):
        key = _DUMPS(f.name)
        parts.append(f",{key}:{{{_encoder(f.name, f.type)}}}")
    parts.append(',"date":"{date}"}}\\n')
    return names, "".join(parts)


def compile_line(cls: type[Event]) -> Callable[[Event, str], str]:
    """``line(event, date)``: the trace line of an event of class ``cls``."""
    names, body = _template(cls)
    unpack = "".join(f"    {n} = event.{n}\n" for n in names)
    source = f"def line(event, date):\n{unpack}    return f'{body}'\n"
    scope: dict[str, Any] = {}
    exec(compile(source, f"<trace line of {cls.__name__}>", "exec"), dict(_NAMESPACE), scope)
    return scope["line"]


class JsonlTrace:
    """The JSON Lines trace sink (see the module's docstring)."""

    def __init__(self, path: str | Path, start: dt.date, header: dict[str, Any] | None = None):
        self.path = Path(path)
        self._start = start
        # events come in time order: remembering the last day's text is enough
        self._day = -1
        self._date = ""
        self._file: IO[str] = open(self.path, "w", encoding="utf-8", buffering=1 << 16)  # noqa: SIM115
        self._put = self._file.write
        self._lines: dict[type[Event], Callable[[Event, str], str]] = {}
        self.lines = 0
        self._write({"kind": "trace_start", **(header or {})})

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(_DUMPS(obj))
        self._file.write("\n")
        self.lines += 1

    def date(self, t: float) -> str:
        day = int(t)
        if day != self._day:
            self._day = day
            self._date = (self._start + dt.timedelta(days=day)).isoformat()
        return self._date

    def __call__(self, event: Event) -> None:
        cls = type(event)
        line = self._lines.get(cls)
        if line is None:
            line = self._lines[cls] = compile_line(cls)
        self._put(line(event, self.date(event.t)))
        self.lines += 1

    def row_writer(self, cls: type[Event]) -> Callable[..., None]:
        """``write(t, *fields)``: trace an event of class ``cls`` from its field
        values (in the class's order, ``t`` first) without building it. The line
        is the one ``self(cls(t=t, ...))`` would write."""
        names, body = _template(cls)
        args = ", ".join(names)
        source = f"def write({args}):\n    date = date_of(t)\n    put(f'{body}')\n    trace.lines += 1\n"
        scope: dict[str, Any] = {}
        namespace = dict(_NAMESPACE, date_of=self.date, put=self._put, trace=self)
        exec(compile(source, f"<trace rows of {cls.__name__}>", "exec"), namespace, scope)
        return scope["write"]

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
