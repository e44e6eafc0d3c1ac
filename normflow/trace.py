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

``ParquetTrace`` (a path ending in ``.parquet``) is the columnar trace for
long or large runs: a directory with one Parquet file per event kind, every
row numbered by ``seq`` in the order the events happened, and
``trace.json`` holding the header and the end record. Columns are buffered
and written as row groups, so memory stays flat; a process that draws its
events in blocks hands over whole columns (``column_writer``), and a traced
event costs no Python work of its own. ``read_trace`` reads both formats
into the same dictionaries.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from json.encoder import encode_basestring
from pathlib import Path
from typing import IO, Any

import attrs
import numpy as np

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


#: Rows buffered per event kind before they are written as a row group.
ROW_GROUP = 1 << 16


def _arrow_type(annotation: Any) -> Any:
    import pyarrow as pa

    kind = (annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")).replace(
        " ", ""
    )
    return {
        "str": pa.string(),
        "str|None": pa.string(),
        "None|str": pa.string(),
        "float": pa.float64(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "tuple[str,...]": pa.list_(pa.string()),
        "tuple[int,...]": pa.list_(pa.int64()),
    }.get(kind)


class _KindBuffer:
    """Columns of one event kind waiting to be written."""

    def __init__(self, cls: type[Event]):
        import pyarrow as pa

        self.cls = cls
        self.names = [f.name for f in attrs.fields(cls)]
        # a field of a type Parquet has no column for is kept as its JSON text
        self.types = {f.name: _arrow_type(f.type) for f in attrs.fields(cls)}
        self.types["t"] = pa.float64()
        self.columns: dict[str, list[Any]] = {name: [] for name in ["seq", *self.names]}
        self.blocks: list[Any] = []  # whole record batches handed over by column writers
        self.rows = 0


class ParquetTrace:
    """The columnar trace sink (see the module's docstring)."""

    def __init__(self, path: str | Path, start: dt.date, header: dict[str, Any] | None = None):
        # imported when the trace is opened, not during the run (pyarrow's Parquet
        # writer imports pandas on its first write)
        import pandas  # noqa: F401
        import pyarrow.compute  # noqa: F401
        import pyarrow.pandas_compat  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        self.path = Path(path)
        self.path.mkdir(parents=False, exist_ok=True)
        for old in self.path.glob("*.parquet"):
            old.unlink()
        self._start = start
        self._epoch_day = (start - dt.date(1970, 1, 1)).days
        self._header = {"kind": "trace_start", **(header or {})}
        self._buffers: dict[type[Event], _KindBuffer] = {}
        self._writers: dict[str, Any] = {}
        self._appenders: dict[type[Event], Callable[[Event], None]] = {}
        self.seq = 0
        self.lines = 0
        self._closed = False
        self._meta(None)

    def _meta(self, end: dict[str, Any] | None) -> None:
        (self.path / "trace.json").write_text(
            _DUMPS({"header": self._header, "end": end}) + "\n", encoding="utf-8"
        )

    def _buffer(self, cls: type[Event]) -> _KindBuffer:
        buf = self._buffers.get(cls)
        if buf is None:
            buf = self._buffers[cls] = _KindBuffer(cls)
        return buf

    def _appender(self, cls: type[Event], from_event: bool) -> Callable[..., None]:
        buf = self._buffer(cls)
        names = buf.names
        head = "event" if from_event else ", ".join(names)
        lines = [f"def add({head}):", "    seq = trace.seq", "    trace.seq = seq + 1", "    put_seq(seq)"]
        lines += [f"    put_{n}(event.{n})" if from_event else f"    put_{n}({n})" for n in names]
        lines += ["    if seq_column.__len__() >= ROW_GROUP:", "        trace.flush(cls)"]
        namespace: dict[str, Any] = {f"put_{n}": col.append for n, col in buf.columns.items()}
        namespace.update(trace=self, seq_column=buf.columns["seq"], ROW_GROUP=ROW_GROUP, cls=cls)
        scope: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", f"<parquet rows of {cls.__name__}>", "exec"), namespace, scope)
        return scope["add"]

    def __call__(self, event: Event) -> None:
        cls = type(event)
        add = self._appenders.get(cls)
        if add is None:
            add = self._appenders[cls] = self._appender(cls, from_event=True)
        add(event)

    def row_writer(self, cls: type[Event]) -> Callable[..., None]:
        """``write(t, *fields)``: one row from field values, as ``JsonlTrace.row_writer``."""
        return self._appender(cls, from_event=False)

    def column_writer(self, cls: type[Event], labels: dict[str, Any]) -> Callable[..., None]:
        """``write(t=array, field=array, ...)``: many rows at once. A field named
        in ``labels`` is given as integer codes into ``labels[field]`` (a list of
        strings; code -1 is null); the others as arrays of values."""
        import pyarrow as pa

        buf = self._buffer(cls)
        dictionaries = {name: pa.array(values, pa.string()) for name, values in labels.items()}

        def write(**columns: Any) -> None:
            n = len(columns["t"])
            if n == 0:
                return
            self._seal(buf)  # rows given one by one earlier come first
            arrays = [pa.array(np.arange(self.seq, self.seq + n, dtype=np.int64))]
            self.seq += n
            for name in buf.names:
                values = columns[name]
                kind = buf.types[name] or pa.string()
                if name in dictionaries:
                    # a dictionary column: codes into the labels, no string copied
                    codes = np.asarray(values, dtype=np.int32)
                    arrays.append(
                        pa.DictionaryArray.from_arrays(
                            pa.array(codes, mask=codes < 0) if codes.min() < 0 else codes, dictionaries[name]
                        )
                    )
                elif np.ndim(values) == 0:
                    arrays.append(pa.repeat(pa.scalar(values, kind), n))
                else:
                    arrays.append(pa.array(values, kind))
            buf.blocks.append(pa.record_batch(arrays, names=["seq", *buf.names]))
            buf.rows += n
            self.lines += n
            if buf.rows >= ROW_GROUP:
                self.flush(cls)

        return write

    def _seal(self, buf: _KindBuffer) -> None:
        """Turn the rows appended one by one into a record batch."""
        import pyarrow as pa

        if not buf.columns["seq"]:
            return
        arrays = [pa.array(buf.columns["seq"], pa.int64())]
        for name in buf.names:
            kind = buf.types[name]
            values = buf.columns[name]
            if kind is None:
                values, kind = [None if v is None else _DUMPS(v) for v in values], pa.string()
            arrays.append(pa.array(values, kind))
        self.lines += len(buf.columns["seq"])
        buf.blocks.append(pa.record_batch(arrays, names=["seq", *buf.names]))
        for column in buf.columns.values():
            column.clear()

    def flush(self, cls: type[Event]) -> None:
        """Write the buffered rows of ``cls`` as a row group."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        buf = self._buffers[cls]
        self._seal(buf)
        if not buf.blocks:
            return
        # one chunk per column: the blocks of a column writer share their
        # dictionaries, so this joins codes and spares the Parquet writer from
        # unifying a dictionary per block
        table = pa.Table.from_batches(buf.blocks).combine_chunks()
        buf.blocks.clear()
        buf.rows = 0
        # the calendar date of each row, as Parquet's date type
        days = np.floor(table.column("t").to_numpy()).astype(np.int32) + self._epoch_day
        table = table.append_column("date", pa.array(days, pa.date32()))
        writer = self._writers.get(cls.kind)
        if writer is None:
            # dictionary pages only where values repeat (ids, names), sequence
            # numbers as deltas, min/max statistics only for seq and t (the
            # columns a reader filters on): each setting cuts the cost of writing
            text = [f.name for f in table.schema if pa.types.is_string(f.type)]
            writer = self._writers[cls.kind] = pq.ParquetWriter(
                self.path / f"{cls.kind}.parquet",
                table.schema,
                use_dictionary=text,
                column_encoding={"seq": "DELTA_BINARY_PACKED"},
                write_statistics=["seq", "t"],
            )
        writer.write_table(table)

    def close(self, complete: bool = True, error: str | None = None, t: float | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        for cls in list(self._buffers):
            self.flush(cls)
        for writer in self._writers.values():
            writer.close()
        end: dict[str, Any] = {"kind": "trace_end", "complete": complete}
        if t is not None:
            end["t"] = t
        if error:
            end["error"] = error
        self._meta(end)


def open_trace(
    path: str | Path, start: dt.date, header: dict[str, Any] | None = None
) -> JsonlTrace | ParquetTrace:
    """The trace sink for ``path``: columnar when it ends in ``.parquet``, JSON Lines otherwise."""
    if str(path).endswith(".parquet"):
        return ParquetTrace(path, start, header)
    return JsonlTrace(path, start, header)


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """All events of a trace, as dictionaries (header and end included): the
    lines of a JSON Lines trace, or the rows of a Parquet trace in the order
    they happened, in the same shape."""
    path = Path(path)
    if path.is_dir():
        return _read_parquet_trace(path)
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _read_parquet_trace(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    from normflow.events import EVENT_BY_KIND

    meta = json.loads((path / "trace.json").read_text(encoding="utf-8"))
    rows: list[tuple[int, dict[str, Any]]] = []
    for file in sorted(path.glob("*.parquet")):
        kind = file.name.removesuffix(".parquet")
        cls = EVENT_BY_KIND.get(kind)
        for row in pq.read_table(file).to_pylist():
            seq = row.pop("seq")
            date = row.pop("date")
            if cls is not None:
                for f in attrs.fields(cls):
                    if _arrow_type(f.type) is None and row.get(f.name) is not None:
                        row[f.name] = json.loads(row[f.name])
            rows.append((seq, {"kind": kind, **row, "date": date.isoformat()}))
    rows.sort(key=lambda item: item[0])
    end = [meta["end"]] if meta.get("end") else []
    return [meta["header"], *(r for _, r in rows), *end]
