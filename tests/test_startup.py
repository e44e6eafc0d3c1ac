"""Start-up cost: ``import normflow``, and a whole run, load only what a run
needs. The heavy libraries (tables, plots, the pretty terminal, the log
renderer, the experiment machinery) come when a command uses them; the run
machinery (the simulation, its clocks on SimPy, plugin discovery through
``importlib.metadata``) comes with the first run.

Speed itself is measured by ``normflow bench`` (start-up row), never timed here."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

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
    "numpy.ma",
    "normflow.experiment",
    "normflow.hypotheses",
    "normflow.report",
    "normflow.cli",
    "normflow.store",
    "normflow.stats",
    "normflow.validate",
    "normflow.bench",
)


#: Modules ``import normflow`` does not load (scenarios, events, traces and the
#: plugin API do not need them) but the first run does.
RUN_ONLY = (
    "pluggy",
    "normflow.hookspecs",
    "normflow.plugins",
    "simpy",
    "importlib.metadata",
    "normflow.simulation",
    "normflow.clocks",
    "normflow.processes",
    "normflow.events",
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


#: Modules only a traced run, or a reader of traces, loads: an untraced run does not.
TRACE_ONLY = ("normflow.trace",)


def test_import_normflow_loads_no_heavy_library() -> None:
    loaded = _loaded("import normflow")
    assert {"normflow.scenario", "numpy"} <= loaded
    assert _heavy(loaded) == []
    assert sorted(m for m in RUN_ONLY + TRACE_ONLY if m in loaded) == []


def test_the_trace_module_comes_when_asked_for() -> None:
    """``normflow.read_trace`` and ``normflow.trace`` still work after a bare
    ``import normflow``: the module is imported on first use."""
    loaded = _loaded(
        "import normflow\n"
        "assert normflow.read_trace is normflow.trace.read_trace\n"
        "from normflow import read_trace\n"
        "assert 'trace' in dir(normflow)"
    )
    assert "normflow.trace" in loaded


def test_a_whole_run_loads_no_heavy_library() -> None:
    loaded = _loaded(
        "import normflow\n"
        "r = normflow.simulate(normflow.load_scenario('kawasaki-suffrage'), 1)\n"
        "assert sum(r.counts.values()) > 0"
    )
    assert _heavy(loaded) == []
    assert set(RUN_ONLY) <= loaded  # the run machinery came with the run
    assert sorted(m for m in TRACE_ONLY if m in loaded) == []  # untraced: no trace writers


def test_a_run_with_negotiations_loads_no_heavy_library() -> None:
    """The negotiation process (which the kawasaki run above lacks) finds the
    local governments hosting its supporters without ``np.unique``, which
    imports numpy's masked arrays (some 45M instructions) on its first call."""
    loaded = _loaded(
        "import normflow\n"
        "r = normflow.simulate(normflow.load_scenario('minimal'), 1)\n"
        "assert r.counts.get('expertise_heard', 0) > 0"
    )
    assert _heavy(loaded) == []


def test_lazy_names_resolve_to_the_simulation_module() -> None:
    import normflow
    from normflow import simulation

    assert normflow.simulate is simulation.simulate
    assert normflow.Simulation is simulation.Simulation
    assert normflow.RunResult is simulation.RunResult
    assert normflow.PluginRunError is simulation.PluginRunError
    assert {"simulate", "Simulation"} <= set(dir(normflow))


def test_lazy_names_resolve_to_the_plugin_modules() -> None:
    """``normflow.hookimpl`` and ``normflow.PluginError`` come with the plugin
    machinery (pluggy) on first use: the same objects as before."""
    import normflow
    from normflow import hookspecs, plugins

    assert normflow.hookimpl is hookspecs.hookimpl
    assert normflow.PluginError is plugins.PluginError
    assert {"hookimpl", "PluginError"} <= set(dir(normflow))
    loaded = _loaded("from normflow import hookimpl\nassert hookimpl.project_name == 'normflow'")
    assert {"pluggy", "normflow.hookspecs"} <= loaded


#: Run in a fresh process after one way of reaching the event classes: whether
#: every core kind's attrs methods went through the code cache, and whether
#: the classes are the module's.
_EVENTS_CACHED = """
import json, sys
from normflow import codecache
import normflow.events
through = {codecache._FILENAME.fullmatch(name)[1] for name in codecache._used}
kinds = [f"normflow.events.{cls.__qualname__}" for cls in (normflow.events.Event, *normflow.events.ALL_EVENTS)]
print(json.dumps([len(kinds), sorted(set(kinds) - through), got is normflow.events.{name}]))
"""


def _events_cached(code: str, name: str = "AccessBlocked", stdin: bytes | None = None) -> list:
    done = subprocess.run(
        [sys.executable, "-c", code + _EVENTS_CACHED.replace("{name}", name)],
        input=stdin,
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def test_the_event_classes_come_when_asked_for_by_every_public_path() -> None:
    """``import normflow`` builds no event class; every public way of reaching
    them builds them all, through attrs' code cache (``normflow.events._event``),
    whether or not it passes through normflow's lazy names: the attribute, the
    module imported or from-imported, a star import, unpickling in a fresh
    worker, a bundled plugin, a type hint naming one, a study module that
    imports the module directly."""
    import pickle

    import normflow

    loaded = _loaded("import normflow\nassert 'events' in dir(normflow)")
    assert "normflow.events" not in loaded
    blocked = normflow.events.AccessBlocked(t=2.0, group="g", state="s", issue="i", channel="c")
    ways = {
        "import normflow\ngot = normflow.events.AccessBlocked": "AccessBlocked",
        "import normflow.events\ngot = normflow.events.Event": "Event",
        "from normflow.events import ChannelUsed as got": "ChannelUsed",
        "from normflow import events\ngot = events.PolicyChanged": "PolicyChanged",
        "from normflow import *\ngot = events.BillEnacted": "BillEnacted",
        "import normflow, normflow_boomerang\nfrom normflow import Simulation\ngot = normflow.events.CoalitionFormed": (
            "CoalitionFormed"
        ),
        "import normflow.explain\ngot = normflow.explain.ALL_EVENTS[0]": "InformationExchanged",
        (
            "import typing, normflow\n"
            "def on(ev: 'normflow.events.PressureApplied') -> None: ...\n"
            "got = typing.get_type_hints(on)['ev']"
        ): "PressureApplied",
    }
    for code, name in ways.items():
        assert _events_cached(code, name) == [1 + len(normflow.events.ALL_EVENTS), [], True], code
    # an event pickled here and unpickled in a fresh worker: the same value, of the module's class
    unpickle = (
        "import pickle\n"
        "ev = pickle.loads(sys.stdin.buffer.read())\n"
        "got = type(ev)\n"
        "import normflow.events  # already imported by the unpickling: the name only\n"
        "assert isinstance(ev, normflow.events.Event)\n"
        "assert ev == normflow.events.AccessBlocked(t=2.0, group='g', state='s', issue='i', channel='c')\n"
    )
    assert _events_cached("import sys\n" + unpickle, stdin=pickle.dumps(blocked)) == [
        1 + len(normflow.events.ALL_EVENTS),
        [],
        True,
    ]


_WRITES = """
import json, normflow
from normflow import codecache
writes = []
store = codecache._store
codecache._store = lambda path, codes: (writes.append(len(codes)), store(path, codes))
import normflow.events
print(json.dumps([writes, codecache.stats]))
"""


def _twice_on_a_fresh_cache(code: str, tmp_path) -> list[Any]:
    """``code``'s last printed JSON line from two fresh processes one after the
    other, sharing a byte-code cache that starts empty (one hash seed for both)."""
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED")}
    env = {**base, "PYTHONHASHSEED": "3", "PYTHONPYCACHEPREFIX": str(tmp_path / "cache")}
    runs = []
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return runs


def test_the_event_classes_write_the_code_cache_once(tmp_path) -> None:
    """Imported outside normflow's lazy names, ``normflow.events`` enters the
    code cache once per class but writes the file once, after its last class,
    when it compiled anything; a later process reads every class from it."""
    (first_writes, first), (again_writes, again) = _twice_on_a_fresh_cache(_WRITES, tmp_path)
    assert len(first_writes) == 1 and first["misses"] >= 37
    assert again_writes == [] and again["misses"] == 0 and again["hits"] == first["hits"] + first["misses"]


_PLUGIN_WRITES = """
import json, normflow
from normflow import codecache
from normflow.plugins import get_plugin_manager
writes = []
store = codecache._store
codecache._store = lambda path, codes: (writes.append(len(codes)), store(path, codes))
before = dict(codecache.stats)
pm = get_plugin_manager()
print(json.dumps([writes, codecache.stats["misses"] - before["misses"], len(pm.get_plugins())]))
"""


def test_the_installed_plugins_write_the_code_cache_once(tmp_path) -> None:
    """Plugins loaded through their entry points enter the code cache one by
    one but write the file once, after the last of them, when any compiled
    something (the bundled four each define attrs classes); a later process
    compiles none of them."""
    runs = _twice_on_a_fresh_cache(_PLUGIN_WRITES, tmp_path)
    (first_writes, first_misses, plugins), (again_writes, again_misses, _) = runs
    assert plugins >= 4 and first_misses >= 5
    assert len(first_writes) == 1
    assert again_writes == [] and again_misses == 0


def test_lazy_names_resolve_to_the_experiment_module() -> None:
    import normflow
    from normflow import experiment

    assert normflow.run_experiment is experiment.run_experiment
    assert normflow.Experiment is experiment.Experiment
    assert "run_experiment" in dir(normflow)


#: Every method attrs generates for normflow's classes, as code objects: run in a
#: fresh process, it prints how the cache answered and a digest per method.
_METHODS = """
import json, sys, types, attrs
import normflow
from normflow import codecache
normflow.Simulation  # the run machinery, imported on first use, is cached too
from normflow.plugins import get_plugin_manager
get_plugin_manager()  # and the installed plugins' classes, loaded through their entry points

def canon(code):
    return [
        code.co_code.hex(), code.co_linetable.hex(), code.co_names, code.co_varnames,
        code.co_filename, code.co_qualname, code.co_firstlineno,
        [canon(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts],
    ]

out = {}
for name, module in sorted(sys.modules.items()):
    if not name.startswith("normflow"):
        continue
    for cls in list(vars(module).values()):
        if isinstance(cls, type) and attrs.has(cls) and cls.__module__ == name:
            for method in ("__init__", "__eq__", "__hash__", "__repr__", "__getstate__", "__setstate__"):
                code = getattr(cls.__dict__.get(method), "__code__", None)
                if code is not None:
                    out[f"{name}.{cls.__qualname__}.{method}"] = canon(code)
print(json.dumps({"stats": codecache.stats, "methods": out}))
"""


def _methods(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _METHODS], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cached_attrs_methods_are_the_code_attrs_compiles(tmp_path) -> None:
    """The cache of attrs' generated methods gives the very code a fresh compile
    gives, in a process whose string hashes differ from the one that wrote it."""
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED")}
    cached = {**base, "PYTHONPYCACHEPREFIX": str(tmp_path / "cache")}
    written = _methods({**cached, "PYTHONHASHSEED": "1"})
    total = written["stats"]["misses"]
    assert written["stats"]["hits"] == 0 and total >= 50
    # another hash seed: a class whose hash number has a length seen before is
    # read from the cache (its number swapped), any other compiled and added
    read = _methods({**cached, "PYTHONHASHSEED": "2"})
    assert read["stats"]["hits"] > 0 and read["stats"]["hits"] + read["stats"]["misses"] == total
    again = _methods({**cached, "PYTHONHASHSEED": "2"})
    assert again["stats"] == {"hits": total, "misses": 0}
    fresh = _methods(
        {
            **base,
            "PYTHONHASHSEED": "2",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPYCACHEPREFIX": str(tmp_path / "empty"),
        }
    )
    assert fresh["stats"]["hits"] == 0
    assert len(fresh["methods"]) >= 100
    # a bundled plugin's classes, loaded through its entry point, among them
    assert any(name.startswith("normflow_boomerang.") for name in fresh["methods"])
    assert read["methods"] == fresh["methods"]
    assert again["methods"] == fresh["methods"]
    # the hash seed shows in the code (so the comparisons above could fail)
    assert written["methods"] != fresh["methods"]


def _blas_timeout(code: str, **env: str) -> str | None:
    import os

    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport os\nprint(repr(os.environ.get('OPENBLAS_THREAD_TIMEOUT')))"],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **env},
    )
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - the repr of a str or None


def test_import_normflow_shortens_the_idle_spin_of_openblas_threads() -> None:
    """Imported before numpy, normflow asks numpy's OpenBLAS to let its idle
    worker threads sleep after 2**20 cycles instead of spinning for 2**28; a
    value the user set stays, and nothing is set once numpy is loaded (it
    would have no effect)."""
    assert _blas_timeout("import normflow") == "20"
    assert _blas_timeout("import normflow", OPENBLAS_THREAD_TIMEOUT="26") == "26"
    assert _blas_timeout("import numpy\nimport normflow") is None


def test_normflow_run_at_the_default_log_level_does_not_load_structlog() -> None:
    """The run logs at ``info``: below the CLI's default level nothing is
    written, and structlog (with rich and asyncio) is not imported."""
    code = (
        "import sys\n"
        "from normflow.cli import main\n"
        "sys.argv = ['normflow', '{flags}', 'run', 'minimal', '--seed', '1', '--json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "import json\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    for flags, loads in (("--log-level=warning", False), ("--log-level=info", True)):
        done = subprocess.run(
            [sys.executable, "-c", code.replace("{flags}", flags)], capture_output=True, text=True, check=True
        )
        loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
        assert ("structlog" in loaded) is loads
        assert ("run.start" in done.stderr) is loads
        # the other commands' modules, and what only they need, stay unloaded
        others = {"normflow.cli.bench", "normflow.cli.experiment", "normflow.report", "normflow.experiment"}
        # nor the studies' modules for their exception classes (normflow.cli.group)
        others |= {"normflow.compare", "normflow.explain", "normflow.store"}
        assert "normflow.cli.run" in loaded and not others & loaded
        assert not {"pandas", "pyarrow", "scipy", "matplotlib"} & loaded


def test_the_commands_are_imported_when_looked_up() -> None:
    """``normflow.cli`` imports a command's module when the command is looked
    up; the whole table (help, docs) has every command, and a command added
    later under a built-in's name replaces it, as before."""
    code = (
        "import sys, click\n"
        "from normflow.cli import COMMANDS, cli\n"
        "before = 'normflow.cli.bench' in sys.modules\n"
        "names = cli.list_commands(None)\n"
        "run = cli.get_command(None, 'run')\n"
        "after_run = 'normflow.cli.bench' in sys.modules\n"
        "cli.add_command(click.Command('explain', callback=lambda: None))\n"
        "table = cli.commands\n"
        "import json\n"
        "print(json.dumps([before, after_run, names, sorted(COMMANDS), run.name, sorted(table),\n"
        "                  table['explain'].callback.__module__, 'normflow.cli.bench' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after_run, names, commands, run, table, explain, after_all = json.loads(
        done.stdout.splitlines()[-1]
    )
    assert not before and not after_run and after_all
    assert names == commands == table and run == "run"
    assert explain == "__main__"  # the later command, not normflow.cli.explain's


_LOG = """
import io, json, sys
from normflow import log
log.configure(json=True, level={level!r})
deferred = log.get_logger(scenario="s", seed=3)
out = [deferred.debug("below", n=1), deferred.info("below", n=2), deferred.warning("kept", n=3),
       deferred.error("kept", n=4)]
import structlog
direct = structlog.get_logger("normflow").bind(scenario="s", seed=3)
out += [direct.debug("below", n=1), direct.info("below", n=2), direct.warning("kept", n=3),
        direct.error("kept", n=4)]
print(json.dumps(out))
"""


def test_the_deferred_log_writes_what_structlog_writes() -> None:
    """Before structlog is needed, ``get_logger`` returns a stand-in that drops
    what structlog's filtering logger drops and hands the rest to structlog:
    the same lines (but for the time stamp) and the same return values."""
    for level, written in (("warning", 2), ("info", 3), ("error", 1)):
        done = subprocess.run(
            [sys.executable, "-c", _LOG.format(level=level)], capture_output=True, text=True, check=True
        )
        lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        for line in lines:
            line.pop("timestamp")
        assert len(lines) == 2 * written
        assert lines[:written] == lines[written:]
        returned = json.loads(done.stdout.strip().splitlines()[-1])
        assert returned[:4] == returned[4:]


def test_the_deferred_logs_levels_are_loggings() -> None:
    """``normflow.log`` keeps its own table of level numbers so that a run at the
    default level need not import ``logging``; it must match ``logging``'s, which
    configures structlog's filtering logger."""
    import logging

    from normflow import log

    for name, number in log._LEVELS.items():
        assert getattr(logging, name.upper()) == number, name


def test_the_studies_exceptions_are_caught_once_their_modules_are_loaded() -> None:
    """``normflow.cli.group`` no longer imports the compare, explain and store
    modules for their exception classes; a command that raises one (its module
    then loaded) still ends with its one line and exit 2."""
    from click.testing import CliRunner

    from normflow.cli.group import NormflowGroup

    for module, name in (
        ("normflow.compare", "CompareError"),
        ("normflow.explain", "ExplainError"),
        ("normflow.store", "StoreError"),
    ):
        group = NormflowGroup()

        @group.command("fails")
        def fails(module: str = module, name: str = name) -> None:
            import importlib

            raise getattr(importlib.import_module(module), name)(f"{name} said so")

        done = CliRunner().invoke(group, ["fails"])
        assert done.exit_code == 2, (name, done.output)
        assert done.output.strip().splitlines() == [f"error: {name} said so"]


def test_normflow_run_builds_normflow_classes_through_the_code_cache() -> None:
    """``normflow run`` imports the run machinery through normflow's lazy names,
    so attrs builds every class of normflow's that the run loads through the
    code cache, the same classes as ``from normflow import Simulation``; and
    the installed plugins it loads, through their entry points."""
    used = "from normflow import codecache\nprint(json.dumps(sorted(codecache._used)))\n"
    cli = (
        "import json, sys\n"
        "from normflow.cli import main\n"
        "sys.argv = ['normflow', 'run', 'minimal', '--seed', '1', '--json']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n" + used
    )
    api = "import json\nfrom normflow import Simulation\n" + used
    runs = [
        subprocess.run([sys.executable, "-c", c], capture_output=True, text=True, check=True)
        for c in (cli, api)
    ]
    through_cli, through_api = (json.loads(done.stdout.strip().splitlines()[-1]) for done in runs)
    assert any("normflow.interventions.Interventions" in name for name in through_api)
    plugins = [name for name in through_cli if " normflow_" in name]
    assert any("normflow_boomerang." in name for name in plugins)
    assert sorted(set(through_cli) - set(plugins)) == through_api


def test_a_parquet_trace_loads_pyarrow_but_not_pandas(tmp_path) -> None:
    """Writing a Parquet trace needs pyarrow, not pandas: its columns are made
    from buffers, since ``pa.array`` imports pandas (some 0.3 s of CPU) on its
    first call. Runs with every kind of column (blocks of contacts, rows one
    by one, cause ids, text that changes from block to block) and a trace
    with no event at all."""
    trace, empty = tmp_path / "run.parquet", tmp_path / "empty.parquet"
    loaded = _loaded(
        "import normflow\n"
        f"r = normflow.simulate(normflow.load_scenario('kitakyushu-dalian'), 1, trace={str(trace)!r})\n"
        # several exchanges, one per issue: a text column that changes from block to block
        f"normflow.simulate(normflow.load_scenario('generic'), 1, trace={str(tmp_path / 'generic.parquet')!r})\n"
        "import datetime\n"
        "from normflow.trace import ParquetTrace\n"
        f"ParquetTrace({str(empty)!r}, datetime.date(2000, 1, 1)).close()\n"
    )
    assert "pyarrow.parquet" in loaded
    assert "pandas" not in loaded
    files = sorted(p.name for p in trace.iterdir())
    assert "information_exchanged.parquet" in files and "pressure_applied.parquet" in files
    assert [p.name for p in empty.iterdir()] == ["empty.parquet"]
