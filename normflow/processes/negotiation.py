"""Interstate negotiation in phases (THEORY.md; Putnam's two-level game).

A negotiation opens on a date, or when the requesting state's pressure stock
on the issue reaches ``request_threshold`` (a state asks another for what
only an agreement can give). It then runs in rounds at ``round_rate`` per
year:

- *prenegotiation*: expertise sets the agenda. Each round adds influence
  ``weight * E`` where ``E`` is supporters' expertise (pooled information
  through ``I / (I + information_half)``) and ``weight`` is
  ``expertise_weight_pre``. The metrics ``expertise_influence.<phase>`` and
  ``expertise_rounds.<phase>`` sum influence and count rounds per phase.
  When the accumulated influence reaches
  ``prenegotiation_threshold``, the main phase begins.
- *main*: interests dominate; expertise's weight falls to
  ``expertise_weight_main`` -- unless a local government that supports the
  issue, or a plugin's channel, gives access to the negotiators, which keeps
  the weight at ``lg_channel_weight * access`` (what H2 compares). Positions
  move toward each other by ``convergence`` times the influence of expertise
  plus each side's domestic pressure. When the gap is within
  ``agreement_gap`` and the midpoint lies inside both win-sets (widened by
  domestic pressure), the sides agree; after ``max_main_days`` the talks stall.
- *agreement* then *ratification*: each side ratifies at home after an
  exponential delay, with ``ratification_base`` scaled by public support.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from normflow.events import AgreementFailed, AgreementReached, ExpertiseHeard, NegotiationPhaseChanged
from normflow.scenario import Negotiation

if TYPE_CHECKING:
    from normflow.simulation import Simulation

DAYS_PER_YEAR = 365.25


def negotiation(sim: Simulation, spec: Negotiation):
    w = sim.world
    p = sim.scenario.processes.negotiation
    half = sim.scenario.processes.accountability.information_half
    support_threshold = sim.scenario.processes.accountability.support_threshold
    env = sim.env
    rng = sim.rng(f"negotiation.{spec.id}")
    issue = w.issue_index[spec.issue]
    parties = list(spec.parties)
    party_idx = [w.state_index[s] for s in parties]
    stances = [w.stance(s, spec.issue) for s in parties]

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
            causes, pressure = (), {}
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
        hosts = np.unique(w.group_locality[sup])
        best = 0.0
        for lg in hosts:
            if w.lg_state[lg] in party_idx and w.lg_support[issue][lg] >= support_threshold:
                best = max(best, float(w.lg_access[lg]))
        for ch in w.channels:
            if ch.target in parties:
                best = max(best, ch.access)
        return best

    phase = "prenegotiation"
    phase_change(phase)
    positions = list(spec.positions)
    ideals = list(spec.positions)
    influence_total = 0.0
    main_began = 0.0
    rate = p.round_rate / DAYS_PER_YEAR
    if rate <= 0.0:
        return  # no rounds are ever held: the talks stay where they opened
    while True:
        gap = rng.exponential(1.0 / rate)
        if env.now + gap > sim.horizon:
            return
        yield env.timeout(gap)
        t = env.now
        base = p.expertise_weight_pre if phase == "prenegotiation" else p.expertise_weight_main
        access = channel_access()
        kept = p.lg_channel_weight * access
        weight, channel = (kept, "local_government") if kept > base else (base, "direct")
        weight = sim.modify_transition(f"expertise.{phase}", weight, parties[0], spec.issue)
        influence = weight * expertise()
        sim.metric_add(f"expertise_influence.{phase}", influence)
        sim.metric_add(f"expertise_rounds.{phase}", 1.0)
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
        if phase == "prenegotiation":
            influence_total += influence
            if influence_total >= p.prenegotiation_threshold:
                phase = "main"
                main_began = t
                phase_change(phase)
            continue
        # main phase: positions converge under expertise and domestic pressure
        pressures = [s.pressure.at(t) for s in stances]
        mean = float(np.mean(positions))
        for i in range(len(positions)):
            push = influence + pressures[i] / (1.0 + pressures[i])
            positions[i] += p.convergence * min(push, 1.0) * (mean - positions[i])
        spread = max(positions) - min(positions)
        if spread <= p.agreement_gap:
            deal = float(np.mean(positions))
            widened = [
                spec.win_sets[i] + 0.1 * pressures[i] / (1.0 + pressures[i]) for i in range(len(parties))
            ]
            if all(abs(deal - ideals[i]) <= widened[i] for i in range(len(parties))):
                break
        if t - main_began > p.max_main_days:
            sim.tally["agreement_failed"] += 1
            sim.bus.publish(
                AgreementFailed(
                    t=t,
                    negotiation=spec.id,
                    issue=spec.issue,
                    reason="stalled",
                    id=sim.new_event_id(),
                    causes=(last[0],),
                )
            )
            return
    phase_change("agreement")
    phase_change("ratification")
    for i, state in enumerate(parties):
        yield env.timeout(rng.exponential(p.ratification_days))
        chance = p.ratification_base * (0.5 + 0.5 * stances[i].public_support)
        chance = sim.modify_transition("ratification", chance, state, spec.issue)
        if rng.random() >= chance:
            sim.tally["agreement_failed"] += 1
            sim.bus.publish(
                AgreementFailed(
                    t=env.now,
                    negotiation=spec.id,
                    issue=spec.issue,
                    reason=f"ratification:{state}",
                    id=sim.new_event_id(),
                    causes=(last[0],),
                )
            )
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
            max(w.stance(state, spec.issue).position, 1.0),
            cause=f"agreement:{spec.id}",
            causes=(agreed,),
        )
