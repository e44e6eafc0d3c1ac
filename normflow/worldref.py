"""The world's reference: every field a plugin may read, what it means, its
type, shape and index, its range, and whether a plugin may write it.

``docs/world.md`` is this table in prose; a test keeps the two and the
``World`` class in step. ``normflow.testing.check_plugin`` uses the ranges:
after a plugin's runs (and once a month of simulated time during them) a
value outside its range is reported as a direct write gone wrong.

Sizes: ``S`` states, ``I`` issues, ``L`` local governments, ``G`` groups
(civil-society actors), in the order the scenario declares them (generated
ones after named ones).
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import numpy as np

__all__ = ["FIELDS", "STANCE_FIELDS", "WorldField", "world_problems"]

#: who may change a field: "no" (read only), "yes" (directly, inside its
#: range), or the Simulation method that changes it
READ_ONLY = "no"
DIRECT = "yes"


@attrs.frozen
class WorldField:
    name: str
    dtype: str
    shape: str
    index: str
    meaning: str
    low: float | None = None
    high: float | None = None
    nan_ok: bool = False
    write: str = READ_ONLY
    none_ok: bool = False


FIELDS: tuple[WorldField, ...] = (
    WorldField(
        "scenario",
        "Scenario",
        "-",
        "-",
        "the validated scenario the world was built from (also sim.scenario)",
    ),
    # -- states and issues
    WorldField(
        "states",
        "list[StateActor]",
        "(S,)",
        "state index",
        "the states: id, name, index, penetrability, reputation_sensitivity, electoral_sensitivity, legislature",
    ),
    WorldField("state_index", "dict[str, int]", "S entries", "state id", "state id -> state index"),
    WorldField(
        "state_population",
        "float64",
        "(S,)",
        "state index",
        "population of each state's local governments together",
        0.0,
    ),
    WorldField(
        "issues",
        "tuple[Issue, ...]",
        "(I,)",
        "issue index",
        "the scenario's issues (id, state, area, appeal)",
    ),
    WorldField("issue_index", "dict[str, int]", "I entries", "issue id", "issue id -> issue index"),
    WorldField(
        "stances",
        "dict[(str, str), StateStance]",
        "S x I entries",
        "(state id, issue id)",
        "each state's stance on each issue (see the stance fields); read one with stance(state, issue)",
    ),
    # -- local governments
    WorldField("lg_ids", "list[str]", "(L,)", "local-government index", "local government ids"),
    WorldField(
        "lg_names", "list[str]", "(L,)", "local-government index", "display names ('' for generated ones)"
    ),
    WorldField(
        "lg_index", "dict[str, int]", "L entries", "local-government id", "id -> local-government index"
    ),
    WorldField(
        "lg_level",
        "list[str]",
        "(L,)",
        "local-government index",
        "'municipality', 'city', 'prefecture' or 'province' (generated ones: municipality)",
    ),
    WorldField("lg_state", "int64", "(L,)", "local-government index", "the state index it belongs to", 0.0),
    WorldField("lg_population", "float64", "(L,)", "local-government index", "inhabitants", 0.0),
    WorldField(
        "lg_access",
        "float64",
        "(L,)",
        "local-government index",
        "access to its national government: chance a channel through it gets through",
        0.0,
        1.0,
        write=DIRECT,
    ),
    WorldField(
        "lg_openness",
        "float64",
        "(L,)",
        "local-government index",
        "openness to civil society: chance it hosts an exchange or shares information",
        0.0,
        1.0,
        write=DIRECT,
    ),
    WorldField(
        "lg_support",
        "float64",
        "(I, L)",
        "[issue index, local-government index]",
        "its assembly's support for the issue",
        0.0,
        1.0,
        write=DIRECT,
    ),
    WorldField(
        "lg_public_support",
        "float64",
        "(I, L)",
        "[issue index, local-government index]",
        "local public support for the issue",
        0.0,
        1.0,
        write=DIRECT,
    ),
    WorldField(
        "lg_resolution_t",
        "float64",
        "(I, L)",
        "[issue index, local-government index]",
        "day its assembly passed a resolution on the issue; NaN while it has not",
        0.0,
        None,
        nan_ok=True,
    ),
    WorldField(
        "lg_withdrawn_t",
        "float64",
        "(I, L)",
        "[issue index, local-government index]",
        "day its assembly withdrew its resolution under counter-mobilization; NaN while it has not",
        0.0,
        None,
        nan_ok=True,
    ),
    WorldField(
        "lg_counter_t",
        "float64",
        "(I, L)",
        "[issue index, local-government index]",
        "day its assembly passed a counter-resolution; NaN while it has not",
        0.0,
        None,
        nan_ok=True,
    ),
    WorldField(
        "lg_capital",
        "float64",
        "(L,)",
        "local-government index",
        "political capital (costs: a resolution spends it, it refills over time)",
        None,
        1.0,
    ),
    WorldField(
        "lg_capital_t",
        "float64",
        "(L,)",
        "local-government index",
        "day its political capital was last brought up to date",
        0.0,
    ),
    WorldField(
        "lg_partners",
        "list[list[int]]",
        "(L,) lists",
        "local-government index",
        "partner local governments (indices), both ways",
    ),
    # -- groups
    WorldField("group_ids", "list[str]", "(G,)", "group index", "group ids"),
    WorldField("group_index", "dict[str, int]", "G entries", "group id", "id -> group index"),
    WorldField("group_state", "int64", "(G,)", "group index", "the state index it works in", 0.0),
    WorldField(
        "group_issue",
        "int64",
        "(G,)",
        "group index",
        "the issue index it works on; a group declared without an issue works on the first issue (index 0)",
        0.0,
    ),
    WorldField(
        "group_locality", "int64", "(G,)", "group index", "its local government's index, -1 for none", -1.0
    ),
    WorldField(
        "group_supporter",
        "bool",
        "(G,)",
        "group index",
        "True for a supporter of the norm, False for an opponent",
    ),
    WorldField("group_ngo", "bool", "(G,)", "group index", "True for an NGO, False for a movement"),
    WorldField("group_nationality", "int64", "(G,)", "group index", "index into nationalities", 0.0),
    WorldField(
        "nationalities",
        "list[str]",
        "one per nationality",
        "nationality index",
        "nationality codes (a group's state id unless it says otherwise)",
    ),
    WorldField(
        "group_resources",
        "float64",
        "(G,)",
        "group index",
        "resources (money, staff) it brings to a coalition",
        0.0,
        write=DIRECT,
    ),
    WorldField(
        "group_info",
        "float64",
        "(G,)",
        "group index",
        "information it holds; change it with add_info(g, amount), which keeps its coalition's pool in step",
        0.0,
        write="World.add_info",
    ),
    WorldField(
        "group_commitment",
        "float64",
        "(G,)",
        "group index",
        "commitment to the cause: scales the pressure it applies",
        0.0,
        1.0,
        write=DIRECT,
    ),
    WorldField(
        "group_ties",
        "list[list[int]]",
        "(G,) lists",
        "group index",
        "ties declared in the scenario (indices), both ways",
    ),
    # -- coalitions (union-find over groups)
    WorldField(
        "coalition_size",
        "int64",
        "(G,)",
        "coalition root (a group index)",
        "members of the coalition rooted at the index (meaningful at roots: coalition_of(g), coalition_roots())",
        1.0,
        write="World.merge",
    ),
    WorldField(
        "coalition_info",
        "float64",
        "(G,)",
        "coalition root",
        "pooled information of the coalition",
        0.0,
        write="World.add_info",
    ),
    WorldField(
        "coalition_resources",
        "float64",
        "(G,)",
        "coalition root",
        "pooled resources of the coalition",
        0.0,
        write="World.merge",
    ),
    WorldField(
        "coalition_delegated",
        "float64",
        "(G,)",
        "coalition root",
        "delegated autonomy of the coalition (tasks a government handed it)",
        0.0,
        1.0,
        write="World.merge",
    ),
    WorldField(
        "coalition_administrative",
        "float64",
        "(G,)",
        "coalition root",
        "administrative autonomy of the coalition (freedom from government intervention)",
        0.0,
        1.0,
        write="World.merge",
    ),
    WorldField(
        "coalition_political",
        "float64",
        "(G,)",
        "coalition root",
        "political autonomy of the coalition (its capacity to set agendas)",
        0.0,
        1.0,
        write="World.merge",
    ),
    WorldField(
        "group_administrative",
        "float64",
        "(G,)",
        "group index",
        "administrative autonomy of the group itself: what local support it took binds it (co-optation)",
        0.0,
        1.0,
    ),
    WorldField(
        "group_budget",
        "float64",
        "(G,)",
        "group index",
        "what the group can spend on campaigns (costs)",
        0.0,
    ),
    WorldField(
        "group_budget_t",
        "float64",
        "(G,)",
        "group index",
        "day the group's budget was last brought up to date",
        0.0,
    ),
    WorldField(
        "lg_budget",
        "float64",
        "(L,)",
        "local-government index",
        "what the local government can still lend its groups' campaigns (costs, lg_lending)",
        0.0,
    ),
    WorldField(
        "lg_budget_t",
        "float64",
        "(L,)",
        "local-government index",
        "day the local government's lending budget was last brought up to date",
        0.0,
    ),
    WorldField(
        "coalition_names",
        "dict[int, str]",
        "one per coalition",
        "coalition root",
        "coalition names ('coalition-<n>')",
    ),
    WorldField(
        "channels",
        "list[Channel]",
        "one per channel",
        "-",
        "channels of influence opened by plugins",
        write="Simulation.open_channel",
    ),
)

#: Fields of a ``StateStance`` (``world.stance(state, issue)``).
STANCE_FIELDS: tuple[WorldField, ...] = (
    WorldField("state", "str", "-", "-", "the state's id"),
    WorldField("issue", "str", "-", "-", "the issue's id"),
    WorldField("commitment", "float", "-", "-", "stated commitment to the norm", 0.0, 1.0, write=DIRECT),
    WorldField(
        "position", "float", "-", "-", "practice: how far policy follows the norm", 0.0, 1.0, write=DIRECT
    ),
    WorldField(
        "public_support", "float", "-", "-", "national public support for the norm", 0.0, 1.0, write=DIRECT
    ),
    WorldField(
        "salience",
        "Decaying",
        "-",
        "-",
        "salience of the issue: a stock that halves over time; read .at(t), add with .add(t, x)",
        0.0,
        write=DIRECT,
    ),
    WorldField("pressure", "Decaying", "-", "-", "pressure stock", 0.0, write="Simulation.apply_pressure"),
    WorldField(
        "foreign_pressure",
        "Decaying",
        "-",
        "-",
        "the part of the pressure stock that came from abroad",
        0.0,
        write="Simulation.apply_pressure",
    ),
    WorldField("electoral_pressure", "float", "-", "-", "pressure through elections, accumulated", 0.0),
    WorldField(
        "reputational_cost",
        "float",
        "-",
        "-",
        "reputational cost paid for the gap between commitment and practice",
        0.0,
        write="Simulation.apply_pressure",
    ),
    WorldField("on_agenda", "bool", "-", "-", "the issue is on the national agenda"),
    WorldField(
        "policy_changed",
        "bool",
        "-",
        "-",
        "the state's policy changed (once)",
        write="Simulation.change_policy",
    ),
    WorldField(
        "reputation",
        "Decaying",
        "-",
        "-",
        "recent reputational cost, decaying like the pressure stock",
        0.0,
        write="Simulation.apply_pressure",
    ),
    WorldField(
        "norm_phase",
        "float | None",
        "-",
        "-",
        "the state's phase toward the norm as a phase machine (the spiral plugin) publishes it; None when no machine runs",
        0.0,
        1.0,
        write=DIRECT,
        none_ok=True,
    ),
    WorldField(
        "opposition",
        "float",
        "-",
        "-",
        "organized opposition to the norm in the state; narrows what a ratifier accepts",
        0.0,
        1.0,
        write=DIRECT,
    ),
)


def _out_of_range(values: Any, f: WorldField) -> tuple[int, Any] | None:
    """The first offending value (flat position, value), or None."""
    a = np.asarray(values, dtype=float)
    bad = ~np.isfinite(a)
    if f.nan_ok:
        bad &= ~np.isnan(a)
        a = np.where(np.isnan(a), f.low if f.low is not None else 0.0, a)
    if f.low is not None:
        bad |= a < f.low
    if f.high is not None:
        bad |= a > f.high
    where = np.flatnonzero(bad)
    if len(where) == 0:
        return None
    k = int(where[0])
    return k, np.asarray(values).ravel()[k].item()


def _range(f: WorldField) -> str:
    lo = "-inf" if f.low is None else f"{f.low:g}"
    hi = "inf" if f.high is None else f"{f.high:g}"
    return f"[{lo}, {hi}]"


def world_problems(world: Any, t: float | None = None) -> list[str]:
    """Every field of ``world`` holding a value outside its documented range
    (or of the wrong shape), one line each."""
    problems: list[str] = []
    shapes = {
        "(L,)": (len(world.lg_ids),),
        "(G,)": (len(world.group_ids),),
        "(S,)": (len(world.states),),
        "(I, L)": (len(world.issues), len(world.lg_ids)),
    }
    for f in FIELDS:
        if f.low is None and f.high is None:
            continue
        value = getattr(world, f.name, None)
        if value is None:
            continue
        shape = shapes.get(f.shape)
        if shape is not None and np.shape(value) != shape:
            problems.append(f"world.{f.name} has shape {np.shape(value)}, expected {shape} {f.shape}")
            continue
        hit = _out_of_range(value, f)
        if hit is not None:
            k, v = hit
            index = np.unravel_index(k, np.shape(value)) if np.ndim(value) > 1 else (k,)
            at = ", ".join(str(int(i)) for i in index)
            problems.append(f"world.{f.name}[{at}] = {v!r}, outside {_range(f)} ({f.meaning})")
    when = world_time = t
    for (state, issue), stance in sorted(world.stances.items()):
        for f in STANCE_FIELDS:
            if f.low is None and f.high is None:
                continue
            value = getattr(stance, f.name)
            if value is None and f.none_ok:
                continue
            if hasattr(value, "at"):
                value = value.at(when) if world_time is not None else value.value
            if not isinstance(value, int | float) or isinstance(value, bool):
                problems.append(f"stance({state!r}, {issue!r}).{f.name} = {value!r}, not a number")
                continue
            if (
                not math.isfinite(value)
                or (f.low is not None and value < f.low)
                or (f.high is not None and value > f.high)
            ):
                problems.append(f"stance({state!r}, {issue!r}).{f.name} = {value!r}, outside {_range(f)}")
    return problems


def _write_text(f: WorldField) -> str:
    if f.write == READ_ONLY:
        return "no"
    if f.write == DIRECT:
        return "yes, inside its range"
    return f"only through `{f.write}`"


def _range_cell(f: WorldField) -> str:
    if f.low is None and f.high is None:
        return ""
    text = _range(f)
    return text + (" or NaN" if f.nan_ok else "")


def render() -> str:
    """docs/world.md (``python -m normflow.worldref > docs/world.md``)."""
    out = [
        "# The world: a reference for plugins",
        "",
        "<!-- generated by `python -m normflow.worldref > docs/world.md`; edit normflow/worldref.py -->",
        "",
        "`sim.world` (a `normflow.World`) holds every actor of a run and the state the run",
        "changes. Populations live in numpy arrays indexed by position; the few states",
        "and their stances on each issue live in small objects. Sizes: `S` states, `I`",
        "issues, `L` local governments, `G` groups, in the order the scenario declares",
        "them (generated ones after named ones, called `<prefix>-<k>`). Turn an id into",
        "an index with `state_index`, `issue_index`, `lg_index` or `group_index`.",
        "",
        "A plugin may read every field. The column *write* says whether it may also",
        "change it: *yes* (directly, keeping the value inside its range), *only",
        "through* a method (which keeps other fields in step, publishes the event and",
        "applies the modifiers), or *no*. `check_plugin` looks at every range once a",
        "month of simulated time and at the end of each run, and reports a value",
        "outside it as a direct write gone wrong.",
        "",
        "## World fields",
        "",
        "| field | type | shape | index | meaning | range | write |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in FIELDS:
        out.append(
            f"| `{f.name}` | {f.dtype} | {f.shape} | {f.index} | {f.meaning} | {_range_cell(f)} | {_write_text(f)} |"
        )
    out += [
        "",
        "## A state's stance on an issue",
        "",
        "`sim.world.stance(state_id, issue_id)` is a `StateStance`; `sim.world.stances`",
        "holds them all, keyed by `(state_id, issue_id)`. A `Decaying` stock halves",
        "every half-life: read it with `.at(t)`, add to it with `.add(t, amount)`.",
        "",
        "| field | type | meaning | range | write |",
        "|---|---|---|---|---|",
    ]
    for f in STANCE_FIELDS:
        out.append(f"| `{f.name}` | {f.dtype} | {f.meaning} | {_range_cell(f)} | {_write_text(f)} |")
    out += [
        "",
        "## Methods",
        "",
        "| method | what it does |",
        "|---|---|",
        "| `stance(state, issue)` | the `StateStance` of a state on an issue |",
        "| `coalition_of(g)` | the coalition root of group `g` (`g` itself when alone) |",
        "| `coalition_roots()` | the root of every group at once, as an array |",
        "| `coalition_members(g)` | the group indices in `g`'s coalition |",
        "| `in_coalition(g)` | whether `g` belongs to a coalition of two or more |",
        "| `coalitions()` | every coalition of two or more, by name, with its members' ids |",
        "| `add_info(g, amount)` | add information to a group and its coalition's pool |",
        "| `appeal(i)` | how well issue `i` travels across borders (its area's appeal unless set) |",
        "| `legitimacy(l, i, weight)` | the share of its full weight that pressure carried by local government `l` on issue `i` has: `1 - weight * (1 - local public support)` (`weight`: `[processes.accountability] legitimacy_weight`) |",
        "| `resolution_share(i, s, t)` | share of state `s`'s population whose local government had passed a resolution on issue `i` by day `t` |",
        "",
        "Indices are stable for the whole run. A group declared without an issue works",
        "on the scenario's first issue (`group_issue` is 0).",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
