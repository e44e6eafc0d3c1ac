"""Tools for testing normflow and its plugins.

- ``check_invariants(lines, scenario)``: the rules every run keeps (time
  never goes back, events name actors that exist, quantities stay in range,
  bills and negotiations follow their life cycles).
- ``check_plugin(plugin)``: a plugin's conformance: hooks, config schema,
  runs on random scenarios, determinism, invariants.
- ``EventRecorder``: a plugin that records a run's events in memory.
- ``normflow.testing.strategies``: hypothesis strategies for scenarios
  (valid and invalid), actors, issues, events and pressure sequences.
- ``register_profiles`` / ``examples`` / ``budget``: a quick hypothesis profile for CI and
  a thorough one on demand.
- pytest fixtures ``normflow_simulation`` and ``event_recorder``, loaded
  automatically by pytest (``normflow.testing.pytest_plugin``).

``check_plugin``, the strategies and the profiles need hypothesis
(``pip install normflow[testing]``); they are imported on first use, so the
rest works without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from normflow.testing.invariants import InvariantViolation, actor_ids, check_invariants, invariant_violations
from normflow.testing.recorder import EventRecorder

if TYPE_CHECKING:
    from normflow.testing.conformance import ConformanceError, ConformanceReport, check_plugin
    from normflow.testing.profiles import budget, examples, register_profiles

__all__ = [
    "ConformanceError",
    "ConformanceReport",
    "EventRecorder",
    "InvariantViolation",
    "actor_ids",
    "budget",
    "check_invariants",
    "check_plugin",
    "examples",
    "invariant_violations",
    "register_profiles",
]

_LAZY = {
    "ConformanceError": "normflow.testing.conformance",
    "ConformanceReport": "normflow.testing.conformance",
    "check_plugin": "normflow.testing.conformance",
    "budget": "normflow.testing.profiles",
    "examples": "normflow.testing.profiles",
    "register_profiles": "normflow.testing.profiles",
}


def __getattr__(name: str) -> Any:
    # hypothesis is a test-time dependency: import what needs it on first use
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'normflow.testing' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
