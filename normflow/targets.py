"""Calibration targets: historical values a scenario's runs should come close to.

A fact (``normflow.facts``) is a yes/no check; a *target* is a number the
record gives -- a milestone's date, a count or a share by a date -- with a
tolerance that follows how precisely the source gives it. A scenario lists
them as ``[[targets]]`` tables:

================================================  =========================================
TOML keys                                         the target
================================================  =========================================
``milestone, date, precision = "month"``          milestone X is reached on ``date``; a date
                                                  known to the month is met within +-6 months,
                                                  to the year within +-1 year
``milestone, date, tolerance_days = d``           the same with an explicit tolerance
``count, by, value, tolerance``                   the number of Y events up to ``by`` is
                                                  ``value`` +- ``tolerance``
``count, by, value, between = [lo, hi]``          ... within the source's own range
``count, share, by, value, tolerance``            a share (of local governments, or of the
                                                  population covered by resolutions)
================================================  =========================================

Every target may carry a ``name`` and a ``source`` (where the value comes
from). Each serves twice:

* as a *summary statistic* for calibration (``normflow calibrate``): the
  run's value (days since the start for a milestone, censored at the end
  of the run when it is never reached; the count or share), compared with
  the historical value in units of the tolerance;
* as a *fact* for ``normflow validate``: it holds in a run when the run's
  value lies within the tolerance (a milestone never reached does not hold).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Literal

import attrs

from normflow.facts import COUNTABLE, CountBy, milestone_time
from normflow.schema import ScenarioError, structure

if TYPE_CHECKING:
    from normflow.result import RunResult

Scenario = Any  # normflow.scenario.Scenario (which imports this module)

__all__ = [
    "CountTarget",
    "MilestoneDate",
    "Target",
    "distance",
    "observed",
    "parse_targets",
    "replicate_key",
    "replicated_distance",
    "statistics",
]

frozen = attrs.frozen(slots=True, kw_only=True)

#: Tolerance in days of a date given to the day, month or year.
PRECISION_DAYS: dict[str, float] = {"day": 1.0, "month": 183.0, "year": 365.0}


def _decimal_year(start: dt.date, t: float) -> float:
    date = start + dt.timedelta(days=math.floor(t))
    first = dt.date(date.year, 1, 1)
    length = (dt.date(date.year + 1, 1, 1) - first).days
    return round(date.year + (date - first).days / length, 3)


@frozen
class MilestoneDate:
    """Milestone ``milestone`` is reached on ``date``, within the tolerance."""

    milestone: str
    date: dt.date
    precision: Literal["day", "month", "year"] | None = None
    tolerance_days: float | None = None
    name: str = ""
    source: str = ""
    descriptive: bool = False

    @property
    def tolerance(self) -> float:
        if self.tolerance_days is not None:
            return float(self.tolerance_days)
        return PRECISION_DAYS[self.precision or "day"]

    def describe(self) -> str:
        return f"{self.milestone} on {self.date} (+-{self.tolerance:g} days)"

    def milestones(self) -> tuple[str, ...]:
        return (self.milestone,)

    def observed(self, start: dt.date) -> float:
        """The historical value, in days since the scenario's start."""
        return float((self.date - start).days)

    def value(self, result: RunResult) -> float:
        """Days from the start to the milestone; the run's length when it is never reached."""
        t = milestone_time(result, self.milestone)
        return float((result.end - result.start).days) if t is None else float(t)

    def shown(self, result: RunResult) -> float:
        """The run's value as a decimal year (what tables print)."""
        return _decimal_year(result.start, self.value(result))

    def deviation(self, value: float, observed: float) -> float:
        return abs(value - observed) / self.tolerance

    def holds(self, result: RunResult) -> bool:
        t = milestone_time(result, self.milestone)
        return t is not None and self.deviation(float(t), self.observed(result.start)) <= 1.0


@frozen
class CountTarget:
    """The number (or share) of ``count`` events by ``by`` is ``value``,
    within ``tolerance`` or the range ``between``."""

    count: str
    by: dt.date
    value: float
    tolerance: float | None = None
    between: tuple[float, ...] | None = None
    share: Literal["local_governments", "population"] | None = None
    issue: str | None = None
    name: str = ""
    source: str = ""
    descriptive: bool = False

    @property
    def range(self) -> tuple[float, float]:
        if self.between is not None:
            return float(self.between[0]), float(self.between[1])
        tol = float(self.tolerance or 0.0)
        return self.value - tol, self.value + tol

    def _measure(self) -> CountBy:
        return CountBy(count=self.count, by=self.by, between=self.range, share=self.share, issue=self.issue)

    def describe(self) -> str:
        what = self.count if self.share is None else f"{self.count} (share of {self.share.replace('_', ' ')})"
        lo, hi = self.range
        return f"{what} by {self.by}: {self.value:g} [{lo:g}, {hi:g}]"

    def milestones(self) -> tuple[str, ...]:
        return ()

    def observed(self, start: dt.date) -> float:
        return float(self.value)

    def measure(self, result: RunResult) -> float:
        return self._measure().value(result)

    def shown(self, result: RunResult) -> float:
        return self.measure(result)

    def deviation(self, value: float, observed: float) -> float:
        lo, hi = self.range
        if value == observed:
            return 0.0
        span = hi - observed if value > observed else observed - lo
        return abs(value - observed) / span if span > 0 else math.inf

    def holds(self, result: RunResult) -> bool:
        lo, hi = self.range
        return lo <= self.measure(result) <= hi


Target = MilestoneDate | CountTarget

_VOCABULARY = (
    "a target table: {milestone, date, precision = day|month|year (or tolerance_days)} or "
    "{count, by = date, value, tolerance (or between = [low, high]), share?}"
)


def target_name(target: Target) -> str:
    return target.name or target.describe()


def target_value(target: Target, result: RunResult) -> float:
    """The run's value of ``target``: the summary statistic calibration compares."""
    if isinstance(target, MilestoneDate):
        return target.value(result)
    return target.measure(result)


def parse_target(data: Any, path: str) -> Target:
    """One ``[[targets]]`` table; errors name ``path``."""
    if not isinstance(data, dict):
        raise ScenarioError(path, data, _VOCABULARY)
    if "milestone" in data:
        target: Target = structure(MilestoneDate, data, path)
        if (target.precision is None) == (target.tolerance_days is None):
            raise ScenarioError(path, data, "exactly one of precision (day, month, year) and tolerance_days")
        if target.tolerance_days is not None and not target.tolerance_days > 0:
            raise ScenarioError(f"{path}.tolerance_days", target.tolerance_days, "a number of days above 0")
        return target
    if "count" not in data:
        raise ScenarioError(path, data, _VOCABULARY)
    target = structure(CountTarget, data, path)
    if target.count not in COUNTABLE:
        raise ScenarioError(f"{path}.count", target.count, f"one of {sorted(COUNTABLE)}")
    if (target.tolerance is None) == (target.between is None):
        raise ScenarioError(path, data, "exactly one of tolerance and between = [low, high]")
    if target.tolerance is not None and not target.tolerance > 0:
        raise ScenarioError(f"{path}.tolerance", target.tolerance, "a number above 0")
    if target.between is not None:
        lo, hi = (target.between + (math.nan, math.nan))[:2]
        if len(target.between) != 2 or not lo <= target.value <= hi or lo == hi:
            raise ScenarioError(
                f"{path}.between", list(target.between), f"[low, high] around the value {target.value:g}"
            )
    if target.share == "population" and target.count != "resolutions":
        raise ScenarioError(f"{path}.share", target.share, "'population' only with count = \"resolutions\"")
    if target.share is not None and not 0 <= target.value <= 1:
        raise ScenarioError(f"{path}.value", target.value, "a share between 0 and 1")
    return target


def parse_targets(raw: Any, scenario: Scenario | None = None) -> tuple[Target, ...]:
    """All ``[[targets]]`` tables; with ``scenario``, also check their dates and issues."""
    if not isinstance(raw, list | tuple):
        raise ScenarioError("targets", raw, "a list of target tables ([[targets]])")
    targets = tuple(parse_target(item, f"targets[{i}]") for i, item in enumerate(raw))
    seen: dict[str, int] = {}
    for i, target in enumerate(targets):
        name = target_name(target)
        if name in seen:
            raise ScenarioError(f"targets[{i}].name", name, f"a name not used by targets[{seen[name]}]")
        seen[name] = i
    if scenario is not None:
        start, end = scenario.scenario.start, scenario.scenario.end
        issues = {x.id for x in scenario.issues}
        for i, target in enumerate(targets):
            date, key = (target.date, "date") if isinstance(target, MilestoneDate) else (target.by, "by")
            if not start <= date <= end:
                raise ScenarioError(
                    f"targets[{i}].{key}", date.isoformat(), f"a date between {start} and {end}"
                )
            if isinstance(target, CountTarget):
                if target.issue is not None and target.issue not in issues:
                    raise ScenarioError(
                        f"targets[{i}].issue", target.issue, f"one of the issues {sorted(issues)}"
                    )
                if target.share is not None and target.issue is None and len(issues) > 1:
                    raise ScenarioError(f"targets[{i}].issue", None, "the issue the share is of")
    return targets


def check_target_milestones(
    targets: tuple[Target, ...], known: dict[str, Any], file: str | None = None
) -> None:
    """Every milestone a target names must exist in a run (``known``: its milestones)."""
    for i, target in enumerate(targets):
        if isinstance(target, MilestoneDate):
            name = target.milestone
            found = any(m.startswith(name[:-1]) for m in known) if name.endswith("*") else name in known
            if not found:
                raise ScenarioError(
                    f"targets[{i}].milestone",
                    name,
                    f"a milestone of this scenario ({', '.join(sorted(known))})",
                    file,
                )


# -- summary statistics for calibration ------------------------------------------------


def observed(scenario: Scenario) -> dict[str, float]:
    """The historical values of ``scenario``'s targets, by target name."""
    return {target_name(t): t.observed(scenario.start) for t in scenario.targets}


def observed_values(targets: tuple[Target, ...], start: Any) -> dict[str, float]:
    """The historical values of ``targets`` for a scenario starting on ``start``."""
    return {target_name(t): t.observed(start) for t in targets}


def statistics(targets: tuple[Target, ...], result: RunResult) -> dict[str, float]:
    """A run's values of the targets, by target name."""
    return {target_name(t): target_value(t, result) for t in targets}


def deviations(targets: tuple[Target, ...], sim: dict[str, float], obs: dict[str, float]) -> dict[str, float]:
    """Each target's distance from the record in units of its tolerance (1 = at the edge)."""
    return {target_name(t): t.deviation(sim[target_name(t)], obs[target_name(t)]) for t in targets}


def replicate_key(name: str, replication: int) -> str:
    """The key of a target's value in replication ``replication`` of a
    particle (the first replication keeps the target's name)."""
    return name if replication == 0 else f"{name} #{replication}"


def replicated_distance(
    targets: tuple[Target, ...],
    sim: dict[str, float],
    obs: dict[str, float],
    replications: int,
    kind: str = "rms",
) -> float:
    """The distance of a particle's ``replications`` runs (``sim`` keyed by
    ``replicate_key``) from the record, in tolerances. ``kind="rms"``: the
    root mean square of the deviations over targets and runs; ``"max"``: the
    largest over targets of each target's root mean square over the runs, so
    that a distance below 1 means every target is met in a typical run (a
    target met easily cannot make up for one missed)."""
    per_target = []
    for t in targets:
        name = target_name(t)
        devs = [t.deviation(sim[replicate_key(name, k)], obs[name]) for k in range(replications)]
        per_target.append(sum(d * d for d in devs) / len(devs) if devs else 0.0)
    if not per_target:
        return 0.0
    if kind == "max":
        return math.sqrt(max(per_target))
    return math.sqrt(sum(per_target) / len(per_target))


def distance(targets: tuple[Target, ...], sim: dict[str, float], obs: dict[str, float]) -> float:
    """The root mean square of the deviations: below 1 when the targets are
    met on average; 0 when the run reproduces the record exactly."""
    devs = list(deviations(targets, sim, obs).values())
    if not devs:
        return 0.0
    return math.sqrt(sum(d * d for d in devs) / len(devs))
