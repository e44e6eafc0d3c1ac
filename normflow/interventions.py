"""Interventions: counterfactual switches a run applies on top of its scenario.

An experiment that asks "what if coalitions had no domestic door?" or "what
if their groups had a quarter of the resources?" should not need an edited
copy of a scenario file. ``Interventions`` names such changes once, and
``Simulation(..., interventions=Interventions(...))`` applies them:

- ``domestic=False`` closes the *domestic* opportunity structure: pressure
  a state's own civil society puts on it through its own door (channels
  ``domestic`` and ``local_government``) is not applied, and local
  assemblies pass no resolutions.
- ``international=False`` closes the *international* one: pressure that
  reaches a state from abroad is not applied (every ``foreign=True``
  pressure -- state visits, interstate requests, the boomerang -- and the
  ``local_diplomacy`` channel, which enters a state through a foreign
  partner's door), scheduled ``state_visit`` and ``pressure`` events have no
  effect at all (neither pressure nor salience), and partner links between
  local governments of different states are cut before plugins set up, so
  no information crosses them and no local-diplomacy channel opens.
- ``local_resolutions=False`` only stops local assemblies from passing
  resolutions (local adoption of the norm); everything else runs.
- ``resource_scale`` multiplies every civil-society group's resources (and
  so its campaign rate) before the run.
- ``foreign_scale`` multiplies every pressure from abroad (anything
  applied with ``foreign=True`` and the international channels) by a
  factor: a continuous international opportunity structure (0 withholds
  that pressure but, unlike ``international=False``, keeps partner links and
  the salience of visits).
- ``penetrability`` sets the penetrability of every state an issue targets
  (the state whose policy a campaign presses): a continuous domestic
  opportunity structure. ``None`` leaves the scenario's values.
- ``off`` switches core sub-processes off by name
  (``normflow.processes.CORE_PROCESSES``: ``information``, ``downward``,
  ``top_down``, ``electoral``, ``resolutions``, ``agenda``, ``negotiation``,
  ``backlash``, ...): the knockout study's counterfactuals. Each process
  draws from its own named random stream, so switching one off never
  reshuffles another's draws.

Campaigns still inform the public when their channel is closed: a closed
door stops pressure on the state, not the downward work of persuasion.
Pressure through channels of other plugins is left alone unless it is
``foreign``. A blocked amount is counted in ``counts.pressure_withheld``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from normflow.world import World

#: Pressure through the target state's own door, from its own civil society.
DOMESTIC_CHANNELS = frozenset({"domestic", "local_government"})
#: Pressure from abroad, besides anything applied with ``foreign=True``.
INTERNATIONAL_CHANNELS = frozenset({"interstate", "boomerang", "local_diplomacy"})
RESOURCE_SCALE_RANGE = (0.0, 100.0)
FOREIGN_SCALE_RANGE = (0.0, 100.0)


def _check_scale(_instance: object, _attribute: object, value: float) -> None:
    low, high = RESOURCE_SCALE_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"resource_scale: got {value!r}; expected a number in [{low:g}, {high:g}]")


def _check_foreign_scale(_instance: object, _attribute: object, value: float) -> None:
    low, high = FOREIGN_SCALE_RANGE
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"foreign_scale: got {value!r}; expected a number in [{low:g}, {high:g}]")


def _check_penetrability(_instance: object, _attribute: object, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"penetrability: got {value!r}; expected a number in [0, 1]")


def _check_off(_instance: object, _attribute: object, value: tuple[str, ...]) -> None:
    from normflow.processes import CORE_PROCESSES

    for name in value:
        if name not in CORE_PROCESSES:
            raise ValueError(
                f"off: got {name!r}; expected names of core processes ({', '.join(CORE_PROCESSES)})"
            )


@attrs.frozen(kw_only=True)
class Interventions:
    """Counterfactual switches for one run (all off by default: the
    scenario as written)."""

    domestic: bool = True
    international: bool = True
    local_resolutions: bool = True
    resource_scale: float = attrs.field(default=1.0, validator=_check_scale)
    off: tuple[str, ...] = attrs.field(
        default=(), converter=lambda v: tuple(sorted(set(v))), validator=_check_off
    )
    foreign_scale: float = attrs.field(default=1.0, validator=_check_foreign_scale)
    penetrability: float | None = attrs.field(default=None, validator=_check_penetrability)

    def foreign_factor(self, channel: str, foreign: bool) -> float:
        """What pressure through ``channel`` is multiplied by (1 unless it
        comes from abroad and ``foreign_scale`` is set)."""
        if self.foreign_scale != 1.0 and (foreign or channel in INTERNATIONAL_CHANNELS):
            return self.foreign_scale
        return 1.0

    def enabled(self, process: str) -> bool:
        """Whether the core sub-process ``process`` runs."""
        return process not in self.off

    @property
    def is_default(self) -> bool:
        return self == Interventions()

    @property
    def resolutions_allowed(self) -> bool:
        return self.local_resolutions and self.domestic and "resolutions" not in self.off

    def blocks(self, channel: str, foreign: bool) -> bool:
        """Whether pressure through ``channel`` is withheld."""
        if not self.international and (foreign or channel in INTERNATIONAL_CHANNELS):
            return True
        return not self.domestic and not foreign and channel in DOMESTIC_CHANNELS

    def apply_to_world(self, world: World) -> None:
        """The structural part, before plugins set up and processes start."""
        if self.resource_scale != 1.0:
            world.group_resources = world.group_resources * self.resource_scale
            world.coalition_resources = world.coalition_resources * self.resource_scale
            world.group_budget = world.group_budget * self.resource_scale
        if self.penetrability is not None:
            targets = {world.state_index[issue.state] for issue in world.issues}
            for i in sorted(targets):
                world.states[i].penetrability = float(self.penetrability)
        if not self.international:
            state = world.lg_state
            world.lg_partners = [
                [p for p in ps if state[p] == state[i]] for i, ps in enumerate(world.lg_partners)
            ]

    def label(self) -> str:
        """A short description of what differs from the scenario as written."""
        parts = []
        if not self.domestic:
            parts.append("no domestic channels")
        if not self.international:
            parts.append("no international channels")
        if not self.local_resolutions:
            parts.append("no local resolutions")
        if self.resource_scale != 1.0:
            parts.append(f"resources x{self.resource_scale:g}")
        if self.foreign_scale != 1.0:
            parts.append(f"pressure from abroad x{self.foreign_scale:g}")
        if self.penetrability is not None:
            parts.append(f"targeted states' penetrability {self.penetrability:g}")
        parts.extend(f"no {name}" for name in self.off)
        return ", ".join(parts) or "as written"

    def to_dict(self) -> dict[str, object]:
        return attrs.asdict(self)


class InterventionError(ValueError):
    """An ``--intervene`` item that names no intervention or gives a bad
    value: ``item`` and what was ``expected`` instead."""

    def __init__(self, item: str, expected: str):
        self.item = item
        self.expected = expected
        super().__init__(f"--intervene {item!r}: expected {expected}")


#: What ``--intervene NAME[=VALUE]`` offers: name -> (field, value when no
#: VALUE is given or None when a VALUE is required, what it does).
CATALOG: dict[str, tuple[str, object, str]] = {
    "no_domestic": (
        "domestic",
        False,
        "close the domestic opportunity structure: no pressure through a state's own door "
        "(domestic and local-government channels), no local resolutions",
    ),
    "no_international": (
        "international",
        False,
        "close the international opportunity structure: no pressure from abroad (state visits, "
        "interstate requests, boomerang, local diplomacy), partner links across borders cut",
    ),
    "no_local_resolutions": ("local_resolutions", False, "local assemblies pass no resolutions"),
    "resource_scale": (
        "resource_scale",
        None,
        "multiply every civil-society group's resources (and campaign rate) by VALUE "
        f"(a number in [{RESOURCE_SCALE_RANGE[0]:g}, {RESOURCE_SCALE_RANGE[1]:g}])",
    ),
    "foreign_scale": (
        "foreign_scale",
        None,
        "multiply every pressure from abroad (state visits, interstate requests, boomerang, local "
        f"diplomacy) by VALUE (a number in [{FOREIGN_SCALE_RANGE[0]:g}, {FOREIGN_SCALE_RANGE[1]:g}])",
    ),
    "penetrability": (
        "penetrability",
        None,
        "set the penetrability of every state an issue targets to VALUE (a number in [0, 1])",
    ),
}

#: The range of each intervention that takes a number.
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "resource_scale": RESOURCE_SCALE_RANGE,
    "foreign_scale": FOREIGN_SCALE_RANGE,
    "penetrability": (0.0, 1.0),
}

_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off"}


def parse_interventions(items: list[str] | tuple[str, ...]) -> Interventions:
    """``Interventions`` from ``NAME[=VALUE]`` items (see ``CATALOG``). A
    switch takes an optional ``=on`` / ``=off`` (``no_domestic=off`` leaves
    the door open). Raises ``InterventionError`` with one line naming the
    item and what was expected."""
    import math

    fields: dict[str, object] = {}
    for item in items:
        name, eq, text = str(item).partition("=")
        name, text = name.strip(), text.strip()
        if name not in CATALOG:
            import difflib  # only for a suggestion in an error message (normflow run has no items)

            close = difflib.get_close_matches(name, list(CATALOG), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InterventionError(item, f"one of the interventions {', '.join(CATALOG)}{hint}")
        field, default, _doc = CATALOG[name]
        if default is None:
            try:
                value = float(text) if eq else math.nan
            except ValueError:
                value = math.nan
            low, high = VALUE_RANGES[field]
            if not (math.isfinite(value) and low <= value <= high):
                raise InterventionError(item, f"{name}=VALUE with VALUE a number in [{low:g}, {high:g}]")
            fields[field] = value
        elif not eq or text.lower() in _YES:
            fields[field] = default
        elif text.lower() in _NO:
            fields[field] = not default
        else:
            raise InterventionError(item, f"{name}, {name}=on or {name}=off")
    return Interventions(**fields)


def describe_interventions() -> list[dict[str, str]]:
    """The catalog as rows (``normflow interventions``)."""
    return [
        {"name": name if default is not None else f"{name}=VALUE", "field": field, "description": doc}
        for name, (field, default, doc) in CATALOG.items()
    ]
