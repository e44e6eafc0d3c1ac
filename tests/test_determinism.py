"""Same scenario and seed give the same trace, byte for byte; another seed another."""

from __future__ import annotations

from normflow import Simulation, load_scenario


def _trace(tmp_path, seed, name):
    path = tmp_path / name
    Simulation(load_scenario("minimal"), seed, trace=path, autoload=False).run()
    return path.read_bytes()


def test_same_seed_gives_byte_identical_traces(tmp_path):
    assert _trace(tmp_path, 7, "a.jsonl") == _trace(tmp_path, 7, "b.jsonl")


def test_another_seed_gives_another_trace(tmp_path):
    assert _trace(tmp_path, 7, "a.jsonl") != _trace(tmp_path, 8, "b.jsonl")


def test_summary_is_identical_for_the_same_seed():
    a = Simulation(load_scenario("minimal"), 3, autoload=False).run().to_dict()
    b = Simulation(load_scenario("minimal"), 3, autoload=False).run().to_dict()
    assert a == b


def test_named_streams_do_not_shift_each_other():
    from normflow import Streams

    one = Streams(11)
    first = one("information.x").random(3)
    two = Streams(11)
    two("a-new-stream").random(100)  # drawing elsewhere first changes nothing
    assert (two("information.x").random(3) == first).all()
