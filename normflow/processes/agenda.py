"""Agenda-setting: local assembly resolutions, the legislature's calendar,
Kingdon's three streams, and a bill's life through both Houses.

- *Local assemblies* meet in the months of ``assembly_months``. At a meeting,
  an assembly whose support for the issue is at least
  ``resolution_min_support`` passes a resolution with chance
  ``resolution_rate * support * (0.5 + 0.5 * local public support) * (1 +
  diffusion * covered share)``: no local support, no resolution; the more of
  the country already covered, the easier the next (norm diffusion).
- *The calendar* (``Legislature``): an ordinary session each January for 150
  days, sometimes extended; extraordinary sessions, usually in autumn; a
  special session after a general election; a dissolution ends a session
  and kills every pending bill.
- *Kingdon's streams* are checked every ``check_days`` while a session is
  open. Problem: salience. Policy: a sponsor has a bill ready (a weekly
  hazard that grows with supporters' expertise). Politics: national support
  and resolution coverage, weighted, plus recent interstate pressure. Only
  when all three are over their thresholds *during an open session* is the
  issue placed on the agenda, and a bill submitted.
- *A bill* passes committee and plenary in the lower House, then in the
  upper. Each stage takes an exponential time and passes with a chance set by
  the governing parties' support plus electoral pressure (members' bills
  less). At a session's end a pending bill is continued with
  ``continuation_probability``, otherwise it lapses; sponsors may resubmit
  it next session.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

import attrs
import numpy as np

from normflow.events import (
    AgendaPlaced,
    BillAdvanced,
    BillCarriedOver,
    BillEnacted,
    BillLapsed,
    BillRejected,
    BillSubmitted,
    ResolutionPassed,
    SessionClosed,
    SessionOpened,
)
from normflow.scenario import Legislature

if TYPE_CHECKING:
    from normflow.context import RunContext

STAGES = ("lower_committee", "lower_plenary", "upper_committee", "upper_plenary")


@attrs.define
class Bill:
    id: str
    issue: str
    sponsor: str
    stage: int = 0
    remaining: float | None = None
    alive: bool = True


class Chamber:
    """A legislature's calendar during a run: which session is open, and the
    SimPy events that bills wait on."""

    def __init__(self, sim: RunContext, state: str, spec: Legislature):
        self.sim = sim
        self.state = state
        self.spec = spec
        self.name = spec.name
        self.is_open = False
        self.session_kind = ""
        self.number = 0
        self.opened = sim.env.event()
        self.closed = sim.env.event()
        self.dissolved = False
        self._dissolve = sim.env.event()
        self._special: list[tuple[float, float]] = []
        self._woken = None
        self.bills: list[Bill] = []
        self._serial = itertools.count(1)
        self.rng = sim.rng(f"calendar.{state}")

    # -- the calendar --------------------------------------------------------

    def schedule(self) -> list[tuple[float, float, str]]:
        """Planned (open, close, kind) sessions over the horizon."""
        sim = self.sim
        out = []
        start, end = sim.scenario.start, sim.scenario.scenario.end
        for year in range(start.year, end.year + 1):
            o = self.spec.ordinary_session
            if self.rng.random() < o.probability:
                t0 = sim.scenario.day_of(dt.date(year, o.month, o.day))
                days = o.days + (
                    self.spec.extension_days if self.rng.random() < self.spec.extension_probability else 0
                )
                out.append((t0, t0 + days, "ordinary"))
            for x in self.spec.extraordinary_sessions:
                if self.rng.random() < x.probability:
                    t0 = sim.scenario.day_of(dt.date(year, x.month, x.day))
                    out.append((t0, t0 + x.days, "extraordinary"))
        out.sort()
        return [s for s in out if s[1] >= 0]

    def call_special(self, t: float, days: int | None = None, delay: int | None = None) -> None:
        """A general election: a special session convenes after a delay."""
        delay = self.spec.special_session_delay if delay is None else delay
        days = self.spec.special_session_days if days is None else days
        self._special.append((t + delay, t + delay + days))
        if self._woken is not None and not self._woken.triggered:
            self._woken.succeed()

    def dissolve(self) -> None:
        """Dissolve the lower House: close an open session, kill pending bills."""
        if self.is_open and not self._dissolve.triggered:
            self._dissolve.succeed()
        else:
            self._kill_pending("dissolution")

    def run(self):
        env = self.sim.env
        planned = self.schedule()
        while True:
            # a special session called while another sat may be over already
            self._special = [s for s in self._special if s[1] > env.now]
            candidates = [(t0, t1, "special") for t0, t1 in self._special]
            candidates += [s for s in planned if s[1] > env.now]
            if not candidates:
                return
            t_open, t_close, kind = min(candidates)
            if kind == "special":
                self._special.remove((t_open, t_close))
            else:
                planned.remove((t_open, t_close, kind))
            if t_open > self.sim.horizon:
                return
            if t_open > env.now:
                # an election may call a special session while we wait
                self._woken = env.event()
                got = yield env.timeout(t_open - env.now) | self._woken
                if self._woken in got:
                    if kind == "special":
                        self._special.append((t_open, t_close))
                    else:
                        planned.append((t_open, t_close, kind))
                    continue
            length = t_close - max(t_open, env.now)
            self._open(kind)
            self._dissolve = env.event()
            got = yield env.timeout(length) | self._dissolve
            self._close(dissolved=self._dissolve in got)

    def _open(self, kind: str) -> None:
        sim = self.sim
        self.is_open = True
        self.session_kind = kind
        self.number += 1
        sim.tally["session_opened"] += 1
        sim.bus.publish(SessionOpened(t=sim.env.now, legislature=self.name, session=kind, number=self.number))
        opened, self.opened = self.opened, sim.env.event()
        opened.succeed()

    def _close(self, dissolved: bool) -> None:
        sim = self.sim
        self.is_open = False
        self.dissolved = dissolved
        sim.tally["session_closed"] += 1
        sim.bus.publish(
            SessionClosed(
                t=sim.env.now,
                legislature=self.name,
                session=self.session_kind,
                number=self.number,
                dissolved=dissolved,
            )
        )
        closed, self.closed = self.closed, sim.env.event()
        closed.succeed(dissolved)

    def _kill_pending(self, reason: str) -> None:
        for bill in self.bills:
            if bill.alive:
                bill.alive = False
                self._bill_event(BillLapsed, bill, stage=STAGES[bill.stage], reason=reason)

    # -- bills ---------------------------------------------------------------

    def submit(self, issue: str, sponsor: str, causes: tuple[int, ...] = ()) -> Bill:
        sim = self.sim
        bill = Bill(id=f"{self.name.lower()}-{self.state}-{next(self._serial)}", issue=issue, sponsor=sponsor)
        self.bills.append(bill)
        sim.tally["bill_submitted"] += 1
        eid = sim.latest_event[("bill", bill.id)] = sim.new_event_id()
        sim.bus.publish(
            BillSubmitted(
                t=sim.env.now,
                legislature=self.name,
                bill=bill.id,
                issue=issue,
                sponsor=sponsor,
                id=eid,
                causes=tuple(c for c in causes if c),
            )
        )
        sim.env.process(self._bill_life(bill))
        return bill

    def pending(self, issue: str) -> bool:
        return any(b.alive and b.issue == issue for b in self.bills)

    def _bill_event(self, cls: type, bill: Bill, **extra: str) -> int:
        """Count and publish a bill event carrying the bill's common fields;
        its cause is the bill's submission. Returns the event's id."""
        sim = self.sim
        sim.tally[cls.kind] += 1
        eid = sim.new_event_id()
        submitted = sim.latest_event.get(("bill", bill.id))
        sim.bus.publish(
            cls(
                t=sim.env.now,
                legislature=self.name,
                bill=bill.id,
                issue=bill.issue,
                **extra,
                id=eid,
                causes=() if submitted is None else (submitted,),
            )
        )
        return eid

    def _bill_life(self, bill: Bill):
        sim = self.sim
        env = sim.env
        p = sim.scenario.processes.agenda
        rng = sim.rng(f"bills.{self.state}")
        stance = sim.world.stance(self.state, bill.issue)
        while bill.alive:
            if not self.is_open:
                yield self.opened
                if not bill.alive:
                    return
            duration = bill.remaining if bill.remaining is not None else rng.exponential(p.stage_days)
            began = env.now
            closed = self.closed
            got = yield env.timeout(duration) | closed
            if not bill.alive:
                return
            if closed in got:
                bill.remaining = max(duration - (env.now - began), 0.0)
                stage = STAGES[bill.stage]
                if got[closed]:  # dissolved
                    bill.alive = False
                    self._bill_event(BillLapsed, bill, stage=stage, reason="dissolution")
                elif rng.random() < self.spec.continuation_probability:
                    self._bill_event(BillCarriedOver, bill, stage=stage)
                else:
                    bill.alive = False
                    self._bill_event(BillLapsed, bill, stage=stage, reason="session_end")
                continue
            bill.remaining = None
            chance = self.spec.government_support + p.electoral_weight * stance.electoral_pressure
            if bill.sponsor == "members":
                chance *= p.member_bill_factor
            chance = sim.modify_transition("bill_stage", min(max(chance, 0.0), 1.0), self.state, bill.issue)
            if rng.random() >= chance:
                bill.alive = False
                self._bill_event(BillRejected, bill, stage=STAGES[bill.stage])
                return
            self._bill_event(BillAdvanced, bill, stage=STAGES[bill.stage])
            bill.stage += 1
            if bill.stage == len(STAGES):
                bill.alive = False
                enacted = self._bill_event(BillEnacted, bill)
                sim.change_policy(
                    env.now, self.state, bill.issue, 1.0, cause=f"bill:{bill.id}", causes=(enacted,)
                )
                return


def local_assemblies(sim: RunContext, issue: int):
    """Regular local assembly meetings that may pass resolutions."""
    w = sim.world
    p = sim.scenario.processes.agenda
    iss = w.issues[issue]
    rng = sim.rng(f"assemblies.{iss.id}")
    st = w.state_index[iss.state]
    members = np.flatnonzero(w.lg_state == st)
    if len(members) == 0:
        return
    support = w.lg_support[issue]
    public = w.lg_public_support[issue]
    passed_t = w.lg_resolution_t[issue]
    population = w.lg_population
    total = max(float(population[members].sum()), 1.0)
    threshold = sim.scenario.processes.accountability.support_threshold
    env = sim.env
    start = sim.scenario.start
    meetings = sorted(
        sim.scenario.day_of(dt.date(year, month, 15))
        for year in range(start.year, sim.scenario.scenario.end.year + 1)
        for month in p.assembly_months
    )
    covered = 0.0
    # (population, event id) of each resolution: the agenda names the largest as causes
    resolutions = sim.latest_event.setdefault(("resolutions", iss.id), [])
    for t in meetings:
        if t < env.now:
            continue
        if t > sim.horizon:
            return
        yield env.timeout(t - env.now)
        open_ = members[np.isnan(passed_t[members]) & (support[members] >= p.resolution_min_support)]
        if len(open_) == 0:
            continue
        chance = (
            p.resolution_rate
            * support[open_]
            * (0.5 + 0.5 * public[open_])
            * (1.0 + p.diffusion * covered / total)
        )
        new = open_[rng.random(len(open_)) < np.minimum(chance, 1.0)]
        for lg in new:
            passed_t[lg] = t
            support[lg] = max(support[lg], threshold)
            covered += population[lg]
            sim.tally["resolution_passed"] += 1
            eid = sim.new_event_id()
            shared = sim.latest_event.get((iss.id, int(lg)))
            resolutions.append((int(population[lg]), eid))
            sim.bus.publish(
                ResolutionPassed(
                    t=t,
                    local_government=w.lg_ids[lg],
                    issue=iss.id,
                    population=int(population[lg]),
                    id=eid,
                    causes=() if shared is None else (shared,),
                )
            )


def streams(sim: RunContext, issue: int, chamber: Chamber):
    """Kingdon's three streams, checked while the session is open."""
    w = sim.world
    p = sim.scenario.processes.agenda
    iss = w.issues[issue]
    st = w.state_index[iss.state]
    rng = sim.rng(f"streams.{iss.id}")
    stance = w.stance(iss.state, iss.id)
    env = sim.env
    supporters = np.flatnonzero((w.group_issue == issue) & w.group_supporter & (w.group_state == st))
    half = sim.scenario.processes.accountability.information_half
    proposal_ready = False
    resubmit_pending = False
    sponsor = "cabinet" if chamber.spec.government_support >= 0.5 else "members"
    agenda_id = 0
    expertise = 0.0
    while env.now + p.check_days <= sim.horizon:
        if not chamber.is_open:
            yield chamber.opened
            if stance.on_agenda and resubmit_pending and not chamber.pending(iss.id):
                resubmit_pending = False
                if rng.random() < p.resubmit_probability:
                    chamber.submit(iss.id, sponsor, causes=(agenda_id,))
            continue
        yield env.timeout(p.check_days)
        if not chamber.is_open or stance.policy_changed:
            continue
        if stance.on_agenda:
            if not chamber.pending(iss.id):
                resubmit_pending = True
            continue
        t = env.now
        if not proposal_ready and len(supporters):
            info = w.group_info[supporters]
            expertise = float(np.mean(info / (info + half)))
            proposal_ready = rng.random() < p.policy_hazard * expertise * (p.check_days / 7.0)
        problem = stance.salience.at(t) >= p.problem_threshold
        politics_level = (
            p.politics_public_weight * stance.public_support
            + (1.0 - p.politics_public_weight) * w.resolution_share(issue, st, t)
            + p.foreign_pressure_weight * stance.foreign_pressure.at(t)
        )
        politics = politics_level >= p.politics_threshold
        if problem and politics and proposal_ready:
            stance.on_agenda = True
            sim.tally["agenda_placed"] += 1
            agenda_id = sim.new_event_id()
            # the largest resolutions (politics stream) and the latest pressure by channel
            largest = sorted(sim.latest_event.get(("resolutions", iss.id), ()), reverse=True)[:3]
            sim.bus.publish(
                AgendaPlaced(
                    t=t,
                    legislature=chamber.name,
                    issue=iss.id,
                    problem=round(float(stance.salience.at(t)), 6),
                    politics=round(float(politics_level), 6),
                    policy=round(expertise, 6),
                    pressure_by_channel=sim.pressure_by_channel(iss.state, iss.id),
                    id=agenda_id,
                    causes=tuple(
                        sorted({eid for _, eid in largest} | set(sim.pressure_causes(iss.state, iss.id)))
                    ),
                )
            )
            chamber.submit(iss.id, sponsor, causes=(agenda_id,))
