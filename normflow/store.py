"""The on-disk store of an experiment: one directory, nothing only in memory.

::

    DIR/manifest.json                    the spec, its fingerprint, the scenario text, the cells
    DIR/parts/c000003-r0000012.parquet   one row per finished replication
    DIR/results.parquet                  the whole table, written when a run ends
    DIR/results.csv                      the same table, on request
    DIR/.lock                            the process currently writing (host and pid)

A replication's row is written the moment its result reaches the driver,
to a temporary name that is then renamed, so a killed process leaves either
a whole part file or none. When a run ends the parts are compacted into
``results.parquet`` (written the same way) and removed; a kill between the
two steps leaves duplicates, which are identical and dropped on reading.
The table is always rebuilt from the rows on disk, sorted by cell and
replication, so it does not depend on which worker finished first.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "manifest.json"
PARTS = "parts"
RESULTS = "results.parquet"
RESULTS_CSV = "results.csv"
LOCK = ".lock"
FORMAT = 1

LEAD_COLUMNS = ("cell", "replication")
ROW_FIELDS = ("seed", "spawn_key", "status", "error", "horizon_days")
MILESTONE_SUFFIXES = ("_days", "_date", "_censored")
_PART_NAME = re.compile(r"c(\d+)-r(\d+)\.parquet")


class StoreError(Exception):
    """The output directory cannot be used as asked (one line for the user)."""


def part_name(cell: int, replication: int) -> str:
    return f"c{cell:06d}-r{replication:07d}.parquet"


class Store:
    """Reads and writes one experiment directory."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.parts = self.dir / PARTS

    # -- manifest --------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.dir / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> dict[str, Any]:
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"{self.dir}: no experiment here ({MANIFEST} is missing)") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.manifest_path}: unreadable manifest ({exc})") from None
        if manifest.get("format") != FORMAT:
            raise StoreError(
                f"{self.manifest_path}: store format {manifest.get('format')!r}; this normflow reads {FORMAT}"
            )
        return manifest

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        _atomic_write_text(self.manifest_path, json.dumps({"format": FORMAT, **manifest}, indent=2) + "\n")

    def check_fresh(self) -> None:
        """A new experiment may only go into a missing or empty directory."""
        if self.exists():
            raise StoreError(
                f"{self.dir} already holds an experiment; continue it with --resume or choose another --out"
            )
        if self.dir.exists() and (not self.dir.is_dir() or any(self.dir.iterdir())):
            raise StoreError(f"{self.dir} exists and is not an empty directory; choose another --out")

    # -- lock: one writer at a time ----------------------------------------------

    def acquire(self) -> None:
        """Refuse to write while another live process on this host writes here;
        a lock left by a killed process is taken over."""
        path = self.dir / LOCK
        me = f"{socket.gethostname()} {os.getpid()}"
        try:
            host, pid = path.read_text(encoding="utf-8").split()
        except (OSError, ValueError):
            host, pid = "", "0"
        if host == socket.gethostname() and int(pid) != os.getpid() and _alive(int(pid)):
            raise StoreError(
                f"{self.dir} is being written by process {pid}; wait for it or stop it first "
                f"(if that process is not normflow, delete {path})"
            )
        _atomic_write_text(path, me)

    def release(self) -> None:
        path = self.dir / LOCK
        try:
            if path.read_text(encoding="utf-8") == f"{socket.gethostname()} {os.getpid()}":
                path.unlink()
        except OSError:
            pass

    # -- rows ------------------------------------------------------------------

    def write_row(self, row: dict[str, Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.parts / part_name(row["cell"], row["replication"])
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        pq.write_table(pa.Table.from_pylist([row]), tmp)
        os.replace(tmp, path)

    def done(self) -> set[tuple[int, int]]:
        """(cell, replication) of every stored row, read from file names
        and the compacted table's key columns only."""
        out: set[tuple[int, int]] = set()
        results = self.dir / RESULTS
        if results.exists():
            import pyarrow.parquet as pq

            table = pq.read_table(results, columns=["cell", "replication"]).to_pydict()
            out.update(zip(table["cell"], table["replication"], strict=True))
        for path in self._part_paths():
            m = _PART_NAME.fullmatch(path.name)
            if m:
                out.add((int(m[1]), int(m[2])))
        return out

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row, each (cell, replication) once, sorted."""
        import pyarrow.parquet as pq

        rows: dict[tuple[int, int], dict[str, Any]] = {}
        results = self.dir / RESULTS
        if results.exists():
            for row in _records_from_frame(results):
                rows[(row["cell"], row["replication"])] = row
        for path in self._part_paths():
            for row in pq.read_table(path).to_pylist():
                rows[(row["cell"], row["replication"])] = row
        return [rows[k] for k in sorted(rows)]

    def forget(self, keys: Iterable[tuple[int, int]]) -> None:
        """Drop rows (to recompute them): remove their parts and rewrite the
        compacted table without them."""
        keys = set(keys)
        if not keys:
            return
        for c, r in keys:
            (self.parts / part_name(c, r)).unlink(missing_ok=True)
        results = self.dir / RESULTS
        if results.exists():
            kept = [
                row for row in _records_from_frame(results) if (row["cell"], row["replication"]) not in keys
            ]
            self._write_table(kept)

    def clean_temporary(self) -> None:
        """Half-written parts of a killed process are not results."""
        if self.parts.exists():
            for path in self.parts.glob(".*.tmp"):
                path.unlink(missing_ok=True)

    def compact(self, csv: bool = False) -> pd.DataFrame:
        """Write the whole table as one file (and CSV if asked), then drop the parts."""
        rows = self.rows()
        table = self._write_table(rows)
        if csv:
            _atomic_write_text(self.dir / RESULTS_CSV, table.to_csv(index=False))
        for path in self._part_paths():
            path.unlink(missing_ok=True)
        return table

    def table(self) -> pd.DataFrame:
        return assemble(self.rows(), self.parameters())

    def parameters(self) -> list[str]:
        return list(self.read_manifest().get("parameters", []))

    def _write_table(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        table = assemble(rows, self.parameters())
        path = self.dir / RESULTS
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        table.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return table

    def _part_paths(self) -> list[Path]:
        if not self.parts.exists():
            return []
        return sorted(p for p in self.parts.iterdir() if _PART_NAME.fullmatch(p.name))


def _records_from_frame(path: Path) -> list[dict[str, Any]]:
    """Rows of a compacted table as plain dicts without their missing values,
    so they merge with part rows unchanged (``assemble`` fills the gaps the
    same way again)."""
    import pyarrow.parquet as pq

    return [{k: v for k, v in row.items() if v is not None} for row in pq.read_table(path).to_pylist()]


def assemble(rows: list[dict[str, Any]], params: Sequence[str] = ()) -> pd.DataFrame:
    """One DataFrame from rows of possibly different shapes.

    Columns: cell, replication, the swept parameters (``params``), seed, spawn_key,
    status, error, horizon_days, then three columns per milestone (in the
    order milestones first appear), then the rest sorted by name. A milestone
    a run never declared counts as not reached (censored at the horizon); a
    count that never occurred is 0. Column types do not depend on whether any
    replication failed (nullable integers and booleans), so tables from
    different runs of the same experiment compare equal.
    """
    import pandas as pd

    rows = sorted(rows, key=lambda r: (r["cell"], r["replication"]))
    known = set(LEAD_COLUMNS) | set(ROW_FIELDS) | set(params)
    milestones: list[str] = []
    others: set[str] = set()
    for row in rows:
        for key in row:
            if key in known:
                continue
            if key.endswith("_censored"):
                name = key.removesuffix("_censored")
                if name not in milestones:
                    milestones.append(name)
            elif not (key.endswith("_days") or key.endswith("_date")):
                others.add(key)
    milestone_cols = [f"{m}{s}" for m in milestones for s in MILESTONE_SUFFIXES]
    columns = [*LEAD_COLUMNS, *params, *ROW_FIELDS, *milestone_cols, *sorted(others)]
    counts = [c for c in others if c.startswith("counts.")]
    filled = []
    for row in rows:
        row = dict(row)
        if row.get("status") == "ok":
            for m in milestones:
                if f"{m}_censored" not in row:
                    row[f"{m}_days"] = row.get("horizon_days")
                    row[f"{m}_date"] = None
                    row[f"{m}_censored"] = True
            for c in counts:
                row.setdefault(c, 0)
        filled.append(row)
    frame = pd.DataFrame.from_records(filled, columns=columns) if filled else pd.DataFrame(columns=columns)
    for col in columns:
        frame[col] = _typed(frame[col], [row.get(col) for row in filled])
    return frame


def _typed(series: pd.Series, values: list[Any]) -> pd.Series:
    """A column's type from its values, the same whether or not some are missing."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    if not present:
        return series.astype("object") if values else series
    if all(isinstance(v, bool) for v in present):
        return series.astype("boolean")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return series.astype("Int64")
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return series.astype("float64")
    if all(isinstance(v, str) for v in present):
        return series.astype("string")
    return series.astype("object")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
