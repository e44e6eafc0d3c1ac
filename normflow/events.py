"""The event vocabulary: everything that can happen in a run.

Every event is a frozen, slotted attrs class with a simulated time ``t`` (days
since the scenario's start) and a class-level ``kind`` used as the ``kind``
field of the trace. Events refer to actors by their string ids, never by
object, so a trace line is self-contained and round-trips through JSON.

Events that can cause others carry an ``id`` (a number unique within the run,
given by ``Simulation.new_event_id``; 0 when none was given), and events
caused by others carry their ids in ``causes``: a boomerang's
``ChannelUsed`` names the ``AccessBlocked`` it answered, a bill's fate its
``BillSubmitted``, ``AgendaPlaced`` the resolutions and pressure behind the
streams. ``normflow explain`` follows these links back to the roots. Each
kind has a plain-language ``label`` (``label_of``) for summaries and reports.

An event's life is short: a process builds it, the bus hands it to the
handlers subscribed to its type and to the trace sinks, and nothing keeps it
afterwards. Processes build an event only when somebody listens
(``Bus.wants``), which is what keeps the hot path cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from normflow.codecache import build_cached, store_cached_methods


def _frozen(cls: type) -> type:
    return attrs.frozen(slots=True, kw_only=True)(cls)


def _event(cls: type) -> type:
    """One of normflow's own kinds, its methods from attrs' code cache
    (normflow/codecache.py) however this module comes to be imported: ``import
    normflow`` does not import it; a run, a trace, a study, a plugin or an
    unpickling worker does, from within normflow's lazy names or not. What
    the classes compile anew is written to the cache once, after the last
    (``store_cached_methods`` below ``ALL_EVENTS``)."""
    return build_cached(_frozen, cls)


@_event
class Event:
    """Base class. ``t`` is the simulated time in days."""

    kind: ClassVar[str] = "event"
    label: ClassVar[str] = "an event"
    #: for a declared kind (``declare_event``): field name -> the kind of
    #: actor it names (one of ``ACTOR_KINDS``)
    actor_fields: ClassVar[Mapping[str, str]] = {}
    #: for a declared kind: whether the run's ``counts`` count it
    counted: ClassVar[bool] = False
    #: True for a kind declared with ``declare_event``
    declared: ClassVar[bool] = False
    #: True for a kind the model starts chains from: nothing in the run causes
    #: it (the calendar, the scenario's schedule, a chance meeting, an actor's
    #: own initiative). ``normflow explain`` ends a chain at such an event; a
    #: chain ending at any other kind says its cause was not recorded.
    root: ClassVar[bool] = False
    t: float

    def to_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=False)
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}
        return {"kind": self.kind, **data}


# -- information exchange -------------------------------------------------


@_event
class InformationExchanged(Event):
    """A contact between two civil-society groups; ``success`` says whether
    information actually moved."""

    kind: ClassVar[str] = "information_exchanged"
    label: ClassVar[str] = "two groups exchanged information"
    source: str
    target: str
    issue: str
    venue: str | None
    success: bool


@_event
class InformationShared(Event):
    """A local government shared information with a group in its locality
    (and heard the group's case in return)."""

    kind: ClassVar[str] = "information_shared"
    label: ClassVar[str] = "a local government shared information with a group"
    root: ClassVar[bool] = True
    local_government: str
    group: str
    issue: str
    id: int = 0


@_event
class CoalitionFormed(Event):
    """Two groups not yet in any coalition formed one across a border or a
    nationality line."""

    kind: ClassVar[str] = "coalition_formed"
    label: ClassVar[str] = "a coalition formed across a border or nationality line"
    root: ClassVar[bool] = True
    coalition: str
    members: tuple[str, ...]
    issue: str
    crossing: str  # "border" or "nationality"


@_event
class CoalitionJoined(Event):
    """A group (or a whole coalition) joined an existing coalition."""

    kind: ClassVar[str] = "coalition_joined"
    label: ClassVar[str] = "a group joined a coalition"
    root: ClassVar[bool] = True
    coalition: str
    joiner: str
    size: int
    issue: str
    crossing: str


# -- accountability ---------------------------------------------------------


@_event
class CampaignStarted(Event):
    """A group's campaign on an issue took its first step (published once
    per group and issue, when the step is traced). The pressure and the
    blocked attempts of the group's campaign name it among their causes."""

    kind: ClassVar[str] = "campaign_started"
    label: ClassVar[str] = "a group began campaigning"
    root: ClassVar[bool] = True
    group: str
    issue: str
    state: str
    id: int = 0


@_event
class Scheduled(Event):
    """Something the scenario sets happened as set (a negotiation opening on
    its date, a resolution campaign from its launch date); the events it
    starts name it among their causes."""

    kind: ClassVar[str] = "scheduled"
    label: ClassVar[str] = "the scenario set it"
    root: ClassVar[bool] = True
    what: str
    subject: str
    id: int = 0


@_event
class PressureApplied(Event):
    """Pressure reached a target. ``channel`` names the path (``domestic``,
    ``local_government``, ``electoral``, ``interstate``, or a plugin's
    channel); ``nature`` is ``moral`` or ``material``."""

    kind: ClassVar[str] = "pressure_applied"
    label: ClassVar[str] = "pressure reached a state"
    source: str
    target: str
    issue: str
    channel: str
    nature: str
    amount: float
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class AccessBlocked(Event):
    """A group's attempt to press its own state failed at the state's door
    (closed domestic structure). Mechanisms such as the boomerang react to it."""

    kind: ClassVar[str] = "access_blocked"
    label: ClassVar[str] = "a group's pressure was blocked at its state's door"
    group: str
    state: str
    issue: str
    channel: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class PublicSupportChanged(Event):
    """Public support for an issue changed in a locality or a whole state."""

    kind: ClassVar[str] = "public_support_changed"
    label: ClassVar[str] = "public support changed"
    where: str
    issue: str
    support: float


# -- agenda-setting ---------------------------------------------------------


@_event
class ResolutionPassed(Event):
    """A local assembly passed a resolution calling for national action."""

    kind: ClassVar[str] = "resolution_passed"
    label: ClassVar[str] = "a local assembly passed a resolution"
    local_government: str
    issue: str
    population: int
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class SessionOpened(Event):
    kind: ClassVar[str] = "session_opened"
    label: ClassVar[str] = "a legislative session opened"
    root: ClassVar[bool] = True
    legislature: str
    session: str  # "ordinary", "extraordinary" or "special"
    number: int


@_event
class SessionClosed(Event):
    kind: ClassVar[str] = "session_closed"
    label: ClassVar[str] = "a legislative session closed"
    legislature: str
    session: str
    number: int
    dissolved: bool


@_event
class AgendaPlaced(Event):
    """Problem, policy and politics streams met during an open session: the
    issue is on the national agenda."""

    kind: ClassVar[str] = "agenda_placed"
    label: ClassVar[str] = "the issue reached the national agenda"
    legislature: str
    issue: str
    problem: float = 0.0  # salience (the problem stream) when the streams met
    politics: float = 0.0  # the politics stream's level
    policy: float = 0.0  # the supporters' expertise behind the proposal (the policy stream)
    pressure_by_channel: dict[str, float] = attrs.field(factory=dict)  # pressure applied so far, by channel
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillSubmitted(Event):
    kind: ClassVar[str] = "bill_submitted"
    label: ClassVar[str] = "a bill was submitted"
    legislature: str
    bill: str
    issue: str
    sponsor: str  # "cabinet" or "members"
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillAdvanced(Event):
    """A bill passed a stage (``stage`` is the one just passed)."""

    kind: ClassVar[str] = "bill_advanced"
    label: ClassVar[str] = "a bill passed a stage"
    legislature: str
    bill: str
    issue: str
    stage: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillCarriedOver(Event):
    kind: ClassVar[str] = "bill_carried_over"
    label: ClassVar[str] = "a bill was carried over to the next session"
    legislature: str
    bill: str
    issue: str
    stage: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillLapsed(Event):
    kind: ClassVar[str] = "bill_lapsed"
    label: ClassVar[str] = "a bill lapsed"
    legislature: str
    bill: str
    issue: str
    stage: str
    reason: str  # "session_end" or "dissolution"
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillEnacted(Event):
    kind: ClassVar[str] = "bill_enacted"
    label: ClassVar[str] = "a bill was enacted"
    legislature: str
    bill: str
    issue: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillRejected(Event):
    kind: ClassVar[str] = "bill_rejected"
    label: ClassVar[str] = "a bill was rejected"
    legislature: str
    bill: str
    issue: str
    stage: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillTakenUp(Event):
    """The governing parties let a committee take the bill up this session:
    only a bill taken up faces votes."""

    kind: ClassVar[str] = "bill_taken_up"
    label: ClassVar[str] = "a committee took a bill up"
    legislature: str
    bill: str
    issue: str
    stage: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class BillShelved(Event):
    """The governing parties kept the bill off the committee's agenda this
    session: it waits, then is carried over or lapses when the session ends."""

    kind: ClassVar[str] = "bill_shelved"
    label: ClassVar[str] = "the governing parties shelved a bill for the session"
    legislature: str
    bill: str
    issue: str
    stage: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class ElectionHeld(Event):
    """A general (``house="lower"``) or upper House election. ``cause`` is
    ``dissolution``, ``term`` or ``scheduled``; ``government_support`` is the
    governing parties' support for each of the state's ``issues`` after it."""

    kind: ClassVar[str] = "election_held"
    label: ClassVar[str] = "an election was held"
    root: ClassVar[bool] = True
    legislature: str
    house: str
    cause: str
    issues: tuple[str, ...]
    government_support: tuple[float, ...]
    id: int = 0


@_event
class CounterResolutionPassed(Event):
    """A local assembly passed a resolution *against* the campaign's demand
    (counter-mobilization)."""

    kind: ClassVar[str] = "counter_resolution_passed"
    label: ClassVar[str] = "a local assembly passed a counter-resolution"
    local_government: str
    issue: str
    population: int
    id: int = 0


@_event
class ResolutionWithdrawn(Event):
    """A local assembly withdrew the resolution it had passed, under
    counter-mobilization (a petition to withdraw it)."""

    kind: ClassVar[str] = "resolution_withdrawn"
    label: ClassVar[str] = "a local assembly withdrew its resolution"
    local_government: str
    issue: str
    population: int
    id: int = 0


@_event
class CounterLobbying(Event):
    """Opponents lobbied the governing parties against the issue; ``amount``
    is what it added to their counter-lobbying stock."""

    kind: ClassVar[str] = "counter_lobbying"
    label: ClassVar[str] = "opponents lobbied the governing parties"
    state: str
    issue: str
    amount: float
    id: int = 0


@_event
class CoalitionSupported(Event):
    """A local government gave a group (and its coalition) a subsidy, an
    office, an endorsement or a delegated task: resources and delegated
    autonomy rise, administrative autonomy falls (``administrative`` is the
    coalition's value after it)."""

    kind: ClassVar[str] = "coalition_supported"
    label: ClassVar[str] = "a local government supported a coalition"
    local_government: str
    group: str
    issue: str
    form: str
    administrative: float
    id: int = 0


# -- interstate negotiation ------------------------------------------------


@_event
class NegotiationPhaseChanged(Event):
    """A negotiation entered ``phase`` (``prenegotiation`` when it opens, then
    ``main``, ``agreement``, ``ratification``)."""

    kind: ClassVar[str] = "negotiation_phase_changed"
    label: ClassVar[str] = "a negotiation entered a new phase"
    negotiation: str
    issue: str
    phase: str
    requester: str | None
    pressure_by_channel: dict[str, float] = attrs.field(factory=dict)  # the requester's, when it opens
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class ExpertiseHeard(Event):
    """Expertise moved the negotiators' positions; ``weight`` is the weight
    expertise carried in the current phase through ``channel``."""

    kind: ClassVar[str] = "expertise_heard"
    label: ClassVar[str] = "expertise moved the negotiators"
    negotiation: str
    issue: str
    phase: str
    channel: str
    weight: float
    influence: float


@_event
class AgreementReached(Event):
    kind: ClassVar[str] = "agreement_reached"
    label: ClassVar[str] = "an agreement was reached"
    negotiation: str
    issue: str
    parties: tuple[str, ...]
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class AgreementFailed(Event):
    kind: ClassVar[str] = "agreement_failed"
    label: ClassVar[str] = "a negotiation failed"
    negotiation: str
    issue: str
    reason: str  # "stalled", "ratification:<state>", "outside_win_set:<state>"
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class AgreementRenegotiated(Event):
    """A ratifier found the agreed deal outside its acceptable set (its
    win-set) and the talks went back to the main phase (Putnam's two-level
    game: the deal is reopened rather than lost)."""

    kind: ClassVar[str] = "agreement_renegotiated"
    label: ClassVar[str] = "a ratifier sent a deal back to the negotiators"
    negotiation: str
    issue: str
    state: str
    deal: float
    id: int = 0
    causes: tuple[int, ...] = ()


# -- central backlash ------------------------------------------------------


@_event
class CentralBacklash(Event):
    """A state curbed one of its local governments' international activity
    that ran against its stated policy: ``action`` is ``access_withdrawn``,
    ``channel_closed`` (for a period) or ``reprimand`` (a cost to the local
    government's standing)."""

    kind: ClassVar[str] = "central_backlash"
    label: ClassVar[str] = "a state curbed a local government's activity abroad"
    state: str
    local_government: str
    issue: str
    action: str
    id: int = 0
    causes: tuple[int, ...] = ()


# -- outcomes and the outside world -----------------------------------------


@_event
class PolicyChanged(Event):
    """A state's policy on an issue moved to a norm-consistent position."""

    kind: ClassVar[str] = "policy_changed"
    label: ClassVar[str] = "a state changed its policy"
    state: str
    issue: str
    position: float
    cause: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class ExogenousEvent(Event):
    """A dated event declared in the scenario (a state visit, an election, a
    dissolution, ...)."""

    kind: ClassVar[str] = "exogenous"
    label: ClassVar[str] = "a scheduled event (visit, election, dissolution)"
    root: ClassVar[bool] = True
    name: str
    category: str
    state: str | None
    target: str | None
    id: int = 0


@_event
class PhaseChanged(Event):
    """Generic phase change of a plugin's state machine (e.g. the spiral
    model's phases). ``machine`` names the machine, ``subject`` its owner.

    The run records the milestone ``machine.phase:subject`` the first time
    it happens; a machine of the whole system rather than of one actor (the
    norm cascade) leaves ``subject`` empty and reaches ``machine.phase``."""

    kind: ClassVar[str] = "phase_changed"
    label: ClassVar[str] = "a mechanism changed phase"
    machine: str
    subject: str
    issue: str
    phase: str
    previous: str
    id: int = 0
    causes: tuple[int, ...] = ()


@_event
class ChannelUsed(Event):
    """A plugin's channel of influence carried pressure or information
    (e.g. local diplomacy through a partner city)."""

    kind: ClassVar[str] = "channel_used"
    label: ClassVar[str] = "a channel of influence carried pressure"
    channel: str
    path: tuple[str, ...]
    issue: str
    amount: float
    id: int = 0
    causes: tuple[int, ...] = ()


ALL_EVENTS: tuple[type[Event], ...] = (
    InformationExchanged,
    InformationShared,
    CoalitionFormed,
    CoalitionJoined,
    CampaignStarted,
    Scheduled,
    PressureApplied,
    AccessBlocked,
    PublicSupportChanged,
    ResolutionPassed,
    SessionOpened,
    SessionClosed,
    AgendaPlaced,
    BillSubmitted,
    BillAdvanced,
    BillCarriedOver,
    BillLapsed,
    BillEnacted,
    BillRejected,
    BillTakenUp,
    BillShelved,
    ElectionHeld,
    CounterResolutionPassed,
    ResolutionWithdrawn,
    CounterLobbying,
    CoalitionSupported,
    NegotiationPhaseChanged,
    ExpertiseHeard,
    AgreementReached,
    AgreementFailed,
    AgreementRenegotiated,
    CentralBacklash,
    PolicyChanged,
    ExogenousEvent,
    PhaseChanged,
    ChannelUsed,
)

EVENT_BY_KIND: dict[str, type[Event]] = {cls.kind: cls for cls in ALL_EVENTS}

store_cached_methods()  # the classes above are built: one write of the code cache (``_event``)

#: Labels of event kinds that plugins add (``register_label``).
_PLUGIN_LABELS: dict[str, str] = {}


def register_label(kind: str, label: str) -> None:
    """Give a plugin's event kind (or channel, or phase) a plain-language label."""
    _PLUGIN_LABELS[kind] = label


def label_of(kind: str) -> str:
    """The plain-language label of an event kind (its own words if none is known)."""
    cls = EVENT_BY_KIND.get(kind) or DECLARED.get(kind)
    if cls is not None:
        return cls.label
    return _PLUGIN_LABELS.get(kind) or kind.replace("_", " ")


#: What a field of a declared event may name, and how the invariants check it:
#: an id of that kind in the scenario; "any" accepts any actor (states, local
#: governments, groups, issues, coalitions and the ``extra_actors`` of a check).
ACTOR_KINDS = ("state", "issue", "local_government", "group", "legislature", "negotiation", "any")

#: Kinds declared by plugins (``declare_event``), by name.
DECLARED: dict[str, type[Event]] = {}

_KIND_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_E = TypeVar("_E", bound=type)


def declare_event(
    kind: str, *, actors: Mapping[str, str] | None = None, counted: bool = True, label: str | None = None
) -> Callable[[_E], _E]:
    """Declare a plugin's own kind of event: a class decorator.

    ::

        @normflow.events.declare_event("treaty_review", actors={"state": "state"})
        class TreatyReview(normflow.events.Event):
            body: str
            state: str
            issue: str
            severity: float

    The class becomes a frozen, slotted attrs class with keyword-only fields
    (like every event), ``t`` first. ``kind`` is its name in the trace, the
    run's ``counts`` and ``read_trace`` (lower case, digits and ``_``; not a
    core kind). ``actors`` maps each field that holds actor ids (a string,
    or a tuple of strings) to the kind of actor it names, one of
    ``ACTOR_KINDS``; the invariants check those ids against the scenario.
    A field named ``issue`` is always checked as an issue. ``counted``
    (default True): the run's ``counts`` hold how many were published under
    ``kind``, and so the experiment's ``counts.<kind>`` column. ``label``
    says the kind in plain words for summaries (default: its name with
    spaces).

    A plugin also hands the class to the run through the hook
    ``normflow_register_event_kinds``, which is how the run knows whose kind
    it is before any is published.
    """
    if not (isinstance(kind, str) and _KIND_NAME.match(kind)):
        raise ValueError(f"declare_event: kind {kind!r}; expected lower case letters, digits and '_'")
    core = {cls.kind for cls in ALL_EVENTS} | {"event", "trace_start", "trace_end"}
    if kind in core:
        raise ValueError(f"declare_event: kind {kind!r} is a core kind of event; choose another name")
    actors = dict(actors or {})
    for name, what in actors.items():
        if what not in ACTOR_KINDS:
            raise ValueError(
                f"declare_event({kind!r}): actors[{name!r}] {what!r}; expected one of {list(ACTOR_KINDS)}"
            )

    def wrap(cls: _E) -> _E:
        if not (isinstance(cls, type) and issubclass(cls, Event)):
            raise TypeError(
                f"declare_event({kind!r}) decorates a subclass of normflow.events.Event, not {cls!r}"
            )
        made = cls if "__attrs_attrs__" in cls.__dict__ else _frozen(cls)
        fields = {f.name for f in attrs.fields(made)}
        unknown = sorted(set(actors) - fields)
        if unknown:
            raise ValueError(
                f"declare_event({kind!r}): actors names {unknown[0]!r}, which is not a field of "
                f"{made.__name__} ({', '.join(sorted(fields))})"
            )
        other = DECLARED.get(kind)
        if other is not None and other.__qualname__ != made.__qualname__:
            raise ValueError(f"declare_event: kind {kind!r} is already declared by {other.__qualname__}")
        made.kind = kind
        made.actor_fields = actors
        made.counted = bool(counted)
        made.declared = True
        made.label = label or kind.replace("_", " ")
        DECLARED[kind] = made
        return made

    return wrap


def describe_event(cls: type[Event]) -> dict[str, Any]:
    """A declared kind as plain data (what the trace header holds): its
    fields and their types, its actor fields, whether it is counted."""
    return {
        "fields": {f.name: _type_name(f.type) for f in attrs.fields(cls)},
        "actors": dict(cls.actor_fields),
        "counted": bool(cls.counted),
    }


def _type_name(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return str(text).replace(" ", "")


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its trace line (the inverse of ``to_dict``)."""
    fields = dict(data)
    kind = fields.pop("kind")
    fields.pop("date", None)
    cls = EVENT_BY_KIND.get(kind) or DECLARED.get(kind)
    if cls is None:
        raise KeyError(
            f"unknown kind of event {kind!r} (a plugin's kind is known once its module is imported)"
        )
    for f in attrs.fields(cls):
        if f.name in fields and isinstance(fields[f.name], list):
            fields[f.name] = tuple(fields[f.name])
    return cls(**fields)
