"""Agenda-setting: local assembly resolutions, the legislature's calendar,
Kingdon's three streams, and a bill's life through both Houses.

- *Local assemblies* meet in the months of ``assembly_months``, from the
  scenario's dated launch of the resolution campaign. At a meeting,
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
  hazard that grows with supporters' expertise, times their political
  autonomy when autonomy is modelled). Politics: national support and
  resolution coverage (less counter-resolutions), weighted, plus recent
  interstate pressure, lobbying and the governing parties' stance, less
  organized opposition. Only when all three are over their thresholds
  *during an open session* is a window open; the issue is placed on the
  agenda, and a bill submitted, at once (``coupling_days`` 0) or once
  entrepreneurs have coupled the streams: a hazard that grows with the
  politics stream's margin over its threshold and with the supporters'
  political autonomy, against one exponential draw. A dated focusing event
  (a state visit) opens the window; the streams decide how soon it is used.
- *Agenda control*: the governing parties hold the committee agenda. Each
  session a bill is alive in, they let a committee take it up (Cabinet
  bills almost always, members' bills in proportion to their support as
  ``Chamber.governing_support`` reads it) or shelve it. Only a bill taken up
  goes through committee and plenary in the lower House, then in the upper,
  each stage an exponential time of open session followed by a vote. At a
  session's end a pending bill is continued with
  ``continuation_probability``, otherwise it lapses; a dissolution kills it;
  sponsors may resubmit it next session.
- *Elections*: a general election at most every ``term_years``, earlier on
  a dissolution whose hazard grows with time in office; upper House
  elections every ``upper_house_interval`` years. Each redraws the governing
  parties' support around national public support. A dated ``coalition``
  event (a party joining the government after an election left it short of
  a majority) blends the newcomer's support in by its share of the seats;
  it is part of the elections mechanism (switched off with it).
- *Counter-mobilization* acts at the assembly meetings and through
  lobbying (``normflow.processes.counter``).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
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
    BillShelved,
    BillSubmitted,
    BillTakenUp,
    ElectionHeld,
    ResolutionPassed,
    Scheduled,
    SessionClosed,
    SessionOpened,
)
from normflow.processes.counter import CounterMobilization
from normflow.processes.stance import disposition_of
from normflow.scenario import Legislature
from normflow.world import Decaying

if TYPE_CHECKING:
    from normflow.context import RunContext

DAYS_PER_YEAR = 365.25
#: the politics stream's margin over its threshold at which ``coupling_days`` is the mean time to couple
COUPLING_MARGIN = 0.1
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
    """A legislature during a run: its calendar (which session is open, and
    the SimPy events bills wait on), the governing parties' support for each
    issue (redrawn at elections), its bills, and its elections."""

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
        #: governing parties' support for each of the state's issues
        self.support = {x.id: spec.government_support for x in sim.scenario.issues if x.state == state}
        #: opponents' lobbying of the governing parties, per issue (counter-mobilization)
        self.counter_lobbying = {
            x: Decaying(sim.scenario.processes.counter.memory_days) for x in self.support
        }
        self.last_election: float | None = (
            None if spec.lower_house_elected is None else sim.scenario.day_of(spec.lower_house_elected)
        )
        self._elected = sim.env.event()

    # -- the governing parties --------------------------------------------------

    def governing_support(self, issue: str) -> float:
        """The governing parties' support for ``issue`` as it decides what a
        committee takes up and how members vote: their own support, plus
        electoral pressure, plus the state's disposition (recent reputational
        cost and its phase toward the norm, ``processes.stance``) times
        ``stance.stage_weight``, minus opponents' lobbying, in [0, 1]."""
        sim = self.sim
        stance = sim.world.stance(self.state, issue)
        p = sim.scenario.processes
        level = (
            self.support[issue]
            + p.agenda.electoral_weight * stance.electoral_pressure
            + p.stance.stage_weight * disposition_of(stance, p.stance, sim.env.now)
            - p.counter.lobbying_weight * self.counter_lobbying[issue].at(sim.env.now)
        )
        return min(max(level, 0.0), 1.0)

    def sponsor_for(self, issue: str) -> str:
        """Who drafts a bill: the Cabinet when the governing parties back the
        issue (support at least a half), else members (the opposition)."""
        return "cabinet" if self.support[issue] >= 0.5 else "members"

    # -- elections --------------------------------------------------------------

    def hold_election(self, house: str, cause: str) -> None:
        """An election redraws the governing parties' support for each issue
        around national public support: it closes ``election_swing`` of the
        gap (half that for the upper House, which elects half its members),
        with noise of spread ``election_noise``. A general election calls a
        special session."""
        sim = self.sim
        spec = self.spec
        rng = sim.rng(f"elections.{self.state}")
        swing = spec.election_swing * (1.0 if house == "lower" else 0.5)
        for issue, level in self.support.items():
            public = sim.world.stance(self.state, issue).public_support
            drawn = level + swing * (public - level) + spec.election_noise * rng.normal()
            self.support[issue] = min(max(drawn, 0.0), 1.0)
        sim.tally["election_held"] += 1
        sim.bus.publish(
            ElectionHeld(
                t=sim.env.now,
                legislature=self.name,
                house=house,
                cause=cause,
                issues=tuple(self.support),
                government_support=tuple(round(v, 6) for v in self.support.values()),
            )
        )
        if house == "lower":
            self.last_election = sim.env.now
            elected, self._elected = self._elected, sim.env.event()
            elected.succeed()
            self.call_special(sim.env.now)

    def join_coalition(self, level: float, share: float, issues: list[str]) -> None:
        """A party joins the governing coalition (a dated ``coalition`` event,
        the arithmetic an election left): on each of ``issues`` that is this
        state's, the governing parties' support becomes the seat-weighted mean
        of theirs and the newcomer's ``level``, its ``share`` of the
        coalition's seats. Later elections redraw support from there."""
        for issue in issues:
            if issue in self.support:
                self.support[issue] = (1.0 - share) * self.support[issue] + share * level
        self.sim.tally["coalition_joined_government"] += 1

    def lower_house_elections(self):
        """General elections: at most ``term_years`` apart. Before the term
        ends the Cabinet may dissolve the House, with a hazard that grows
        linearly with the time since the last election
        (``dissolution_hazard`` per year, per year in office); the election
        follows ``election_delay`` days after the dissolution (or the end of
        the term, which kills pending bills as a dissolution does)."""
        if self.last_election is None:
            return
        sim, env, spec = self.sim, self.sim.env, self.spec
        rng = sim.rng(f"dissolution.{self.state}")
        term = spec.term_years * DAYS_PER_YEAR
        while True:
            elapsed = max(env.now - self.last_election, 0.0) / DAYS_PER_YEAR
            # inverse of the survival exp(-a u^2 / 2), conditional on u >= elapsed
            a = spec.dissolution_hazard
            years = math.sqrt(elapsed**2 + 2.0 * rng.exponential() / a) if a > 0 else math.inf
            latest = self.last_election + term - spec.election_delay
            at = self.last_election + years * DAYS_PER_YEAR
            cause = "dissolution" if at < latest else "term"
            at = max(min(at, latest), env.now)
            if at + spec.election_delay > sim.horizon:
                return
            elected = self._elected
            got = yield env.timeout(at - env.now) | elected
            if elected in got:
                continue  # a scheduled election came first: a new term
            self.dissolve()
            yield env.timeout(spec.election_delay)
            self.hold_election("lower", cause)

    def upper_house_elections(self):
        """Upper House elections every ``upper_house_interval`` years from
        ``upper_house_elected``; they change support, not the calendar."""
        spec = self.spec
        if spec.upper_house_elected is None:
            return
        sim, env = self.sim, self.sim.env
        step = spec.upper_house_interval * DAYS_PER_YEAR
        t = sim.scenario.day_of(spec.upper_house_elected)
        while t < env.now:
            t += step
        while t <= sim.horizon:
            yield env.timeout(t - env.now)
            self.hold_election("upper", "term")
            t += step

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

    def take_up_chance(self, bill: Bill) -> float:
        """Agenda control: the chance the governing parties let a committee
        take ``bill`` up this session. Cabinet bills almost always; members'
        bills in proportion to the governing parties' support."""
        if bill.sponsor == "cabinet":
            chance = self.spec.cabinet_take_up
        else:
            chance = self.spec.members_take_up * self.governing_support(bill.issue)
        return self.sim.modify_transition("bill_take_up", min(max(chance, 0.0), 1.0), self.state, bill.issue)

    def vote_chance(self, bill: Bill) -> float:
        """The chance a bill that was taken up passes its next vote."""
        chance = self.spec.stage_pass
        if bill.sponsor != "cabinet":
            f = self.sim.scenario.processes.agenda.member_bill_factor
            chance *= f + (1.0 - f) * self.governing_support(bill.issue)
        # organized opposition narrows what the chamber accepts, as it narrows a ratifier's set
        chance *= 1.0 - self.sim.world.stance(self.state, bill.issue).opposition
        return self.sim.modify_transition("bill_stage", min(max(chance, 0.0), 1.0), self.state, bill.issue)

    def _session_end(self, bill: Bill, dissolved: bool, rng: np.random.Generator) -> None:
        stage = STAGES[bill.stage]
        if dissolved:
            bill.alive = False
            self._bill_event(BillLapsed, bill, stage=stage, reason="dissolution")
        elif rng.random() < self.spec.continuation_probability:
            self._bill_event(BillCarriedOver, bill, stage=stage)
        else:
            bill.alive = False
            self._bill_event(BillLapsed, bill, stage=stage, reason="session_end")

    def _bill_life(self, bill: Bill):
        """Each session the bill is alive in: the governing parties decide
        whether a committee takes it up. Shelved, it waits for the session's
        end; taken up, it goes through its stages (each an exponential time
        of open session, then a vote) until it is enacted, rejected or the
        session ends. At the end it is carried over or lapses; a dissolution
        kills it."""
        sim = self.sim
        env = sim.env
        p = sim.scenario.processes.agenda
        rng = sim.rng(f"bills.{self.state}")
        while bill.alive:
            if not self.is_open:
                yield self.opened
                if not bill.alive:
                    return
            closed = self.closed
            stage = STAGES[bill.stage]
            if rng.random() >= self.take_up_chance(bill):
                self._bill_event(BillShelved, bill, stage=stage)
                dissolved = yield closed
                if bill.alive:
                    self._session_end(bill, dissolved, rng)
                continue
            self._bill_event(BillTakenUp, bill, stage=stage)
            while bill.alive:
                duration = bill.remaining if bill.remaining is not None else rng.exponential(p.stage_days)
                began = env.now
                got = yield env.timeout(duration) | closed
                if not bill.alive:
                    return
                if closed in got:
                    bill.remaining = max(duration - (env.now - began), 0.0)
                    self._session_end(bill, got[closed], rng)
                    break
                bill.remaining = None
                if rng.random() >= self.vote_chance(bill):
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


def local_assemblies(sim: RunContext, issue: int, counter: CounterMobilization):
    """Regular local assembly meetings that may pass resolutions (from the
    scenario's dated launch of the resolution campaign, if it declares one),
    and where counter-mobilization acts."""
    w = sim.world
    p = sim.scenario.processes.agenda
    costs = sim.scenario.processes.costs
    paying = sim.mechanism_on("costs")
    iss = w.issues[issue]
    rng = sim.rng(f"assemblies.{iss.id}")
    st = w.state_index[iss.state]
    members = np.flatnonzero(w.lg_state == st)
    if len(members) == 0:
        return
    support = w.lg_support[issue]
    public = w.lg_public_support[issue]
    passed_t = w.lg_resolution_t[issue]
    withdrawn_t = w.lg_withdrawn_t[issue]
    counter_t = w.lg_counter_t[issue]
    population = w.lg_population
    people = population.astype(np.int64).tolist()  # int(population[lg]), once for every local government
    # when the state holds every local government (in order), its columns are read whole: no copies
    at = slice(None) if len(members) == len(population) else members
    issue_id, lg_ids = iss.id, w.lg_ids
    total = max(float(population[members].sum()), 1.0)
    threshold = sim.scenario.processes.accountability.support_threshold
    env = sim.env
    start = sim.scenario.start
    launch = sim.launch_time(iss.id, "resolutions")
    # the events are built only when someone needs the object (untraced runs: the run's
    # recorder takes the fields, Bus.direct); the bus is fixed once the run starts
    heard = sim.bus.wants(ResolutionPassed)
    passed_row = sim.bus.direct(ResolutionPassed)
    # (population, event id) of each resolution: the agenda names the largest as causes
    resolutions = sim.latest_event.setdefault(("resolutions", iss.id), [])
    opened: dict[str, int] = {}  # the Scheduled event resolutions without a local cause name
    meetings = sorted(
        sim.scenario.day_of(dt.date(year, month, 15))
        for year in range(start.year, sim.scenario.scenario.end.year + 1)
        for month in p.assembly_months
    )
    for t in meetings:
        if t < env.now or t < launch:
            continue
        if t > sim.horizon:
            return
        yield env.timeout(t - env.now)
        # which assemblies have not passed a resolution: counter-mobilization changes none of it
        unpassed = np.isnan(passed_t[at])
        counter.at_meeting(t, members, whole=at is not members, unpassed=unpassed)
        # one draw per assembly and meeting, whether it may pass a resolution or not: an assembly's
        # luck does not depend on how many others are ready (common random numbers across knockouts)
        luck = rng.random(len(members))
        ready = unpassed & np.isnan(counter_t[at]) & (support[at] >= p.resolution_min_support)
        # the ready assemblies by position, and their draws gathered by it: numpy applies a
        # boolean mask about half full (most meetings of a large state) at two to three times
        # the cost of one nonzero and two gathers, which pick the same elements in order
        picked = ready.nonzero()[0]
        open_ = members.take(picked)
        luck = luck.take(picked)
        if paying and len(open_):
            capital = np.minimum(
                w.lg_capital[open_] + costs.capital_rate * (t - w.lg_capital_t[open_]) / 365.25, 1.0
            )
            w.lg_capital[open_] = capital
            w.lg_capital_t[open_] = t
            affordable = capital >= costs.resolution_cost
            open_, luck = open_[affordable], luck[affordable]
        if len(open_) == 0:
            continue
        # the population under standing resolutions (passed, not withdrawn), for the
        # diffusion term: read only when some assembly may pass one
        standing = np.isnan(withdrawn_t[at]) > unpassed  # passed, not withdrawn: only True > False
        covered = float(population.take(members.take(standing.nonzero()[0])).sum())
        chance = (
            p.resolution_rate
            * support[open_]
            * (0.5 + 0.5 * public[open_])
            * (1.0 + p.diffusion * covered / total)
        )
        # a uniform in [0, 1) is below min(chance, 1) exactly when it is below chance
        new = open_[luck < chance]
        # plain Python values in the loop over the meeting's resolutions (tens a meeting):
        # the arrays' own memory through memoryviews, read and written as Python floats
        passed_mv, support_mv = memoryview(passed_t), memoryview(support)
        capital_mv = memoryview(w.lg_capital) if paying else None
        tally, latest, new_id = sim.tally, sim.latest_event, sim.new_event_id
        for lg in new.tolist():
            passed_mv[lg] = t
            held = support_mv[lg]
            support_mv[lg] = threshold if threshold > held else held  # max(held, threshold), without the call
            if capital_mv is not None:
                capital_mv[lg] -= costs.resolution_cost
            tally["resolution_passed"] += 1
            shared = latest.get((issue_id, lg))
            if shared is None:
                # no sharing in the locality: its standing support, from the scenario
                shared = opened.get("id")
                if shared is None:
                    shared = opened["id"] = sim.new_event_id()
                    if sim.bus.wants(Scheduled):
                        sim.bus.publish(
                            Scheduled(
                                t=t,
                                what="local assemblies took up resolutions with the support the scenario gives them",
                                subject=iss.id,
                                id=shared,
                            )
                        )
            eid = latest[("resolution", issue_id, lg)] = new_id()
            size = people[lg]
            resolutions.append((size, eid))
            if passed_row is not None:
                passed_row(t, lg_ids[lg], issue_id, size, eid, (shared,))
            elif heard:
                sim.bus.publish(
                    ResolutionPassed(
                        t=t,
                        local_government=w.lg_ids[lg],
                        issue=iss.id,
                        population=int(population[lg]),
                        id=eid,
                        causes=(shared,),
                    )
                )
        counter.success(t, counter.p.resolution_trigger * len(new))


def streams(sim: RunContext, issue: int, chamber: Chamber, counter: CounterMobilization):
    """Kingdon's three streams, checked while the session is open."""
    w = sim.world
    p = sim.scenario.processes.agenda
    gated = sim.mechanism_on("autonomy")
    iss = w.issues[issue]
    st = w.state_index[iss.state]
    rng = sim.rng(f"streams.{iss.id}")
    stance = w.stance(iss.state, iss.id)
    env = sim.env
    supporters = np.flatnonzero((w.group_issue == issue) & w.group_supporter & (w.group_state == st))
    n_supporters = len(supporters)
    half = sim.scenario.processes.accountability.information_half
    counter_weight = counter.p.coverage_weight if counter.active else 0.0
    proposal_ready = False
    resubmit_pending = False
    agenda_id = 0
    expertise = 0.0
    # coupling: entrepreneurs need time to join the streams once all three are over their
    # thresholds; one draw from its own stream, so the time to couple moves only with the
    # streams (common random numbers across knockouts)
    coupling_need = sim.rng(f"coupling.{iss.id}").exponential() if p.coupling_days > 0 else 0.0
    coupled = 0.0

    def political_now() -> float:
        """Political autonomy gates agenda-setting: a co-opted coalition drafts and
        couples less. The supporters' mean, as np.mean takes it (the same sum, divided
        by the count), without its overhead; read only where a hazard needs it."""
        if gated and len(supporters):
            return float(w.coalition_political[w.coalition_roots()[supporters]].sum() / n_supporters)
        return 1.0

    def submit() -> None:
        chamber.submit(iss.id, chamber.sponsor_for(iss.id), causes=(agenda_id,))
        counter.success(env.now, counter.p.agenda_trigger)

    while env.now + p.check_days <= sim.horizon:
        if not chamber.is_open:
            yield chamber.opened
            if stance.on_agenda and resubmit_pending and not chamber.pending(iss.id):
                resubmit_pending = False
                if rng.random() < p.resubmit_probability:
                    submit()
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
            expertise = float((info / (info + half)).sum() / n_supporters)
            hazard = p.policy_hazard * expertise * (p.check_days / 7.0) * political_now()
            proposal_ready = rng.random() < hazard
        problem = stance.salience.at(t) >= p.problem_threshold
        if not (problem and proposal_ready):
            # the politics stream matters only where the other two are over their thresholds
            # (reading it changes nothing): not computed when they are not; below, both are
            continue
        pressure = stance.pressure.at(t)
        coverage = w.resolution_share(issue, st, t)
        if counter_weight > 0.0:
            coverage = max(coverage - counter_weight * w.counter_share(issue, st, t), 0.0)
        politics_level = (
            p.politics_public_weight * stance.public_support
            + (1.0 - p.politics_public_weight) * coverage
            + p.foreign_pressure_weight * stance.foreign_pressure.at(t)
            + p.lobbying_weight * pressure / (pressure + 1.0)
            + p.government_weight * chamber.governing_support(iss.id)
            - counter.p.politics_weight * stance.opposition
        )
        politics = politics_level >= p.politics_threshold
        if politics and p.coupling_days > 0:
            # a window is open: the hazard of coupling grows with the politics stream's margin
            # over its threshold (a focusing event such as a state visit widens it) and with
            # the entrepreneurs' political autonomy
            margin = politics_level - p.politics_threshold
            coupled += (margin / COUPLING_MARGIN) * political_now() * p.check_days / p.coupling_days
            if coupled < coupling_need:
                continue
        if politics:
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
            submit()
