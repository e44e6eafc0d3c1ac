"""``check_plugin``: does a plugin behave as every normflow plugin must?

One call runs the checks a plugin author would otherwise write by hand:

1. **Hooks match the specs.** The plugin registers with a fresh plugin
   manager: every ``normflow_*`` implementation must name a hook that exists
   and take only arguments that hook provides (pluggy's validation); a
   ``normflow_*`` function left without ``@hookimpl`` is reported, since
   pluggy would silently ignore it; setup hooks may not be hook wrappers,
   because the engine calls each implementation directly.
2. **The config schema validates its own defaults.** Each section the plugin
   registers is an attrs class whose fields all have defaults, the empty
   section validates, and writing the defaults out in full validates back to
   the same values (so every default lies inside its declared range).
3. **It runs on random scenarios without raising**, and keeps the run's
   invariants (``normflow.testing.check_invariants``).
4. **It is deterministic**: the same scenario and seed give a byte-identical
   trace.

Scenarios are drawn with hypothesis (``normflow.testing.strategies``), so a
failure comes back shrunk to a small scenario and a seed.
"""

from __future__ import annotations

import filecmp
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pluggy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normflow.plugins import NormflowPluginManager, PluginError, config_sections, implemented_hooks
from normflow.scenario import Scenario
from normflow.schema import Dist, ScenarioError, structure
from normflow.simulation import Simulation
from normflow.testing.invariants import check_invariants
from normflow.testing.strategies import scenarios as scenario_strategy
from normflow.trace import read_trace

__all__ = ["ConformanceError", "ConformanceReport", "as_toml_data", "check_plugin", "plugin_name"]

#: Hooks the engine calls one implementation at a time (``Simulation._setup``).
SETUP_HOOKS = {
    "normflow_register_channels",
    "normflow_register_milestones",
    "normflow_register_modifiers",
    "normflow_register_handlers",
    "normflow_register_processes",
    "normflow_register_metrics",
    "normflow_register_config",
}


class ConformanceError(AssertionError):
    """The plugin does not conform; the message says which check failed and why."""


@attrs.frozen
class ConformanceReport:
    """What ``check_plugin`` checked and saw."""

    plugin: str
    hooks: tuple[str, ...]
    config_sections: tuple[str, ...]
    runs: int
    event_counts: Mapping[str, int]


def plugin_name(plugin: Any) -> str:
    """The name a plugin object registers under (as ``Simulation`` names it)."""
    return (
        getattr(plugin, "normflow_plugin_name", None)
        or getattr(plugin, "__name__", None)
        or type(plugin).__name__
    )


def _check_hooks(plugin: Any) -> tuple[NormflowPluginManager, list[str]]:
    name = plugin_name(plugin)
    pm = NormflowPluginManager()
    try:
        pm.register_checked(plugin, name)
    except (PluginError, pluggy.PluginValidationError) as exc:
        raise ConformanceError(f"hooks: {exc}") from None
    hooks = implemented_hooks(pm, plugin)
    unmarked = sorted(
        attr
        for attr in dir(plugin)
        if attr.startswith("normflow_") and callable(getattr(plugin, attr, None)) and attr not in hooks
    )
    if unmarked:
        raise ConformanceError(
            f"hooks: {', '.join(unmarked)} of plugin '{name}' not marked with @hookimpl "
            "(pluggy ignores them silently)"
        )
    if not hooks:
        raise ConformanceError(f"hooks: plugin '{name}' implements no normflow hook")
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and caller.name in SETUP_HOOKS and (impl.hookwrapper or impl.wrapper):
                raise ConformanceError(
                    f"hooks: {caller.name} of plugin '{name}' is a hook wrapper; the engine calls "
                    "setup hooks one implementation at a time, so a wrapper would never run"
                )
    return pm, hooks


def as_toml_data(value: Any) -> Any:
    """``value`` (a config or scenario object) as the plain data a scenario
    file would hold: the inverse of ``structure``."""
    if isinstance(value, Dist):
        if value.kind == "fixed":
            return value.a
        names = {
            "uniform": ("low", "high"),
            "beta": ("mean", "concentration"),
            "lognormal": ("median", "sigma"),
            "normal": ("mean", "sd"),
        }[value.kind]
        return {"dist": value.kind, names[0]: value.a, names[1]: value.b}
    if attrs.has(type(value)):
        return {f.name: as_toml_data(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, tuple | list):
        return [as_toml_data(v) for v in value]
    if isinstance(value, dict):
        return {k: as_toml_data(v) for k, v in value.items()}
    return value


def _check_config(pm: NormflowPluginManager) -> list[str]:
    try:
        sections = config_sections(pm)
    except PluginError as exc:
        raise ConformanceError(f"config: {exc}") from None
    for section, (plugin, cls) in sections.items():
        where = f"config: section '{section}' of plugin '{plugin}'"
        if not attrs.has(cls):
            raise ConformanceError(f"{where}: {cls!r} is not an attrs class")
        missing = [f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING]
        if missing:
            raise ConformanceError(f"{where}: fields without a default: {', '.join(missing)}")
        try:
            defaults = structure(cls, {}, f"plugins.{section}")
            written = structure(cls, as_toml_data(defaults), f"plugins.{section}")
        except ScenarioError as exc:
            raise ConformanceError(f"{where}: its own defaults do not validate: {exc.message}") from None
        if written != defaults:
            raise ConformanceError(
                f"{where}: defaults written out read back as {written!r}, not {defaults!r}"
            )
    return sorted(sections)


def _run_once(
    scenario: Scenario, seed: int, plugin: Any, trace: Path, extra_plugins: Sequence[Any]
) -> list[dict[str, Any]]:
    Simulation(scenario, seed, plugins=[plugin, *extra_plugins], autoload=False, trace=trace).run()
    return read_trace(trace)


def check_plugin(
    plugin: Any,
    *,
    scenarios: st.SearchStrategy[Scenario] | Iterable[Scenario] | None = None,
    max_examples: int | None = None,
    seeds: st.SearchStrategy[int] | None = None,
    extra_actors: Iterable[str] = (),
    phase_orders: Mapping[str, Sequence[str]] | None = None,
    extra_plugins: Sequence[Any] = (),
) -> ConformanceReport:
    """Check that ``plugin`` (a module or an object with ``@hookimpl``
    methods) conforms; raise ``ConformanceError`` on the first failure.

    :param scenarios: a hypothesis strategy of scenarios, or a list of
        scenarios to run (default: ``strategies.scenarios()``, small random
        ones). Give scenarios that exercise your mechanism.
    :param max_examples: how many scenario/seed pairs to run (default: the
        current hypothesis profile's ``max_examples``).
    :param seeds: strategy for the seeds (default: any 32-bit integer).
    :param extra_actors: ids the plugin may name besides the scenario's
        actors (see ``check_invariants``).
    :param phase_orders: the order of the plugin's state-machine phases, so
        that a skip forward is caught (see ``check_invariants``).
    :param extra_plugins: plugins the checked one needs alongside it.
    :returns: a ``ConformanceReport`` with the hooks, sections, number of
        runs and how many events of each kind the runs produced.

    Call it from a plain test, not from inside a ``@given`` test.
    """
    name = plugin_name(plugin)
    pm, hooks = _check_hooks(plugin)
    sections = _check_config(pm)
    if scenarios is None:
        strategy = scenario_strategy()
    elif isinstance(scenarios, st.SearchStrategy):
        strategy = scenarios
    else:
        fixed = list(scenarios)
        if not fixed:
            raise ValueError("scenarios: give a strategy or at least one scenario")
        strategy = st.sampled_from(fixed)
    runs = 0
    counts: Counter[str] = Counter()
    options: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    }
    if max_examples is not None:
        options["max_examples"] = max_examples

    @settings(settings.default, **options)
    @given(scenario=strategy, seed=seeds if seeds is not None else st.integers(0, 2**32 - 1))
    def runs_conform(scenario: Scenario, seed: int) -> None:
        nonlocal runs
        with tempfile.TemporaryDirectory(prefix="normflow-conformance-") as tmp:
            first, second = Path(tmp, "first.jsonl"), Path(tmp, "second.jsonl")
            lines = _run_once(scenario, seed, plugin, first, extra_plugins)
            end = lines[-1]
            if not end.get("complete"):
                raise ConformanceError(f"run: plugin '{name}': the run did not complete: {end.get('error')}")
            check_invariants(lines, scenario, extra_actors=extra_actors, phase_orders=phase_orders)
            _run_once(scenario, seed, plugin, second, extra_plugins)
            if not filecmp.cmp(first, second, shallow=False):
                again = read_trace(second)
                at = next((i for i, (a, b) in enumerate(zip(lines, again, strict=False)) if a != b), None)
                raise ConformanceError(
                    f"determinism: plugin '{name}': same scenario and seed {seed}, different traces "
                    f"(first difference at line {at if at is not None else min(len(lines), len(again))})"
                )
        runs += 1
        counts.update(line["kind"] for line in lines[1:-1])

    runs_conform()
    return ConformanceReport(
        plugin=name,
        hooks=tuple(hooks),
        config_sections=tuple(sections),
        runs=runs,
        event_counts=dict(counts),
    )
