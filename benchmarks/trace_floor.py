"""The floor under issue 16's trace targets: what a trace costs when Python
does nothing but hand finished data to the writer::

    python benchmarks/trace_floor.py                 # both rows, 3 repetitions
    python benchmarks/trace_floor.py --repeat 5 --rows information

For each row of ``normflow bench``'s trace targets (information exchange at
18,000 groups over two years; a whole ``kawasaki-suffrage`` run), each
repetition runs, every step in a fresh process and with the same seed:

1. the run untraced, then traced as Parquet and as JSON Lines (the CPU of
   ``Simulation.run``, as the bench measures it), keeping the trace files;
2. the Parquet floor: the rows of that Parquet trace, read back into Arrow
   tables one row group at a time (text columns as dictionaries), written
   again with the trace's writer settings. Only pyarrow's encoder and the
   file are timed: no Python per row, no numbering, no merging;
3. the JSON Lines floor: the bytes of that JSON Lines trace, already in
   memory, written again in pieces of the size the trace writes; plus the
   exact text of every row's time by one orjson call on the array (the
   cheapest exact way to ``repr``'s digits in this environment). Every
   other field's text is left out, so the floor is below what any writer
   of the same lines costs.

Each cost is printed as extra CPU over the untraced run, beside the goal.
A floor above its goal means no writer that goes through these libraries
(whatever Python around it) can meet the goal: only a cheaper engine per
row of trace, that is a slower untraced run, would.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = {"information": ("information", 18_000, 2.0), "kawasaki": ("kawasaki-suffrage", None, None)}
GOALS = {"parquet": 0.30, "jsonl": 1.00}
#: bytes per write of the JSON Lines floor: about one block of contacts (the
#: trace writes once per block, or per 8,192 lines held)
PIECE = 512 * 1024


def _run(job: dict[str, Any]) -> dict[str, Any]:
    from normflow.bench import information_scenario
    from normflow.scenario import load_scenario
    from normflow.simulation import Simulation

    name, groups, years = ROWS[job["row"]]
    info = groups is not None
    scenario = information_scenario(groups, years) if info else load_scenario(name)
    trace = Path(job["trace"]) if job.get("trace") else None
    sim = Simulation(scenario, job["seed"], autoload=not info, trace=trace)
    cpu = time.process_time()
    sim.run()
    return {"cpu": time.process_time() - cpu}


def _text_columns(schema: Any) -> list[str]:
    import pyarrow as pa

    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_dictionary(f.type)]


def _parquet_floor(job: dict[str, Any]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    out = Path(tempfile.mkdtemp())
    tables = []
    for path in sorted(Path(job["trace"]).iterdir()):
        file = pq.ParquetFile(path)
        text = _text_columns(file.schema_arrow)
        groups = [
            pq.ParquetFile(path, read_dictionary=text).read_row_group(i) for i in range(file.num_row_groups)
        ]
        tables.append((path.name, groups))
    cpu = time.process_time()
    for name, groups in tables:
        schema = groups[0].schema
        with pq.ParquetWriter(
            out / name,
            schema,
            use_dictionary=_text_columns(schema),
            column_encoding={"seq": "DELTA_BINARY_PACKED"},
            write_statistics=["seq", "t"],
            store_schema=False,
        ) as writer:
            for table in groups:
                writer.write_table(table)
    return {"cpu": time.process_time() - cpu}


def _jsonl_floor(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import orjson
    import pyarrow.parquet as pq

    data = Path(job["trace"]).read_bytes()
    times = [
        pq.read_table(path, columns=["t"]).column("t").to_numpy() for path in Path(job["times"]).iterdir()
    ]
    t = np.ascontiguousarray(np.concatenate(times))
    view = memoryview(data)
    out = Path(tempfile.mkdtemp()) / "again.jsonl"
    cpu = time.process_time()
    texts = orjson.dumps(t, option=orjson.OPT_SERIALIZE_NUMPY)
    with open(out, "wb") as file:
        for start in range(0, len(data), PIECE):
            file.write(view[start : start + PIECE])
    return {"cpu": time.process_time() - cpu, "bytes": len(data), "rows": len(t), "texts": len(texts)}


def _in_fresh_process(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--job", json.dumps(job)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"job {job} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(row: str, seed: int) -> dict[str, float]:
    """Extra CPU over the untraced run: each traced run and each floor."""
    with tempfile.TemporaryDirectory() as tmp:
        parquet, jsonl = Path(tmp) / "run.parquet", Path(tmp) / "run.jsonl"
        base = _in_fresh_process({"do": "run", "row": row, "seed": seed})["cpu"]
        traced = {
            "parquet": _in_fresh_process({"do": "run", "row": row, "seed": seed, "trace": str(parquet)})[
                "cpu"
            ],
            "jsonl": _in_fresh_process({"do": "run", "row": row, "seed": seed, "trace": str(jsonl)})["cpu"],
        }
        floors = {
            "parquet": _in_fresh_process({"do": "parquet", "trace": str(parquet)})["cpu"],
            "jsonl": _in_fresh_process({"do": "jsonl", "trace": str(jsonl), "times": str(parquet)})["cpu"],
        }
    out = {"untraced_cpu": base}
    for fmt in ("parquet", "jsonl"):
        out[f"{fmt}_traced"] = traced[fmt] / base - 1.0
        out[f"{fmt}_floor"] = floors[fmt] / base
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", nargs="*", choices=list(ROWS), default=list(ROWS))
    parser.add_argument("--json", action="store_true", help="print every repetition as JSON too")
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        job = json.loads(args.job)
        result = {"run": _run, "parquet": _parquet_floor, "jsonl": _jsonl_floor}[job["do"]](job)
        print(json.dumps(result))
        return 0
    every: dict[str, list[dict[str, float]]] = {}
    for row in args.rows:
        every[row] = [measure(row, 1 + k) for k in range(args.repeat)]
        print(f"\n{row}: extra CPU over the untraced run (median of {args.repeat}; repetitions in brackets)")
        base = statistics.median(m["untraced_cpu"] for m in every[row])
        print(f"  untraced run: {base:.3f} s")
        for fmt, label in (("parquet", "Parquet"), ("jsonl", "JSON Lines")):
            for kind in ("traced", "floor"):
                values = [m[f"{fmt}_{kind}"] for m in every[row]]
                each = ", ".join(f"{v:+.0%}" for v in values)
                verdict = "above the goal" if statistics.median(values) > GOALS[fmt] else "within the goal"
                what = "traced run" if kind == "traced" else "floor     "
                print(
                    f"  {label:10s} {what}: {statistics.median(values):+6.0%} ({each});"
                    f" goal <= {GOALS[fmt]:+.0%}: {verdict}"
                )
    if args.json:
        print(json.dumps(every))
    return 0


if __name__ == "__main__":
    sys.exit(main())
