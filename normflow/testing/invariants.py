"""What must hold in every run, whatever the scenario, seed or plugins.

``check_invariants(lines, scenario)`` reads a run's events -- trace lines
(dictionaries, as ``normflow.trace.read_trace`` returns them) or event
objects -- and raises ``InvariantViolation`` listing every rule broken:

- simulated time never decreases and stays within the horizon;
- every event names actors, issues, legislatures and negotiations that exist;
- quantities stay in their ranges (support and positions in [0, 1], amounts
  of pressure positive and finite, ...);
- a legislature's sessions open and close in turn;
- the issue is on the agenda before any bill on it is submitted; a bill
  passes its stages in order, only while its session is open, and once it
  has lapsed, been rejected or enacted nothing more happens to it;
- a bill is voted on (advanced, rejected, enacted) only in a session in
  which it was taken up, and is taken up or shelved only while its session
  is open;
- each local government passes at most one resolution per issue, withdraws
  only a resolution it passed and at most once (a resolution counts once),
  and never passes both a resolution and a counter-resolution; a state's
  policy changes at most once per issue;
- a negotiation goes through its phases in order (a deal a ratifier sends
  back returns it to the main phase), and ends at most once;
- a central backlash names a state, one of its local governments' ids and
  one of the three actions;
- a plugin's state machine (``phase_changed`` events) names as ``previous``
  the phase it was actually in, and, when its order is given in
  ``phase_orders``, never skips a phase going forward;
- a plugin's declared kinds of event (``normflow.events.declare_event``)
  name, in their actor fields, actors of the declared kind that exist. The
  declarations come from the trace's header, from the kinds declared in
  this process, or from ``event_kinds``.

The checks read only the event stream and the scenario, so they apply to a
trace written yesterday as well as to a run recorded in memory.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from normflow.events import DECLARED, Event
from normflow.scenario import Scenario

__all__ = ["InvariantViolation", "actor_ids", "check_invariants", "invariant_violations"]

#: A bill's stages, in the order it must pass them.
BILL_STAGES = ("lower_committee", "lower_plenary", "upper_committee", "upper_plenary")
NEGOTIATION_PHASES = ("prenegotiation", "main", "agreement", "ratification")
_TRACE_MARKERS = {"trace_start", "trace_end"}
_MAX_REPORTED = 25


class InvariantViolation(AssertionError):
    """A run broke one or more invariants; ``problems`` lists them."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        shown = self.problems[:_MAX_REPORTED]
        more = len(self.problems) - len(shown)
        text = "\n".join(f"  - {p}" for p in shown)
        if more:
            text += f"\n  ... and {more} more"
        super().__init__(f"{len(self.problems)} invariant(s) broken:\n{text}")


def actor_ids(scenario: Scenario) -> dict[str, set[str]]:
    """The ids of everything a run of ``scenario`` can name, by kind.

    Generated actors are included under the names the world gives them
    (``<prefix>-<k>``), so the sets match a trace exactly.
    """
    lgs = {x.id for x in scenario.local_governments.named}
    for grp in scenario.local_governments.groups:
        lgs.update(f"{grp.prefix}-{k}" for k in range(grp.count))
    groups = {x.id for x in scenario.civil_society.groups}
    for pop in scenario.civil_society.populations:
        groups.update(f"{pop.prefix}-{k}" for k in range(pop.count))
    return {
        "state": {x.id for x in scenario.states},
        "issue": {x.id for x in scenario.issues},
        "local_government": lgs,
        "group": groups,
        "negotiation": {x.id for x in scenario.negotiations},
        "legislature": {x.legislature.name for x in scenario.states if x.legislature is not None},
    }


def _as_line(item: Mapping[str, Any] | Event) -> Mapping[str, Any]:
    return item.to_dict() if isinstance(item, Event) else item


class _Checker:
    """Walks the events once, keeping just enough state for every rule."""

    def __init__(
        self,
        scenario: Scenario,
        extra_actors: Iterable[str],
        phase_orders: Mapping[str, Sequence[str]],
        event_kinds: Iterable[type[Event]] = (),
    ):
        self.s = scenario
        #: kind -> {field: actor kind} for the declared kinds of event
        self.declared: dict[str, dict[str, str]] = {k: dict(c.actor_fields) for k, c in DECLARED.items()}
        self.declared.update({c.kind: dict(c.actor_fields) for c in event_kinds})
        self.ids = actor_ids(scenario)
        self.extra = set(extra_actors) | {"public"}
        self.horizon = scenario.horizon
        self.phase_orders = {k: list(v) for k, v in phase_orders.items()}
        self.problems: list[str] = []
        self.issue_state = {x.id: x.state for x in scenario.issues}
        names = [x.legislature.name for x in scenario.states if x.legislature is not None]
        self.legislature_of = {x.id: x.legislature.name for x in scenario.states if x.legislature is not None}
        # two states may give their legislatures the same name; session rules
        # are then ambiguous and checked only for names used once
        self.unique_legislatures = {n for n in names if names.count(n) == 1}
        self.last_t = -math.inf
        self.coalitions: set[str] = set()
        self.session_open: dict[str, int | None] = {}
        self.session_count: dict[str, int] = defaultdict(int)
        self.on_agenda: set[tuple[str, str]] = set()
        self.bills: dict[str, dict[str, Any]] = {}
        self.resolutions: set[tuple[str, str]] = set()
        self.withdrawn: set[tuple[str, str]] = set()
        self.counter_resolutions: set[tuple[str, str]] = set()
        #: whether the run's legislature takes bills up (agenda control); a
        #: trace written before agenda control has no such events
        self.taking_up = False
        self.policy: set[tuple[str, str]] = set()
        self.negotiations: dict[str, dict[str, Any]] = {}
        self.machines: dict[tuple[str, str, str], str] = {}

    # -- helpers ---------------------------------------------------------------

    def fail(self, i: int, line: Mapping[str, Any], text: str) -> None:
        self.problems.append(f"event #{i} ({line.get('kind')} at t={line.get('t')}): {text}")

    def known(self, kind: str, value: Any) -> bool:
        return value in self.ids[kind]

    def any_actor(self, value: Any) -> bool:
        return (
            value in self.extra
            or value in self.coalitions
            or any(value in self.ids[k] for k in ("state", "local_government", "group", "issue"))
        )

    def need(self, i: int, line: Mapping[str, Any], field: str, kind: str, optional: bool = False) -> None:
        value = line.get(field)
        if value is None and optional:
            return
        ok = self.any_actor(value) if kind == "any" else self.known(kind, value)
        if not ok:
            what = "actor" if kind == "any" else kind.replace("_", " ")
            self.fail(i, line, f"{field} {value!r} is not a declared {what}")

    def in_range(self, i: int, line: Mapping[str, Any], field: str, low: float, high: float) -> None:
        value = line.get(field)
        if not isinstance(value, int | float) or not (low <= value <= high):
            self.fail(i, line, f"{field} {value!r} outside [{low:g}, {high:g}]")

    def read_header(self, line: Mapping[str, Any]) -> None:
        for kind, about in (line.get("event_kinds") or {}).items():
            self.declared[kind] = dict(about.get("actors") or {})

    def check_declared(self, i: int, line: Mapping[str, Any], actors: Mapping[str, str]) -> None:
        for field, what in actors.items():
            value = line.get(field)
            values = value if isinstance(value, list | tuple) else [value]
            for v in values:
                if v is None:
                    continue
                ok = self.any_actor(v) if what == "any" else v in self.ids.get(what, ())
                if not ok:
                    label = "actor" if what == "any" else what.replace("_", " ")
                    self.fail(i, line, f"{field} {v!r} is not a declared {label}")

    # -- the walk ----------------------------------------------------------------

    def check(self, i: int, line: Mapping[str, Any]) -> None:
        kind = line.get("kind")
        t = line.get("t")
        if not isinstance(t, int | float) or not math.isfinite(t):
            self.fail(i, line, f"time {t!r} is not a finite number")
            return
        if t < self.last_t:
            self.fail(i, line, f"time went back from {self.last_t} to {t}")
        if not 0.0 <= t <= self.horizon:
            self.fail(i, line, f"time {t} outside the run [0, {self.horizon}]")
        self.last_t = max(self.last_t, t)
        if "issue" in line:
            self.need(i, line, "issue", "issue")
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(i, line)
        actors = self.declared.get(kind)
        if actors:
            self.check_declared(i, line, actors)

    # information and coalitions
    def on_information_exchanged(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "source", "group")
        self.need(i, e, "target", "group")
        self.need(i, e, "venue", "local_government", optional=True)

    def on_information_shared(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "local_government", "local_government")
        self.need(i, e, "group", "group")

    def on_coalition_formed(self, i: int, e: Mapping[str, Any]) -> None:
        members = list(e.get("members") or [])
        for m in members:
            if not self.known("group", m):
                self.fail(i, e, f"member {m!r} is not a declared group")
        if len(set(members)) < 2:
            self.fail(i, e, f"a coalition needs two distinct members, got {members}")
        if e.get("coalition") in self.coalitions:
            self.fail(i, e, f"coalition {e.get('coalition')!r} formed twice")
        self.coalitions.add(e.get("coalition"))

    def on_coalition_joined(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "joiner", "group")
        if e.get("coalition") not in self.coalitions:
            self.fail(i, e, f"coalition {e.get('coalition')!r} was never formed")
        size = e.get("size")
        if not isinstance(size, int) or size < 3:
            self.fail(i, e, f"size {size!r}: joining an existing coalition makes at least three")

    # accountability
    def on_pressure_applied(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "source", "any")
        self.need(i, e, "target", "state")
        amount = e.get("amount")
        if not isinstance(amount, int | float) or not (math.isfinite(amount) and amount > 0):
            self.fail(i, e, f"amount {amount!r} is not a positive finite number")

    def on_access_blocked(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "group", "group")
        self.need(i, e, "state", "state")

    def on_public_support_changed(self, i: int, e: Mapping[str, Any]) -> None:
        where = e.get("where")
        if not (self.known("state", where) or self.known("local_government", where)):
            self.fail(i, e, f"where {where!r} is neither a declared state nor a local government")
        self.in_range(i, e, "support", 0.0, 1.0)

    # agenda-setting
    def on_resolution_passed(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "local_government", "local_government")
        key = (e.get("local_government"), e.get("issue"))
        if key in self.resolutions:
            self.fail(i, e, f"{key[0]!r} passed a second resolution on {key[1]!r}")
        if key in self.counter_resolutions:
            self.fail(i, e, f"{key[0]!r} passed a resolution on {key[1]!r} after a counter-resolution")
        self.resolutions.add(key)
        self._population(i, e)

    def on_resolution_withdrawn(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "local_government", "local_government")
        key = (e.get("local_government"), e.get("issue"))
        if key not in self.resolutions:
            self.fail(i, e, f"{key[0]!r} withdrew a resolution on {key[1]!r} it never passed")
        if key in self.withdrawn:
            self.fail(i, e, f"{key[0]!r} withdrew its resolution on {key[1]!r} twice")
        self.withdrawn.add(key)
        self._population(i, e)

    def on_counter_resolution_passed(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "local_government", "local_government")
        key = (e.get("local_government"), e.get("issue"))
        if key in self.counter_resolutions:
            self.fail(i, e, f"{key[0]!r} passed a second counter-resolution on {key[1]!r}")
        if key in self.resolutions:
            self.fail(i, e, f"{key[0]!r} passed a counter-resolution on {key[1]!r} after a resolution")
        self.counter_resolutions.add(key)
        self._population(i, e)

    def on_counter_lobbying(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "state", "state")
        amount = e.get("amount")
        if not isinstance(amount, int | float) or not (math.isfinite(amount) and amount > 0):
            self.fail(i, e, f"amount {amount!r} is not a positive finite number")

    def on_coalition_supported(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "local_government", "local_government")
        self.need(i, e, "group", "group")
        self.in_range(i, e, "administrative", 0.0, 1.0)

    def on_election_held(self, i: int, e: Mapping[str, Any]) -> None:
        self._legislature(i, e)
        for issue in e.get("issues") or []:
            if not self.known("issue", issue):
                self.fail(i, e, f"issue {issue!r} is not declared")
        for value in e.get("government_support") or []:
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                self.fail(i, e, f"government support {value!r} outside [0, 1]")

    def _population(self, i: int, e: Mapping[str, Any]) -> None:
        pop = e.get("population")
        if not isinstance(pop, int) or pop < 0:
            self.fail(i, e, f"population {pop!r} is not a non-negative whole number")

    def _legislature(self, i: int, e: Mapping[str, Any]) -> str | None:
        name = e.get("legislature")
        if not self.known("legislature", name):
            self.fail(i, e, f"legislature {name!r} is not declared")
            return None
        return name

    def on_session_opened(self, i: int, e: Mapping[str, Any]) -> None:
        name = self._legislature(i, e)
        if name not in self.unique_legislatures:
            return
        if self.session_open.get(name) is not None:
            self.fail(i, e, f"{name} opened a session while session {self.session_open[name]} was open")
        self.session_count[name] += 1
        if e.get("number") != self.session_count[name]:
            self.fail(i, e, f"session number {e.get('number')!r}, expected {self.session_count[name]}")
        self.session_open[name] = e.get("number")

    def on_session_closed(self, i: int, e: Mapping[str, Any]) -> None:
        name = self._legislature(i, e)
        if name not in self.unique_legislatures:
            return
        if self.session_open.get(name) != e.get("number"):
            self.fail(
                i, e, f"{name} closed session {e.get('number')!r}, open was {self.session_open.get(name)}"
            )
        self.session_open[name] = None

    def _open_session_needed(self, i: int, e: Mapping[str, Any], what: str) -> None:
        name = e.get("legislature")
        if name in self.unique_legislatures and self.session_open.get(name) is None:
            self.fail(i, e, f"{what} while {name} was not in session")

    def _issue_in_legislature(self, i: int, e: Mapping[str, Any]) -> None:
        state = self.issue_state.get(e.get("issue"))
        expected = self.legislature_of.get(state)
        if e.get("legislature") != expected:
            self.fail(
                i, e, f"issue {e.get('issue')!r} belongs to {state!r}, whose legislature is {expected!r}"
            )

    def on_agenda_placed(self, i: int, e: Mapping[str, Any]) -> None:
        self._legislature(i, e)
        self._issue_in_legislature(i, e)
        self._open_session_needed(i, e, "placed on the agenda")
        key = (e.get("legislature"), e.get("issue"))
        if key in self.on_agenda:
            self.fail(i, e, f"issue {key[1]!r} placed on the agenda twice")
        self.on_agenda.add(key)

    def on_bill_submitted(self, i: int, e: Mapping[str, Any]) -> None:
        self._legislature(i, e)
        self._issue_in_legislature(i, e)
        bill = e.get("bill")
        if bill in self.bills:
            self.fail(i, e, f"bill {bill!r} submitted twice")
        if (e.get("legislature"), e.get("issue")) not in self.on_agenda:
            self.fail(i, e, f"bill {bill!r} submitted on {e.get('issue')!r}, which was never on the agenda")
        self.bills[bill] = {"stage": 0, "alive": True, "issue": e.get("issue"), "end": None}

    def _bill(self, i: int, e: Mapping[str, Any]) -> dict[str, Any] | None:
        bill = self.bills.get(e.get("bill"))
        if bill is None:
            self.fail(i, e, f"bill {e.get('bill')!r} was never submitted")
            return None
        if not bill["alive"]:
            self.fail(i, e, f"bill {e.get('bill')!r} {e.get('kind')} after it {bill['end']}")
            return None
        if e.get("issue") != bill["issue"]:
            self.fail(i, e, f"bill {e.get('bill')!r} changed issue")
        return bill

    def _stage(self, i: int, e: Mapping[str, Any], bill: dict[str, Any]) -> None:
        expected = BILL_STAGES[bill["stage"]] if bill["stage"] < len(BILL_STAGES) else None
        if e.get("stage") != expected:
            self.fail(i, e, f"bill {e.get('bill')!r} at stage {e.get('stage')!r}, expected {expected!r}")

    def on_bill_taken_up(self, i: int, e: Mapping[str, Any]) -> None:
        bill = self._bill(i, e)
        if bill is None:
            return
        self._stage(i, e, bill)
        self._open_session_needed(i, e, "a bill was taken up")
        self.taking_up = True
        bill["taken_up"] = self.session_count.get(e.get("legislature"))

    def on_bill_shelved(self, i: int, e: Mapping[str, Any]) -> None:
        bill = self._bill(i, e)
        if bill is None:
            return
        self._stage(i, e, bill)
        self._open_session_needed(i, e, "a bill was shelved")
        self.taking_up = True
        bill["taken_up"] = None

    def _voted(self, i: int, e: Mapping[str, Any], bill: dict[str, Any]) -> None:
        """A vote needs the bill taken up in the session now open (checked
        only where the trace says bills are taken up at all)."""
        name = e.get("legislature")
        if not self.taking_up or name not in self.unique_legislatures:
            return
        if bill.get("taken_up") is None or bill["taken_up"] != self.session_count.get(name):
            self.fail(i, e, f"bill {e.get('bill')!r} voted on without being taken up this session")

    def on_bill_advanced(self, i: int, e: Mapping[str, Any]) -> None:
        bill = self._bill(i, e)
        if bill is None:
            return
        self._stage(i, e, bill)
        self._open_session_needed(i, e, "a bill advanced")
        self._voted(i, e, bill)
        bill["stage"] += 1

    def on_bill_carried_over(self, i: int, e: Mapping[str, Any]) -> None:
        bill = self._bill(i, e)
        if bill is not None:
            self._stage(i, e, bill)

    def _end_bill(self, i: int, e: Mapping[str, Any], how: str, staged: bool = True) -> None:
        bill = self._bill(i, e)
        if bill is None:
            return
        if staged:
            self._stage(i, e, bill)
        bill["alive"] = False
        bill["end"] = how

    def on_bill_lapsed(self, i: int, e: Mapping[str, Any]) -> None:
        self._end_bill(i, e, "lapsed")

    def on_bill_rejected(self, i: int, e: Mapping[str, Any]) -> None:
        self._open_session_needed(i, e, "a bill was rejected")
        bill = self.bills.get(e.get("bill"))
        if bill is not None and bill["alive"]:
            self._voted(i, e, bill)
        self._end_bill(i, e, "was rejected")

    def on_bill_enacted(self, i: int, e: Mapping[str, Any]) -> None:
        if (e.get("legislature"), e.get("issue")) not in self.on_agenda:
            self.fail(i, e, f"bill {e.get('bill')!r} enacted on {e.get('issue')!r}, never on the agenda")
        bill = self.bills.get(e.get("bill"))
        if bill is not None and bill["alive"] and bill["stage"] != len(BILL_STAGES):
            self.fail(
                i, e, f"bill {e.get('bill')!r} enacted after {bill['stage']} of {len(BILL_STAGES)} stages"
            )
        self._open_session_needed(i, e, "a bill was enacted")
        if bill is not None and bill["alive"]:
            self._voted(i, e, bill)
        self._end_bill(i, e, "was enacted", staged=False)

    # negotiation
    def _negotiation(self, i: int, e: Mapping[str, Any]) -> dict[str, Any] | None:
        nid = e.get("negotiation")
        if not self.known("negotiation", nid):
            self.fail(i, e, f"negotiation {nid!r} is not declared")
            return None
        return self.negotiations.setdefault(nid, {"phase": None, "ended": None})

    def on_negotiation_phase_changed(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "requester", "state", optional=True)
        n = self._negotiation(i, e)
        if n is None:
            return
        if n["ended"]:
            self.fail(i, e, f"negotiation {e.get('negotiation')!r} changed phase after it {n['ended']}")
        current = n["phase"]
        expected = NEGOTIATION_PHASES[0] if current is None else _next(NEGOTIATION_PHASES, current)
        if n.pop("reopened", False):
            expected = "main"  # a ratifier sent the deal back: talks resume in the main phase
        if e.get("phase") != expected:
            self.fail(i, e, f"phase {e.get('phase')!r} after {current!r}; expected {expected!r}")
        n["phase"] = e.get("phase")

    def on_expertise_heard(self, i: int, e: Mapping[str, Any]) -> None:
        n = self._negotiation(i, e)
        if n is not None and (n["phase"] != e.get("phase") or n["ended"]):
            self.fail(
                i, e, f"expertise heard in phase {e.get('phase')!r}; the negotiation is in {n['phase']!r}"
            )
        self.in_range(i, e, "weight", 0.0, 1.0)
        self.in_range(i, e, "influence", 0.0, math.inf)

    def on_agreement_reached(self, i: int, e: Mapping[str, Any]) -> None:
        for party in e.get("parties") or []:
            if not self.known("state", party):
                self.fail(i, e, f"party {party!r} is not a declared state")
        n = self._negotiation(i, e)
        if n is None:
            return
        if n["ended"] or n["phase"] != "ratification":
            self.fail(i, e, f"agreement reached in phase {n['phase']!r} (ended: {n['ended']})")
        n["ended"] = "was reached"

    def on_agreement_renegotiated(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "state", "state")
        self.in_range(i, e, "deal", 0.0, 1.0)
        n = self._negotiation(i, e)
        if n is None:
            return
        if n["ended"] or n["phase"] != "ratification":
            self.fail(i, e, f"deal sent back in phase {n['phase']!r} (ended: {n['ended']})")
        n["reopened"] = True

    def on_central_backlash(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "state", "state")
        self.need(i, e, "local_government", "local_government")
        if e.get("action") not in ("access_withdrawn", "channel_closed", "reprimand"):
            self.fail(i, e, f"unknown backlash action {e.get('action')!r}")

    def on_agreement_failed(self, i: int, e: Mapping[str, Any]) -> None:
        n = self._negotiation(i, e)
        if n is None:
            return
        if n["ended"] or n["phase"] is None:
            self.fail(i, e, f"agreement failed in phase {n['phase']!r} (ended: {n['ended']})")
        n["ended"] = "failed"

    # outcomes and the outside world
    def on_policy_changed(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "state", "state")
        self.in_range(i, e, "position", 0.0, 1.0)
        key = (e.get("state"), e.get("issue"))
        if key in self.policy:
            self.fail(i, e, f"{key[0]!r} changed its policy on {key[1]!r} twice")
        self.policy.add(key)

    def on_exogenous(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "state", "state", optional=True)
        self.need(i, e, "target", "state", optional=True)

    def on_phase_changed(self, i: int, e: Mapping[str, Any]) -> None:
        self.need(i, e, "subject", "any")
        key = (e.get("machine"), e.get("subject"), e.get("issue"))
        previous = e.get("previous")
        current = self.machines.get(key)
        if current is not None and previous != current:
            self.fail(i, e, f"previous phase {previous!r}, but {key[1]!r} was in {current!r}")
        order = self.phase_orders.get(e.get("machine"))
        if order is not None:
            phase = e.get("phase")
            if phase not in order or previous not in order:
                self.fail(i, e, f"phase {previous!r} -> {phase!r}: not among {order}")
            elif order.index(phase) > order.index(previous) + 1:
                self.fail(i, e, f"skipped forward from {previous!r} to {phase!r}")
            elif phase == previous:
                self.fail(i, e, f"a phase change that stays in {phase!r}")
        self.machines[key] = e.get("phase")

    def on_channel_used(self, i: int, e: Mapping[str, Any]) -> None:
        for step in e.get("path") or []:
            if not self.any_actor(step):
                self.fail(i, e, f"path step {step!r} is not a declared actor")
        self.in_range(i, e, "amount", 0.0, math.inf)


def _next(order: Sequence[str], current: str) -> str | None:
    k = order.index(current) if current in order else len(order)
    return order[k + 1] if k + 1 < len(order) else None


def invariant_violations(
    lines: Iterable[Mapping[str, Any] | Event],
    scenario: Scenario,
    *,
    extra_actors: Iterable[str] = (),
    phase_orders: Mapping[str, Sequence[str]] | None = None,
    event_kinds: Iterable[type[Event]] = (),
) -> list[str]:
    """Every broken invariant, one line each (an empty list when all hold)."""
    checker = _Checker(scenario, extra_actors, phase_orders or {}, event_kinds)
    for i, item in enumerate(lines):
        line = _as_line(item)
        if line.get("kind") in _TRACE_MARKERS:
            if line.get("kind") == "trace_start":
                checker.read_header(line)
            continue
        checker.check(i, line)
    return checker.problems


def check_invariants(
    lines: Iterable[Mapping[str, Any] | Event],
    scenario: Scenario,
    *,
    extra_actors: Iterable[str] = (),
    phase_orders: Mapping[str, Sequence[str]] | None = None,
    event_kinds: Iterable[type[Event]] = (),
) -> None:
    """Raise ``InvariantViolation`` unless the run's events keep every invariant.

    :param lines: trace lines (header and end marker are skipped) or events.
    :param scenario: the scenario the run was built from.
    :param extra_actors: ids a plugin may name besides the scenario's actors
        (an international institution, say).
    :param phase_orders: for plugin state machines, ``machine -> phases in
        order``; a forward move may then go one phase at a time only.
    :param event_kinds: declared event classes whose actor fields to check,
        besides those the trace's header and this process declare.
    """
    problems = invariant_violations(
        lines, scenario, extra_actors=extra_actors, phase_orders=phase_orders, event_kinds=event_kinds
    )
    if problems:
        raise InvariantViolation(problems)
