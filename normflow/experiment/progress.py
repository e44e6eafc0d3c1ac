"""Progress of a long study: what a callback receives after each finished
replication, and a terminal progress bar drawn from it.
"""

from __future__ import annotations

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
