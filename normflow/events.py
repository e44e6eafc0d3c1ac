"""The event vocabulary: everything that can happen in a run.

Every event is a frozen, slotted attrs class with a simulated time ``t`` (days
since the scenario's start) and a class-level ``kind`` used as the ``kind``
field of the trace. Events refer to actors by their string ids, never by
object, so a trace line is self-contained and round-trips through JSON.

An event's life is short: a process builds it, the bus hands it to the
handlers subscribed to its type and to the trace sinks, and nothing keeps it
afterwards. Processes build an event only when somebody listens
(``Bus.wants``), which is what keeps the hot path cheap.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs


def _event(cls: type) -> type:
    return attrs.frozen(slots=True, kw_only=True)(cls)


@_event
class Event:
    """Base class. ``t`` is the simulated time in days."""

    kind: ClassVar[str] = "event"
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
    local_government: str
    group: str
    issue: str


@_event
class CoalitionFormed(Event):
    """Two groups not yet in any coalition formed one across a border or a
    nationality line."""

    kind: ClassVar[str] = "coalition_formed"
    coalition: str
    members: tuple[str, ...]
    issue: str
    crossing: str  # "border" or "nationality"


@_event
class CoalitionJoined(Event):
    """A group (or a whole coalition) joined an existing coalition."""

    kind: ClassVar[str] = "coalition_joined"
    coalition: str
    joiner: str
    size: int
    issue: str
    crossing: str


# -- accountability ---------------------------------------------------------


@_event
class PressureApplied(Event):
    """Pressure reached a target. ``channel`` names the path (``domestic``,
    ``local_government``, ``electoral``, ``interstate``, or a plugin's
    channel); ``nature`` is ``moral`` or ``material``."""

    kind: ClassVar[str] = "pressure_applied"
    source: str
    target: str
    issue: str
    channel: str
    nature: str
    amount: float


@_event
class AccessBlocked(Event):
    """A group's attempt to press its own state failed at the state's door
    (closed domestic structure). Mechanisms such as the boomerang react to it."""

    kind: ClassVar[str] = "access_blocked"
    group: str
    state: str
    issue: str
    channel: str


@_event
class PublicSupportChanged(Event):
    """Public support for an issue changed in a locality or a whole state."""

    kind: ClassVar[str] = "public_support_changed"
    where: str
    issue: str
    support: float


# -- agenda-setting ---------------------------------------------------------


@_event
class ResolutionPassed(Event):
    """A local assembly passed a resolution calling for national action."""

    kind: ClassVar[str] = "resolution_passed"
    local_government: str
    issue: str
    population: int


@_event
class SessionOpened(Event):
    kind: ClassVar[str] = "session_opened"
    legislature: str
    session: str  # "ordinary", "extraordinary" or "special"
    number: int


@_event
class SessionClosed(Event):
    kind: ClassVar[str] = "session_closed"
    legislature: str
    session: str
    number: int
    dissolved: bool


@_event
class AgendaPlaced(Event):
    """Problem, policy and politics streams met during an open session: the
    issue is on the national agenda."""

    kind: ClassVar[str] = "agenda_placed"
    legislature: str
    issue: str


@_event
class BillSubmitted(Event):
    kind: ClassVar[str] = "bill_submitted"
    legislature: str
    bill: str
    issue: str
    sponsor: str  # "cabinet" or "members"


@_event
class BillAdvanced(Event):
    """A bill passed a stage (``stage`` is the one just passed)."""

    kind: ClassVar[str] = "bill_advanced"
    legislature: str
    bill: str
    issue: str
    stage: str


@_event
class BillCarriedOver(Event):
    kind: ClassVar[str] = "bill_carried_over"
    legislature: str
    bill: str
    issue: str
    stage: str


@_event
class BillLapsed(Event):
    kind: ClassVar[str] = "bill_lapsed"
    legislature: str
    bill: str
    issue: str
    stage: str
    reason: str  # "session_end" or "dissolution"


@_event
class BillEnacted(Event):
    kind: ClassVar[str] = "bill_enacted"
    legislature: str
    bill: str
    issue: str


@_event
class BillRejected(Event):
    kind: ClassVar[str] = "bill_rejected"
    legislature: str
    bill: str
    issue: str
    stage: str


# -- interstate negotiation ------------------------------------------------


@_event
class NegotiationPhaseChanged(Event):
    """A negotiation entered ``phase`` (``prenegotiation`` when it opens, then
    ``main``, ``agreement``, ``ratification``)."""

    kind: ClassVar[str] = "negotiation_phase_changed"
    negotiation: str
    issue: str
    phase: str
    requester: str | None


@_event
class ExpertiseHeard(Event):
    """Expertise moved the negotiators' positions; ``weight`` is the weight
    expertise carried in the current phase through ``channel``."""

    kind: ClassVar[str] = "expertise_heard"
    negotiation: str
    issue: str
    phase: str
    channel: str
    weight: float
    influence: float


@_event
class AgreementReached(Event):
    kind: ClassVar[str] = "agreement_reached"
    negotiation: str
    issue: str
    parties: tuple[str, ...]


@_event
class AgreementFailed(Event):
    kind: ClassVar[str] = "agreement_failed"
    negotiation: str
    issue: str
    reason: str  # "stalled", "ratification:<state>"


# -- outcomes and the outside world -----------------------------------------


@_event
class PolicyChanged(Event):
    """A state's policy on an issue moved to a norm-consistent position."""

    kind: ClassVar[str] = "policy_changed"
    state: str
    issue: str
    position: float
    cause: str


@_event
class ExogenousEvent(Event):
    """A dated event declared in the scenario (a state visit, an election, a
    dissolution, ...)."""

    kind: ClassVar[str] = "exogenous"
    name: str
    category: str
    state: str | None
    target: str | None


@_event
class PhaseChanged(Event):
    """Generic phase change of a plugin's state machine (e.g. the spiral
    model's phases). ``machine`` names the machine, ``subject`` its owner."""

    kind: ClassVar[str] = "phase_changed"
    machine: str
    subject: str
    issue: str
    phase: str
    previous: str


@_event
class ChannelUsed(Event):
    """A plugin's channel of influence carried pressure or information
    (e.g. local diplomacy through a partner city)."""

    kind: ClassVar[str] = "channel_used"
    channel: str
    path: tuple[str, ...]
    issue: str
    amount: float


ALL_EVENTS: tuple[type[Event], ...] = (
    InformationExchanged,
    InformationShared,
    CoalitionFormed,
    CoalitionJoined,
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
    NegotiationPhaseChanged,
    ExpertiseHeard,
    AgreementReached,
    AgreementFailed,
    PolicyChanged,
    ExogenousEvent,
    PhaseChanged,
    ChannelUsed,
)

EVENT_BY_KIND: dict[str, type[Event]] = {cls.kind: cls for cls in ALL_EVENTS}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from its trace line (the inverse of ``to_dict``)."""
    fields = dict(data)
    kind = fields.pop("kind")
    fields.pop("date", None)
    cls = EVENT_BY_KIND[kind]
    for f in attrs.fields(cls):
        if f.name in fields and isinstance(fields[f.name], list):
            fields[f.name] = tuple(fields[f.name])
    return cls(**fields)
