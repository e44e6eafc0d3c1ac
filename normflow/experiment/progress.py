"""Progress of a long study: what a callback receives after each finished
replication, a terminal progress bar drawn from it, and the loop that
stores rows as an executor yields them and reports after each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

import attrs


@attrs.define
class Progress:
    """What a progress callback receives after each finished replication."""

    done: int
    total: int
    failed: int
    computed: int
    elapsed: float


class ProgressBar:
    """A progress bar on stderr: done/total, rate, time left, failures.
    Without a terminal it stays silent; the caller prints a final line."""

    def __init__(self, description: str):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichBar

        self.console = Console(stderr=True)
        self.bar = RichBar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("elapsed,"),
            TimeRemainingColumn(),
            TextColumn("left,"),
            TextColumn("{task.fields[failed]}"),
            console=self.console,
            disable=not self.console.is_terminal,
            transient=False,
        )
        self.description = description
        self.task: Any = None

    def __call__(self, p: Progress) -> None:
        rate = f"{p.computed / p.elapsed:.1f}/s" if p.elapsed > 0 and p.computed else "-/s"
        failed = f"[red]{p.failed} failed[/red]" if p.failed else "0 failed"
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=p.total, rate=rate, failed=failed)
        self.bar.update(self.task, completed=p.done, rate=rate, failed=failed)

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()


def record_rows(
    rows: Generator[Any, None, None],
    write: Callable[[Any], dict[str, Any]],
    progress: bool | Callable[[Progress], None],
    description: str,
    *,
    already: int,
    total: int,
    failed: int,
    began: float,
) -> tuple[int, int]:
    """Store each item of ``rows`` as it arrives (``write`` stores it and
    returns its row) and report progress after each: ``progress`` is True
    (a ``ProgressBar`` on stderr), a callback, or False. ``rows`` is closed
    whatever happens, which stops its executor; every row written stays
    written. Returns (rows computed now, failed rows in all)."""
    bar = ProgressBar(description) if progress is True else None
    report = bar if bar is not None else (progress or None)
    computed = 0
    try:
        if report:
            report(Progress(already, total, failed, 0, 0.0))
        for item in rows:
            row = write(item)
            computed += 1
            failed += row["status"] != "ok"
            if report:
                report(Progress(already + computed, total, failed, computed, time.perf_counter() - began))
    finally:
        rows.close()
        if bar is not None:
            bar.close()
    return computed, failed
