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
``event.to_dict()`` plus the date, at a fraction of the cost. A process
that never builds an event as an object because nothing but the trace
listens (``Bus.direct``) writes rows with ``row_writer(cls)``: the values
are kept as columns, and formatted a column at a time when the lines are
written (the same bytes). A process that draws its events in blocks
(information exchange) gives a block's rows to ``block_writer(cls, labels)``
as columns ahead of time; the trace puts each before the first event traced
after it in time (``settle``), so the process makes no call per row, and the
lines of a block are formatted in bulk. The lines are UTF-8 bytes from the
start (no text is encoded as a whole when written).

``ParquetTrace`` (a path ending in ``.parquet``) is the columnar trace for
long or large runs: a directory with one plain Parquet file per event kind,
every row numbered by ``seq`` in the order the events happened and carrying
its ``kind`` and ``date``. The header and the end record travel inside every
file (key ``normflow.trace`` of the file's key-value metadata, a JSON
object ``{"header": ..., "end": ...}``), so each file reads with
``pandas.read_parquet`` and the directory with ``pyarrow.dataset``, without
normflow. Columns are buffered and written once per row group, so memory
stays flat; rows given in blocks are numbered when the trace settles and
handed over as columns once per block. ``read_trace`` reads
both formats into the same dictionaries.
"""

from __future__ import annotations

import array
import datetime as dt
import json
import math
from collections.abc import Callable, Collection
from itertools import repeat
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
    "_fast_float": None,  # orjson.dumps, once a trace is opened (see _fast_floats)
    "_ints": None,  # _int_tuple, below
    "_int": int.__repr__,
    "_true": "true",
    "_false": "false",
}


def _fast_floats() -> None:
    """Give the compiled templates orjson's float writer, if it is installed
    (imported when a trace opens, not with normflow)."""
    if _NAMESPACE["_fast_float"] is None:
        try:
            import orjson
        except ImportError:  # pragma: no cover - a dependency; repr does the same, slower
            _NAMESPACE["_fast_float"] = False
        else:
            _NAMESPACE["_fast_float"] = orjson.dumps


def _int_tuple(value: Any) -> str:
    """The JSON text of a tuple of integers (the ``causes`` of an event) as
    ``json`` writes it: orjson's text where it holds nothing but integers
    (the digits of an integer are the same in both), ``json``'s otherwise
    (a float, a bool, null or an integer beyond 64 bits)."""
    fast = _NAMESPACE["_fast_float"]
    if value.__class__ is tuple and fast:
        try:
            text = fast(value)
        except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
            return _DUMPS(value)
        if not text.strip(b"[]0123456789,-"):
            return text.decode()
    return _DUMPS(value)


_NAMESPACE["_ints"] = _int_tuple


def _encoder(name: str, annotation: Any) -> str:
    """The f-string expression encoding the value ``name`` of a field typed ``annotation``."""
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    kind = kind.replace(" ", "")
    if kind in ("str", "str|None", "None|str"):
        return f"_enc({name}) if {name}.__class__ is str else _dumps({name})"
    if kind == "float":
        # orjson writes the same shortest digits as repr, five times faster, and
        # the same text for 1e-4 <= x < 1e16 (outside, its exponents differ);
        # inf and nan (x - x != 0) take json's spelling (Infinity, NaN)
        return (
            f"_fast_float({name}).decode() if {name}.__class__ is float and 1e-4 <= {name} < 1e16 and _fast_float "
            f"else _float({name}) if {name}.__class__ is float and {name} - {name} == 0.0 else _dumps({name})"
        )
    if kind == "int":
        return f"_int({name}) if {name}.__class__ is int else _dumps({name})"
    if kind == "bool":
        return f"_true if {name} is True else _false if {name} is False else _dumps({name})"
    if kind == "tuple[int,...]":
        return f"_ints({name})"
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


def _arguments(cls: type[Event]) -> tuple[str, dict[str, Any]]:
    """The parameter list of a row writer of ``cls`` (fields in the class's
    order, ``t`` first) and the defaults it refers to: a field with a plain
    default may be left out, so that a writer keeps working for callers
    written before a field was added."""
    parts: list[str] = []
    defaults: dict[str, Any] = {}
    for f in attrs.fields(cls):
        if f.default is attrs.NOTHING or isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
            parts.append(f.name)
        else:
            defaults[f"_default_{f.name}"] = f.default
            parts.append(f"{f.name}=_default_{f.name}")
    return ", ".join(parts), defaults


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
        #: [first time of the current day, first time of the next, its text]
        self._today: list[Any] = [0.0, -1.0, ""]
        _fast_floats()
        # the lines are UTF-8 bytes from the start: no text to encode at the end
        self._file: IO[bytes] = open(self.path, "wb", buffering=1 << 16)  # noqa: SIM115
        # Lines are held back, with their times, while contacts given ahead in
        # blocks may still come before them (``settle``); without a block open
        # they are written once many are held (``HOLD``).
        self._held: list[Any] = []
        self._held_t: list[float] = []
        self._put = self._held.append
        self._when = self._held_t.append
        self._blocks: list[_JsonlBlocks] = []
        self._lines: dict[type[Event], Callable[[Event, str], str]] = {}
        # rows given by field values (``row_writer``), held as columns: their
        # place in ``_held`` is taken by their ``_JsonlRows``
        self._rows: dict[type[Event], _JsonlRows] = {}
        self._dates: dict[int, bytes] = {}
        self._write({"kind": "trace_start", **(header or {})})

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write((_DUMPS(obj) + "\n").encode())

    def _release(self) -> None:
        """Write the lines held back (nothing may come before them any more)."""
        if self._held:
            self._file.write(b"".join(self._held_lines()))
            self._held.clear()
            self._held_t.clear()

    def _held_lines(self) -> list[bytes]:
        """The lines held back, in order: rows held as columns formatted now,
        a column at a time, and put in their places."""
        held = self._held
        staged = [rows for rows in self._rows.values() if rows.columns["t"]]
        if not staged:
            return held
        if len(staged) == 1 and len(staged[0].columns["t"]) == len(held):
            return staged[0].lines(self._date_texts)
        marks = np.fromiter(map(id, held), dtype=np.intp, count=len(held))
        lines = np.array(held, dtype=object)
        for rows in staged:
            lines[np.flatnonzero(marks == id(rows))] = rows.lines(self._date_texts)
        return lines.tolist()

    def _date_texts(self, times: list[Any]) -> list[bytes]:
        """Each row's date and the end of its line (``date"}`` and a newline),
        from its time as ``date`` reads it (the day is ``int(t)``)."""
        day = np.fromiter(times, dtype=np.float64, count=len(times))
        day = np.minimum(day, 1e15).astype(np.int64)
        change = np.empty(len(day), dtype=bool)
        change[0] = True
        np.not_equal(day[1:], day[:-1], out=change[1:])
        known = self._dates
        texts = []
        for d in day[change].tolist():
            text = known.get(d)
            if text is None:
                text = known[d] = (_day_text(self._start, d) + '"}\n').encode()
            texts.append(text)
        if len(texts) == 1:
            return [texts[0]] * len(day)
        return np.array(texts, dtype=object)[np.cumsum(change) - 1].tolist()

    def _full(self) -> None:
        """Many lines are held back: written if no block waits."""
        if not self._pending():
            self._release()

    def _pending(self) -> bool:
        return any(block.pending() for block in self._blocks)

    @property
    def lines(self) -> int:
        """Lines traced so far, contacts given ahead in blocks and not yet
        settled left out (counted in the file when asked: the writers keep no
        count)."""
        if not self._file.closed:
            if not self._pending():
                self._release()
            self._file.flush()
        with open(self.path, "rb") as handle:
            return len(self._held) + sum(
                block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")
            )

    def date(self, t: float) -> str:
        day = int(t)
        if day != self._day:
            self._day = day
            self._date = (self._start + dt.timedelta(days=day)).isoformat()
            self._today[:] = [float(day), float(day + 1), self._date]
        return self._date

    def __call__(self, event: Event) -> None:
        cls = type(event)
        line = self._lines.get(cls)
        if line is None:
            line = self._lines[cls] = compile_line(cls)
        self._put(line(event, self.date(event.t)).encode())
        self._when(event.t)
        if len(self._held) >= HOLD:
            self._full()

    def settle(self, until: float) -> None:
        """Every event up to time ``until`` has reached the trace: write the
        contacts given ahead in blocks up to then, each before the first line
        held back whose time is not earlier than its own, and the lines held."""
        ready = [(block, k) for block in self._blocks if (k := block.ready(until))]
        if not ready:
            self._release()
            return
        if len(ready) == 1:
            block, k = ready[0]
            times = block.times[block.done : block.done + k]
            first = block.done

            def texts(a: np.ndarray, b: np.ndarray) -> list[bytes]:
                # the lines of each run of rows a..b-1, as slices of the block's text
                return block.texts(a + first, b + first)

        else:
            # several exchanges (one per issue): their contacts merged by time
            times = np.concatenate([b.times[b.done : b.done + k] for b, k in ready])
            order = np.argsort(times, kind="stable")
            times = times[order]
            each = [line for b, k in ready for line in b.texts(np.arange(b.done, b.done + k), None)]
            ordered = [each[i] for i in order.tolist()]

            def texts(a: np.ndarray, b: np.ndarray) -> list[bytes]:
                return [b"".join(ordered[x:y]) for x, y in zip(a.tolist(), b.tolist(), strict=True)]

        held = self._held_lines() if self._held else []
        if held:
            # each contact goes before the first held line whose time is not earlier
            # than its own: runs of contacts between two held lines, in one list
            # (the times as they came, never going back: an event traced with an
            # earlier time than one before it still comes after the contacts before that)
            place = np.searchsorted(np.maximum.accumulate(self._held_t), times, side="left")
            cut = np.flatnonzero(np.diff(place)) + 1
            starts = np.concatenate(([0], cut))
            runs = texts(starts, np.concatenate((cut, [len(times)])))
            at = place[starts]
            merged = np.empty(len(held) + len(runs), dtype=object)
            where_runs = at + np.arange(len(runs))
            merged[where_runs] = runs
            keep = np.ones(len(merged), dtype=bool)
            keep[where_runs] = False
            merged[keep] = held
            pieces = merged.tolist()
            self._held.clear()
            self._held_t.clear()
        else:
            pieces = texts(np.zeros(1, dtype=np.int64), np.array([len(times)]))
        for block, k in ready:
            block.advance(k)
        self._file.write(b"".join(pieces))

    def row_writer(self, cls: type[Event]) -> Callable[..., None]:
        """``write(t, *fields)``: trace an event of class ``cls`` from its field
        values (in the class's order, ``t`` first) without building it. The line
        is the one ``self(cls(t=t, ...))`` would write. The values are kept as
        columns and formatted a column at a time when the lines are written
        (``_JsonlRows``)."""
        rows = self._rows.get(cls)
        if rows is None:
            rows = self._rows[cls] = _JsonlRows(cls)
        args, defaults = _arguments(cls)
        puts = "".join(f"    put_{name}({name})\n" for name in rows.columns)
        source = (
            f"def write({args}):\n"
            "    put(rows)\n"
            "    when(t)\n"
            f"{puts}"
            "    if held_len() >= HOLD:\n        full()\n"
        )
        scope: dict[str, Any] = {}
        namespace = dict(
            put=self._put,
            when=self._when,
            rows=rows,
            held_len=self._held.__len__,
            HOLD=HOLD,
            full=self._full,
            **{f"put_{name}": column.append for name, column in rows.columns.items()},
            **defaults,
        )
        exec(compile(source, f"<trace rows of {cls.__name__}>", "exec"), namespace, scope)
        return scope["write"]

    def coded_writer(self, cls: type[Event], labels: dict[str, list[str]]) -> Callable[..., None]:
        """``row_writer(cls)`` for a process that knows its actors by index: a
        field named in ``labels`` is given as an integer code into
        ``labels[field]`` (-1 for null), encoded once here instead of on every
        line. The line is the one ``row_writer`` writes for the labels' values.

        Deprecated (nothing in normflow calls it since contacts come a block at
        a time): use ``block_writer``; removed in normflow 0.3."""
        _deprecated("JsonlTrace.coded_writer", "JsonlTrace.block_writer")
        return self._coded_writer(cls, labels)

    def _coded_writer(self, cls: type[Event], labels: dict[str, list[str]]) -> Callable[..., None]:
        _, body = _template(cls)
        args, defaults = _arguments(cls)
        scope_values: dict[str, Any] = {}
        for f in attrs.fields(cls):
            if f.name in labels:
                # the encoded labels, and null last: code -1 reads it
                scope_values[f"_labels_{f.name}"] = [_DUMPS(v) for v in labels[f.name]] + ["null"]
                body = body.replace(
                    "{" + _encoder(f.name, f.type) + "}", "{_labels_" + f.name + "[" + f.name + "]}"
                )
        source = (
            f"def write({args}):\n"
            "    if not day[0] <= t < day[1]:\n        date_of(t)\n"
            "    date = day[2]\n"
            f"    put(f'{body}'.encode())\n"
            "    when(t)\n"
            "    if held_len() >= HOLD:\n        full()\n"
        )
        scope: dict[str, Any] = {}
        namespace = dict(
            _NAMESPACE,
            date_of=self.date,
            put=self._put,
            when=self._when,
            trace=self,
            day=self._today,
            held_len=self._held.__len__,
            HOLD=HOLD,
            full=self._full,
            **defaults,
            **scope_values,
        )
        exec(compile(source, f"<trace coded rows of {cls.__name__}>", "exec"), namespace, scope)
        return scope["write"]

    def block_writer(self, cls: type[Event], labels: dict[str, list[str]]) -> _JsonlBlocks:
        """Rows of ``cls`` given a block at a time, as columns (see
        ``_JsonlBlocks``): the lines ``row_writer`` writes, formatted in bulk."""
        block = _JsonlBlocks(self, cls, labels)
        self._blocks.append(block)
        return block

    def close(self, complete: bool = True, error: str | None = None, t: float | None = None) -> None:
        if self._file.closed:
            return
        # contacts given ahead: those that happened (all, when the run is whole)
        self.settle(math.inf if complete or t is None else t)
        end: dict[str, Any] = {"kind": "trace_end", "complete": complete}
        if t is not None:
            end["t"] = t
        if error:
            end["error"] = error
        self._write(end)
        self._file.close()


#: Lines a JSON Lines trace holds back before writing them (when no block waits).
HOLD = 1 << 13


class _JsonlRows:
    """Rows of one event class given by their field values (``row_writer``),
    kept as one list per field until the trace writes them; then formatted a
    column at a time (``_column_texts``): every line the one ``compile_line``
    writes for the same event."""

    def __init__(self, cls: type[Event]):
        fields = list(attrs.fields(cls))
        self.columns: dict[str, list[Any]] = {f.name: [] for f in fields}
        # each field's texts with the constant text before them
        self._parts: list[tuple[bytes, str, Callable[[list[Any]], list[bytes]]]] = []
        before = '{"kind":' + _DUMPS(cls.kind)
        for f in fields:
            before += "," + _DUMPS(f.name) + ":"
            self._parts.append((before.encode(), f.name, _column_texts(f.name, f.type)))
            before = ""
        self._dates_before = b',"date":"'

    def lines(self, date_texts: Callable[[list[Any]], list[bytes]]) -> list[bytes]:
        """The held rows' lines, in the order they came; the columns are emptied."""
        columns = self.columns
        n = len(columns["t"])
        pieces: list[Any] = []
        for before, name, texts in self._parts:
            if before:
                pieces.append(repeat(before, n))
            pieces.append(texts(columns[name]))
        pieces.append(repeat(self._dates_before, n))
        pieces.append(date_texts(columns["t"]))
        for column in columns.values():
            column.clear()
        return list(map(b"".join, zip(*pieces, strict=True)))


def _column_texts(name: str, annotation: Any) -> Callable[[list[Any]], list[bytes]]:
    """``texts(values)``: the JSON text of each value of a field typed
    ``annotation``, as the compiled templates write it (``_encoder``), worked
    out for a whole column where it can be: a string's text looked up once
    per distinct string, floats and integers by one orjson call where its
    text is ``json``'s, one value at a time otherwise."""
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    kind = kind.replace(" ", "")
    text_of = _single(name, annotation)

    def one(value: Any) -> bytes:
        return text_of(value).encode()

    def each(values: list[Any]) -> list[bytes]:
        return [one(v) for v in values]

    if kind in ("str", "str|None", "None|str"):
        known: dict[str | None, bytes] = {}

        def strings(values: list[Any]) -> list[bytes]:
            try:
                return list(map(known.__getitem__, values))
            except KeyError:
                try:
                    new = set(values).difference(known)
                except TypeError:
                    new = None
                if new is not None and all(v is None or v.__class__ is str for v in new):
                    # strings not seen before: their texts once, then the lookup again
                    for v in new:
                        known[v] = one(v)
                    return list(map(known.__getitem__, values))
            except TypeError:
                pass
            texts = []
            for v in values:
                if v is None or v.__class__ is str:
                    text = known.get(v)
                    if text is None:
                        text = known[v] = one(v)
                else:
                    text = one(v)
                texts.append(text)
            return texts

        return strings
    if kind == "float":

        def floats(values: list[Any]) -> list[bytes]:
            fast = _NAMESPACE["_fast_float"]
            if not fast or not values or set(map(type, values)) != {float}:
                return each(values)
            x = np.abs(np.fromiter(values, dtype=np.float64, count=len(values)))
            # where orjson's text is repr's: 1e-4 <= |x| < 1e16, and zero
            odd = np.flatnonzero(~((x == 0.0) | ((x >= 1e-4) & (x < 1e16))))
            texts = fast(values)[1:-1].split(b",")
            for i in odd.tolist():
                texts[i] = one(values[i])
            return texts

        return floats
    if kind == "int":

        def ints(values: list[Any]) -> list[bytes]:
            fast = _NAMESPACE["_fast_float"]
            if fast and values and set(map(type, values)) == {int}:
                try:
                    return fast(values)[1:-1].split(b",")
                except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
                    pass
            return each(values)

        return ints
    if kind == "bool":
        words = {True: b"true", False: b"false"}

        def flags(values: list[Any]) -> list[bytes]:
            if values and set(map(type, values)) == {bool}:
                return list(map(words.__getitem__, values))
            return each(values)

        return flags
    if kind == "tuple[int,...]":

        def tuples(values: list[Any]) -> list[bytes]:
            fast = _NAMESPACE["_fast_float"]
            if fast and values and set(map(type, values)) == {tuple}:
                try:
                    text = fast(values)
                except TypeError:
                    text = b"x"
                if not text.translate(None, b"[],-0123456789"):
                    # [[1,2],[],[3]]: each row's integers between the pieces "],["
                    return [b"[" + x + b"]" for x in text[2:-2].split(b"],[")]
            return [_int_tuple(v).encode() for v in values]

        return tuples
    return each


class _Blocks:
    """What both traces' block writers share: a block's times, how many of its
    rows there are and how many are written."""

    times: np.ndarray
    rows: int
    done: int

    def pending(self) -> bool:
        """Whether some rows of the block are not written yet."""
        return self.done < self.rows

    def ready(self, until: float) -> int:
        """How many of the rows not yet written happened by ``until``."""
        if self.done >= self.rows:
            return 0
        return int(np.searchsorted(self.times[: self.rows], until, side="right")) - self.done


class _JsonlBlocks(_Blocks):
    """The lines of many events of one class (a process's contacts), given
    ahead of time a block at a time and written when their turn comes.

    ``start(t=..., field=..., ...)`` gives a block's rows as columns (numpy
    arrays, or one value for every row; a field named in ``labels`` as integer
    codes into that list, -1 for null), in time order. The rows are written
    when the trace settles (``JsonlTrace.settle``): each before the first event
    traced meanwhile whose time is not earlier than its own. The process says
    when everything up to a time has reached the trace (``through(t)``, at the
    end of each block, so that at most one block waits) and where its rows stop
    (``finish(n)``: rows from ``n`` on never happen). Every line is the one
    ``row_writer`` would write for the same values: the text of a label, a flag
    or a one-value column is encoded once and looked up; floats are written by
    orjson for the whole block where every value lies where its text is
    ``repr``'s, one by one otherwise. The block's lines are one string; where
    each line ends is worked out only when a block is written in parts."""

    def __init__(self, trace: JsonlTrace, cls: type[Event], labels: dict[str, list[str]]):
        self._trace = trace
        self._fields = list(attrs.fields(cls))
        self._head = '{"kind":' + _DUMPS(cls.kind)
        # lists given for several fields (source and target: the same ids) encoded once
        encoded: dict[int, list[bytes]] = {}
        self._labels: dict[str, list[bytes]] = {}
        for name, values in labels.items():
            if id(values) not in encoded:
                encoded[id(values)] = [
                    (encode_basestring(v) if v.__class__ is str else _DUMPS(v)).encode() for v in values
                ] + [b"null"]
            self._labels[name] = encoded[id(values)]
        # a looked-up column's texts with the constant text before them written in,
        # kept per (field, constant): the constant depends on one-value columns
        self._tables: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._encode = {f.name: _single(f.name, f.type) for f in self._fields}
        self.times = np.zeros(0)
        self.done = self.rows = 0
        self._text = b""
        self._ends: np.ndarray | None = None
        self._sizes: list[tuple[Any, Any]] = []

    def _table(self, key: Any, texts: list[bytes] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The texts of a looked-up column with the constant text before them:
        key ``(field, constant)``; or of a pair of such columns side by side,
        key ``(first key, second key)``, indexed by ``first * len(second) + second``."""
        table = self._tables.get(key)
        if table is None:
            first, second = key
            if isinstance(first, str):
                joined = [second.encode() + x for x in texts]  # type: ignore[union-attr]
            else:
                one, before = self._table(first)[0].tolist(), second[1].encode()
                joined = [a + before + b for a in one for b in texts]  # type: ignore[union-attr]
            table = self._tables[key] = (
                np.array(joined, dtype=object),
                np.array([len(x) for x in joined], dtype=np.int64),
            )
        return table

    def start(self, **columns: Any) -> None:
        if self.pending():
            # the last block is not settled (its process did not say through when):
            # its rows go now
            self._trace.settle(float(self.times[self.rows - 1]))
        t = np.asarray(columns["t"], dtype=np.float64)
        n = self.rows = len(t)
        self.times = t
        self.done = 0
        self._ends = None
        if n == 0:
            self._text = b""
            return
        pieces: list[list[bytes]] = []
        looked: tuple[Any, np.ndarray] | None = None  # the last piece, when looked up in a table
        # how to find each piece's length per row, if ever needed: a table of
        # lengths and the codes into it, or the texts themselves
        self._sizes = sizes = []
        before = self._head
        for f in self._fields:
            before += "," + _DUMPS(f.name) + ":"
            value = columns[f.name]
            if np.ndim(value) == 0:
                # one value for every row: part of the constant text
                before += self._encode[f.name](value.item() if isinstance(value, np.generic) else value)
                looked = None
                continue
            value = np.asarray(value)
            if f.name in self._labels or value.dtype == np.bool_:
                texts = self._labels[f.name] if f.name in self._labels else [b"false", b"true"]
                key = (f.name, before)
                codes = value.view(np.int8) if value.dtype == np.bool_ else value
                if looked and (size := len(self._table(looked[0])[0])) * len(texts) <= 4096:
                    # two looked-up columns side by side, few pairs: one lookup of the pair
                    # (codes -1, null, are the last entry of their table)
                    width = len(texts)
                    key = (looked[0], key)
                    codes = (looked[1] % size) * width + (codes % width)
                    pieces.pop()
                    sizes.pop()
                table, lengths = self._table(key, texts)
                pieces.append(table[codes].tolist())
                sizes.append((lengths, codes))
                looked = (key, codes)
                before = ""
                continue
            looked = None
            if before:
                constant = before.encode()
                pieces.append([constant] * n)
                sizes.append((len(constant), None))
                before = ""
            texts = _float_texts(value) if value.dtype.kind == "f" else None
            if texts is None:
                encode = self._encode[f.name]
                texts = [encode(x).encode() for x in value.tolist()]
            pieces.append(texts)
            sizes.append((None, texts))
        # the dates, one text per day of the block (a block may reach far past the
        # horizon, where rows never happen and a date may not exist: left empty)
        day = np.floor(np.minimum(t, 1e15)).astype(np.int64)
        # (in time order: a new entry where the day changes; np.unique would import numpy.ma)
        change = np.empty(len(day), dtype=bool)
        change[0] = True
        np.not_equal(day[1:], day[:-1], out=change[1:])
        days = day[change]
        codes = np.cumsum(change) - 1
        dates = [
            (before + ',"date":"' + _day_text(self._trace._start, d) + '"}\n').encode() for d in days.tolist()
        ]
        head: list[bytes] = []
        if len(pieces) > 1 and isinstance(sizes[0][0], int) and sizes[0][1] is None:
            # the constant start of every line (kind, the key of t) ends the line
            # before it instead: one piece fewer per row. The text starts with it
            # once, the last row's date has none after it; each line still spans
            # its own row's sizes (the start it lacks equals the one it carries)
            head = [pieces.pop(0)[0]]
            sizes.pop(0)
            ends = [date + head[0] for date in dates]
            rows = codes.copy()
            rows[-1] = len(ends)
            pieces.append(np.array([*ends, dates[codes[-1]]], dtype=object)[rows].tolist())
            sizes.append((np.array([len(x) for x in ends], dtype=np.int64), codes))
        else:
            pieces.append(np.array(dates, dtype=object)[codes].tolist())
            sizes.append((np.array([len(x) for x in dates], dtype=np.int64), codes))
        width = len(pieces)
        parts: list[bytes | None] = [*head, *([None] * (n * width))]
        for j, piece in enumerate(pieces):
            parts[len(head) + j :: width] = piece
        self._text = b"".join(parts)  # type: ignore[arg-type]

    def _line_ends(self) -> np.ndarray:
        n = len(self.times)
        size = np.zeros(n, dtype=np.int64)
        for lengths, codes in self._sizes:
            if lengths is None:
                size += np.fromiter(map(len, codes), dtype=np.int64, count=n)
            elif codes is None:
                size += lengths
            else:
                size += lengths[codes]
        return np.concatenate(([0], np.cumsum(size)))

    def texts(self, a: np.ndarray, b: np.ndarray | None) -> list[bytes]:
        """The lines of rows ``a[i]`` to ``b[i] - 1``, for each i (one row each
        when ``b`` is None)."""
        if b is None:
            b = a + 1
        if len(a) == 1 and a[0] == 0 and b[0] == len(self.times):
            return [self._text]
        ends = self._ends
        if ends is None:
            ends = self._ends = self._line_ends()
        text = self._text
        return [text[x:y] for x, y in zip(ends[a].tolist(), ends[b].tolist(), strict=True)]

    def advance(self, k: int) -> None:
        self.done += k
        if self.done >= self.rows:
            self._text, self._ends, self._sizes = b"", None, []

    def finish(self, n: int) -> None:
        """Rows from ``n`` on never happen (the process stopped before them)."""
        self.rows = min(self.rows, n)

    def through(self, t: float) -> None:
        """Everything up to time ``t`` has reached the trace."""
        self._trace.settle(t)


def _day_text(start: dt.date, day: int) -> str:
    """The calendar date ``day`` days after ``start`` (empty past the calendar's end)."""
    try:
        return (start + dt.timedelta(days=day)).isoformat()
    except OverflowError:
        return ""


def _single(name: str, annotation: Any) -> Callable[[Any], str]:
    """The text of one value of a field typed ``annotation``, as the templates write it."""
    scope: dict[str, Any] = {}
    exec(f"def encode({name}):\n    return {_encoder(name, annotation)}\n", dict(_NAMESPACE), scope)
    return scope["encode"]


def _float_texts(values: np.ndarray) -> list[bytes] | None:
    """The JSON texts of an array of floats, by one orjson call, when every one
    lies where orjson's text is ``repr``'s (1e-4 <= x < 1e16); else None."""
    fast = _NAMESPACE["_fast_float"]
    if not fast or values.dtype != np.float64 or not len(values):
        return None
    if not (values.min() >= 1e-4 and values.max() < 1e16):
        return None
    # the array itself, not a list of floats: the same digits (orjson writes a
    # float64 of an array as it writes a float) without a float object per value
    import orjson

    return fast(np.ascontiguousarray(values), option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].split(b",")


class _ParquetBlocks(_Blocks):
    """``_JsonlBlocks`` for the Parquet trace: the block's rows are numbered
    when the trace settles (``ParquetTrace.settle``) and handed over as
    columns once they all are (or the process finished before the rest)."""

    def __init__(self, trace: ParquetTrace, write: Callable[..., None]):
        self._trace = trace
        self._write = write
        self._columns: dict[str, Any] = {}
        self._seq: list[np.ndarray] = []  # the numbers of the rows numbered so far
        self.times = np.zeros(0)
        self.done = self.rows = 0

    def start(self, **columns: Any) -> None:
        if self.pending():
            self._trace.settle(float(self.times[self.rows - 1]))
        self._columns = columns
        self.times = np.asarray(columns["t"], dtype=np.float64)
        self.rows = len(self.times)
        self.done = 0
        self._seq = []

    def number(self, seq: np.ndarray) -> None:
        """The next ``len(seq)`` rows get these sequence numbers."""
        self._seq.append(seq)
        self.done += len(seq)
        if self.done >= self.rows:
            self.hand_over()

    def hand_over(self) -> None:
        """The rows numbered so far, as columns to the trace; the rest never happen."""
        n = self.done
        if n:
            self._write(
                seq=np.concatenate(self._seq) if len(self._seq) > 1 else self._seq[0],
                **{name: value[:n] if np.ndim(value) else value for name, value in self._columns.items()},
            )
        self._columns, self._seq = {}, []
        self.rows = self.done = 0

    def finish(self, n: int) -> None:
        self.rows = min(self.rows, n)
        if self.done >= self.rows:
            self.hand_over()

    def through(self, t: float) -> None:
        self._trace.settle(t)


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
    """Rows of one event kind waiting to be written: rows given one by one
    (Python lists, one per column) and blocks of rows given as columns
    (numpy arrays, joined once per row group)."""

    def __init__(self, cls: type[Event]):
        import pyarrow as pa

        self.cls = cls
        self.names = [f.name for f in attrs.fields(cls)]
        # a field of a type Parquet has no column for is kept as its JSON text
        self.types = {f.name: _arrow_type(f.type) for f in attrs.fields(cls)}
        self.types["t"] = pa.float64()
        self.columns: dict[str, list[Any]] = {name: [] for name in ["seq", *self.names]}
        #: blocks handed over by a column writer: (seq array, {field: array or scalar})
        self.chunks: list[tuple[np.ndarray, dict[str, Any]]] = []
        self.dictionaries: dict[str, Any] = {}
        self.rows = 0
        #: rows appended one by one whose ``seq`` is final (``ParquetTrace.settle``)
        self.settled = 0


#: The key of the file metadata that holds a Parquet trace's header and end record.
META_KEY = "normflow.trace"


class ParquetTrace:
    """The columnar trace sink (see the module's docstring)."""

    def __init__(self, path: str | Path, start: dt.date, header: dict[str, Any] | None = None):
        # imported when the trace is opened, not during the run; pandas is never
        # loaded (the columns are made from buffers: see _arrow_of_list)
        import pyarrow.compute  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        self.path = Path(path)
        self.path.mkdir(parents=False, exist_ok=True)
        for old in self.path.glob("*.parquet"):
            old.unlink()
        # a trace written by an earlier version kept its metadata beside the files
        (self.path / "trace.json").unlink(missing_ok=True)
        self._start = start
        self._epoch_day = (start - dt.date(1970, 1, 1)).days
        self._header = {"kind": "trace_start", **(header or {})}
        self._buffers: dict[type[Event], _KindBuffer] = {}
        self._writers: dict[str, Any] = {}
        self._appenders: dict[type[Event], Callable[[Event], None]] = {}
        #: rows appended one by one so far (their order among themselves)
        self.seq = 0
        #: block rows numbered so far, and the block writers
        self._numbered = 0
        self._blocks: list[_ParquetBlocks] = []
        self.lines = 0
        self._closed = False

    def _buffer(self, cls: type[Event]) -> _KindBuffer:
        buf = self._buffers.get(cls)
        if buf is None:
            buf = self._buffers[cls] = _KindBuffer(cls)
        return buf

    def _appender(self, cls: type[Event], from_event: bool) -> Callable[..., None]:
        buf = self._buffer(cls)
        names = buf.names
        args, defaults = _arguments(cls)
        head = "event" if from_event else args
        lines = [f"def add({head}):", "    seq = trace.seq", "    trace.seq = seq + 1", "    put_seq(seq)"]
        lines += [f"    put_{n}(event.{n})" if from_event else f"    put_{n}({n})" for n in names]
        lines += ["    if seq_column.__len__() >= ROW_GROUP:", "        trace.flush(cls)"]
        namespace: dict[str, Any] = {f"put_{n}": col.append for n, col in buf.columns.items()}
        namespace.update(trace=self, seq_column=buf.columns["seq"], ROW_GROUP=ROW_GROUP, cls=cls, **defaults)
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

    def reserve(self, n: int) -> int:
        """Take the next ``n`` sequence numbers (for rows handed over later,
        with ``seq=``); returns the first.

        Deprecated (nothing in normflow calls it since block rows are numbered
        when the trace settles): use ``block_writer``; removed in normflow 0.3."""
        _deprecated("ParquetTrace.reserve", "ParquetTrace.block_writer")
        return self._reserve(n)

    def _reserve(self, n: int) -> int:
        first = self.seq
        self.seq = first + n
        return first

    def column_writer(self, cls: type[Event], labels: dict[str, Any]) -> Callable[..., None]:
        """``write(t=array, field=array, ..., seq=None)``: many rows at once. A
        field named in ``labels`` is given as integer codes into
        ``labels[field]`` (a list of strings; code -1 is null); the others as
        arrays of values, or one value for every row. ``seq`` gives the rows'
        sequence numbers when they were taken earlier with ``reserve`` (the
        rows then need not be handed over at the moment they happen); without
        it the rows take the next numbers (numbers of the rows appended one by
        one: a run whose trace also takes blocks numbers those rows itself, see
        ``settle``). The columns are only kept here; they are joined and
        encoded once per row group.

        Deprecated (nothing in normflow calls it since contacts come a block at
        a time): use ``block_writer``; removed in normflow 0.3."""
        _deprecated("ParquetTrace.column_writer", "ParquetTrace.block_writer")
        return self._column_writer(cls, labels)

    def _column_writer(self, cls: type[Event], labels: dict[str, Any]) -> Callable[..., None]:
        import pyarrow as pa

        buf = self._buffer(cls)
        # each list of labels as one Arrow array, made once (source and target share theirs)
        made: dict[int, Any] = {}
        for name, values in labels.items():
            if id(values) not in made:
                made[id(values)] = _arrow_of_list(list(values), pa.string())
            buf.dictionaries[name] = made[id(values)]

        def write(seq: np.ndarray | None = None, **columns: Any) -> None:
            n = len(columns["t"])
            if n == 0:
                return
            if seq is None:
                seq = np.arange(self.seq, self.seq + n, dtype=np.int64)
                self.seq += n
            buf.chunks.append((seq, columns))
            buf.rows += n
            self.lines += n
            if buf.rows >= ROW_GROUP:
                self.flush(cls)

        write.reserve = self._reserve  # type: ignore[attr-defined]
        return write

    def block_writer(self, cls: type[Event], labels: dict[str, Any]) -> _ParquetBlocks:
        """Rows of ``cls`` given a block at a time (see ``_JsonlBlocks``),
        numbered when the trace settles and handed over as columns once per block."""
        block = _ParquetBlocks(self, self._column_writer(cls, labels))
        self._blocks.append(block)
        return block

    def settle(self, until: float) -> None:
        """Every event up to time ``until`` has reached the trace: number the
        rows given ahead in blocks up to then, and the rows appended since the
        last settling.

        Rows appended one by one take ``seq`` from a counter of such rows, in
        the order they come; block rows are merged in by time, each before
        every appended row whose time is not earlier than its own. So a row
        appended at time ``t`` is numbered its count plus the block rows up to
        ``t``, and a block row its place among the block rows plus the appended
        rows strictly before it."""
        ready = [(block, k) for block in self._blocks if (k := block.ready(until))]
        # rows appended since the last settling, kind by kind: their counts and times
        fresh = []
        for buf in self._buffers.values():
            column = buf.columns["seq"]
            if len(column) > buf.settled:
                fresh.append((buf, np.array(column[buf.settled :], dtype=np.int64)))
        if not ready and not fresh:
            return
        if len(ready) == 1:
            block, k = ready[0]
            times = block.times[block.done : block.done + k]
            order = None
        elif ready:
            # several exchanges (one per issue): their rows merged by time
            times = np.concatenate([b.times[b.done : b.done + k] for b, k in ready])
            order = np.argsort(times, kind="stable")
            times = times[order]
        else:
            times, order = np.zeros(0), None
        base = self._numbered
        if fresh:
            counts = [count for _, count in fresh]
            every = np.concatenate(counts)
            # the appended rows' times in the order they came, never going back (an
            # event traced with an earlier time than one before it still comes after
            # the block rows before that one; the numbers stay distinct)
            came = np.argsort(every, kind="stable")
            when = np.maximum.accumulate(
                np.concatenate(
                    [np.array(buf.columns["t"][buf.settled :], dtype=np.float64) for buf, _ in fresh]
                )[came]
            )
            stamps = np.empty_like(when)
            stamps[came] = when
            first = 0
            for buf, count in fresh:
                stamp = stamps[first : first + len(count)]
                first += len(count)
                seq = count + base + np.searchsorted(times, stamp, side="right")
                buf.columns["seq"][buf.settled :] = seq.tolist()
                buf.settled = len(buf.columns["seq"])
            before = int(every.min())
        else:
            when, before = np.zeros(0), self.seq
        if len(times):
            seq = (
                base
                + before
                + np.arange(len(times), dtype=np.int64)
                + np.searchsorted(when, times, side="left")
            )
            self._numbered += len(times)
            if order is None:
                ready[0][0].number(seq)
            else:
                placed = np.empty_like(seq)
                placed[order] = seq
                first = 0
                for block, k in ready:
                    block.number(placed[first : first + k])
                    first += k

    def _rows_batch(self, buf: _KindBuffer) -> tuple[Any, np.ndarray, np.ndarray] | None:
        """The rows appended one by one, as a record batch, with their ``seq``
        and ``t`` as numpy arrays (None if there are none)."""
        import pyarrow as pa

        if not buf.columns["seq"]:
            return None
        n = len(buf.columns["seq"])
        seq = np.fromiter(buf.columns["seq"], dtype=np.int64, count=n)  # the trace's own counter
        arrays = [_arrow_of_numpy(seq, pa.int64())]
        for name in buf.names:
            kind = buf.types[name]
            values = buf.columns[name]
            if name == "t":
                arrays.append(_arrow_of_list(values, kind))
                # (the times again as numpy: from the Arrow array's data when it has no nulls)
                times = np.frombuffer(arrays[-1].buffers()[1], dtype=np.float64, count=n)
                if arrays[-1].null_count or arrays[-1].offset:
                    times = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
                continue
            if kind is None:
                values, kind = [None if v is None else _DUMPS(v) for v in values], pa.string()
            elif kind == pa.string() and values[0].__class__ is str and values.count(values[0]) == n:
                # the same text in every row (the issue, a target): one dictionary
                # entry, no string converted or hashed per row
                arrays.append(_constant(values[0], kind, n))
                continue
            arrays.append(_arrow_of_list(values, kind))
        self.lines += len(buf.columns["seq"])
        for column in buf.columns.values():
            column.clear()
        buf.settled = 0
        return pa.record_batch(arrays, names=["seq", *buf.names]), seq, times

    def _chunks_batch(self, buf: _KindBuffer) -> tuple[Any, np.ndarray, np.ndarray] | None:
        """The blocks handed over as columns, joined into one record batch, with
        their ``seq`` and ``t`` as numpy arrays (None if there are none)."""
        import pyarrow as pa

        if not buf.chunks:
            return None
        sizes = [len(seq) for seq, _ in buf.chunks]
        seq = np.concatenate([seq for seq, _ in buf.chunks]).astype(np.int64)
        times = np.zeros(0)
        arrays = [_arrow_of_numpy(seq, pa.int64())]
        for name in buf.names:
            parts = [columns[name] for _, columns in buf.chunks]
            kind = buf.types[name] or pa.string()
            if name in buf.dictionaries:
                # a dictionary column: codes into the labels, no string copied
                codes = np.concatenate(parts).astype(np.int32)
                indices = _arrow_of_numpy(codes, pa.int32(), missing=codes < 0 if codes.min() < 0 else None)
                arrays.append(pa.DictionaryArray.from_arrays(indices, buf.dictionaries[name]))
            elif name != "t" and all(np.ndim(p) == 0 for p in parts) and all(p == parts[0] for p in parts):
                arrays.append(_constant(parts[0], kind, sum(sizes)))
            else:
                values = [
                    np.full(size, part) if np.ndim(part) == 0 else np.asarray(part)
                    for part, size in zip(parts, sizes, strict=True)
                ]
                column = np.concatenate(values)
                if name == "t":
                    times = column = column.astype(np.float64)
                arrays.append(_arrow_of_numpy(column, kind))
        buf.chunks.clear()
        return pa.record_batch(arrays, names=["seq", *buf.names]), seq, times

    def flush(self, cls: type[Event]) -> None:
        """Write the buffered rows of ``cls`` as a row group."""
        import pyarrow as pa

        buf = self._buffers[cls]
        if len(buf.columns["seq"]) > buf.settled:
            # rows appended since the last settling: numbered first (every event
            # up to the last one's time has reached the trace)
            self.settle(buf.columns["t"][-1])
        made = [b for b in (self._rows_batch(buf), self._chunks_batch(buf)) if b is not None]
        buf.rows = 0
        if not made:
            return
        batches = [batch for batch, _, _ in made]
        if len(batches) > 1:
            # rows of both origins: one schema (dictionary columns as plain text)
            batches = [pa.Table.from_batches([b]).cast(_plain(b.schema)).to_batches()[0] for b in batches]
        table = pa.Table.from_batches(batches)
        seq = np.concatenate([s for _, s, _ in made])
        times = np.concatenate([t for _, _, t in made])
        if len(seq) > 1 and not (seq[1:] > seq[:-1]).all():
            # blocks handed over after their numbers were reserved: rows in the order they happened
            order = np.argsort(seq, kind="stable")
            table = table.take(_arrow_of_numpy(order.astype(np.int64), pa.int64()))
            times = times[order]
        # the calendar date of each row, as Parquet's date type, and the kind, so
        # that a whole trace directory reads as one dataset
        days = np.floor(times).astype(np.int32) + self._epoch_day
        table = table.append_column("date", _arrow_of_numpy(days, pa.date32()))
        if "kind" not in table.column_names:
            table = table.append_column("kind", _constant(cls.kind, pa.string(), len(table)))
        self._write(cls.kind, table)

    def _write(self, kind: str, table: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        writer = self._writers.get(kind)
        if writer is None:
            # dictionary pages only where values repeat (ids, names), sequence
            # numbers as deltas, min/max statistics only for seq and t (the
            # columns a reader filters on): each setting cuts the cost of writing
            text = [
                f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)
            ]
            # the header in the schema too (what read_table shows); the footer's
            # key-value metadata gets header and end record at close
            schema = table.schema.with_metadata({META_KEY: _DUMPS({"header": self._header, "end": None})})
            writer = self._writers[kind] = pq.ParquetWriter(
                self.path / f"{kind}.parquet",
                schema,
                use_dictionary=text,
                column_encoding={"seq": "DELTA_BINARY_PACKED"},
                write_statistics=["seq", "t"],
                # no Arrow schema stored: id columns read back as plain text
                # (not dictionaries), so every kind's file unifies with the
                # others into one dataset
                store_schema=False,
            )
        if not table.schema.remove_metadata().equals(writer.schema.remove_metadata()):
            # text as a dictionary in one row group and plain in another: the file's types
            table = table.cast(writer.schema.remove_metadata())
        writer.write_table(table.replace_schema_metadata(writer.schema.metadata))

    def close(self, complete: bool = True, error: str | None = None, t: float | None = None) -> None:
        import pyarrow as pa

        if self._closed:
            return
        self._closed = True
        # rows given ahead in blocks: those that happened (all, when the run is whole)
        self.settle(math.inf if complete or t is None else t)
        for block in self._blocks:
            block.hand_over()
        for cls in list(self._buffers):
            self.flush(cls)
        end: dict[str, Any] = {"kind": "trace_end", "complete": complete}
        if t is not None:
            end["t"] = t
        if error:
            end["error"] = error
        if not self._writers:
            # a run without events still leaves a readable trace: one empty file
            empty = pa.table(
                {
                    "seq": _arrow_of_numpy(np.zeros(0, dtype=np.int64), pa.int64()),
                    "t": _arrow_of_numpy(np.zeros(0), pa.float64()),
                    "date": _arrow_of_numpy(np.zeros(0, dtype=np.int32), pa.date32()),
                    "kind": _arrow_of_list([], pa.string()),
                }
            )
            self._write("empty", empty)
        # the header and the end record travel inside every file, in its footer
        meta = {META_KEY: _DUMPS({"header": self._header, "end": end})}
        for writer in self._writers.values():
            writer.add_key_value_metadata(meta)
            writer.close()


def _deprecated(name: str, instead: str) -> None:
    import warnings

    from normflow.deprecation import NormflowDeprecationWarning

    warnings.warn(
        f"{name} is deprecated; use {instead} instead ({name} will be removed in normflow 0.3)",
        NormflowDeprecationWarning,
        stacklevel=3,
    )


def _constant(value: Any, kind: Any, n: int) -> Any:
    """``n`` times ``value``: text as a dictionary of one entry (the Parquet
    writer then hashes no string; the file holds the same dictionary-encoded
    column and reads back as plain text), anything else repeated."""
    import pyarrow as pa

    if pa.types.is_string(kind) and value is not None:
        codes = _arrow_of_numpy(np.zeros(n, dtype=np.int32), pa.int32())
        return pa.DictionaryArray.from_arrays(codes, _arrow_of_list([value], kind))
    value = value.item() if isinstance(value, np.generic) else value
    return _arrow_of_list([value] * n, kind)


# -- Arrow arrays from buffers ----------------------------------------------------
#
# pa.array imports pandas on its first call (pyarrow asks whether its input is
# a pandas object): about 0.3 s of CPU in every process that writes a Parquet
# trace, which needs nothing from pandas. The trace's columns are made from
# their buffers instead; pa.array stays the way for values these functions do
# not take (then pandas is loaded, and the result is the same).

#: numpy's type for the storage of each Arrow type made from a buffer
_STORAGE = {
    "int64": np.int64,
    "int32": np.int32,
    "double": np.float64,
    "bool": np.bool_,
    "date32[day]": np.int32,
}


def _validity(missing: np.ndarray | None) -> tuple[Any, int]:
    """Arrow's validity bitmap for nulls where ``missing`` is true, and their count."""
    import pyarrow as pa

    nulls = 0 if missing is None else int(np.count_nonzero(missing))
    if not nulls:
        return None, 0
    return pa.py_buffer(np.packbits(~missing, bitorder="little")), nulls  # type: ignore[operator]


def _arrow_of_numpy(values: np.ndarray, kind: Any, missing: np.ndarray | None = None) -> Any:
    """The Arrow array of ``kind`` holding a one-dimensional numpy array of its
    storage type (int64, int32, float64, bool; date32 as int32 days), null
    where ``missing``, or of text; any other array through ``pa.array``."""
    import pyarrow as pa

    storage = _STORAGE.get(str(kind))
    if storage is None and str(kind) == "string" and values.dtype.kind in "UO" and missing is None:
        # text (a block's issue, one per block of several exchanges): as Python strings
        return _arrow_of_list(values.tolist(), kind)
    if storage is None or values.dtype != storage or values.ndim != 1:
        return pa.array(values, kind, mask=missing)
    validity, nulls = _validity(missing)
    if storage is np.bool_:
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        data = pa.py_buffer(np.ascontiguousarray(values))
    return pa.Array.from_buffers(kind, len(values), [validity, data], null_count=nulls)


def _arrow_of_list(values: list[Any], kind: Any) -> Any:
    """The Arrow array of ``kind`` holding a list of Python values: text (None
    as null), floats, integers, flags, tuples of integers or of text. A value
    the column's own way does not take (an integer beyond 64 bits, a null
    number, text in a number column) sends the column through ``pa.array``,
    as before. A float column takes any number as ``float()`` does, where
    ``pa.array`` refuses some that a float field should not hold anyway (an
    integer beyond 2**53, a ``Decimal``)."""
    import pyarrow as pa

    name = str(kind)
    made = None
    try:
        if name == "string":
            made = _strings(values, None)
        elif name == "double":
            made = _arrow_of_buffer(array.array("d", values), kind)
        elif name == "int64" and set(map(type, values)) <= {int}:
            made = _arrow_of_buffer(array.array("q", values), kind)
        elif name == "bool" and set(map(type, values)) <= {bool}:
            made = _arrow_of_numpy(np.array(values, dtype=np.bool_), kind)
        elif name in ("list<item: int64>", "list<item: string>") and set(map(type, values)) <= {tuple}:
            items = _arrow_of_list([x for value in values for x in value], kind.value_type)
            if items.null_count == 0:  # (a null item: pa.array, below)
                offsets = np.zeros(len(values) + 1, dtype=np.int32)
                np.cumsum(np.fromiter(map(len, values), dtype=np.int32, count=len(values)), out=offsets[1:])
                made = pa.ListArray.from_arrays(_arrow_of_numpy(offsets, pa.int32()), items)
    except (TypeError, OverflowError):  # a value of another type, an integer beyond 64 bits
        made = None
    if made is None and name == "string" and set(map(type, values)) <= {str, type(None)}:
        # text with nulls
        missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
        made = _strings(["" if v is None else v for v in values], missing)
    return pa.array(values, kind) if made is None else made


def _arrow_of_buffer(values: array.array, kind: Any) -> Any:
    """The Arrow array of ``kind`` over a Python array of its storage type (no copy)."""
    import pyarrow as pa

    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _strings(texts: list[str], missing: np.ndarray | None) -> Any:
    """Arrow text from a list of strings ('' where ``missing``); None if the
    text is too long for 32-bit offsets or cannot be encoded (a lone surrogate)."""
    import pyarrow as pa

    n = len(texts)
    joined = "".join(texts)
    if joined.isascii():
        # one byte per character: the lengths of the strings are those of their text
        data = joined.encode("ascii")
        sizes = texts
    else:
        try:
            sizes = [text.encode() for text in texts]
        except UnicodeEncodeError:
            return None
        data = b"".join(sizes)
    if len(data) >= 2**31:
        return None
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, sizes), dtype=np.int32, count=n), out=offsets[1:])
    validity, nulls = _validity(missing)
    return pa.Array.from_buffers(
        pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )


def _plain(schema: Any) -> Any:
    """``schema`` with dictionary columns as their value type."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema]
    )


def open_trace(
    path: str | Path, start: dt.date, header: dict[str, Any] | None = None
) -> JsonlTrace | ParquetTrace:
    """The trace sink for ``path``: columnar when it ends in ``.parquet``, JSON Lines otherwise."""
    if str(path).endswith(".parquet"):
        return ParquetTrace(path, start, header)
    return JsonlTrace(path, start, header)


def read_trace(path: str | Path, skip: Collection[str] = ()) -> list[dict[str, Any]]:
    """All events of a trace, as dictionaries (header and end included): the
    lines of a JSON Lines trace, or the rows of a Parquet trace in the order
    they happened, in the same shape. Events of the kinds in ``skip`` are
    left out (and, where the format allows, not even parsed)."""
    path = Path(path)
    skip = frozenset(skip)
    if path.is_dir():
        return _read_parquet_trace(path, skip)
    with open(path, encoding="utf-8") as fh:
        if not skip:
            return [json.loads(line) for line in fh if line.strip()]
        # the writers put the kind first: most skipped lines are never parsed
        prefixes = tuple('{"kind":' + json.dumps(kind) for kind in skip)
        rows = (json.loads(line) for line in fh if line.strip() and not line.startswith(prefixes))
        return [row for row in rows if row.get("kind") not in skip]


def parquet_trace_metadata(path: str | Path) -> dict[str, Any]:
    """The header and end record of a Parquet trace directory:
    ``{"header": {...}, "end": {...} or None}``, read from the footer of its
    files (or from the ``trace.json`` an earlier version wrote beside them)."""
    import pyarrow.parquet as pq

    path = Path(path)
    for file in sorted(path.glob("*.parquet")):
        meta = pq.read_metadata(file).metadata or {}
        raw = meta.get(META_KEY.encode())
        if raw is not None:
            return json.loads(raw)
    old = path / "trace.json"
    if old.exists():
        return json.loads(old.read_text(encoding="utf-8"))
    raise ValueError(f"{path}: not a normflow Parquet trace (no file carries its metadata)")


def _read_parquet_trace(path: Path, skip: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    from normflow.events import EVENT_BY_KIND

    meta = parquet_trace_metadata(path)
    # a plugin's declared kinds are described in the header: their fields
    # kept as JSON text are known without importing the plugin
    declared = (meta.get("header") or {}).get("event_kinds") or {}
    rows: list[tuple[int, dict[str, Any]]] = []
    for file in sorted(path.glob("*.parquet")):
        kind = file.name.removesuffix(".parquet")
        if kind in skip:
            continue
        cls = EVENT_BY_KIND.get(kind)
        if cls is not None:
            as_json = [f.name for f in attrs.fields(cls) if _arrow_type(f.type) is None]
        else:
            fields = (declared.get(kind) or {}).get("fields") or {}
            as_json = [name for name, kind_of in fields.items() if _arrow_type(kind_of) is None]
        for row in pq.read_table(file).to_pylist():
            seq = row.pop("seq")
            date = row.pop("date")
            row.pop("kind", None)
            for name in as_json:
                if row.get(name) is not None:
                    row[name] = json.loads(row[name])
            rows.append((seq, {"kind": kind, **row, "date": date.isoformat()}))
    rows.sort(key=lambda item: item[0])
    end = [meta["end"]] if meta.get("end") else []
    return [meta["header"], *(r for _, r in rows), *end]
