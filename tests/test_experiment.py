"""Experiments: the same table from any executor, resume after a kill,
failure isolation, seeds, sweeps, the store and the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from normflow import Simulation, hookimpl, load_scenario, param, replication_seeds
from normflow.cli import cli
from normflow.experiment import (
    ExperimentSpec,
    load_spec,
    make_plan,
    open_experiment,
    run_experiment,
    spec_from_dict,
    summarize,
)
from normflow.schema import ScenarioError
from normflow.store import StoreError

# A short horizon keeps each replication at a few hundredths of a second;
# the scheduled events fall after it, so they go too.
SHORT = {"scenario.end": "1992-12-31", "events": []}
SWEEP = {"local_government_role": [0.0, 1.0]}


@pytest.fixture(autouse=True, scope="module")
def core_only():
    """The experiment machinery is tested on the core alone, so the bundled
    plugins' behaviour cannot change these tables."""
    old = os.environ.get("NORMFLOW_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["NORMFLOW_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    yield
    if old is None:
        del os.environ["NORMFLOW_DISABLE_PLUGIN_AUTOLOAD"]
    else:
        os.environ["NORMFLOW_DISABLE_PLUGIN_AUTOLOAD"] = old


def small(out: Path, **kwargs):
    kwargs.setdefault("workers", 1)
    return run_experiment("minimal", out, replications=3, seed=7, sweep=SWEEP, overrides=SHORT, **kwargs)


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    return small(tmp_path_factory.mktemp("exp") / "one")


# -- the same table whatever runs it ---------------------------------------------------------


def test_one_row_per_replication_sorted_by_cell_and_replication(one_worker):
    table = one_worker.results()
    assert list(table[["cell", "replication"]].itertuples(index=False, name=None)) == [
        (c, k) for c in range(2) for k in range(3)
    ]
    assert (table["status"] == "ok").all()
    assert list(table["local_government_role"]) == [0.0] * 3 + [1.0] * 3
    assert list(table["spawn_key"]) == ["0", "1", "2"] * 2
    for col in ("agenda_placed_days", "agenda_placed_date", "agenda_placed_censored"):
        assert col in table.columns
    assert "final.states.japan.local-suffrage.position" in table.columns
    assert "counts.campaign" in table.columns
    censored = table["agenda_placed_censored"].to_numpy(dtype=bool)
    assert (table.loc[censored, "agenda_placed_days"] == table.loc[censored, "horizon_days"]).all()
    assert table.loc[censored, "agenda_placed_date"].isna().all()


def test_two_workers_give_the_same_table_and_summary(one_worker, tmp_path):
    two = small(tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(one_worker.results(), two.results())
    assert summarize(one_worker.directory).to_json() == summarize(two.directory).to_json()


def test_a_dask_cluster_gives_the_same_table(one_worker, tmp_path):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = small(tmp_path / "dask", scheduler=client)
    pd.testing.assert_frame_equal(one_worker.results(), on_dask.results())


def test_replication_k_is_seeded_with_the_kth_child_of_the_base_seed(one_worker):
    table = one_worker.results()
    scenario = load_scenario("minimal", overrides=SHORT)
    seeds = replication_seeds(7, 3)
    result = Simulation(scenario, seeds[2], autoload=False).run()
    row = table[(table["cell"] == 1) & (table["replication"] == 2)].iloc[0]
    assert row["seed"] == 7 and row["spawn_key"] == "2"
    assert row["counts.campaign"] == result.counts["campaign"]
    assert row["agenda_placed_censored"] == (result.milestones["agenda_placed"] is None)


# -- resume ---------------------------------------------------------------------------------


def _group_alive(pgid: int) -> bool:
    """Any process of the group that is not a zombie."""
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_run_resumes_computing_only_what_is_missing(tmp_path):
    out = tmp_path / "killed"
    n = 40
    cmd = [
        sys.executable,
        "-c",
        "from normflow.cli import main; main()",
        "experiment",
        "run",
        "minimal",
        "-n",
        str(n),
        "--seed",
        "3",
        "--workers",
        "2",
        "--out",
        str(out),
        "--set",
        f"scenario.end={SHORT['scenario.end']}",
        "--set",
        "events=[]",
    ]
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as sink:
        proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "parts").glob("*.parquet"))) < 4:
            assert proc.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "no rows appeared"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: its workers must notice and go
        proc.wait()
        deadline = time.monotonic() + 30
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_alive(proc.pid), "worker processes outlived the killed driver"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stored = len(open_experiment(out).results())
    assert 4 <= stored < n
    resumed = run_experiment(None, out, resume=True, workers=1)
    assert resumed.computed == n - stored
    assert not resumed.missing()
    uninterrupted = run_experiment(
        "minimal", tmp_path / "whole", replications=n, seed=3, overrides=SHORT, workers=1
    )
    pd.testing.assert_frame_equal(resumed.results(), uninterrupted.results())


def test_resume_grows_an_experiment_by_the_new_replications_only(tmp_path):
    out = tmp_path / "grow"
    run_experiment("minimal", out, replications=2, seed=1, overrides=SHORT, workers=1)
    grown = run_experiment("minimal", out, replications=3, seed=1, overrides=SHORT, workers=1, resume=True)
    assert grown.computed == 1
    whole = run_experiment("minimal", tmp_path / "whole", replications=3, seed=1, overrides=SHORT, workers=1)
    pd.testing.assert_frame_equal(grown.results(), whole.results())


def test_resume_with_a_different_spec_is_refused(tmp_path):
    out = tmp_path / "exp"
    run_experiment("minimal", out, replications=1, seed=1, overrides=SHORT, workers=1)
    with pytest.raises(StoreError, match=r"different experiment \(seed: 1 stored, 2 now\)"):
        run_experiment("minimal", out, replications=1, seed=2, overrides=SHORT, workers=1, resume=True)


def test_resume_under_another_plugin_set_is_refused(tmp_path):
    out = tmp_path / "exp"
    run_experiment("minimal", out, replications=1, overrides=SHORT, workers=1)
    with pytest.raises(StoreError, match="computed with the plugins none; now whole unknown are loaded"):
        run_experiment(
            "minimal",
            out,
            replications=2,
            overrides=SHORT,
            workers=1,
            resume=True,
            plugins=[WithWholeNumbers()],
        )


def test_a_new_run_never_writes_into_an_existing_experiment(tmp_path):
    out = tmp_path / "exp"
    run_experiment("minimal", out, replications=1, overrides=SHORT, workers=1)
    with pytest.raises(StoreError, match="--resume"):
        run_experiment("minimal", out, replications=1, overrides=SHORT, workers=1)


# -- failures ---------------------------------------------------------------------------------


class FailsSometimes:
    """Raises in about half the replications, chosen by the run's own stream."""

    normflow_plugin_name = "fails_sometimes"
    fixed = False

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def trouble():
            yield sim.env.timeout(10)
            if sim.rng("fails_sometimes").random() < 0.5 and not self.fixed:
                raise RuntimeError("deliberate failure")

        register("trouble", trouble)


def test_a_failing_replication_is_recorded_and_the_others_finish(tmp_path):
    kwargs = dict(replications=6, seed=5, overrides=SHORT, plugins=[FailsSometimes()])
    two = run_experiment("minimal", tmp_path / "two", workers=2, **kwargs)
    table = two.results()
    assert len(table) == 6
    failed = table[table["status"] == "failed"]
    assert 0 < len(failed) < 6
    assert failed["error"].str.contains("fails_sometimes").all()
    assert failed["error"].str.contains("deliberate failure").all()
    assert table.loc[table["status"] == "ok", "error"].isna().all()
    one = run_experiment("minimal", tmp_path / "one", workers=1, **kwargs)
    pd.testing.assert_frame_equal(table, one.results())
    summary = summarize(two.directory)
    assert summary.cells.loc[0, "failed"] == len(failed)
    assert summary.milestones.loc[0, "n"] == 6 - len(failed)


def test_retry_failed_computes_only_the_failed_replications_again(tmp_path):
    out = tmp_path / "retry"
    first = run_experiment(
        "minimal", out, replications=6, seed=5, overrides=SHORT, workers=1, plugins=[FailsSometimes()]
    )
    failed = int((first.results()["status"] == "failed").sum())
    assert failed > 0
    plain = run_experiment(None, out, resume=True, workers=1, plugins=[FailsSometimes()])
    assert plain.computed == 0
    fixed = FailsSometimes()
    fixed.fixed = True
    retried = run_experiment(None, out, resume=True, retry_failed=True, workers=1, plugins=[fixed])
    assert retried.computed == failed
    assert (retried.results()["status"] == "ok").all()


# -- spec and sweeps ------------------------------------------------------------------------------


def test_full_factorial_times_latin_hypercube_cells():
    spec = spec_from_dict(
        {
            "scenario": "minimal",
            "sweep": {"processes.agenda.stage_days": [15, 60], "local_government_role": [0.5, 1.0]},
            "latin_hypercube": {
                "samples": 5,
                "ranges": {"processes.accountability.responsiveness": [0.0, 0.4]},
            },
        }
    )
    plan = make_plan(spec)
    assert len(plan.cells) == 2 * 2 * 5
    assert plan.parameters == (
        "processes.agenda.stage_days",
        "local_government_role",
        "processes.accountability.responsiveness",
    )
    assert plan.cells[0]["processes.agenda.stage_days"] == 15
    assert plan.cells[-1]["local_government_role"] == 1.0
    values = sorted({c["processes.accountability.responsiveness"] for c in plan.cells})
    assert len(values) == 5
    # a Latin hypercube puts exactly one point in each fifth of the range
    assert sorted(int(v / 0.4 * 5) for v in values) == [0, 1, 2, 3, 4]


@attrs.frozen
class WholeConfig:
    rounds: int = param(3, low=1, high=100)


class WithWholeNumbers:
    normflow_plugin_name = "whole"

    @hookimpl
    def normflow_register_config(self, register):
        register("whole", WholeConfig)


def test_latin_hypercube_rounds_whole_number_fields():
    spec = spec_from_dict(
        {
            "scenario": "minimal",
            "latin_hypercube": {"samples": 6, "ranges": {"plugins.whole.rounds": [1, 30]}},
        }
    )
    cells = make_plan(spec, plugins=[WithWholeNumbers()]).cells
    assert all(isinstance(c["plugins.whole.rounds"], int) for c in cells)
    assert all(
        isinstance(c["processes.agenda.check_days"], float)
        for c in make_plan(
            spec_from_dict(
                {
                    "scenario": "minimal",
                    "latin_hypercube": {"samples": 2, "ranges": {"processes.agenda.check_days": [1, 30]}},
                }
            )
        ).cells
    )


def test_spec_file_with_quoted_and_nested_dotted_keys(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text(
        """
scenario = "minimal"
replications = 4
seed = 11

[overrides]
"scenario.end" = 1992-12-31
events = []

[sweep]
processes.agenda.stage_days = [15, 60]
"local_government_role" = [0.0, 1.0]
""",
        encoding="utf-8",
    )
    spec = load_spec(path)
    assert spec.overrides == {"scenario.end": "1992-12-31", "events": []}
    assert spec.sweep == {"processes.agenda.stage_days": [15, 60], "local_government_role": [0.0, 1.0]}
    assert len(make_plan(spec).cells) == 4


def test_a_bad_sweep_value_names_the_spec_entry_and_the_range():
    spec = ExperimentSpec(scenario="minimal", sweep={"processes.agenda.stage_days": [30, -5]})
    with pytest.raises(ScenarioError) as err:
        make_plan(spec)
    assert "sweep.processes.agenda.stage_days[1]: got -5" in str(err.value)
    assert "[1, 3650]" in str(err.value)


def test_a_misspelt_sweep_path_gets_a_suggestion():
    spec = ExperimentSpec(scenario="minimal", sweep={"processes.agenda.stage_dayz": [30]})
    with pytest.raises(ScenarioError, match="did you mean 'stage_days'"):
        make_plan(spec)


def test_common_seeds_pair_replications_across_cells_independent_ones_do_not():
    common = make_plan(ExperimentSpec(scenario="minimal", replications=2, sweep=SWEEP))
    assert [t.spawn_key for t in common.tasks()] == [(0,), (0,), (1,), (1,)]
    independent = make_plan(
        ExperimentSpec(scenario="minimal", replications=2, sweep=SWEEP, seeds="independent")
    )
    assert [t.spawn_key for t in independent.tasks()] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    child = np.random.SeedSequence(4).spawn(2)[1].spawn(2)[0]
    assert child.spawn_key == (1, 0)


# -- command line -----------------------------------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_cli_run_then_summarize(tmp_path):
    out = tmp_path / "cli"
    res = invoke(
        "experiment", "run", "minimal", "-n", "2", "--workers", "1", "--out", str(out), "--csv",
        "--sweep", "processes.agenda.stage_days=15,60", "--set", "scenario.end=1992-12-31", "--set", "events=[]",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(out)
    assert "4 replications stored (0 failed" in res.stderr
    csv = pd.read_csv(out / "results.csv")
    assert list(csv["processes.agenda.stage_days"]) == [15, 15, 60, 60]
    summary = json.loads(invoke("experiment", "summarize", str(out), "--json").stdout)
    assert [c["params"] for c in summary["cells"]] == [
        {"processes.agenda.stage_days": 15},
        {"processes.agenda.stage_days": 60},
    ]
    assert summary["cells"][0]["milestones"]["coalition_formed"]["n"] == 2
    text = invoke("experiment", "summarize", str(out)).stdout
    assert "time to milestone" in text and "coalition_formed" in text


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path):
    res = invoke(
        "experiment",
        "run",
        "minimal",
        "--sweep",
        "processes.agenda.stage_days=-1",
        "--out",
        str(tmp_path / "x"),
    )
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert "sweep.processes.agenda.stage_days[0]" in res.stderr
    res = invoke("experiment", "summarize", str(tmp_path / "nothing"))
    assert res.exit_code == 2 and "no experiment here" in res.stderr
