"""What a running simulation offers the code that runs inside it.

The core processes and the plugins' hooks receive the running
``Simulation``; they are typed against this protocol instead, so that the
processes (model layer) and the hook specifications never import
``normflow.simulation`` (run layer), which imports them. ``Simulation`` is
the one implementation; a test double for a process needs only these
members.

The attributes are the run's state (the scenario, the world, the SimPy
environment, the bus, the counts); the methods are the public face of a
run: named random streams, pressure, policy change, milestones, metrics,
transition modifiers and the ids that let events name their causes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np

    from normflow.bus import Bus
    from normflow.clocks import FastEnvironment
    from normflow.scenario import Scenario
    from normflow.world import Channel, World

__all__ = ["RunContext"]


class RunContext(Protocol):
    """The members of ``normflow.Simulation`` that processes and plugins use."""

    scenario: Scenario
    world: World
    env: FastEnvironment
    bus: Bus
    tally: Counter[str]
    horizon: float
    plugin_versions: dict[str, str]
    latest_event: dict[Any, Any]

    def now(self) -> float: ...

    def enabled(self, process: str) -> bool: ...

    def mechanism_on(self, name: str) -> bool: ...

    def launch_time(self, issue: str, starts: str) -> float: ...

    def date(self, t: float | None = None) -> dt.date: ...

    def rng(self, name: str) -> np.random.Generator: ...

    def config(self, section: str) -> Any: ...

    def reach_milestone(self, name: str, t: float, label: str | None = None) -> None: ...

    def metric_add(self, name: str, amount: float) -> None: ...

    def modify_transition(self, name: str, probability: float, state: str, issue: str) -> float: ...

    def apply_pressure(
        self,
        t: float,
        source: str,
        target: str,
        issue: str,
        channel: str,
        nature: str,
        amount: float,
        *,
        foreign: bool = False,
        causes: tuple[int, ...] = (),
    ) -> float: ...

    def change_policy(
        self, t: float, state: str, issue: str, position: float, cause: str, causes: tuple[int, ...] = ()
    ) -> None: ...

    def new_event_id(self) -> int: ...

    def pressure_causes(self, state: str, issue: str) -> tuple[int, ...]: ...

    def pressure_by_channel(self, state: str, issue: str) -> dict[str, float]: ...

    def open_channel(self, channel: Channel) -> None: ...

    def spend(self, payer: str, amount: float, t: float | None = None) -> bool: ...
