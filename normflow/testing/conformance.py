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
5. **It leaves the world in range**: once a month of simulated time and at
   the end of each run, every field of the world holds a value inside its
   documented range (``normflow.worldref``), so a direct write gone wrong
   is caught.

Scenarios are drawn with hypothesis (``normflow.testing.strategies``), so a
failure comes back shrunk to a small scenario and a seed (``shrink=False``
reports the first failure as found). Whatever goes wrong -- a broken
invariant, an error raised by the plugin, a hypothesis error -- comes out as
one ``ConformanceError`` (an ``AssertionError``) whose cause is the
underlying error. A plugin that never published an event of its own and
never reached a milestone of its own in any run gets a
``ConformanceWarning``: the scenarios probably never exercised it.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pluggy
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from normflow import events as ev
from normflow.hookspecs import hookimpl
from normflow.plugins import (
    NormflowPluginManager,
    PluginError,
    config_sections,
    event_kinds,
    implemented_hooks,
)
from normflow.scenario import Scenario
from normflow.schema import Dist, ScenarioError, structure
from normflow.simulation import PluginRunError, Simulation
from normflow.testing.invariants import InvariantViolation, check_invariants
from normflow.testing.strategies import scenarios as scenario_strategy
from normflow.trace import read_trace
from normflow.worldref import world_problems

__all__ = [
    "ConformanceError",
    "ConformanceReport",
    "ConformanceWarning",
    "as_toml_data",
    "check_plugin",
    "plugin_name",
]

#: Hooks the engine calls one implementation at a time (``Simulation._setup``).
SETUP_HOOKS = {
    "normflow_register_channels",
    "normflow_register_milestones",
    "normflow_register_modifiers",
    "normflow_register_handlers",
    "normflow_register_processes",
    "normflow_register_metrics",
    "normflow_register_config",
    "normflow_register_event_kinds",
}

#: Core kinds a plugin publishes for itself (its state machine, its channels).
PLUGIN_KINDS = {ev.PhaseChanged.kind, ev.ChannelUsed.kind}

#: Days between two looks at the world's ranges during a run.
WORLD_CHECK_DAYS = 30.0


class ConformanceError(AssertionError):
    """The plugin does not conform; the message says which check failed and
    why, and ``__cause__`` is the underlying error when there is one."""


class ConformanceWarning(UserWarning):
    """The plugin conformed, but the runs may not have exercised it."""


class _WorldWatch:
    """A plugin of ``check_plugin``'s own: looks at the world's ranges once a
    month of simulated time (after the checked plugin's processes)."""

    normflow_plugin_name = "check_plugin.world"

    def __init__(self) -> None:
        self.problems: list[str] = []

    @hookimpl
    def normflow_register_processes(self, sim: Any) -> None:
        def look() -> None:
            if not self.problems:
                self.problems.extend(f"day {sim.now:g}: {p}" for p in world_problems(sim.world, sim.now))

        sim.every(WORLD_CHECK_DAYS, look, offset=WORLD_CHECK_DAYS, name="world ranges")


@attrs.frozen
class ConformanceReport:
    """What ``check_plugin`` checked and saw."""

    plugin: str
    hooks: tuple[str, ...]
    config_sections: tuple[str, ...]
    runs: int
    event_counts: Mapping[str, int]
    #: the plugin's own events (by kind) and milestones ("milestone <name>")
    #: the runs saw
    emitted: Mapping[str, int] = attrs.field(factory=dict)


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
        raise ConformanceError(f"hooks: {exc}") from exc
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
        raise ConformanceError(f"config: {exc}") from exc
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
            raise ConformanceError(f"{where}: its own defaults do not validate: {exc.message}") from exc
        if written != defaults:
            raise ConformanceError(
                f"{where}: defaults written out read back as {written!r}, not {defaults!r}"
            )
    return sorted(sections)


def _run_once(
    scenario: Scenario, seed: int, plugin: Any, trace: Path, extra_plugins: Sequence[Any]
) -> tuple[list[dict[str, Any]], list[str], set[str]]:
    """The trace's lines, the world's range problems and the milestones the
    plugins reached (beyond the core's own)."""
    watch = _WorldWatch()
    sim = Simulation(scenario, seed, plugins=[plugin, *extra_plugins, watch], autoload=False, trace=trace)
    result = sim.run()
    problems = watch.problems or [f"end of the run: {p}" for p in world_problems(sim.world, sim.now)]
    reached = {n for n, t in result.milestones.items() if t is not None and n not in sim.core_milestones}
    return read_trace(trace), problems, reached


def _with_horizon(scenario: Scenario, days: float) -> Scenario:
    """``scenario`` lasting at least ``days``."""
    if scenario.horizon >= days:
        return scenario
    end = scenario.start + dt.timedelta(days=int(-(-days // 1)))
    return attrs.evolve(scenario, scenario=attrs.evolve(scenario.scenario, end=end))


def check_plugin(
    plugin: Any,
    *,
    scenarios: st.SearchStrategy[Scenario] | Iterable[Scenario] | None = None,
    max_examples: int | None = None,
    seeds: st.SearchStrategy[int] | None = None,
    extra_actors: Iterable[str] = (),
    phase_orders: Mapping[str, Sequence[str]] | None = None,
    extra_plugins: Sequence[Any] = (),
    horizon: float | None = None,
    shrink: bool = True,
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
    :param horizon: the least number of days a run lasts: drawn scenarios
        last between ``horizon`` and ``horizon + 365`` days, listed ones are
        lengthened to it (default: drawn scenarios last 30 days to four
        years). A mechanism on a slow cycle needs a horizon of a few cycles.
    :param shrink: False reports the first failing scenario and seed as
        found, without the search for a smaller one (faster; less readable).
    :returns: a ``ConformanceReport`` with the hooks, sections, number of
        runs and how many events of each kind the runs produced.
    :raises ConformanceError: for any failure, with the underlying error
        (``InvariantViolation``, ``PluginRunError``, ...) as its cause.

    Warns with ``ConformanceWarning`` when no run saw the plugin publish an
    event of its own (a declared kind, a class of its own, ``PhaseChanged``
    or ``ChannelUsed``) or reach a milestone beyond the core's.

    Call it from a plain test, not from inside a ``@given`` test.
    """
    name = plugin_name(plugin)
    pm, hooks = _check_hooks(plugin)
    sections = _check_config(pm)
    try:
        own_kinds = {kind for kind, (_p, _c) in event_kinds(pm).items()}
    except PluginError as exc:
        raise ConformanceError(f"events: {exc}") from exc
    if horizon is not None and not (isinstance(horizon, int | float) and 0 < horizon < 36500):
        raise ConformanceError(f"horizon: got {horizon!r}; expected a number of days in (0, 36500)")
    if scenarios is None:
        if horizon is None:
            strategy = scenario_strategy()
        else:
            days = int(-(-horizon // 1))
            strategy = scenario_strategy(min_days=days, max_days=days + 365)
    elif isinstance(scenarios, st.SearchStrategy):
        strategy = scenarios if horizon is None else scenarios.map(lambda s: _with_horizon(s, horizon))
    else:
        fixed = list(scenarios)
        if not fixed:
            raise ConformanceError("scenarios: give a strategy or at least one scenario")
        if horizon is not None:
            fixed = [_with_horizon(s, horizon) for s in fixed]
        strategy = st.sampled_from(fixed)
    runs = 0
    counts: Counter[str] = Counter()
    emitted: Counter[str] = Counter()
    core_kinds = {cls.kind for cls in ev.ALL_EVENTS}
    options: dict[str, Any] = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "report_multiple_bugs": False,
    }
    if max_examples is not None:
        options["max_examples"] = max_examples
    if not shrink:
        options["phases"] = [p for p in Phase if p is not Phase.shrink]

    @settings(settings.default, **options)
    @given(scenario=strategy, seed=seeds if seeds is not None else st.integers(0, 2**32 - 1))
    def runs_conform(scenario: Scenario, seed: int) -> None:
        where = f"plugin '{name}', scenario '{scenario.name}' ({scenario.horizon:g} days), seed {seed}"
        try:
            one_run(scenario, seed, where)
        except ConformanceError:
            raise
        except InvariantViolation as exc:
            raise ConformanceError(f"invariants: {where}: {exc}") from exc
        except PluginRunError as exc:
            raise ConformanceError(f"run: {where}: {exc}") from exc
        except (PluginError, ScenarioError) as exc:
            raise ConformanceError(f"setup: {where}: {exc}") from exc
        except Exception as exc:
            raise ConformanceError(f"run: {where}: {type(exc).__name__}: {exc}") from exc

    def one_run(scenario: Scenario, seed: int, where: str) -> None:
        nonlocal runs
        with tempfile.TemporaryDirectory(prefix="normflow-conformance-") as tmp:
            first, second = Path(tmp, "first.jsonl"), Path(tmp, "second.jsonl")
            lines, problems, reached = _run_once(scenario, seed, plugin, first, extra_plugins)
            end = lines[-1]
            if not end.get("complete"):
                raise ConformanceError(f"run: {where}: the run did not complete: {end.get('error')}")
            check_invariants(lines, scenario, extra_actors=extra_actors, phase_orders=phase_orders)
            if problems:
                raise ConformanceError(
                    f"world: {where}: a value outside its documented range (docs/world.md); "
                    f"write it only inside its range, or through the Simulation method named there: "
                    + "; ".join(problems[:5])
                )
            _run_once(scenario, seed, plugin, second, extra_plugins)
            if not filecmp.cmp(first, second, shallow=False):
                again = read_trace(second)
                at = next((i for i, (a, b) in enumerate(zip(lines, again, strict=False)) if a != b), None)
                raise ConformanceError(
                    f"determinism: {where}: same scenario and seed, different traces "
                    f"(first difference at line {at if at is not None else min(len(lines), len(again))})"
                )
        runs += 1
        kinds = Counter(line["kind"] for line in lines[1:-1])
        counts.update(kinds)
        emitted.update(
            {k: n for k, n in kinds.items() if k in own_kinds or k in PLUGIN_KINDS or k not in core_kinds}
        )
        emitted.update(f"milestone {m}" for m in reached)

    try:
        runs_conform()
    except ConformanceError:
        raise
    except Exception as exc:  # hypothesis's own errors: flaky, unsatisfiable, health checks
        raise ConformanceError(f"hypothesis: plugin '{name}': {type(exc).__name__}: {exc}") from exc
    if runs and not emitted:
        warnings.warn(
            f"plugin '{name}' published no event of its own and reached no milestone in {runs} run(s): "
            "the scenarios may never exercise it; give scenarios= that do, or a longer horizon=",
            ConformanceWarning,
            stacklevel=2,
        )
    return ConformanceReport(
        plugin=name,
        hooks=tuple(hooks),
        config_sections=tuple(sections),
        runs=runs,
        event_counts=dict(counts),
        emitted=dict(emitted),
    )
