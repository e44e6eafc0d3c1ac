"""normflow: discrete-event simulation of how transnational advocacy
coalitions, local governments, legislatures and states turn information,
accountability and moral authority into policy change.

The public API, for users and plugin authors alike, is what this module
exports; everything else may change without notice.
"""

from normflow import events
from normflow.experiment import Experiment, ExperimentSpec, open_experiment, run_experiment, summarize
from normflow.hookspecs import hookimpl
from normflow.plugins import PluginError
from normflow.rng import Streams, replication_seeds
from normflow.scenario import Scenario, bundled_scenarios, load_scenario, loads_scenario
from normflow.schema import Dist, ScenarioError, param
from normflow.simulation import PluginRunError, RunResult, Simulation, simulate
from normflow.world import Channel, Decaying, World

__version__ = "0.1.0"

__all__ = [
    "Channel",
    "Decaying",
    "Dist",
    "Experiment",
    "ExperimentSpec",
    "PluginError",
    "PluginRunError",
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
    "replication_seeds",
    "run_experiment",
    "simulate",
    "summarize",
    "__version__",
]
