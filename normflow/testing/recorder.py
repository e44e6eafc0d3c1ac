"""An event recorder: a plugin that keeps every event of a run in memory.

Handlers are fixed before a run starts, so the recorder is handed to the
simulation like any other plugin::

    recorder = EventRecorder()
    Simulation(scenario, seed, plugins=[my_plugin, recorder]).run()
    assert recorder.of(events.PhaseChanged)

Listening does not change a run: processes build events only when someone
listens, but building one draws no random number.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

from normflow import events as ev
from normflow.hookspecs import hookimpl

__all__ = ["EventRecorder"]

_serial = itertools.count(1)


class EventRecorder:
    """Records the events of the given classes (default: all of them)."""

    def __init__(self, *event_types: type[ev.Event]):
        self.event_types = event_types or (ev.Event,)
        self.events: list[ev.Event] = []
        # each recorder is a plugin of its own, so two can listen to one run
        self.normflow_plugin_name = f"event_recorder-{next(_serial)}"

    @hookimpl
    def normflow_register_handlers(
        self, sim: Any, register: Callable[[type, Callable[[Any], object]], None]
    ) -> None:
        for event_type in self.event_types:
            register(event_type, self.events.append)

    def of(self, *kinds: type[ev.Event] | str) -> list[ev.Event]:
        """The recorded events of the given classes or ``kind`` names."""
        return [e for e in self.events if any(_matches(e, k) for k in kinds)]

    def kinds(self) -> Counter[str]:
        """How many events of each kind were recorded."""
        return Counter(e.kind for e in self.events)

    def lines(self) -> list[dict[str, Any]]:
        """The events as trace lines (``Event.to_dict``), e.g. for ``check_invariants``."""
        return [e.to_dict() for e in self.events]

    def clear(self) -> None:
        self.events.clear()

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self):
        return iter(self.events)


def _matches(event: ev.Event, kind: type[ev.Event] | str) -> bool:
    return event.kind == kind if isinstance(kind, str) else isinstance(event, kind)
