"""The aggregated clock has the law of the naive one: one exponential clock
per actor.

Statistical tests at fixed seeds, each with a generous level (p > 0.001), so
a failure means a wrong law, not bad luck. Also: the inline fast path keeps
SimPy's order of events, and the block-drawn partner choice of information
exchange has the law of the scalar rule.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest
from scipy import stats

from normflow.clocks import AggregatedClock, FastEnvironment, run_clock
from normflow.processes.information import ContactBook
from normflow.scenario import scenario_from_dict
from normflow.world import World

LEVEL = 1e-3


def naive_ticks(rates: np.ndarray, horizon: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Times and actors of n independent exponential clocks, merged: the naive pattern."""
    heap = [(rng.exponential(1.0 / r), i) for i, r in enumerate(rates) if r > 0]
    heapq.heapify(heap)
    times, who = [], []
    while heap[0][0] <= horizon:
        t, i = heapq.heappop(heap)
        times.append(t)
        who.append(i)
        heapq.heappush(heap, (t + rng.exponential(1.0 / rates[i]), i))
    return np.array(times), np.array(who)


def aggregated_ticks(clock: AggregatedClock, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    times, who, t = [], [], 0.0
    while True:
        gaps, picks = clock.block()
        for gap, k in zip(gaps, picks, strict=True):
            t += gap
            if t > horizon:
                return np.array(times), np.array(who)
            times.append(t)
            who.append(k)


# three rate profiles, one per way of choosing the actor behind a tick
EQUAL = np.full(50, 0.2)
BOUNDED = np.linspace(0.05, 0.15, 50)  # max / mean = 1.5: rejection
SKEWED = np.concatenate([np.full(49, 0.01), [5.0]])  # max / mean >> 4: binary search
PROFILES = {"equal": EQUAL, "rejection": BOUNDED, "inverse-transform": SKEWED}


@pytest.mark.parametrize("name", PROFILES)
def test_inter_event_times_match_the_naive_clocks(name):
    rates = PROFILES[name]
    horizon = 4000.0 / rates.sum()
    agg, _ = aggregated_ticks(AggregatedClock(rates, np.random.default_rng(1)), horizon)
    naive, _ = naive_ticks(rates, horizon, np.random.default_rng(2))
    gaps_agg, gaps_naive = np.diff(agg), np.diff(naive)
    assert stats.ks_2samp(gaps_agg, gaps_naive).pvalue > LEVEL
    assert stats.kstest(gaps_agg, "expon", args=(0, 1.0 / rates.sum())).pvalue > LEVEL


@pytest.mark.parametrize("name", PROFILES)
def test_counts_per_window_are_poisson(name):
    rates = PROFILES[name]
    window = 5.0 / rates.sum()  # five ticks expected per window
    windows = 800
    times, _ = aggregated_ticks(AggregatedClock(rates, np.random.default_rng(3)), window * windows)
    counts = np.bincount((times // window).astype(int), minlength=windows)[:windows]
    assert abs(counts.mean() - 5.0) < 4 * np.sqrt(5.0 / windows)
    # Poisson dispersion test: (n - 1) var / mean is chi-square with n - 1 degrees of freedom
    dispersion = (windows - 1) * counts.var(ddof=1) / counts.mean()
    p = stats.chi2.sf(dispersion, windows - 1)
    assert LEVEL < p < 1 - LEVEL


@pytest.mark.parametrize("name", PROFILES)
def test_actors_are_chosen_in_proportion_to_their_rates(name):
    rates = PROFILES[name]
    clock = AggregatedClock(rates, np.random.default_rng(4))
    picks = np.concatenate([clock.draw()[1] for _ in range(10)])
    observed = np.bincount(picks, minlength=len(rates))
    expected = len(picks) * rates / rates.sum()
    assert stats.chisquare(observed, expected).pvalue > LEVEL


def test_actor_frequencies_match_the_naive_clocks():
    rates = BOUNDED
    horizon = 6000.0 / rates.sum()
    _, agg = aggregated_ticks(AggregatedClock(rates, np.random.default_rng(5)), horizon)
    _, naive = naive_ticks(rates, horizon, np.random.default_rng(6))
    table = np.array([np.bincount(agg, minlength=50), np.bincount(naive, minlength=50)])
    assert stats.chi2_contingency(table).pvalue > LEVEL


def test_actors_with_zero_rate_never_act():
    rates = np.array([0.0, 1.0, 0.0, 2.0, 0.0])
    clock = AggregatedClock(rates, np.random.default_rng(7))
    picks = np.concatenate([clock.draw()[1] for _ in range(3)])
    assert set(np.unique(picks)) == {1, 3}


def test_bad_rates_are_refused():
    with pytest.raises(ValueError, match="non-negative"):
        AggregatedClock(np.array([1.0, -0.5]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="finite"):
        AggregatedClock(np.array([1.0, np.inf]), np.random.default_rng(0))


def test_inline_ticks_keep_simpy_order_with_foreign_events():
    env = FastEnvironment()
    log: list[tuple[float, str]] = []

    def fire(t: float, who: int) -> None:
        assert env.now == t  # the clock was moved to the tick before it is handled
        log.append((t, "tick"))

    def foreign():
        for _ in range(40):
            yield env.timeout(0.7)
            log.append((env.now, "foreign"))

    clock = AggregatedClock(np.full(10, 0.5), np.random.default_rng(8))
    env.process(run_clock(env, clock, fire, until=25.0))
    env.process(foreign())
    env.run(until=30.0)
    times = [t for t, _ in log]
    assert times == sorted(times)
    assert sum(kind == "foreign" for _, kind in log) == 40
    assert max(t for t, kind in log if kind == "tick") <= 25.0


def test_inline_ticks_land_where_simpy_timeouts_would():
    """Ticks handled inline and ticks scheduled through SimPy give the same
    times, to the last bit, as adding the gaps one by one."""
    env = FastEnvironment()
    seen: list[float] = []
    clock = AggregatedClock(np.full(5, 2.0), np.random.default_rng(9))

    def nudge():  # a foreign event every day forces some ticks through SimPy's heap
        while True:
            yield env.timeout(1.0)

    env.process(run_clock(env, clock, lambda t, k: seen.append(t), until=50.0))
    env.process(nudge())
    env.run(until=60.0)
    replay = AggregatedClock(np.full(5, 2.0), np.random.default_rng(9))
    t, expected = 0.0, []
    gaps, _ = replay.block()
    for gap in gaps:
        t += gap
        if t > 50.0:
            break
        expected.append(t)
    assert seen == expected


def test_advance_to_refuses_to_pass_a_scheduled_event():
    env = FastEnvironment()
    env.timeout(5.0)
    env.advance_to(4.0)
    assert env.now == 4.0
    with pytest.raises(RuntimeError, match="due at 5.0"):
        env.advance_to(5.0)
    with pytest.raises(RuntimeError, match="already at"):
        env.advance_to(3.0)


def _world() -> World:
    scenario = scenario_from_dict(
        {
            "scenario": {"name": "contacts", "start": "2000-01-01", "end": "2001-01-01"},
            "states": [{"id": "a"}, {"id": "b"}],
            "issues": [{"id": "x", "state": "a"}],
            "local_governments": {
                "named": [
                    {"id": "home", "state": "a", "partners": ["abroad"]},
                    {"id": "abroad", "state": "b"},
                    {"id": "alone", "state": "b"},
                ],
                "groups": [{"state": "a", "count": 4}],
            },
            "civil_society": {
                "groups": [
                    {"id": "g0", "state": "a", "locality": "home"},
                    {"id": "g1", "state": "a", "locality": "home"},
                    {"id": "g2", "state": "b", "locality": "abroad"},
                    {"id": "g3", "state": "b", "locality": "alone"},
                ],
                "populations": [{"state": "a", "count": 12}],
            },
            "ties": [{"a": "g0", "b": "g3"}],
        }
    )
    return World(scenario, np.random.default_rng(0))


def scalar_partner(w: World, groups: np.ndarray, g: int, shares: tuple[float, float, float], rng) -> int:
    """The partner rule written contact by contact, as the naive reference does."""
    tie, partner, local = shares
    lg = int(w.group_locality[g])
    at = {int(x): [int(h) for h in groups if w.group_locality[h] == x] for x in set(w.group_locality[groups])}
    r = rng.random()
    if r < tie:
        if w.group_ties[g]:
            return w.group_ties[g][rng.integers(len(w.group_ties[g]))]
    elif r < tie + partner:
        if lg >= 0 and w.lg_partners[lg]:
            there = at.get(w.lg_partners[lg][rng.integers(len(w.lg_partners[lg]))], [])
            if there:
                return there[rng.integers(len(there))]
    elif r < tie + partner + local and lg >= 0:
        here = at[lg]
        if len(here) > 1:
            h = here[rng.integers(len(here))]
            if h != g:
                return h
    pool = [int(h) for h in groups if w.group_state[h] == w.group_state[g]]
    if len(pool) < 2:
        pool = [int(h) for h in groups]
    h = pool[rng.integers(len(pool))]
    return h if h != g else -1


@pytest.mark.parametrize("seeker", [0, 2, 3])
def test_block_partner_choice_has_the_law_of_the_scalar_rule(seeker):
    w = _world()
    groups = np.flatnonzero(w.group_issue == 0)
    shares = (0.3, 0.2, 0.4)
    book = ContactBook(w, groups, *shares)
    k = int(np.flatnonzero(groups == seeker)[0])
    drawn = book.draw(np.full(6000, k), np.random.default_rng(10))
    rng = np.random.default_rng(11)
    scalar = np.array([scalar_partner(w, groups, seeker, shares, rng) for _ in range(6000)])
    labels = np.union1d(np.unique(drawn), np.unique(scalar))
    table = np.array([[np.sum(drawn == x) for x in labels], [np.sum(scalar == x) for x in labels]])
    assert stats.chi2_contingency(table).pvalue > LEVEL


@pytest.mark.parametrize(
    "modes",
    [
        "rrr",
        "rcr",
        "crc",
        "ccc",
        "rc",
        # adopting generators (a) take over the called participants listed after them
        "acc",
        "ac",
        "acr",
        "racc",
        # two issues' worth: each adopter takes the two called ones after it
        "accacc",
        "acracc",
        "aaa",
    ],
)
def test_one_driver_for_several_clocks_fires_every_tick_at_the_time_and_in_the_order_of_separate_processes(
    modes,
):
    """clocks.drive runs several Poisson processes in one SimPy process: the
    ticks, their times (to the last bit) and their order among themselves and
    among other scheduled events are those of one process per clock, whether
    a participant is resumed (r: a generator), called (c: ``clocks.Ticks``,
    handed over after the process's set-up) or a generator that takes over
    the called ones listed right after it and fires their ticks itself
    (a: ``Driver.adopt``, as the information exchange does), in any mix."""
    from normflow.clocks import Driver, FastEnvironment, Ticks, clock_ticks, run_clock

    def handed(env, clock, fire, until):
        # a process that sets itself up, then hands its clock to the driver
        yield Ticks(env, clock, fire, until)

    def adopting(env, clock, fire, until, adopt):
        # its own ticks and the adopted ones, the earliest first (its own on equal
        # times, then the adopted in their order), yielding to the driver when
        # another participant or a SimPy event is due first; Driver.adopt's protocol
        heap = env.heap
        inf = math.inf
        gaps, picks = clock.block()
        i, t = 0, env.now + gaps[0]
        streams: list[list] = []  # [next time, gaps, picks, index, clock, fire, until]
        bound = -inf
        give_back = None
        taken = []
        while True:
            mine = t if t <= until else inf
            nxt = min([mine] + [x[0] for x in streams])
            if nxt == inf:
                break
            if nxt >= bound or (heap and nxt >= heap[0][0]):
                bound = yield nxt
                if adopt is not None:
                    taken, bound, give_back = adopt()
                    adopt = None
                    streams = [list(x.state()) for x in taken]
                    continue  # the adopted may not be due before nxt: choose again
            env._now = nxt
            if nxt == mine:
                fire(t, picks[i])
                i += 1
                if i == len(gaps):
                    gaps, picks = clock.block()
                    i = 0
                t += gaps[i]
            else:
                x = next(x for x in streams if x[0] == nxt)
                x[5](nxt, x[2][x[3]])
                x[3] += 1
                if x[3] == len(x[1]):
                    x[1], x[2] = x[4].block()
                    x[3] = 0
                x[0] = nxt + x[1][x[3]]
                if x[0] > x[6]:
                    x[0] = inf
        for x, ticks in zip(streams, taken if give_back else [], strict=True):
            ticks.restore(*x[:4])
        if give_back is not None:
            give_back()

    def record(shared: bool) -> list[tuple[str, float, int]]:
        env = FastEnvironment()
        seen: list[tuple[str, float, int]] = []
        clocks = {
            name: AggregatedClock(np.full(n, rate), np.random.default_rng(seed), block=64)
            for name, n, rate, seed in (
                ("a", 5, 0.7, 1),
                ("b", 3, 0.2, 2),
                ("c", 8, 1.1, 3),
                ("d", 4, 0.5, 5),
                ("e", 6, 0.9, 7),
                ("f", 2, 0.3, 11),
            )[: len(modes)]
        }

        def fire(name: str):
            return lambda t, who: seen.append((name, t, who))

        def metronome():
            # other SimPy events, every 1.5 days, which ticks must go around
            while env.now + 1.5 <= 100.0:
                yield env.timeout(1.5)
                seen.append(("m", env.now, -1))

        env.process(metronome())
        if shared:
            driver = Driver(env)
            participants = []
            for k, ((n, c), mode) in enumerate(zip(clocks.items(), modes, strict=True)):
                if mode == "c":
                    participants.append(handed(env, c, fire(n), 100.0))
                elif mode == "a":
                    take = driver.adopt(k, [k + 1, k + 2])
                    participants.append(adopting(env, c, fire(n), 100.0, take))
                else:
                    participants.append(clock_ticks(env, c, fire(n), 100.0))
            env.process(driver.run(participants))
        else:
            for n, c in clocks.items():
                env.process(run_clock(env, c, fire(n), 100.0))
        env.run(until=100.0)
        return seen

    separate, shared = record(False), record(True)
    assert len(separate) > 300
    assert shared == separate


@pytest.mark.parametrize("kind", ["integers", "uniforms"])
@pytest.mark.parametrize("rates", [np.full(40, 2.0), np.linspace(1.0, 3.0, 40), np.geomspace(0.01, 50.0, 40)])
def test_block_draws_give_every_tick_the_numbers_of_scalar_draws(rates, kind):
    """A clock's per-tick draws made for its whole block (``actors`` drawing a
    bounded integer per tick, or ``uniforms`` of which some ticks take one)
    equal the scalar draws a process would make from the same generator tick
    by tick, and leave the generator where those would."""
    sizes = np.arange(40) % 7 + 1  # a bounded integer per tick; size 1 draws nothing
    takes = np.random.default_rng(9).random(3 * 64) < 0.6  # which ticks draw a uniform
    scalar_rng = np.random.default_rng(4)
    scalar = AggregatedClock(rates, scalar_rng, block=64)
    expected = []
    for i in range(3 * 64):
        _, who = scalar.next()
        if kind == "integers":
            expected.append((who, int(scalar_rng.integers(sizes[who]))))
        else:
            expected.append((who, scalar_rng.random() if takes[i] else None))
    rng = np.random.default_rng(4)
    if kind == "integers":
        clock = AggregatedClock(
            rates, rng, block=64, actors=lambda picks: picks * 10 + rng.integers(0, sizes[picks])
        )
    else:
        clock = AggregatedClock(rates, rng, block=64, uniforms=True)
    got = []
    for b in range(3):
        _, picks = clock.block()
        for i, code in enumerate(picks):
            if kind == "integers":
                got.append((code // 10, code % 10))
            elif takes[b * 64 + i]:
                got.append((code, clock.uniforms[clock.used]))
                clock.used += 1
            else:
                got.append((code, None))
    assert got == expected
    # the next block starts where the scalar draws left the generator
    assert clock.block()[0] == scalar.block()[0]


@pytest.mark.parametrize(
    ("rates", "guided"),
    [
        (np.linspace(0.1, 9.0, 500) ** 4, False),
        (np.random.default_rng(4).lognormal(0.0, 1.5, 1000), True),
        # resources to a power, as campaign rates are: kawasaki-suffrage's kind
        (np.random.default_rng(5).lognormal(0.0, 1.0, 2304) ** 1.5, True),
        # many tiny rates crowd a slice: the binary search is kept
        (np.geomspace(1e-6, 10.0, 300), False),
        (np.concatenate([np.zeros(40), np.geomspace(0.01, 5.0, 200), np.zeros(7), [30.0]]), False),
    ],
)
def test_guided_search_finds_what_a_binary_search_finds(rates, guided):
    # drawing by inverse transform, the actor is found through a guide table:
    # the very index np.searchsorted gives, uniforms on a cumulative rate included
    clock = AggregatedClock(rates, np.random.default_rng(1))
    assert not clock._equal and not clock._reject
    assert (clock._guide is not None) == guided
    rng = np.random.default_rng(2)
    for _ in range(20):
        u = rng.random(4096) * clock.total
        u[:64] = clock._cum[rng.integers(0, clock.n, 64)]
        u[64:68] = (0.0, clock.total, np.nextafter(clock.total, 0.0), clock._cum[0])
        assert np.array_equal(clock._search(u), np.searchsorted(clock._cum, u, side="right"))
