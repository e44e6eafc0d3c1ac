"""Issue 18, defects 5, 6 and 10: a store that heals, refusals that change
nothing, and one writer at a time."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from normflow import hookimpl
from normflow.cli import cli
from normflow.experiment import open_experiment, run_experiment, summarize
from normflow.store import QuarantineWarning, Store, StoreError

SHORT = {"scenario.end": "1992-12-31", "events": []}


@pytest.fixture(autouse=True)
def core_only(monkeypatch):
    monkeypatch.setenv("NORMFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")


def experiment(out: Path, n: int = 4, **kwargs):
    kwargs.setdefault("workers", 1)
    return run_experiment("minimal", out, replications=n, seed=11, overrides=SHORT, **kwargs)


def tree_hash(directory: Path) -> str:
    """Names and contents of every file under ``directory``."""
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.name != ".lock":
            h.update(str(path.relative_to(directory)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def keep_parts(out: Path) -> list[Path]:
    """Split the compacted table back into one part per replication (as a
    killed run leaves them) and drop the table."""
    store = Store(out)
    rows, _ = store.inspect()
    for row in rows:
        store.write_row(row)
    (out / "results.parquet").unlink()
    return sorted((out / "parts").glob("*.parquet"))


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    # restored after the module: later tests must see the plugins installed
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NORMFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")
        exp = experiment(tmp_path_factory.mktemp("whole") / "exp")
        yield exp.results(), summarize(exp.directory).to_json()


@pytest.mark.parametrize("damage", ["half", "empty", "garbage"])
def test_a_truncated_part_is_quarantined_and_resume_gives_the_same_summary(tmp_path, whole, damage):
    out = tmp_path / "exp"
    experiment(out)
    parts = keep_parts(out)
    victim = parts[1]
    data = victim.read_bytes()
    victim.write_bytes({"half": data[: len(data) // 2], "empty": b"", "garbage": b"PAR1" * 3}[damage])
    with pytest.warns(QuarantineWarning, match="1 part file"):
        resumed = run_experiment(None, out, resume=True, workers=1)
    assert resumed.computed == 1
    assert (out / "quarantine" / victim.name).read_bytes() != data
    pd.testing.assert_frame_equal(resumed.results(), whole[0])
    assert summarize(out).to_json() == whole[1]


def test_summarize_sets_a_damaged_part_aside_and_says_so(tmp_path):
    out = tmp_path / "exp"
    experiment(out)
    parts = keep_parts(out)
    parts[0].write_bytes(b"")
    result = CliRunner().invoke(cli, ["experiment", "summarize", str(out), "--json"])
    assert "could not be read" in result.output and "--resume" in result.output
    assert (out / "quarantine" / parts[0].name).exists()
    assert len(open_experiment(out).missing()) == 1


def test_a_stray_part_without_a_cell_column_is_quarantined(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "exp"
    experiment(out)
    stray = out / "parts" / "c000000-r0000009.parquet"
    pq.write_table(pa.Table.from_pylist([{"replication": 9, "status": "ok"}]), stray)
    with pytest.warns(QuarantineWarning, match="not the one its name says"):
        rows = Store(out).rows()
    assert len(rows) == 4 and not stray.exists()


MANIFEST_DAMAGE = {
    "spec = 5": lambda m: {**m, "spec": 5},
    "no cells": lambda m: {k: v for k, v in m.items() if k != "cells"},
    "cells not a list": lambda m: {**m, "cells": {"0": 1}},
    "a list": lambda m: [m],
    "no scenario text": lambda m: {**m, "scenario": {**m["scenario"], "text": None}},
}


@pytest.mark.parametrize("name", list(MANIFEST_DAMAGE))
@pytest.mark.parametrize("command", ["summarize", "resume"])
def test_a_damaged_manifest_is_one_line_naming_the_file_and_the_way_out(tmp_path, name, command):
    out = tmp_path / "exp"
    experiment(out, n=1)
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(MANIFEST_DAMAGE[name](json.loads(manifest.read_text()))))
    before = tree_hash(out)
    args = ["experiment", "summarize", str(out)]
    if command == "resume":
        args = ["experiment", "run", "--resume", "--out", str(out), "--workers", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and str(manifest) in line and "damaged manifest" in line and "new --out" in line
    assert tree_hash(out) == before


@pytest.mark.parametrize("command", ["summarize", "resume"])
def test_a_truncated_results_table_is_one_line_naming_the_file(tmp_path, command):
    out = tmp_path / "exp"
    experiment(out, n=2)
    results = out / "results.parquet"
    results.write_bytes(results.read_bytes()[:100])
    before = tree_hash(out)
    args = ["experiment", "summarize", str(out)]
    if command == "resume":
        args = ["experiment", "run", "--resume", "--out", str(out), "--workers", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and str(results) in line and "--resume" in line
    assert tree_hash(out) == before


def test_summarize_without_results_says_so_and_exits_non_zero(tmp_path):
    out = tmp_path / "exp"
    experiment(out, n=1)
    (out / "results.parquet").unlink()
    result = CliRunner().invoke(cli, ["experiment", "summarize", str(out), "--json"])
    assert result.exit_code == 2, result.output
    assert "no results" in result.output and "--resume" in result.output


class FailsSometimes:
    normflow_plugin_name = "fails_sometimes"

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def trouble():
            yield sim.env.timeout(10)
            if sim.rng("fails_sometimes").random() < 0.5:
                raise RuntimeError("deliberate failure")

        register("trouble", trouble)


def test_a_refused_retry_failed_leaves_the_store_unchanged(tmp_path):
    """Defect 6: the refusal (another plugin set) used to come after the
    failed rows were deleted."""
    out = tmp_path / "exp"
    first = experiment(out, n=8, plugins=[FailsSometimes()])
    failed = int((first.results()["status"] == "failed").sum())
    assert 0 < failed < 8
    before = tree_hash(out)
    with pytest.raises(StoreError, match="plugins"):
        run_experiment(None, out, resume=True, retry_failed=True, workers=1)
    assert tree_hash(out) == before
    assert len(open_experiment(out).results()) == 8


def test_the_lock_is_exclusive_across_processes(tmp_path):
    """Defect 10: two writers on one store both ran in 3 of 28 trials; the
    lock is now the operating system's."""
    out = tmp_path / "exp"
    store = Store(out)
    store.acquire()
    code = (
        "import sys\nfrom normflow.store import Store, StoreError\n"
        "try:\n    Store(sys.argv[1]).acquire()\nexcept StoreError as e:\n    print(e); sys.exit(3)\n"
    )
    other = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True)
    assert other.returncode == 3, other.stderr
    assert f"process {os.getpid()}" in other.stdout
    store.release()
    again = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout


def test_a_second_run_on_a_locked_store_writes_nothing(tmp_path):
    out = tmp_path / "exp"
    holder = Store(out)
    holder.acquire()
    try:
        with pytest.raises(StoreError, match="being written"):
            experiment(out, n=1)
        assert sorted(p.name for p in out.iterdir()) == [".lock"]
    finally:
        holder.release()


def test_a_plugin_of_the_same_name_and_version_from_elsewhere_is_another_plugin(tmp_path):
    """Defect 11, second half: the origin of each plugin is stored, so a
    project installed under a bundled plugin's name and version is not
    taken for it on resume."""
    out = tmp_path / "exp"
    experiment(out, n=1, plugins=[FailsSometimes()])
    manifest = out / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["plugin_origins"] == {"fails_sometimes": f"module {__name__}"}
    data["plugin_origins"]["fails_sometimes"] = "distribution normflow-fails-sometimes"
    manifest.write_text(json.dumps(data))
    before = tree_hash(out)
    with pytest.raises(
        StoreError, match="from distribution normflow-fails-sometimes; now fails_sometimes comes from module"
    ):
        experiment(out, n=2, plugins=[FailsSometimes()], resume=True)
    assert tree_hash(out) == before
