"""The bench's targets: verdicts from the median, and each repetition's own
value beside it (speed itself is never timed in tests: the measured processes
are replaced by fakes whose CPU the test chooses)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from normflow import bench


def test_a_target_judges_its_median_and_counts_the_runs_that_meet_it() -> None:
    edge = bench._target("whole run", [4.4, 5.1, 4.9], ">= 5.0")
    edge.judge()
    assert edge.measured == 4.9
    assert not edge.met
    assert edge.runs_met == 1
    assert edge.verdict() == "no (1 of 3 runs meet it)"
    assert edge.to_dict() == {
        "name": "whole run",
        "measured": 4.9,
        "goal": ">= 5.0",
        "met": False,
        "runs": [4.4, 5.1, 4.9],
        "runs_met": 1,
    }

    below = bench._target("import", [1.2, 1.6, 1.4], "<= 1.5")
    below.judge()
    assert below.met and below.verdict() == "yes (2 of 3 runs meet it)"

    everywhere = bench._target("import", [1.2, 1.3, 1.4], "<= 1.5")
    everywhere.judge()
    assert everywhere.verdict() == "yes"


def test_a_target_measured_once_has_no_runs() -> None:
    once = bench.Target("memory", 1.2, "<= 1.10")
    once.judge()
    assert once.verdict() == "no"
    assert "runs" not in once.to_dict()


class _FakeTree(contextlib.AbstractContextManager[Path]):
    def __init__(self, *args: Any) -> None:
        pass

    def __enter__(self) -> Path:
        return Path("old-tree")

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_suite_gives_each_repeated_target_its_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With fake measurements whose ratios differ by repetition, every target
    the suite repeats carries the repetition's own ratio, in order."""

    def run_job(job: dict[str, Any]) -> dict[str, Any]:
        seed = job.get("seed", 1)
        cpu = {
            "simpy": 10.0,
            "mesa": 10.0,
            "engine": 2.0 * seed
            if "trace" not in job
            else 2.0 * seed * (1.5 if job["trace"] == "jsonl" else 1.2),
            "experiment": 5.0,
            "calibration": 5.0,
        }[job["kind"]]
        if job.get("scenario") == "information" and job.get("years", 10.0) < 10.0 and job["kind"] == "engine":
            cpu /= 2  # the quarter horizon
        return {"events": 1000, "cpu": cpu, "wall": cpu, "peak_rss_mb": 10.0}

    def run_whole(
        scenario: Any, seed: int = 1, tree: Path | None = None, spin_off: bool = False
    ) -> dict[str, Any]:
        cpu = (3.0 if tree is not None else 1.0) * seed
        return {"events": 1000, "cpu": cpu, "cpu_run": cpu / 2}

    imports = iter([0.2, 0.3, 0.4] * 20)
    monkeypatch.setattr(bench, "run_job", run_job)
    monkeypatch.setattr(bench, "run_whole", run_whole)
    monkeypatch.setattr(bench, "import_cpu", lambda module: next(imports))
    monkeypatch.setattr(bench, "StartTree", _FakeTree)
    monkeypatch.setattr(bench, "FROZEN_KAWASAKI", Path(__file__))  # exists
    report = bench.run_suite(quick=True, repeat=3)
    got = {t.name: t for t in report.targets}

    info = got["information vs naive SimPy at 1,800 groups"]
    assert info.runs == pytest.approx([10 / 2, 10 / 4, 10 / 6])
    assert info.measured == pytest.approx(10 / 4)
    jsonl = got["trace, extra CPU on information 18,000 (JSON Lines)"]
    assert jsonl.runs == pytest.approx([0.5, 0.5, 0.5])
    whole = next(t for n, t in got.items() if n.startswith("whole "))
    assert len(whole.runs) == 3
    frozen = next(t for n, t in got.items() if "whole run: engine at" in n)
    assert frozen.runs == pytest.approx([3.0, 3.0, 3.0]) and frozen.met
    # measured once: no runs
    assert got["2-worker parallel efficiency (wall time)"].runs == []
    assert all(t.to_dict()["met"] == t.met for t in report.targets)


def test_the_printed_table_shows_the_runs_and_a_split_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    edge = bench._target("whole run vs naive SimPy", [4.38, 5.03, 4.62], ">= 5.0")
    edge.judge()
    bench.print_report(bench.Report(rows=[], targets=[edge], settings={}))
    out = capsys.readouterr().out
    assert "4.38 5.03 4.62" in out
    assert "no (1 of 3 runs meet it)" in out
