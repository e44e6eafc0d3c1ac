"""pytest fixtures for testing normflow plugins.

Installed with normflow and loaded by pytest through the ``pytest11`` entry
point, so a plugin's test suite can use them without any import:

- ``normflow_simulation``: a factory ``make(scenario, seed=0, plugins=(),
  ...)`` that builds a ``Simulation`` from a bundled scenario name, a path,
  a TOML-like dictionary or a ``Scenario``. Installed plugins are not loaded
  unless you ask (``autoload=True``), so a test sees only the plugins it
  names. With ``trace=True`` the trace goes to the test's temporary
  directory as JSON Lines, ``trace-<n>.jsonl`` for the test's n-th
  simulation (``result.trace_path`` after the run; read it with
  ``normflow.read_trace``).
- ``event_recorder``: an ``EventRecorder`` plugin that hears every event;
  pass it in ``plugins=`` and read what it heard after the run.

This module imports nothing heavier than normflow itself, so loading it in
every pytest session of an environment costs nothing noticeable. Disable it
with ``pytest -p no:normflow``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from normflow.scenario import Scenario, load_scenario, scenario_from_dict
from normflow.simulation import Simulation
from normflow.testing.recorder import EventRecorder


def as_scenario(scenario: str | Path | Mapping[str, Any] | Scenario, overrides: dict[str, Any] | None = None):
    """A ``Scenario`` from a bundled name, a TOML path, plain data or itself."""
    if isinstance(scenario, Scenario):
        if overrides:
            raise ValueError("overrides apply to a scenario name, path or dictionary, not a Scenario")
        return scenario
    if isinstance(scenario, Mapping):
        return scenario_from_dict(dict(scenario), overrides=overrides)
    return load_scenario(scenario, overrides=overrides)


@pytest.fixture
def normflow_simulation(tmp_path: Path) -> Callable[..., Simulation]:
    """Build simulations: ``normflow_simulation("minimal", seed=3, plugins=[mine])``."""
    made = 0

    def make(
        scenario: str | Path | Mapping[str, Any] | Scenario = "minimal",
        seed: int = 0,
        *,
        plugins: Iterable[Any] = (),
        overrides: dict[str, Any] | None = None,
        autoload: bool = False,
        trace: bool | str | Path = False,
        **kwargs: Any,
    ) -> Simulation:
        nonlocal made
        made += 1
        if trace is True:
            trace = tmp_path / f"trace-{made}.jsonl"
        return Simulation(
            as_scenario(scenario, overrides),
            seed,
            plugins=list(plugins),
            autoload=autoload,
            trace=trace or None,
            **kwargs,
        )

    return make


@pytest.fixture
def event_recorder() -> EventRecorder:
    """A recorder of every event: pass it in ``plugins=``, run, then read
    ``event_recorder.events`` / ``.of(kind)`` / ``.kinds()``."""
    return EventRecorder()
