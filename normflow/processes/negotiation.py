"""Interstate negotiation in phases, ratified as a two-level game (THEORY.md;
Putnam 1988).

A negotiation opens on a date, or when the requesting state's pressure stock
on the issue reaches ``request_threshold`` (a state asks another for what
only an agreement can give). It then runs in rounds at ``round_rate`` per
year.

*Positions start from and move with the states' stances.* A party's ideal
point is its opening position (``positions``, but never below its practice
on the issue when the talks open; by default that practice), plus however far its practice has moved since
(reputational cost moves practice), plus ``position_weight`` times its
disposition (``normflow.processes.stance``: recent reputational cost and its
phase toward the norm). Higher is nearer the norm. Each party's offer starts
at its ideal and follows every later move of it.

- *prenegotiation*: expertise sets the agenda. Each round adds influence
  ``weight * E`` where ``E`` is supporters' expertise (pooled information
  through ``I / (I + information_half)``) and ``weight`` is
  ``expertise_weight_pre``. The metrics ``expertise_influence.<phase>`` and
  ``expertise_rounds.<phase>`` sum influence and count rounds per phase.
  When the accumulated influence reaches ``prenegotiation_threshold``, the
  main phase begins.
- *main*: interests dominate; expertise's weight falls to
  ``expertise_weight_main`` -- unless a local government that supports the
  issue, or a plugin's channel, gives access to the negotiators, which keeps
  the weight at ``lg_channel_weight * access`` (what H2 compares). Each
  offer moves toward the power-weighted centre of the offers (interests pull
  toward the stronger side, ``power``) by ``convergence`` times its domestic
  pressure plus influence. When the offers lie within ``agreement_gap`` the
  negotiators agree. The *deal* is the interests' point (the power-weighted
  centre) pulled toward the *technical optimum* (drawn once per run from
  ``optimum``) by ``h``, the mean influence expertise carried per round over
  the whole talks: ``deal = (1 - h) * centre + h * optimum``. Expertise
  changes what the deal contains, not only how fast it closes; a local
  government's channel, which keeps expertise heard in the main phase, makes
  a better deal. Its quality is ``1 - |deal - optimum|`` (metrics
  ``deal.<id>``, ``deal_quality.<id>``). After ``max_main_days`` without
  agreement the talks stall.
- *ratification* (level II): each party's ratifier (its legislature, or the
  government's domestic coalition) holds an *acceptable set* around the
  party's ideal point at that time, of half-width ``win_set * (0.5 + public
  support) * (1 - opposition)`` plus a little for domestic pressure. The
  ratifier judges the policy the deal would leave the party with,
  ``max(practice, deal)`` (an agreement never lowers a party's practice),
  so a deal below what the party already does is judged as that practice;
  wholly opposed ratifiers (opposition 1) accept nothing. A deal
  outside it is never ratified: with ``renegotiation_probability`` (up to
  ``max_renegotiations`` times) the talks go back to the main phase and the
  negotiators now respect that ratifier's set (``AgreementRenegotiated``),
  otherwise the agreement fails. A deal inside it is ratified with chance
  ``ratification_base * (0.5 + 0.5 * public support) * (1 - quality_weight *
  (1 - quality)) + stage_weight * disposition``: a technically poor deal is
  harder to carry at home, and a state embarrassed by its own principle or
  further along toward the norm ratifies more readily.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np

from normflow.events import (
    AgreementFailed,
    AgreementReached,
    AgreementRenegotiated,
    ExpertiseHeard,
    NegotiationPhaseChanged,
    Scheduled,
)
from normflow.processes.stance import disposition_of
from normflow.scenario import DecisionRound, Negotiation, Scenario

if TYPE_CHECKING:
    from normflow.context import RunContext

DAYS_PER_YEAR = 365.25


def next_round_day(
    scenario: Scenario, rounds: tuple[DecisionRound, ...], t: float, lead_scale: float = 1.0
) -> float:
    """The day a matter ready on day ``t`` is decided: ``t`` itself when a
    round is open then (and the round asks no lead), else the opening day
    of the first round it is ready for in time (``firm_lead_days + (lead_days
    - firm_lead_days) * lead_scale`` before it opens); ``t`` when the state
    declares no rounds."""
    if not rounds:
        return t
    year = scenario.date_of(t).year
    best = math.inf
    for y in (year - 1, year, year + 1, year + 2):
        for r in rounds:
            opens = scenario.day_of(dt.date(y, r.month, r.day))
            if r.lead_days == 0 and opens <= t <= opens + r.days:
                return t
            firm = min(r.firm_lead_days, r.lead_days)
            if t <= opens - firm - (r.lead_days - firm) * lead_scale and opens > t:
                best = min(best, opens)
    return best


def negotiation(sim: RunContext, spec: Negotiation):
    w = sim.world
    p = sim.scenario.processes.negotiation
    half = sim.scenario.processes.accountability.information_half
    support_threshold = sim.scenario.processes.accountability.support_threshold
    env = sim.env
    # common random numbers: each kind of draw has its own stream, and a
    # ratification's draws are keyed by who ratifies and which attempt it is,
    # so two runs that differ in how many rounds the talks took still share
    # the k-th round's gap and each ratifier's delay and chance (knockout
    # arms stay coupled instead of reading "the next number" of one stream)
    gaps = sim.rng(f"negotiation.{spec.id}.rounds")

    def keyed(what: str, state: str, attempt: int) -> np.random.Generator:
        return sim.rng(f"negotiation.{spec.id}.{what}.{state}.{attempt}")

    issue = w.issue_index[spec.issue]
    parties = list(spec.parties)
    party_idx = [w.state_index[s] for s in parties]
    stances = [w.stance(s, spec.issue) for s in parties]
    declared = {st.id: st for st in sim.scenario.states}

    def rounds_of(state: str, kind: str) -> tuple[DecisionRound, ...]:
        """A state's declared rounds of one kind (none when the switch is off)."""
        return getattr(declared[state], kind) if p.decision_rounds else ()

    # -- opening --------------------------------------------------------------
    if spec.opens is not None:
        t_open = sim.scenario.day_of(spec.opens)
        if t_open > sim.horizon:
            return
        yield env.timeout(max(t_open - env.now, 0.0))
    else:
        requester = w.stance(spec.requester, spec.issue)
        while requester.pressure.at(env.now) < spec.request_threshold:
            if env.now + p.request_check_days > sim.horizon:
                return
            yield env.timeout(p.request_check_days)
        # the request is lodged in the requester's next request round
        t_request = next_round_day(sim.scenario, rounds_of(spec.requester, "request_rounds"), env.now)
        if t_request > sim.horizon:
            return
        if t_request > env.now:
            yield env.timeout(t_request - env.now)

    last = [0]  # the id of the latest phase change: the next one's cause

    def phase_change(phase: str) -> None:
        sim.tally["negotiation_phase_changed"] += 1
        if last[0]:
            causes, pressure = (last[0],), {}
        elif spec.requester is not None and spec.opens is None:
            # opened on request: the pressure on the requester is why
            causes = sim.pressure_causes(spec.requester, spec.issue)
            pressure = sim.pressure_by_channel(spec.requester, spec.issue)
        else:
            # opened on the scenario's date (or with nothing traced behind the request)
            scheduled = sim.new_event_id()
            what = "on the date the scenario sets" if spec.opens is not None else "with no requester"
            sim.bus.publish(
                Scheduled(t=env.now, what=f"talks {spec.id} opened {what}", subject=spec.id, id=scheduled)
            )
            causes, pressure = (scheduled,), {}
        last[0] = sim.new_event_id()
        sim.bus.publish(
            NegotiationPhaseChanged(
                t=env.now,
                negotiation=spec.id,
                issue=spec.issue,
                phase=phase,
                requester=spec.requester,
                pressure_by_channel=pressure,
                id=last[0],
                causes=causes,
            )
        )

    def fail(t: float, reason: str) -> None:
        sim.tally["agreement_failed"] += 1
        sim.bus.publish(
            AgreementFailed(
                t=t,
                negotiation=spec.id,
                issue=spec.issue,
                reason=reason,
                id=sim.new_event_id(),
                causes=(last[0],),
            )
        )

    def expertise() -> float:
        sup = np.flatnonzero((w.group_issue == issue) & w.group_supporter)
        if len(sup) == 0:
            return 0.0
        info = w.group_info[sup]
        return float(np.max(info / (info + half)))

    def channel_access() -> float:
        """Best access to the negotiators through a supportive local
        government in a party state, or a plugin's channel into one."""
        sup = (w.group_issue == issue) & w.group_supporter & (w.group_locality >= 0)
        # the hosting local governments in order (np.unique would import numpy.ma mid-run)
        hosts = sorted(set(w.group_locality[sup].tolist()))
        best = 0.0
        for lg in hosts:
            if w.lg_state[lg] in party_idx and w.lg_support[issue][lg] >= support_threshold:
                best = max(best, float(w.lg_access[lg]))
        for ch in w.channels:
            if ch.target in parties:
                # a channel through a local government has that local government's
                # access now (a central backlash may have withdrawn it)
                via = w.lg_index.get(ch.via[-1]) if ch.via else None
                best = max(best, ch.access if via is None else min(ch.access, float(w.lg_access[via])))
        return best

    ps = sim.scenario.processes.stance
    optimum = float(spec.optimum.sample(sim.rng(f"negotiation.{spec.id}.optimum"), 1, 0.0, 1.0)[0])
    n = len(parties)
    opened = env.now
    practice0 = [s.position for s in stances]
    # a party opens at its declared position, never below its own practice
    base = (
        [max(x, y) for x, y in zip(spec.positions, practice0, strict=True)]
        if spec.positions
        else list(practice0)
    )
    power = np.asarray(spec.power if spec.power else (1.0,) * n, dtype=float)
    power = power / power.sum() if power.sum() > 0 else np.full(n, 1.0 / n)

    def ideal(i: int, t: float) -> float:
        """Party i's ideal point: its opening position moved with its stance."""
        x = (
            base[i]
            + (stances[i].position - practice0[i])
            + ps.position_weight * disposition_of(stances[i], ps, t)
        )
        return min(max(x, 0.0), 1.0)

    def acceptable(i: int, t: float) -> float:
        """Half-width of party i's ratifiers' acceptable set at time t."""
        st = stances[i]
        pressure = st.pressure.at(t)
        width = spec.win_sets[i] * (0.5 + st.public_support) * max(0.0, 1.0 - st.opposition)
        return width + 0.1 * pressure / (1.0 + pressure)

    def inside(i: int, deal: float, t: float) -> bool:
        """Whether party i's ratifiers accept ``deal`` at time t: they judge
        the policy it would leave the party with (an agreement never lowers a
        party's practice: ``max(practice, deal)``, as adopted below) against
        their acceptable set around the party's ideal. Ratifiers wholly
        opposed (opposition 1) prefer no agreement to any."""
        if stances[i].opposition >= 1.0:
            return False
        outcome = max(stances[i].position, deal)
        return abs(outcome - ideal(i, t)) <= acceptable(i, t)

    phase = "prenegotiation"
    phase_change(phase)
    offers = [ideal(i, opened) for i in range(n)]
    last_ideal = list(offers)
    known: set[int] = set()  # ratifiers whose acceptable set the negotiators have learnt
    renegotiations = 0
    heard_sum, heard_rounds = 0.0, 0
    influence_total = 0.0
    main_began = 0.0
    rate = p.round_rate / DAYS_PER_YEAR
    if rate <= 0.0:
        return  # no rounds are ever held: the talks stay where they opened
    while True:
        gap = gaps.exponential(1.0 / rate)
        if env.now + gap > sim.horizon:
            return
        yield env.timeout(gap)
        t = env.now
        base_weight = p.expertise_weight_pre if phase == "prenegotiation" else p.expertise_weight_main
        access = channel_access()
        kept = p.lg_channel_weight * access
        weight, channel = (kept, "local_government") if kept > base_weight else (base_weight, "direct")
        weight = sim.modify_transition(f"expertise.{phase}", weight, parties[0], spec.issue)
        influence = weight * expertise()
        sim.metric_add(f"expertise_influence.{phase}", influence)
        sim.metric_add(f"expertise_rounds.{phase}", 1.0)
        heard_sum += influence
        heard_rounds += 1
        sim.tally["expertise_heard"] += 1
        if sim.bus.wants(ExpertiseHeard):
            sim.bus.publish(
                ExpertiseHeard(
                    t=t,
                    negotiation=spec.id,
                    issue=spec.issue,
                    phase=phase,
                    channel=channel,
                    weight=weight,
                    influence=influence,
                )
            )
        # offers follow the parties' stances
        ideals = [ideal(i, t) for i in range(n)]
        for i in range(n):
            offers[i] = min(max(offers[i] + ideals[i] - last_ideal[i], 0.0), 1.0)
        last_ideal = ideals
        if phase == "prenegotiation":
            influence_total += influence
            if influence_total >= p.prenegotiation_threshold:
                phase = "main"
                main_began = t
                phase_change(phase)
            continue
        # main phase: interests pull toward the stronger side, expertise toward the optimum
        pressures = [s.pressure.at(t) for s in stances]
        centre = float(np.dot(power, offers))
        for i in range(n):
            push = min(influence + pressures[i] / (1.0 + pressures[i]), 1.0)
            offers[i] = min(max(offers[i] + p.convergence * push * (centre - offers[i]), 0.0), 1.0)
        if max(offers) - min(offers) <= p.agreement_gap:
            # what the deal contains: the interests' point, pulled toward the
            # technical optimum by the weight expertise carried over the talks
            heard = min(heard_sum / max(heard_rounds, 1), 1.0)
            deal = (1.0 - heard) * float(np.dot(power, offers)) + heard * optimum
            if all(inside(i, deal, t) for i in known):
                phase_change("agreement")
                quality = 1.0 - abs(deal - optimum)
                sim.metric_add(f"deal.{spec.id}", deal)
                sim.metric_add(f"deal_quality.{spec.id}", quality)
                # level II: each ratifier judges the deal against its acceptable set
                phase_change("ratification")
                rejected = None
                for i, state in enumerate(parties):
                    draws = keyed("ratification", state, renegotiations)
                    yield env.timeout(draws.exponential(p.ratification_days))
                    # the ratifier decides in its next decision round; a state that leans
                    # toward the norm takes the plan up as a priority (a shorter lead), one
                    # that leans against it drags its feet (a longer one)
                    lead = 1.0 - ps.lead_weight * disposition_of(stances[i], ps, env.now)
                    lead = min(max(lead, 0.0), 2.0)
                    t_decide = next_round_day(
                        sim.scenario, rounds_of(state, "decision_rounds"), env.now, lead
                    )
                    if t_decide > sim.horizon:
                        return
                    if t_decide > env.now:
                        yield env.timeout(t_decide - env.now)
                    if not inside(i, deal, env.now):
                        rejected = i
                        break
                    chance = p.ratification_base * (0.5 + 0.5 * stances[i].public_support) * (
                        1.0 - p.quality_weight * (1.0 - quality)
                    ) + ps.stage_weight * disposition_of(stances[i], ps, env.now)
                    chance = min(max(chance, 0.0), 1.0)
                    chance = sim.modify_transition("ratification", chance, state, spec.issue)
                    if draws.random() >= chance:
                        fail(env.now, f"ratification:{state}")
                        return
                if rejected is None:
                    break
                state = parties[rejected]
                if renegotiations < p.max_renegotiations and (
                    keyed("renegotiation", state, renegotiations).random() < p.renegotiation_probability
                ):
                    renegotiations += 1
                    known.add(rejected)
                    sim.tally["agreement_renegotiated"] += 1
                    sim.bus.publish(
                        AgreementRenegotiated(
                            t=env.now,
                            negotiation=spec.id,
                            issue=spec.issue,
                            state=state,
                            deal=deal,
                            id=sim.new_event_id(),
                            causes=(last[0],),
                        )
                    )
                    # the rejecting side takes back its concession; talks resume
                    offers[rejected] = ideal(rejected, env.now)
                    last_ideal = [ideal(i, env.now) for i in range(n)]
                    phase, main_began = "main", env.now
                    phase_change(phase)
                    continue
                fail(env.now, f"outside_win_set:{state}")
                return
        if t - main_began > p.max_main_days:
            fail(t, "stalled")
            return
    sim.tally["agreement_reached"] += 1
    agreed = sim.new_event_id()
    sim.bus.publish(
        AgreementReached(
            t=env.now,
            negotiation=spec.id,
            issue=spec.issue,
            parties=tuple(parties),
            id=agreed,
            causes=(last[0],),
        )
    )
    for state in parties:
        sim.change_policy(
            env.now,
            state,
            spec.issue,
            max(w.stance(state, spec.issue).position, deal),
            cause=f"agreement:{spec.id}",
            causes=(agreed,),
        )
