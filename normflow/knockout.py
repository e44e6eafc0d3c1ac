"""Knockout: switch each mechanism off in turn and measure what it does.

A mechanism earns its place in the model only if some outcome depends on
it. ``run_knockout`` runs a scenario as written (the *baseline*) and, for
each core sub-process the scenario uses (``normflow.processes.CORE_PROCESSES``)
and each active plugin, the same scenario with that one mechanism switched
off. Replication *k* of every arm runs with the same seed (the *k*-th child
of the base seed, as ``normflow experiment`` seeds it), and every process
draws from its own named random stream, so switching one mechanism off never
reshuffles another's draws: a difference between the arms is that
mechanism's effect, not a reseeding (common random numbers).

For every milestone the study reports the paired effect of the mechanism,
*with - without*: the difference in the share of runs that reach it, and in
the restricted mean days to it (a run that never reaches it counts its
horizon), each with a 95% interval (paired bootstrap, ``normflow.stats``).
A mechanism is ``inert`` when no *outcome* milestone moves, i.e. no
interval of an outcome milestone excludes 0. Outcome milestones are the
steps a case turns on: the issue placed on a legislature's agenda, a bill
enacted, a negotiation opened, in its main phase or ended in an agreement,
and a state's policy changed.

Which mechanisms a scenario *uses*: information exchange and both faces of
accountability whenever it has civil-society groups; electoral leverage and
agenda-setting only where an issue's state has a legislature (a case without
one does not use them); local resolutions where an issue's state has local
governments; negotiation where negotiations are declared; central backlash
where it is enabled; elections where a legislature has an election date;
counter-mobilization where it is enabled and opponents are declared;
autonomy and costs where enabled. Any other core process (added later)
counts as used.
Plugins: every plugin the run loads.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from normflow.interventions import Interventions
from normflow.processes import CORE_PROCESSES

if TYPE_CHECKING:
    from normflow.scenario import Scenario
    from normflow.simulation import RunResult

__all__ = [
    "KnockoutError",
    "Mechanism",
    "is_outcome",
    "mechanisms_of",
    "run_knockout",
]

#: Milestones (or prefixes of them) that count as outcomes of a case.
OUTCOME_PREFIXES = (
    "agenda_placed",
    "bill_enacted",
    "negotiation_opened:",
    "negotiation_main:",
    "agreement_reached:",
    "policy_changed:",
)


class KnockoutError(Exception):
    """A knockout study that cannot run (the message says why)."""


@attrs.frozen
class Mechanism:
    """One thing to switch off: a core sub-process or a plugin."""

    name: str
    kind: str  # "core" or "plugin"

    @property
    def label(self) -> str:
        return self.name if self.kind == "core" else f"plugin:{self.name}"


def is_outcome(milestone: str) -> bool:
    """Whether a milestone is one of a case's outcome steps."""
    return any(milestone == p or (p.endswith(":") and milestone.startswith(p)) for p in OUTCOME_PREFIXES)


def _core_used(scenario: Scenario) -> list[str]:
    issue_states = {x.state for x in scenario.issues}
    legislature = any(s.legislature is not None and s.id in issue_states for s in scenario.states)
    groups = bool(scenario.civil_society.groups or scenario.civil_society.populations)
    local = any(x.state in issue_states for x in scenario.local_governments.named) or any(
        x.state in issue_states for x in scenario.local_governments.groups
    )
    used = {
        "information": groups,
        "downward": groups,
        "top_down": groups,
        "electoral": legislature and groups,
        "resolutions": local and scenario.processes.agenda.resolution_rate > 0.0,
        "agenda": legislature,
        "negotiation": bool(scenario.negotiations),
        "backlash": scenario.processes.backlash.enabled,
        "elections": any(
            s.legislature is not None
            and s.id in issue_states
            and (s.legislature.lower_house_elected or s.legislature.upper_house_elected) is not None
            for s in scenario.states
        ),
        "counter_mobilization": scenario.processes.counter.enabled
        and any(
            g.stance == "opponent"
            for g in (*scenario.civil_society.groups, *scenario.civil_society.populations)
        ),
        "autonomy": scenario.processes.autonomy.enabled and groups,
        "costs": scenario.processes.costs.enabled and groups,
    }
    return [name for name in CORE_PROCESSES if used.get(name, True)]


def mechanisms_of(scenario: Scenario, plugins: Sequence[str]) -> list[Mechanism]:
    """The mechanisms a scenario uses: core sub-processes, then plugins."""
    core = [Mechanism(name, "core") for name in _core_used(scenario)]
    return core + [Mechanism(name, "plugin") for name in sorted(plugins)]


# -- running -------------------------------------------------------------------------


@attrs.frozen
class Task:
    """One replication of one arm (``off``: the mechanism switched off, or None)."""

    text: str
    file: str
    overrides: tuple[tuple[str, Any], ...]
    seed: int
    replication: int
    off: Mechanism | None


_scenarios: dict[str, Scenario] = {}
_managers: dict[tuple[Any, ...], Any] = {}


def _scenario(task: Task) -> Scenario:
    from normflow.scenario import loads_scenario

    key = hashlib.sha256((task.file + task.text + repr(task.overrides)).encode("utf-8")).hexdigest()
    if key not in _scenarios:
        if len(_scenarios) > 16:
            _scenarios.clear()
        _scenarios[key] = loads_scenario(task.text, file=task.file, overrides=dict(task.overrides))
    return _scenarios[key]


def _manager(without: str | None) -> Any:
    from normflow.experiment import PLUGIN_ENV
    from normflow.plugins import get_plugin_manager

    key = (*(os.environ.get(k) for k in PLUGIN_ENV), without)
    if key not in _managers:
        pm = get_plugin_manager()
        if without is not None and pm.has_plugin(without):
            pm.unregister(name=without)
        _managers[key] = pm
    return _managers[key]


def _without_plugin(scenario: Scenario, plugin: str) -> Scenario:
    """The scenario no longer requiring ``plugin`` (its section stays, unread)."""
    changes: dict[str, Any] = {"require": tuple(p for p in scenario.plugins.require if p != plugin)}
    use = getattr(scenario.plugins, "use", None)
    if use is not None:  # scenarios that list the plugins they use
        changes["use"] = tuple(p for p in use if p != plugin)
    return attrs.evolve(scenario, plugins=attrs.evolve(scenario.plugins, **changes))


def run_one(task: Task) -> dict[str, Any]:
    """One replication: the milestones reached (name -> day or None)."""
    from normflow.simulation import Simulation

    scenario = _scenario(task)
    off = task.off
    interventions = Interventions()
    without = None
    if off is not None and off.kind == "core":
        interventions = Interventions(off=(off.name,))
    elif off is not None:
        without = off.name
        scenario = _without_plugin(scenario, off.name)
    sim = Simulation(
        scenario,
        np.random.SeedSequence(task.seed, spawn_key=(task.replication,)),
        plugin_manager=_manager(without),
        interventions=interventions,
    )
    result: RunResult = sim.run()
    return {
        "arm": None if off is None else off.label,
        "replication": task.replication,
        "horizon": scenario.horizon,
        "milestones": dict(result.milestones),
        "plugins": sorted(sim.plugin_versions),
    }


def _failed(task: Task, exc: BaseException) -> dict[str, Any]:
    return {"error": f"{type(exc).__name__}: {exc}", "arm": task.off, "replication": task.replication}


def _rows(tasks: list[Task], workers: int) -> Iterator[dict[str, Any]]:
    if workers <= 1:
        for task in tasks:
            try:
                yield run_one(task)
            except Exception as exc:
                yield _failed(task, exc)
        return
    from normflow.experiment import map_in_pool

    yield from map_in_pool(run_one, tasks, workers, _failed)


# -- analysis ------------------------------------------------------------------------


def _effect(base: np.ndarray, off: np.ndarray) -> tuple[float | None, float | None, float | None]:
    from normflow.stats import mean_interval

    ci = mean_interval(base - off)
    return ci["mean"], ci["low"], ci["high"]


def _excludes_zero(low: float | None, high: float | None) -> bool:
    return low is not None and high is not None and (low > 0.0 or high < 0.0)


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def analyze(
    baseline: list[dict[str, Any]], arms: dict[str, list[dict[str, Any]]], runs: int
) -> list[dict[str, Any]]:
    """Per mechanism (arm label -> its rows, by replication) the paired effect
    on every milestone, and whether it is inert."""
    base = {r["replication"]: r for r in baseline}
    out = []
    for label, rows in arms.items():
        by_rep = {r["replication"]: r for r in rows}
        reps = sorted(set(base) & set(by_rep))
        names = sorted({m for r in reps for m in (*base[r]["milestones"], *by_rep[r]["milestones"])})
        effects = []
        inert = True
        for name in names:

            def hit(row: dict[str, Any], name: str = name) -> float:
                return 0.0 if row["milestones"].get(name) is None else 1.0

            def days(row: dict[str, Any], name: str = name) -> float:
                t = row["milestones"].get(name)
                return float(row["horizon"]) if t is None else float(t)

            b_hit = np.array([hit(base[r]) for r in reps])
            o_hit = np.array([hit(by_rep[r]) for r in reps])
            b_days = np.array([days(base[r]) for r in reps])
            o_days = np.array([days(by_rep[r]) for r in reps])
            s, s_lo, s_hi = _effect(b_hit, o_hit)
            d, d_lo, d_hi = _effect(b_days, o_days)
            if is_outcome(name) and (_excludes_zero(s_lo, s_hi) or _excludes_zero(d_lo, d_hi)):
                inert = False
            effects.append(
                {
                    "milestone": name,
                    "share_diff": _round(s),
                    "share_low": _round(s_lo),
                    "share_high": _round(s_hi),
                    "time_diff": _round(d),
                    "time_low": _round(d_lo),
                    "time_high": _round(d_hi),
                }
            )
        out.append({"name": label, "inert": inert, "effects": effects})
    return out


def run_knockout(
    scenario: str,
    runs: int = 100,
    seed: int = 0,
    workers: int = 1,
    overrides: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the knockout study of ``scenario`` (a bundled name or a path) and
    return ``{"scenario", "runs", "mechanisms": [{"name", "inert",
    "effects": [...]}]}``. Raises ``KnockoutError`` or ``ScenarioError``."""
    from normflow.scenario import load_scenario, resolve_scenario_path

    if runs < 2:
        raise KnockoutError(f"-n/--runs: got {runs}; expected at least 2 paired replications")
    path = resolve_scenario_path(scenario)
    loaded = load_scenario(path, overrides=overrides)
    text = path.read_text(encoding="utf-8")
    items = tuple(sorted((overrides or {}).items()))
    plugins = _loaded_plugins(loaded)
    mechanisms = mechanisms_of(loaded, plugins)
    arms: list[Mechanism | None] = [None, *mechanisms]
    tasks = [Task(text, str(path), items, seed, k, m) for m in arms for k in range(runs)]
    rows: dict[str | None, list[dict[str, Any]]] = {None: [], **{m.label: [] for m in mechanisms}}
    done = 0
    for row in _rows(tasks, workers):
        if "error" in row:
            raise KnockoutError(
                f"a replication failed ({row['arm']}, replication {row['replication']}): {row['error']}"
            )
        rows[row["arm"]].append(row)
        done += 1
        if progress is not None:
            progress(done, len(tasks))
    baseline = rows.pop(None)
    return {
        "scenario": loaded.name,
        "runs": runs,
        "mechanisms": analyze(baseline, rows, runs),
    }


def _loaded_plugins(scenario: Scenario) -> list[str]:
    """The plugins a run of ``scenario`` loads (a dry setup, no run)."""
    from normflow.simulation import Simulation

    sim = Simulation(scenario, 0, plugin_manager=_manager(None))
    return sorted(sim.plugin_versions)
