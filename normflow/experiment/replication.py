"""One replication, as a worker runs it: a ``Task`` (small) and the run's
``Shared`` data (sent once), turned into one row of the results table.
A failed run is a row with ``status = "failed"``, never an exception.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from normflow.errors import ExperimentError
from normflow.interventions import parse_interventions
from normflow.scenario import Scenario, loads_scenario, with_plugins


@attrs.frozen
class Task:
    """One replication, as sent to a worker (small; the scenario text travels
    separately so a cluster receives it once)."""

    cell: int
    replication: int
    params: tuple[tuple[str, Any], ...]
    scenario_file: str
    overrides: tuple[tuple[str, Any], ...]
    local_government_role: float
    seed: int
    spawn_key: tuple[int, ...]
    outputs: tuple[str, ...]
    interventions: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "replication": self.replication,
            **dict(self.params),
            "seed": self.seed,
            "spawn_key": ".".join(str(k) for k in self.spawn_key),
            "status": "ok",
            "error": None,
            "horizon_days": None,
        }


@attrs.frozen
class Shared:
    """What every task of a run shares, sent to each worker once (pool
    initializer, Dask scatter): the scenario text, plugin objects given by the caller,
    the plugins the driver loaded (a worker loading others would compute a
    different experiment) and the plugin-selection environment."""

    scenario_text: str
    plugins: tuple[Any, ...] = ()
    plugin_names: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    with_plugins: tuple[str, ...] = ()
    without_plugins: tuple[str, ...] = ()


PLUGIN_ENV = ("NORMFLOW_LOAD_PLUGINS", "NORMFLOW_DISABLE_PLUGIN_AUTOLOAD", "NORMFLOW_DISABLE_PLUGINS")


_scenarios: dict[str, Scenario] = {}


# the Shared object of the current run, kept alive with its plugin manager,
# so that an id is never reused while it is a key
_managers: dict[int, tuple[Shared, Any]] = {}


_pool_shared: Shared | None = None


def _scenario(text: str, task: Task) -> Scenario:
    key = hashlib.sha256(
        (text + json.dumps(task.overrides, sort_keys=True, default=str)).encode("utf-8")
    ).hexdigest()
    scenario = _scenarios.get(key)
    if scenario is None:
        if len(_scenarios) > 256:
            _scenarios.clear()
        scenario = _scenarios[key] = loads_scenario(
            text, file=task.scenario_file, overrides=dict(task.overrides)
        )
    return scenario


def _plugin_manager(shared: Shared) -> Any:
    """One plugin manager per run and worker: discovering entry points costs
    a sizeable share of a short run. Each executor hands a worker one Shared
    object per run (in process: the caller's; pool: the initializer's; Dask:
    the scattered one), so its identity marks the run and its plugin objects."""
    from normflow.plugins import get_plugin_manager

    entry = _managers.get(id(shared))
    if entry is None or entry[0] is not shared:
        if len(_managers) > 8:
            _managers.clear()
        entry = _managers[id(shared)] = (shared, get_plugin_manager(list(shared.plugins)))
    return entry[1]


def set_worker_shared(shared: Shared | None) -> None:
    """Give this process (a pool worker) the run's shared data, which
    ``run_replication`` uses when it is called without any."""
    global _pool_shared
    _pool_shared = shared


def run_replication(task: Task, shared: Shared | None = None) -> dict[str, Any]:
    """Run one replication and return its row. Never raises for a failed
    run: the row says ``status = "failed"`` and carries the error. Without
    ``shared``, the one a pool worker was started with is used."""
    from normflow.simulation import Simulation

    shared = shared or _pool_shared
    assert shared is not None, "run_replication needs the run's Shared data"
    row = task.identity()
    try:
        scenario = with_plugins(
            _scenario(shared.scenario_text, task), shared.with_plugins, shared.without_plugins
        )
        row["horizon_days"] = scenario.horizon
        seed = np.random.SeedSequence(task.seed, spawn_key=task.spawn_key)
        sim = Simulation(
            scenario,
            seed,
            plugin_manager=_plugin_manager(shared),
            local_government_role=task.local_government_role,
            interventions=parse_interventions(task.interventions),
        )
        loaded = tuple(sorted(sim.plugin_versions))
        if shared.plugin_names is not None and loaded != shared.plugin_names:
            raise ExperimentError(
                f"this worker loads the plugins {list(loaded)}, the experiment was planned with "
                f"{list(shared.plugin_names)} (install the same plugins on every worker)"
            )
        result = sim.run()
    except Exception as exc:
        row.update(status="failed", error=error_text(exc))
        return row
    row.update(outputs_of(result, scenario.horizon, task.outputs))
    return row


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def outputs_of(result: Any, horizon: float, outputs: Sequence[str]) -> dict[str, Any]:
    """A RunResult flattened into columns: ``<milestone>_days`` (the time it
    was reached, or the horizon if not), ``<milestone>_date``,
    ``<milestone>_censored``, ``final.*``, ``counts.*``, ``metrics.*``."""
    out: dict[str, Any] = {}
    if "milestones" in outputs:
        for name, t in result.milestones.items():
            out[f"{name}_days"] = horizon if t is None else float(t)
            out[f"{name}_date"] = result.date_of(t)
            out[f"{name}_censored"] = t is None
    if "final" in outputs:
        _flatten(result.final, "final", out)
    if "counts" in outputs:
        for kind, n in sorted(result.counts.items()):
            out[f"counts.{kind}"] = int(n)
    if "metrics" in outputs:
        _flatten(result.metrics, "metrics", out)
    return out


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}", out)
    elif isinstance(value, list | tuple):
        out[prefix] = json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, np.generic):
        out[prefix] = value.item()
    else:
        out[prefix] = value
