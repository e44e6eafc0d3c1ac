"""Every input the fuzzer (``python -m normflow.testing.fuzz``) ever found
crashing or hanging the command line, run again through the same command:
each must now end with exit 0, 1 or 2 and never a traceback.

The inputs live in ``tests/fuzz_regressions/``: ``<command>-<digest>.toml``
is the input, the ``.json`` beside it says how it was found and what it did
then. ``command`` is ``run``, ``validate`` or ``experiment`` (a spec)."""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from normflow.cli import cli
from normflow.testing.fuzz import TRACEBACK, fuzz_args

HERE = Path(__file__).parent / "fuzz_regressions"
INPUTS = sorted(HERE.glob("*.toml"))


def test_the_fuzzer_has_found_crashes_to_keep():
    assert INPUTS, "the regression corpus is empty"
    for path in INPUTS:
        note = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        assert path.name.startswith(note["command"] + "-")


@pytest.mark.parametrize("path", INPUTS, ids=[p.stem for p in INPUTS])
def test_a_kept_crash_is_now_refused_or_run(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    command = path.name.split("-", 1)[0]
    result = CliRunner().invoke(cli, fuzz_args(command, str(path), str(tmp_path / "out"), seed=0))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("".join(traceback.format_exception(result.exception)))
    assert result.exit_code in (0, 1, 2), result.output
    assert TRACEBACK not in result.output
    if result.exit_code == 2:
        assert result.output.strip().startswith("error:") or "Error:" in result.output, result.output


def test_the_fuzzer_is_deterministic_and_tells_refusals_crashes_and_hangs_apart(tmp_path):
    import random

    from normflow.testing.fuzz import SPECS, mutate, run_forked

    first = [mutate(random.Random(4), SPECS[0]) for _ in range(3)]
    assert first == [mutate(random.Random(4), SPECS[0]) for _ in range(3)]
    assert run_forked(["validate", str(tmp_path / "missing.toml")], cwd=str(tmp_path))[:2] == ("ok", 2)
    assert run_forked(["run", "kawasaki-suffrage"], limit=0.01, cwd=str(tmp_path))[0] == "hang"
    outcome, code, err = run_forked(["experiment", "summarize", str(tmp_path)], cwd=str(tmp_path))
    assert (outcome, code) == ("ok", 2) and "manifest" in err


def test_an_input_depends_on_seed_command_and_index_only():
    from normflow.testing.fuzz import make_input

    seventh = make_input(3, "run", 7)
    make_input(3, "run", 8), make_input(3, "validate", 7)
    assert make_input(3, "run", 7) == seventh
    assert make_input(3, "run", 8) != seventh and make_input(4, "run", 7) != seventh
    # one input in UNCAPPED_EVERY runs under the default limits
    assert [make_input(0, "run", i)[3] for i in range(20)].count(False) == 1


def test_a_tally_resumes_where_it_stopped_and_refuses_overlaps(tmp_path):
    from normflow.testing.fuzz import Tally

    path = tmp_path / "tally.json"
    book = Tally(path, 0, 30.0, {"run": 25, "validate": 0, "experiment": 4})
    assert list(book.pending(10)) == [("run", 0, 10), ("run", 10, 20), ("run", 20, 25), ("experiment", 0, 4)]
    first = book.chunk("run", 0, 10)
    first.update(done=10, counts={"inputs": 10, "ok": 10, "exit2": 10, "cpu_seconds": 1.5})
    second = book.chunk("run", 10, 20)
    second.update(done=15, counts={"inputs": 5, "ok": 4, "crashes": 1, "exit2": 4}, found=[{"index": 12}])
    book.save()

    again = Tally(path, 0, 30.0, {"run": 25, "validate": 0, "experiment": 4})
    # the chunk cut short is finished first, then the rest
    assert list(again.pending(10)) == [("run", 10, 20), ("run", 20, 25), ("experiment", 0, 4)]
    # inputs before ``first`` are left to another tally
    assert list(again.pending(10, first=20)) == [("run", 20, 25), ("experiment", 20, 4)][:1]
    totals = again.totals()["run"]
    assert (totals["inputs"], totals["crashes"], totals["covered"], totals["cpu_seconds"]) == (15, 1, 15, 1.5)
    assert totals["found"] == [{"index": 12}]
    with pytest.raises(SystemExit, match="overlap"):
        again.chunk("run", 5, 15)
    # a range around earlier chunks replaces them
    assert again.chunk("run", 0, 20)["done"] == 0 and len(again.data["chunks"]) == 1
    with pytest.raises(SystemExit, match="seed 0"):
        Tally(path, 1, 30.0, {"run": 25})


def test_a_child_that_blocks_is_a_hang_and_one_that_ends_is_not():
    import os
    import time

    from normflow.testing.fuzz import _wait

    for nap, expect_hang in [(30.0, True), (0.0, False)]:
        pid = os.fork()
        if pid == 0:
            time.sleep(nap)
            os._exit(0)
        began = time.monotonic()
        waited = _wait(pid, limit=0.5)
        if waited is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        assert (waited is None) == expect_hang
        assert time.monotonic() - began < 10
