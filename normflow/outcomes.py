"""Outcomes first: what a run ended with, in words and dates.

A run's milestones say when something first happened; a reader of a case
first wants to know how things *ended*: whether the issue reached the
national agenda, what became of each bill (enacted, rejected at which
stage, lapsed, still pending after a carry-over), how each negotiation
ended (agreed, failed and why, still open, never opened), and which states
changed their policy. ``OutcomeRecorder`` listens to those events during a
run and ``outcomes()`` gives them as plain data; ``milestone_label`` gives
every milestone name a plain-language label (plugins may give their own
with ``register(name, label=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from normflow import events as ev

if TYPE_CHECKING:
    from normflow.bus import Bus

_PHASES = {
    "opened": "opened",
    "main": "entered its main phase",
    "agreement": "settled an agreement text",
    "ratification": "went to ratification",
}


def milestone_label(name: str, labels: dict[str, str] | None = None) -> str:
    """A plain-language label for a milestone name (``labels`` first: the
    ones plugins declared)."""
    if labels and labels.get(name):
        return labels[name]
    head, _, subject = name.partition(":")
    if head.startswith("negotiation_") and head.removeprefix("negotiation_") in _PHASES:
        return f"negotiation {subject} {_PHASES[head.removeprefix('negotiation_')]}"
    fixed = {
        "coalition_formed": "a first coalition formed across a border or nationality line",
        "first_resolution": "a first local assembly passed a resolution",
        "agenda_placed": "the issue reached the national agenda",
        "bill_submitted": "a first bill was submitted",
        "bill_enacted": "a bill was enacted",
        "agreement_reached": f"negotiation {subject} reached an agreement",
        "policy_changed": f"{subject} changed its policy",
        "channel_used": f"the {subject.replace('_', ' ')} channel was first used",
    }
    if head in fixed:
        return fixed[head]
    # a plugin's name without a declared label: its words, spelled out
    machine, _, phase = head.partition(".")
    machine, phase = machine.replace("_", " "), phase.replace("_", " ")
    if phase and subject:
        return f"{subject} entered the {phase} phase of the {machine} mechanism"
    if phase:
        return f"the {machine} mechanism reached {phase}"
    return f"{machine} ({subject})" if subject else machine


class OutcomeRecorder:
    """Records agenda, bills, negotiations and policy changes during a run."""

    def __init__(self, bus: Bus, date_of: Callable[[float], str]):
        self._date = date_of
        self.agenda: list[dict[str, Any]] = []
        self.bills: dict[str, dict[str, Any]] = {}
        self.negotiations: dict[str, dict[str, Any]] = {}
        self.policies: list[dict[str, Any]] = []
        sub = bus.subscribe
        sub(ev.AgendaPlaced, self._agenda)
        sub(ev.BillSubmitted, self._submitted)
        for cls in (ev.BillAdvanced, ev.BillCarriedOver, ev.BillLapsed, ev.BillEnacted, ev.BillRejected):
            sub(cls, self._bill)
        sub(ev.NegotiationPhaseChanged, self._phase)
        sub(ev.AgreementReached, self._agreed)
        sub(ev.AgreementFailed, self._failed)
        sub(ev.PolicyChanged, self._policy)

    def declare_negotiation(self, negotiation: str, issue: str, parties: tuple[str, ...]) -> None:
        self.negotiations[negotiation] = {
            "negotiation": negotiation,
            "issue": issue,
            "parties": list(parties),
            "end": "not opened",
            "phase": None,
            "date": None,
            "text": f"negotiation {negotiation} never opened",
        }

    def _agenda(self, e: ev.AgendaPlaced) -> None:
        self.agenda.append(
            {"issue": e.issue, "legislature": e.legislature, "date": self._date(e.t), "t": e.t}
        )

    def _submitted(self, e: ev.BillSubmitted) -> None:
        self.bills[e.bill] = {
            "bill": e.bill,
            "issue": e.issue,
            "legislature": e.legislature,
            "sponsor": e.sponsor,
            "submitted": self._date(e.t),
            "fate": "pending",
            "stage": "submission",
            "date": None,
            "carried_over": 0,
        }

    def _bill(self, e: Any) -> None:
        bill = self.bills.get(e.bill)
        if bill is None:
            return
        if isinstance(e, ev.BillAdvanced):
            bill["stage"] = e.stage
            return
        if isinstance(e, ev.BillCarriedOver):
            bill["carried_over"] += 1
            bill["stage"] = e.stage
            return
        bill["date"] = self._date(e.t)
        if isinstance(e, ev.BillEnacted):
            bill["fate"], bill["stage"] = "enacted", "enactment"
        elif isinstance(e, ev.BillRejected):
            bill["fate"], bill["stage"] = "rejected", e.stage
        elif isinstance(e, ev.BillLapsed):
            bill["fate"], bill["stage"] = "lapsed", e.stage
            bill["reason"] = e.reason

    def _phase(self, e: ev.NegotiationPhaseChanged) -> None:
        neg = self.negotiations.setdefault(e.negotiation, {"negotiation": e.negotiation, "issue": e.issue})
        neg.update(end="open", phase=e.phase, date=self._date(e.t))

    def _agreed(self, e: ev.AgreementReached) -> None:
        neg = self.negotiations.setdefault(e.negotiation, {"negotiation": e.negotiation, "issue": e.issue})
        neg.update(end="agreed", date=self._date(e.t))

    def _failed(self, e: ev.AgreementFailed) -> None:
        neg = self.negotiations.setdefault(e.negotiation, {"negotiation": e.negotiation, "issue": e.issue})
        neg.update(end="failed", date=self._date(e.t), reason=e.reason)

    def _policy(self, e: ev.PolicyChanged) -> None:
        self.policies.append(
            {"state": e.state, "issue": e.issue, "date": self._date(e.t), "cause": e.cause, "t": e.t}
        )

    def outcomes(self, agenda_issues: list[tuple[str, str]]) -> dict[str, Any]:
        """The outcomes as plain data; ``agenda_issues`` lists the (state,
        issue) pairs whose state has a legislature."""
        placed = {a["issue"]: a for a in self.agenda}
        agenda = []
        for state, issue in agenda_issues:
            hit = placed.get(issue)
            agenda.append(
                {
                    "state": state,
                    "issue": issue,
                    "reached": hit is not None,
                    "date": hit["date"] if hit else None,
                    "text": (
                        f"{issue} reached {state}'s national agenda on {hit['date']}"
                        if hit
                        else f"{issue} never reached {state}'s national agenda"
                    ),
                }
            )
        bills = []
        for bill in self.bills.values():
            bill = dict(bill)
            bill["text"] = _bill_text(bill)
            bills.append(bill)
        negotiations = []
        for neg in self.negotiations.values():
            neg = dict(neg)
            neg["text"] = _negotiation_text(neg)
            negotiations.append(neg)
        policies = [
            {**p, "text": f"{p['state']} changed its policy on {p['issue']} on {p['date']} ({p['cause']})"}
            for p in self.policies
        ]
        return {"agenda": agenda, "bills": bills, "negotiations": negotiations, "policy_changes": policies}


def _bill_text(bill: dict[str, Any]) -> str:
    head = f"bill {bill['bill']} ({bill['sponsor']}, submitted {bill['submitted']})"
    fate = bill["fate"]
    if fate == "enacted":
        return f"{head}: enacted on {bill['date']}"
    if fate == "rejected":
        return f"{head}: rejected at the {bill['stage'].replace('_', ' ')} stage on {bill['date']}"
    if fate == "lapsed":
        why = "the House was dissolved" if bill.get("reason") == "dissolution" else "the session ended"
        return f"{head}: lapsed at the {bill['stage'].replace('_', ' ')} stage on {bill['date']} ({why})"
    carried = f", carried over {bill['carried_over']} time(s)" if bill["carried_over"] else ""
    return f"{head}: still pending at the end (last stage passed: {bill['stage'].replace('_', ' ')}{carried})"


def _negotiation_text(neg: dict[str, Any]) -> str:
    name = neg["negotiation"]
    end = neg.get("end")
    if end == "agreed":
        return f"negotiation {name}: agreement reached on {neg['date']}"
    if end == "failed":
        reason = str(neg.get("reason", ""))
        why = (
            f"{reason.partition(':')[2]} did not ratify"
            if reason.startswith("ratification:")
            else "the talks stalled"
            if reason == "stalled"
            else reason
        )
        return f"negotiation {name}: failed on {neg['date']} ({why})"
    if end == "open":
        return (
            f"negotiation {name}: still open at the end (in its {neg.get('phase')} phase since {neg['date']})"
        )
    return f"negotiation {name}: never opened"
