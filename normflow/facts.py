"""Stylized facts: what a calibrated scenario must reproduce, as checks.

A scenario lists its facts as ``[[facts]]`` tables. Each is one sentence of
a small vocabulary, recognised by its keys, and is evaluated on one run's
summary (a ``RunResult``) as true or false; ``normflow validate`` reports the
share of replications in which each holds.

========================================  ==================================================
TOML keys                                 the fact
========================================  ==================================================
``milestone, between = [A, B]``           milestone X is reached between dates A and B
``milestone, not_before = D``             X is not reached before D (or never)
``milestone, before = "Y"``               X is reached, and before Y (or Y never is)
``count, by = D, between = [m, n]``       the number of Y events up to D is in [m, n]
                                          (resolutions: those standing, net of withdrawals);
                                          with ``share = "local_governments"`` or
                                          ``"population"``, as a share of the issue's state
``milestone, sooner_than_without = {..}`` X is reached earlier than in the same replication
                                          run without a partnership (a paired counterfactual)
========================================  ==================================================

Every fact may carry a ``name``; without one, a sentence is generated.
``descriptive = true`` marks a fact that describes the case but cannot tell
the model's mechanisms apart (it also holds without the campaign, see
``normflow validate``'s null arm): it is reported, labelled as such, and
counts for no hypothesis and no calibration.
A milestone name ending in ``*`` stands for the earliest of all milestones
that start with the rest (``channel_used:local_diplomacy:*``: any local
diplomacy channel). Dates are inclusive whole days. Milestone names come from the run (the
core's ``agenda_placed``, ``negotiation_main:<id>``, ... and whatever the
active plugins declare); they are checked against the first run, since
plugins declare theirs only when a run is set up.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import attrs

from normflow.schema import ScenarioError, structure

if TYPE_CHECKING:
    from normflow.result import RunResult

__all__ = [
    "COUNTABLE",
    "CountBy",
    "Fact",
    "HappensBefore",
    "MilestoneBetween",
    "NotBefore",
    "SoonerWithout",
    "check_milestones",
    "milestone_time",
    "parse_facts",
    "without_partnership",
]


class ScenarioParts(Protocol):
    """The parts of a ``normflow.Scenario`` that facts refer to (the scenario
    module imports this one, so it is named by what it offers)."""

    scenario: Any
    issues: Any
    local_governments: Any


S = TypeVar("S", bound=ScenarioParts)

frozen = attrs.frozen(slots=True, kw_only=True)

#: Event series a ``count`` fact may name: the run's ``event_times`` the core
#: records, under their domain names.
COUNTABLE: dict[str, str] = {
    "resolutions": "resolution_passed",
    "coalitions_formed": "coalition_formed",
    "agenda_placements": "agenda_placed",
    "bills_submitted": "bill_submitted",
    "bills_enacted": "bill_enacted",
    "bills_lapsed": "bill_lapsed",
    "negotiations_opened": "negotiation_opened",
    "negotiations_main": "negotiation_main",
    "withdrawals": "resolution_withdrawn",
    "counter_resolutions": "counter_resolution_passed",
}


def _day_end(result: RunResult, date: dt.date) -> float:
    """The first simulated time after the whole day ``date``."""
    return float((date - result.start).days + 1)


def _date(result: RunResult, t: float) -> dt.date:
    return result.start + dt.timedelta(days=math.floor(t))


def milestone_time(result: RunResult, name: str) -> float | None:
    """When ``name`` was reached; a name ending in ``*`` is the earliest of
    the milestones it matches. None when not reached."""
    if not name.endswith("*"):
        return result.milestones.get(name)
    prefix = name[:-1]
    times = [t for m, t in result.milestones.items() if m.startswith(prefix) and t is not None]
    return min(times, default=None)


def _matches(name: str, known: dict[str, Any]) -> bool:
    if name.endswith("*"):
        return any(m.startswith(name[:-1]) for m in known)
    return name in known


@frozen
class MilestoneBetween:
    """Milestone ``milestone`` is reached on a day in ``between`` (inclusive)."""

    milestone: str
    between: tuple[dt.date, ...]
    name: str = ""
    descriptive: bool = False

    def describe(self) -> str:
        return f"{self.milestone} between {self.between[0]} and {self.between[1]}"

    def milestones(self) -> tuple[str, ...]:
        return (self.milestone,)

    def holds(self, result: RunResult) -> bool:
        t = milestone_time(result, self.milestone)
        return t is not None and self.between[0] <= _date(result, t) <= self.between[1]


@frozen
class NotBefore:
    """Milestone ``milestone`` is not reached before ``not_before`` (never counts)."""

    milestone: str
    not_before: dt.date
    name: str = ""
    descriptive: bool = False

    def describe(self) -> str:
        return f"{self.milestone} not before {self.not_before}"

    def milestones(self) -> tuple[str, ...]:
        return (self.milestone,)

    def holds(self, result: RunResult) -> bool:
        t = milestone_time(result, self.milestone)
        return t is None or _date(result, t) >= self.not_before


@frozen
class HappensBefore:
    """``milestone`` is reached, strictly earlier than ``before`` -- which
    may also never be reached within the run."""

    milestone: str
    before: str
    name: str = ""
    descriptive: bool = False

    def describe(self) -> str:
        return f"{self.milestone} before {self.before}"

    def milestones(self) -> tuple[str, ...]:
        return (self.milestone, self.before)

    def holds(self, result: RunResult) -> bool:
        tx = milestone_time(result, self.milestone)
        ty = milestone_time(result, self.before)
        return tx is not None and (ty is None or tx < ty)


@frozen
class CountBy:
    """The number of ``count`` events up to and including day ``by`` lies in
    ``between``; with ``share``, divided by the number of local governments
    of the issue's state, or (resolutions only) the population they cover
    over the state's population."""

    count: str
    by: dt.date
    between: tuple[float, ...]
    share: Literal["local_governments", "population"] | None = None
    issue: str | None = None
    name: str = ""
    descriptive: bool = False

    def describe(self) -> str:
        what = self.count if self.share is None else f"{self.count} (share of {self.share.replace('_', ' ')})"
        lo, hi = self.between
        return f"{what} by {self.by} in [{lo:g}, {hi:g}]"

    def milestones(self) -> tuple[str, ...]:
        return ()

    def value(self, result: RunResult) -> float:
        """The measured count (or share) in ``result``."""
        cutoff = _day_end(result, self.by)
        times = result.event_times.get(COUNTABLE[self.count], [])
        # resolutions are those standing: a withdrawn one no longer counts
        withdrawn = result.event_times.get("resolution_withdrawn", []) if self.count == "resolutions" else []
        if self.share == "population":
            weights = result.event_times.get("resolution_population", [])
            covered = sum(w for t, w in zip(times, weights, strict=False) if t < cutoff)
            lost = result.event_times.get("withdrawn_population", [])
            covered -= sum(w for t, w in zip(withdrawn, lost, strict=False) if t < cutoff)
            total = self._issue_info(result).get("population", 0.0)
            return covered / total if total > 0 else 0.0
        n = sum(1 for t in times if t < cutoff) - sum(1 for t in withdrawn if t < cutoff)
        if self.share == "local_governments":
            total = self._issue_info(result).get("local_governments", 0)
            return n / total if total > 0 else 0.0
        return float(n)

    def _issue_info(self, result: RunResult) -> dict[str, Any]:
        issues = result.final.get("issues", {})
        if self.issue is not None:
            return issues.get(self.issue, {})
        return next(iter(issues.values()), {}) if len(issues) == 1 else {}

    def holds(self, result: RunResult) -> bool:
        lo, hi = self.between
        return lo <= self.value(result) <= hi


@frozen
class Partnership:
    """Two named local governments whose partner link a counterfactual cuts."""

    partnership: tuple[str, ...]


@frozen
class SoonerWithout:
    """``milestone`` is reached, and earlier than in the same replication run
    without the partnership named in ``sooner_than_without`` (where it may
    never be reached): the partnership measurably speeds it up. Evaluated on
    a pair of runs with the same seed."""

    milestone: str
    sooner_than_without: Partnership
    name: str = ""
    descriptive: bool = False

    def describe(self) -> str:
        a, b = self.sooner_than_without.partnership
        return f"{self.milestone} sooner than without the {a}-{b} partnership"

    def milestones(self) -> tuple[str, ...]:
        return (self.milestone,)

    def gain(self, factual: RunResult, counterfactual: RunResult) -> float:
        """Days by which the partnership brings the milestone forward; a run
        that never reaches it counts as reaching it on its last day (so a
        gain is then a lower bound)."""

        def t(result: RunResult) -> float:
            x = milestone_time(result, self.milestone)
            return float((result.end - result.start).days) if x is None else x

        return t(counterfactual) - t(factual)

    def holds_pair(self, factual: RunResult, counterfactual: RunResult) -> bool:
        tx = milestone_time(factual, self.milestone)
        ty = milestone_time(counterfactual, self.milestone)
        return tx is not None and (ty is None or tx < ty)


Fact = MilestoneBetween | NotBefore | HappensBefore | CountBy | SoonerWithout

# The key that tells each kind apart, in the order they are recognised.
_KINDS: tuple[tuple[str, type], ...] = (
    ("count", CountBy),
    ("sooner_than_without", SoonerWithout),
    ("before", HappensBefore),
    ("not_before", NotBefore),
    ("between", MilestoneBetween),
)

_VOCABULARY = (
    "a fact table: {milestone, between = [date, date]}, {milestone, not_before = date}, "
    "{milestone, before = milestone}, {count, by = date, between = [low, high], share?} or "
    "{milestone, sooner_than_without = {partnership = [a, b]}}"
)


def fact_name(fact: Fact) -> str:
    return fact.name or fact.describe()


def parse_fact(data: Any, path: str) -> Fact:
    """One ``[[facts]]`` table as a fact object; errors name ``path``."""
    if not isinstance(data, dict):
        raise ScenarioError(path, data, _VOCABULARY)
    cls = next((c for key, c in _KINDS if key in data), None)
    if cls is None:
        raise ScenarioError(path, data, _VOCABULARY)
    fact = structure(cls, data, path)
    if isinstance(fact, MilestoneBetween | CountBy):
        if len(fact.between) != 2:
            raise ScenarioError(f"{path}.between", list(fact.between), "two values [low, high]")
        if fact.between[0] > fact.between[1]:
            raise ScenarioError(f"{path}.between", list(fact.between), "[low, high] with low <= high")
    if isinstance(fact, CountBy):
        if fact.count not in COUNTABLE:
            raise ScenarioError(f"{path}.count", fact.count, f"one of {sorted(COUNTABLE)}")
        if fact.share == "population" and fact.count != "resolutions":
            raise ScenarioError(f"{path}.share", fact.share, "'population' only with count = \"resolutions\"")
        if fact.share is not None and fact.between[1] > 1.0:
            raise ScenarioError(f"{path}.between", list(fact.between), "shares between 0 and 1")
    if isinstance(fact, SoonerWithout) and len(fact.sooner_than_without.partnership) != 2:
        raise ScenarioError(
            f"{path}.sooner_than_without.partnership",
            list(fact.sooner_than_without.partnership),
            "two local government ids",
        )
    return fact


def parse_facts(raw: Any, scenario: ScenarioParts | None = None) -> tuple[Fact, ...]:
    """All ``[[facts]]`` tables; with ``scenario``, also check what they refer to."""
    if not isinstance(raw, list | tuple):
        raise ScenarioError("facts", raw, "a list of fact tables ([[facts]])")
    facts = tuple(parse_fact(item, f"facts[{i}]") for i, item in enumerate(raw))
    if scenario is not None:
        _check_references(facts, scenario)
    return facts


def _check_references(facts: tuple[Fact, ...], scenario: ScenarioParts) -> None:
    start, end = scenario.scenario.start, scenario.scenario.end
    issues = {x.id for x in scenario.issues}
    for i, fact in enumerate(facts):
        path = f"facts[{i}]"
        if isinstance(fact, CountBy):
            if fact.issue is not None and fact.issue not in issues:
                raise ScenarioError(f"{path}.issue", fact.issue, f"one of the issues {sorted(issues)}")
            if fact.share is not None and fact.issue is None and len(issues) > 1:
                raise ScenarioError(f"{path}.issue", None, "the issue the share is of (several are declared)")
            if not start <= fact.by <= end:
                raise ScenarioError(f"{path}.by", fact.by.isoformat(), f"a date between {start} and {end}")
        if isinstance(fact, SoonerWithout):
            a, b = fact.sooner_than_without.partnership
            named = {x.id: x for x in scenario.local_governments.named}
            where = f"{path}.sooner_than_without.partnership"
            for x in (a, b):
                if x not in named:
                    raise ScenarioError(where, x, f"a named local government ({', '.join(sorted(named))})")
            if b not in named[a].partners and a not in named[b].partners:
                raise ScenarioError(where, [a, b], "two local governments declared as partners")


def check_milestones(facts: tuple[Fact, ...], known: dict[str, Any], file: str | None = None) -> None:
    """Every milestone a fact names must exist in a run (``known``: its milestones)."""
    for i, fact in enumerate(facts):
        keys = ("milestone", "before") if isinstance(fact, HappensBefore) else ("milestone",)
        for key in keys:
            name = getattr(fact, key, None)
            if name is not None and not _matches(name, known):
                raise ScenarioError(
                    f"facts[{i}].{key}",
                    name,
                    f"a milestone of this scenario ({', '.join(sorted(known))})",
                    file,
                )


def without_partnership(scenario: S, a: str, b: str) -> S:
    """The same scenario with the partner link between ``a`` and ``b`` cut
    (both directions): the counterfactual of a ``sooner_than_without`` fact."""
    named = tuple(
        attrs.evolve(x, partners=tuple(p for p in x.partners if {x.id, p} != {a, b}))
        for x in scenario.local_governments.named
    )
    lgs = attrs.evolve(scenario.local_governments, named=named)
    return attrs.evolve(scenario, local_governments=lgs)
