"""The experiment spec: what to run (a scenario, replications, seeds, fixed
overrides, a sweep, a Latin hypercube), as a TOML file or built in Python,
validated field by field with its path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np

from normflow.scenario import resolve_scenario_path
from normflow.schema import ScenarioError, param, structure

Output = Literal["milestones", "final", "counts", "metrics"]


OUTPUTS: tuple[Output, ...] = ("milestones", "final", "counts", "metrics")


LG_ROLE = "local_government_role"


LG_ROLE_RANGE = (0.0, 10.0)


def plain(value: Any) -> Any:
    """TOML dates as ISO text and tuples as lists: the spec must be JSON for
    the manifest, and the scenario loader reads ISO dates anyway."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
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
                out[path] = plain(value)

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
    #: counterfactual switches for every replication (``NAME[=VALUE]``, see ``normflow interventions``)
    intervene: tuple[str, ...] = ()
    #: plugins added to, and removed from, the ones the scenario uses
    #: (``--with``/``--without``)
    with_plugins: tuple[str, ...] = ()
    without_plugins: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = plain(attrs.asdict(self, recurse=True))
        if data["latin_hypercube"] is None:
            del data["latin_hypercube"]
        if not data["intervene"]:
            del data["intervene"]  # specs without interventions keep the fingerprint they had
        # left out when empty: an experiment's fingerprint stays what it was
        for key in ("with_plugins", "without_plugins"):
            if not data[key]:
                del data[key]
        return data


def spec_from_dict(data: dict[str, Any], file: str = "<spec>") -> ExperimentSpec:
    """Validate a spec given as plain data (e.g. parsed TOML)."""
    from normflow.interventions import InterventionError, parse_interventions

    try:
        spec = structure(ExperimentSpec, plain(data))
        try:
            parse_interventions(spec.intervene)
        except InterventionError as exc:
            raise ScenarioError("intervene", exc.item, exc.expected) from None
        return spec
    except ScenarioError as exc:
        raise exc.with_file(file) from None


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read an experiment spec file. A relative ``scenario`` path is taken
    relative to the spec file."""
    from normflow.schema import parse_toml, read_text_file

    path = Path(path)
    data = parse_toml(read_text_file(path, "spec file"), str(path))
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
    from normflow.schema import parse_toml, read_text_file

    if _is_bundled(arg):
        return ExperimentSpec(scenario=arg)
    path = Path(arg)
    if path.is_file():
        try:
            data = parse_toml(read_text_file(path, "file"), str(path))
        except ScenarioError:
            data = {}  # not a spec: the scenario loader says what is wrong with it
        if isinstance(data.get("scenario"), str):
            return load_spec(path)
    resolve_scenario_path(arg)  # a clear error if it is neither
    return ExperimentSpec(scenario=arg)
