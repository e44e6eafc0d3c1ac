"""Experiments: many replications of a scenario over a parameter sweep, run
on a local process pool or a Dask cluster and stored as they finish.

An experiment is an ``ExperimentSpec`` (a TOML file, or built in Python): a
scenario, a number of replications, a base seed, fixed overrides and a
sweep. The sweep's cells are the full factorial of the listed values, times
the points of a Latin hypercube over continuous ranges. Each
(cell, replication) is one task whose seed is fixed by the plan alone, so
any executor and any number of workers produce the same rows. Rows reach a
``Store`` (``normflow.store``) as they arrive; ``resume=True`` computes only
the missing ones. Statistics of the table are in ``normflow.stats``.

Heavy libraries (pandas, pyarrow, scipy, dask, rich) are imported where they
are used, so ``import normflow`` and the rest of the command line stay fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import sys
import threading
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import click
import numpy as np

from normflow.scenario import Scenario, loads_scenario, resolve_scenario_path
from normflow.schema import ScenarioError, param, structure
from normflow.store import Store, StoreError

if TYPE_CHECKING:
    import pandas as pd

    from normflow.stats import Summary

__all__ = [
    "Experiment",
    "ExperimentError",
    "ExperimentSpec",
    "LatinHypercube",
    "Plan",
    "Progress",
    "load_spec",
    "make_plan",
    "open_experiment",
    "run_experiment",
    "spec_from_dict",
    "summarize",
]

Output = Literal["milestones", "final", "counts", "metrics"]
OUTPUTS: tuple[Output, ...] = ("milestones", "final", "counts", "metrics")
LG_ROLE = "local_government_role"
LG_ROLE_RANGE = (0.0, 10.0)


class ExperimentError(Exception):
    """An experiment cannot go on (a dead worker, an unreachable scheduler)."""


# -- the spec -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """TOML dates as ISO text and tuples as lists: the spec must be JSON for
    the manifest, and the scenario loader reads ISO dates anyway."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _dotted(table: dict[str, Any], section: str, leaf: Callable[[Any], bool]) -> dict[str, Any]:
    """``{"processes": {"agenda": {"stage_days": x}}}`` and
    ``{"processes.agenda.stage_days": x}`` are the same thing in TOML terms
    (unquoted vs quoted dotted keys); reduce both to dotted paths."""
    if not isinstance(table, dict):
        raise ScenarioError(section, table, "a table of PATH = value")
    out: dict[str, Any] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and not leaf(value):
                walk(value, path)
            else:
                out[path] = _plain(value)

    walk(table, "")
    return out


def _overrides_table(table: dict[str, Any]) -> dict[str, Any]:
    # a distribution table is a value, not a path
    return _dotted(table, "overrides", lambda v: "dist" in v)


def _sweep_table(table: dict[str, Any]) -> dict[str, Any]:
    out = _dotted(table, "sweep", lambda v: False)
    for key, values in out.items():
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"sweep.{key}", values, "a non-empty list of values, e.g. [15, 30, 60]")
    return out


def _ranges_table(table: dict[str, Any]) -> dict[str, Any]:
    out = _dotted(table, "latin_hypercube.ranges", lambda v: False)
    for key, bounds in out.items():
        ok = (
            isinstance(bounds, list)
            and len(bounds) == 2
            and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            and np.all(np.isfinite(bounds))
        )
        if not ok:
            raise ScenarioError(f"latin_hypercube.ranges.{key}", bounds, "[low, high], two numbers")
        if bounds[0] > bounds[1]:
            raise ScenarioError(f"latin_hypercube.ranges.{key}", bounds, "low <= high")
    return out


@attrs.frozen(kw_only=True)
class LatinHypercube:
    """``samples`` points spread over the ``ranges`` (scipy.stats.qmc)."""

    samples: int = param(low=1, high=1_000_000, doc="points of the design")
    ranges: dict[str, Any] = attrs.field(factory=dict, converter=_ranges_table)
    seed: int | None = param(None, low=0, doc="seed of the design (default: the experiment's seed)")


@attrs.frozen(kw_only=True)
class ExperimentSpec:
    """What to run. See docs/experiments.md for the TOML form."""

    scenario: str
    replications: int = param(10, low=1, high=10_000_000, doc="replications per cell")
    seed: int = param(0, low=0, high=2**63 - 1, doc="base seed of every replication's SeedSequence")
    seeds: Literal["common", "independent"] = "common"
    local_government_role: float = param(
        1.0, low=LG_ROLE_RANGE[0], high=LG_ROLE_RANGE[1], doc="scale of local governments' role"
    )
    outputs: tuple[Output, ...] = OUTPUTS
    overrides: dict[str, Any] = attrs.field(factory=dict, converter=_overrides_table)
    sweep: dict[str, Any] = attrs.field(factory=dict, converter=_sweep_table)
    latin_hypercube: LatinHypercube | None = None
    name: str | None = None
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = _plain(attrs.asdict(self, recurse=True))
        if data["latin_hypercube"] is None:
            del data["latin_hypercube"]
        return data


def spec_from_dict(data: dict[str, Any], file: str = "<spec>") -> ExperimentSpec:
    """Validate a spec given as plain data (e.g. parsed TOML)."""
    try:
        return structure(ExperimentSpec, _plain(data))
    except ScenarioError as exc:
        raise exc.with_file(file) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read an experiment spec file. A relative ``scenario`` path is taken
    relative to the spec file."""
    import tomllib

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError("", str(path), f"a readable UTF-8 file ({exc})", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", "<TOML>", f"valid TOML ({exc})", file=str(path)) from None
    spec = spec_from_dict(data, file=str(path))
    scen = Path(spec.scenario)
    if not _is_bundled(spec.scenario) and not scen.is_absolute() and (path.parent / scen).exists():
        spec = attrs.evolve(spec, scenario=str(path.parent / scen))
    return spec


def _is_bundled(name: str) -> bool:
    from normflow.scenario import bundled_scenarios

    return name in bundled_scenarios()


def spec_or_scenario(arg: str) -> ExperimentSpec:
    """The CLI's first argument: a spec file (its ``scenario`` is a string)
    or a scenario (a bundled name or a file with a ``[scenario]`` table)."""
    import tomllib

    if _is_bundled(arg):
        return ExperimentSpec(scenario=arg)
    path = Path(arg)
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            data = {}
        if isinstance(data.get("scenario"), str):
            return load_spec(path)
    resolve_scenario_path(arg)  # a clear error if it is neither
    return ExperimentSpec(scenario=arg)


# -- the plan: cells, seeds, tasks ------------------------------------------------


@attrs.frozen
class Plan:
    """A validated spec with its scenario text and the list of cells."""

    spec: ExperimentSpec
    scenario_text: str
    scenario_file: str
    scenario_name: str
    start: str
    parameters: tuple[str, ...]
    cells: tuple[dict[str, Any], ...]
    fingerprint: str

    def seed_of(self, cell: int, replication: int) -> tuple[int, ...]:
        """The spawn key of a replication's SeedSequence (entropy = the base seed)."""
        if self.spec.seeds == "common":
            return (replication,)
        return (cell, replication)

    def tasks(self, skip: set[tuple[int, int]] | None = None) -> list[Task]:
        """Every (cell, replication) not in ``skip``, replication-major so an
        interrupted run leaves the cells evenly filled."""
        skip = skip or set()
        s = self.spec
        out = []
        for k in range(s.replications):
            for c, cell in enumerate(self.cells):
                if (c, k) in skip:
                    continue
                out.append(
                    Task(
                        cell=c,
                        replication=k,
                        params=tuple(cell.items()),
                        scenario_file=self.scenario_file,
                        overrides=tuple(self.overrides_of(cell).items()),
                        local_government_role=float(cell.get(LG_ROLE, s.local_government_role)),
                        seed=s.seed,
                        spawn_key=self.seed_of(c, k),
                        outputs=s.outputs,
                    )
                )
        return out

    def overrides_of(self, cell: dict[str, Any]) -> dict[str, Any]:
        return {**self.spec.overrides, **{k: v for k, v in cell.items() if k != LG_ROLE}}


def make_plan(spec: ExperimentSpec, scenario_text: str | None = None, plugins: Sequence[Any] = ()) -> Plan:
    """Check the spec against its scenario and list the cells. Every swept
    value and every cell goes through the scenario loader, so a bad value is
    reported here, naming the spec entry, before anything runs."""
    # a spec built in Python has not been through the validator yet
    spec = spec_from_dict(spec.to_dict(), file="<spec>")
    if scenario_text is None:
        path = resolve_scenario_path(spec.scenario)
        try:
            scenario_text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError("scenario", str(path), f"a readable UTF-8 file ({exc})") from None
        scenario_file = str(path)
    else:
        scenario_file = spec.scenario
    _check_keys(spec)
    base = _load(scenario_text, scenario_file, spec.overrides, "overrides", spec.overrides)
    for key, values in spec.sweep.items():
        for i, value in enumerate(values):
            if key == LG_ROLE:
                _check_role(value, f"sweep.{key}[{i}]")
                continue
            _load(
                scenario_text,
                scenario_file,
                {**spec.overrides, key: value},
                f"sweep.{key}[{i}]",
                {key: value},
            )
    latin = spec.latin_hypercube.ranges if spec.latin_hypercube else {}
    for key, bounds in latin.items():
        if key != LG_ROLE:
            for i, bound in enumerate(bounds):
                where = f"latin_hypercube.ranges.{key}[{i}]"
                _load(scenario_text, scenario_file, {**spec.overrides, key: bound}, where, {key: bound})
    points = _latin_points(spec, plugins)
    factorial = [
        dict(zip(spec.sweep, combo, strict=True)) for combo in itertools.product(*spec.sweep.values())
    ]
    cells = tuple({**combo, **point} for combo in factorial for point in points)
    # with two or more parameters, values valid one by one may still clash
    for i, cell in enumerate(cells if len(spec.sweep) + len(latin) > 1 else ()):
        scenario_part = {k: v for k, v in cell.items() if k != LG_ROLE}
        if scenario_part:
            _load(
                scenario_text,
                scenario_file,
                {**spec.overrides, **scenario_part},
                f"sweep cell {i} ({_describe(cell)})",
                scenario_part,
            )
    parameters = tuple(spec.sweep) + tuple(latin)
    return Plan(
        spec=spec,
        scenario_text=scenario_text,
        scenario_file=scenario_file,
        scenario_name=base.name,
        start=base.start.isoformat(),
        parameters=parameters,
        cells=cells,
        fingerprint=fingerprint(spec, scenario_text),
    )


def fingerprint(spec: ExperimentSpec, scenario_text: str) -> str:
    """What identifies an experiment: the spec without its scenario's path
    and replication count (a store may grow), plus the scenario's text."""
    data = spec.to_dict()
    del data["scenario"], data["replications"]
    data["scenario_sha256"] = hashlib.sha256(scenario_text.encode("utf-8")).hexdigest()
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode("utf-8")).hexdigest()


def _check_keys(spec: ExperimentSpec) -> None:
    latin = spec.latin_hypercube.ranges if spec.latin_hypercube else {}
    if LG_ROLE in spec.overrides:
        raise ScenarioError(
            f"overrides.{LG_ROLE}",
            spec.overrides[LG_ROLE],
            f"'{LG_ROLE}' at the top level of the spec (it is not a scenario field)",
        )
    for a, b, keys in (("overrides", "sweep", spec.sweep), ("overrides", "latin_hypercube.ranges", latin)):
        for key in keys:
            if key in spec.overrides:
                raise ScenarioError(f"{b}.{key}", keys[key], f"a parameter not also fixed in [{a}]")
    for key in latin:
        if key in spec.sweep:
            raise ScenarioError(
                f"latin_hypercube.ranges.{key}", latin[key], "a parameter not also in [sweep]"
            )
        if key == LG_ROLE:
            for bound in latin[key]:
                _check_role(bound, f"latin_hypercube.ranges.{key}")


def _check_role(value: Any, where: str) -> None:
    low, high = LG_ROLE_RANGE
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise ScenarioError(where, value, f"a number in [{low:g}, {high:g}]")


def _load(text: str, file: str, overrides: dict[str, Any], where: str, blamed: dict[str, Any]) -> Scenario:
    try:
        return loads_scenario(text, file=file, overrides=overrides)
    except ScenarioError as exc:
        inner = exc.path or "<top>"
        if inner in blamed and len(blamed) == 1:
            raise ScenarioError(where, exc.value, f"{exc.expected} (as {inner} of {file})") from None
        raise ScenarioError(where, exc.value, f"{exc.expected} (at {inner} of {file})") from None


def _latin_points(spec: ExperimentSpec, plugins: Sequence[Any]) -> list[dict[str, Any]]:
    lhs = spec.latin_hypercube
    if lhs is None or not lhs.ranges:
        return [{}]
    from scipy.stats import qmc

    names = list(lhs.ranges)
    low = np.array([lhs.ranges[k][0] for k in names], dtype=float)
    high = np.array([lhs.ranges[k][1] for k in names], dtype=float)
    rng = np.random.default_rng(spec.seed if lhs.seed is None else lhs.seed)
    unit = qmc.LatinHypercube(d=len(names), rng=rng).random(lhs.samples)
    points = low + unit * (high - low)
    whole = [_schema_type(k, plugins) is int for k in names]
    return [
        {k: int(round(v)) if w else float(v) for k, v, w in zip(names, row, whole, strict=True)}
        for row in points
    ]


def _schema_type(path: str, plugins: Sequence[Any] = ()) -> Any:
    """The declared type of a scenario or plugin-section field given by a
    dotted path (None if the path leads to no declared field)."""
    keys = path.split(".")
    tp: Any = Scenario
    if keys[0] == "plugins" and len(keys) > 2:
        from normflow.plugins import config_sections, get_plugin_manager

        sections = config_sections(get_plugin_manager(list(plugins)))
        if keys[1] not in sections:
            return None
        tp, keys = sections[keys[1]][1], keys[2:]
    for key in keys:
        if not attrs.has(tp):
            return None
        hints = typing.get_type_hints(tp)
        if key not in hints:
            return None
        tp = hints[key]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1:
            tp = args[0]
    return tp


def _describe(cell: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in cell.items()) or "no parameters"


# -- one replication (runs in a worker) -----------------------------------------------


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


PLUGIN_ENV = ("NORMFLOW_LOAD_PLUGINS", "NORMFLOW_DISABLE_PLUGIN_AUTOLOAD")

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


def run_replication(task: Task, shared: Shared | None = None) -> dict[str, Any]:
    """Run one replication and return its row. Never raises for a failed
    run: the row says ``status = "failed"`` and carries the error. Without
    ``shared``, the one a pool worker was started with is used."""
    from normflow.simulation import Simulation

    shared = shared or _pool_shared
    assert shared is not None, "run_replication needs the run's Shared data"
    row = task.identity()
    try:
        scenario = _scenario(shared.scenario_text, task)
        row["horizon_days"] = scenario.horizon
        seed = np.random.SeedSequence(task.seed, spawn_key=task.spawn_key)
        sim = Simulation(
            scenario,
            seed,
            plugin_manager=_plugin_manager(shared),
            local_government_role=task.local_government_role,
        )
        loaded = tuple(sorted(sim.plugin_versions))
        if shared.plugin_names is not None and loaded != shared.plugin_names:
            raise ExperimentError(
                f"this worker loads the plugins {list(loaded)}, the experiment was planned with "
                f"{list(shared.plugin_names)} (install the same plugins on every worker)"
            )
        result = sim.run()
    except Exception as exc:
        row.update(status="failed", error=_error_text(exc))
        return row
    row.update(outputs_of(result, scenario.horizon, task.outputs))
    return row


def _error_text(exc: BaseException) -> str:
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


# -- executors: each yields rows as replications finish ------------------------------


def _rows_in_process(tasks: list[Task], shared: Shared) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield run_replication(task, shared)


def _mp_context() -> Any:
    """An explicit start method, never a global one: forkserver where the
    platform has it (fast, and safe with threads), spawn elsewhere."""
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return mp.get_context(method)


def _start_worker(env: tuple[tuple[str, str], ...], driver: Any, shared: Shared | None = None) -> None:
    """Pool workers receive the run's shared data once, take the driver's
    plugin selection ``env`` (a forkserver started earlier would hand them an
    older environment), and exit when the driver dies (killed, not shut
    down), so a killed experiment leaves no orphaned processes. ``driver`` is the read end of a pipe whose only write end the
    driver holds: reading it ends (EOF) exactly when the driver is gone. The
    parent process id would not do: a forkserver outlives the driver while
    its children live."""
    global _pool_shared
    _pool_shared = shared
    for key in PLUGIN_ENV:
        os.environ.pop(key, None)
    os.environ.update(dict(env))

    def watch() -> None:
        try:
            driver.recv()
        except (EOFError, OSError):
            pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def map_in_pool(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    workers: int,
    failed: Callable[[Any, BaseException], Any],
    *,
    shared: Shared | None = None,
) -> Iterator[Any]:
    """Yield ``fn(task)`` for each task as it finishes, in a process pool
    (forkserver or spawn; workers take the driver's plugin selection and leave
    with the driver), with at most ``2 * workers`` tasks in flight so memory
    stays flat. A result that cannot come back (e.g. unpicklable) yields
    ``failed(task, exc)``; a dead worker raises ``ExperimentError``."""
    import concurrent.futures as cf
    from concurrent.futures.process import BrokenProcessPool

    ctx = _mp_context()
    alive_r, alive_w = ctx.Pipe(duplex=False)
    env = (
        shared.env if shared is not None else tuple((k, os.environ[k]) for k in PLUGIN_ENV if k in os.environ)
    )
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_start_worker, initargs=(env, alive_r, shared)
    )
    todo = iter(tasks)
    pending: dict[cf.Future[Any], Any] = {}
    finished = False

    def fill() -> None:
        while len(pending) < 2 * workers:
            task = next(todo, None)
            if task is None:
                return
            pending[pool.submit(fn, task)] = task

    try:
        fill()
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                task = pending.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    raise ExperimentError(
                        "a worker process died (killed, out of memory, or, in a script, the "
                        "`if __name__ == '__main__':` guard is missing); the finished replications are stored"
                    ) from None
                except Exception as exc:
                    result = failed(task, exc)
                yield result
            fill()
        finished = True
    finally:
        pool.shutdown(wait=finished, cancel_futures=True)
        alive_r.close()
        alive_w.close()


def _rows_from_pool(tasks: list[Task], shared: Shared, workers: int) -> Iterator[dict[str, Any]]:
    return map_in_pool(
        run_replication,
        tasks,
        workers,
        lambda task, exc: {**task.identity(), "status": "failed", "error": _error_text(exc)},
        shared=shared,
    )


def _rows_from_dask(
    tasks: list[Task], shared: Shared, scheduler: Any, workers: int
) -> Iterator[dict[str, Any]]:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ExperimentError(
            "--scheduler needs dask and distributed: pip install 'normflow[dask]'"
        ) from None
    import logging

    cluster = None
    own = True
    if isinstance(scheduler, str) and scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    elif isinstance(scheduler, str):
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ExperimentError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
    else:
        client, own = scheduler, False
    futures = []
    try:
        # the scenario text goes to the cluster once, not once per task
        [shared_future] = client.scatter([shared], broadcast=True)
        futures = client.map(run_replication, tasks, shared=shared_future, pure=False)
        task_of = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except Exception as exc:  # a worker lost (KilledWorker) is recorded, not fatal
                row = {**task_of[fut.key].identity(), "status": "failed", "error": _error_text(exc)}
            yield row
    finally:
        if futures:
            client.cancel(futures)
        if own:
            client.close()
        if cluster is not None:
            cluster.close()


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# -- progress -------------------------------------------------------------------------


@attrs.define
class Progress:
    """What a progress callback receives after each finished replication."""

    done: int
    total: int
    failed: int
    computed: int
    elapsed: float


class _RichProgress:
    """A progress bar on stderr: done/total, rate, time left, failures.
    Without a terminal it stays silent; the caller prints a final line."""

    def __init__(self, description: str):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self.console = Console(stderr=True)
        self.bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("elapsed,"),
            TimeRemainingColumn(),
            TextColumn("left,"),
            TextColumn("{task.fields[failed]}"),
            console=self.console,
            disable=not self.console.is_terminal,
            transient=False,
        )
        self.description = description
        self.task: Any = None

    def __call__(self, p: Progress) -> None:
        rate = f"{p.computed / p.elapsed:.1f}/s" if p.elapsed > 0 and p.computed else "-/s"
        failed = f"[red]{p.failed} failed[/red]" if p.failed else "0 failed"
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=p.total, rate=rate, failed=failed)
        self.bar.update(self.task, completed=p.done, rate=rate, failed=failed)

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()


# -- running ------------------------------------------------------------------------


class Experiment:
    """A stored experiment: its spec, its cells, its table."""

    def __init__(self, directory: str | Path, computed: int = 0, wall_seconds: float = 0.0):
        self.store = Store(directory)
        self.manifest = self.store.read_manifest()
        self.computed = computed
        self.wall_seconds = wall_seconds

    @property
    def directory(self) -> Path:
        return self.store.dir

    @property
    def spec(self) -> ExperimentSpec:
        return spec_from_dict(self.manifest["spec"], file=str(self.store.manifest_path))

    @property
    def parameters(self) -> list[str]:
        return list(self.manifest["parameters"])

    @property
    def total(self) -> int:
        return len(self.manifest["cells"]) * int(self.manifest["spec"]["replications"])

    def cells(self) -> pd.DataFrame:
        """One row per sweep cell: its index and parameter values."""
        import pandas as pd

        rows = [{"cell": c["cell"], **c["params"]} for c in self.manifest["cells"]]
        return pd.DataFrame(rows, columns=["cell", *self.parameters])

    def results(self) -> pd.DataFrame:
        """One row per stored replication, sorted by cell and replication."""
        return self.store.table()

    def missing(self) -> list[tuple[int, int]]:
        done = self.store.done()
        reps = int(self.manifest["spec"]["replications"])
        return [(c, k) for k in range(reps) for c in range(len(self.manifest["cells"])) if (c, k) not in done]

    def summary(self, **options: Any) -> Summary:
        from normflow.stats import summarize as summarize_table

        return summarize_table(
            self.results(),
            parameters=self.parameters,
            start=self.manifest["scenario"]["start"],
            about=self._about(),
            **options,
        )

    def _about(self) -> dict[str, Any]:
        spec = self.manifest["spec"]
        return {
            "scenario": self.manifest["scenario"]["name"],
            "fingerprint": self.manifest["fingerprint"],
            "seed": spec["seed"],
            "seeds": spec["seeds"],
            "replications": spec["replications"],
            "cells": len(self.manifest["cells"]),
            "parameters": self.parameters,
        }

    def __repr__(self) -> str:
        return f"Experiment({str(self.directory)!r}, {self.total - len(self.missing())}/{self.total} stored)"


def open_experiment(directory: str | Path) -> Experiment:
    """The experiment stored in ``directory``."""
    return Experiment(directory)


def summarize(source: str | Path | Experiment | pd.DataFrame, **options: Any) -> Summary:
    """Statistics of an experiment (a directory, an ``Experiment`` or a table)."""
    if isinstance(source, str | Path):
        return open_experiment(source).summary(**options)
    if isinstance(source, Experiment):
        return source.summary(**options)
    from normflow.stats import summarize as summarize_table

    return summarize_table(source, **options)


def _apply_changes(
    spec: ExperimentSpec,
    replications: int | None,
    seed: int | None,
    sweep: dict[str, Sequence[Any]] | None,
    overrides: dict[str, Any] | None,
) -> ExperimentSpec:
    if replications is None and seed is None and not sweep and not overrides:
        return spec
    data = spec.to_dict()
    if replications is not None:
        data["replications"] = replications
    if seed is not None:
        data["seed"] = seed
    if sweep:
        data["sweep"] = {**data["sweep"], **{k: list(v) for k, v in sweep.items()}}
    if overrides:
        data["overrides"] = {**data["overrides"], **overrides}
    return spec_from_dict(data, file="<command line>")


def _resume_conflict(stored: dict[str, Any], plan: Plan) -> str | None:
    if stored["fingerprint"] == plan.fingerprint:
        return None
    if stored["scenario"]["sha256"] != _sha(plan.scenario_text):
        return f"the scenario {plan.scenario_file} changed since the experiment started"
    now = plan.spec.to_dict()
    before = stored["spec"]
    diffs = [
        f"{k}: {json.dumps(before.get(k))} stored, {json.dumps(now.get(k))} now"
        for k in sorted(set(now) | set(before))
        if k not in ("scenario", "replications") and before.get(k) != now.get(k)
    ]
    return "; ".join(diffs) or "the spec differs"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_experiment(
    spec: ExperimentSpec | str | Path | None = None,
    out: str | Path | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    sweep: dict[str, Sequence[Any]] | None = None,
    overrides: dict[str, Any] | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    retry_failed: bool = False,
    csv: bool = False,
    plugins: Sequence[Any] = (),
    progress: bool | Callable[[Progress], None] = False,
) -> Experiment:
    """Run (or continue) an experiment and return it once every replication
    is stored.

    ``spec`` is an ``ExperimentSpec``, a spec file, or a scenario (name or
    file); the keyword arguments change it. ``workers=1`` runs in this
    process; more use a process pool (default: all cores). ``scheduler`` is
    a Dask scheduler address, ``"local"`` for a LocalCluster on loopback, or
    a ``distributed.Client``. With ``resume=True`` the experiment already in
    ``out`` continues (``spec`` may then be omitted) and only missing
    replications are computed; ``retry_failed`` computes failed ones again.
    ``plugins`` are plugin objects given to every run (they must be
    picklable for a pool or a cluster). Interrupting (Ctrl-C) keeps every
    finished replication.
    """
    began = time.perf_counter()
    stored: dict[str, Any] | None = None
    if spec is None:
        if not (resume and out is not None):
            raise ValueError("run_experiment needs a spec, or resume=True and the directory (out=...)")
        stored = Store(out).read_manifest()
        base = spec_from_dict(stored["spec"], file=str(Store(out).manifest_path))
        plan = make_plan(
            _apply_changes(base, replications, seed, sweep, overrides),
            scenario_text=stored["scenario"]["text"],
            plugins=plugins,
        )
    else:
        if isinstance(spec, str | Path):
            spec = spec_or_scenario(str(spec))
        plan = make_plan(_apply_changes(spec, replications, seed, sweep, overrides), plugins=plugins)
    store = Store(
        out if out is not None else Path("experiments") / f"{plan.scenario_name}-{plan.fingerprint[:8]}"
    )
    if resume and store.exists():
        stored = stored or store.read_manifest()
        conflict = _resume_conflict(stored, plan)
        if conflict:
            raise StoreError(f"{store.dir} holds a different experiment ({conflict}); use another --out")
        if plan.spec.replications < stored["spec"]["replications"]:
            raise StoreError(
                f"{store.dir} holds {stored['spec']['replications']} replications per cell; "
                f"asking for {plan.spec.replications} would leave some out"
            )
    else:
        store.check_fresh()
    store.dir.mkdir(parents=True, exist_ok=True)
    store.acquire()
    try:
        store.clean_temporary()
        done = store.done()
        if retry_failed:
            failed = [(row["cell"], row["replication"]) for row in store.rows() if row["status"] == "failed"]
            store.forget(failed)
            for key in failed:
                done.discard(key)
        tasks = plan.tasks(skip=done)
        versions = _preflight(plan, plugins) if tasks else (stored or {}).get("plugins", {})
        before = stored.get("plugins", versions) if stored is not None else versions
        # rows computed under another plugin set belong to another experiment;
        # a retry of failed rows usually follows a fix, so a new version may do
        changed = set(versions) != set(before) if retry_failed else versions != before
        if done and tasks and changed:
            raise StoreError(
                f"{store.dir} was computed with the plugins {_versions_text(stored['plugins'])}; "
                f"now {_versions_text(versions)} are loaded. Load the same ones "
                "(NORMFLOW_LOAD_PLUGINS) to continue it, or use another --out"
            )
        store.write_manifest(_manifest(plan, versions))
        shared = Shared(
            scenario_text=plan.scenario_text,
            plugins=tuple(plugins),
            plugin_names=tuple(sorted(versions)),
            env=tuple((k, os.environ[k]) for k in PLUGIN_ENV if k in os.environ),
        )
        computed = _execute(store, plan, tasks, len(done), workers, scheduler, shared, progress)
        store.compact(csv=csv)
    finally:
        store.release()
    return Experiment(store.dir, computed=computed, wall_seconds=time.perf_counter() - began)


def _versions_text(versions: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "none"


def _preflight(plan: Plan, plugins: Sequence[Any]) -> dict[str, str]:
    """Build (not run) the first cell's simulation here, so a missing plugin
    or a bad plugin section is one clear error, not a table of failures."""
    from normflow.simulation import Simulation

    cell = plan.cells[0]
    scenario = loads_scenario(plan.scenario_text, file=plan.scenario_file, overrides=plan.overrides_of(cell))
    sim = Simulation(
        scenario,
        np.random.SeedSequence(plan.spec.seed, spawn_key=plan.seed_of(0, 0)),
        plugins=list(plugins),
        local_government_role=float(cell.get(LG_ROLE, plan.spec.local_government_role)),
    )
    return dict(sorted(sim.plugin_versions.items()))


def _manifest(plan: Plan, plugin_versions: dict[str, str]) -> dict[str, Any]:
    from normflow import __version__

    return {
        "normflow": __version__,
        "fingerprint": plan.fingerprint,
        "spec": plan.spec.to_dict(),
        "scenario": {
            "name": plan.scenario_name,
            "file": plan.scenario_file,
            "start": plan.start,
            "sha256": _sha(plan.scenario_text),
            "text": plan.scenario_text,
        },
        "parameters": list(plan.parameters),
        "cells": [{"cell": i, "params": cell} for i, cell in enumerate(plan.cells)],
        "plugins": plugin_versions,
    }


def _execute(
    store: Store,
    plan: Plan,
    tasks: list[Task],
    already: int,
    workers: int | None,
    scheduler: Any,
    shared: Shared,
    progress: bool | Callable[[Progress], None],
) -> int:
    began = time.perf_counter()
    total = already + len(tasks)
    n_workers = max(1, min(workers or default_workers(), len(tasks) or 1))
    if scheduler is not None and tasks:
        rows = _rows_from_dask(tasks, shared, scheduler, workers or default_workers())
    elif n_workers == 1:
        rows = _rows_in_process(tasks, shared)
    else:
        rows = _rows_from_pool(tasks, shared, n_workers)
    bar: _RichProgress | None = None
    report: Callable[[Progress], None] | None
    if progress is True:
        bar = _RichProgress(f"{plan.scenario_name}")
        report = bar
    else:
        report = progress or None
    failed = sum(1 for row in store.rows() if row.get("status") == "failed") if already else 0
    computed = 0
    try:
        if report:
            report(Progress(already, total, failed, 0, 0.0))
        for row in rows:
            store.write_row(row)
            computed += 1
            failed += row["status"] != "ok"
            if report:
                report(Progress(already + computed, total, failed, computed, time.perf_counter() - began))
    finally:
        rows.close()
        if bar is not None:
            bar.close()
    return computed


# -- command line ---------------------------------------------------------------------


def _split_values(text: str) -> list[str]:
    """``a,b,[1,2],"x,y"`` -> four values: commas inside brackets or quotes stay."""
    out, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [v for v in out if v]


def _parse_sweep(items: tuple[str, ...]) -> dict[str, list[Any]]:
    from normflow.cli import parse_value

    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not _split_values(values):
            raise click.BadParameter(
                f"'{item}': expected PATH=V1,V2,..., e.g. processes.agenda.stage_days=15,30,60",
                param_hint="--sweep",
            )
        out[key.strip()] = [parse_value(v) for v in _split_values(values)]
    return out


@click.group("experiment")
def experiment_cli() -> None:
    """Replications and parameter sweeps, stored on disk as they finish."""


@experiment_cli.command("run")
@click.argument("spec", required=False, metavar="[SPEC|SCENARIO]")
@click.option("--replications", "-n", type=click.IntRange(1), help="Replications per sweep cell.")
@click.option(
    "--seed", type=click.IntRange(0, 2**63 - 1), help="Base seed (replication k uses its k-th child)."
)
@click.option(
    "--sweep",
    multiple=True,
    metavar="PATH=V1,V2,...",
    help="Sweep a scenario field (or local_government_role) over values; repeat for a full factorial.",
)
@click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE", help="Fix a scenario field.")
@click.option(
    "--workers", type=click.IntRange(1), help="Worker processes (default: all cores; 1 = in process)."
)
@click.option("--scheduler", metavar="ADDRESS", help="Run on a Dask cluster at ADDRESS ('local' starts one).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Output directory (default: experiments/<scenario>-<fingerprint>).",
)
@click.option(
    "--resume", is_flag=True, help="Continue the experiment in --out; compute only what is missing."
)
@click.option("--retry-failed", is_flag=True, help="With --resume, compute failed replications again.")
@click.option("--csv", is_flag=True, help="Also write results.csv.")
def run_command(
    spec: str | None,
    replications: int | None,
    seed: int | None,
    sweep: tuple[str, ...],
    overrides: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    out: str | None,
    resume: bool,
    retry_failed: bool,
    csv: bool,
) -> None:
    """Run SPEC (an experiment file) or SCENARIO (a bundled name or a file)
    many times, over a sweep, and store one row per replication."""
    from normflow.cli import fail, parse_overrides

    if spec is None and not (resume and out):
        fail("give a SPEC or SCENARIO, or --resume with --out DIR")
    if retry_failed and not resume:
        fail("--retry-failed only makes sense with --resume")
    began = time.perf_counter()
    target = out
    try:
        experiment = run_experiment(
            spec,
            out,
            replications=replications,
            seed=seed,
            sweep=_parse_sweep(sweep),
            overrides=parse_overrides(overrides),
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            retry_failed=retry_failed,
            csv=csv,
            progress=True,
        )
    except (StoreError, ExperimentError) as exc:
        fail(str(exc), 1 if isinstance(exc, ExperimentError) else 2)
        return
    except KeyboardInterrupt:
        where = f" --out {target}" if target else ""
        fail(
            f"interrupted; finished replications are stored. Continue with: normflow experiment run{where} --resume",
            130,
        )
        return
    wall = time.perf_counter() - began
    table = experiment.results()
    failed = int((table["status"] != "ok").sum()) if len(table) else 0
    rate = experiment.computed / wall if wall > 0 else 0.0
    click.echo(
        f"{len(table)} replications stored ({failed} failed, {experiment.computed} computed now) "
        f"in {wall:.1f} s ({rate:.1f}/s)",
        err=True,
    )
    click.echo(str(experiment.directory))


@experiment_cli.command("summarize")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stable: sorted keys, rounded).")
@click.option("--curves", is_flag=True, help="Include the Kaplan-Meier curves in the JSON.")
def summarize_command(directory: str, as_json: bool, curves: bool) -> None:
    """Per-cell means with 95% intervals, shares, and time to each milestone."""
    from normflow.cli import fail

    try:
        summary = summarize(directory)
    except StoreError as exc:
        fail(str(exc))
        return
    if as_json:
        click.echo(summary.to_json(curves=curves))
        return
    summary.print(file=sys.stdout)
