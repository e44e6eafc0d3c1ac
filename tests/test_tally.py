"""Counts kept aside (normflow.simulation.Tally): whatever code other than the
counting itself reads ``sim.tally`` -- a pressure modifier or handler, a
listener, a plugin's process, a metric, the run's end, the code that catches
a plugin's error -- sees exactly what an increment each would have given it,
values and the order of the keys alike.

The reference is the same run with ``Tally.KEEP_ASIDE`` off, in which every
count goes straight into the dictionary."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import normflow
from normflow import events, hookimpl
from normflow.simulation import KEPT_MOST, Tally

#: The kinds counted aside, as the processes count them
KEPT = ("campaign", "access_blocked", "information_shared")


class Watcher:
    """A plugin that records ``list(sim.tally.items())`` wherever it runs: at
    every call of its pressure modifier, at every event of ``hears`` it is
    handed, every ``every`` days in a process of its own, and in a metric at
    the run's end. ``fail`` raises ZeroDivisionError in the modifier's call
    of that number, or in the process at that day (``fail_in``)."""

    normflow_plugin_name = "watcher"

    def __init__(self, hears: tuple[type, ...] = (), every: float | None = None, fail: float | None = None):
        self.hears = hears
        self.every = every
        self.fail = fail
        self.fail_in = "modifier"
        self.seen: list[tuple[str, float, list[tuple[str, int]]]] = []
        self.calls = 0

    def record(self, where: str) -> None:
        self.seen.append((where, self.sim.env.now, list(self.sim.tally.items())))

    @hookimpl
    def normflow_register_modifiers(self, sim, register):
        self.sim = sim
        register("pressure", self.weigh)

    @hookimpl
    def normflow_register_handlers(self, sim, register):
        for kind in self.hears:
            register(kind, lambda event: self.record(type(event).__name__))

    @hookimpl
    def normflow_register_processes(self, sim, register):
        if self.every is None:
            return

        def look():
            env = sim.env
            while env.now + self.every <= sim.horizon:
                yield env.timeout(self.every)
                self.record("process")
                if self.fail_in == "process" and self.fail is not None and env.now >= self.fail:
                    raise ZeroDivisionError("look")

        register("look", look)

    @hookimpl
    def normflow_register_metrics(self, sim, register):
        register("seen", lambda: self.record("metric") or len(self.seen))

    def weigh(self, amount, source, target, issue, channel):
        self.calls += 1
        self.record("modifier")
        if self.fail_in == "modifier" and self.fail is not None and self.calls >= self.fail:
            raise ZeroDivisionError("weigh")
        return amount


def watched(
    monkeypatch: pytest.MonkeyPatch,
    scenario: str,
    seed: int,
    keep_aside: bool,
    trace: Any = None,
    fail_in: str = "modifier",
    **watcher: Any,
) -> tuple[Watcher, list[tuple[str, int]], dict[str, int]]:
    """One run with a watcher: what it saw, the tally at the end (or where a
    plugin's error stopped the run), and the most counts any settle added."""
    monkeypatch.setattr(Tally, "KEEP_ASIDE", keep_aside)
    most: dict[str, int] = {}
    settle = Tally.settle

    def settle_and_measure(self: Tally) -> None:
        for kind, counts, added in self._kept:
            most[kind] = max(most.get(kind, 0), len(counts) - added)
        settle(self)

    monkeypatch.setattr(Tally, "settle", settle_and_measure)
    w = Watcher(**watcher)
    w.fail_in = fail_in
    sim = normflow.Simulation(normflow.load_scenario(scenario), seed, plugins=[w], trace=trace)
    try:
        sim.run()
    except normflow.PluginRunError:
        pass
    return w, list(sim.tally.items()), most


def same_as_increments(monkeypatch: pytest.MonkeyPatch, scenario: str, seed: int, **kw: Any) -> Watcher:
    """Runs ``scenario`` twice (counts kept aside, and an increment each) and
    checks that the watcher saw the same tallies at the same moments."""
    kept, kept_end, most = watched(monkeypatch, scenario, seed, True, **kw)
    each, each_end, none = watched(monkeypatch, scenario, seed, False, **kw)
    assert kept.seen == each.seen
    assert kept_end == each_end
    # the reference run kept nothing aside; this one did, and settled it
    assert not any(none.values())
    assert any(most.get(kind, 0) > 0 for kind in KEPT)
    return kept


# everything the run publishes but the contacts (heard one by one, they turn
# the exchange's quiet loop off; the test with a trace covers them)
LOUD = tuple(cls for cls in vars(events).values() if isinstance(cls, type) and issubclass(cls, events.Event))
QUIET_HEARS = (events.CoalitionFormed, events.PressureApplied)


@pytest.mark.parametrize(
    ("scenario", "hears"),
    [
        ("kawasaki-suffrage", QUIET_HEARS),
        # blocked attempts and sharings heard one by one, public support not
        ("generic", (*QUIET_HEARS, events.AccessBlocked, events.InformationShared)),
    ],
)
def test_quiet_runs_read_the_tally_as_increments_give_it(monkeypatch, scenario, hears):
    # nobody hears a campaign (or a blocked attempt, or a sharing): it is counted
    # aside in the quiet loop, between contacts, and read by the modifier
    # (apply_pressure), the listeners, SimPy's other processes and the run's end
    w = same_as_increments(monkeypatch, scenario, 1, hears=hears, every=7.0)
    where = {x[0] for x in w.seen}
    assert {"modifier", "CoalitionFormed", "PressureApplied", "process", "metric"} <= where
    assert {cls.__name__ for cls in hears} <= where


def test_a_run_heard_throughout_reads_the_tally_as_increments_give_it(monkeypatch, tmp_path):
    # every event heard (the contacts too: the exchange's loop for listeners,
    # the sharing and campaigns run by the driver), and a trace
    w = same_as_increments(
        monkeypatch, "minimal", 3, hears=(events.Event,), every=30.0, trace=tmp_path / "t.jsonl"
    )
    where = {x[0] for x in w.seen}
    assert {"InformationExchanged", "InformationShared", "AccessBlocked", "PublicSupportChanged"} <= where


@pytest.mark.parametrize("fail_in", ["modifier", "process"])
def test_a_plugin_error_leaves_the_counts_an_increment_each_would_leave(monkeypatch, fail_in):
    # the modifier raises in its 40th call, or the process on its first look after day 900:
    # the tally then holds what it would hold had every count gone straight in
    fail = 40 if fail_in == "modifier" else 900.0
    w = same_as_increments(monkeypatch, "kawasaki-suffrage", 2, every=11.0, fail=fail, fail_in=fail_in)
    assert w.seen[-1][0] == fail_in  # the run stopped where the plugin raised


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**16), scenario=st.sampled_from(["minimal", "generic", "kitakyushu-dalian"]))
def test_any_seed_reads_the_tally_as_increments_give_it(seed, scenario):
    with pytest.MonkeyPatch.context() as monkeypatch:
        kept, kept_end, _ = watched(monkeypatch, scenario, seed, True, hears=QUIET_HEARS, every=5.0)
        each, each_end, _ = watched(monkeypatch, scenario, seed, False, hears=QUIET_HEARS, every=5.0)
    assert kept.seen == each.seen
    assert kept_end == each_end


def test_settle_adds_what_was_kept_aside_and_keeps_the_first_count_in_place():
    tally = Tally()
    counted = tally.kept("campaign")
    assert tally.kept("campaign") is counted and counted == []
    tally["earlier"] += 1
    tally.first("campaign")  # the kind's first count: straight in, after "earlier"
    tally["later"] += 1
    assert list(tally.items()) == [("earlier", 1), ("campaign", 1), ("later", 1)]
    for _ in range(5):
        counted.append(None)
    assert tally["campaign"] == 1  # kept aside until settled
    tally.settle()
    assert list(tally.items()) == [("earlier", 1), ("campaign", 6), ("later", 1)]
    tally.settle()  # nothing new: nothing added
    assert tally["campaign"] == 6
    # a long list is emptied but for the entry that stands for the first count
    counted.extend([None] * (KEPT_MOST + 1))
    tally.settle()
    assert tally["campaign"] == 6 + KEPT_MOST + 1 and len(counted) == 1
    counted.append(None)
    tally.settle()
    assert tally["campaign"] == 6 + KEPT_MOST + 2


def test_with_keep_aside_off_every_count_goes_straight_in(monkeypatch):
    monkeypatch.setattr(Tally, "KEEP_ASIDE", False)
    tally = Tally()
    counted = tally.kept("campaign")
    tally.first("campaign")
    tally.first("campaign")
    assert counted == [] and tally["campaign"] == 2


def test_an_error_inside_a_turn_leaves_the_counts_an_increment_each_would_leave(monkeypatch):
    # not a plugin's: the engine's own code fails in the middle of the exchange's
    # turn (the adopted clocks' 20th block), with counts kept aside since the last settle
    from normflow.clocks import AggregatedClock

    block = AggregatedClock.block
    ends = []
    for keep_aside in (True, False):
        monkeypatch.setattr(Tally, "KEEP_ASIDE", keep_aside)
        calls = [0]

        def failing(self, calls=calls):
            calls[0] += 1
            if calls[0] == 20:
                raise RuntimeError("block")
            return block(self)

        monkeypatch.setattr(AggregatedClock, "block", failing)
        sim = normflow.Simulation(normflow.load_scenario("kawasaki-suffrage"), 1)
        kept = sim.tally.kept("campaign")
        with pytest.raises(RuntimeError, match="block"):
            sim.run()
        ends.append((list(sim.tally.items()), len(kept)))
    (kept_end, kept_entries), (each_end, _) = ends
    assert kept_end == each_end
    assert kept_entries > 1  # the run did keep counts aside before it failed
