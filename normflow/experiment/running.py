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

from normflow.experiment.executors import default_workers, rows_from_dask, rows_from_pool, rows_in_process
from normflow.experiment.plan import Plan, make_plan
from normflow.experiment.progress import Progress, record_rows
from normflow.experiment.replication import PLUGIN_ENV, Shared, Task
from normflow.experiment.results import Experiment
from normflow.experiment.spec import LG_ROLE, ExperimentSpec, spec_from_dict, spec_or_scenario
from normflow.interventions import parse_interventions
from normflow.scenario import loads_scenario
from normflow.store import Store, StoreError


def _apply_changes(
    spec: ExperimentSpec,
    replications: int | None,
    seed: int | None,
    sweep: dict[str, Sequence[Any]] | None,
    overrides: dict[str, Any] | None,
    intervene: Sequence[str] = (),
) -> ExperimentSpec:
    if replications is None and seed is None and not sweep and not overrides and not intervene:
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
            _apply_changes(base, replications, seed, sweep, overrides, intervene),
            scenario_text=stored["scenario"]["text"],
            plugins=plugins,
        )
    else:
        if isinstance(spec, str | Path):
            spec = spec_or_scenario(str(spec))
        plan = make_plan(
            _apply_changes(spec, replications, seed, sweep, overrides, intervene), plugins=plugins
        )
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
        interventions=parse_interventions(plan.spec.intervene),
    )
    return dict(sorted(sim.plugin_versions.items()))


def _manifest(plan: Plan, plugin_versions: dict[str, str]) -> dict[str, Any]:
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
        rows = rows_from_dask(tasks, shared, scheduler, workers or default_workers())
    elif n_workers == 1:
        rows = rows_in_process(tasks, shared)
    else:
        rows = rows_from_pool(tasks, shared, n_workers)
    failed = sum(1 for row in store.rows() if row.get("status") == "failed") if already else 0

    def write(row: dict[str, Any]) -> dict[str, Any]:
        store.write_row(row)
        return row

    computed, _ = record_rows(
        rows, write, progress, plan.scenario_name, already=already, total=total, failed=failed, began=began
    )
    return computed
