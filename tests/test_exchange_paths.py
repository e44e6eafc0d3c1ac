"""The information exchange has two loops: one that tells listeners of every
contact (a trace, a handler) and a quiet one, used when nobody listens, that
handles successful contacts only. Both must leave the world exactly alike."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest

from normflow import Simulation, load_scenario
from normflow.bench import information_scenario
from normflow.events import CoalitionFormed, CoalitionJoined, InformationExchanged
from normflow.processes import information
from normflow.rng import Streams
from normflow.scenario import bundled_scenarios, scenario_from_dict
from normflow.world import World

STATE = ("group_info", "group_commitment", "coalition_info", "coalition_size", "lg_support")


def _run(scenario, seed: int, listen: bool):
    sim = Simulation(scenario, seed, autoload=False)
    heard: list[bool] = []
    coalitions: list[tuple[float, str]] = []
    if listen:
        sim.bus.subscribe(InformationExchanged, lambda e: heard.append(e.success))
    # coalition events are heard either way: they come at the same times in both loops
    sim.bus.subscribe(CoalitionFormed, lambda e: coalitions.append((e.t, e.coalition)))
    sim.bus.subscribe(CoalitionJoined, lambda e: coalitions.append((e.t, e.coalition)))
    result = sim.run()
    state = {name: np.array(getattr(sim.world, name)) for name in STATE}
    return state, dict(result.counts), heard, coalitions, sim.world.coalitions()


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(lambda: information_scenario(300, years=2.0), id="exchange-alone"),
        pytest.param(lambda: load_scenario("kitakyushu-dalian"), id="kitakyushu-dalian"),
        pytest.param(lambda: load_scenario("minimal"), id="minimal"),
        # three issues: each issue's groups are not one run of the population
        pytest.param(lambda: load_scenario("generic"), id="generic"),
        # the quiet loop fires the issue's sharing and campaigns itself (Driver.adopt),
        # the listened one leaves them to the driver: ~80,000 of them here
        pytest.param(lambda: load_scenario("kawasaki-suffrage"), id="kawasaki-suffrage"),
    ],
)
def test_quiet_loop_leaves_the_world_as_the_listened_loop(scenario):
    loud = _run(scenario(), 3, listen=True)
    quiet = _run(scenario(), 3, listen=False)
    for name in STATE:
        # bit for bit, not approximately: the same floats in the same order
        assert np.array_equal(loud[0][name], quiet[0][name]), name
    assert loud[1] == quiet[1]
    # the listened loop tells of every contact, failed ones included
    assert len(loud[2]) == loud[1]["information_exchanged"] > 0
    assert not all(loud[2])
    assert quiet[2] == []
    assert loud[3] == quiet[3]
    assert loud[4] == quiet[4]


def test_coalitions_cross_borders_in_the_quiet_loop():
    # the case has groups on both sides of a border: the quiet loop must form
    # coalitions (the path that calls back into the world) and count them
    _, counts, _, coalitions, named = _run(load_scenario("kitakyushu-dalian"), 1, listen=False)
    assert counts.get("coalition_formed", 0) > 0
    assert len(coalitions) == counts["coalition_formed"] + counts.get("coalition_joined", 0)
    assert named


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: load_scenario("kitakyushu-dalian"), id="kitakyushu-dalian"),
        pytest.param(lambda: load_scenario("generic"), id="generic"),
        pytest.param(lambda: information_scenario(300, years=1.0), id="exchange-alone"),
    ],
)
def test_compact_contact_book_draws_the_same_partners(make, monkeypatch):
    # the book keeps its indices in 32 bits (above SMALL groups: here all) and
    # skips lookups it can; the partners drawn must be the very ones of 64-bit
    # arrays and full lookups
    monkeypatch.setattr(information, "SMALL", 0)
    scenario = make()
    world = World(scenario, Streams(1)("world"))
    p = scenario.processes.information
    books = []
    for compact in (True, False):
        if not compact:
            monkeypatch.setattr(information, "_compact", lambda a: a)
        for issue in range(len(world.issues)):
            groups = np.flatnonzero(world.group_issue == issue)
            if len(groups) < 2:
                continue
            book = information.ContactBook(world, groups, p.tie_share, p.partner_share, p.local_share)
            if not compact:
                book.run = book.one_state = book.pool_run = False
            books.append((compact, issue, groups, book))
    drawn: dict[tuple[bool, int], list[np.ndarray]] = {}
    for compact, issue, groups, book in books:
        rng = np.random.default_rng(7)
        out = []
        for _ in range(5):
            k = rng.integers(0, len(groups), 4096)
            seeker, lg, partner = book.draw_all(k, rng)
            assert np.array_equal(seeker, groups[k])
            assert np.array_equal(lg, world.group_locality[groups[k]])
            out.append(partner)
        drawn[(compact, issue)] = out
    issues = {issue for _, issue in drawn}
    assert issues
    for issue in issues:
        for a, b in zip(drawn[(True, issue)], drawn[(False, issue)], strict=True):
            assert np.array_equal(a, b)
    # something was drawn: partners other than "none"
    assert any((x >= 0).any() for x in drawn[(True, min(issues))])
    assert books[0][3].loc.dtype == np.int32


@pytest.mark.parametrize(("groups", "width"), [(5_000, np.intp), (40_000, np.int16)])
def test_locality_clock_draws_what_the_plain_clock_draws(groups, width):
    # rates that depend on the locality alone, unequal (so the clock draws by
    # rejection), with groups that have no locality: the same gaps and actors
    # block after block, and the localities of the actors alongside; a small
    # population keeps its localities in numpy's index type and reads the
    # acceptances per actor, a large one keeps 16 bits (41 places) and reads them
    # per locality, the same values either way
    rng = np.random.default_rng(5)
    n_lg = 40
    openness = rng.random(n_lg)
    place = rng.integers(0, n_lg + 1, groups)  # n_lg: no locality
    by_place = 6.0 / 365.25 * (1.0 + 0.5 * np.append(openness, 0.0))
    rates = 6.0 / 365.25 * (1.0 + 0.5 * np.where(place < n_lg, openness[np.minimum(place, n_lg - 1)], 0.0))
    assert np.array_equal(rates, by_place[place])
    plain = information.AggregatedClock(rates, np.random.default_rng(11))
    local = information.LocalityClock(rates, np.random.default_rng(11), place, by_place)
    assert plain._reject and local._reject
    assert local._place.dtype == width
    # not read when drawing by locality (the per-actor acceptances: in a large population)
    assert len(local._cum) == 0
    assert len(local._keep) == (groups if width == np.intp else 0)
    for _ in range(6):
        gaps, picks = plain.draw()
        gaps_l, picks_l = local.draw()
        assert np.array_equal(gaps, gaps_l)
        assert np.array_equal(picks, picks_l)
        assert np.array_equal(local.places, place[picks])


def test_exchange_state_is_one_row_per_group():
    # information, commitment and pooled information side by side: a contact
    # fetches one row per group, and the gather ahead of the loop takes rows
    world = World(information_scenario(300, years=1.0), Streams(1)("world"))
    rows = world._exchange
    assert rows.shape == (len(world.group_ids), 4) and rows.flags.c_contiguous
    assert world.group_info.base is rows and world.group_info.strides == (32,)
    assert np.array_equal(world.coalition_info, world.group_info)  # pools start as the groups' own
    world.group_commitment[7] = 0.25
    world.coalition_info[7] = 2.5
    assert rows[7, 1:3].tolist() == [0.25, 2.5]
    held = information._held(world)
    assert len(held) == 1 and held[0] is rows
    # an array put in its place (a plugin may) is gathered as a column of its own
    world.group_info = world.group_info.copy()
    held = information._held(world)
    assert len(held) == 3 and held[0] is world.group_info and held[1] is world.group_commitment


@pytest.mark.parametrize("cache_bytes", [0, information.CACHE_BYTES])
def test_gathering_rows_ahead_changes_nothing(cache_bytes, monkeypatch):
    # CACHE_BYTES 0: every population gathers its contacts' rows in chunks, as
    # large ones do; the state after the run is the state without the gathers
    monkeypatch.setattr(information, "CACHE_BYTES", cache_bytes)
    quiet = _run(information_scenario(300, years=2.0), 3, listen=False)
    loud = _run(information_scenario(300, years=2.0), 3, listen=True)
    monkeypatch.setattr(information, "CACHE_BYTES", 1 << 40)
    plain = _run(information_scenario(300, years=2.0), 3, listen=False)
    for name in STATE:
        assert np.array_equal(quiet[0][name], plain[0][name]), name
        assert np.array_equal(loud[0][name], plain[0][name]), name
    assert quiet[1] == loud[1] == plain[1]


def _generic_alike(named_groups: bool = True):
    # the generic case without local sharing and campaigns: its two issues whose
    # groups are all alike take the quiet loop's fast path until the third issue
    # names a coalition (then the general loop, which finds the pools' roots);
    # without its named groups and ties all three are alike, name no coalition
    # and hand over to each other's exchange every few successes (short runs)
    data = tomllib.loads(bundled_scenarios()["generic"].read_text(encoding="utf-8"))
    processes = data.setdefault("processes", {})
    processes.setdefault("information", {})["lg_share_rate"] = 0.0
    processes.setdefault("accountability", {})["campaign_rate"] = 0.0
    if not named_groups:
        data["civil_society"].pop("groups", None)
        data.pop("ties", None)
    return scenario_from_dict(data, file="<generic without sharing and campaigns>")


@pytest.mark.parametrize(
    "make",
    [
        # (a block is 4,096 contacts; the first runs before the adopted clocks are known)
        pytest.param(lambda: information_scenario(300, years=10.0), id="exchange-alone-300"),
        pytest.param(lambda: information_scenario(2_000, years=2.0), id="exchange-alone-2000"),
        pytest.param(_generic_alike, id="generic-alike"),
        pytest.param(lambda: _generic_alike(named_groups=False), id="generic-all-alike"),
    ],
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_leaves_the_world_as_the_general_loop(make, seed, monkeypatch):
    # information.RUNS off: every success through the quiet loop's general path
    fast = _run(make(), seed, listen=False)
    monkeypatch.setattr(information, "RUNS", False)
    general = _run(make(), seed, listen=False)
    # runs cut short at every hand-over: the fallback to the general loop mid-block
    monkeypatch.setattr(information, "RUNS", True)
    monkeypatch.setattr(information, "RUN", 1 << 20)
    mixed = _run(make(), seed, listen=False)
    for name in STATE:
        assert np.array_equal(fast[0][name], general[0][name]), name
        assert np.array_equal(mixed[0][name], general[0][name]), name
    assert fast[1] == general[1] == mixed[1]
    assert fast[1]["information_exchanged"] > 0
    assert fast[3] == general[3] == mixed[3]
    assert fast[4] == general[4] == mixed[4]


def test_fast_path_leaves_pools_to_the_general_loop_once_a_coalition_is_named(monkeypatch):
    # a process of its own (as a plugin may) joins two groups of the alike issue
    # into a coalition mid-run: from then on a group's pool is its root's, which
    # the fast path does not look up, so it hands the successes to the general loop
    def run() -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
        sim = Simulation(information_scenario(300, years=10.0), 1, autoload=False)

        def merger():
            yield sim.env.timeout(400.0)
            sim.world.merge(0, 1)

        sim.env.process(merger())
        counts = dict(sim.run().counts)
        return sim.world.coalition_info.copy(), sim.world.group_info.copy(), counts

    fast = run()
    monkeypatch.setattr(information, "RUNS", False)
    general = run()
    assert np.array_equal(fast[0], general[0])
    assert np.array_equal(fast[1], general[1])
    assert fast[2] == general[2]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_fast_path_traces_what_the_general_loop_traces(fmt, tmp_path, monkeypatch):
    # a trace takes the block's rows as columns and the loop hands over at each
    # block's last tick: the fast path must keep every row in its place
    def traced(name: str) -> bytes:
        path = tmp_path / f"{name}.{fmt}"
        Simulation(information_scenario(300, years=10.0), 2, autoload=False, trace=path).run()
        files = [path] if path.is_file() else sorted(path.iterdir())
        return b"".join(f.read_bytes() for f in files if fmt == "jsonl" or f.suffix == ".parquet")

    fast = traced("fast")
    monkeypatch.setattr(information, "RUNS", False)
    assert traced("general") == fast


def test_fast_path_is_taken_where_its_conditions_hold(monkeypatch):
    # the conditions the comparison above relies on: the exchange-alone issue's
    # groups are all alike and it adopts no clock (no sharing, no campaigns), so
    # the fast path runs; a run with it off draws and ends alike (above) but
    # handles its successes in the general loop only
    scenario = information_scenario(300, years=10.0)
    sim = Simulation(scenario, 1, autoload=False)
    members = np.flatnonzero(sim.world.group_issue == 0)
    assert information._kinds(sim.world, members) is None
    taken: list[int] = []
    real = information._run_end
    monkeypatch.setattr(information, "_run_end", lambda *a: taken.append(1) or real(*a))
    sim.run()
    assert len(taken) > 10
    taken.clear()
    monkeypatch.setattr(information, "RUNS", False)
    Simulation(scenario, 1, autoload=False).run()
    assert taken == []


def test_bounded_draws_are_numpys():
    # information._below (and _below_some) against Generator.integers(0, high): the same numbers and
    # the generator left in the same state (the next draws of every kind agree),
    # whether or not a 32-bit half is waiting, with bounds small (a contact book's)
    # and large (where numpy may redraw, and _below leaves the block to numpy)
    for seed in range(400):
        sizes = np.random.default_rng(seed + 1000)
        n = int(sizes.integers(1, 40))
        high = sizes.integers(2, 30 if seed % 2 else 2**31, n, endpoint=True).astype(
            np.int32 if seed % 2 else np.int64
        )
        ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        waiting = seed % 3  # an odd count of 32-bit draws leaves a half waiting
        if waiting:
            ours.integers(0, np.full(waiting, 7))
            theirs.integers(0, np.full(waiting, 7))
        drawn = information._below(ours, high)
        assert drawn.dtype == np.int64
        assert np.array_equal(drawn, theirs.integers(0, high))
        assert ours.bit_generator.state == theirs.bit_generator.state
        assert np.array_equal(ours.integers(0, high), theirs.integers(0, high))
        assert ours.random() == theirs.random()
        assert np.array_equal(ours.integers(0, 9, 3), theirs.integers(0, 9, 3))
        # bounds from 1 (local sharing's localities with one group): a bound of 1
        # takes nothing from the stream, in numpy and in _below_some
        high[sizes.random(n) < 0.4] = 1
        drawn = information._below_some(ours, high)
        assert np.array_equal(drawn, theirs.integers(0, high))
        assert ours.bit_generator.state == theirs.bit_generator.state
        assert ours.random() == theirs.random()
    other = np.random.Generator(np.random.MT19937(3))  # not PCG64: numpy's own draws
    assert np.array_equal(
        information._below(other, np.array([5, 9])),
        np.random.Generator(np.random.MT19937(3)).integers(0, [5, 9]),
    )
