"""The on-disk store of an experiment: one directory, nothing only in memory.

::

    DIR/manifest.json                    the spec, its fingerprint, the scenario text, the cells
    DIR/parts/c000003-r0000012.parquet   one row per finished replication
    DIR/results.parquet                  the whole table, written when a run ends
    DIR/results.csv                      the same table, on request
    DIR/.lock                            locked (flock) by the process writing; says which
    DIR/quarantine/                      parts that could not be read, set aside

Only one process writes a store at a time: ``acquire`` takes an exclusive
operating-system lock on ``DIR/.lock`` (``fcntl.flock``; ``msvcrt.locking``
on Windows) before anything is written, and the lock ends with the process,
so a killed writer never leaves a stale one.

A store heals: a part file that does not read (truncated, empty, not a
single row of this replication) is reported and moved to ``quarantine/``,
and its replication counts as missing, so ``--resume`` computes it again. A
damaged manifest or ``results.parquet`` cannot be rebuilt from the rest and
is one error naming the file and how to recover.

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
import warnings
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
QUARANTINE = "quarantine"
FORMAT = 1

LEAD_COLUMNS = ("cell", "replication")
ROW_FIELDS = ("seed", "spawn_key", "status", "error", "horizon_days")
MILESTONE_SUFFIXES = ("_days", "_date", "_censored")
_PART_NAME = re.compile(r"c(\d+)-r(\d+)\.parquet")


class StoreError(Exception):
    """The output directory cannot be used as asked (one line for the user)."""


class QuarantineWarning(UserWarning):
    """Parts of a store that could not be read were set aside."""


#: What a manifest must hold, and the type of each entry.
_MANIFEST_KEYS: dict[str, type | tuple[type, ...]] = {
    "fingerprint": str,
    "spec": dict,
    "scenario": dict,
    "parameters": list,
    "cells": list,
    "plugins": dict,
}


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
        except (OSError, ValueError, RecursionError) as exc:
            raise self._damaged_manifest(f"unreadable JSON: {str(exc)[:100]}") from None
        if not isinstance(manifest, dict):
            raise self._damaged_manifest(f"a {type(manifest).__name__} instead of an object")
        if manifest.get("format") != FORMAT:
            raise StoreError(
                f"{self.manifest_path}: store format {manifest.get('format')!r}; this normflow reads {FORMAT}"
            )
        for key, kind in _MANIFEST_KEYS.items():
            if key not in manifest:
                raise self._damaged_manifest(f"'{key}' is missing")
            if not isinstance(manifest[key], kind):
                raise self._damaged_manifest(f"'{key}' is {_show(manifest[key])}")
        scenario = manifest["scenario"]
        for key in ("text", "sha256"):
            if not isinstance(scenario.get(key), str):
                raise self._damaged_manifest(f"'scenario.{key}' is {_show(scenario.get(key))}")
        for i, cell in enumerate(manifest["cells"]):
            if not (
                isinstance(cell, dict)
                and cell.get("cell") == i
                and not isinstance(cell.get("cell"), bool)
                and isinstance(cell.get("params"), dict)
            ):
                raise self._damaged_manifest(f"'cells[{i}]' is {_show(cell)}")
        if not all(isinstance(p, str) for p in manifest["parameters"]):
            raise self._damaged_manifest(f"'parameters' is {_show(manifest['parameters'])}")
        return manifest

    def _damaged_manifest(self, what: str) -> StoreError:
        return StoreError(
            f"{self.manifest_path}: damaged manifest ({what}); it cannot be rebuilt from the results: "
            f"restore it from a copy, or run the experiment again into a new --out"
        )

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
        # a lock file alone is what a refused or locked attempt leaves
        if self.dir.exists() and (not self.dir.is_dir() or any(p.name != LOCK for p in self.dir.iterdir())):
            raise StoreError(f"{self.dir} exists and is not an empty directory; choose another --out")

    # -- lock: one writer at a time ----------------------------------------------

    _lock_fd: int | None = None

    def acquire(self) -> None:
        """Take the store's exclusive lock (creating the directory), or refuse
        while another process holds it. The lock is the operating system's
        (``flock``), held until ``release`` or the end of the process; the
        lock file stays (deleting it would let two writers lock two files)."""
        if self._lock_fd is not None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / LOCK
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the store's lock file ({exc.strerror or exc})") from None
        if not _lock(fd):
            try:
                holder = os.read(fd, 200).decode("utf-8", "replace").split()
            except OSError:
                holder = []
            os.close(fd)
            who = f"process {holder[1]} on {holder[0]}" if len(holder) == 2 else "another process"
            raise StoreError(f"{self.dir} is being written by {who}; wait for it to finish or stop it first")
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} {os.getpid()}".encode())
        self._lock_fd = fd

    def release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            _unlock(fd)
            os.close(fd)

    def open_for_writing(self, fresh: bool) -> None:
        """Lock the store, then check it again under the lock: a new
        experiment needs a store that nobody started meanwhile (the checks
        before the lock may have raced with another process)."""
        if fresh:
            self.check_fresh()
        self.acquire()
        if fresh and (self.exists() or any(p.name != LOCK for p in self.dir.iterdir())):
            self.release()
            raise StoreError(f"{self.dir} was just filled by another process; choose another --out")

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
        and the compacted table's key columns only (parts that do not read
        are found by ``inspect``)."""
        out: set[tuple[int, int]] = set()
        results = self.dir / RESULTS
        if results.exists():
            table = self._read_results(columns=["cell", "replication"])
            out.update(zip(table["cell"], table["replication"], strict=True))
        for path in self._part_paths():
            m = _PART_NAME.fullmatch(path.name)
            if m:
                out.add((int(m[1]), int(m[2])))
        return out

    def inspect(self) -> tuple[list[dict[str, Any]], list[tuple[Path, str]]]:
        """Read everything without changing anything: the stored rows (each
        (cell, replication) once, sorted) and the parts that do not read,
        with the reason. A damaged ``results.parquet`` is a ``StoreError``."""
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        if (self.dir / RESULTS).exists():
            table = self._read_results()
            names = list(table)
            for values in zip(*table.values(), strict=True):
                row = {k: v for k, v in zip(names, values, strict=True) if v is not None}
                rows[(row["cell"], row["replication"])] = row
        bad: list[tuple[Path, str]] = []
        for path in self._part_paths():
            row, why = _read_part(path)
            if row is None:
                bad.append((path, why))
            else:
                rows[(row["cell"], row["replication"])] = row
        return [rows[k] for k in sorted(rows)], bad

    def quarantine(self, bad: Sequence[tuple[Path, str]]) -> list[Path]:
        """Move parts that do not read to ``quarantine/`` (never delete them)
        and warn, naming how many and where; their replications are then
        missing, and ``--resume`` computes them again."""
        if not bad:
            return []
        target = self.dir / QUARANTINE
        target.mkdir(exist_ok=True)
        moved = []
        for path, _ in bad:
            dest = target / path.name
            k = 1
            while dest.exists():
                dest = target / f"{path.name}.{k}"
                k += 1
            os.replace(path, dest)
            moved.append(dest)
        first = f"{bad[0][0].name}: {bad[0][1]}"
        warnings.warn(
            f"{self.dir}: {len(bad)} part file(s) could not be read and were moved to {target} "
            f"(first: {first}); their replications are missing: "
            f"normflow experiment run --resume --out {self.dir} computes them again",
            QuarantineWarning,
            stacklevel=2,
        )
        return moved

    def heal(self) -> list[dict[str, Any]]:
        """``inspect``, then set aside the parts that do not read; the rows."""
        rows, bad = self.inspect()
        self.quarantine(bad)
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """Every stored row, each (cell, replication) once, sorted; parts that
        do not read are set aside (``heal``)."""
        return self.heal()

    def _read_results(self, columns: list[str] | None = None) -> dict[str, list[Any]]:
        path = self.dir / RESULTS
        try:
            import pyarrow.parquet as pq

            table = pq.read_table(path, columns=columns).to_pydict()
            for key in LEAD_COLUMNS:
                if key not in table:
                    raise ValueError(f"no '{key}' column")
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in table[key]):
                    raise ValueError(f"the '{key}' column holds values other than whole numbers")
        except Exception as exc:  # pyarrow raises many kinds for a damaged file
            raise StoreError(
                f"{path}: damaged results table ({type(exc).__name__}: {str(exc)[:120]}); move it aside "
                f"(e.g. into {self.dir / QUARANTINE}) and run normflow experiment run --resume --out "
                f"{self.dir} to compute its replications again"
            ) from None
        return table

    def forget(self, keys: Iterable[tuple[int, int]]) -> None:
        """Drop rows (to recompute them): remove their parts and rewrite the
        compacted table without them."""
        keys = set(keys)
        if not keys:
            return
        for c, r in keys:
            (self.parts / part_name(c, r)).unlink(missing_ok=True)
        if (self.dir / RESULTS).exists():
            rows, _ = self.inspect()
            kept = [row for row in rows if (row["cell"], row["replication"]) not in keys]
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


def _read_part(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A part's one row, or None and why it cannot be used."""
    m = _PART_NAME.fullmatch(path.name)
    try:
        import pyarrow.parquet as pq

        rows = pq.read_table(path).to_pylist()
    except Exception as exc:  # truncated, empty, not Parquet: pyarrow raises many kinds
        return None, f"{type(exc).__name__}: {str(exc)[:100]}"
    if len(rows) != 1:
        return None, f"{len(rows)} rows instead of 1"
    row = rows[0]
    key = (row.get("cell"), row.get("replication"))
    if m is None or key != (int(m[1]), int(m[2])):
        return None, f"its row is (cell, replication) = {key}, not the one its name says"
    return row, ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


try:  # the operating system's advisory lock
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


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


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
