"""Running an experiment: plan it, check what is already stored, compute the
missing replications with an executor and store each row as it arrives,
so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from normflow.errors import ExperimentError
from normflow.experiment.executors import (
    RETRIES,
    Limits,
    default_workers,
    rows_from_dask,
    rows_from_pool,
    rows_in_process,
)
from normflow.experiment.plan import MAX_TASKS, Plan, make_plan
from normflow.experiment.progress import Progress, record_rows
from normflow.experiment.replication import PLUGIN_ENV, Shared, Task
from normflow.experiment.results import Experiment
from normflow.experiment.spec import LG_ROLE, ExperimentSpec, spec_from_dict, spec_or_scenario
from normflow.interventions import parse_interventions
from normflow.scenario import loads_scenario, with_plugins
from normflow.store import Store, StoreError


def _apply_changes(
    spec: ExperimentSpec,
    replications: int | None,
    seed: int | None,
    sweep: dict[str, Sequence[Any]] | None,
    overrides: dict[str, Any] | None,
    intervene: Sequence[str] = (),
    with_plugins: Sequence[str] = (),
    without_plugins: Sequence[str] = (),
) -> ExperimentSpec:
    if (
        replications is None
        and seed is None
        and not sweep
        and not overrides
        and not intervene
        and not with_plugins
        and not without_plugins
    ):
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
    if intervene:
        data["intervene"] = [*data.get("intervene", []), *intervene]
    if with_plugins:
        data["with_plugins"] = list(dict.fromkeys([*data.get("with_plugins", []), *with_plugins]))
    if without_plugins:
        data["without_plugins"] = list(dict.fromkeys([*data.get("without_plugins", []), *without_plugins]))
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
    intervene: Sequence[str] = (),
    workers: int | None = None,
    scheduler: Any = None,
    resume: bool = False,
    retry_failed: bool = False,
    csv: bool = False,
    plugins: Sequence[Any] = (),
    progress: bool | Callable[[Progress], None] = False,
    timeout: float | None = None,
    retries: int = RETRIES,
    max_tasks: int = MAX_TASKS,
    on_plan: Callable[[int, int], None] | None = None,
    with_plugins: Sequence[str] = (),
    without_plugins: Sequence[str] = (),
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
    ``intervene`` adds counterfactual switches (``NAME[=VALUE]``, see
    ``normflow.interventions``) to every replication. ``plugins`` are
    plugin objects given to every run (they must be
    picklable for a pool or a cluster). ``with_plugins``/``without_plugins``
    add installed plugins to, or remove them from, the ones the scenario uses
    (``--with``/``--without``); the spec records them. Interrupting (Ctrl-C) keeps every
    finished replication.

    ``timeout`` (seconds) stops a replication that runs longer and stores it
    as failed; a replication whose worker dies is given to a fresh worker up
    to ``retries`` more times, then stored as failed. Work a Dask cluster
    loses is submitted again up to ``retries`` times; what still could not be
    computed is not stored and raises ``ExperimentError`` once the rest is
    stored. Above ``max_tasks`` replications in all the plan is refused;
    ``on_plan(done, total)`` follows the checking of large plans.

    Everything that can refuse (a different spec, other plugins, a damaged
    manifest or results table, a store locked by another process) is checked
    before anything in the store is moved, deleted or written.
    """
    began = time.perf_counter()
    stored: dict[str, Any] | None = None
    planning = {"max_tasks": max_tasks, "on_cell": on_plan}
    if spec is None:
        if not (resume and out is not None):
            raise ValueError("run_experiment needs a spec, or resume=True and the directory (out=...)")
        stored = Store(out).read_manifest()
        base = spec_from_dict(stored["spec"], file=str(Store(out).manifest_path))
        plan = make_plan(
            _apply_changes(
                base, replications, seed, sweep, overrides, intervene, with_plugins, without_plugins
            ),
            scenario_text=stored["scenario"]["text"],
            plugins=plugins,
            **planning,
        )
    else:
        if isinstance(spec, str | Path):
            spec = spec_or_scenario(str(spec))
        plan = make_plan(
            _apply_changes(
                spec, replications, seed, sweep, overrides, intervene, with_plugins, without_plugins
            ),
            plugins=plugins,
            **planning,
        )
    store = Store(
        out if out is not None else Path("experiments") / f"{plan.scenario_name}-{plan.fingerprint[:8]}"
    )
    fresh = not (resume and store.exists())
    if not fresh:
        stored = stored or store.read_manifest()
        conflict = _resume_conflict(stored, plan)
        if conflict:
            raise StoreError(f"{store.dir} holds a different experiment ({conflict}); use another --out")
        if plan.spec.replications < stored["spec"]["replications"]:
            raise StoreError(
                f"{store.dir} holds {stored['spec']['replications']} replications per cell; "
                f"asking for {plan.spec.replications} would leave some out"
            )
    store.open_for_writing(fresh)
    lost: list[str] = []
    try:
        # read only, until every check that can refuse has passed
        rows, bad = store.inspect() if not fresh else ([], [])
        done = {(row["cell"], row["replication"]) for row in rows}
        failed = [(row["cell"], row["replication"]) for row in rows if row["status"] == "failed"]
        todo = done - set(failed) if retry_failed else done
        tasks = plan.tasks(skip=todo)
        if tasks:
            versions, origins = _preflight(plan, plugins)
        else:
            versions = dict((stored or {}).get("plugins", {}))
            origins = dict((stored or {}).get("plugin_origins", {}))
        if stored is not None and todo and tasks:
            _check_plugins(store, stored, versions, origins, retry_failed)
        # from here on the store changes
        store.clean_temporary()
        store.quarantine(bad)
        if retry_failed:
            store.forget(failed)
        store.write_manifest(_manifest(plan, versions, origins))
        shared = Shared(
            scenario_text=plan.scenario_text,
            plugins=tuple(plugins),
            plugin_names=tuple(sorted(versions)),
            env=tuple((k, os.environ[k]) for k in PLUGIN_ENV if k in os.environ),
            with_plugins=plan.spec.with_plugins,
            without_plugins=plan.spec.without_plugins,
        )
        failed_before = len(failed) if not retry_failed else 0
        computed = _execute(
            store,
            plan,
            tasks,
            len(todo),
            failed_before,
            workers,
            scheduler,
            shared,
            progress,
            Limits(timeout=timeout, retries=retries),
            lost,
        )
        store.compact(csv=csv)
    finally:
        store.release()
    if lost:
        raise ExperimentError(
            f"{len(lost)} replication(s) could not be computed: the workers running them were lost "
            f"{retries + 1} times ({lost[-1]}); the other rows are stored. Continue with: "
            f"normflow experiment run --resume --out {store.dir}"
        )
    return Experiment(store.dir, computed=computed, wall_seconds=time.perf_counter() - began)


def _check_plugins(
    store: Store, stored: dict[str, Any], versions: dict[str, str], origins: dict[str, str], retry: bool
) -> None:
    """Rows computed under another plugin set belong to another experiment;
    a retry of failed rows usually follows a fix, so a new version may do,
    but not another plugin of the same name (another distribution)."""
    before = dict(stored.get("plugins", versions))
    changed = set(versions) != set(before) if retry else versions != before
    was = dict(stored.get("plugin_origins", {}))
    moved = sorted(k for k in set(was) & set(origins) if was[k] != origins[k])
    if changed:
        raise StoreError(
            f"{store.dir} was computed with the plugins {_versions_text(before)}; "
            f"now {_versions_text(versions)} are loaded. Load the same ones "
            "(NORMFLOW_LOAD_PLUGINS) to continue it, or use another --out"
        )
    if moved:
        k = moved[0]
        raise StoreError(
            f"{store.dir} was computed with the plugin {k} from {was[k]}; now {k} comes from "
            f"{origins[k]}. Load the same one to continue it, or use another --out"
        )


def _versions_text(versions: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "none"


def _preflight(plan: Plan, plugins: Sequence[Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Build (not run) the first cell's simulation here, so a missing plugin
    or a bad plugin section is one clear error, not a table of failures; the
    loaded plugins' versions and origins (distribution or module)."""
    from normflow.simulation import Simulation

    cell = plan.cells[0]
    scenario = loads_scenario(plan.scenario_text, file=plan.scenario_file, overrides=plan.overrides_of(cell))
    scenario = with_plugins(scenario, plan.spec.with_plugins, plan.spec.without_plugins)
    sim = Simulation(
        scenario,
        np.random.SeedSequence(plan.spec.seed, spawn_key=plan.seed_of(0, 0)),
        plugins=list(plugins),
        local_government_role=float(cell.get(LG_ROLE, plan.spec.local_government_role)),
        interventions=parse_interventions(plan.spec.intervene),
    )
    origins = getattr(sim.pm, "origins", {})
    return (
        dict(sorted(sim.plugin_versions.items())),
        {k: origins.get(k, "unknown") for k in sorted(sim.plugin_versions)},
    )


def _manifest(plan: Plan, plugin_versions: dict[str, str], origins: dict[str, str]) -> dict[str, Any]:
    from normflow.version import __version__

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
        "plugin_origins": origins,
    }


def _execute(
    store: Store,
    plan: Plan,
    tasks: list[Task],
    already: int,
    failed: int,
    workers: int | None,
    scheduler: Any,
    shared: Shared,
    progress: bool | Callable[[Progress], None],
    limits: Limits,
    lost: list[str],
) -> int:
    began = time.perf_counter()
    total = already + len(tasks)
    n_workers = max(1, min(workers or default_workers(), len(tasks) or 1))
    if scheduler is not None and tasks:
        rows = rows_from_dask(tasks, shared, scheduler, workers or default_workers(), limits, lost)
    elif n_workers == 1:
        rows = rows_in_process(tasks, shared, limits)
    else:
        rows = rows_from_pool(tasks, shared, n_workers, limits)

    def write(row: dict[str, Any]) -> dict[str, Any]:
        store.write_row(row)
        return row

    computed, _ = record_rows(
        rows, write, progress, plan.scenario_name, already=already, total=total, failed=failed, began=began
    )
    return computed
