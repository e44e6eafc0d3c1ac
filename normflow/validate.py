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
from pathlib import Path
from typing import Any

import attrs
import numpy as np

# the posterior reader is the calibration's (the hypotheses over draws share it);
# bundled_posteriors and resolve_posterior stay importable from here
from normflow.calibration.posterior import bundled_posteriors as bundled_posteriors
from normflow.calibration.posterior import read_posterior, resolve_posterior
from normflow.facts import CountBy, SoonerWithout, check_milestones, fact_name, without_partnership
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


#: What the null arm is, as reported.
NULL_ARM = "the campaign switched off: no civil-society groups, populations or ties (same seeds)"


@attrs.frozen
class FactSummary:
    name: str
    holds: int
    runs: int
    share: float
    low: float
    high: float
    # median, 10th and 90th percentile of what a fact measures: a count or share
    # (count facts), the days gained (sooner_than_without facts), the value (targets;
    # a milestone's date as a decimal year)
    measured: tuple[float, float, float] | None = None
    kind: str = "fact"  # or "target"
    descriptive: bool = False
    # the share of null-arm runs in which it holds (None without a null arm)
    null_share: float | None = None

    @property
    def informative(self) -> bool | None:
        """False when the fact holds in at least half of the null-arm runs:
        it cannot tell the campaign's effect from its absence."""
        return None if self.null_share is None else self.null_share < 0.5

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "share": round(self.share, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "holds": self.holds,
            "runs": self.runs,
            "null_share": None if self.null_share is None else round(self.null_share, 4),
            "informative": self.informative,
            "descriptive": self.descriptive,
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
    null_arm: bool = False
    posterior: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "runs": self.runs,
            "seed": self.seed,
            "local_government_role": self.local_government_role,
            "posterior": self.posterior,
            "null_arm": NULL_ARM if self.null_arm else None,
            "facts": [f.to_dict() for f in self.facts],
            "milestones": [m.to_dict() for m in self.milestones],
        }


# -- one replication (runs in a worker process when there is a pool) ----------

_WORKER: dict[str, Any] = {}


class ReplicationFailed(Exception):
    """A replication raised in a worker process (the message names where)."""


def null_arm(scenario: Scenario) -> Scenario:
    """The scenario with its campaign switched off: no civil-society groups,
    group populations or ties between groups. States, local governments,
    negotiations and scheduled events (state visits among them) stay, so
    what still happens is what the case's setting produces on its own."""
    from normflow.scenario import CivilSociety

    return attrs.evolve(scenario, civil_society=CivilSociety(), ties=())


def checks_of(scenario: Scenario) -> tuple[Any, ...]:
    """What validate evaluates: the facts, then the targets."""
    return (*scenario.facts, *scenario.targets)


def _init_worker(
    scenario: Scenario,
    role: float,
    in_pool: bool = False,
    null: bool = False,
    data: dict[str, Any] | None = None,
    interventions: Interventions | None = None,
) -> None:
    _WORKER["scenario"] = scenario
    _WORKER["role"] = role
    _WORKER["interventions"] = interventions
    _WORKER["null"] = null
    _WORKER["data"] = data
    _WORKER["counterfactuals"] = {}
    _WORKER["in_pool"] = in_pool
    if in_pool:
        # the parent process has already shown plugin load warnings once
        warnings.filterwarnings("ignore", category=PluginLoadWarning)


def replicate_in_pool(item: Any) -> dict[str, Any]:
    """``replicate`` for a worker process: errors come back as text, since the
    project's exceptions carry more than a message and do not unpickle."""
    try:
        return replicate(item)
    except Exception as exc:
        return {"error": str(exc) or type(exc).__name__}


def _evaluate(
    scenario: Scenario, seed: np.random.SeedSequence, role: float
) -> tuple[Any, list[bool], list[Any]]:
    interventions = _WORKER.get("interventions")
    result = Simulation(scenario, seed, local_government_role=role, interventions=interventions).run()
    holds: list[bool] = []
    measured: list[float | None] = []
    paired: dict[tuple[str, ...], RunResult] = {}
    for fact in checks_of(scenario):
        if isinstance(fact, SoonerWithout):
            key = fact.sooner_than_without.partnership
            if key not in paired:
                paired[key] = Simulation(
                    without_partnership(scenario, *key),
                    seed,
                    local_government_role=role,
                    interventions=interventions,
                ).run()
            holds.append(fact.holds_pair(result, paired[key]))
            measured.append(fact.gain(result, paired[key]))
        else:
            holds.append(fact.holds(result))
            if isinstance(fact, CountBy):
                measured.append(fact.value(result))
            elif hasattr(fact, "shown"):
                measured.append(fact.shown(result))
            else:
                measured.append(None)
    return result, holds, measured


def replicate(item: Any) -> dict[str, Any]:
    """Run one replication (and its null arm) and reduce it to what the
    validation needs. ``item`` is a seed, or a seed and the parameter values
    (path -> value) of a posterior draw."""
    seed, overrides = item if isinstance(item, tuple) else (item, None)
    scenario: Scenario = _WORKER["scenario"]
    if overrides:
        from normflow.scenario import scenario_from_dict

        drawn = scenario_from_dict(_WORKER["data"], file=scenario.source or "<scenario>", overrides=overrides)
        # the plugin selection made for this validation (--with/--without) stays; the plugins'
        # sections are the drawn ones (a posterior may set a plugin's parameter)
        chosen = scenario.plugins
        scenario = attrs.evolve(
            drawn, plugins=attrs.evolve(drawn.plugins, added=chosen.added, removed=chosen.removed)
        )
    role: float = _WORKER["role"]
    result, holds, measured = _evaluate(scenario, seed, role)
    out: dict[str, Any] = {"milestones": dict(result.milestones), "holds": holds, "measured": measured}
    if _WORKER.get("null"):
        out["null_holds"] = _evaluate(null_arm(scenario), seed, role)[1]
    return out


# -- posterior draws ---------------------------------------------------------------


def posterior_draws(directory: str | Path, runs: int, seed: int, scenario: str) -> list[dict[str, Any]]:
    """``runs`` parameter sets drawn (with replacement, by weight) from the
    posterior of the calibration in ``directory`` (or of the bundled
    posterior of that name), as path -> value."""
    posterior = read_posterior(resolve_posterior(directory), scenario)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x706F7374,)))
    return [posterior.overrides(int(r)) for r in posterior.resample(runs, rng)]


# -- the replications and their summary --------------------------------------


def validate(
    scenario: Scenario,
    runs: int,
    seed: int = 0,
    *,
    local_government_role: float = 1.0,
    workers: int = 1,
    null: bool = True,
    posterior: str | Path | None = None,
    on_done: Callable[[], None] | None = None,
    interventions: Interventions | None = None,
) -> Validation:
    """Run ``runs`` replications of ``scenario`` and summarize its facts,
    targets and milestones. With ``null``, each replication also runs the
    null arm (``null_arm``) with the same seed, and each fact reports the
    share of null runs in which it holds. With ``posterior`` (a calibration
    directory), replication k runs with parameters drawn from the posterior.
    Under ``interventions``, when given, every run is a counterfactual."""
    seeds = replication_seeds(seed, runs)
    items: list[Any] = list(seeds)
    data = None
    if posterior is not None:
        from normflow.paramspec import scenario_data

        data = scenario_data(scenario.source)[0] if scenario.source else None
        if data is None:
            raise ValueError("validate(posterior=...) needs a scenario loaded from a file")
        draws = posterior_draws(posterior, runs, seed, scenario.name)
        items = list(zip(seeds, draws, strict=True))
    outcomes: list[dict[str, Any]] = []
    # A first look, in this process, before any work: required plugins and
    # plugin sections are checked when a simulation is built, and the
    # milestones the facts name must be declared by the scenario as written
    # (a counterfactual may remove some, e.g. partner channels; then they are
    # simply not reached).
    Simulation(scenario, seeds[0], local_government_role=local_government_role)
    declared = Simulation(scenario, seeds[0]).run(until=1e-9).milestones
    check_milestones(scenario.facts, declared, scenario.source)
    from normflow.targets import check_target_milestones

    check_target_milestones(scenario.targets, declared, scenario.source)
    if workers <= 1 or runs <= 1:
        _init_worker(scenario, local_government_role, null=null, data=data, interventions=interventions)
        for it in items:
            outcomes.append(replicate(it))
            if on_done:
                on_done()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(scenario, local_government_role, True, null, data, interventions),
        ) as pool:
            for k, out in enumerate(pool.map(replicate_in_pool, items)):
                if "error" in out:
                    raise ReplicationFailed(f"replication {k} of {scenario.name}: {out['error']}")
                outcomes.append(out)
                if on_done:
                    on_done()
    report = summarize(scenario, outcomes, seed, local_government_role)
    return attrs.evolve(report, null_arm=null, posterior=None if posterior is None else str(posterior))


def summarize(scenario: Scenario, outcomes: list[dict[str, Any]], seed: int, role: float) -> Validation:
    n = len(outcomes)
    facts = tuple(_fact_summary(i, fact, outcomes) for i, fact in enumerate(checks_of(scenario)))
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


def _fact_summary(i: int, fact: Any, outcomes: list[dict[str, Any]]) -> FactSummary:
    from normflow.targets import target_name

    n = len(outcomes)
    k = sum(1 for o in outcomes if o["holds"][i])
    low, high = wilson(k, n)
    measured = None
    values = [o["measured"][i] for o in outcomes]
    if n and all(v is not None for v in values):
        med, p10, p90 = np.percentile(values, [50, 10, 90])
        measured = (round(float(med), 4), round(float(p10), 4), round(float(p90), 4))
    null_share = None
    if n and all("null_holds" in o for o in outcomes):
        null_share = sum(1 for o in outcomes if o["null_holds"][i]) / n
    is_target = hasattr(fact, "observed")
    return FactSummary(
        target_name(fact) if is_target else fact_name(fact),
        k,
        n,
        k / n if n else 0.0,
        low,
        high,
        measured,
        kind="target" if is_target else "fact",
        descriptive=bool(getattr(fact, "descriptive", False)),
        null_share=null_share,
    )


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
    drawn = "" if report.posterior is None else f", parameters drawn from the posterior in {report.posterior}"
    facts = Table(
        title=f"{report.scenario}: stylized facts over {report.runs} runs (seed {report.seed}{role}{drawn})"
    )
    facts.add_column("fact or target")
    facts.add_column("holds", justify="right")
    facts.add_column("95% interval", justify="right")
    if report.null_arm:
        facts.add_column("without campaign", justify="right")
    facts.add_column("measured (median, p10-p90)", justify="right")
    for f in report.facts:
        measured = (
            "" if f.measured is None else f"{f.measured[0]:.4g} ({f.measured[1]:.4g}-{f.measured[2]:.4g})"
        )
        label = escape(f.name) + (" [dim](target)[/dim]" if f.kind == "target" else "")
        if f.descriptive:
            label += " [dim](descriptive)[/dim]"
        elif f.informative is False:
            label += " [bold red](uninformative)[/bold red]"
        row = [label, percent(f.share), f"{percent(f.low)}-{percent(f.high)}"]
        if report.null_arm:
            row.append("" if f.null_share is None else percent(f.null_share))
        facts.add_row(*row, measured)
    if report.facts:
        console.print(facts)
    else:
        console.print(escape(f"{report.scenario} declares no [[facts]] and no [[targets]]"))
    if report.null_arm and report.facts:
        console.print(
            escape(f"without campaign: the null arm, {NULL_ARM}. ")
            + "A fact that holds in at least half of those runs is uninformative: it cannot tell the "
            "campaign's effect from its absence (a fact marked descriptive = true is exempt)."
        )
    table = Table(title="milestones")
    table.add_column("milestone")
    table.add_column("reached", justify="right")
    table.add_column("median")
    table.add_column("10th-90th percentile")
    for m in report.milestones:
        span = "" if m.p10 is None else f"{m.p10} - {m.p90}"
        table.add_row(m.name, percent(m.reached), m.median or "", span)
    console.print(table)
