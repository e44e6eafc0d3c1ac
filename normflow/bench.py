"""The benchmark suite behind ``normflow bench``: the engine's speed, measured
against naive references in the same run.

Rows (``docs/performance.md`` shows a table as measured and how to read it):

- ``information N``: the information-exchange process alone on N groups over
  ten simulated years (a generated scenario: one state, N/10 local
  governments, every other process idle), beside the naive SimPy reference
  (one generator per group) and a Mesa model stepping weekly, both kept in
  the source tree's ``benchmarks/`` directory;
- ``scenario NAME``: a whole bundled scenario with its plugins
  (``kawasaki-suffrage`` when it is bundled, else ``minimal``);
- ``experiment R×NAME wW``: R replications of that scenario on W workers,
  through ``normflow.experiment``;
- ``trace …``: the 18,000-group information row and the whole scenario
  again, writing their trace as JSON Lines and as Parquet, each traced run
  made right after the untraced run of its repetition (same seed) so that
  both see the same load; then the information row traced with a horizon
  four times shorter, to see whether memory grows with the simulated
  horizon.

Every measurement runs in a fresh Python process (``python -m normflow.bench
JOB``), so rows do not share caches or heap, and the peak resident memory of
that process is the row's peak memory. Ratios to the references are ratios of
CPU time per event, taken within one repetition and reported as the median
over repetitions: on a machine shared with other jobs, wall time measures the
neighbours as much as the code. Events per second are on wall time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from normflow.scenario import Scenario, bundled_scenarios, load_scenario, scenario_from_dict

#: Where the naive references live: the source tree's ``benchmarks/``.
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "benchmarks"

#: Groups per local government in the generated information scenarios.
GROUPS_PER_LOCALITY = 10


class BenchError(Exception):
    """A measurement failed; the message says which and why."""


def information_scenario(groups: int, years: float = 10.0) -> Scenario:
    """One state, ``groups // 10`` local governments and ``groups`` groups,
    with every process but information exchange idle (no campaigns, no local
    sharing, no legislature, no negotiation)."""
    start = dt.date(2000, 1, 1)
    end = start + dt.timedelta(days=round(years * 365.25))
    return scenario_from_dict(
        {
            "scenario": {
                "name": f"information-{groups}",
                "start": start.isoformat(),
                "end": end.isoformat(),
                "description": "information exchange alone (benchmark)",
            },
            "states": [{"id": "home"}],
            "issues": [{"id": "issue", "state": "home"}],
            "local_governments": {
                "groups": [{"state": "home", "count": max(groups // GROUPS_PER_LOCALITY, 1)}]
            },
            "civil_society": {"populations": [{"state": "home", "count": groups}]},
            "processes": {"information": {"lg_share_rate": 0.0}, "accountability": {"campaign_rate": 0.0}},
        },
        file="<benchmark>",
    )


def full_scenario_name() -> str:
    """The bundled case study the suite runs whole."""
    return "kawasaki-suffrage" if "kawasaki-suffrage" in bundled_scenarios() else "minimal"


# -- one measurement, in the process that runs it ---------------------------------------


def _scenario_of(job: dict[str, Any]) -> Scenario:
    if job["scenario"] == "information":
        return information_scenario(job["groups"], job.get("years", 10.0))
    return load_scenario(job["scenario"])


def _timed(fn: Callable[[], int], memory: bool) -> dict[str, Any]:
    if memory:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    events = fn()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    out: dict[str, Any] = {"events": int(events), "wall": wall, "cpu": cpu}
    if memory:
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


class _DescendantsCpu:
    """CPU seconds spent by this process's descendants while the block runs,
    read from ``/proc`` every quarter second (a pool's workers may be
    grandchildren, which ``RUSAGE_CHILDREN`` never sees). Zero where there
    is no ``/proc``."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.seconds = 0.0
        self._stop = threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def _sample(self) -> None:
        stats: dict[int, tuple[int, float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields after the name: state, ppid, ..., utime (12th), stime (13th)
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / self._tick)
        mine = {os.getpid()}
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _) in stats.items():
                if ppid in mine and pid not in mine:
                    mine.add(pid)
                    grew = True
        for pid in mine - {os.getpid()}:
            self.seen[pid] = max(self.seen.get(pid, 0.0), stats[pid][1])

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self._sample()

    def __enter__(self) -> _DescendantsCpu:
        if Path("/proc/self/stat").exists():
            self._sample()
            self._before = dict(self.seen)
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if hasattr(self, "_thread"):
            self._stop.set()
            self._thread.join()
            self.seconds = sum(cpu - self._before.get(pid, 0.0) for pid, cpu in self.seen.items())


def measure(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job here and return what it measured. ``job["kind"]`` is
    ``engine``, ``simpy``, ``mesa`` or ``experiment``."""
    from normflow.simulation import Simulation

    kind = job["kind"]
    memory = bool(job.get("memory"))
    if kind == "experiment":
        from normflow.experiment import run_experiment

        with tempfile.TemporaryDirectory() as out:

            def experiment() -> int:
                exp = run_experiment(
                    job["scenario"],
                    Path(out) / "exp",
                    replications=job["replications"],
                    seed=job.get("seed", 0),
                    workers=job["workers"],
                )
                table = exp.results()
                counts = [c for c in table.columns if c.startswith("counts.")]
                return int(table[counts].fillna(0).to_numpy().sum())

            with _DescendantsCpu() as workers:
                result = _timed(experiment, memory)
            # the pool's workers (children of a fork server) spend the CPU: count it
            result["cpu"] += workers.seconds
    elif kind == "calibration":
        # prior draws: a Latin hypercube over two rates of the case, one run per
        # draw, through the experiment pool (what a calibration's particles cost)
        from normflow import run_experiment

        with tempfile.TemporaryDirectory() as out:
            spec = Path(out) / "prior.toml"
            spec.write_text(
                f'scenario = "{job["scenario"]}"\nreplications = 1\nseed = 3\n'
                "[latin_hypercube]\n"
                f"samples = {job['particles']}\n"
                "[latin_hypercube.ranges]\n"
                '"processes.information.contact_rate" = [3.0, 12.0]\n'
                '"processes.accountability.campaign_rate" = [2.0, 8.0]\n',
                encoding="utf-8",
            )

            def calibration() -> int:
                run_experiment(spec, Path(out) / "exp", workers=job["workers"])
                return int(job["particles"])

            with _DescendantsCpu() as workers:
                result = _timed(calibration, memory)
            result["cpu"] += workers.seconds
    elif kind == "engine":
        scenario = _scenario_of(job)
        information = job["scenario"] == "information"
        with tempfile.TemporaryDirectory() as out:
            fmt = job.get("trace")
            trace = Path(out) / f"trace.{fmt}" if fmt else None
            sim = Simulation(scenario, job.get("seed", 1), autoload=not information, trace=trace)

            def engine() -> int:
                counts = sim.run().counts
                return counts.get("information_exchanged", 0) if information else sum(counts.values())

            result = _timed(engine, memory)
            if trace is not None:
                files = [trace] if trace.is_file() else list(trace.iterdir())
                result["trace_mb"] = sum(f.stat().st_size for f in files) / 2**20
    elif kind in ("simpy", "mesa"):
        sys.path.insert(0, str(REFERENCE_DIR))
        from normflow.rng import Streams
        from normflow.world import World

        scenario = _scenario_of(job)
        world = World(scenario, Streams(job.get("seed", 1))("world"))
        params = scenario.processes.information
        if kind == "simpy":
            from reference_simpy import NaiveInformationExchange

            model: Any = NaiveInformationExchange(world, params, job.get("seed", 1), scenario.horizon)
        else:
            from reference_mesa import InformationModel

            model = InformationModel(world, params, job.get("seed", 1), scenario.horizon)
        result = _timed(model.run, memory)
    else:
        raise BenchError(f"unknown job kind {kind!r}")
    import resource  # Unix only, and only needed where a measurement runs

    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


_EMPTY: tempfile.TemporaryDirectory[str] | None = None


def empty_dir() -> str:
    """An empty directory, removed at exit: the working directory of every
    measured process. ``python -c`` and ``python -m`` put their working
    directory first on ``sys.path``, so every ``importlib.metadata`` scan of a
    run (SimPy's version, plugin discovery) would list a crowded directory
    such as a shared ``/tmp`` (its entries coming and going: noise of the size
    of a start-up change), and a ``normflow`` folder there would shadow the
    engine being measured (another tree's, given by ``PYTHONPATH``, comes after
    it)."""
    global _EMPTY
    if _EMPTY is None:
        _EMPTY = tempfile.TemporaryDirectory(prefix="normflow-bench-")
    return _EMPTY.name


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """``measure(job)`` in a fresh Python process."""
    env = _env()
    done = subprocess.run(
        [sys.executable, "-m", "normflow.bench", json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty_dir(),
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise BenchError(f"measurement {job} failed (exit {done.returncode}): {tail}")
    return json.loads(lines[-1])


#: A whole run in a fresh process, written against the public API as it was at
#: the start of the performance work, so that an older commit runs it unchanged:
#: CPU of the whole process (interpreter, imports, loading, the run) and of the run.
RUN_SNIPPET = """
import json, sys, time
from normflow import Simulation, load_scenario
loaded = time.process_time()
scenario = load_scenario(sys.argv[1])
built = time.process_time()
result = Simulation(scenario, int(sys.argv[2])).run()
done = time.process_time()
print(json.dumps({"events": sum(result.counts.values()), "cpu": done, "cpu_run": done - built,
                  "cpu_import": loaded}))
"""

#: The commit the second performance step started from (issue 16), and a copy
#: of its kawasaki-suffrage scenario, frozen so that later changes of the model
#: do not move the comparison.
START_COMMIT = "b326518"
FROZEN_KAWASAKI = REFERENCE_DIR / "frozen" / "kawasaki-suffrage-b326518.toml"


#: What ``import normflow`` sets before numpy loads (normflow/__init__.py): idle
#: OpenBLAS threads sleep after 2**20 cycles instead of spinning for ~0.1 s.
#: The bench gives it to the processes whose only point of comparison is
#: normflow itself (``import numpy`` against ``import normflow``), so that the
#: spin does not count for one side only; see ``run_whole``'s ``spin_off``.
SHORT_SPIN = {"OPENBLAS_THREAD_TIMEOUT": "20"}


def _env(tree: Path | None = None, short_spin: bool = False) -> dict[str, str]:
    """The environment of a measured process: byte code cached as in any normal
    install, optionally another source tree's normflow and plugins first, and
    optionally ``SHORT_SPIN`` (a value already set stays)."""
    env = dict(os.environ)
    if short_spin:
        for key, value in SHORT_SPIN.items():
            env.setdefault(key, value)
    env.setdefault("PYTHONHASHSEED", "0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tree is not None:
        plugins = sorted(str(p) for p in (tree / "plugins").glob("*") if p.is_dir())
        env["PYTHONPATH"] = os.pathsep.join([str(tree), str(tree / "plugins"), *plugins])
    return env


def run_whole(
    scenario: str | Path, seed: int = 1, tree: Path | None = None, spin_off: bool = False
) -> dict[str, Any]:
    """One whole run of ``scenario`` in a fresh process (``tree``: another
    source tree's engine; ``spin_off``: with ``SHORT_SPIN`` set from the start,
    for an engine that does not set it itself): events, CPU of the process and
    of the run."""
    env = _env(tree, short_spin=spin_off)
    done = subprocess.run(
        [sys.executable, "-c", RUN_SNIPPET, str(scenario), str(seed)],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty_dir(),
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-3:])
        raise BenchError(f"a run of {scenario} failed (exit {done.returncode}): {tail}")
    out = json.loads(lines[-1])
    out["wall"] = out["cpu"]  # not timed on the wall; rows of whole runs are CPU only
    out["peak_rss_mb"] = 0.0
    return out


def import_cpu(module: str) -> float:
    """CPU seconds of a fresh Python process that imports ``module`` and stops."""
    code = f"import {module}, time; print(time.process_time())"
    env = _env(short_spin=True)  # both sides alike (SHORT_SPIN)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=empty_dir(), check=False
    )
    if done.returncode != 0:
        raise BenchError(f"import {module} failed: {done.stderr.strip().splitlines()[-1:]}")
    return float(done.stdout.strip().splitlines()[-1])


class StartTree:
    """The start commit checked out in a temporary git worktree (None where
    git or the commit is not available)."""

    def __init__(self, rev: str = START_COMMIT):
        self.rev = rev
        self.path: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Path | None:
        root = REFERENCE_DIR.parent
        if not (root / ".git").exists():
            return None
        self._tmp = tempfile.TemporaryDirectory()
        path = Path(self._tmp.name) / "start"
        done = subprocess.run(
            ["git", "-C", str(root), "worktree", "add", "--detach", "-q", str(path), self.rev],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return None
        self.path = path
        return path

    def __exit__(self, *exc: object) -> None:
        if self.path is not None:
            subprocess.run(
                ["git", "-C", str(REFERENCE_DIR.parent), "worktree", "remove", "--force", str(self.path)],
                capture_output=True,
                check=False,
            )
        if self._tmp is not None:
            self._tmp.cleanup()


# -- the suite ---------------------------------------------------------------------------


@attrs.define
class Row:
    """One line of the table."""

    name: str
    events: int
    wall_s: float
    events_per_s: float
    cpu_us_per_event: float
    peak_mb: float
    ratio_vs_simpy: float | None = None
    ratio_vs_mesa: float | None = None
    #: CPU per event net of what a run costs whatever its length (imports, set-up,
    #: summary): the difference between a full and a quarter horizon
    marginal_us_per_event: float | None = None
    #: CPU seconds of one whole run in a fresh process (interpreter, imports, the run)
    cpu_s_per_run: float | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        for key, value in list(out.items()):
            if isinstance(value, float):
                out[key] = round(value, 3)
        for key in ("ratio_vs_mesa", "marginal_us_per_event", "cpu_s_per_run"):
            if out[key] is None:
                del out[key]
        return out


@attrs.define
class Target:
    """A target of the suite, its measured value and whether it is met.

    ``measured`` is the median over repetitions where the suite repeats the
    measurement; ``runs`` then holds each repetition's own value, so that a
    reader sees whether the verdict holds in every run or only in the median
    (on a shared machine a target at the edge is met in some runs and not in
    others)."""

    name: str
    measured: float
    goal: str
    met: bool = False
    runs: list[float] = attrs.field(factory=list)

    def _meets(self, value: float) -> bool:
        sense, bound = self.goal.split()
        return value >= float(bound) if sense == ">=" else value <= float(bound)

    def judge(self) -> None:
        """Set ``met`` from the median (``measured``) and the goal."""
        self.met = self._meets(self.measured)

    @property
    def runs_met(self) -> int:
        """How many of the repetitions meet the goal on their own."""
        return sum(self._meets(v) for v in self.runs)

    def verdict(self) -> str:
        """ "yes" or "no", and how many repetitions agree where they do not all agree."""
        word = "yes" if self.met else "no"
        if self.runs and self.runs_met not in (0, len(self.runs)):
            word += f" ({self.runs_met} of {len(self.runs)} runs meet it)"
        return word

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "measured": round(self.measured, 3),
            "goal": self.goal,
            "met": self.met,
        }
        if self.runs:
            out["runs"] = [round(v, 3) for v in self.runs]
            out["runs_met"] = self.runs_met
        return out


@attrs.define
class Report:
    rows: list[Row]
    targets: list[Target]
    settings: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "targets": [t.to_dict() for t in self.targets],
            "settings": self.settings,
        }


def _median_row(name: str, runs: list[dict[str, Any]], note: str = "") -> Row:
    wall = statistics.median(r["wall"] for r in runs)
    events = int(statistics.median(r["events"] for r in runs))
    cpu = statistics.median(r["cpu"] / max(r["events"], 1) for r in runs)
    return Row(
        name=name,
        events=events,
        wall_s=wall,
        events_per_s=statistics.median(r["events"] / r["wall"] for r in runs),
        cpu_us_per_event=cpu * 1e6,
        peak_mb=max(r["peak_rss_mb"] for r in runs),
        note=note,
    )


def _years(years: float) -> str:
    return f"{years:g} year" + ("" if years == 1 else "s")


def _ratios(reference: list[dict[str, Any]], engine: list[dict[str, Any]]) -> list[float]:
    """Reference CPU per event / engine CPU per event, repetition by repetition."""
    return [
        (r["cpu"] / max(r["events"], 1)) / (e["cpu"] / max(e["events"], 1))
        for r, e in zip(reference, engine, strict=True)
    ]


def _ratio(reference: list[dict[str, Any]], engine: list[dict[str, Any]]) -> float:
    """Median over repetitions of reference CPU per event / engine CPU per event."""
    return statistics.median(_ratios(reference, engine))


def _target(name: str, runs: list[float], goal: str) -> Target:
    """A target measured once per repetition: the median, and each run's value."""
    return Target(name, statistics.median(runs), goal, runs=list(runs))


def run_suite(
    quick: bool = False,
    repeat: int | None = None,
    say: Callable[[str], None] = lambda _: None,
    replications: int | None = None,
) -> Report:
    """Measure every row; ``quick`` trims sizes and replications for a smoke run."""
    if not (REFERENCE_DIR / "reference_simpy.py").exists():
        raise BenchError(
            f"the naive references are not at {REFERENCE_DIR}: run the suite from a source checkout"
        )
    repeat = repeat or (1 if quick else 3)
    sizes: list[tuple[int, float, float | None, float | None]] = [
        (1_800, 10.0, 10.0, 10.0),
        # the references' shorter horizons keep --quick under a minute of CPU
        (18_000, 2.0, 1.0, 0.5),
    ]
    if not quick:
        # (groups, engine years, SimPy reference years, Mesa years): the references run
        # shorter horizons at large sizes; their events per second are steady in time
        sizes = [
            (1_800, 10.0, 10.0, 10.0),
            (18_000, 10.0, 2.0, 1.0),
            (180_000, 10.0, 1.0, 0.5),
            # the engine alone at 1.8M groups (the references would take hours)
            (1_800_000, 1.0, None, None),
        ]
    full = full_scenario_name()
    replications = replications or (4 if quick else 200)
    rows: list[Row] = []
    targets: list[Target] = []
    per_event: dict[int, float] = {}
    simpy_traced: list[dict[str, Any]] = []
    engine_traced: list[dict[str, Any]] = []
    traced_groups, traced_years = sizes[1][0], sizes[1][1]
    # the traced runs of the trace rows, each beside the untraced run it is
    # compared with (the same seed, in the same minute: the load of this shared
    # machine drifts over the suite, and the traced rows move most with it)
    traced_info: dict[str, list[dict[str, Any]]] = {"jsonl": [], "parquet": []}

    for groups, years, simpy_years, mesa_years in sizes:
        runs: dict[str, list[dict[str, Any]]] = {"engine": [], "quarter": [], "simpy": [], "mesa": []}
        reps = repeat if groups < 100_000 else 1
        for k in range(reps):
            say(f"information {groups:,}: repetition {k + 1} of {reps}")
            base = {"scenario": "information", "groups": groups, "seed": 1 + k}
            runs["engine"].append(run_job({"kind": "engine", **base, "years": years}))
            if groups == traced_groups:
                for fmt, traced in traced_info.items():
                    traced.append(run_job({"kind": "engine", **base, "years": years, "trace": fmt}))
            runs["quarter"].append(run_job({"kind": "engine", **base, "years": years / 4}))
            if simpy_years is not None:
                runs["simpy"].append(run_job({"kind": "simpy", **base, "years": simpy_years}))
            if mesa_years is not None:
                runs["mesa"].append(run_job({"kind": "mesa", **base, "years": mesa_years}))
        engine = _median_row(f"information {groups:,}", runs["engine"], _years(years))
        rows.append(engine)
        if simpy_years is not None:
            engine.ratio_vs_simpy = _ratio(runs["simpy"], runs["engine"])
            rows.append(_median_row(f"  naive SimPy {groups:,}", runs["simpy"], _years(simpy_years)))
        if mesa_years is not None:
            engine.ratio_vs_mesa = _ratio(runs["mesa"], runs["engine"])
            rows.append(_median_row(f"  Mesa weekly {groups:,}", runs["mesa"], _years(mesa_years)))
        engine.marginal_us_per_event = 1e6 * statistics.median(
            (full["cpu"] - part["cpu"]) / max(full["events"] - part["events"], 1)
            for full, part in zip(runs["engine"], runs["quarter"], strict=True)
        )
        per_event[groups] = engine.marginal_us_per_event
        if groups == sizes[1][0]:
            simpy_traced, engine_traced = runs["simpy"], runs["engine"]
        if groups == 1_800:
            targets.append(
                _target(
                    "information vs naive SimPy at 1,800 groups",
                    _ratios(runs["simpy"], runs["engine"]),
                    ">= 10.0",
                )
            )

    say(f"scenario {full}, untraced and traced")
    full_runs: list[dict[str, Any]] = []
    full_simpy: list[dict[str, Any]] = []
    traced_whole: dict[str, list[dict[str, Any]]] = {"jsonl": [], "parquet": []}
    for k in range(repeat):
        full_runs.append(run_job({"kind": "engine", "scenario": full, "seed": 1 + k}))
        full_simpy.append(run_job({"kind": "simpy", "scenario": full, "seed": 1 + k}))
        # traced beside the untraced run (see traced_info above)
        for fmt, traced in traced_whole.items():
            traced.append(run_job({"kind": "engine", "scenario": full, "seed": 1 + k, "trace": fmt}))
    row = _median_row(f"scenario {full}", full_runs, "all processes and plugins")
    row.ratio_vs_simpy = _ratio(full_simpy, full_runs)
    rows.append(row)
    rows.append(_median_row(f"  naive SimPy on {full}", full_simpy, "information exchange"))
    targets.append(
        _target(f"whole {full} vs naive SimPy information exchange", _ratios(full_simpy, full_runs), ">= 5.0")
    )
    scenario_trace_extra: dict[str, list[float]] = {}
    for fmt, label in (("jsonl", "JSON Lines"), ("parquet", "Parquet")):
        traced_full = traced_whole[fmt]
        traced_row = _median_row(f"  {full}, trace {label}", traced_full, "the whole run, traced")
        traced_row.ratio_vs_simpy = _ratio(full_simpy, traced_full)
        rows.append(traced_row)
        scenario_trace_extra[label] = [x - 1.0 for x in _ratios(traced_full, full_runs)]

    # each bundled case as a whole run, in a fresh process: what a user waits for
    for name in sorted(bundled_scenarios()):
        say(f"case {name}: whole runs")
        got = [run_whole(name, 1 + k) for k in range(repeat)]
        cpu = statistics.median(r["cpu"] for r in got)
        case = Row(
            name=f"case {name}",
            events=int(statistics.median(r["events"] for r in got)),
            wall_s=cpu,
            events_per_s=statistics.median(r["events"] / r["cpu"] for r in got),
            cpu_us_per_event=1e6 * statistics.median(r["cpu_run"] / max(r["events"], 1) for r in got),
            peak_mb=0.0,
            cpu_s_per_run=cpu,
            note=f"{1 / cpu:.2f} runs/s/core; the run alone {statistics.median(r['cpu_run'] for r in got):.2f} s",
        )
        rows.append(case)

    # start-up: import normflow against import numpy, fresh processes, alternating
    say("start-up: import numpy / import normflow")
    import_cpu("normflow, normflow.simulation")  # byte code written once, as in any install
    numpy_s: list[float] = []
    normflow_s: list[float] = []
    # context, no goal: what a run's start-up loads besides (the simulation, its
    # clocks on SimPy, plugin discovery), which ``import normflow`` leaves to the first run
    run_s: list[float] = []
    for _ in range(max(repeat, 3) + 2):
        numpy_s.append(import_cpu("numpy"))
        normflow_s.append(import_cpu("normflow"))
        run_s.append(import_cpu("normflow, normflow.simulation, importlib.metadata"))
    for label, values, note in (
        ("import numpy", numpy_s, "process CPU, fresh interpreter"),
        ("import normflow", normflow_s, "process CPU, fresh interpreter"),
        (
            "import normflow + run machinery",
            run_s,
            f"{statistics.median(a / b for a, b in zip(run_s, numpy_s, strict=True)):.2f}× import numpy; "
            "normflow.simulation and importlib.metadata, which the first run loads",
        ),
    ):
        cpu = statistics.median(values)
        rows.append(Row(label, 0, cpu, 0.0, 0.0, 0.0, cpu_s_per_run=cpu, note=note))
    targets.append(
        _target(
            "start-up: import normflow / import numpy (process CPU)",
            [a / b for a, b in zip(normflow_s, numpy_s, strict=True)],
            "<= 1.5",
        )
    )

    # the engine at the start commit, on a frozen copy of its kawasaki-suffrage scenario
    say(f"kawasaki-suffrage as of {START_COMMIT}: this engine and the engine at {START_COMMIT}")
    with StartTree() as start_tree:
        if start_tree is None or not FROZEN_KAWASAKI.exists():
            say(f"skipped: no git worktree of {START_COMMIT} or no frozen scenario")
        else:
            run_whole(FROZEN_KAWASAKI, 1, start_tree)  # byte code written once
            then: list[dict[str, Any]] = []
            now: list[dict[str, Any]] = []
            # context, no goal: the old engine with the OpenBLAS setting that
            # today's ``import normflow`` makes (SHORT_SPIN), to show how much
            # of the whole-process ratio that one setting accounts for
            then_short: list[dict[str, Any]] = []
            for k in range(max(repeat, 2)):
                then.append(run_whole(FROZEN_KAWASAKI, 1 + k, start_tree))
                now.append(run_whole(FROZEN_KAWASAKI, 1 + k))
                then_short.append(run_whole(FROZEN_KAWASAKI, 1 + k, start_tree, spin_off=True))
            for label, got in (
                (f"  engine at {START_COMMIT}", then),
                ("  this engine", now),
                (f"  engine at {START_COMMIT}, idle OpenBLAS threads sleeping early", then_short),
            ):
                cpu = statistics.median(r["cpu"] for r in got)
                note = f"the run alone {statistics.median(r['cpu_run'] for r in got):.2f} s"
                if got is then_short:
                    alike = statistics.median(a["cpu"] / b["cpu"] for a, b in zip(got, now, strict=True))
                    note += f"; whole process {alike:.2f}× this engine's (context, no goal)"
                rows.append(
                    Row(
                        f"kawasaki ({START_COMMIT} copy): {label.strip()}",
                        int(statistics.median(r["events"] for r in got)),
                        cpu,
                        statistics.median(r["events"] / r["cpu"] for r in got),
                        1e6 * statistics.median(r["cpu_run"] / max(r["events"], 1) for r in got),
                        0.0,
                        cpu_s_per_run=cpu,
                        note=note,
                    )
                )
            targets.append(
                _target(
                    f"kawasaki ({START_COMMIT} copy), whole run: engine at {START_COMMIT} / this engine",
                    [a["cpu"] / b["cpu"] for a, b in zip(then, now, strict=True)],
                    ">= 3.0",
                )
            )
            targets.append(
                _target(
                    f"kawasaki ({START_COMMIT} copy), the run alone: engine at {START_COMMIT} / this engine",
                    [a["cpu_run"] / b["cpu_run"] for a, b in zip(then, now, strict=True)],
                    ">= 3.0",
                )
            )

    walls: dict[int, float] = {}
    cpus: dict[int, float] = {}
    reference_cpu = statistics.median(r["cpu"] / max(r["events"], 1) for r in full_simpy)
    for workers in (1, 2):
        say(f"experiment: {replications} replications of {full} on {workers} worker(s)")
        got = run_job(
            {"kind": "experiment", "scenario": full, "replications": replications, "workers": workers}
        )
        walls[workers] = got["wall"]
        cpus[workers] = got["cpu"]
        row = _median_row(f"experiment {replications}×{full} w{workers}", [got], f"{workers} worker(s)")
        row.ratio_vs_simpy = reference_cpu / (got["cpu"] / max(got["events"], 1))
        rows.append(row)
    efficiency = walls[1] / (2 * walls[2])

    particles = 2 if quick else 10
    for workers in (1, 2):
        say(f"calibration throughput: {particles} prior draws of {full} on {workers} worker(s)")
        got = run_job({"kind": "calibration", "scenario": full, "particles": particles, "workers": workers})
        row = _median_row(f"calibration {particles}×{full} w{workers}", [got], "")
        row.events_per_s = particles / got["wall"]
        row.cpu_us_per_event = 0.0
        row.cpu_s_per_run = got["cpu"] / particles
        row.note = (
            f"{particles / got['wall']:.2f} particles/s on {workers} worker(s) (wall); "
            "prior draws (Latin hypercube) through the experiment pool"
        )
        rows.append(row)

    trace_extra: dict[str, list[float]] = {}
    growth: dict[str, float] = {}
    for fmt, label in (("jsonl", "JSON Lines"), ("parquet", "Parquet")):
        say(f"trace on ({label}): peak memory over a shorter horizon")
        traced = traced_info[fmt]
        base = {"kind": "engine", "scenario": "information", "groups": traced_groups}
        row = _median_row(f"trace {label} (information {traced_groups:,})", traced, _years(traced_years))
        row.ratio_vs_simpy = _ratio(simpy_traced, traced)
        rows.append(row)
        trace_extra[label] = [x - 1.0 for x in _ratios(traced, engine_traced)]
        # peak resident memory of the whole process (Arrow's buffers are not Python
        # objects), with a horizon four times shorter
        short = run_job({**base, "seed": 1, "years": traced_years / 4, "trace": fmt})
        growth[label] = traced[0]["peak_rss_mb"] / short["peak_rss_mb"]

    biggest = max(g for g in per_event if g <= 180_000)
    targets += [
        Target(
            f"marginal CPU per event at {biggest:,} / at 1,800 groups",
            per_event[biggest] / per_event[1_800],
            "<= 1.3",
        ),
        _target(
            f"trace, extra CPU on information {traced_groups:,} (Parquet)", trace_extra["Parquet"], "<= 0.30"
        ),
        _target(
            f"trace, extra CPU on information {traced_groups:,} (JSON Lines)",
            trace_extra["JSON Lines"],
            "<= 1.00",
        ),
        _target(
            f"trace, extra CPU on a whole {full} run (Parquet)", scenario_trace_extra["Parquet"], "<= 0.30"
        ),
        _target(
            f"trace, extra CPU on a whole {full} run (JSON Lines)",
            scenario_trace_extra["JSON Lines"],
            "<= 1.00",
        ),
        Target("peak memory, horizon ×4, trace on (Parquet)", growth["Parquet"], "<= 1.10"),
        Target("peak memory, horizon ×4, trace on (JSON Lines)", growth["JSON Lines"], "<= 1.10"),
        Target("2-worker parallel efficiency (wall time)", efficiency, ">= 0.85"),
        # CPU spent by the serial run / CPU spent by the pool: what parallelism costs in
        # itself (start-up, pickling, result store), unaffected by other jobs on the machine
        Target("2-worker CPU efficiency (serial CPU / pool CPU)", cpus[1] / cpus[2], ">= 0.85"),
    ]
    for target in targets:
        target.judge()
    settings = {
        "quick": quick,
        "repeat": repeat,
        "full_scenario": full,
        "replications": replications,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "per_event_growth": {f"{g:,}": per_event[g] / per_event[1_800] for g in sorted(per_event)},
    }
    return Report(rows, targets, settings)


def print_report(report: Report) -> None:
    """The table and the targets, with rich."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.width = max(console.width, 132)
    table = Table(
        title="normflow bench: engine vs naive references",
        caption=(
            "µs/event: CPU per event; net: without what a run costs whatever its length; "
            "× ratios: reference CPU per event / engine CPU per event, median over repetitions"
        ),
    )
    for column, justify in (
        ("row", "left"),
        ("events", "right"),
        ("wall s", "right"),
        ("events/s", "right"),
        ("µs/event", "right"),
        ("net µs/event", "right"),
        ("peak MB", "right"),
        ("CPU s/run", "right"),
        ("× SimPy", "right"),
        ("× Mesa", "right"),
        ("", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in report.rows:
        table.add_row(
            r.name,
            f"{r.events:,}",
            f"{r.wall_s:.2f}",
            f"{r.events_per_s:,.0f}",
            f"{r.cpu_us_per_event:.2f}",
            "" if r.marginal_us_per_event is None else f"{r.marginal_us_per_event:.2f}",
            f"{r.peak_mb:.0f}" if r.peak_mb else "",
            "" if r.cpu_s_per_run is None else f"{r.cpu_s_per_run:.3f}",
            "" if r.ratio_vs_simpy is None else f"{r.ratio_vs_simpy:.2f}",
            "" if r.ratio_vs_mesa is None else f"{r.ratio_vs_mesa:.2f}",
            r.note,
        )
    console.print(table)
    targets = Table(
        title="targets",
        caption="measured: the median over repetitions; runs: each repetition's own value",
    )
    for column in ("target", "measured", "runs", "goal", "met"):
        targets.add_column(column)
    for t in report.targets:
        verdict = t.verdict()
        targets.add_row(
            t.name,
            f"{t.measured:.2f}",
            " ".join(f"{v:.2f}" for v in t.runs),
            t.goal,
            verdict if t.met else f"[bold red]{verdict}[/]",
        )
    console.print(targets)


def main(argv: list[str]) -> None:
    """``python -m normflow.bench JOB``: measure one job, print it as JSON."""
    print(json.dumps(measure(json.loads(argv[0]))))


if __name__ == "__main__":
    main(sys.argv[1:])
