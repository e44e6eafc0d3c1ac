"""The plan of an experiment: its cells (the full factorial of the sweep
times the points of a Latin hypercube), each checked through the scenario
loader before anything runs, and the tasks with their seeds.

A replication's seed is fixed by the plan alone (``Plan.seed_of``), so any
executor and any number of workers produce the same rows.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from normflow.experiment.replication import Task
from normflow.experiment.spec import LG_ROLE, LG_ROLE_RANGE, ExperimentSpec, spec_from_dict
from normflow.scenario import Scenario, check_size, loads_scenario, resolve_scenario_path
from normflow.schema import ScenarioError, read_text_file


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
                        interventions=tuple(s.intervene),
                    )
                )
        return out

    def overrides_of(self, cell: dict[str, Any]) -> dict[str, Any]:
        return {**self.spec.overrides, **{k: v for k, v in cell.items() if k != LG_ROLE}}


#: Replications an experiment may plan in all (cells times replications)
#: unless raised (``--max-tasks``): planning validates every cell, and a
#: million replications of the smallest scenario take hours.
MAX_TASKS = 1_000_000

#: From this many cells on, planning reports its progress (``on_cell``).
PROGRESS_FROM = 2_000


def make_plan(
    spec: ExperimentSpec,
    scenario_text: str | None = None,
    plugins: Sequence[Any] = (),
    *,
    max_tasks: int = MAX_TASKS,
    on_cell: Callable[[int, int], None] | None = None,
) -> Plan:
    """Check the spec against its scenario and list the cells. Every swept
    value and every cell goes through the scenario loader, so a bad value is
    reported here, naming the spec entry, before anything runs. Above
    ``max_tasks`` replications in all the plan is refused; with
    ``PROGRESS_FROM`` cells or more, ``on_cell(done, total)`` is called as
    cells are checked (every 1% at most)."""
    # a spec built in Python has not been through the validator yet
    spec = spec_from_dict(spec.to_dict(), file="<spec>")
    if scenario_text is None:
        path = resolve_scenario_path(spec.scenario)
        scenario_text = read_text_file(path, "scenario file")
        scenario_file = str(path)
    else:
        scenario_file = spec.scenario
    _check_keys(spec)
    base = _load(scenario_text, scenario_file, spec.overrides, "overrides", spec.overrides)
    n_cells = math.prod(len(v) for v in spec.sweep.values()) * (
        spec.latin_hypercube.samples if spec.latin_hypercube and spec.latin_hypercube.ranges else 1
    )
    if n_cells * spec.replications > max_tasks:
        raise ScenarioError(
            "replications",
            f"{n_cells:,} cells x {spec.replications:,} replications = {n_cells * spec.replications:,}",
            f"at most {max_tasks:,} replications in all; raise the limit with --max-tasks N if you mean it",
        )
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
    checked = cells if len(spec.sweep) + len(latin) > 1 else ()
    report = on_cell if on_cell is not None and len(checked) >= PROGRESS_FROM else None
    step = max(1, len(checked) // 100)
    for i, cell in enumerate(checked):
        if report is not None and i % step == 0:
            report(i, len(checked))
        scenario_part = {k: v for k, v in cell.items() if k != LG_ROLE}
        if scenario_part:
            _load(
                scenario_text,
                scenario_file,
                {**spec.overrides, **scenario_part},
                f"sweep cell {i} ({_describe(cell)})",
                scenario_part,
            )
    if report is not None:
        report(len(checked), len(checked))
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
        scenario = loads_scenario(text, file=file, overrides=overrides)
        check_size(scenario, file=file)
        return scenario
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
