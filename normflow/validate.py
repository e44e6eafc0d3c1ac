"""``normflow validate``: how well a scenario reproduces its stylized facts.

Runs replications of a scenario (replication k seeded with the k-th child of
the base seed, ``normflow.replication_seeds``), evaluates every ``[[facts]]``
entry on each run, and reports for each fact the share of runs in which it
holds with a 95% Wilson interval, and for each milestone the share of runs
that reached it with the median and the 10th-90th percentile dates among
those. It reports; it does not judge -- the exit status is 0 whatever the
shares.

``local_government_role`` is the counterfactual switch of
``Simulation``: 0 removes local governments' role (no venues, no access, no
partner links abroad), other values scale it. A ``sooner_than_without``
fact runs each replication a second time, with the same seed, without the
named partnership.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs
import numpy as np

from normflow.facts import CountBy, Fact, SoonerWithout, check_milestones, fact_name, without_partnership
from normflow.interventions import Interventions
from normflow.plugins import PluginLoadWarning
from normflow.rng import replication_seeds
from normflow.scenario import Scenario
from normflow.simulation import RunResult, Simulation

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial share (0, 1 when there are no runs)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@attrs.frozen
class FactSummary:
    name: str
    holds: int
    runs: int
    share: float
    low: float
    high: float
    # median, 10th and 90th percentile of what a fact measures: a count or share
    # (count facts), the days gained (sooner_than_without facts)
    measured: tuple[float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "share": round(self.share, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "holds": self.holds,
            "runs": self.runs,
        }
        if self.measured is not None:
            out["measured"] = dict(zip(("median", "p10", "p90"), self.measured, strict=True))
        return out


@attrs.frozen
class MilestoneSummary:
    name: str
    reached: float
    median: str | None
    p10: str | None
    p90: str | None

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Validation:
    scenario: str
    runs: int
    seed: int
    local_government_role: float
    facts: tuple[FactSummary, ...]
    milestones: tuple[MilestoneSummary, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "runs": self.runs,
            "seed": self.seed,
            "local_government_role": self.local_government_role,
            "facts": [f.to_dict() for f in self.facts],
            "milestones": [m.to_dict() for m in self.milestones],
        }


# -- one replication (runs in a worker process when there is a pool) ----------

_WORKER: dict[str, Any] = {}


class ReplicationFailed(Exception):
    """A replication raised in a worker process (the message names where)."""


def _init_worker(
    scenario: Scenario, role: float, in_pool: bool = False, interventions: Interventions | None = None
) -> None:
    _WORKER["scenario"] = scenario
    _WORKER["role"] = role
    _WORKER["interventions"] = interventions
    _WORKER["counterfactuals"] = {}
    _WORKER["in_pool"] = in_pool
    if in_pool:
        # the parent process has already shown plugin load warnings once
        warnings.filterwarnings("ignore", category=PluginLoadWarning)


def replicate_in_pool(seed: np.random.SeedSequence) -> dict[str, Any]:
    """``replicate`` for a worker process: errors come back as text, since the
    project's exceptions carry more than a message and do not unpickle."""
    try:
        return replicate(seed)
    except Exception as exc:
        return {"error": str(exc) or type(exc).__name__}


def _counterfactual(scenario: Scenario, fact: SoonerWithout) -> Scenario:
    cache: dict[tuple[str, ...], Scenario] = _WORKER.setdefault("counterfactuals", {})
    key = fact.sooner_than_without.partnership
    if key not in cache:
        cache[key] = without_partnership(scenario, *key)
    return cache[key]


def replicate(seed: np.random.SeedSequence) -> dict[str, Any]:
    """Run one replication and reduce it to what the validation needs."""
    scenario: Scenario = _WORKER["scenario"]
    role: float = _WORKER["role"]
    interventions = _WORKER.get("interventions")
    result = Simulation(scenario, seed, local_government_role=role, interventions=interventions).run()
    holds: list[bool] = []
    measured: list[float | None] = []
    paired: dict[tuple[str, ...], RunResult] = {}
    for fact in scenario.facts:
        if isinstance(fact, SoonerWithout):
            key = fact.sooner_than_without.partnership
            if key not in paired:
                paired[key] = Simulation(
                    _counterfactual(scenario, fact),
                    seed,
                    local_government_role=role,
                    interventions=interventions,
                ).run()
            holds.append(fact.holds_pair(result, paired[key]))
            measured.append(fact.gain(result, paired[key]))
        else:
            holds.append(fact.holds(result))
            measured.append(fact.value(result) if isinstance(fact, CountBy) else None)
    return {"milestones": dict(result.milestones), "holds": holds, "measured": measured}


# -- the replications and their summary --------------------------------------


def validate(
    scenario: Scenario,
    runs: int,
    seed: int = 0,
    *,
    local_government_role: float = 1.0,
    workers: int = 1,
    on_done: Callable[[], None] | None = None,
    interventions: Interventions | None = None,
) -> Validation:
    """Run ``runs`` replications of ``scenario`` and summarize its facts and
    milestones (under ``interventions``, when given: a counterfactual)."""
    seeds = replication_seeds(seed, runs)
    outcomes: list[dict[str, Any]] = []
    # A first look, in this process, before any work: required plugins and
    # plugin sections are checked when a simulation is built, and the
    # milestones the facts name must be declared by the scenario as written
    # (a counterfactual may remove some, e.g. partner channels; then they are
    # simply not reached).
    Simulation(scenario, seeds[0], local_government_role=local_government_role)
    declared = Simulation(scenario, seeds[0]).run(until=1e-9).milestones
    check_milestones(scenario.facts, declared, scenario.source)
    if workers <= 1 or runs <= 1:
        _init_worker(scenario, local_government_role, False, interventions)
        for s in seeds:
            outcomes.append(replicate(s))
            if on_done:
                on_done()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(scenario, local_government_role, True, interventions),
        ) as pool:
            for k, out in enumerate(pool.map(replicate_in_pool, seeds)):
                if "error" in out:
                    raise ReplicationFailed(f"replication {k} of {scenario.name}: {out['error']}")
                outcomes.append(out)
                if on_done:
                    on_done()
    return summarize(scenario, outcomes, seed, local_government_role)


def summarize(scenario: Scenario, outcomes: list[dict[str, Any]], seed: int, role: float) -> Validation:
    n = len(outcomes)
    facts = tuple(_fact_summary(i, fact, outcomes) for i, fact in enumerate(scenario.facts))
    names: list[str] = []
    for out in outcomes:
        names.extend(m for m in out["milestones"] if m not in names)
    milestones = []
    for name in names:
        times = np.array([o["milestones"][name] for o in outcomes if o["milestones"].get(name) is not None])
        if len(times) == 0:
            milestones.append(MilestoneSummary(name, 0.0, None, None, None))
            continue
        p10, med, p90 = np.percentile(times, [10, 50, 90])
        milestones.append(
            MilestoneSummary(
                name,
                len(times) / n,
                _date(scenario, med),
                _date(scenario, p10),
                _date(scenario, p90),
            )
        )
    return Validation(scenario.name, n, seed, role, facts, tuple(milestones))


def _fact_summary(i: int, fact: Fact, outcomes: list[dict[str, Any]]) -> FactSummary:
    n = len(outcomes)
    k = sum(1 for o in outcomes if o["holds"][i])
    low, high = wilson(k, n)
    measured = None
    if isinstance(fact, CountBy | SoonerWithout) and n:
        values = [o["measured"][i] for o in outcomes]
        med, p10, p90 = np.percentile(values, [50, 10, 90])
        measured = (round(float(med), 4), round(float(p10), 4), round(float(p90), 4))
    return FactSummary(fact_name(fact), k, n, k / n if n else 0.0, low, high, measured)


def _date(scenario: Scenario, t: float) -> str:
    return (scenario.start + dt.timedelta(days=math.floor(t))).isoformat()


def percent(x: float) -> str:
    """A share as a whole percentage, never rounding a rare event to 0% or 100%."""
    if 0.0 < x < 0.01:
        return "<1%"
    if 0.99 < x < 1.0:
        return ">99%"
    return f"{x:.0%}"


def print_validation(report: Validation, console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    role = (
        ""
        if report.local_government_role == 1.0
        else f", local-government role {report.local_government_role:g}"
    )
    facts = Table(
        title=f"{report.scenario}: stylized facts over {report.runs} runs (seed {report.seed}{role})"
    )
    facts.add_column("fact")
    facts.add_column("holds", justify="right")
    facts.add_column("95% interval", justify="right")
    facts.add_column("measured (median, p10-p90)", justify="right")
    for f in report.facts:
        measured = (
            "" if f.measured is None else f"{f.measured[0]:.4g} ({f.measured[1]:.4g}-{f.measured[2]:.4g})"
        )
        facts.add_row(escape(f.name), percent(f.share), f"{percent(f.low)}-{percent(f.high)}", measured)
    if report.facts:
        console.print(facts)
    else:
        console.print(escape(f"{report.scenario} declares no [[facts]]"))
    table = Table(title="milestones")
    table.add_column("milestone")
    table.add_column("reached", justify="right")
    table.add_column("median")
    table.add_column("10th-90th percentile")
    for m in report.milestones:
        span = "" if m.p10 is None else f"{m.p10} - {m.p90}"
        table.add_row(m.name, percent(m.reached), m.median or "", span)
    console.print(table)
