"""The environments of the bench's measured processes: which settings each
side of a comparison gets (speed itself is never timed in tests)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from normflow import bench


class _Done:
    def __init__(self, stdout: str):
        self.returncode = 0
        self.stdout = stdout
        self.stderr = ""


cwds: list[str | None] = []


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    envs: list[dict[str, str]] = []

    def fake_run(args: list[str], **kwargs: Any) -> _Done:
        envs.append(kwargs["env"])
        cwds.append(kwargs.get("cwd"))
        if "-c" in args and bench.RUN_SNIPPET in args:
            return _Done(json.dumps({"events": 1, "cpu": 1.0, "cpu_run": 0.5, "cpu_import": 0.2}))
        return _Done("0.25\n")

    cwds.clear()
    monkeypatch.delenv("OPENBLAS_THREAD_TIMEOUT", raising=False)
    monkeypatch.setattr(subprocess, "run", fake_run)
    return envs


def test_import_rows_give_numpy_the_setting_normflow_makes(seen: list[dict[str, str]]) -> None:
    assert bench.import_cpu("numpy") == 0.25
    assert seen[-1]["OPENBLAS_THREAD_TIMEOUT"] == bench.SHORT_SPIN["OPENBLAS_THREAD_TIMEOUT"]


def test_whole_runs_get_the_setting_only_when_asked(seen: list[dict[str, str]]) -> None:
    bench.run_whole("minimal", 1)
    assert "OPENBLAS_THREAD_TIMEOUT" not in seen[-1]
    bench.run_whole("minimal", 1, spin_off=True)
    assert seen[-1]["OPENBLAS_THREAD_TIMEOUT"] == "20"


def test_a_users_own_value_wins(seen: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_THREAD_TIMEOUT", "4")
    bench.run_whole("minimal", 1, spin_off=True)
    bench.import_cpu("numpy")
    assert [env["OPENBLAS_THREAD_TIMEOUT"] for env in seen] == ["4", "4"]


def test_every_measured_process_runs_in_an_empty_directory(seen: list[dict[str, str]]) -> None:
    """``python -c`` / ``-m`` put their working directory first on sys.path:
    a crowded one would be scanned by importlib.metadata, and a normflow folder
    in it would shadow the engine measured."""
    bench.run_whole("minimal", 1)
    bench.import_cpu("numpy")
    bench.run_job({"kind": "engine"})
    assert len(cwds) == 3 and len(set(cwds)) == 1
    where = Path(cwds[0])  # type: ignore[arg-type]
    assert where.is_dir() and not any(where.iterdir())
    assert where != Path.cwd()
