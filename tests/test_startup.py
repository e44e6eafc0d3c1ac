"""Start-up cost: ``import normflow``, and a whole run, load only what a run
needs. The heavy libraries (tables, plots, the pretty terminal, the log
renderer, the experiment machinery) come when a command uses them.

Speed itself is measured by ``normflow bench`` (start-up row), never timed here."""

from __future__ import annotations

import json
import subprocess
import sys

#: Modules that neither ``import normflow`` nor a run of a bundled scenario may load.
HEAVY = (
    "pandas",
    "pyarrow",
    "scipy",
    "matplotlib",
    "rich",
    "dask",
    "structlog",
    "asyncio",
    "click",
    "networkx",
    "pyabc",
    "SALib",
    "normflow.experiment",
    "normflow.hypotheses",
    "normflow.report",
    "normflow.cli",
    "normflow.store",
    "normflow.stats",
    "normflow.validate",
    "normflow.bench",
)


def _loaded(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def _heavy(loaded: set[str]) -> list[str]:
    return sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_import_normflow_loads_no_heavy_library() -> None:
    loaded = _loaded("import normflow")
    assert "normflow.simulation" in loaded  # the run's machinery is there
    assert _heavy(loaded) == []


def test_a_whole_run_loads_no_heavy_library() -> None:
    loaded = _loaded(
        "import normflow\n"
        "r = normflow.simulate(normflow.load_scenario('kawasaki-suffrage'), 1)\n"
        "assert sum(r.counts.values()) > 0"
    )
    assert _heavy(loaded) == []


def test_lazy_names_resolve_to_the_experiment_module() -> None:
    import normflow
    from normflow import experiment

    assert normflow.run_experiment is experiment.run_experiment
    assert normflow.Experiment is experiment.Experiment
    assert "run_experiment" in dir(normflow)
