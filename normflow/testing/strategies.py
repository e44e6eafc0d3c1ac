"""Hypothesis strategies for normflow: scenarios, actors, issues, events and
sequences of pressure.

Scenarios are generated as the plain data a TOML file holds (dictionaries,
lists, dates, numbers) and go through the real loader,
``normflow.scenario.scenario_from_dict``, so a generated scenario is valid
exactly when a user's file would be. ``scenario_dicts`` draws valid ones of
any size within the bounds you give; ``invalid_scenario_dicts`` breaks one
thing in a valid one and says what and where, for the error paths;
``mutated_scenario_dicts`` breaks things at random without promising the
result is invalid. ``toml_text`` writes any such dictionary as TOML.

Every strategy takes its bounds as keyword arguments; the defaults keep a
run of a generated scenario well under a second.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import math
import operator
import re
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs
from hypothesis import strategies as st

from normflow import events as ev
from normflow.scenario import (
    AccountabilityParams,
    AgendaParams,
    InformationParams,
    NegotiationParams,
    Scenario,
    scenario_from_dict,
)
from normflow.schema import Dist
from normflow.testing.invariants import actor_ids

__all__ = [
    "Mutation",
    "PressureStep",
    "actor_id",
    "civil_society_groups",
    "event_instances",
    "events",
    "group_populations",
    "invalid_scenario_dicts",
    "issue_tables",
    "legislatures",
    "local_government_groups",
    "mutated_scenario_dicts",
    "named_local_governments",
    "population_dists",
    "pressure_sequences",
    "process_params",
    "scenario_dicts",
    "scenarios",
    "state_tables",
    "toml_text",
    "toml_values",
    "unit_dists",
]

AREAS = ("bodily_harm", "legal_equality", "environment", "economic", "human_rights", "security")
EVENT_CATEGORIES = ("state_visit", "election", "dissolution", "pressure", "session", "custom")

#: Upper bounds on rates and exponents while generating process parameters:
#: the schema allows 1000 contacts a year per group, which is valid but makes
#: a generated run slow without testing anything new.
RATE_CAPS: dict[str, float] = {
    "contact_rate": 40.0,
    "lg_share_rate": 40.0,
    "campaign_rate": 40.0,
    "round_rate": 60.0,
    "resource_elasticity": 1.5,
}

_PARAM_CLASSES: dict[str, type] = {
    "information": InformationParams,
    "accountability": AccountabilityParams,
    "agenda": AgendaParams,
    "negotiation": NegotiationParams,
}


# -- building blocks -------------------------------------------------------------


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def actor_id(max_size: int = 10) -> st.SearchStrategy[str]:
    """An id as a scenario author would write it: a letter, then letters,
    digits or underscores (never a ``-``, so it cannot clash with the ids the
    world generates for populations, ``<prefix>-<k>``)."""
    return st.builds(
        operator.add, st.sampled_from(_LETTERS), st.text(_LETTERS + "0123456789_", max_size=max_size - 1)
    )


# Strategies are built once here: hypothesis spends more time building and
# validating a strategy than drawing from it.
_UNIT = st.floats(0.0, 1.0)
# free text (names, descriptions): printable, no surrogates (a TOML file
# cannot hold them)
_NAME = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
_ID = actor_id()


def _optional(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Tables in which each of ``fields`` may or may not be given."""
    return st.fixed_dictionaries({}, optional=fields)


def _pick(draw: st.DrawFn, items: Sequence[Any]) -> Any:
    return items[draw(st.integers(0, len(items) - 1))]


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def unit_dists(low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[Any]:
    """A ``Dist`` value for a field in [low, high]: a number or one of the
    distribution tables."""
    return st.one_of(
        st.floats(low, high),
        st.tuples(st.floats(low, high), st.floats(low, high)).map(
            lambda ab: {"dist": "uniform", "low": min(ab), "high": max(ab)}
        ),
        st.builds(
            lambda m, c: {"dist": "beta", "mean": m, "concentration": c},
            st.floats(0.01, 0.99),
            st.floats(0.5, 50),
        ),
        st.builds(
            lambda m, sd: {"dist": "normal", "mean": m, "sd": sd}, st.floats(low, high), st.floats(0, 0.5)
        ),
    )


def population_dists() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(0, 2_000_000),
        st.builds(
            lambda med, s: {"dist": "lognormal", "median": med, "sigma": s},
            st.floats(1, 1e6),
            st.floats(0, 2),
        ),
    )


_SESSION = _optional(
    {
        "month": st.integers(1, 12),
        "day": st.integers(1, 28),
        "days": st.integers(1, 200),
        "probability": _UNIT,
    }
)
_LEGISLATURE = _optional(
    {
        "ordinary_session": _SESSION,
        "extension_probability": _UNIT,
        "extension_days": st.integers(0, 180),
        "extraordinary_sessions": st.lists(_SESSION, max_size=2),
        "special_session_delay": st.integers(1, 120),
        "special_session_days": st.integers(1, 180),
        "continuation_probability": _UNIT,
        "government_support": _UNIT,
    }
)
_STATE = _optional(
    {
        "name": _NAME,
        "penetrability": _UNIT,
        "reputation_sensitivity": _UNIT,
        "electoral_sensitivity": _UNIT,
        "commitment": _UNIT,
        "practice": _UNIT,
        "public_support": _UNIT,
    }
)
_ISSUE = _optional({"name": _NAME, "area": st.sampled_from(AREAS), "appeal": _UNIT})
_NAMED_LG = _optional(
    {
        "name": _NAME,
        "level": st.sampled_from(["municipality", "prefecture", "province", "city"]),
        "population": st.integers(0, 5_000_000),
        "access": _UNIT,
        "openness": _UNIT,
        "support": _UNIT,
    }
)
_UNIT_DIST = unit_dists()
_LG_GROUP = _optional(
    {"population": population_dists(), "access": _UNIT_DIST, "openness": _UNIT_DIST, "support": _UNIT_DIST}
)
_GROUP_COMMON = {
    "kind": st.sampled_from(["NGO", "NPO"]),
    "stance": st.sampled_from(["supporter", "opponent"]),
}
_NAMED_GROUP = _optional(
    _GROUP_COMMON | {"name": _NAME, "resources": st.floats(0, 3), "expertise": _UNIT, "commitment": _UNIT}
)
_POPULATION = _optional(
    _GROUP_COMMON
    | {
        "within": st.text("abcdefghij-", max_size=3),
        "resources": unit_dists(0, 3),
        "expertise": _UNIT_DIST,
        "commitment": _UNIT_DIST,
    }
)
_EVENT_EXTRA = _optional({"name": _NAME, "strength": st.floats(0, 100), "days": st.integers(0, 365)})


@st.composite
def legislatures(draw: st.DrawFn, name: str | None = None) -> dict[str, Any]:
    """A legislature table: calendar, continuation, governing support."""
    table = draw(_LEGISLATURE)
    if name is not None:
        table["name"] = name
    return table


@st.composite
def state_tables(draw: st.DrawFn, state_id: str, legislature: bool | None = None) -> dict[str, Any]:
    """One ``[[states]]`` table; ``legislature=None`` lets the draw decide."""
    table = {"id": state_id, **draw(_STATE)}
    if draw(st.booleans()) if legislature is None else legislature:
        # named after their state: events name a legislature, and two both
        # called "Diet" could not be told apart in a trace
        table["legislature"] = draw(legislatures(name=f"{state_id}-legislature"))
    return table


@st.composite
def issue_tables(draw: st.DrawFn, issue_id: str, states: Sequence[str]) -> dict[str, Any]:
    return {"id": issue_id, "state": _pick(draw, states), **draw(_ISSUE)}


@st.composite
def named_local_governments(
    draw: st.DrawFn, lg_id: str, states: Sequence[str], others: Sequence[str]
) -> dict[str, Any]:
    """One named local government, perhaps with partners among ``others``."""
    table = {"id": lg_id, "state": _pick(draw, states), **draw(_NAMED_LG)}
    if others and draw(st.booleans()):
        table["partners"] = sorted({_pick(draw, others) for _ in range(draw(st.integers(1, 3)))})
    return table


@st.composite
def local_government_groups(
    draw: st.DrawFn, prefix: str, states: Sequence[str], max_count: int = 30
) -> dict[str, Any]:
    """``count`` anonymous local governments of one state."""
    return {
        "state": _pick(draw, states),
        "count": draw(st.integers(1, max_count)),
        "prefix": prefix,
        **draw(_LG_GROUP),
    }


def _group_references(draw: st.DrawFn, table: dict[str, Any], states: Sequence[str], issues: Sequence[str]):
    if draw(st.booleans()):
        table["issue"] = _pick(draw, issues)
    if draw(st.booleans()):
        table["nationality"] = _pick(draw, states) if draw(st.booleans()) else draw(_ID)


@st.composite
def civil_society_groups(
    draw: st.DrawFn,
    group_id: str,
    states: Sequence[str],
    issues: Sequence[str],
    localities: Sequence[str],
) -> dict[str, Any]:
    """One named civil-society group, perhaps in one of ``localities``."""
    table = {"id": group_id, "state": _pick(draw, states), **draw(_NAMED_GROUP)}
    _group_references(draw, table, states, issues)
    if localities and draw(st.booleans()):
        table["locality"] = _pick(draw, localities)
    return table


@st.composite
def group_populations(
    draw: st.DrawFn, prefix: str, states: Sequence[str], issues: Sequence[str], max_count: int = 30
) -> dict[str, Any]:
    """``count`` anonymous groups in one of ``states`` (which must have local
    governments to place them in)."""
    table = {
        "state": _pick(draw, states),
        "count": draw(st.integers(1, max_count)),
        "prefix": prefix,
        **draw(_POPULATION),
    }
    _group_references(draw, table, states, issues)
    return table


def _param_strategy(cls: type, caps: dict[str, float]) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    fields = {}
    for f in attrs.fields(cls):
        low = f.metadata.get("low")
        if low is None:
            continue
        high = min(f.metadata.get("high") or math.inf, caps.get(f.name, math.inf), 1e6)
        tp = hints[f.name]
        if typing.get_origin(tp) is tuple:
            fields[f.name] = st.lists(st.integers(int(low), int(high)), min_size=1, max_size=4)
        elif tp is int:
            fields[f.name] = st.integers(int(low), int(high))
        else:
            fields[f.name] = st.floats(
                low,
                high,
                exclude_min=bool(f.metadata.get("low_open")),
                exclude_max=bool(f.metadata.get("high_open")) and high == f.metadata.get("high"),
            )
    return _optional(fields)


_PROCESS_PARAMS = {section: _param_strategy(cls, RATE_CAPS) for section, cls in _PARAM_CLASSES.items()}


@st.composite
def process_params(draw: st.DrawFn, caps: dict[str, float] | None = None) -> dict[str, Any]:
    """A ``[processes]`` table setting a random subset of the four processes'
    parameters anywhere in their declared ranges (rates capped by ``caps``,
    default ``RATE_CAPS``)."""
    strategies = (
        _PROCESS_PARAMS
        if caps is None
        else {section: _param_strategy(cls, caps) for section, cls in _PARAM_CLASSES.items()}
    )
    out = {}
    for section, strategy in strategies.items():
        if draw(st.booleans()):
            table = draw(strategy)
            if table:
                out[section] = table
    return out


# -- whole scenarios -------------------------------------------------------------


@st.composite
def scenario_dicts(
    draw: st.DrawFn,
    *,
    min_states: int = 1,
    max_states: int = 3,
    max_issues: int = 2,
    max_named_local_governments: int = 4,
    max_local_government_groups: int = 2,
    max_local_governments_per_group: int = 30,
    max_named_groups: int = 5,
    max_populations: int = 2,
    max_groups_per_population: int = 30,
    max_ties: int = 4,
    max_negotiations: int = 2,
    max_events: int = 4,
    min_days: int = 30,
    max_days: int = 4 * 365,
    processes: bool = True,
) -> dict[str, Any]:
    """A valid scenario as TOML-like data, of any size within the bounds.

    Ids are unique across every kind of actor, every reference resolves,
    dates fall inside the run, and generated populations use prefixes of
    their own, so ``scenario_from_dict`` accepts every draw.
    """
    n_states = draw(st.integers(min_states, max(min_states, max_states)))
    n_issues = draw(st.integers(1, max_issues))
    n_lgs = draw(st.integers(0, max_named_local_governments))
    n_groups = draw(st.integers(0, max_named_groups))
    n_negotiations = draw(st.integers(0, max_negotiations)) if n_states >= 2 else 0
    total = n_states + n_issues + n_lgs + n_groups + n_negotiations
    ids = draw(st.lists(_ID, min_size=total, max_size=total, unique=True))
    cut = iter(range(total))
    take = lambda n: [ids[next(cut)] for _ in range(n)]  # noqa: E731
    states, issues, lgs, groups, negotiations = (
        take(n_states),
        take(n_issues),
        take(n_lgs),
        take(n_groups),
        take(n_negotiations),
    )
    start = draw(st.dates(dt.date(1950, 1, 1), dt.date(2050, 1, 1)))
    end = start + dt.timedelta(days=draw(st.integers(min_days, max_days)))
    data: dict[str, Any] = {
        "scenario": {"name": draw(_NAME), "start": start, "end": end},
        "states": [draw(state_tables(s)) for s in states],
        "issues": [draw(issue_tables(x, states)) for x in issues],
    }
    if draw(st.booleans()):
        data["scenario"]["description"] = draw(_NAME)

    named = [draw(named_local_governments(x, states, [o for o in lgs if o != x])) for x in lgs]
    n_lg_groups = draw(st.integers(0, max_local_government_groups))
    n_pops = draw(st.integers(0, max_populations))
    prefixes = draw(
        st.lists(
            st.text(_LETTERS, min_size=1, max_size=5),
            min_size=n_lg_groups + n_pops,
            max_size=n_lg_groups + n_pops,
            unique=True,
        )
    )
    lg_groups = [
        draw(local_government_groups(p, states, max_local_governments_per_group))
        for p in prefixes[:n_lg_groups]
    ]
    if named or lg_groups:
        data["local_governments"] = _drop_none({"named": named or None, "groups": lg_groups or None})
    with_lgs = sorted({x["state"] for x in named} | {x["state"] for x in lg_groups})

    cs_groups = [draw(civil_society_groups(g, states, issues, lgs)) for g in groups]
    pops = (
        [
            draw(group_populations(p, with_lgs, issues, max_groups_per_population))
            for p in prefixes[n_lg_groups:]
        ]
        if with_lgs
        else []
    )
    if cs_groups or pops:
        data["civil_society"] = _drop_none({"groups": cs_groups or None, "populations": pops or None})
    if len(groups) >= 1 and max_ties:
        ties = []
        for _ in range(draw(st.integers(0, max_ties))):
            tie = {"a": _pick(draw, groups), "b": _pick(draw, groups)}
            if draw(st.booleans()):
                tie["weight"] = draw(st.floats(0, 100))
            ties.append(tie)
        if ties:
            data["ties"] = ties

    talks = []
    for nid in negotiations:
        parties = draw(st.permutations(states))[: draw(st.integers(2, min(3, n_states)))]
        talk: dict[str, Any] = {"id": nid, "issue": _pick(draw, issues), "parties": parties}
        if draw(st.booleans()):
            talk["opens"] = start + dt.timedelta(days=draw(st.integers(0, (end - start).days + 60)))
            if draw(st.booleans()):
                talk["requester"] = _pick(draw, parties)
        else:
            talk["requester"] = _pick(draw, parties)
            talk["request_threshold"] = draw(st.floats(0, 20))
        if len(parties) != 2 or draw(st.booleans()):  # the defaults are for two parties
            talk["positions"] = [draw(_UNIT) for _ in parties]
            talk["win_sets"] = [draw(_UNIT) for _ in parties]
        talks.append(talk)
    if talks:
        data["negotiations"] = talks

    with_legislature = [s["id"] for s in data["states"] if "legislature" in s]
    categories = [
        c for c in EVENT_CATEGORIES if with_legislature or c not in ("election", "dissolution", "session")
    ]
    scheduled = []
    for _ in range(draw(st.integers(0, max_events))):
        category = _pick(draw, categories)
        date = start + dt.timedelta(days=draw(st.integers(0, (end - start).days)))
        item: dict[str, Any] = {"date": date, "category": category}
        if category in ("election", "dissolution", "session"):
            item["state"] = _pick(draw, with_legislature)
        elif category in ("state_visit", "pressure"):
            item["state"] = _pick(draw, states)
            item["target"] = _pick(draw, states)
        item.update(draw(_EVENT_EXTRA))
        if draw(st.booleans()):
            item["issue"] = _pick(draw, issues)
        scheduled.append(item)
    if scheduled:
        data["events"] = scheduled
    if processes:
        params = draw(process_params())
        if params:
            data["processes"] = params
    return data


def scenarios(**bounds: Any) -> st.SearchStrategy[Scenario]:
    """Valid ``Scenario`` objects: ``scenario_dicts(**bounds)`` through the loader."""
    return scenario_dicts(**bounds).map(lambda d: scenario_from_dict(d, file="<generated>"))


# -- breaking scenarios ----------------------------------------------------------


@attrs.frozen
class Mutation:
    """One change that makes a scenario invalid: ``path`` is the field path
    the loader must name (a prefix of it, for nested problems)."""

    path: str
    what: str
    value: Any = None


@attrs.frozen
class _Slot:
    """A place in scenario data: ``container[key]`` with schema type ``tp``."""

    container: Any
    key: Any
    tp: Any
    meta: Any
    path: str
    required: bool


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _walk(data: Any, cls: type, path: str) -> Iterable[_Slot]:
    """Every field present in ``data`` (a table of class ``cls``), recursively."""
    hints = _hints(cls)
    for f in attrs.fields(cls):
        if f.name not in data or (cls is Scenario and f.name in ("plugins", "facts", "source")):
            continue
        fpath = f"{path}.{f.name}" if path else f.name
        tp = hints[f.name]
        required = f.default is attrs.NOTHING
        yield _Slot(data, f.name, tp, f.metadata, fpath, required)
        yield from _walk_value(data[f.name], tp, fpath, f.metadata)


def _walk_value(value: Any, tp: Any, path: str, meta: Any) -> Iterable[_Slot]:
    tp = _strip_optional(tp)
    if typing.get_origin(tp) is tuple and isinstance(value, list):
        inner = typing.get_args(tp)[0]
        for i, item in enumerate(value):
            yield _Slot(value, i, inner, meta, f"{path}[{i}]", True)
            yield from _walk_value(item, inner, f"{path}[{i}]", meta)
    elif attrs.has(tp) and isinstance(value, dict):
        yield from _walk(value, tp, path)


def _strip_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0]
    return tp


def _is_optional(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def _not_a_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return True
    return False


def _wrong_values(tp: Any, meta: Any) -> st.SearchStrategy[Any] | None:
    """Values the loader must refuse for a field of type ``tp`` (None when
    the type takes anything)."""
    tp = _strip_optional(tp)
    low, high = meta.get("low"), meta.get("high")
    # never "": an optional field reads an empty string as "not given"
    text = st.text(min_size=1, max_size=5)
    junk_table = st.just({"unexpected": 1})
    not_a_number = st.one_of(st.booleans(), text, st.just([1, 2]), junk_table)
    non_finite = st.sampled_from([math.nan, math.inf, -math.inf])
    below_open, above_open = not meta.get("low_open"), not meta.get("high_open")
    below = [] if low is None else [st.floats(max_value=low, exclude_max=below_open, allow_infinity=False)]
    above = [] if high is None else [st.floats(min_value=high, exclude_min=above_open, allow_infinity=False)]
    if tp is float:
        return st.one_of(not_a_number, non_finite, *below, *above)
    if tp is int:
        ranged = []
        if low is not None:
            ranged.append(st.integers(max_value=math.ceil(low) - 1))
        if high is not None:
            ranged.append(st.integers(min_value=math.floor(high) + 1))
        return st.one_of(not_a_number, st.just(1.5), *ranged)
    if tp is Dist:
        return st.one_of(
            st.booleans(),
            text,
            st.just([0.1]),
            st.just({"dist": "zipf", "a": 1}),
            st.just({"dist": "beta", "mean": 1.5, "concentration": 2}),
            st.just({"dist": "uniform", "low": 0.5, "high": 0.1}),
            non_finite,
            *below,
            *above,
        )
    if tp is str:
        return st.one_of(st.integers(), st.booleans(), st.just(["a"]), junk_table)
    if tp is dt.date:
        return st.one_of(st.integers(), st.booleans(), text.filter(_not_a_date))
    if typing.get_origin(tp) is Literal:
        choices = typing.get_args(tp)
        return st.one_of(text.filter(lambda v: v not in choices), st.integers())
    if typing.get_origin(tp) is tuple:
        return st.one_of(st.integers(), st.booleans(), junk_table)
    if attrs.has(tp):
        return st.one_of(st.integers(), text, st.just([1]))
    return None


#: Fields that name another actor, and what they must name.
_REFERENCES: dict[str, str] = {
    "issues[].state": "state",
    "local_governments.named[].state": "state",
    "local_governments.named[].partners[]": "named local government",
    "local_governments.groups[].state": "state",
    "civil_society.groups[].state": "state",
    "civil_society.groups[].locality": "named local government",
    "civil_society.groups[].issue": "issue",
    "civil_society.populations[].state": "state",
    "civil_society.populations[].issue": "issue",
    "ties[].a": "group",
    "ties[].b": "group",
    "negotiations[].issue": "issue",
    "negotiations[].parties[]": "state",
    "events[].state": "state",
    "events[].target": "state",
    "events[].issue": "issue",
}


def _pattern(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


@st.composite
def invalid_scenario_dicts(draw: st.DrawFn, **bounds: Any) -> tuple[dict[str, Any], Mutation]:
    """A scenario with exactly one thing wrong, and what it is.

    Starts from ``scenario_dicts(**bounds)`` and applies one of: a value of
    the wrong type, a number out of its range, a non-finite number, an
    unknown key, a missing required field or section, a reference to an
    actor that does not exist, a duplicate id, two populations generating the
    same ids, or an end before the start.
    The loader must raise ``ScenarioError`` naming ``Mutation.path``.
    """
    data = copy.deepcopy(draw(scenario_dicts(**bounds)))
    slots = list(_walk(data, Scenario, ""))
    kind = draw(
        st.sampled_from(["wrong_value", "unknown_key", "missing", "dangling", "duplicate", "prefix", "dates"])
    )
    if kind == "wrong_value":
        candidates = [(s, w) for s in slots if (w := _wrong_values(s.tp, s.meta)) is not None]
        slot, wrong = draw(st.sampled_from(candidates))
        value = draw(wrong)
        slot.container[slot.key] = value
        return data, Mutation(slot.path, "wrong_value", value)
    if kind == "unknown_key":
        tables = [("", data, Scenario)] + [
            (s.path, s.container[s.key], _strip_optional(s.tp))
            for s in slots
            if attrs.has(_strip_optional(s.tp)) and isinstance(s.container[s.key], dict)
        ]
        path, table, cls = draw(st.sampled_from(tables))
        known = {f.name for f in attrs.fields(cls)}
        if cls is Scenario:
            known.add("plugins")  # raw plugin sections live there
        key = draw(
            st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10).filter(
                lambda k: k not in known
            )
        )
        table[key] = draw(st.integers() | st.text(max_size=3))
        return data, Mutation(f"{path}.{key}" if path else key, "unknown_key", key)
    if kind == "missing":
        required = [s for s in slots if s.required and isinstance(s.container, dict)]
        slot = draw(st.sampled_from(required))
        del slot.container[slot.key]
        return data, Mutation(slot.path, "missing")
    if kind == "dangling":
        refs = [s for s in slots if _pattern(s.path) in _REFERENCES and s.container[s.key] is not None]
        if refs:
            slot = draw(st.sampled_from(refs))
            ghost = draw(actor_id().map(lambda x: f"{x}-ghost"))
            slot.container[slot.key] = ghost
            return data, Mutation(slot.path, "dangling", ghost)
        kind = "duplicate"
    if kind == "prefix":
        generated = [
            (path, table[key])
            for path, table, key in [
                ("local_governments.groups", data.get("local_governments", {}), "groups"),
                ("civil_society.populations", data.get("civil_society", {}), "populations"),
            ]
            if table.get(key)
        ]
        if generated:
            # a second group with the same prefix would repeat every generated id
            path, items = _pick(draw, generated)
            items.append(copy.deepcopy(_pick(draw, items)))
            return data, Mutation(f"{path}[{len(items) - 1}].prefix", "prefix", items[-1]["prefix"])
        kind = "duplicate"
    if kind == "duplicate":
        states = data["states"]
        twin = copy.deepcopy(_pick(draw, states))
        states.append(twin)
        return data, Mutation(f"states[{len(states) - 1}].id", "duplicate", twin["id"])
    meta = data["scenario"]
    meta["end"] = meta["start"] - dt.timedelta(days=draw(st.integers(0, 3650)))
    return data, Mutation("scenario.end", "dates", meta["end"])


_TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.dates(),
    st.datetimes(),
    st.times(),
)


@functools.cache
def toml_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Anything TOML can hold: scalars of every type, arrays and tables, with
    at most ``max_leaves`` scalars in all."""
    return st.recursive(
        _TOML_SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
        ),
        max_leaves=max_leaves,
    )


_TOML_VALUES = toml_values()


_KEY = st.text(min_size=1, max_size=10)


@st.composite
def mutated_scenario_dicts(draw: st.DrawFn, max_mutations: int = 3, **bounds: Any) -> dict[str, Any]:
    """A valid scenario with up to ``max_mutations`` random edits: any field
    set to any TOML value, deleted, or a key added anywhere. The result may
    or may not be valid; the loader must either accept it or raise
    ``ScenarioError``."""
    data = copy.deepcopy(draw(scenario_dicts(**bounds)))
    for _ in range(draw(st.integers(1, max_mutations))):
        slots = list(_walk(data, Scenario, ""))
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "add" or not slots:
            tables = [data] + [s.container[s.key] for s in slots if isinstance(s.container[s.key], dict)]
            table = draw(st.sampled_from(tables))
            table[draw(_KEY)] = draw(_TOML_VALUES)
            continue
        slot = draw(st.sampled_from(slots))
        if action == "delete":
            del slot.container[slot.key]
        else:
            slot.container[slot.key] = draw(_TOML_VALUES)
    return data


# -- TOML text ---------------------------------------------------------------------


def _toml_string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _toml_key(key: str) -> str:
    if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key):
        return key
    return _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_text(data: dict[str, Any]) -> str:
    """``data`` as TOML text (one ``key = value`` line per top-level key,
    nested tables inline), for tests that go through files and the CLI."""
    return "".join(f"{_toml_key(str(k))} = {_toml_value(v)}\n" for k, v in data.items())


# -- events and pressure -------------------------------------------------------------

#: Which actor kind each event field names (see ``actor_ids``).
_FIELD_ACTORS: dict[str, str] = {
    "source": "group",
    "target": "group",
    "group": "group",
    "joiner": "group",
    "members": "group",
    "local_government": "local_government",
    "venue": "local_government",
    "state": "state",
    "where": "state",
    "requester": "state",
    "parties": "state",
    "subject": "state",
    "issue": "issue",
    "issues": "issue",
    "negotiation": "negotiation",
    "legislature": "legislature",
}
_TARGET_IS_STATE = {"pressure_applied", "exogenous"}


def _field_strategy(
    kind: str, name: str, tp: Any, ids: dict[str, list[str]] | None, horizon: float
) -> st.SearchStrategy[Any]:
    optional = _is_optional(tp)
    base = _strip_optional(tp)
    actor = _FIELD_ACTORS.get(name)
    if name == "target" and kind in _TARGET_IS_STATE:
        actor = "state"
    if name == "t":
        return st.floats(0.0, horizon, allow_nan=False)
    pool = (ids or {}).get(actor or "", [])
    text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
    if base is str:
        strategy = st.sampled_from(pool) if pool else text
    elif base is float:
        strategy = st.floats(allow_nan=False, allow_infinity=False)
    elif base is int:
        strategy = st.integers(-(2**53), 2**53)
    elif base is bool:
        strategy = st.booleans()
    elif typing.get_origin(base) is tuple and typing.get_args(base)[:1] == (int,):
        # ids of causes: positive integers
        strategy = st.lists(st.integers(1, 2**53), max_size=4).map(tuple)
    elif typing.get_origin(base) is tuple and typing.get_args(base)[0] is float:
        strategy = st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=4).map(tuple)
    elif typing.get_origin(base) is tuple:
        strategy = st.lists(st.sampled_from(pool) if pool else text, max_size=4).map(tuple)
    elif typing.get_origin(base) is dict:
        # pressure by channel: channel names to finite amounts
        strategy = st.dictionaries(text, st.floats(0.0, 1e6, allow_nan=False), max_size=3)
    else:  # pragma: no cover - every event field has one of the types above
        raise TypeError(f"no strategy for {kind}.{name}: {tp!r}")
    return _maybe(strategy) if optional else strategy


def events(
    kinds: Iterable[type[ev.Event]] = ev.ALL_EVENTS, scenario: Scenario | None = None
) -> st.SearchStrategy[ev.Event]:
    """Events of the given classes (default: every class in
    ``normflow.events.ALL_EVENTS``). With a ``scenario``, fields that name an
    actor draw from its ids; without, they are arbitrary text."""
    ids = {k: sorted(v) for k, v in actor_ids(scenario).items()} if scenario is not None else None
    horizon = scenario.horizon if scenario is not None else 1e6
    strategies = []
    for cls in kinds:
        hints = typing.get_type_hints(cls)
        fields = {
            f.name: _field_strategy(cls.kind, f.name, hints[f.name], ids, horizon) for f in attrs.fields(cls)
        }
        strategies.append(st.fixed_dictionaries(fields).map(lambda kw, c=cls: c(**kw)))
    return st.one_of(strategies)


def event_instances(cls: type[ev.Event], scenario: Scenario | None = None) -> st.SearchStrategy[ev.Event]:
    """Events of one class."""
    return events([cls], scenario)


@attrs.frozen
class PressureStep:
    """One call of ``Simulation.apply_pressure``."""

    t: float
    source: str
    target: str
    issue: str
    channel: str
    nature: str
    amount: float
    foreign: bool

    def apply(self, sim: Any) -> float:
        return sim.apply_pressure(
            self.t,
            self.source,
            self.target,
            self.issue,
            self.channel,
            self.nature,
            self.amount,
            foreign=self.foreign,
        )


@st.composite
def pressure_sequences(
    draw: st.DrawFn, scenario: Scenario, max_size: int = 30, max_amount: float = 100.0
) -> list[PressureStep]:
    """Pressure on the scenario's states, at non-decreasing times within the
    run: a sequence a process or plugin could legitimately produce."""
    ids = actor_ids(scenario)
    sources = sorted(ids["group"] | ids["state"]) or ["public"]
    n = draw(st.integers(0, max_size))
    times = sorted(draw(st.lists(st.floats(0, scenario.horizon), min_size=n, max_size=n)))
    channels = st.sampled_from(["domestic", "local_government", "interstate", "electoral", "plugin"])
    steps = []
    for t in times:
        steps.append(
            PressureStep(
                t=t,
                source=draw(st.sampled_from(sources)),
                target=draw(st.sampled_from(sorted(ids["state"]))),
                issue=draw(st.sampled_from(sorted(ids["issue"]))),
                channel=draw(channels),
                nature=draw(st.sampled_from(["moral", "material"])),
                amount=draw(st.floats(0, max_amount)),
                foreign=draw(st.booleans()),
            )
        )
    return steps
