"""normflow: discrete-event simulation of how transnational advocacy
coalitions, local governments, legislatures and states turn information,
accountability and moral authority into policy change.

The public API, for users and plugin authors alike, is what this module
exports; everything else may change without notice.
"""

import os as _os
import sys as _sys
from typing import TYPE_CHECKING, Any

# numpy's bundled OpenBLAS starts its worker threads when numpy is imported,
# and each spins on the CPU, waiting for work, for 2**28 clock cycles (about
# 0.1 s) before it first sleeps: 30-75 ms of process CPU, by the machine's
# load, in every process, for threads a run never uses. 2**20 cycles (under a
# millisecond) still keeps them awake between the calls of one computation.
# It changes when idle threads sleep, never what they compute or how many there
# are; it takes effect only if normflow is imported before numpy, and a value
# the user set stays (docs/performance-history.md, "Start-up, eighth round").
if "numpy" not in _sys.modules:
    _os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "20")

from normflow.codecache import cached_attrs_methods  # noqa: E402

# attrs compiles the methods of normflow's classes once per install, not once
# per process (normflow/codecache.py)
with cached_attrs_methods():
    from normflow.deprecation import NormflowDeprecationWarning
    from normflow.rng import Streams, replication_seeds
    from normflow.scenario import Scenario, bundled_scenarios, load_scenario, loads_scenario
    from normflow.schema import Dist, ScenarioError, param
    from normflow.version import __version__
    from normflow.world import Channel, Decaying, World

if TYPE_CHECKING:
    from normflow import events
    from normflow.experiment import Experiment, ExperimentSpec, open_experiment, run_experiment, summarize
    from normflow.hookspecs import hookimpl
    from normflow.plugins import PluginError
    from normflow.simulation import PluginRunError, RunInputError, RunResult, Simulation, simulate
    from normflow.trace import read_trace

#: Names exported here but imported on first use: ``import normflow`` loads
#: only what a run needs (``tests/test_startup.py`` guards it), and the
#: experiment machinery (pandas, pyarrow, the process pool) comes when asked for;
#: so does the trace module (its writers and ``json``), which only a traced run
#: or a reader of traces needs, and the plugin machinery (pluggy), which comes
#: with a run's set-up or a plugin's ``normflow.hookimpl``.
_LAZY = {
    "hookimpl": "normflow.hookspecs",
    "PluginError": "normflow.plugins",
    "read_trace": "normflow.trace",
    "PluginRunError": "normflow.simulation",
    "RunInputError": "normflow.simulation",
    "RunResult": "normflow.simulation",
    "Simulation": "normflow.simulation",
    "simulate": "normflow.simulation",
    "Experiment": "normflow.experiment",
    "ExperimentSpec": "normflow.experiment",
    "open_experiment": "normflow.experiment",
    "run_experiment": "normflow.experiment",
    "summarize": "normflow.experiment",
}


#: Submodules that ``import normflow`` used to load and no longer does: still
#: reachable as ``normflow.<name>`` without importing them first. The event
#: classes come with the first run, trace, listener or ``normflow.events``,
#: however that module is imported, through the code cache (``_event`` there).
_LAZY_MODULES = {"events", "trace"}


def __getattr__(name: str) -> Any:
    import importlib

    module = _LAZY.get(name)
    if module is None:
        if name in _LAZY_MODULES:
            with cached_attrs_methods():
                return importlib.import_module(f"normflow.{name}")
        raise AttributeError(f"module 'normflow' has no attribute {name!r}")
    with cached_attrs_methods():
        value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _LAZY_MODULES)


__all__ = [
    "Channel",
    "Decaying",
    "Dist",
    "Experiment",
    "ExperimentSpec",
    "NormflowDeprecationWarning",
    "PluginError",
    "PluginRunError",
    "RunInputError",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "Streams",
    "World",
    "bundled_scenarios",
    "events",
    "hookimpl",
    "load_scenario",
    "loads_scenario",
    "open_experiment",
    "param",
    "read_trace",
    "replication_seeds",
    "run_experiment",
    "simulate",
    "summarize",
    "__version__",
]
