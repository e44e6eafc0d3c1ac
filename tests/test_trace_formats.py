"""Both trace formats say the same thing: the JSON Lines trace is byte for
byte what ``json`` gives for each event, and the Parquet trace reads back
into exactly the same events, in the same order."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from normflow import NormflowDeprecationWarning, Simulation, load_scenario
from normflow.testing import examples
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


def test_both_formats_leave_out_the_kinds_asked_and_only_those(traces):
    full = read_trace(traces / "run.jsonl")
    skip = {"information_exchanged", "public_support_changed"}
    assert {x["kind"] for x in full} >= skip
    kept = [x for x in full if x["kind"] not in skip]
    assert read_trace(traces / "run.jsonl", skip=skip) == kept
    assert read_trace(traces / "run.parquet", skip=skip) == kept


def test_parquet_trace_is_reproducible(traces):
    assert read_trace(traces / "again.parquet") == read_trace(traces / "run.parquet")


def test_parquet_trace_has_one_file_per_kind_with_sequence_numbers(traces):
    import pyarrow.parquet as pq

    table = pq.read_table(traces / "run.parquet" / "information_exchanged.parquet")
    assert table.column_names[:2] == ["seq", "t"] and "date" in table.column_names
    seq = table.column("seq").to_numpy()
    assert (seq[1:] > seq[:-1]).all()


def test_parquet_trace_is_plain_parquet_readable_without_normflow(traces):
    """Each kind's file reads with pandas.read_parquet, the directory with
    pyarrow.dataset, in a Python that never imports normflow; header and end
    record travel inside the files (no sibling file breaks a reader)."""
    import subprocess
    import sys

    directory = traces / "run.parquet"
    assert sorted(p.suffix for p in directory.iterdir()) == [".parquet"] * len(list(directory.iterdir()))
    code = f"""
import glob, json, sys
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
files = sorted(glob.glob({str(directory / "*.parquet")!r}))
frames = {{f: pd.read_parquet(f) for f in files}}
rows = sum(len(df) for df in frames.values())
schema = pa.unify_schemas([pq.read_schema(f) for f in files])
table = ds.dataset({str(directory)!r}, format="parquet", schema=schema).to_table()
meta = json.loads(pq.read_metadata(files[0]).metadata[b"normflow.trace"])
print(json.dumps({{"rows": rows, "dataset": table.num_rows, "kinds": sorted(set(table.column("kind").to_pylist())),
                  "end": meta["end"], "scenario": meta["header"]["scenario"],
                  "normflow": any(m.startswith("normflow") for m in sys.modules)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(done.stdout)
    events = read_trace(directory)[1:-1]
    assert got["rows"] == got["dataset"] == len(events)
    assert got["kinds"] == sorted({e["kind"] for e in events})
    assert got["end"]["complete"] is True and got["scenario"] == "minimal"
    assert got["normflow"] is False


def test_parquet_trace_of_a_run_with_no_event_still_carries_its_metadata(tmp_path):
    import datetime as dt

    from normflow.trace import ParquetTrace

    trace = ParquetTrace(tmp_path / "t.parquet", dt.date(2000, 1, 1), header={"scenario": "none"})
    trace.close(complete=False, error="stopped", t=0.0)
    lines = read_trace(tmp_path / "t.parquet")
    assert lines[0]["scenario"] == "none"
    assert lines[-1] == {"kind": "trace_end", "complete": False, "t": 0.0, "error": "stopped"}


def test_float_fields_and_coded_rows_write_what_json_writes(tmp_path):
    """Floats in every range (the fast writer covers 1e-4 <= x < 1e16, repr the
    rest, json's spelling for inf and nan) and rows given by actor codes read
    back as the lines ``json`` writes for the same values."""
    import datetime as dt
    import math

    from normflow.events import InformationExchanged, PublicSupportChanged
    from normflow.trace import JsonlTrace

    values = [0.0, -0.0, 1e-7, 9.99e-5, 1e-4, 0.1 + 0.2, 1 / 3, 12345.678901234567, 9999999999999998.0]
    values += [1e16, 1.5e17, -2.5, math.inf, -math.inf, math.nan]
    trace = JsonlTrace(tmp_path / "t.jsonl", dt.date(2000, 1, 1))
    support = trace.row_writer(PublicSupportChanged)
    for i, x in enumerate(values):
        support(float(i), "japan", "suffrage", x)
    ids, venues = ["g-1", 'g-\u00e9"2'], ["v-1"]
    with pytest.warns(NormflowDeprecationWarning, match="JsonlTrace.coded_writer is deprecated"):
        coded = trace.coded_writer(InformationExchanged, {"source": ids, "target": ids, "venue": venues})
    plain = trace.row_writer(InformationExchanged)
    for t, g, h, v, ok in [(20.5, 0, 1, -1, True), (21.25, 1, 0, 0, False)]:
        coded(t, g, h, "suffrage", v, ok)
        plain(t, ids[g], ids[h], "suffrage", None if v < 0 else venues[v], ok)
    trace.close()
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    lines = (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()
    rows = lines[1 : 1 + len(values)]
    assert [line.split(',"support":')[1].split(",")[0] for line in rows] == [encode(x) for x in values]
    assert lines[-5] == lines[-4] and lines[-3] == lines[-2]
    assert json.loads(lines[-5])["venue"] is None and json.loads(lines[-3])["target"] == ids[0]


def test_cause_ids_write_what_json_writes(tmp_path):
    """The ``causes`` of an event (a tuple of integers, written by orjson when
    it holds nothing but integers) are the text ``json`` writes, whatever the
    tuple holds."""
    import datetime as dt

    from normflow.events import AccessBlocked
    from normflow.trace import JsonlTrace

    causes = [
        (),
        (7,),
        (1, 22, 333),
        (-4, 0, 2**63 - 1),
        (2**64,),
        (-(2**70), 5),
        (True, 1),
        (1.5, 2),
        (None,),
    ]
    trace = JsonlTrace(tmp_path / "t.jsonl", dt.date(2000, 1, 1))
    blocked = trace.row_writer(AccessBlocked)
    for i, c in enumerate(causes):
        blocked(float(i), "g-1", "japan", "suffrage", "domestic", i, c)
        trace(AccessBlocked(t=float(i), group="g-1", state="japan", issue="suffrage", channel="x", causes=c))
    assert trace.lines == 1 + 2 * len(causes)  # header and rows, counted in the file when asked
    trace.close()
    assert trace.lines == 2 + 2 * len(causes)
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    lines = (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()[1:-1]
    written = [line.split(',"causes":')[1].split(',"date"')[0] for line in lines]
    assert written == [encode(c) for c in causes for _ in (0, 1)]
    assert all(encode(json.loads(line)) == line for line in lines)


@pytest.mark.parametrize("case", ["niigata-harbin"])
def test_both_formats_of_a_bundled_case_hold_the_same_records(tmp_path, case):
    """A whole bundled case with its plugins (cause ids, declared kinds, every
    writer path: objects, rows, coded rows, columns): the Parquet trace reads
    back as exactly the records of the JSON Lines trace, in the same order."""
    scenario = load_scenario(case)
    Simulation(scenario, 3, trace=tmp_path / "run.jsonl").run()
    Simulation(scenario, 3, trace=tmp_path / "run.parquet").run()
    jsonl = read_trace(tmp_path / "run.jsonl")
    assert len(jsonl) > 1000
    assert any(x.get("causes") for x in jsonl)  # cause ids are there to compare
    assert read_trace(tmp_path / "run.parquet") == jsonl


@pytest.mark.parametrize("case", ["kitakyushu-dalian", "generic"])
def test_traces_written_in_blocks_read_back_as_traces_written_event_by_event(tmp_path, case):
    """A trace alone takes the contacts a block at a time (``Bus.direct_blocks``);
    with another sink that wants event objects, every event is published one by
    one, as before blocks. Both ways give the same JSON Lines bytes and the
    same Parquet rows with the same sequence numbers (a case with coalitions
    formed across borders, and one with three issues' exchanges interleaved)."""
    import pyarrow.parquet as pq

    scenario = load_scenario(case)
    for fmt in ("jsonl", "parquet"):
        Simulation(scenario, 2, trace=tmp_path / f"blocks.{fmt}").run()
        # an object-taking sink beside the trace: no block or row writer is used
        Simulation(scenario, 2, trace=tmp_path / f"events.{fmt}", keep_events=True).run()
    blocks = (tmp_path / "blocks.jsonl").read_bytes()
    assert blocks == (tmp_path / "events.jsonl").read_bytes()
    assert blocks.count(b'"kind":"information_exchanged"') > 1000
    files = sorted(p.name for p in (tmp_path / "blocks.parquet").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "events.parquet").iterdir())
    for name in files:
        new = pq.read_table(tmp_path / "blocks.parquet" / name).to_pylist()
        old = pq.read_table(tmp_path / "events.parquet" / name).to_pylist()
        assert new == old, name
    assert read_trace(tmp_path / "blocks.parquet") == read_trace(tmp_path / "blocks.jsonl")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_block_rows_take_their_place_by_time_among_rows_written_one_by_one(tmp_path, fmt):
    """Contacts given ahead in a block go before the first event traced after
    them in time; an event that comes with an earlier time than the one
    before it keeps its place in the order events came (distinct numbers)."""
    import datetime as dt

    import numpy as np

    from normflow.events import InformationExchanged, PublicSupportChanged
    from normflow.trace import open_trace

    trace = open_trace(tmp_path / f"t.{fmt}", dt.date(2000, 1, 1), header={"scenario": "none"})
    ids = ["g-1", "g-2"]
    block = trace.block_writer(InformationExchanged, {"source": ids, "target": ids, "venue": ["v"]})
    support = trace.row_writer(PublicSupportChanged)
    block.start(
        t=np.array([1.0, 2.0, 3.0, 4.0]),
        source=np.array([0, 1, 0, 1]),
        target=np.array([1, 0, 1, 0]),
        issue="suffrage",
        venue=np.array([0, -1, 0, -1]),
        success=np.array([True, False, True, False]),
    )
    support(2.5, "japan", "suffrage", 0.25)
    support(1.5, "japan", "suffrage", 0.5)  # earlier than the event before it
    block.through(3.5)
    support(3.75, "japan", "suffrage", 0.75)
    block.finish(4)
    trace.close()
    rows = read_trace(tmp_path / f"t.{fmt}")[1:-1]
    assert [(r["kind"][:6], r["t"]) for r in rows] == [
        ("inform", 1.0),
        ("inform", 2.0),
        ("public", 2.5),
        ("public", 1.5),
        ("inform", 3.0),
        ("public", 3.75),
        ("inform", 4.0),
    ]
    assert rows[1]["venue"] is None and rows[0]["venue"] == "v" and rows[4]["success"] is True


def test_old_trace_writers_still_write_and_warn_that_they_are_deprecated(tmp_path):
    """The writers that block writers replaced (nothing in normflow calls them)
    keep working for one minor release, and each use says what replaces it."""
    import datetime as dt

    import numpy as np

    from normflow.bus import Bus
    from normflow.events import InformationExchanged
    from normflow.trace import JsonlTrace, ParquetTrace

    ids = ["g-1", "g-2"]
    labels = {"source": ids, "target": ids, "venue": ["v"]}
    columns = {
        "t": np.array([1.5, 2.5]),
        "source": np.array([0, 1]),
        "target": np.array([1, 0]),
        "issue": "suffrage",
        "venue": np.array([-1, 0]),
        "success": np.array([True, False]),
    }
    # Parquet: reserve, column_writer, and the bus's direct_columns
    trace = ParquetTrace(tmp_path / "t.parquet", dt.date(2000, 1, 1))
    bus = Bus()
    bus.add_sink(trace)
    bus.freeze()
    with pytest.warns(
        NormflowDeprecationWarning, match="ParquetTrace.column_writer is deprecated.*block_writer"
    ):
        write = trace.column_writer(InformationExchanged, labels)
    with pytest.warns(NormflowDeprecationWarning, match="Bus.direct_columns is deprecated.*direct_blocks"):
        direct = bus.direct_columns(InformationExchanged, labels)
    with pytest.warns(NormflowDeprecationWarning, match="ParquetTrace.reserve is deprecated"):
        first = trace.reserve(2)
    write(seq=np.arange(first, first + 2), **columns)
    direct(**{**columns, "t": columns["t"] + 10})
    trace.close()
    rows = read_trace(tmp_path / "t.parquet")[1:-1]
    assert [(r["t"], r["source"], r["venue"], r["success"]) for r in rows] == [
        (1.5, "g-1", None, True),
        (2.5, "g-2", "v", False),
        (11.5, "g-1", None, True),
        (12.5, "g-2", "v", False),
    ]
    # JSON Lines: the bus's direct_coded (coded_writer is above)
    trace = JsonlTrace(tmp_path / "t.jsonl", dt.date(2000, 1, 1))
    bus = Bus()
    bus.add_sink(trace)
    bus.freeze()
    with pytest.warns(NormflowDeprecationWarning, match="Bus.direct_coded is deprecated.*direct_blocks"):
        coded = bus.direct_coded(InformationExchanged, labels)
    coded(3.25, 1, 0, "suffrage", 0, True)
    trace.close()
    assert read_trace(tmp_path / "t.jsonl")[1]["source"] == "g-2"


def test_rows_given_by_values_are_the_lines_of_the_same_events(tmp_path, monkeypatch):
    """A JSON Lines row writer keeps its rows as columns and formats them a
    column at a time when they are written; each line is still the one the
    event object gives, whatever the values (numpy scalars, integers in a
    float field, null, text to escape, integers beyond 64 bits), in the order
    the rows and events came, also when many are held back."""
    import datetime as dt

    import numpy as np

    import normflow.trace as trace_module
    from normflow.events import CoalitionJoined, InformationExchanged, PressureApplied
    from normflow.trace import JsonlTrace

    monkeypatch.setattr(trace_module, "HOLD", 7)  # rows written in several turns
    amounts = [0.5, 3, np.float64(0.25), 1e-7, 2.5e16, -1.0, float("nan"), True, None]
    names = ["g-1", 'g-\u00e9"2\n', None, np.str_("g-3"), "\u2028"]
    trace = JsonlTrace(tmp_path / "t.jsonl", dt.date(2000, 1, 1))
    pressure = trace.row_writer(PressureApplied)
    contact = trace.row_writer(InformationExchanged)
    joined = trace.row_writer(CoalitionJoined)
    import attrs

    made = []
    for i, amount in enumerate(amounts):
        t = 10.0 * i + 0.5
        base = {"t": t, "issue": "suffrage"}
        pressed = {**base, "source": "g-1", "target": "japan", "channel": "domestic", "nature": "moral"}
        for cls, values, write in [
            (PressureApplied, {**pressed, "amount": amount, "id": i, "causes": (i, 2**64)}, pressure),
            (PressureApplied, {**pressed, "amount": 0.5, "id": i, "causes": (i, True)}, pressure),
            (
                InformationExchanged,
                {
                    **base,
                    "source": "g-1",
                    "target": names[i % 5],
                    "venue": names[(i + 2) % 5],
                    "success": i % 2 == 0,
                },
                contact,
            ),
            (
                InformationExchanged,
                {**base, "source": "g-1", "target": "g-2", "venue": None, "success": [True, 1, None][i % 3]},
                contact,
            ),
            (
                CoalitionJoined,
                {
                    **base,
                    "coalition": "c-1",
                    "joiner": "g-2",
                    "size": [i, True, 2**70, 3.5][i % 4],
                    "crossing": "b",
                },
                joined,
            ),
        ]:
            event = cls(**values)
            write(*(values[f.name] for f in attrs.fields(cls)))
            made.append(event)
            trace(event)  # the same event as an object, right after
    trace.close()
    lines = (tmp_path / "t.jsonl").read_bytes().splitlines()[1:-1]
    assert len(lines) == 2 * len(made)
    assert lines[0::2] == lines[1::2]
    assert [json.loads(line)["t"] for line in lines[0::2]] == [e.t for e in made]


@examples(ci=100, thorough=2000)
@given(
    values=st.lists(st.floats(min_value=1e-4, max_value=1e16, exclude_max=True), min_size=1, max_size=60),
    step=st.integers(min_value=1, max_value=3),
)
def test_a_block_of_floats_is_written_as_repr_writes_each(values, step):
    """A block's float column (times, amounts) written by one orjson call on
    the array, strided arrays included, gives each value's ``repr``; an array
    with a value outside 1e-4..1e16 is left to the writer one by one."""
    import numpy as np

    from normflow.trace import _fast_floats, _float_texts

    _fast_floats()
    array = np.array(values * step)[::step]
    assert _float_texts(array) == [repr(x).encode() for x in array.tolist()]
    assert _float_texts(np.append(array, 1e16)) is None
    assert _float_texts(np.append(array, 9.99e-5)) is None


_TEXT = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["g-1", "japan", "\u00e9t\u00e9"]))


@examples(ci=150, thorough=3000)
@given(
    column=st.one_of(
        st.tuples(st.just("string"), st.lists(_TEXT, max_size=30)),
        st.tuples(st.just("double"), st.lists(st.floats(allow_nan=False), min_size=1, max_size=30)),
        st.tuples(
            st.just("double"), st.lists(st.one_of(st.floats(allow_nan=False), st.integers(-5, 5)), min_size=1)
        ),
        st.tuples(st.just("int64"), st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=30)),
        st.tuples(st.just("bool"), st.lists(st.booleans(), min_size=1, max_size=30)),
        st.tuples(
            st.just("list<int64>"),
            st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1)) | st.just(()), max_size=30),
        ),
        st.tuples(st.just("list<string>"), st.lists(st.lists(_TEXT, max_size=3).map(tuple), max_size=10)),
        st.tuples(st.just("int64"), st.just([2**70, 1])),
    )
)
def test_parquet_columns_made_from_buffers_are_the_arrays_pyarrow_makes(column):
    """The Parquet trace makes its columns from buffers (``pa.array`` would
    import pandas): the same arrays as ``pa.array`` for text with nulls and
    non-ASCII characters, floats, integers, flags and cause ids, and for a
    column with values of another type (which go through ``pa.array``)."""
    import pyarrow as pa

    from normflow.trace import _arrow_of_list

    kinds = {
        "string": pa.string(),
        "double": pa.float64(),
        "int64": pa.int64(),
        "bool": pa.bool_(),
        "list<int64>": pa.list_(pa.int64()),
        "list<string>": pa.list_(pa.string()),
    }
    name, values = column
    try:
        expected = pa.array(values, kinds[name])
    except OverflowError:  # an integer beyond 64 bits: the same error
        with pytest.raises(OverflowError):
            _arrow_of_list(values, kinds[name])
        return
    made = _arrow_of_list(values, kinds[name])
    made.validate(full=True)
    assert made.equals(expected)


def test_a_parquet_float_column_made_from_buffers_keeps_nan_and_infinities():
    """NaN never equals itself, so the comparison above leaves it out: here the
    bits of NaN and the infinities are checked as they are kept."""
    import math

    import pyarrow as pa

    from normflow.trace import _arrow_of_list

    made = _arrow_of_list([math.nan, math.inf, -math.inf, -0.0], pa.float64()).to_pylist()
    assert math.isnan(made[0]) and made[1:3] == [math.inf, -math.inf]
    assert math.copysign(1.0, made[3]) == -1.0
