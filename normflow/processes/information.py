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
Who meets whom does not depend on the state of the world, only on fixed
structure (localities, states, ties, partner cities; read when the process
starts), so partners and successes are drawn for a whole block of contacts
at once with numpy; only the exchange itself, which reads and changes the
world, runs contact by contact.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterable
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from normflow.clocks import BLOCK, AggregatedClock, Ticks
from normflow.events import CoalitionFormed, CoalitionJoined, InformationExchanged, InformationShared

if TYPE_CHECKING:
    from normflow.context import RunContext
    from normflow.world import World

DAYS_PER_YEAR = 365.25

#: ``clocks.Driver.adopt``'s callable: the issue's sharing and campaigns handed
#: to the exchange, its new bound, and the callable that hands them back.
Adopt = Callable[[], tuple[list[Ticks], float, Callable[[], None]]]

#: Populations whose state arrays exceed this many bytes have the state of
#: their next contacts gathered in bulk, CACHE_CHUNK contacts at a time.
CACHE_BYTES = 1 << 20
CACHE_CHUNK = 1024
#: Populations up to this many groups keep the clock's localities in numpy's
#: index type (its table then takes at most 256 KB).
SMALL = 1 << 15
#: Whether the quiet loop may take its fast path (False: the general loop only,
#: for tests that compare the two), and the shortest run of successes between
#: hand-overs after which it keeps it for the rest of a block.
RUNS = True
RUN = 16
#: Bytes of state a contact reads per group (information, commitment, pooled information).
STATE_BYTES = 24

# What a drawn contact leads to (one small int per contact, computed per block).
NO_PARTNER = -1
FAILED = 0
INFORMATION_ONLY = 1  # success between a supporter and an opponent
LIKE_MINDED = 2  # success between like-minded groups of one state and nationality
ACROSS_BORDER = 3
ACROSS_NATIONALITY = 4


def _below(rng: np.random.Generator, high: np.ndarray) -> np.ndarray:
    """``rng.integers(0, high)`` for an array of bounds, each from 2 to 2**31:
    the very numbers, and the generator left as numpy leaves it, in a few
    vector operations instead of numpy's loop over the bounds.

    numpy draws each bounded integer by Lemire's method from one 32-bit output
    of the bit generator (the low half of a 64-bit output, then its high half,
    which the bit generator keeps for the next 32-bit draw): the value is the
    high 32 bits of ``output * bound``, redrawn while its low 32 bits fall
    below ``2**32 % bound``, which happens about once in 10^8 draws at the
    bounds of a contact book. A block with any low 32 bits below its bound
    (where a redraw is possible) is left to numpy, from where the generator
    stood. Only for PCG64 (every stream of a run); other bit generators go
    to numpy (``tests/test_exchange_paths.py`` compares the two)."""
    bits = rng.bit_generator
    n = len(high)
    if n == 0 or not isinstance(bits, np.random.PCG64):
        return rng.integers(0, high)
    state = bits.state
    held = state["has_uint32"]
    fresh = (n - held + 1) >> 1  # 64-bit outputs needed
    raw = bits.random_raw(fresh)
    words = raw.view(np.uint32)
    if held:
        words = np.concatenate((np.array([state["uinteger"]], dtype=np.uint32), words))
    scaled = words[:n] * high  # in 64 bits (numpy's promotion), below 2**63: exact
    if ((scaled & 0xFFFFFFFF) < high).any():
        bits.state = state
        return rng.integers(0, high)
    if fresh:
        after = bits.state
        after["has_uint32"] = (n - held) & 1
        after["uinteger"] = int(raw[-1] >> np.uint64(32))
        bits.state = after
    else:
        state["has_uint32"] = 0
        bits.state = state
    return scaled >> 32


def _below_some(rng: np.random.Generator, high: np.ndarray) -> np.ndarray:
    """``_below`` for bounds from 1: a bound of 1 gives 0 and, as in numpy,
    takes nothing from the stream, so only the other bounds are drawn, in
    their order (the very numbers of ``rng.integers(0, high)``)."""
    several = (high > 1).nonzero()[0]
    if len(several) == len(high):
        return _below(rng, high)
    drawn = np.zeros(len(high), dtype=np.int64)
    drawn[several] = _below(rng, high.take(several))
    return drawn


def _index(keys: np.ndarray, members: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Members grouped by key (0..size-1): (members sorted by key, start, count)."""
    # a stable order is the one order: in 16 bits where the keys allow, numpy sorts
    # it by radix (a quarter of the time at a few thousand members)
    order = np.argsort(keys.astype(np.int16) if size <= 2**15 else keys, kind="stable")
    # the keys are 0..size-1: a key's count, and the count of smaller keys as its start
    count = np.bincount(keys, minlength=size)[:size]
    start = np.cumsum(count) - count
    return members[order], start, count


def _flatten(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A list of lists as (flat values, start, count)."""
    if any(lists):
        count = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    else:
        count = np.zeros(len(lists), dtype=np.int64)  # all empty (no ties, say)
    start = np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64) if len(lists) else count
    flat = np.fromiter(chain.from_iterable(lists), dtype=np.int64, count=int(count.sum()))
    return flat, start, count


class ContactBook:
    """Draws the partners of a block of contacts, with the law of the
    scalar rule: a share ``tie_share`` of contacts goes along declared ties,
    ``partner_share`` to a group in a partner locality abroad, ``local_share``
    to another group of the same locality; a contact whose branch has no one
    to offer, and every other contact, goes to a group of the same state
    (the issue's whole population when the state has only one). A contact
    that lands on the seeker itself has no partner (-1)."""

    def __init__(
        self, w: World, groups: np.ndarray, tie_share: float, partner_share: float, local_share: float
    ):
        self.groups = groups
        self.loc = w.group_locality[groups]
        self.cut_tie = tie_share
        self.cut_partner = tie_share + partner_share
        self.cut_local = self.cut_partner + local_share
        n_lg = self.n_lg = len(w.lg_ids)
        placed = self.loc >= 0
        self.all_placed = bool(placed.all())
        self.at_locality, self.loc_start, self.loc_count = _index(self.loc[placed], groups[placed], n_lg)
        self.state = w.group_state[groups]
        # a state's pool of partners; a state with fewer than two groups of the
        # issue draws from the issue's whole population (stored after the states)
        in_state, start, count = _index(self.state, groups, len(w.states))
        whole = count < 2
        self.pool = np.concatenate([in_state, groups])
        self.pool_start = np.where(whole, len(in_state), start)
        self.pool_count = np.where(whole, len(groups), count)
        ties = w.group_ties
        n = len(groups)
        first = int(groups[0]) if n else 0
        # the issue's groups as one run of the population (generated populations are)
        run = n > 0 and int(groups[-1]) - first == n - 1
        self.tie_flat, self.tie_start, self.tie_count = _flatten(
            ties[first : first + n] if run else [ties[g] for g in groups.tolist()]
        )
        self.partner_flat, self.partner_start, self.partner_count = _flatten(w.lg_partners)
        # every locality with a group of the issue has two or more; else, by
        # locality (the last entry: none, for a locality of -1), whether it has
        # another group to offer its seeker
        self.several = bool((self.loc_count[self.loc_count > 0] > 1).all())
        self.others_at = None if self.several else np.append(self.loc_count > 1, False)
        self.has_ties = bool(self.tie_count.any())
        self.has_partners = bool(self.partner_count.any())
        # Large populations: every array above is read at random positions, a
        # block at a time, and at 10^5-10^6 groups they no longer fit in the
        # core's cache. Indices are kept in 32 bits (half the lines to fetch; the
        # same values, so the same draws), the seekers' own indices are not
        # looked up when the issue's groups are one run of the population, and
        # the state is not looked up when the issue's groups share one. A small
        # population's arrays fit in the cache at any width: they stay in 64 bits,
        # numpy's index type (no conversion at each use, no mixed-width sums).
        if len(groups) > SMALL:
            for name in (
                "loc",
                "at_locality",
                "loc_start",
                "loc_count",
                "state",
                "pool",
                "pool_start",
                "pool_count",
                "tie_flat",
                "tie_start",
                "tie_count",
                "partner_flat",
                "partner_start",
                "partner_count",
            ):
                setattr(self, name, _compact(getattr(self, name)))
        self.first = first
        self.run = run
        self.one_state = n > 0 and bool((self.state == self.state[0]).all())
        # the pools are the issue's groups in their own order (states in runs, as
        # generated populations come): pool[j] is then first + j, less n past n
        self.pool_run = self.run and bool(np.array_equal(in_state, groups))
        self.any_whole = bool(whole.any())

    def seekers(self, k: np.ndarray) -> np.ndarray:
        """The group index of the seeker at each position ``k``."""
        if self.run:
            return k + self.first if self.first else k
        return self.groups[k]

    def draw(self, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The partner (group index, or -1) of the seeker at each position ``k``."""
        return self.draw_all(k, rng)[2]

    def draw_all(
        self, k: np.ndarray, rng: np.random.Generator, places: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``draw``, with the seekers and their localities (-1: none) it looked
        up; ``places``: the localities already known (``LocalityClock.places``,
        where no locality is the number of localities)."""
        size = len(k)
        seeker = self.seekers(k)
        if places is None:
            lg = self.loc[k]
        elif self.all_placed:
            lg = places
        else:
            lg = np.where(places == self.n_lg, -1, places)
        r = rng.random(size)
        partner = np.full(size, -2, dtype=np.int64)  # -2: not decided yet
        integers = rng.integers
        if self.has_ties:
            at = ((r < self.cut_tie) & (self.tie_count[k] > 0)).nonzero()[0]
            if len(at):
                kk = k[at]
                partner[at] = self.tie_flat[self.tie_start[kk] + _below_some(rng, self.tie_count[kk])]
        if self.has_partners:
            at = ((r >= self.cut_tie) & (r < self.cut_partner) & (lg >= 0)).nonzero()[0]
            at = at[self.partner_count[lg[at]] > 0]
            if len(at):
                home = lg[at]
                abroad = self.partner_flat[
                    self.partner_start[home] + _below_some(rng, self.partner_count[home])
                ]
                there = self.loc_count[abroad]
                keep = there > 0
                at, abroad, there = at[keep], abroad[keep], there[keep]
                if len(at):
                    partner[at] = self.at_locality[self.loc_start[abroad] + _below_some(rng, there)]
        # (a uniform is below 1, and every locality is one when all groups have one)
        local = r >= self.cut_partner
        if self.cut_local < 1.0:
            local &= r < self.cut_local
        if not self.all_placed:
            local &= lg >= 0
        if self.others_at is not None:
            # a locality with its seeker alone offers no one (looked up by locality
            # before the positions are found: no second pass over them)
            local &= self.others_at[lg]
        at = local.nonzero()[0]
        home = lg[at]
        here = self.loc_count[home]
        if len(at):
            other = self.at_locality[self.loc_start[home] + _below(rng, here)]
            # the seeker itself: not decided yet (these ticks had no partner before)
            partner[at] = np.where(other != seeker[at], other, -2)
        at = (partner == -2).nonzero()[0]
        if len(at):
            # one state: the same bounds, as an array like the state's lookup gives
            if self.one_state:
                # one pool for all: its size as one bound (numpy draws a bounded
                # integer the same way, one by one, for one bound or an array)
                s0 = self.state[0]
                j = int(self.pool_start[s0]) + integers(0, int(self.pool_count[s0]), len(at))
            else:
                st = self.state[k[at]]
                j = self.pool_start[st] + _below(rng, self.pool_count[st])
            if self.pool_run:
                if self.any_whole:
                    j = np.where(j >= len(self.groups), j - len(self.groups), j)
                other = j + self.first if self.first else j
            else:
                other = self.pool[j]
            partner[at] = np.where(other == seeker[at], -1, other)
        return seeker, lg, partner


class LocalityClock(AggregatedClock):
    """An ``AggregatedClock`` whose actors' rates depend on their locality
    alone (``rates[i] == by_place[place[i]]``), as contact rates do. Drawing
    by rejection, it looks a candidate's chance up by locality: a small table
    and a 16- or 32-bit index, where the plain clock reads a float per actor, which
    at 10^5-10^6 actors no longer fits in the core's cache. The chances are
    the same numbers (the same division of the same rates), so the draws are
    the very ones of the plain clock (``tests/test_exchange_paths.py``).
    ``places`` holds the localities of the last block's actors (None when
    the clock does not draw by rejection)."""

    def __init__(self, rates: np.ndarray, rng: np.random.Generator, place: np.ndarray, by_place: np.ndarray):
        super().__init__(rates, rng)
        top = float(self.rates.max()) if self.n else 0.0
        place = np.asarray(place, dtype=np.int64)
        # 16 bits while the localities allow (up to ~3*10^5 groups at ten a
        # locality): half the cache lines of 32, the same values. A small
        # population's table fits in the cache at any width: there it is kept in
        # numpy's own index type, which saves a conversion per block
        if len(place) <= SMALL:
            self._place = place.astype(np.intp)
        else:
            self._place = place.astype(np.int16) if len(by_place) <= 2**15 else _compact(place)
        self._keep_by = by_place / top if top > 0 else by_place
        self.places: np.ndarray | None = None
        # A small population's candidates read their acceptance per actor (the
        # plain clock's ``_keep``, the very numbers of ``_keep_by[place]``), and only
        # the kept ones their locality: one gather of all candidates fewer a block
        self._by_actor = len(place) <= SMALL
        if self._reject:
            # drawn by locality: the cumulative rates (for drawing by inverse
            # transform) are never read, nor, in a large population, the per-actor
            # acceptances; 8 or 16 bytes per actor
            self._cum = np.empty(0)
            if not self._by_actor:
                self._keep = self._cum

    def _by_rejection(self) -> np.ndarray:
        kept: list[np.ndarray] = []
        places: list[np.ndarray] = []
        needed = self.size
        while needed > 0:
            m = int(needed / self._mean_keep * 1.1) + 16
            candidate = self.rng.integers(0, self.n, m)
            if self._by_actor:
                # the first ``needed`` candidates kept, by position, then their localities
                chosen = (self.rng.random(m) < self._keep[candidate]).nonzero()[0][:needed]
                kept.append(candidate[chosen])
                places.append(self._place[kept[-1]])
                needed -= len(kept[-1])
                continue
            # the localities gathered in 16 or 32 bits, then indexed with as
            # numpy's own index type (a narrower index array costs a conversion
            # at every use: the acceptance here, the partners and successes later)
            where = self._place[candidate]
            if where.dtype != np.intp:
                where = where.astype(np.intp)
            # the first ``needed`` candidates kept, by position (cheaper than two masks)
            chosen = (self.rng.random(m) < self._keep_by[where]).nonzero()[0][:needed]
            kept.append(candidate[chosen])
            places.append(where[chosen])
            needed -= len(kept[-1])
        if len(kept) > 1:
            self.places = np.concatenate(places)
            return np.concatenate(kept)
        self.places = places[0]
        return kept[0]


def _held(w: World) -> tuple[np.ndarray, ...]:
    """What a contact reads, to be gathered ahead of the scalar loop: the
    world's rows of exchange state (``World._exchange``: information,
    commitment and pooled information side by side), one gather of whole
    rows, while the three columns are still views of them; else each column."""
    rows = getattr(w, "_exchange", None)
    columns = (w.group_info, w.group_commitment, w.coalition_info)
    if rows is not None and all(c.base is rows for c in columns):
        return (rows,)
    return columns


def _compact(a: np.ndarray) -> np.ndarray:
    """An index array in 32 bits when its values allow it (the same values)."""
    if a.dtype == np.int64 and (len(a) == 0 or (a.min() >= -(2**31) and a.max() < 2**31)):
        return a.astype(np.int32)
    return a


def information_exchange(sim: RunContext, issue: int, adopt: Adopt | None = None):
    """``adopt``: the driver's hand-over of the issue's local sharing and
    campaigns (``clocks.Driver.adopt``), which the quiet loop then fires
    itself between its contacts."""
    w = sim.world
    p = sim.scenario.processes.information
    rng = sim.rng(f"information.{w.issues[issue].id}")
    groups = np.flatnonzero(w.group_issue == issue)
    if len(groups) < 2:
        return
    issue_id = w.issues[issue].id
    loc = w.group_locality[groups]
    # groups without a locality meet without a venue (and a scenario may have
    # no local government at all, so index only the placed groups)
    openness = np.zeros(len(groups))
    placed = loc >= 0
    openness[placed] = w.lg_openness[loc[placed]]
    rates = p.contact_rate / DAYS_PER_YEAR * (1.0 + p.venue_boost * openness)
    # the same rates by locality (the last entry: no locality), for the clock's lookups
    by_place = p.contact_rate / DAYS_PER_YEAR * (1.0 + p.venue_boost * np.append(w.lg_openness, 0.0))
    clock = LocalityClock(rates, rng, np.where(placed, loc, len(w.lg_ids)), by_place)
    if clock.total <= 0:
        return
    book = ContactBook(w, groups, p.tie_share, p.partner_share, p.local_share)
    p0 = p.base_success
    success_chance = p0 + (1.0 - p0) * openness
    supporter = w.group_supporter
    state = w.group_state
    nationality = w.group_nationality
    # memoryviews of the world's arrays: the same memory, read and written as
    # Python floats, at a third of the cost of numpy's scalar indexing
    info = memoryview(w.group_info)
    commitment = memoryview(w.group_commitment)
    pooled = memoryview(w.coalition_info)
    coalition_of = w.coalition_of
    named = w.coalition_names
    transfer = p.transfer
    influence = p.influence
    tally = sim.tally
    bus = sim.bus
    publish = bus.publish
    wants_contact = bus.wants(InformationExchanged)
    group_ids = w.group_ids
    lg_ids = w.lg_ids
    # who hears of a contact: a trace alone takes whole blocks of rows as columns
    # (and the quiet loop below says when they happen), row takers one row per
    # contact, anyone else the event object
    labels = {"source": group_ids, "target": group_ids, "venue": lg_ids}
    rows = bus.direct_blocks(InformationExchanged, labels=labels) if wants_contact else None
    trace_contact = None if rows is not None else bus.direct(InformationExchanged)
    objects = wants_contact and rows is None and trace_contact is None
    env = sim.env
    heap = env.heap
    until = sim.horizon
    t = env.now
    contacts = 0
    bound = -math.inf  # a participant of clocks.drive: the first tick waits for its turn
    # ticks before min(bound, next SimPy event, horizon) need no other check; it is
    # read again after every hand-over and after anything that may schedule events
    limit = -math.inf

    # A large population's state does not fit in the core's cache, and contact by
    # contact every read would wait on memory. Gathering the state of the next
    # contacts with numpy first (many reads in flight at once) brings it into
    # the cache for the scalar loop; chunks are small enough to stay there.
    held = _held(w)
    chunk = CACHE_CHUNK if len(groups) * STATE_BYTES > CACHE_BYTES else BLOCK

    def touch(seekers: np.ndarray, others: np.ndarray) -> None:
        for column in held:
            column.take(seekers, axis=0)
            column.take(others, axis=0)

    # a group joining a coalition is heard by nobody in an untraced run without
    # listeners (about 1,500 joins a kawasaki-suffrage run): then no object is built
    joined_heard = bus.wants(CoalitionJoined)

    def cross(t: float, g: int, h: int, crossing: str) -> bool:
        # whether coalitions merged, and so whether an event may have been published
        # (two groups already in one coalition: none)
        merged = w.merge(g, h)
        if merged is None:
            return False
        root, formed, size = merged
        name = w.coalition_names[root]
        if formed:
            tally["coalition_formed"] += 1
            publish(
                CoalitionFormed(
                    t=t,
                    coalition=name,
                    members=(group_ids[g], group_ids[h]),
                    issue=issue_id,
                    crossing=crossing,
                )
            )
        else:
            tally["coalition_joined"] += 1
            if not joined_heard:
                return True
            publish(
                CoalitionJoined(
                    t=t, coalition=name, joiner=group_ids[h], size=size, issue=issue_id, crossing=crossing
                )
            )
        return True

    if not wants_contact or rows is not None:
        # nobody hears of a contact, or only a trace that takes blocks of rows:
        # the quiet loop, over successes only
        yield from _quiet(sim, groups, clock, book, chunk, held, cross, adopt, rows, issue_id)
        return

    # The loop for listeners: every contact in order, as an event or a row. What a
    # success changes is written out here and in the quiet loop rather than shared
    # as a function: a call per success costs the quiet loop 1.1-1.2x its time per
    # success (measured at 1,800 groups), and this loop, which publishes every
    # contact, is not where the time goes. A change to the exchange's rule is made
    # in both (tests/test_exchange_paths.py compares the two loops' worlds).
    while True:
        gaps, k = clock.draw()
        # the times of the block's ticks, added one by one (a cumulative sum is
        # sequential): exactly the times SimPy would give the same gaps
        times = np.cumsum(np.concatenate(([t], gaps)))[1:]
        partner = book.draw(k, rng)
        seeker = groups[k]
        found = partner >= 0
        other = np.where(found, partner, seeker)
        outcome = np.where(
            rng.random(len(k)) >= success_chance[k],
            FAILED,
            np.where(
                supporter[seeker] != supporter[other],
                INFORMATION_ONLY,
                np.where(
                    state[seeker] != state[other],
                    ACROSS_BORDER,
                    np.where(nationality[seeker] != nationality[other], ACROSS_NATIONALITY, LIKE_MINDED),
                ),
            ),
        )
        outcome[~found] = NO_PARTNER
        venue = loc[k]
        venues = venue.tolist()
        lists = (times.tolist(), seeker.tolist(), partner.tolist(), outcome.tolist())
        for lo in range(0, len(times), chunk):
            if chunk < len(times):
                touch(seeker[lo : lo + chunk], other[lo : lo + chunk])
                part = tuple(x[lo : lo + chunk] for x in lists)
            else:
                part = lists  # the block in one chunk: its lists themselves, not copies
            for i, (t, g, h, what) in enumerate(zip(*part, strict=True), lo):
                if t >= limit:
                    if t > until:
                        tally["information_exchanged"] += contacts
                        return
                    if t >= bound or (heap and t >= heap[0][0]):
                        # another participant or a SimPy event is due first: hand over
                        tally["information_exchanged"] += contacts
                        contacts = 0
                        bound = yield t
                    else:
                        env._now = t
                    limit = min(bound, heap[0][0], until) if heap else min(bound, until)
                else:
                    # before the horizon, the next participant and the next SimPy event
                    env._now = t
                if what < 0:
                    continue
                contacts += 1
                if trace_contact is not None:
                    # only a line trace listens: a line, no event object
                    lg = venues[i]
                    trace_contact(
                        t, group_ids[g], group_ids[h], issue_id, lg_ids[lg] if lg >= 0 else None, what > 0
                    )
                elif objects:
                    lg = venues[i]
                    limit = -math.inf  # a handler may schedule an event: read the schedule again
                    publish(
                        InformationExchanged(
                            t=t,
                            source=group_ids[g],
                            target=group_ids[h],
                            issue=issue_id,
                            venue=lg_ids[lg] if lg >= 0 else None,
                            success=what > 0,
                        )
                    )
                if what == FAILED:
                    continue
                a = info[g]
                b = info[h]
                # World.add_info, inlined: the group's and its coalition's stock grow
                # alike; until a first coalition is named, every group is its own root
                if a < b:
                    gain = transfer * (b - a)
                    info[g] = a + gain
                    pooled[coalition_of(g) if named else g] += gain
                elif b < a:
                    gain = transfer * (a - b)
                    info[h] = b + gain
                    pooled[coalition_of(h) if named else h] += gain
                if what == INFORMATION_ONLY:
                    continue
                a = commitment[g]
                b = commitment[h]
                if a < b:
                    commitment[g] = a + influence * (b - a)
                elif b < a:
                    commitment[h] = b + influence * (a - b)
                if what >= ACROSS_BORDER:
                    if cross(t, g, h, "border" if what == ACROSS_BORDER else "nationality"):
                        limit = -math.inf  # the coalition's handlers may have scheduled an event


def _kinds(w: World, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """What a successful contact between two groups of the issue leads to
    depends on three attributes of each (stance, state, nationality): one
    small code per group (over the whole population, indexed like it), or
    None when every group of the issue has the same three, so that every
    success is between like-minded groups."""
    supporter = w.group_supporter.astype(np.int64)
    state = w.group_state
    nationality = w.group_nationality
    mine = (supporter[groups], state[groups], nationality[groups])
    if all((x == x[0]).all() for x in mine):
        return None
    return supporter, state, nationality


def _quiet(
    sim: RunContext,
    groups: np.ndarray,
    clock: AggregatedClock,
    book: ContactBook,
    chunk: int,
    held: tuple[np.ndarray, ...],
    cross: Callable[[float, int, int, str], bool],
    adopt: Adopt | None,
    rows: Any = None,
    issue_id: str = "",
) -> Generator[float, float, None]:
    """Information exchange when nobody hears of a contact (no trace, no
    handler), or only a trace that takes blocks of rows (``rows``, from
    ``Bus.direct_blocks``): the same draws and the same changes as the loop
    above, but only successful contacts are handled one by one.

    A failed contact, or one that finds no partner, changes nothing but the
    count of contacts, so the loop skips it: the block's successes are
    picked out with numpy, and the count is brought up to date at every
    hand-over (the contacts before the success being handled) and at the
    block's end. The world changes at the same times in the same order;
    hand-overs to the other participants and to SimPy happen at successes
    instead of at any contact, which changes no state (a failed contact
    reads and writes nothing).

    With a trace, every contact is a row, and the rows must keep their place
    among the other processes' events. A block's rows go to the trace as
    columns when the block is drawn (``rows.start``), and the trace puts each
    before the first event traced after it in time (``normflow.trace``):
    the loop makes no call per contact or per hand-over. At a block's end,
    whatever is due before its last tick runs first (a hand-over there), and
    the trace is told that everything up to that tick has reached it
    (``rows.through``), so that at most one block waits; the last block's
    rows stop at the horizon (``rows.finish``)."""
    w = sim.world
    p = sim.scenario.processes.information
    rng = clock.rng
    kinds = _kinds(w, groups)
    # the success chance of a seeker by its locality (the last entry: none), for
    # a lookup in a small table instead of a large array
    p0 = p.base_success
    by_locality = np.append(p0 + (1.0 - p0) * w.lg_openness, p0 + (1.0 - p0) * 0.0)
    info = memoryview(w.group_info)
    commitment = memoryview(w.group_commitment)
    pooled = memoryview(w.coalition_info)
    coalition_of = w.coalition_of
    parent = w._parent  # the union-find's parent links (read only: coalition_of compresses paths)
    named = w.coalition_names
    transfer = p.transfer
    influence = p.influence
    tally = sim.tally
    env = sim.env
    heap = env.heap
    until = sim.horizon
    t = env.now
    bound = -math.inf  # a participant of clocks.drive: the first tick waits for its turn
    limit = -math.inf
    key = "information_exchanged"
    inf = math.inf
    # the adopted clocks (the issue's local sharing and campaigns, clocks.Driver.adopt),
    # fired from this loop as clocks.Ticks.run fires them: for each, the time of its
    # next tick (infinite: none, or not adopted yet), its block, the index of that
    # tick in it, and what Ticks.state gives besides. The two are written out as
    # locals (a_*, b_*), and so are their two branches below: the loop reads them
    # at every success, where a list of clock states would cost an index each
    a_t = b_t = inf
    a_gaps: list[float] = []
    b_gaps: list[float] = []
    a_picks: list[int] = []
    b_picks: list[int] = []
    a_i = b_i = a_n = b_n = 0
    a_clock = b_clock = clock
    a_fire = b_fire = _never
    a_until = b_until = until
    adopted: list[Ticks] = []
    give_back: Callable[[], None] | None = None
    # A small population's group indices, and a block's tick positions, as Python
    # ints made once: a block's lists of seekers, partners and contacts before each
    # success then hold these (a gather of references) instead of thousands of
    # ints made and freed again per block
    ints = ticks = None
    if len(w.group_ids) <= SMALL:
        ints = np.arange(len(w.group_ids)).astype(object)
        ticks = np.arange(clock.size + 1).astype(object)

    def listed(counts: np.ndarray) -> list[int]:
        return counts.tolist() if ticks is None else ticks.take(counts).tolist()

    while True:
        gaps, k = clock.draw()
        # the times of the ticks, added one by one from t (the first gap added to t
        # in place: the same additions as a cumulative sum from t)
        gaps[0] += t
        times = gaps.cumsum()
        t = float(times[-1])
        seeker, lg, partner = book.draw_all(k, rng, clock.places)
        found = partner >= 0
        # the success draw of every tick, as the loop above makes it; the chance
        # is the locality's (the same number: one formula of the openness)
        success = (rng.random(len(k)) < by_locality[lg]) & found
        end = len(times)
        last = t > until
        if last:
            # the horizon falls in this block: its ticks up to the horizon
            end = int(times.searchsorted(until, side="right"))
            success[end:] = False
        at = success.nonzero()[0]
        # the contacts (ticks with a partner) before each success, and in the
        # block up to the horizon: the ticks before it less those without a
        # partner (few or none), which a cumulative count of all would cost more
        missing = (~found).nonzero()[0]
        if len(missing):
            before = at - missing.searchsorted(at)
            total = end - int(missing.searchsorted(end))
        else:
            before = at
            total = end
        if rows is not None:
            # every contact is a row: the block's rows, given ahead (see above)
            handled = found.nonzero()[0]
            rows.start(
                t=times[handled],
                source=seeker[handled],
                target=partner[handled],
                issue=issue_id,
                venue=lg[handled],
                success=success[handled],
            )
        g_all = seeker[at]
        h_all = partner[at]
        if kinds is None:
            whats: Iterable[int] = repeat(LIKE_MINDED)
        else:
            supporter, state, nationality = kinds
            whats = np.where(
                supporter[g_all] != supporter[h_all],
                INFORMATION_ONLY,
                np.where(
                    state[g_all] != state[h_all],
                    ACROSS_BORDER,
                    np.where(nationality[g_all] != nationality[h_all], ACROSS_NATIONALITY, LIKE_MINDED),
                ),
            ).tolist()
        when = times[at]
        if ints is None:
            gs, hs = g_all.tolist(), h_all.tolist()
        else:
            # ints made once, gathered by reference (see above)
            gs, hs = ints.take(g_all).tolist(), ints.take(h_all).tolist()
        n = len(at)
        if rows is not None and not last:
            # traced: everything due before the block's last tick runs before the
            # block's rows are settled (at most one block waits). A last entry at
            # that tick hands over like a success and changes nothing (a group
            # with itself: no gap to close)
            g0 = int(seeker[-1])
            gs.append(g0)
            hs.append(g0)
            when = np.append(when, t)
            before = np.append(before, total - int(found[-1]))
            if kinds is not None:
                whats.append(INFORMATION_ONLY)  # type: ignore[attr-defined]
            n += 1
        tallied = 0  # contacts of this block already counted
        # the fast path below (its conditions are fixed once the adopted clocks are
        # known) reads the successes' times and counts as arrays, at hand-overs only;
        # the loop after it, as lists (a small population's counts gathered as ints
        # made once, see above)
        runs = kinds is None and adopt is None and not adopted and RUNS
        lists = (when, gs, hs, before) if runs else (when.tolist(), gs, hs, listed(before))
        # seekers and partners side by side: one gather per column and chunk
        pairs = np.column_stack((g_all, h_all)).ravel() if chunk < n else g_all
        for lo in range(0, n, chunk):
            if chunk < n:
                both = pairs[2 * lo : 2 * (lo + chunk)]
                for column in held:
                    column.take(both, axis=0)
                part = tuple(x[lo : lo + chunk] for x in lists)
                # the kinds of the chunk's successes (an endless repeat when all are alike)
                what_chunk = whats if kinds is None else whats[lo : lo + chunk]  # type: ignore[index]
            else:
                # the block in one chunk: its lists themselves, not copies
                part, what_chunk = lists, whats
            i = 0  # the chunk's successes handled by the fast path
            if runs:
                # The fast path, for an issue whose successes are all between
                # like-minded groups (no crossing, so a success never schedules
                # anything) and that fires no adopted clock: the only hand-overs are
                # to the driver's other participants and to SimPy, at ``limit``. The
                # successes before the next hand-over are found by one binary search
                # and run in a loop that compares no time and tests no kind. The same
                # changes in the same order as the loop below, whose rule it writes
                # out again (tests/test_exchange_paths.py compares the two). Until a
                # first coalition is named every group is its own pool's root. A run
                # costs about a microsecond to start: after a run shorter than
                # ``RUN`` (other participants tick often, as another issue's exchange
                # does) the loop below takes the rest of the block.
                # the chunk's columns (the block's own names stay the block's)
                c_when, c_gs, c_hs, c_aheads = part
                m = len(c_gs)
                while i < m:
                    s = float(c_when[i])
                    if s >= limit:
                        # a hand-over, as below without adopted clocks
                        ahead = int(c_aheads[i])
                        tally[key] += ahead - tallied
                        tallied = ahead
                        if s >= bound or (heap and s >= heap[0][0]):
                            bound = yield s
                        env._now = s
                        limit = bound if bound < until else until
                        if heap and heap[0][0] < limit:
                            limit = heap[0][0]
                    if named:
                        # a coalition is named (only a hand-over can name one: this
                        # issue's successes cross no line): the pools go by root, in
                        # the loop below, which takes the rest of the block from here
                        break
                    j = _run_end(c_when, limit, i)
                    for g, h in zip(c_gs[i:j], c_hs[i:j], strict=False):
                        a = info[g]
                        b = info[h]
                        if a < b:
                            gain = transfer * (b - a)
                            info[g] = a + gain
                            pooled[g] += gain
                        elif b < a:
                            gain = transfer * (a - b)
                            info[h] = b + gain
                            pooled[h] += gain
                        a = commitment[g]
                        b = commitment[h]
                        if a < b:
                            commitment[g] = a + influence * (b - a)
                        elif b < a:
                            commitment[h] = b + influence * (a - b)
                    short = j - i < RUN
                    i = j
                    if short:
                        break
                if i == m:
                    continue
                part = (c_when[i:].tolist(), c_gs[i:], c_hs[i:], listed(c_aheads[i:]))
            for s, g, h, ahead, what in zip(*part, what_chunk, strict=False):
                if s >= limit:
                    # a hand-over: the contacts so far counted first
                    tally[key] += ahead - tallied
                    tallied = ahead
                    # the adopted clocks' ticks before this contact (on equal times
                    # the exchange, listed first, comes first, then sharing), each
                    # after whatever the driver has due first
                    while a_t < s or b_t < s:
                        if a_t <= b_t:
                            u = a_t
                            if u >= bound or (heap and u >= heap[0][0]):
                                bound = yield u
                            env._now = u
                            a_fire(u, a_picks[a_i])
                            a_i += 1
                            if a_i == a_n:
                                a_gaps, a_picks = a_clock.block()
                                a_n = len(a_gaps)
                                a_i = 0
                            a_t = u + a_gaps[a_i]
                            if a_t > a_until:
                                a_t = inf
                        else:
                            u = b_t
                            if u >= bound or (heap and u >= heap[0][0]):
                                bound = yield u
                            env._now = u
                            b_fire(u, b_picks[b_i])
                            b_i += 1
                            if b_i == b_n:
                                b_gaps, b_picks = b_clock.block()
                                b_n = len(b_gaps)
                                b_i = 0
                            b_t = u + b_gaps[b_i]
                            if b_t > b_until:
                                b_t = inf
                    if s >= bound or (heap and s >= heap[0][0]):
                        # another issue's participant or a SimPy event is due first
                        bound = yield s
                        if adopt is not None:
                            # the first resume: every participant has announced its
                            # first tick; the issue's sharing and campaigns are ours
                            adopted, bound, give_back = adopt()
                            adopt = None
                            for x in adopted:
                                if a_t == inf:
                                    a_t, a_gaps, a_picks, a_i, a_clock, a_fire, a_until = x.state()
                                    a_n = len(a_gaps)
                                else:
                                    b_t, b_gaps, b_picks, b_i, b_clock, b_fire, b_until = x.state()
                                    b_n = len(b_gaps)
                    env._now = s
                    # min(the adopted clocks, bound, the next SimPy event, until), without calls
                    limit = a_t if a_t < b_t else b_t
                    if bound < limit:
                        limit = bound
                    if until < limit:
                        limit = until
                    if heap and heap[0][0] < limit:
                        limit = heap[0][0]
                a = info[g]
                b = info[h]
                # World.add_info, inlined (see the loop above); the pool's root as
                # World.coalition_of finds it, inlined while the group's parent is a
                # root (until a first coalition is named, every group is its own root)
                if a < b:
                    gain = transfer * (b - a)
                    info[g] = a + gain
                    if named:
                        root = parent[g]
                        if parent[root] != root:
                            root = coalition_of(g)
                        pooled[root] += gain
                    else:
                        pooled[g] += gain
                elif b < a:
                    gain = transfer * (a - b)
                    info[h] = b + gain
                    if named:
                        root = parent[h]
                        if parent[root] != root:
                            root = coalition_of(h)
                        pooled[root] += gain
                    else:
                        pooled[h] += gain
                if what == INFORMATION_ONLY:
                    continue
                a = commitment[g]
                b = commitment[h]
                if a < b:
                    commitment[g] = a + influence * (b - a)
                elif b < a:
                    commitment[h] = b + influence * (a - b)
                if what >= ACROSS_BORDER:
                    # World.merge's two finds, inlined as it makes them: two groups
                    # already in one coalition (most crossing contacts) merge nothing
                    root = parent[g]
                    if parent[root] != root:
                        root = coalition_of(g)
                    other = parent[h]
                    if parent[other] != other:
                        other = coalition_of(h)
                    if root != other:
                        env._now = s
                        if cross(s, g, h, "border" if what == ACROSS_BORDER else "nationality"):
                            limit = -math.inf  # the coalition's handlers may have scheduled an event
        tally[key] += total - tallied
        if last:
            if rows is not None:
                rows.finish(total)  # the contacts after the horizon never happen
            # the clock stays at the last success: the failed contacts after it
            # change nothing, and the adopted clocks go back to the driver, which
            # runs them on from where they are
            if give_back is not None:
                for x, state in zip(
                    adopted, ((a_t, a_gaps, a_picks, a_i), (b_t, b_gaps, b_picks, b_i)), strict=False
                ):
                    x.restore(*state)
                give_back()
            return
        if rows is not None:
            rows.through(t)


def _run_end(when: np.ndarray, limit: float, i: int) -> int:
    """The end of the quiet loop's fast run from success ``i``: the first
    success at or after ``limit`` (``when``: the successes' times, in order),
    and at least the one after ``i`` (``i`` itself runs whatever the limit)."""
    j = int(when.searchsorted(limit))
    return j if j > i else i + 1


def _never(t: float, k: int) -> None:
    """The fire of an adopted clock that is not there (its next tick: never)."""
    raise AssertionError("an absent clock fired")


def local_sharing(sim: RunContext, issue: int):
    """Local governments share information with, and hear the case of, the
    groups of their locality."""
    w = sim.world
    p = sim.scenario.processes.information
    rng = sim.rng(f"sharing.{w.issues[issue].id}")
    groups = np.flatnonzero((w.group_issue == issue) & (w.group_locality >= 0))
    if len(groups) == 0:
        return
    issue_id = w.issues[issue].id
    at_locality, start, count = _index(w.group_locality[groups], groups, len(w.lg_ids))
    # the localities with groups, in order (np.unique would import numpy.ma mid-run)
    lgs = np.flatnonzero(count)
    rates = p.lg_share_rate / DAYS_PER_YEAR * w.lg_openness[lgs]
    if not rates.any():
        return  # no local government shares (the clock would never tick): no set-up
    first, size = start[lgs], count[lgs]

    def chosen(picks: np.ndarray) -> np.ndarray:
        # the group each sharing reaches, drawn for the clock's whole block right
        # after its draws: the very numbers one draw per tick would give
        # (rng.integers(0, size[picks]), whose loop over the bounds _below avoids)
        return at_locality[first[picks] + _below_some(rng, size[picks])]

    # plain Python values on the hot path (see accountability.campaigns): what a
    # group's sharings need of it, in one record per group: its locality, what a
    # sharing adds to its information and whether it backs the issue. The amount,
    # transfer * openness * 0.2 of its locality, is made once per group (openness is
    # fixed for a run, as the exchange's success chances take it; the same products,
    # left to right; 0 where a group has no locality)
    amount_of = np.where(
        w.group_locality >= 0, p.transfer * w.lg_openness[w.group_locality] * 0.2, 0.0
    ).tolist()
    of_group = list(zip(w.group_locality.tolist(), amount_of, w.group_supporter.tolist(), strict=True))
    support = memoryview(w.lg_support[issue])
    info = memoryview(w.group_info)
    pooled = memoryview(w.coalition_info)
    commitment = memoryview(w.group_commitment)
    coalition_of = w.coalition_of
    parent = w._parent  # the union-find's parent links (read only: coalition_of compresses paths)
    tally = sim.tally
    so_far = tally.get
    persuasion = p.lg_persuasion
    report = None  # a sharing someone hears of: None when nobody does
    if sim.bus.wants(InformationShared):
        shared_row = sim.bus.direct(InformationShared)  # only the trace listens: a row, no object
        lg_ids = w.lg_ids
        group_ids = w.group_ids
        latest = sim.latest_event  # the last sharing in each locality: a resolution's cause

        def report(t: float, g: int, lg: int) -> None:
            eid = latest[(issue_id, lg)] = sim.new_event_id()
            if shared_row is not None:
                shared_row(t, lg_ids[lg], group_ids[g], issue_id, eid)
                return
            sim.bus.publish(
                InformationShared(
                    t=t, local_government=w.lg_ids[lg], group=w.group_ids[g], issue=issue_id, id=eid
                )
            )

    # (the sharing reads few closure variables: a call copies every one into its frame)
    def share(t: float, g: int) -> None:
        lg, amount, backs = of_group[g]
        # World.add_info, inlined
        info[g] += amount
        # World.coalition_of, inlined while the group's parent is a root (no path to compress)
        root = parent[g]
        if parent[root] != root:
            root = coalition_of(g)
        pooled[root] += amount
        pull = persuasion * commitment[g]
        if backs:
            support[lg] += pull * (1.0 - support[lg])
        else:
            support[lg] -= pull * support[lg]
        tally["information_shared"] = so_far("information_shared", 0) + 1  # += 1 (see campaigns)
        if report is not None:
            report(t, g, lg)

    yield Ticks(sim.env, AggregatedClock(rates, rng, actors=chosen), share, sim.horizon)
