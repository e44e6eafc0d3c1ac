"""Issue 18, defects 7 and 8: a replication that never ends, or that kills
the process running it, is stored as failed with its reason, the others
finish, and ``--resume`` completes; a plan too large is refused at once,
and a large one shows its progress."""

from __future__ import annotations

import os
import time

import pytest
from click.testing import CliRunner

from normflow import hookimpl
from normflow.cli import cli
from normflow.experiment import run_experiment
from normflow.schema import ScenarioError

SHORT = {"scenario.end": "1991-12-31", "events": []}


@pytest.fixture(autouse=True)
def core_only(monkeypatch):
    monkeypatch.setenv("NORMFLOW_DISABLE_PLUGIN_AUTOLOAD", "1")


class Misbehaves:
    """In replications 1 and 3: sleeps forever, or ends its process."""

    normflow_plugin_name = "misbehaves"

    def __init__(self, how: str):
        self.how = how

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def trouble():
            yield sim.env.timeout(1)
            if tuple(sim.seed.spawn_key) in ((1,), (3,)):
                if self.how == "sleep":
                    time.sleep(10**6)
                os._exit(3)

        register("trouble", trouble)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("how", ["sleep", "exit"])
def test_a_hung_or_process_killing_replication_is_stored_as_failed(tmp_path, workers, how):
    out = tmp_path / "exp"
    began = time.monotonic()
    exp = run_experiment(
        "minimal",
        out,
        replications=5,
        seed=2,
        overrides=SHORT,
        workers=workers,
        plugins=[Misbehaves(how)],
        timeout=3,
    )
    # A hang guard, not a speed claim: the sleeping replication asks for 10**6 s, so a bound
    # far above any loaded machine's time for five short replications still tells the two apart.
    assert time.monotonic() - began < 900
    table = exp.results()
    assert len(table) == 5
    bad = table[table["status"] == "failed"]
    assert list(bad["replication"]) == [1, 3]
    reason = "no result after 3 s" if how == "sleep" else "died (exit code 3)"
    assert bad["error"].str.contains(reason, regex=False).all(), list(bad["error"])
    assert (table.loc[table["status"] == "ok", "error"].isna()).all()
    resumed = run_experiment(None, out, resume=True, workers=workers, plugins=[Misbehaves(how)], timeout=3)
    assert resumed.computed == 0 and not resumed.missing()


def test_a_plan_above_the_limit_is_refused_before_any_checking(tmp_path):
    began = time.monotonic()
    result = CliRunner().invoke(
        cli,
        [
            "experiment", "run", "minimal", "-n", "10", "--out", str(tmp_path / "x"),
            "--sweep", "processes.agenda.stage_days=" + ",".join(str(d) for d in range(1, 1001)),
            "--sweep", "local_government_role=" + ",".join(f"{i / 100:g}" for i in range(200)),
        ],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "200,000 cells x 10 replications = 2,000,000" in result.output and "--max-tasks" in result.output
    assert time.monotonic() - began < 30
    assert not (tmp_path / "x").exists()


def test_a_large_plan_reports_its_progress(tmp_path):
    from normflow.experiment.plan import PROGRESS_FROM, make_plan
    from normflow.experiment.spec import ExperimentSpec

    seen: list[tuple[int, int]] = []
    spec = ExperimentSpec(
        scenario="minimal",
        replications=1,
        sweep={
            "processes.agenda.stage_days": list(range(1, 51)),
            "processes.agenda.check_days": list(range(1, 1 + PROGRESS_FROM // 50)),
        },
    )
    plan = make_plan(spec, on_cell=lambda done, total: seen.append((done, total)))
    assert len(plan.cells) == PROGRESS_FROM
    assert seen[0] == (0, PROGRESS_FROM) and seen[-1] == (PROGRESS_FROM, PROGRESS_FROM)
    assert 50 <= len(seen) <= 102
    with pytest.raises(ScenarioError, match="--max-tasks"):
        make_plan(spec, max_tasks=PROGRESS_FROM - 1)


def test_on_dask_lost_work_is_resubmitted_and_a_worker_killing_replication_is_failed(tmp_path):
    """Defect 7 on a real (local) Dask cluster with one worker process: the
    replication that ends its worker takes the scattered data and the other
    queued work with it (``FutureCancelledError`` used to become failed rows
    by the hundred); lost work is submitted again with its data, and the
    culprit, after killing a fresh worker each time, is a failed row."""
    distributed = pytest.importorskip("distributed")
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        exp = run_experiment(
            "minimal",
            tmp_path / "exp",
            replications=3,
            seed=2,
            overrides=SHORT,
            scheduler=client,
            plugins=[Misbehaves("exit")],
            retries=1,
        )
    table = exp.results()
    assert len(table) == 3  # every replication stored: none lost, none silently dropped
    bad = table[table["status"] == "failed"]
    assert 1 in list(bad["replication"]), list(table["error"])
    # Dask cannot tell which task killed a worker: one queued beside the
    # culprit each time may be blamed too (docs/robustness.md)
    assert bad["error"].str.contains("KilledWorker").all(), list(bad["error"])
    assert (table.loc[table["status"] == "ok", "error"].isna()).all()


TROUBLE = """
import time

import normflow


@normflow.hookimpl
def normflow_register_processes(sim, register):
    def trouble():
        yield sim.env.timeout(1)
        if tuple(sim.seed.spawn_key) == (1,):
            {action}

    register("trouble", trouble)
"""


def test_the_command_with_timeout_fails_a_replication_that_sleeps_forever_as_one_that_raises(tmp_path):
    """Done-when of issue 18, through the real command in a fresh
    interpreter: ``--timeout 5`` and a replication that never ends finish,
    store it as failed and exit as a replication that raises does."""
    from plugin_helpers import fake_distribution, normflow_cli

    from normflow.experiment import open_experiment

    outcomes = {}
    for how, action in [("sleeps", "time.sleep(10**6)"), ("raises", "raise RuntimeError('deliberate')")]:
        site = fake_distribution(
            tmp_path / how, "trouble_plugin", TROUBLE.format(action=action), entry="trouble"
        )
        out = tmp_path / f"exp-{how}"
        args = [
            "experiment",
            "run",
            "minimal",
            "-n",
            "3",
            "--workers",
            "2",
            "--timeout",
            "5",
            "--out",
            str(out),
        ]
        args += ["--set", "scenario.end=1991-12-31", "--set", "events=[]", "--with", "trouble"]
        began = time.monotonic()
        done = normflow_cli(*args, pythonpath=site, env={"NORMFLOW_LOAD_PLUGINS": "trouble"})
        assert time.monotonic() - began < 100
        assert "Traceback" not in done.stderr, done.stderr
        table = open_experiment(out).results()
        failed = table[table["status"] == "failed"]
        assert list(failed["replication"]) == [1], (how, done.stderr)
        assert (table["status"] == "ok").sum() == 2
        outcomes[how] = (done.returncode, str(failed["error"].iloc[0]))
    assert outcomes["sleeps"][0] == outcomes["raises"][0] == 0
    assert "no result after 5 s" in outcomes["sleeps"][1]
    assert "deliberate" in outcomes["raises"][1]
