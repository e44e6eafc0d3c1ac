"""The naive SimPy reference: information exchange written the way a SimPy
user would write it, one generator per group with its own exponential clock.

It implements the same law as ``normflow.processes.information`` (contact
rate raised by the locality's openness, the same partner choice, the same
success chance, the same information and commitment updates, coalitions
across borders and nationality lines) on the same initial population, taken
from a ``normflow.World``. Nothing of the engine's fast path is used: every
contact is a SimPy timeout on SimPy's heap, and every draw is a scalar draw.
The benchmark suite measures the engine against it in the same run.

State lives in plain Python objects (one per group), which is both the
natural naive style and the fastest one for scalar work, so the reference
is a fair, not a straw-man, baseline.
"""

from __future__ import annotations

import random
from typing import Any

import simpy

DAYS_PER_YEAR = 365.25


class Group:
    """One civil-society group, as a naive model would hold it."""

    def __init__(
        self, index: int, info: float, commitment: float, supporter: bool, state: int, nationality: int
    ):
        self.index = index
        self.info = info
        self.commitment = commitment
        self.supporter = supporter
        self.state = state
        self.nationality = nationality
        self.coalition: Group = self  # union-find parent


class NaivePopulation:
    """The groups of one issue and the law of a contact, in plain Python:
    what the SimPy and the Mesa references share."""

    def __init__(self, world: Any, params: Any, seed: int, issue: int = 0):
        self.rng = random.Random(seed)
        self.p = params
        w = world
        members = [int(g) for g in range(len(w.group_ids)) if int(w.group_issue[g]) == issue]
        self.groups = {
            g: Group(
                g,
                float(w.group_info[g]),
                float(w.group_commitment[g]),
                bool(w.group_supporter[g]),
                int(w.group_state[g]),
                int(w.group_nationality[g]),
            )
            for g in members
        }
        self.members = members
        self.locality = {g: int(w.group_locality[g]) for g in members}
        self.openness = {
            g: float(w.lg_openness[self.locality[g]]) if self.locality[g] >= 0 else 0.0 for g in members
        }
        self.at_locality: dict[int, list[int]] = {}
        self.in_state: dict[int, list[int]] = {}
        for g in members:
            self.at_locality.setdefault(self.locality[g], []).append(g)
            self.in_state.setdefault(self.groups[g].state, []).append(g)
        self.ties = {g: [h for h in w.group_ties[g]] for g in members}
        self.partners = [list(x) for x in w.lg_partners]
        self.contacts = 0
        self.coalitions_formed = 0

    def partner_of(self, g: int) -> int:
        p, rng = self.p, self.rng
        lg = self.locality[g]
        r = rng.random()
        if r < p.tie_share:
            if self.ties[g]:
                return rng.choice(self.ties[g])
        elif r < p.tie_share + p.partner_share:
            if lg >= 0 and self.partners[lg]:
                there = self.at_locality.get(rng.choice(self.partners[lg]), [])
                if there:
                    return rng.choice(there)
        elif r < p.tie_share + p.partner_share + p.local_share and lg >= 0:
            here = self.at_locality[lg]
            if len(here) > 1:
                h = rng.choice(here)
                if h != g:
                    return h
        pool = self.in_state[self.groups[g].state]
        if len(pool) < 2:
            pool = self.members
        h = rng.choice(pool)
        return h if h != g else -1

    @staticmethod
    def root(a: Group) -> Group:
        while a.coalition is not a:
            a = a.coalition
        return a

    def exchange(self, a: Group, b: Group) -> None:
        p = self.p
        lo, hi = (a, b) if a.info < b.info else (b, a)
        if hi.info > lo.info:
            lo.info += p.transfer * (hi.info - lo.info)
        if a.supporter != b.supporter:
            return
        lo, hi = (a, b) if a.commitment < b.commitment else (b, a)
        lo.commitment += p.influence * (hi.commitment - lo.commitment)
        if a.state == b.state and a.nationality == b.nationality:
            return
        ra, rb = self.root(a), self.root(b)
        if ra is not rb:
            if ra is a and rb is b:
                self.coalitions_formed += 1
            rb.coalition = ra

    def rate(self, g: int) -> float:
        """Contacts per day sought by group ``g``."""
        return self.p.contact_rate / DAYS_PER_YEAR * (1.0 + self.p.venue_boost * self.openness[g])

    def success(self, g: int) -> float:
        """Chance that a contact sought by ``g`` succeeds."""
        return self.p.base_success + (1.0 - self.p.base_success) * self.openness[g]

    def contact(self, g: int) -> None:
        """One contact sought by ``g``: a partner, then perhaps an exchange."""
        h = self.partner_of(g)
        if h < 0:
            return
        self.contacts += 1
        if self.rng.random() < self.success(g):
            self.exchange(self.groups[g], self.groups[h])


class NaiveInformationExchange(NaivePopulation):
    """One SimPy process per group, each with its own exponential clock;
    ``run()`` returns the number of contacts."""

    def __init__(self, world: Any, params: Any, seed: int, horizon: float, issue: int = 0):
        super().__init__(world, params, seed, issue)
        self.env = simpy.Environment()
        self.horizon = horizon

    def actor(self, g: int):
        p = self.p
        me = self.groups[g]
        o = self.openness[g]
        rate = p.contact_rate / DAYS_PER_YEAR * (1.0 + p.venue_boost * o)
        success = p.base_success + (1.0 - p.base_success) * o
        rng = self.rng
        while True:
            yield self.env.timeout(rng.expovariate(rate))
            h = self.partner_of(g)
            if h < 0:
                continue
            self.contacts += 1
            if rng.random() < success:
                self.exchange(me, self.groups[h])

    def run(self) -> int:
        for g in self.members:
            if self.p.contact_rate > 0:
                self.env.process(self.actor(g))
        self.env.run(until=self.horizon)
        return self.contacts
