"""Running the designs: every (scenario, arm) once as a job of paired
replications, stored as they finish (one store per arm under
``OUT/runs/<scenario>/<version>/<arm>``), then analysed and written as
tables and plots.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from normflow.events import AgendaPlaced
from normflow.hookspecs import hookimpl
from normflow.hypotheses.arms import Arm
from normflow.hypotheses.cases import ALL_SCENARIOS
from normflow.hypotheses.design import Design, HypothesisResult
from normflow.hypotheses.designs import resolve
from normflow.scenario import loads_scenario, resolve_scenario_path
from normflow.schema import ScenarioError
from normflow.store import Store, StoreError

if TYPE_CHECKING:
    import pandas as pd

    from normflow.scenario import Scenario


class _AgendaByIssue:
    """Records ``agenda_placed:<issue>``: the core's ``agenda_placed`` is
    the first agenda in any state, and a scenario with one campaign per
    state needs each state's own."""

    normflow_plugin_name = "hypotheses"
    __version__ = "builtin"

    @hookimpl
    def normflow_register_milestones(self, sim: Any, register: Callable[[str], None]) -> None:
        if any(st.legislature is not None for st in sim.scenario.states):
            for issue in sim.world.issues:
                register(f"agenda_placed:{issue.id}")

    @hookimpl
    def normflow_register_handlers(self, sim: Any, register: Callable[..., None]) -> None:
        register(AgendaPlaced, lambda e: sim.reach_milestone(f"agenda_placed:{e.issue}", e.t))


@attrs.frozen
class Job:
    """One scenario under one arm: a store of replications."""

    scenario: str
    arm: Arm
    text: str
    file: str
    overrides: tuple[tuple[str, Any], ...]
    directory: Path
    fingerprint: str


@attrs.frozen
class Task:
    """One replication of one job, as sent to a worker."""

    job: int
    replication: int
    seed: int
    text: str
    file: str
    overrides: tuple[tuple[str, Any], ...]
    arm: Arm
    plugins: tuple[str, ...]

    def identity(self) -> dict[str, Any]:
        return {
            "cell": 0,
            "replication": self.replication,
            "seed": self.seed,
            "spawn_key": str(self.replication),
            "status": "ok",
            "error": None,
            "horizon_days": None,
        }


_scenarios: dict[str, Scenario] = {}


_managers: dict[tuple[str | None, ...], Any] = {}


def _scenario_of(text: str, file: str, overrides: tuple[tuple[str, Any], ...]) -> Scenario:
    key = hashlib.sha256((text + json.dumps(overrides, default=str)).encode("utf-8")).hexdigest()
    if key not in _scenarios:
        if len(_scenarios) > 64:
            _scenarios.clear()
        _scenarios[key] = loads_scenario(text, file=file, overrides=dict(overrides))
    return _scenarios[key]


def _plugin_manager() -> Any:
    from normflow.experiment.replication import PLUGIN_ENV
    from normflow.plugins import get_plugin_manager

    key = tuple(os.environ.get(k) for k in PLUGIN_ENV)
    if key not in _managers:
        _managers[key] = get_plugin_manager([_AgendaByIssue()])
    return _managers[key]


def simulation_of(scenario: Scenario, arm: Arm, replication: int, seed: int) -> Any:
    from normflow.simulation import Simulation

    return Simulation(
        scenario,
        np.random.SeedSequence(seed, spawn_key=(replication,)),
        plugin_manager=_plugin_manager(),
        local_government_role=arm.local_government_role,
        interventions=arm.interventions,
    )


def run_task(task: Task) -> tuple[int, dict[str, Any]]:
    """Run one replication; a failure becomes a row with ``status = "failed"``."""
    from normflow.experiment.replication import outputs_of
    from normflow.experiment.spec import OUTPUTS

    row = task.identity()
    try:
        scenario = _scenario_of(task.text, task.file, task.overrides)
        row["horizon_days"] = scenario.horizon
        sim = simulation_of(scenario, task.arm, task.replication, task.seed)
        loaded = tuple(sorted(sim.plugin_versions))
        if loaded != task.plugins:
            raise RuntimeError(
                f"this worker loads the plugins {list(loaded)}, planned with {list(task.plugins)}"
            )
        result = sim.run()
    except Exception as exc:
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return task.job, row
    row.update(outputs_of(result, scenario.horizon, OUTPUTS))
    return task.job, row


def _rows_in_process(tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
    for task in tasks:
        yield run_task(task)


def _rows_from_pool(tasks: list[Task], workers: int) -> Iterator[tuple[int, dict[str, Any]]]:
    from normflow.experiment.executors import map_in_pool

    return map_in_pool(
        run_task,
        tasks,
        workers,
        lambda task, exc: (
            task.job,
            {**task.identity(), "status": "failed", "error": f"{type(exc).__name__}: {exc}"},
        ),
    )


def _version(text: str, overrides: tuple[tuple[str, Any], ...], seed: int) -> str:
    """Names the runs of one scenario text, overrides and seed: a recalibrated
    scenario or another seed gets new stores beside the old ones."""
    data = json.dumps([text, [[k, v] for k, v in overrides], seed], default=str)
    return f"seed{seed}-" + hashlib.sha256(data.encode("utf-8")).hexdigest()[:10]


def _fingerprint(text: str, overrides: tuple[tuple[str, Any], ...], arm: Arm, seed: int) -> str:
    data = {
        "scenario_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "overrides": [[k, v] for k, v in overrides],
        "arm": arm.to_dict(),
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def plan_of(designs: list[Design], scenarios: Sequence[str] | None) -> dict[str, list[str]]:
    """Per design, the scenarios it runs on (restricted to ``scenarios``)."""
    wanted = set(scenarios) if scenarios is not None else None
    if wanted is not None:
        unknown = wanted - set(ALL_SCENARIOS)
        if unknown:
            raise ScenarioError(
                "--scenario",
                sorted(unknown)[0],
                f"one of the scenarios the designs use ({', '.join(ALL_SCENARIOS)})",
            )
    return {d.key: [s for s in d.scenarios if wanted is None or s in wanted] for d in designs}


def texts_of(plan: dict[str, list[str]]) -> dict[str, tuple[str, str]]:
    """Each planned scenario's text and file."""
    texts: dict[str, tuple[str, str]] = {}
    for name in sorted({s for names in plan.values() for s in names}):
        path = resolve_scenario_path(name)
        texts[name] = (path.read_text(encoding="utf-8"), str(path))
    return texts


def add_jobs(
    jobs: dict[tuple[Any, ...], Job],
    designs: list[Design],
    plan: dict[str, list[str]],
    texts: dict[str, tuple[str, str]],
    overrides_of: Callable[[str], dict[str, Any]],
    seed: int,
    root: Path,
    tag: Any = None,
) -> None:
    """Add every (scenario, arm) once, whichever designs share it, keyed
    ``(scenario, arm key)`` (or ``(tag, scenario, arm key)`` with a tag: one
    parameter draw), stored under ``root/<scenario>/<version>/<arm>``."""
    for d in designs:
        for name in plan[d.key]:
            for arm in d.arms.values():
                key = (name, arm.key) if tag is None else (tag, name, arm.key)
                if key in jobs:
                    continue
                text, file = texts[name]
                # the arm's settings lie under the overrides (a variant changes every arm alike)
                ov = tuple(sorted({**dict(arm.settings), **overrides_of(name)}.items()))
                version = _version(text, ov, seed)
                if tag is not None:
                    version = f"{tag}-{version}"
                jobs[key] = Job(
                    scenario=name,
                    arm=arm,
                    text=text,
                    file=file,
                    overrides=ov,
                    directory=root / name / version / arm.key,
                    fingerprint=_fingerprint(text, ov, arm, seed),
                )


def execute(
    job_list: list[Job],
    designs: list[Design],
    replications: int,
    seed: int,
    workers: int | None,
    progress: bool | Callable[[Any], None],
    began: float,
) -> tuple[list[pd.DataFrame], int, int, dict[str, str]]:
    """Run the replications each job's store lacks (in one pool for all
    jobs), storing rows as they finish; the stores' tables, the runs
    computed and failed, and the plugins' versions."""
    from normflow.experiment.executors import default_workers
    from normflow.experiment.progress import record_rows

    by_scenario = _preflight(job_list, designs)
    # what each scenario loads (scenarios list the plugins they use), and all of it for the manifest
    versions = {k: v for loaded in by_scenario.values() for k, v in sorted(loaded.items())}
    stores = [Store(job.directory) for job in job_list]
    try:  # each store locked before anything is written into it
        for job, store in zip(job_list, stores, strict=True):
            store.acquire()
            _open_store(store, job, seed, by_scenario[job.scenario])
    except BaseException:
        for store in stores:
            store.release()
        raise
    tasks: list[Task] = []
    already = 0
    done_sets = [store.done() for store in stores]
    for k in range(replications):
        for i, job in enumerate(job_list):
            if (0, k) in done_sets[i]:
                already += 1
                continue
            plugins = tuple(sorted(by_scenario[job.scenario]))
            tasks.append(Task(i, k, seed, job.text, job.file, job.overrides, job.arm, plugins))
    n_workers = max(1, min(workers or default_workers(), len(tasks) or 1))
    rows = _rows_in_process(tasks) if n_workers == 1 else _rows_from_pool(tasks, n_workers)
    total = already + len(tasks)

    def write(item: tuple[int, dict[str, Any]]) -> dict[str, Any]:
        job_index, row = item
        stores[job_index].write_row(row)
        return row

    for store in stores:
        store.acquire()
    try:
        computed, failed = record_rows(
            rows, write, progress, "hypotheses", already=already, total=total, failed=0, began=began
        )
    finally:
        compacted = []
        for store in stores:
            compacted.append(store.compact())
            store.release()
    return compacted, computed, failed, versions


def run_hypotheses(
    hypotheses: Sequence[str | Design] = ("all",),
    out: str | Path = "hypotheses",
    *,
    replications: int = 200,
    seed: int = 0,
    workers: int | None = None,
    scenarios: Sequence[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    progress: bool | Callable[[Any], None] = False,
    plots: bool = True,
) -> list[HypothesisResult]:
    """Run the designs (keys ``"H1"`` ... ``"H5"``, ``"all"``, or ``Design``
    objects) and write their tables and plots into ``out``.

    ``scenarios`` restricts each design to those of its scenarios named;
    ``overrides`` maps a scenario name to field overrides for it (e.g. a
    shorter ``scenario.end`` for a quick look). Runs already stored in
    ``out/runs`` for the same scenario text, overrides, arm and seed are
    reused. ``workers=1`` runs in this process; more use a process pool
    (default: every core). ``plots=False`` writes the tables only (no
    ``hN.png``).
    """
    began = time.perf_counter()
    designs = resolve(hypotheses)
    if replications < 1:
        raise ValueError("replications: expected at least 1")
    plan = plan_of(designs, scenarios)
    overrides = overrides or {}
    out = Path(out)
    texts = texts_of(plan)
    jobs: dict[tuple[Any, ...], Job] = {}
    add_jobs(jobs, designs, plan, texts, lambda name: overrides.get(name, {}), seed, out / "runs")
    job_list = list(jobs.values())
    compacted, computed, failed, versions = execute(
        job_list, designs, replications, seed, workers, progress, began
    )
    tables = {
        (job.scenario, job.arm.key): _first(table, replications)
        for job, table in zip(job_list, compacted, strict=True)
    }
    results = []
    out.mkdir(parents=True, exist_ok=True)
    for d in designs:
        result = _analyze(d, plan[d.key], tables)
        _write(result, out, plots)
        results.append(result)
    _write_manifest(
        out,
        designs,
        plan,
        job_list,
        replications,
        seed,
        versions,
        time.perf_counter() - began,
        computed,
        failed,
    )
    return results


def _preflight(jobs: list[Job], designs: list[Design]) -> dict[str, dict[str, str]]:
    """Load each scenario and build (not run) one simulation per scenario, so
    a bad scenario or a missing plugin is one clear error before anything runs.
    Returns the plugins (name: version) each scenario loads: scenarios list
    the plugins they use. H3 needs the norm cascade in each scenario it runs on."""
    by_scenario: dict[str, dict[str, str]] = {}
    for job in jobs:
        if job.scenario in by_scenario:
            continue
        scenario = _scenario_of(job.text, job.file, job.overrides)
        sim = simulation_of(scenario, Arm(), 0, 0)
        by_scenario[job.scenario] = dict(sorted(sim.plugin_versions.items()))
    for d in designs:
        if d.key != "H3":
            continue
        for name in d.scenarios:
            loaded = by_scenario.get(name)
            if loaded is not None and "norm_cascade" not in loaded:
                raise ScenarioError(
                    "HYPOTHESIS",
                    "H3",
                    f"the norm_cascade plugin loaded (it measures norm support; loaded: "
                    f"{', '.join(sorted(loaded)) or 'none'})",
                )
    return by_scenario


def _open_store(store: Store, job: Job, seed: int, versions: dict[str, str]) -> None:
    """A new store, or one holding runs of exactly this job (continued)."""
    from normflow.experiment.spec import plain
    from normflow.version import __version__

    if store.exists():
        stored = store.read_manifest()
        if stored.get("fingerprint") != job.fingerprint:
            raise StoreError(
                f"{store.dir} holds runs of another version of this arm (the scenario, its overrides or "
                "the seed changed); use another --out"
            )
        return
    store.check_fresh()
    store.write_manifest(
        {
            "normflow": __version__,
            "fingerprint": job.fingerprint,
            "spec": {"seed": seed, "arm": job.arm.to_dict(), "overrides": plain(dict(job.overrides))},
            "scenario": {
                "name": job.scenario,
                "file": job.file,
                "sha256": hashlib.sha256(job.text.encode("utf-8")).hexdigest(),
                "text": job.text,
            },
            "parameters": [],
            "cells": [{"cell": 0, "params": job.arm.to_dict()}],
            "plugins": versions,
        }
    )


def _first(table: pd.DataFrame, replications: int) -> pd.DataFrame:
    """The first ``replications`` rows of a store (it may hold more), by replication."""
    table = table[table["replication"] < replications] if len(table) else table
    return table.set_index("replication", drop=False).sort_index()


def _analyze(
    design: Design, scenarios: list[str], tables: dict[tuple[str, str], pd.DataFrame]
) -> HypothesisResult:
    effects: list[dict[str, Any]] = []
    arms: list[dict[str, Any]] = []
    data: dict[str, dict[str, pd.DataFrame]] = {}
    horizons: dict[str, np.ndarray] = {}
    for scenario in scenarios:
        frames = {label: tables[(scenario, arm.key)] for label, arm in design.arms.items()}
        # pairs: the replications every arm finished
        common = None
        for frame in frames.values():
            ok = set(frame.index[frame["status"] == "ok"])
            common = ok if common is None else common & ok
        index = sorted(common or ())
        aligned = {label: frame.loc[index] for label, frame in frames.items()}
        first = next(iter(aligned.values()))
        horizon = first["horizon_days"].to_numpy(dtype=float, na_value=np.nan) if len(first) else np.zeros(0)
        analysis = design.analyze(scenario, aligned, horizon)
        effects += analysis.effects
        arms += analysis.arms
        data[scenario] = aligned
        horizons[scenario] = horizon
    return HypothesisResult(design, effects, arms, data, horizons)


def _write(result: HypothesisResult, out: Path, plots: bool = True) -> None:
    stem = result.key.lower()
    result.effects_frame().to_csv(out / f"{stem}.csv", index=False)
    result.arms_frame().to_csv(out / f"{stem}_arms.csv", index=False)
    if plots and result.data:
        fig = result.design.plot(result)
        from matplotlib.text import Text

        for text in fig.findobj(Text):  # scenario names are text, not TeX
            text.set_parse_math(False)
        fig.savefig(out / f"{stem}.png", dpi=110)


def _write_manifest(
    out: Path,
    designs: list[Design],
    plan: dict[str, list[str]],
    jobs: list[Job],
    replications: int,
    seed: int,
    versions: dict[str, str],
    wall: float,
    computed: int,
    failed: int,
) -> None:
    from normflow.experiment.spec import plain
    from normflow.version import __version__

    manifest = {
        "normflow": __version__,
        "replications": replications,
        "seed": seed,
        "seeds": "replication k of every arm and scenario: SeedSequence(seed, spawn_key=(k,))",
        "plugins": versions,
        "designs": {
            d.key: {
                "claim": d.claim,
                "prediction": d.prediction,
                "scenarios": plan[d.key],
                "arms": {label: arm.to_dict() for label, arm in d.arms.items()},
            }
            for d in designs
        },
        "scenarios": {
            job.scenario: {
                "sha256": hashlib.sha256(job.text.encode("utf-8")).hexdigest(),
                "overrides": plain(dict(job.overrides)),
            }
            for job in jobs
        },
        "runs_computed": computed,
        "runs_failed": failed,
        "wall_seconds": round(wall, 1),
    }
    (out / "hypotheses.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
