"""Counter-mobilization: opponents react to the campaign's visible successes.

A campaign that wins is seen, and its opponents organize (MODEL.md, second
edition; the countermovement literature: Meyer & Staggenborg 1996, "Movements,
countermovements, and the structure of political opportunity"). Per issue:

- A *mobilization stock* ``M`` rises with each success of the campaign: a
  resolution passed (``resolution_trigger``), the issue placed on the
  national agenda or a bill submitted (``agenda_trigger``); it halves every
  ``memory_days``.
- Opponents act with *strength* ``s = R_opp / (R_opp + R_sup)``, the share of
  the issue's civil-society resources in its state that opponents hold
  (groups declared ``stance = "opponent"``): no declared opponent, no
  counter-mobilization. Their level is ``m = s * M / (M + half_mobilization)``
  in [0, 1).
- *Through local assemblies*, at each regular meeting: an assembly that has
  neither passed a resolution nor a counter-resolution passes a
  counter-resolution with chance ``counter_resolution_rate * m * (1 - support)``;
  an assembly whose resolution stands withdraws it with chance
  ``withdrawal_rate * m * (1 - support)``. Either costs the assembly
  ``support_loss`` of its support. A resolution is withdrawn at most once and
  a withdrawn assembly never passes another: a resolution counts once.
  Counter-resolutions weigh against coverage in the politics stream
  (``coverage_weight``); withdrawn resolutions no longer count.
- *Counter-lobbying*: acts at ``lobbying_rate * m`` per year, each adding
  ``lobbying_amount`` to a stock (halving every ``memory_days``) that lowers
  the governing parties' support as the Diet's agenda control reads it
  (``lobbying_weight`` per unit).
- *Organized opposition*: the level ``m`` is written on the state's stance
  (``stance.opposition``) at each meeting, success and monthly step; the
  politics stream loses ``politics_weight * m``, each vote in the
  legislature passes with its chance times ``1 - m``, and a negotiation's
  ratifier narrows its acceptable set by ``1 - m``.

The process is one object per issue: the agenda process calls it at each
assembly meeting and when the issue reaches the agenda; lobbying is one
monthly SimPy process. With ``enabled = false`` nothing here runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from normflow.events import CounterLobbying, CounterResolutionPassed, ResolutionWithdrawn
from normflow.world import Decaying

if TYPE_CHECKING:
    from normflow.context import RunContext

DAYS_PER_YEAR = 365.25
LOBBYING_STEP_DAYS = 30.0


class CounterMobilization:
    """Opponents of one issue: their mobilization and what it does."""

    def __init__(self, sim: RunContext, issue: int):
        w = sim.world
        self.sim = sim
        self.p = sim.scenario.processes.counter
        self.issue = issue
        self.issue_id = w.issues[issue].id
        self.state = w.state_index[w.issues[issue].state]
        self.rng = sim.rng(f"counter.{self.issue_id}")
        self.mobilization = Decaying(self.p.memory_days)
        mine = (w.group_issue == issue) & (w.group_state == self.state)
        opposed = float(w.group_resources[mine & ~w.group_supporter].sum())
        backing = float(w.group_resources[mine & w.group_supporter].sum())
        self.strength = opposed / (opposed + backing) if opposed > 0 else 0.0
        self.on = sim.mechanism_on("counter")
        #: the state's stance on the issue: its ``opposition`` is this process's level
        self.stance = w.stance(w.issues[issue].state, self.issue_id)

    @property
    def active(self) -> bool:
        return self.on and self.strength > 0.0

    def level(self, t: float) -> float:
        """Opponents' level of action in [0, 1)."""
        if not self.active:
            return 0.0
        stock = self.mobilization.at(t)
        return self.strength * stock / (stock + self.p.half_mobilization)

    def update(self, t: float) -> float:
        """Write the level at ``t`` on the state's stance (``opposition``),
        where the politics stream, the legislature's votes and a
        negotiation's ratification read it; return it."""
        m = self.level(t)
        if self.active:
            self.stance.opposition = m
        return m

    def success(self, t: float, amount: float) -> None:
        """The campaign won something visible: opponents mobilize."""
        if self.active and amount > 0.0:
            self.mobilization.add(t, amount)
            self.update(t)

    def at_meeting(
        self, t: float, members: np.ndarray, whole: bool = False, unpassed: np.ndarray | None = None
    ) -> None:
        """Counter-resolutions and withdrawals at a regular assembly meeting
        of ``members`` (``whole``: they are every local government, in order).
        ``unpassed``, when the caller has it: which of them have not passed a
        resolution (``np.isnan`` of their dates; nothing here changes them)."""
        m = self.update(t)
        if m <= 0.0:
            return
        sim, w, p = self.sim, self.sim.world, self.p
        support = w.lg_support[self.issue]
        passed = w.lg_resolution_t[self.issue]
        withdrawn = w.lg_withdrawn_t[self.issue]
        counter = w.lg_counter_t[self.issue]
        # one draw per assembly and meeting, whatever its state (common random numbers)
        luck = self.rng.random(len(members))
        at = slice(None) if whole else members  # every local government: the columns whole, no copies
        if unpassed is None:
            unpassed = np.isnan(passed[at])
        # An assembly withdraws its standing resolution (passed, not withdrawn) when its draw
        # is below withdrawal_rate * m * (1 - support), and one that has passed neither a
        # resolution nor a counter-resolution passes a counter-resolution when its draw is
        # below counter_resolution_rate * m * (1 - support). With no support below 0 (its
        # range) neither chance exceeds rate * m, so only assemblies whose draw is below the
        # larger rate * m can act (a few in a hundred): the rule is applied to those alone,
        # one by one, with the very products numpy would make. A support below 0 (or NaN)
        # leaves every assembly a candidate.
        withdrawing = p.withdrawal_rate * m
        countering = p.counter_resolution_rate * m
        lowest = float(support[at].min()) if len(members) else 0.0
        reach = max(withdrawing, countering) if lowest >= 0.0 else np.inf
        candidates = (luck < reach).nonzero()[0].tolist()
        drop_w: list[int] = []
        drop_c: list[int] = []
        for k in candidates:
            lg = int(members[k])
            gap = 1.0 - support.item(lg)
            draw = luck.item(k)
            if unpassed.item(k):
                if math.isnan(counter.item(lg)) and draw < countering * gap:
                    drop_c.append(lg)
            elif math.isnan(withdrawn.item(lg)) and draw < withdrawing * gap:
                drop_w.append(lg)
        # withdrawals first, then counter-resolutions, each in the assemblies' order: each
        # marks its date, costs the assembly support, is counted and published
        acts = (
            (drop_w, withdrawn, "resolution_withdrawn", ResolutionWithdrawn),
            (drop_c, counter, "counter_resolution_passed", CounterResolutionPassed),
        )
        for drops, dates, tally, event in acts:
            heard = sim.bus.wants(event)  # built only when someone hears it
            for lg in drops:
                dates[lg] = t
                support[lg] = max(support[lg] - p.support_loss, 0.0)
                sim.tally[tally] += 1
                if heard:
                    sim.bus.publish(
                        event(
                            t=t,
                            local_government=w.lg_ids[lg],
                            issue=self.issue_id,
                            population=int(w.lg_population[lg]),
                        )
                    )

    def lobbying(self, stock: Decaying):
        """Opponents lobby the governing parties, month by month, adding to
        ``stock`` (the legislature's counter-lobbying stock for the issue)."""
        if not self.active:
            return
        sim, env, p = self.sim, self.sim.env, self.p
        state = sim.world.states[self.state].id
        while env.now + LOBBYING_STEP_DAYS <= sim.horizon:
            yield env.timeout(LOBBYING_STEP_DAYS)
            acts = self.rng.poisson(
                p.lobbying_rate * self.update(env.now) * LOBBYING_STEP_DAYS / DAYS_PER_YEAR
            )
            for _ in range(int(acts)):
                stock.add(env.now, p.lobbying_amount)
                sim.tally["counter_lobbying"] += 1
                sim.bus.publish(
                    CounterLobbying(t=env.now, state=state, issue=self.issue_id, amount=p.lobbying_amount)
                )
