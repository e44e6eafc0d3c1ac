"""Exact aggregated Poisson clocks: the engine's fast path.

A population of actors that each act at their own Poisson rate is, taken
together, one Poisson process whose rate is the sum of theirs; the actor
behind each tick is drawn in proportion to its rate. Simulating that one
clock instead of thousands of generators changes no probability law, only
the bookkeeping (``tests/test_clocks.py`` checks the law statistically;
``docs/performance.md`` explains the design).

The clock draws its randomness in blocks (``AggregatedClock.block``): a
vector of exponential gaps and a vector of actors, so the per-tick cost is a
list lookup, not a call into numpy.

Ticks that fall before anything else scheduled in SimPy are handled inline,
without a round trip through SimPy's heap. ``FastEnvironment.heap`` is
SimPy's own schedule; a tick at ``t`` strictly before ``heap[0][0]`` cannot
be preceded by anything else, so moving the clock to ``t`` and handling the
tick on the spot gives exactly the order SimPy would have given. A tick at or
after that time goes through ``env.timeout`` like any other event (which
also keeps SimPy's tie-breaking for simultaneous events).

Several such clocks (a run's information exchange, local sharing and
campaigns, for every issue) share one SimPy process (``drive``): each is a
participant that announces its next tick; the earliest runs, inline until
another participant or a SimPy event is due, so alternating processes no
longer pay a heap entry, a step and a generator resume per tick.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL

#: Ticks drawn per block. Large enough that numpy's per-call overhead
#: vanishes per tick, small enough that the draws wasted past the horizon
#: (at most one block per clock) cost nothing noticeable.
BLOCK = 4096

#: Drawing by inverse transform, the actor is looked up in a guide table of this
#: many slices per actor, then found in at most GUIDE_STEPS comparisons (a
#: population whose rates need more keeps the binary search).
GUIDE = 2
GUIDE_STEPS = 12

#: Rejection sampling of the actor behind a tick is used while the largest
#: rate is at most this many times the mean (so at least this share of
#: candidates is kept).
REJECTION_LIMIT = 4.0


class FastEnvironment(simpy.Environment):
    """A SimPy environment whose time a process may move forward itself, as
    long as nothing else is scheduled before the new time.

    ``heap`` is SimPy's schedule itself (read it, never change it):
    ``heap[0][0]`` is the time of the next scheduled event, if any."""

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.heap: list[tuple[float, int, int, simpy.Event]] = self._queue

    def at(self, t: float) -> simpy.Event:
        """An event that fires at time ``t`` exactly (a timeout given by its
        date, not by a delay: ``now + (t - now)`` need not round to ``t``)."""
        if t < self._now:
            raise RuntimeError(f"cannot schedule at {t}: the clock is already at {self._now}")
        event = simpy.Event(self)
        event._ok = True
        event._value = None
        heapq.heappush(self._queue, (t, NORMAL, next(self._eid), event))
        return event

    def advance_to(self, t: float) -> None:
        """Move the clock to ``t``; allowed only before the next scheduled event."""
        if self._queue and t >= self._queue[0][0]:
            raise RuntimeError(f"cannot advance to {t}: an event is due at {self._queue[0][0]}")
        if t < self._now:
            raise RuntimeError(f"cannot advance to {t}: the clock is already at {self._now}")
        self._now = t


class AggregatedClock:
    """Superposition of independent Poisson clocks with fixed rates (per day).

    ``rates[i]`` is actor ``i``'s rate. Gaps between ticks are exponential
    with the total rate. The actor behind a tick is drawn with probability
    ``rates[i] / total``, in O(1) per tick whatever the population:

    - uniformly when all rates are equal;
    - by rejection when no rate exceeds ``REJECTION_LIMIT`` times the mean
      (a uniform candidate ``i`` is kept with chance ``rates[i] / max``; at
      least one candidate in ``REJECTION_LIMIT`` is kept);
    - otherwise by inverse transform on the cumulative rates (a binary
      search, O(log n)).

    All three are exact, and vectorized over a block of ticks.

    Per-tick draws that a process would make from the same generator can be
    made for the whole block, in the same order, right after the block's own
    draws: the stream then gives every tick the very numbers the scalar draws
    would have given it.

    - ``actors(picks)``, if given, maps a block's actors to what ``block``
      hands to the ticks, and may draw from ``rng`` (one bounded integer per
      tick, say, as a process would draw one per tick);
    - with ``uniforms``, ``block`` also draws a uniform for every tick
      (``self.uniforms``), of which the ticks take what they need in order,
      counting them in ``self.used``; before the next block the generator is
      put back where the scalar draws of the used ones would have left it (a
      tick that draws no uniform takes none).

    Use one of the two per clock: ticks that drew an integer and a uniform
    each would interleave two kinds of draws, which blocks cannot reproduce."""

    def __init__(
        self,
        rates: np.ndarray,
        rng: np.random.Generator,
        block: int = BLOCK,
        actors: Callable[[np.ndarray], np.ndarray] | None = None,
        uniforms: bool = False,
    ):
        rates = np.asarray(rates, dtype=float)
        if rates.ndim != 1 or not np.all(np.isfinite(rates)) or (rates < 0).any():
            raise ValueError("rates must be a 1-D array of finite, non-negative numbers")
        self.rng = rng
        self.n = len(rates)
        self.rates = rates
        self.total = float(rates.sum())
        self.size = block
        self._equal = self.n > 0 and bool(np.all(rates == rates[0]))
        top = float(rates.max()) if self.n else 0.0
        self._keep = rates / top if top > 0 else rates
        self._reject = not self._equal and top <= REJECTION_LIMIT * self.total / max(self.n, 1)
        # the expected share of candidates kept, once (a maximum over every rate per
        # block would cost O(n) per block: 7-70 ns a tick at 10^5-10^6 actors)
        self._mean_keep = self.total / (self.n * top) if self._reject else 1.0
        self._cum = np.cumsum(rates)
        positive = np.flatnonzero(rates > 0)
        # a uniform that rounds up to the total must still land on an actor that can act
        self._last = int(positive[-1]) if len(positive) else 0
        self._guide = (
            self._guide_table() if self.n and self.total > 0 and not (self._equal or self._reject) else None
        )
        self._gaps: list[float] = []
        self._picks: list[int] = []
        self._i = 0
        self._actors = actors
        self._uniforms = uniforms
        self._before_uniforms: dict[str, Any] | None = None
        self.uniforms: list[float] = []
        self.used = 0

    def draw(self) -> tuple[np.ndarray, np.ndarray]:
        """The next block of ticks: gaps (days) and the actor behind each."""
        gaps = self.rng.exponential(1.0 / self.total, self.size)
        if self._equal:
            picks = self.rng.integers(0, self.n, self.size)
        elif self._reject:
            picks = self._by_rejection()
        else:
            u = self.rng.random(self.size) * self.total
            picks = np.minimum(self._search(u), self._last)
        return gaps, picks

    def _guide_table(self) -> tuple[np.ndarray, float, int, np.ndarray] | None:
        """For ``_search``: the count of cumulative rates up to each of ``GUIDE``
        times ``n`` equal slices of the total, and the most actors any three
        neighbouring slices hold (None when that is above ``GUIDE_STEPS``)."""
        m = GUIDE * self.n
        table = np.searchsorted(self._cum, np.arange(m + 3) * (self.total / m), side="right")
        steps = int((table[3:] - table[:-3]).max())
        if steps > GUIDE_STEPS:
            return None
        return table, m / self.total, steps, np.append(self._cum, math.inf)

    def _search(self, u: np.ndarray) -> np.ndarray:
        """``np.searchsorted(self._cum, u, side="right")``, the same indices: the
        number of cumulative rates at or below each ``u``. A binary search costs
        a mispredicted branch per step (about 0.5 ms a block of 4,096 over 2,304
        actors); the guide table gives, for the slice below the one ``u`` falls
        in, a count that cannot be above the answer, and at most ``steps`` rates
        lie between it and the answer (the slice is computed in floating point,
        but it is off by far less than one slice), so that many comparisons,
        each moving past a rate at or below ``u``, end exactly on it."""
        guide = self._guide
        if guide is None:
            return np.searchsorted(self._cum, u, side="right")
        table, scale, steps, cum = guide
        j = (u * scale).astype(np.intp)
        j -= 1
        np.clip(j, 0, len(table) - 1, out=j)
        at = table[j]
        for _ in range(steps):
            at += cum[at] <= u
        return at

    def _by_rejection(self) -> np.ndarray:
        kept: list[np.ndarray] = []
        needed = self.size
        # draw enough candidates for the expected acceptance, plus a margin
        mean_keep = self._mean_keep
        while needed > 0:
            m = int(needed / mean_keep * 1.1) + 16
            candidate = self.rng.integers(0, self.n, m)
            # the first ``needed`` candidates kept, by position (cheaper than a mask)
            chosen = (self.rng.random(m) < self._keep[candidate]).nonzero()[0][:needed]
            kept.append(candidate.take(chosen))
            needed -= len(kept[-1])
        return np.concatenate(kept) if len(kept) > 1 else kept[0]

    def block(self) -> tuple[list[float], list[int]]:
        """``draw()`` as Python lists, the cheapest form to loop over (with
        ``actors`` and ``uniforms`` as the class says)."""
        if self._before_uniforms is not None:
            # the generator as the scalar draws of the last block's used uniforms left it
            self.rng.bit_generator.state = self._before_uniforms
            if self.used:
                self.rng.random(self.used)
        gaps, picks = self.draw()
        if self._actors is not None:
            picks = self._actors(picks)
        if self._uniforms:
            self._before_uniforms = self.rng.bit_generator.state
            self.uniforms = self.rng.random(len(gaps)).tolist()
            self.used = 0
        return gaps.tolist(), picks.tolist()

    def next(self) -> tuple[float, int]:
        """The gap to the next tick (days) and the index of the actor behind it."""
        if self._i >= len(self._gaps):
            self._gaps, self._picks = self.block()
            self._i = 0
        i = self._i
        self._i = i + 1
        return self._gaps[i], self._picks[i]


def run_clock(
    env: FastEnvironment,
    clock: AggregatedClock,
    fire: Callable[[float, int], Any],
    until: float,
) -> Generator[simpy.Event, Any, None]:
    """A SimPy process that calls ``fire(t, actor)`` at every tick of ``clock``
    up to ``until``, handling ticks inline while nothing else is due first.

    ``fire`` may publish events, start processes or schedule timeouts: the
    schedule is read again before every tick."""
    if clock.total <= 0 or clock.n == 0:
        return
    heap = env.heap
    timeout = env.timeout
    t = env.now
    while True:
        gaps, picks = clock.block()
        for gap, who in zip(gaps, picks, strict=True):
            # t is always env.now + gap, computed exactly as SimPy computes a timeout
            t += gap
            if t > until:
                return
            if heap and t >= heap[0][0]:
                yield timeout(gap)
            else:
                env._now = t
            fire(t, who)


#: The type of a participant of ``drive``: a generator that yields the time of
#: its next tick and is sent, when that tick is due, the time before which it
#: may go on handling its ticks by itself.
Participant = Generator[float, float, None]


def clock_ticks(
    env: FastEnvironment,
    clock: AggregatedClock,
    fire: Callable[[float, int], Any],
    until: float,
) -> Participant:
    """``run_clock`` as a participant of ``drive``: calls ``fire(t, actor)``
    at every tick of ``clock`` up to ``until``."""
    if clock.total <= 0 or clock.n == 0:
        return
    heap = env.heap
    t = env.now
    bound = -math.inf  # the first tick waits for its turn
    while True:
        gaps, picks = clock.block()
        for gap, who in zip(gaps, picks, strict=True):
            # t is the running sum of the gaps: the times SimPy would give them
            t += gap
            if t > until:
                return
            if t >= bound or (heap and t >= heap[0][0]):
                bound = yield t
            else:
                env._now = t
            fire(t, who)


class Ticks:
    """``clock_ticks`` without a generator: a participant of ``drive`` that
    the driver calls instead of resuming. A process hands it to the driver
    as the first value it yields (``yield Ticks(...)``), after its set-up,
    so that set-up runs when it did as a generator of its own.

    ``start()`` gives the time of the first tick (None when the clock never
    ticks); ``run(bound)`` fires the tick that is due, then every following
    one while it comes before ``bound`` and before SimPy's next event, and
    gives the time of the next tick (None past ``until``). The ticks, their
    times (the running sum of the gaps, as SimPy would give them), the
    clock's block draws and their moments are those of ``clock_ticks``; what
    is saved is a generator resume, through two frames, per tick that
    another participant's tick precedes."""

    __slots__ = ("_env", "_heap", "_clock", "_fire", "_until", "_t", "_gaps", "_picks", "_i")

    def __init__(
        self, env: FastEnvironment, clock: AggregatedClock, fire: Callable[[float, int], Any], until: float
    ) -> None:
        self._env = env
        self._heap = env.heap
        self._clock = clock
        self._fire = fire
        self._until = until
        self._t = 0.0
        self._gaps: list[float] = []
        self._picks: list[int] = []
        self._i = 0

    def start(self) -> float | None:
        clock = self._clock
        if clock.total <= 0 or clock.n == 0:
            return None
        self._gaps, self._picks = clock.block()
        self._i = 0
        t = self._env.now + self._gaps[0]
        if t > self._until:
            return None
        self._t = t
        return t

    def state(
        self,
    ) -> tuple[float, list[float], list[int], int, AggregatedClock, Callable[[float, int], Any], float]:
        """For a participant that fires these ticks itself (``Driver.adopt``): the
        time of the next tick, the current block's gaps and actors, the index of
        the next tick in it, the clock, the function to call and the horizon."""
        return self._t, self._gaps, self._picks, self._i, self._clock, self._fire, self._until

    def restore(self, t: float, gaps: list[float], picks: list[int], i: int) -> None:
        """``state``'s first four, as the adopting participant left them (``t``
        infinite: no tick left before the horizon)."""
        self._t, self._gaps, self._picks, self._i = t, gaps, picks, i

    def run(self, bound: float) -> float | None:
        env = self._env
        heap = self._heap
        fire = self._fire
        until = self._until
        gaps, picks, i = self._gaps, self._picks, self._i
        n = len(gaps)
        t = self._t
        while True:
            fire(t, picks[i])
            i += 1
            if i == n:
                gaps, picks = self._clock.block()
                self._gaps, self._picks = gaps, picks
                n = len(gaps)
                i = 0
            t += gaps[i]
            if t > until:
                return None
            if t >= bound or (heap and t >= heap[0][0]):
                self._i = i
                self._t = t
                return t
            env._now = t


class Driver:
    """One SimPy process for several Poisson processes (``run``): each
    participant announces its next tick, the earliest one runs, inline while
    nothing in SimPy's schedule and no other participant is due before it,
    and through SimPy's heap (an event at that very time) otherwise.

    Every tick happens at the time and in the order it would have as a
    process of its own (ties between continuous times aside, which have
    probability zero, go to the participant listed first); what is saved is
    SimPy's machinery — a heap entry, a step and a generator resume — for
    every tick where two processes alternate.

    A participant is a generator (resumed with ``send``) or a ``Ticks``
    (called). A generator participant may also take over called
    participants listed after it (``adopt``): it then fires their ticks
    itself, in the driver's order, announcing the earliest of its own and
    their next ticks, and hands back those left before it ends. One issue's
    information exchange does so with its local sharing and campaigns: a
    campaign between two contacts then costs a few lines of the exchange's
    loop instead of a hand-over through the driver."""

    def __init__(self, env: FastEnvironment) -> None:
        self._env = env
        self._times: list[float] = []
        self._steps: list[Callable[[float], float | None]] = []
        self._ticks: list[Ticks | None] = []

    def adopt(
        self, k: int, positions: list[int]
    ) -> Callable[[], tuple[list[Ticks], float, Callable[[], None]]]:
        """For the generator participant at position ``k``: a callable to call
        right after it has been resumed (every participant has then announced
        its first tick). It hands over the ``Ticks`` at ``positions`` that
        still tick (the driver forgets them) and returns them (``Ticks.state``
        says where each stands), ``k``'s new bound (the earliest next tick of
        the participants left to the driver) and a callable that gives them
        back (their state first put back with ``Ticks.restore``), to be called
        before ``k`` ends. ``k``'s next announced time is then the earliest of
        its own and their next ticks; their ticks before it are fired by it
        at the time and in the order the driver would have fired them (after
        SimPy's events due first, and after participants listed before them on
        equal times)."""
        times, ticks = self._times, self._ticks

        def take() -> tuple[list[Ticks], float, Callable[[], None]]:
            taken = [
                j
                for j in positions
                if j != k and j < len(ticks) and ticks[j] is not None and times[j] < math.inf
            ]
            for j in taken:
                times[j] = math.inf
            bound = min((x for i, x in enumerate(times) if i != k), default=math.inf)

            def give_back() -> None:
                for j in taken:
                    times[j] = ticks[j]._t  # type: ignore[union-attr]

            return [ticks[j] for j in taken], bound, give_back  # type: ignore[misc]

        return take

    def run(self, participants: list[Participant]) -> Generator[simpy.Event, Any, None]:
        """The SimPy process that drives ``participants``."""
        env = self._env
        heap = env.heap
        inf = math.inf
        times, running = self._times, self._steps
        # positions stay those of the list (adopt's k): a participant that ends keeps its
        # place, with an infinite next tick
        for participant in participants:
            try:
                first = next(participant)
            except StopIteration:
                first = None
            if isinstance(first, Ticks):
                # the process set itself up and handed over its clock: call it, never resume it
                start = first.start()
                times.append(inf if start is None else start)
                running.append(first.run)
                self._ticks.append(first)
            else:
                times.append(inf if first is None else first)
                running.append(participant.send)
                self._ticks.append(None)
        n = len(times)
        while True:
            # the earliest participant (the first of equals), and the time before
            # which it may run alone (the next earliest); three participants (one
            # issue's exchange, sharing and campaigns) and two written out
            if n == 3:
                a, b, c = times
                if a <= b:
                    k, t, bound = (0, a, b if b < c else c) if a <= c else (2, c, a)
                else:
                    k, t, bound = (1, b, a if a < c else c) if b <= c else (2, c, b)
            elif n == 2:
                a, b = times
                k, t, bound = (0, a, b) if a <= b else (1, b, a)
            else:
                k = 0
                t = times[0] if n else inf
                bound = inf
                for j in range(1, n):
                    u = times[j]
                    if u < t:
                        bound = t
                        k, t = j, u
                    elif u < bound:
                        bound = u
            if t == inf:
                return
            if heap and t >= heap[0][0]:
                yield env.at(t)
            else:
                env._now = t
            try:
                t = running[k](bound)
            except StopIteration:
                t = None
            times[k] = inf if t is None else t


def drive(env: FastEnvironment, participants: list[Participant]) -> Generator[simpy.Event, Any, None]:
    """``Driver(env).run(participants)``: one SimPy process for several
    Poisson processes (see ``Driver``)."""
    return Driver(env).run(participants)
