"""Publish/subscribe for events, with dispatch tables fixed before the run.

Handlers subscribe to an event class (or a base class, to hear all its
subclasses) during setup; ``freeze`` then builds, per concrete class, the
tuple of callables to call. ``wants`` tells a process whether building an
event is worth it at all: nobody listening and no trace means no object.
``direct`` goes one step further for the hottest events: when the only
receivers of a class are sinks that can write rows from plain values (the
trace), it hands back a writer, and the process builds no object either.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import attrs

from normflow.deprecation import NormflowDeprecationWarning
from normflow.events import ALL_EVENTS, Event

Handler = Callable[[Event], object]


class FieldsHandler:
    """A handler that takes an event's field values (``t`` first, in the
    class's order) instead of the event object. A process whose event only
    such handlers and row-writing sinks hear builds no object at all
    (``Bus.direct``); when the object is built anyway, the handler gets its
    fields from it."""

    def __init__(self, fn: Callable[..., object]):
        self.fn = fn
        self._names: dict[type[Event], tuple[str, ...]] = {}
        self.arity = _positional_arity(fn)

    def __call__(self, event: Event) -> object:
        cls = type(event)
        names = self._names.get(cls)
        if names is None:
            names = self._names[cls] = tuple(f.name for f in attrs.fields(cls))[: self.arity]
        return self.fn(*[getattr(event, name) for name in names])

    def row_writer(self, cls: type[Event]) -> Callable[..., object]:
        arity, fn = self.arity, self.fn
        if arity is None or arity >= len(attrs.fields(cls)):
            return fn
        # a handler written before the class gained fields (they are added
        # last) gets the fields it names, and keeps working
        return lambda *values: fn(*values[:arity])


def _positional_arity(fn: Callable[..., object]) -> int | None:
    """How many positional arguments ``fn`` takes (None: any number)."""
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return None
    return sum(1 for p in params if p.kind in kinds)


class Bus:
    def __init__(self) -> None:
        self._subs: list[tuple[type[Event], Handler]] = []
        self._sinks: list[Handler] = []
        self._dispatch: dict[type[Event], tuple[Handler, ...]] = {}
        self._frozen = False

    def subscribe(self, event_type: type[Event], handler: Handler, *, fields: bool = False) -> None:
        """Call ``handler(event)`` for every event of ``event_type`` (or a
        subclass); with ``fields``, ``handler(t, *fields)`` instead
        (``FieldsHandler``)."""
        if fields:
            handler = FieldsHandler(handler)
        if self._frozen:
            raise RuntimeError("handlers are fixed once the run starts; subscribe during setup")
        if not (isinstance(event_type, type) and issubclass(event_type, Event)):
            raise TypeError(f"{event_type!r} is not an event class")
        self._subs.append((event_type, handler))

    def add_sink(self, sink: Handler) -> None:
        if self._frozen:
            raise RuntimeError("sinks are fixed once the run starts")
        self._sinks.append(sink)

    def freeze(self) -> None:
        self._frozen = True
        for cls in ALL_EVENTS:
            self._table(cls)

    def _table(self, cls: type[Event]) -> tuple[Handler, ...]:
        table = self._dispatch.get(cls)
        if table is None:
            table = tuple(h for t, h in self._subs if issubclass(cls, t)) + tuple(self._sinks)
            self._dispatch[cls] = table
        return table

    def wants(self, cls: type[Event]) -> bool:
        """True when publishing an event of this class would reach anyone."""
        table = self._dispatch.get(cls)
        return bool(table if table is not None else self._table(cls))

    def direct(self, cls: type[Event]) -> Callable[..., None] | None:
        """A function ``write(t, *fields)`` that delivers an event of class
        ``cls`` from its field values (in the class's order) when only sinks
        with a ``row_writer`` and handlers subscribed with ``fields`` receive
        that class; None when a handler listens that needs the object, or
        nobody does."""
        table = self._dispatch.get(cls)
        if table is None:
            table = self._table(cls)
        if not table or any(
            not isinstance(h, FieldsHandler) and (h not in self._sinks or not hasattr(h, "row_writer"))
            for h in table
        ):
            return None
        writers = [h.row_writer(cls) for h in table]  # type: ignore[attr-defined]
        if len(writers) == 1:
            return writers[0]
        if len(writers) == 2:
            # a handler and the trace, the common pair: no loop
            first, second = writers

            def write_both(*values: object) -> None:
                first(*values)
                second(*values)

            return write_both

        def write_all(*values: object) -> None:
            for write in writers:
                write(*values)

        return write_all

    def direct_columns(self, cls: type[Event], labels: dict[str, list[str]]) -> Callable[..., None] | None:
        """A function ``write(**columns)`` that delivers many events of class
        ``cls`` at once as columns (see ``ParquetTrace.column_writer``; fields
        in ``labels`` given as integer codes into those lists), when the only
        receiver of that class is one sink that takes columns; None otherwise.

        Deprecated (nothing in normflow calls it since contacts go to the trace
        a block at a time): use ``direct_blocks``; removed in normflow 0.3."""
        _deprecated("Bus.direct_columns", "Bus.direct_blocks")
        table = self._dispatch.get(cls)
        if table is None:
            table = self._table(cls)
        if len(table) != 1 or table[0] not in self._sinks or not hasattr(table[0], "column_writer"):
            return None
        sink = table[0]
        # normflow's traces without their own deprecation warning; another sink as it is
        return getattr(sink, "_column_writer", sink.column_writer)(cls, labels)  # type: ignore[attr-defined]

    def direct_coded(self, cls: type[Event], labels: dict[str, list[str]]) -> Callable[..., None] | None:
        """A function ``write(t, *fields)`` like ``direct``'s, in which the
        fields named in ``labels`` are integer codes into those lists (-1 for
        null), when the only receiver of that class is one sink that takes
        codes (``JsonlTrace.coded_writer``); None otherwise.

        Deprecated (nothing in normflow calls it since contacts go to the trace
        a block at a time): use ``direct_blocks``; removed in normflow 0.3."""
        _deprecated("Bus.direct_coded", "Bus.direct_blocks")
        table = self._dispatch.get(cls)
        if table is None:
            table = self._table(cls)
        if len(table) != 1 or table[0] not in self._sinks or not hasattr(table[0], "coded_writer"):
            return None
        sink = table[0]
        return getattr(sink, "_coded_writer", sink.coded_writer)(cls, labels)  # type: ignore[attr-defined]

    def direct_blocks(self, cls: type[Event], labels: dict[str, list[str]]) -> Any | None:
        """A block writer of class ``cls`` (``start(**columns)``,
        ``through(t)``, ``finish(n)``: see ``normflow.trace``) when the only
        receiver of that class is one sink that takes blocks of rows (either
        trace); None otherwise. A process that draws its events in blocks
        gives a block's rows as columns ahead of time, and the trace puts each
        row in its place among the other events by time."""
        table = self._dispatch.get(cls)
        if table is None:
            table = self._table(cls)
        if len(table) != 1 or table[0] not in self._sinks or not hasattr(table[0], "block_writer"):
            return None
        return table[0].block_writer(cls, labels)  # type: ignore[attr-defined]

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every handler subscribed to its class (or a base
        class) and to the trace."""
        cls = type(event)
        table = self._dispatch.get(cls)
        if table is None:
            table = self._table(cls)
        for handler in table:
            handler(event)


def _deprecated(name: str, instead: str) -> None:
    warnings.warn(
        f"{name} is deprecated; use {instead} instead ({name} will be removed in normflow 0.3)",
        NormflowDeprecationWarning,
        stacklevel=3,
    )
