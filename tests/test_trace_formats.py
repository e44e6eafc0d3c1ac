"""Both trace formats say the same thing: the JSON Lines trace is byte for
byte what ``json`` gives for each event, and the Parquet trace reads back
into exactly the same events, in the same order."""

from __future__ import annotations

import json

import pytest

from normflow import Simulation, load_scenario
from normflow.trace import read_trace


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    out = tmp_path_factory.mktemp("traces")
    scenario = load_scenario("minimal")
    Simulation(scenario, 5, trace=out / "run.jsonl", autoload=False).run()
    Simulation(scenario, 5, trace=out / "run.parquet", autoload=False).run()
    Simulation(scenario, 5, trace=out / "again.parquet", autoload=False).run()
    return out


def test_jsonl_lines_are_what_json_writes(traces):
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    lines = (traces / "run.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) > 1000
    assert all(encode(json.loads(line)) + "\n" == line for line in lines)


def test_parquet_trace_reads_back_as_the_jsonl_trace(traces):
    jsonl = read_trace(traces / "run.jsonl")
    parquet = read_trace(traces / "run.parquet")
    assert parquet == jsonl
    assert {x["kind"] for x in parquet} >= {"information_exchanged", "coalition_formed", "trace_end"}


def test_parquet_trace_is_reproducible(traces):
    assert read_trace(traces / "again.parquet") == read_trace(traces / "run.parquet")


def test_parquet_trace_has_one_file_per_kind_with_sequence_numbers(traces):
    import pyarrow.parquet as pq

    table = pq.read_table(traces / "run.parquet" / "information_exchanged.parquet")
    assert table.column_names[:2] == ["seq", "t"] and "date" in table.column_names
    seq = table.column("seq").to_numpy()
    assert (seq[1:] > seq[:-1]).all()
