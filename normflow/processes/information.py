"""Information exchange between groups, and between groups and their local
government (THEORY.md, "Information and expertise").

Each group seeks contacts at ``contact_rate`` per year, multiplied by
``1 + venue_boost * openness`` of its locality's local government: open
information policy and venues make exchange more frequent. A contact
succeeds with ``p0 + (1 - p0) * openness`` (networking uncertainty falls
where the local government takes part). A success closes part of the
information gap, and between like-minded groups part of the commitment gap;
when it crosses a border or a nationality line it forms a coalition or joins
two into one.

Local governments share information with a group of their locality at
``lg_share_rate * openness`` per year and hear its case in return, which is
how assembly support for the issue grows.

All groups of one issue share one aggregated clock (``normflow.clocks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from normflow.clocks import AggregatedClock, run_clock
from normflow.events import CoalitionFormed, CoalitionJoined, InformationExchanged, InformationShared

if TYPE_CHECKING:
    from normflow.simulation import Simulation

DAYS_PER_YEAR = 365.25


class _Directory:
    """Groups of one issue indexed by locality and by state, for drawing partners."""

    def __init__(self, members: np.ndarray, key: np.ndarray):
        order = np.argsort(key, kind="stable")
        self.sorted = members[order]
        self.keys = key[order]

    def slice(self, k: int) -> np.ndarray:
        lo = np.searchsorted(self.keys, k, side="left")
        hi = np.searchsorted(self.keys, k, side="right")
        return self.sorted[lo:hi]


def information_exchange(sim: Simulation, issue: int):
    w = sim.world
    p = sim.scenario.processes.information
    rng = sim.rng(f"information.{w.issues[issue].id}")
    groups = np.flatnonzero(w.group_issue == issue)
    if len(groups) < 2:
        return
    issue_id = w.issues[issue].id
    loc = w.group_locality[groups]
    openness = np.where(loc >= 0, w.lg_openness[np.maximum(loc, 0)], 0.0)
    rates = p.contact_rate / DAYS_PER_YEAR * (1.0 + p.venue_boost * openness)
    by_locality = _Directory(groups, w.group_locality[groups])
    by_state = _Directory(groups, w.group_state[groups])
    local_slices: dict[int, np.ndarray] = {}
    state_slices: dict[int, np.ndarray] = {}
    p0 = p.base_success
    cut_tie = p.tie_share
    cut_partner = cut_tie + p.partner_share
    cut_local = cut_partner + p.local_share
    random = rng.random
    integers = rng.integers
    tally = sim.tally
    bus = sim.bus
    wants_contact = bus.wants(InformationExchanged)

    def members_at(lg: int) -> np.ndarray:
        got = local_slices.get(lg)
        if got is None:
            got = local_slices[lg] = by_locality.slice(lg)
        return got

    def members_in(state: int) -> np.ndarray:
        got = state_slices.get(state)
        if got is None:
            got = state_slices[state] = by_state.slice(state)
        return got

    def partner_of(g: int, lg: int) -> int:
        r = random()
        if r < cut_tie:
            ties = w.group_ties[g]
            if ties:
                return ties[integers(len(ties))]
        elif r < cut_partner:
            if lg >= 0 and w.lg_partners[lg]:
                partners = w.lg_partners[lg]
                there = members_at(partners[integers(len(partners))])
                if len(there):
                    return int(there[integers(len(there))])
        elif r < cut_local and lg >= 0:
            here = members_at(lg)
            if len(here) > 1:
                h = int(here[integers(len(here))])
                if h != g:
                    return h
        pool = members_in(int(w.group_state[g]))
        if len(pool) < 2:
            pool = groups
        h = int(pool[integers(len(pool))])
        return h if h != g else -1

    def contact(t: float, k: int) -> None:
        g = int(groups[k])
        lg = int(loc[k])
        h = partner_of(g, lg)
        if h < 0:
            return
        success = random() < p0 + (1.0 - p0) * openness[k]
        tally["information_exchanged"] += 1
        if wants_contact:
            bus.publish(
                InformationExchanged(
                    t=t,
                    source=w.group_ids[g],
                    target=w.group_ids[h],
                    issue=issue_id,
                    venue=w.lg_ids[lg] if lg >= 0 else None,
                    success=bool(success),
                )
            )
        if success:
            exchange(t, g, h)

    def exchange(t: float, g: int, h: int) -> None:
        info = w.group_info
        lo, hi = (g, h) if info[g] < info[h] else (h, g)
        gap = info[hi] - info[lo]
        if gap > 0:
            w.add_info(lo, p.transfer * gap)
        if w.group_supporter[g] != w.group_supporter[h]:
            return
        c = w.group_commitment
        lo, hi = (g, h) if c[g] < c[h] else (h, g)
        c[lo] += p.influence * (c[hi] - c[lo])
        if w.group_state[g] != w.group_state[h]:
            crossing = "border"
        elif w.group_nationality[g] != w.group_nationality[h]:
            crossing = "nationality"
        else:
            return
        merged = w.merge(g, h)
        if merged is None:
            return
        root, formed, size = merged
        name = w.coalition_names[root]
        if formed:
            tally["coalition_formed"] += 1
            bus.publish(
                CoalitionFormed(
                    t=t,
                    coalition=name,
                    members=(w.group_ids[g], w.group_ids[h]),
                    issue=issue_id,
                    crossing=crossing,
                )
            )
        else:
            tally["coalition_joined"] += 1
            bus.publish(
                CoalitionJoined(
                    t=t, coalition=name, joiner=w.group_ids[h], size=size, issue=issue_id, crossing=crossing
                )
            )

    yield from run_clock(sim.env, AggregatedClock(rates, rng), contact, sim.horizon)


def local_sharing(sim: Simulation, issue: int):
    """Local governments share information with, and hear the case of, the
    groups of their locality."""
    w = sim.world
    p = sim.scenario.processes.information
    rng = sim.rng(f"sharing.{w.issues[issue].id}")
    groups = np.flatnonzero((w.group_issue == issue) & (w.group_locality >= 0))
    if len(groups) == 0:
        return
    issue_id = w.issues[issue].id
    lgs = np.unique(w.group_locality[groups])
    directory = _Directory(groups, w.group_locality[groups])
    members = [directory.slice(int(lg)) for lg in lgs]
    rates = p.lg_share_rate / DAYS_PER_YEAR * w.lg_openness[lgs]
    support = w.lg_support[issue]
    integers = rng.integers
    tally = sim.tally
    wants = sim.bus.wants(InformationShared)

    def share(t: float, k: int) -> None:
        lg = int(lgs[k])
        local = members[k]
        g = int(local[integers(len(local))])
        o = w.lg_openness[lg]
        w.add_info(g, p.transfer * o * 0.2)
        pull = p.lg_persuasion * w.group_commitment[g]
        if w.group_supporter[g]:
            support[lg] += pull * (1.0 - support[lg])
        else:
            support[lg] -= pull * support[lg]
        tally["information_shared"] += 1
        if wants:
            sim.bus.publish(
                InformationShared(t=t, local_government=w.lg_ids[lg], group=w.group_ids[g], issue=issue_id)
            )

    yield from run_clock(sim.env, AggregatedClock(rates, rng), share, sim.horizon)
