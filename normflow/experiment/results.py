"""A stored experiment: its spec, its cells, its table and their statistics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from normflow.experiment.spec import ExperimentSpec, spec_from_dict
from normflow.store import RESULTS, Store, StoreError

if TYPE_CHECKING:
    import pandas as pd

    from normflow.stats import Summary


class Experiment:
    """A stored experiment: its spec, its cells, its table."""

    def __init__(self, directory: str | Path, computed: int = 0, wall_seconds: float = 0.0):
        self.store = Store(directory)
        self.manifest = self.store.read_manifest()
        self.computed = computed
        self.wall_seconds = wall_seconds

    @property
    def directory(self) -> Path:
        return self.store.dir

    @property
    def spec(self) -> ExperimentSpec:
        return spec_from_dict(self.manifest["spec"], file=str(self.store.manifest_path))

    @property
    def parameters(self) -> list[str]:
        return list(self.manifest["parameters"])

    @property
    def total(self) -> int:
        return len(self.manifest["cells"]) * int(self.manifest["spec"]["replications"])

    def cells(self) -> pd.DataFrame:
        """One row per sweep cell: its index and parameter values."""
        import pandas as pd

        rows = [{"cell": c["cell"], **c["params"]} for c in self.manifest["cells"]]
        return pd.DataFrame(rows, columns=["cell", *self.parameters])

    def results(self) -> pd.DataFrame:
        """One row per stored replication, sorted by cell and replication."""
        return self.store.table()

    def missing(self) -> list[tuple[int, int]]:
        done = self.store.done()
        reps = int(self.manifest["spec"]["replications"])
        return [(c, k) for k in range(reps) for c in range(len(self.manifest["cells"])) if (c, k) not in done]

    def summary(self, **options: Any) -> Summary:
        """Statistics of the stored rows; a store without any is a
        ``StoreError`` (a summary of nothing would read as a result)."""
        from normflow.stats import summarize as summarize_table

        table = self.results()
        if not len(table):
            raise StoreError(
                f"{self.directory}: no results stored ({RESULTS} is missing or empty and no part is "
                f"left); compute them with: normflow experiment run --resume --out {self.directory}"
            )
        return summarize_table(
            table,
            parameters=self.parameters,
            start=self.manifest["scenario"]["start"],
            about=self._about(),
            **options,
        )

    def _about(self) -> dict[str, Any]:
        spec = self.manifest["spec"]
        return {
            "scenario": self.manifest["scenario"]["name"],
            "fingerprint": self.manifest["fingerprint"],
            "seed": spec["seed"],
            "seeds": spec["seeds"],
            "replications": spec["replications"],
            "cells": len(self.manifest["cells"]),
            "parameters": self.parameters,
        }

    def __repr__(self) -> str:
        return f"Experiment({str(self.directory)!r}, {self.total - len(self.missing())}/{self.total} stored)"


def open_experiment(directory: str | Path) -> Experiment:
    """The experiment stored in ``directory``."""
    return Experiment(directory)


def summarize(source: str | Path | Experiment | pd.DataFrame, **options: Any) -> Summary:
    """Statistics of an experiment (a directory, an ``Experiment`` or a table)."""
    if isinstance(source, str | Path):
        return open_experiment(source).summary(**options)
    if isinstance(source, Experiment):
        return source.summary(**options)
    from normflow.stats import summarize as summarize_table

    return summarize_table(source, **options)
