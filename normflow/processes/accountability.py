"""Accountability pressure (THEORY.md, "Accountability" and "Legitimacy and
moral authority").

Groups campaign at ``campaign_rate * resources**elasticity`` per year;
opponents' counter-campaigns pull public support toward 0 (appeal does not
help them) and press for nothing. A campaign's force is its coalition's pooled information ``I`` through
``I / (I + information_half)``: a coalition informs better than a lone group.

- *Downward*: local and national public support move toward 1 by a step
  proportional to the issue area's appeal and that force; salience rises and
  decays with a half-life.
- *Top-down*: the campaign presses the state on the issue. Pressure through
  the domestic door passes with the state's penetrability; pressure carried
  by a local government that supports the issue passes with that local
  government's access instead (the article's core claim), scaled by the
  local government's legitimacy as its residents' spokesperson
  (``World.legitimacy``: ``1 - legitimacy_weight * (1 - local public
  support)``), so downward accountability -- campaigns winning local
  support -- strengthens what the local government carries. A failed attempt
  is an ``AccessBlocked`` event, which mechanisms such as the boomerang
  answer. Pressure that passes adds to the state's decaying pressure stock;
  where stated commitment exceeds practice, the gap times reputation
  sensitivity is a reputational cost that pulls practice toward commitment.
- *Costs* (``processes.costs``, when enabled): a campaign spends
  ``campaign_cost`` from its group's budget, which refills with the group's
  resources; a group that cannot pay does not campaign -- unless its local
  government backs the issue and lends it the cost from its own budget,
  which refills at ``lg_lending`` a year (0 by default: no lending).
- *Moral to material*: every ``electoral_check_days`` an electorally
  sensitive state whose public support exceeds ``electoral_threshold`` feels
  electoral pressure, which later raises a bill's chance to pass its stages.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import exp
from typing import TYPE_CHECKING

import numpy as np

from normflow.clocks import AggregatedClock, Ticks
from normflow.events import AccessBlocked, CampaignStarted, PressureApplied, PublicSupportChanged
from normflow.world import LN2

if TYPE_CHECKING:
    from normflow.context import RunContext

DAYS_PER_YEAR = 365.25
#: -ln 2 (negation is exact: the same factor as ``-LN2`` in ``Decaying``'s expression)
_MINUS_LN2 = -LN2


def _uniforms(rng: np.random.Generator, block: int = 256) -> Iterator[float]:
    """``rng.random()`` again and again, drawn ``block`` at a time: the same
    numbers in the same order (numpy fills an array of uniforms with the
    draws one scalar call each would give), without a call into numpy per
    number. The generator ends up to ``block - 1`` draws further on than
    scalar calls would leave it, so it suits only a stream nobody else reads."""
    while True:
        yield from rng.random(block).tolist()


def campaigns(sim: RunContext, issue: int):
    w = sim.world
    p = sim.scenario.processes.accountability
    rng = sim.rng(f"accountability.{w.issues[issue].id}")
    groups = np.flatnonzero(w.group_issue == issue)
    if len(groups) == 0:
        return
    iss = w.issues[issue]
    issue_id = iss.id
    target_state = w.state_index[iss.state]
    rates = p.campaign_rate / DAYS_PER_YEAR * w.group_resources[groups] ** p.resource_elasticity
    if not rates.any():
        return  # nobody campaigns (the clock would never tick): no set-up
    appeal = w.appeal(issue)
    lg_public = w.lg_public_support[issue]
    lg_support = w.lg_support[issue]
    bus = sim.bus
    tally = sim.tally
    # the two counts of every campaign written as tally[kind] = so_far(kind, 0) + 1, the same
    # as tally[kind] += 1 on a Counter (a missing kind counts 0): a subclass of dict reads
    # tally[kind] through a slot that looks its __getitem__ up by name (~890 instructions
    # an increment against ~740 this way; about 94,000 increments a kawasaki-suffrage run)
    so_far = tally.get
    wants_public = bus.wants(PublicSupportChanged)
    wants_blocked = bus.wants(AccessBlocked)
    stances = [w.stance(s.id, issue_id) for s in w.states]
    # the two faces of a campaign can be switched off apart (knockout); the
    # campaign clock and its draws stay the same either way
    down = sim.enabled("downward")
    top = sim.enabled("top_down")
    if not down and not top:
        return
    launch = sim.launch_time(issue_id, "campaigns")
    costs = sim.scenario.processes.costs
    autonomy = sim.scenario.processes.autonomy
    paying = sim.mechanism_on("costs")
    co_opted = sim.mechanism_on("autonomy")
    # memoryviews: the same memory as the world's arrays, read and written as Python floats
    budget, budget_t = memoryview(w.group_budget), memoryview(w.group_budget_t)
    resources = memoryview(w.group_resources)
    administrative = memoryview(w.coalition_administrative)
    group_administrative = memoryview(w.group_administrative)
    cooptation_threshold = autonomy.cooptation_threshold
    replenish, budget_years, campaign_cost = costs.replenish_rate, costs.budget_years, costs.campaign_cost
    # co-optation draws from its own stream: switching autonomy off leaves the campaigns' draws alone;
    # nothing else draws from it, so its uniforms are drawn a block at a time (the same numbers)
    soften = _uniforms(sim.rng(f"cooptation.{issue_id}")).__next__

    # the hot path reads plain Python values: fixed structure as lists, the
    # world's changing arrays through memoryviews (the same memory, read and
    # written as Python floats at a fraction of numpy's scalar indexing cost)
    group_of = groups.tolist()
    group_ids = w.group_ids
    commitment = memoryview(w.group_commitment)
    pooled_info = memoryview(w.coalition_info)
    public = memoryview(lg_public)
    backing = memoryview(lg_support)
    access = memoryview(w.lg_access)
    coalition_of = w.coalition_of
    parent = w._parent  # the union-find's parent links (read only: coalition_of compresses paths)
    apply_pressure = sim.apply_pressure
    publish = bus.publish
    half = p.information_half
    local_gain = p.local_support_gain
    national_gain = p.national_support_gain
    # a supporter's campaign moves support and salience by gain * appeal * force * gap, which
    # Python multiplies left to right: gain * appeal is the same number in every campaign
    local_pull = local_gain * appeal
    national_pull = national_gain * appeal
    salience_pull = p.salience_bump * appeal
    pressure_amount = p.pressure_amount
    threshold = p.support_threshold
    voice = p.legitimacy_weight
    voiced = voice > 0.0
    target = w.states[target_state]
    target_id = target.id
    # blocked access goes to the boomerang and the trace as field values when
    # they take them so (Bus.direct): no event object
    blocked_row = bus.direct(AccessBlocked)
    # when only the trace hears public support, it takes a row: no event object
    public_row = bus.direct(PublicSupportChanged)
    if public_row is None and wants_public:

        def public_row(t: float, where: str, issue: str, support: float) -> None:
            publish(PublicSupportChanged(t=t, where=where, issue=issue, support=support))

    # causes, when pressure or blocked attempts are traced: each group's
    # campaign start (published at its first traced step), and the event
    # behind a local government's backing (its resolution, else its latest sharing)
    traced = bus.wants(CampaignStarted)
    started: dict[int, int] = {}
    latest = sim.latest_event
    new_id = sim.new_event_id

    def campaign_causes(t: float, g: int, lg: int, channel: str) -> tuple[int, ...]:
        start = started.get(g)
        if start is None:
            start = started[g] = new_id()
            publish(CampaignStarted(t=t, group=group_ids[g], issue=issue_id, state=target_id, id=start))
        if channel != "local_government":
            return (start,)
        backing = latest.get(("resolution", issue_id, lg)) or latest.get((issue_id, lg))
        return (start,) if backing is None else (start, backing)

    clock = AggregatedClock(rates, rng, uniforms=True)

    # what a campaigner (the clock's actor k) never changes in a run, in one record
    # per k: its group, its locality, its state's stance, whether it backs the issue,
    # and whether its campaigns press the target state (a supporter in it)
    backing_groups = w.group_supporter[groups]
    actors = list(
        zip(
            group_of,
            w.group_locality[groups].tolist(),
            [stances[st] for st in w.group_state[groups].tolist()],
            backing_groups.tolist(),
            (backing_groups & (w.group_state[groups] == target_state)).tolist(),
            strict=True,
        )
    )

    lending = costs.lg_lending
    lg_budget, lg_budget_t = w.lg_budget, w.lg_budget_t

    def lend(lg: int, t: float) -> bool:
        """A local government (``lg``: the group's locality, -1 for none) that
        backs the issue pays for a campaign its group cannot (H5: local
        government's resources lent to a poor coalition); its own budget
        refills at ``lg_lending`` a year."""
        if lending <= 0.0 or lg < 0 or backing[lg] < threshold:
            return False
        cap = lending * costs.budget_years
        lg_budget[lg] = min(lg_budget[lg] + lending * (t - lg_budget_t[lg]) / DAYS_PER_YEAR, cap)
        lg_budget_t[lg] = t
        if lg_budget[lg] < costs.campaign_cost:
            return False
        lg_budget[lg] -= costs.campaign_cost
        tally["campaign_lent"] += 1
        return True

    # The rarer outcomes of a campaign are functions of their own, so that the
    # campaign itself reads few closure variables: a call copies every one of
    # them into its frame (about 17 machine instructions each), and a campaign
    # runs some 58,000 times a kawasaki-suffrage run. (Public support, which a
    # trace hears at most campaigns, is written where it moves.)

    def press(t: float, g: int, lg: int, channel: str, force: float, soft: float) -> None:
        """Pressure that passed the gate (one attempt in four or fewer, in
        kawasaki-suffrage): its amount, only now, and its application."""
        amount = pressure_amount * force * commitment[g]
        if voiced and channel == "local_government":
            # a local government speaks for its residents: it carries as much
            # of the case as they back (World.legitimacy)
            # min(max(support, 0), 1), without the calls
            held = public[lg]
            if 0.0 > held:
                held = 0.0
            amount *= 1.0 - voice * (1.0 - (1.0 if 1.0 < held else held))
        if soft < 1.0:
            amount *= soft
        causes = campaign_causes(t, g, lg, channel) if traced else ()
        apply_pressure(t, group_ids[g], target_id, issue_id, channel, "moral", amount, causes=causes)

    def report_blocked(t: float, g: int, lg: int, channel: str) -> None:
        """A blocked attempt that someone hears of (or whose campaign's start
        someone hears of): its causes first, then the count and the event."""
        causes = campaign_causes(t, g, lg, channel) if traced else ()
        tally["access_blocked"] += 1
        if blocked_row is not None:
            blocked_row(t, group_ids[g], target_id, issue_id, channel, new_id(), causes)
        elif wants_blocked:
            publish(
                AccessBlocked(
                    t=t,
                    group=group_ids[g],
                    state=target_id,
                    issue=issue_id,
                    channel=channel,
                    id=new_id(),
                    causes=causes,
                )
            )

    blocked = report_blocked if traced or wants_blocked else None

    def campaign(t: float, k: int) -> None:
        if t < launch:
            return
        g, lg, stance, backs, presses = actors[k]
        if paying:
            # a campaign costs resources; the budget refills with the group's resources
            r = resources[g]
            left = budget[g] + replenish * r * (t - budget_t[g]) / DAYS_PER_YEAR
            cap = r * budget_years
            if cap < left:  # min(left, cap), without the call
                left = cap
            budget_t[g] = t
            if left >= campaign_cost:
                budget[g] = left - campaign_cost
            else:
                budget[g] = left
                if not lend(lg, t):
                    tally["campaign_stalled"] += 1
                    if presses:
                        clock.used += 1  # the uniform its gate would have taken: the stream stays aligned
                    return
        # World.coalition_of, inlined while the group's parent is a root (no path to compress)
        root = parent[g]
        if parent[root] != root:
            root = coalition_of(g)
        pooled = pooled_info[root]
        force = pooled / (pooled + half)
        tally["campaign"] = so_far("campaign", 0) + 1
        if not down:
            pass
        elif not backs:
            # opponents counter-campaign: support falls, no pressure for the norm
            if lg >= 0:
                public[lg] -= local_gain * force * public[lg]
            stance.public_support -= national_gain * force * stance.public_support
            if public_row is not None:
                public_row(t, stance.state, issue_id, stance.public_support)
        else:
            if lg >= 0:
                public[lg] += local_pull * force * (1.0 - public[lg])
            stance.public_support += national_pull * force * (1.0 - stance.public_support)
            # Decaying.add, inlined: the stock read once at t (Decaying.at, inlined)
            salience = stance.salience
            now = salience.value
            if now != 0.0:
                now = now * exp(_MINUS_LN2 * (t - salience.since) / salience.half_life)
            salience.value = now + salience_pull * force * (1.0 - (1.0 if 1.0 < now else now))
            salience.since = t
            if public_row is not None:
                public_row(t, stance.state, issue_id, stance.public_support)
        if not presses:
            return
        if lg >= 0 and backing[lg] >= threshold:
            channel, gate = "local_government", access[lg]
        else:
            channel, gate = "domestic", target.penetrability
        # rng.random(), from the clock's block of uniforms (the same numbers)
        used = clock.used
        passed = clock.uniforms[used] < gate
        clock.used = used + 1
        soft = 1.0
        if co_opted:
            # co-optation (after the gate's draw, so a softened campaign leaves the stream aligned):
            # a coalition, or the member itself, that lost its administrative autonomy presses less
            # and more softly; the coalition's or the group's own, whichever is lower
            soft = administrative[root]
            own = group_administrative[g]
            if own < soft:  # min(coalition's, own), without the call
                soft = own
            soft /= cooptation_threshold
            if soft < 1.0 and soften() >= soft:
                tally["campaign_softened"] += 1
                return
        if not top:
            return
        if passed:
            press(t, g, lg, channel, force, soft)
        elif blocked is None:
            # nobody hears of it: only counted (report_blocked counts it otherwise)
            tally["access_blocked"] = so_far("access_blocked", 0) + 1
        else:
            blocked(t, g, lg, channel)

    # the driver calls the clock's ticks (clocks.Ticks): no generator resume per tick
    yield Ticks(sim.env, clock, campaign, sim.horizon)


def electoral_leverage(sim: RunContext, issue: int):
    """Moral authority turned into material leverage through elections."""
    if not sim.enabled("electoral"):
        return
    w = sim.world
    p = sim.scenario.processes.accountability
    issue_id = w.issues[issue].id
    env = sim.env
    stances = [(state, w.stance(state.id, issue_id)) for state in w.states]
    threshold, check = p.electoral_threshold, p.electoral_check_days
    span = 1.0 - threshold + 1e-12
    # who hears of the pressure (the bus is fixed once the run starts): handlers that take
    # fields and a trace get a row (Bus.direct), no event object; anyone else the object
    heard = sim.bus.wants(PressureApplied)
    row = sim.bus.direct(PressureApplied) if heard else None
    while env.now + check <= sim.horizon:
        yield env.timeout(check)
        for state, stance in stances:
            excess = max(0.0, stance.public_support - threshold) / span
            level = state.electoral_sensitivity * excess
            if level <= 0.0:
                stance.electoral_pressure = 0.0
                continue
            stance.electoral_pressure = level
            sim.tally["electoral_pressure"] += 1
            if row is not None:
                # the event's fields in its order (no id, no causes: the defaults)
                row(env.now, "public", state.id, issue_id, "electoral", "material", level, 0, ())
            elif heard:
                sim.bus.publish(
                    PressureApplied(
                        t=env.now,
                        source="public",
                        target=state.id,
                        issue=issue_id,
                        channel="electoral",
                        nature="material",
                        amount=level,
                    )
                )
