"""A mutation fuzzer for the command line: no input may crash it or hang it.

It starts from the bundled scenarios and a few experiment specs, mutates
them (structure, syntax, encoding, size, depth) and feeds each mutant to
the real ``normflow`` entry point (the console script), each in a process
forked from a fork server: this process, which has imported normflow and
every module the fuzzed commands import, so a child pays for its own work
only. An input *crashes* when the command prints a Python traceback or
ends other than with exit 0, 1 (a run that failed) or 2 (bad input); it
*hangs* when it is still running at the limit (30 s of CPU time). Every
crash or hang is written to a directory (by default
``tests/fuzz_regressions/``) as a file that ``tests/test_fuzz_regressions.py``
runs from then on.

Input ``i`` of a command depends on the seed, the command and ``i`` only,
so a budget can be run in chunks, in any order, and a chunk run again
gives the same inputs. With ``--tally FILE`` the figures of every chunk
(inputs, exit codes, crashes, hangs, CPU and wall-clock time, the commit
measured) are written to FILE after every input; running the same command
again skips the chunks already done and finishes a chunk cut short.

Run outside CI::

    python -m normflow.testing.fuzz thorough --tally fuzz.json    # 20,000 run, 2,000 validate, 1,000 specs
    python -m normflow.testing.fuzz thorough --tally fuzz.json --chunks 2   # two chunks now, the rest later
    python -m normflow.testing.fuzz thorough --tally fuzz.json --command run --start 3000 --count 1000
    python -m normflow.testing.fuzz thorough --tally b.json --first 10000   # inputs 10,000 on, beside another
    python -m normflow.testing.fuzz tally fuzz.json b.json       # the figures so far, added up
    python -m normflow.testing.fuzz quick                        # a few dozen of each

POSIX only (``os.fork``).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import functools
import gc
import hashlib
import importlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: Inputs per command of the ``thorough`` budget (issue 18).
THOROUGH = {"run": 20_000, "validate": 2_000, "experiment": 1_000}
QUICK = {"run": 40, "validate": 40, "experiment": 10}
COMMANDS = tuple(THOROUGH)
TIME_LIMIT = 30.0
CHUNK = 1_000
TRACEBACK = "Traceback (most recent call last)"
REPO = Path(__file__).resolve().parents[2]
REGRESSIONS = REPO / "tests" / "fuzz_regressions"

#: How often each bundled scenario is the one mutated. The small ones
#: most: a mutant that still loads runs the whole scenario, and a run of
#: kawasaki-suffrage costs about 1.1 s of CPU, generic 0.3 s, the others
#: 0.05 to 0.15 s, while the loader, which is what most mutants test, reads
#: them all alike. Measured on 150 inputs with equal shares of the three
#: cases, kawasaki-suffrage's runs were 44% of the fuzzer's CPU time. Every
#: scenario's own tables (events, plugins, resolutions, the Diet) are still
#: mutated: kawasaki-suffrage in about one input in 26.
SOURCE_WEIGHTS = {
    "minimal": 5.0,
    "kitakyushu-dalian": 3.0,
    "niigata-harbin": 3.0,
    "generic": 1.5,
    "kawasaki-suffrage": 0.5,
}

#: Global options capping the work a mutant that loads may ask for, through
#: the loader's own limits (``--max-actors``, ``--max-years``): bundled
#: worlds have under 100 actors and 25 years, so a mutant above these caps
#: meets the same refusal as one above the defaults, at a fraction of the
#: cost. One input in ``UNCAPPED_EVERY`` runs with the defaults, so the
#: default limits are fuzzed too.
CAPS = ["--max-actors", "20000", "--max-years", "60"]
UNCAPPED_EVERY = 20
#: Replications in all an experiment input may plan (``--max-tasks``).
MAX_TASKS = 50

#: Experiment specs the spec fuzzer starts from (small: a replication or two
#: of the smallest bundled scenario).
SPECS = [
    'scenario = "minimal"\nreplications = 2\nseed = 3\n',
    'scenario = "minimal"\nreplications = 1\n[sweep]\n"processes.agenda.stage_days" = [15, 60]\n',
    'scenario = "minimal"\nreplications = 1\nlocal_government_role = 0.5\n'
    '[overrides]\n"processes.information.contact_rate" = 3.0\n',
    'scenario = "minimal"\nreplications = 1\n[latin_hypercube]\nsamples = 2\n'
    '[latin_hypercube.ranges]\n"processes.agenda.stage_days" = [10, 90]\n',
    'scenario = "minimal"\nreplications = 1\noutputs = ["milestones", "counts"]\nseeds = "independent"\n',
]

#: Values a structural mutation puts where another value was.
INTERESTING: list[Any] = [
    0, -1, 1, 2**31, 2**63, 10**30, -(10**30), 10**300, 0.0, -0.0, 1e-308, 1e308, -1e308,
    float("inf"), float("-inf"), float("nan"), 0.5, 1.5, True, False, "", "x", "$\\frac{a}{b}$",
    "<script>alert(1)</script>", "\u202e\u0000", "a" * 10_000, [], [[]], {}, {"dist": {}},
    {"dist": "lognormal", "median": 1e308, "sigma": 1.2}, {"dist": "normal", "mean": 0.5, "sd": 1e308},
    {"dist": "uniform", "low": 1e307, "high": 1e308}, {"dist": "beta", "mean": 0.5, "concentration": 1e-300},
    dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.datetime(2000, 1, 1, 12, 0), dt.time(12, 0),
    "1990-01-01", 2_000_000, 999_999_999,
]  # fmt: skip
SYNTAX_CHARS = list("[]{}=\"'#\n.,:-+_ \t\\0123456789eE") + ["\u00e9", "\u4e2d", "\ufeff", "\x00", "\r"]


# -- inputs ---------------------------------------------------------------------------


@functools.cache
def _bundled_texts() -> tuple[tuple[str, str], ...]:
    from normflow.scenario import bundled_scenarios

    return tuple(
        (name, path.read_text(encoding="utf-8")) for name, path in sorted(bundled_scenarios().items())
    )


def _pick_scenario(rng: random.Random) -> tuple[str, str]:
    texts = _bundled_texts()
    weights = [SOURCE_WEIGHTS.get(name, 1) for name, _ in texts]
    return rng.choices(texts, weights=weights)[0]


def _paths(data: Any, limit: int = 20) -> list[tuple[Any, ...]]:
    """Every place in ``data`` (to ``limit`` levels), without recursion."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        node, prefix = stack.pop()
        out.append(prefix)
        if len(prefix) >= limit:
            continue
        if isinstance(node, dict):
            stack.extend((v, (*prefix, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*prefix, i)) for i, v in enumerate(node))
    return sorted(out, key=repr)


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        node = node[k]
    return node


def _structural(rng: random.Random, text: str) -> bytes:
    """Parse, change one place of the data, write it back as TOML."""
    from normflow.testing.strategies import toml_text

    data = tomllib.loads(text)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent, key = _get(data, path[:-1]), path[-1]
        op = rng.randrange(7)
        if op == 0:  # delete
            del parent[key]
        elif op == 1:  # an interesting value
            parent[key] = copy.deepcopy(rng.choice(INTERESTING))
        elif op == 2:  # another value of this document (a copy: never a cycle)
            parent[key] = copy.deepcopy(_get(data, rng.choice(paths)))
        elif op == 3:  # wrapped
            parent[key] = rng.choice([[parent[key]], {"value": parent[key]}, {"dist": parent[key]}])
        elif op == 4 and isinstance(parent, list):  # duplicated list items
            parent.extend(copy.deepcopy([parent[key]] * rng.choice([1, 2, 50])))
        elif op == 5 and isinstance(parent, dict):  # a misspelt or unknown key
            parent[str(key) + rng.choice(["_", "s", "x", "."])] = parent.pop(key)
        elif op == 6 and isinstance(parent[key], int | float) and not isinstance(parent[key], bool):
            parent[key] = parent[key] * rng.choice([-1, 10, 1000, 10**6, 10**12, 0.001])
    try:
        return toml_text(data).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return text.encode("utf-8")


def _syntax(rng: random.Random, text: str) -> bytes:
    chars = list(text)
    for _ in range(rng.choice([1, 1, 2, 3, 8])):
        if not chars:
            break
        i = rng.randrange(len(chars))
        op = rng.randrange(5)
        if op == 0:
            del chars[i : i + rng.choice([1, 1, 5, 50])]
        elif op == 1:
            chars.insert(i, rng.choice(SYNTAX_CHARS))
        elif op == 2:
            j = rng.randrange(len(chars))
            chars[i:i] = chars[j : j + rng.choice([1, 10, 100])]
        elif op == 3:
            chars[i] = rng.choice(SYNTAX_CHARS)
        else:
            chars = chars[: rng.randrange(len(chars) + 1)]  # truncated
    return "".join(chars).encode("utf-8", "surrogatepass")


def _encoding(rng: random.Random, text: str) -> bytes:
    op = rng.randrange(6)
    if op == 0:
        return text.encode("utf-16")
    if op == 1:
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    if op == 2:
        return text.replace("a", "\u00e4").encode("latin-1", "replace")
    if op == 3:
        raw = bytearray(text.encode("utf-8"))
        for _ in range(rng.choice([1, 3, 10])):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    if op == 4:
        return text.encode("utf-8").replace(b"\n", b"\r\n" if rng.random() < 0.5 else b"\r")
    return text.encode("utf-8").replace(b" ", b"\x00", rng.choice([1, 5]))


def _size(rng: random.Random, text: str) -> bytes:
    op = rng.randrange(4)
    if op == 0:  # a table array repeated, its ids then repeat
        blocks = text.split("\n[[")
        if len(blocks) > 1:
            block = "\n[[" + rng.choice(blocks[1:])
            return (text + block * rng.choice([2, 100, 2000])).encode("utf-8")
    if op == 1:  # a huge population
        count = rng.choice([2_000_000, 10**7, 10**9])
        extra = f'\n[[local_governments.groups]]\nstate = "{_first_state(text)}"\nprefix = "fz"\ncount = {count}\n'
        return (text + extra).encode("utf-8")
    if op == 2:  # a long horizon
        return text.replace("end = ", f"end = {rng.choice(['2999', '9999', '0001'])}-12-31\n#", 1).encode()
    return (text + "\n# " + "x" * rng.choice([10**5, 5 * 10**6])).encode("utf-8")


def _first_state(text: str) -> str:
    try:
        return str(tomllib.loads(text)["states"][0]["id"])
    except Exception:
        return "japan"


def _depth(rng: random.Random, text: str) -> bytes:
    n = rng.choice([20, 33, 100, 1000, 5000])
    op = rng.randrange(4)
    if op == 0:
        extra = "\nfz = " + "[" * n + "1" + "]" * n
    elif op == 1:
        extra = "\nfz = " + "{a = " * n + "1" + "}" * n
    elif op == 2:
        extra = "\n[" + ".".join(["fz"] * n) + "]\nb = 1\n"
    else:
        extra = "\n" + ".".join(["fz"] * n) + " = 1\n"
    # into a table the schema knows, or at the top
    head, sep, tail = text.partition("[processes")
    if sep and rng.random() < 0.5:
        return (head + extra.replace("fz = ", "information.fz = ") + "\n" + sep + tail).encode()
    return (extra + "\n" + text if op < 2 else text + extra).encode("utf-8")


MUTATORS: list[tuple[str, Callable[[random.Random, str], bytes]]] = [
    ("structure", _structural),
    ("structure", _structural),
    ("structure", _structural),
    ("syntax", _syntax),
    ("syntax", _syntax),
    ("encoding", _encoding),
    ("size", _size),
    ("depth", _depth),
]


def mutate(rng: random.Random, text: str) -> tuple[str, bytes]:
    kind, fn = rng.choice(MUTATORS)
    return kind, fn(rng, text)


# -- the fork server ------------------------------------------------------------------


@functools.cache
def _entry_point() -> Callable[[], Any]:
    """The ``normflow`` console script, as installed."""
    from importlib import metadata

    for ep in metadata.entry_points(group="console_scripts"):
        if ep.name == "normflow":
            return ep.load()
    # not installed as a script: run it as ``python -m normflow`` does (only
    # normflow/__main__.py imports the command line, docs/design.md)
    import runpy

    return lambda: runpy.run_module("normflow", run_name="__main__", alter_sys=True)


def _warm_up_args(tmp: str) -> list[list[str]]:
    """Command lines that import what the fuzzed commands import: a run, a
    validation and an experiment of the smallest scenario, and refusals."""
    spec = Path(tmp) / "warm-up.toml"
    spec.write_text(SPECS[1], encoding="utf-8")
    bad = Path(tmp) / "warm-up-bad.toml"
    bad.write_text("[scenario\n", encoding="utf-8")
    return [
        [*CAPS, "run", "minimal", "--seed", "0"],
        ["validate", "minimal", "--runs", "2", "--workers", "1"],
        ["experiment", "run", str(spec), "--out", str(Path(tmp) / "warm-up-out"), "--workers", "1"],
        ["run", str(bad)],
        ["validate", str(bad)],
        ["experiment", "run", str(bad), "--out", str(Path(tmp) / "warm-up-out-2")],
    ]


def _imported_by(args_list: list[list[str]], cwd: str) -> list[str]:
    """Names of the modules a forked child has imported, beyond this
    process's, after running each of ``args_list``."""
    listing = Path(cwd) / f"modules-{os.getpid()}.json"
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            before = set(sys.modules)
            for args in args_list:
                _call(args, cwd)
            listing.write_text(json.dumps(sorted(set(sys.modules) - before)))
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.waitpid(pid, 0)
    try:
        return list(json.loads(listing.read_text()))
    except (OSError, ValueError):
        return []
    finally:
        listing.unlink(missing_ok=True)


def _call(args: list[str], cwd: str | None) -> int:
    """Run ``normflow ARGS`` in this (child) process, output to the void."""
    if cwd:
        os.chdir(cwd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.argv = ["normflow", *args]
    try:
        _entry_point()()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        return 70
    return 0


@functools.cache
def start_server() -> dict[str, int]:
    """Make this process the fork server: import the command line, then
    every module a child imports to run the fuzzed commands (found by
    running them once in a child), then freeze the garbage collector's
    objects so that children do not copy the heap. Returns how many modules
    were imported in advance and how many a child still imports."""
    _entry_point()
    with tempfile.TemporaryDirectory(prefix="normflow-fuzz-warm-") as tmp:
        names = _imported_by(_warm_up_args(tmp), tmp)
        loaded = 0
        for name in names:
            if name in sys.modules or name == "__main__":
                continue
            try:
                importlib.import_module(name)
                loaded += 1
            except BaseException:  # a module that only imports in its own context
                continue
        _cache_entry_points()
        gc.collect()
        gc.freeze()
        left = _imported_by(_warm_up_args(tmp), tmp)
    return {"preloaded_modules": loaded, "modules_a_child_still_imports": len(left)}


def _cache_entry_points() -> None:
    """Read the installed entry points once, here, instead of in every
    child: the command reads them at least twice per call (its plugin
    commands, then the run's plugins), which was half the CPU time of an
    input refused at once. Nothing is installed during a campaign, so the
    children see what reading them again would give."""
    from importlib import metadata

    if getattr(metadata.entry_points, "_fuzz_cached", False):
        return
    read = metadata.entry_points
    cached = {group: read(group=group) for group in ("normflow", "console_scripts")}

    def entry_points(**params: Any) -> Any:
        if set(params) == {"group"} and params["group"] in cached:
            return cached[params["group"]]
        return read(**params)

    entry_points._fuzz_cached = True  # type: ignore[attr-defined]
    metadata.entry_points = entry_points  # type: ignore[assignment]


def _cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of a running process and of the children it
    has waited for, from /proc (Linux); None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _wait(pid: int, limit: float) -> tuple[Any, float] | None:
    """Wait for child ``pid``: (wait status, CPU seconds) when it ends, None
    when it passes ``limit`` seconds of CPU time (where /proc says; a shared,
    loaded machine stretches wall-clock time, so wall-clock time is no
    measure of work) or uses no CPU at all for ``2 * limit`` seconds of
    wall-clock time (it blocks), or runs for an hour."""
    began = last_change = time.monotonic()
    last_spent = -1.0
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        pause = 0.001
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                return status, usage.ru_utime + usage.ru_stime
            spent = _cpu_seconds(pid)
            now = time.monotonic()
            if spent is None:  # no /proc: wall-clock time is all there is
                spent = now - began
            if spent != last_spent:
                last_spent, last_change = spent, now
            if spent > limit or now - last_change > 2 * limit or now - began > max(3600.0, 10 * limit):
                return None
            if pidfd is not None:
                select.select([pidfd], [], [], 0.25)
            else:
                time.sleep(pause)
                pause = min(2 * pause, 0.05)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def run_forked(args: list[str], limit: float = TIME_LIMIT, cwd: str | None = None) -> tuple[str, int, str]:
    """Run ``normflow ARGS`` in a child forked from the fork server; (outcome,
    exit code, stderr tail). Outcome: ``ok``, ``crash`` or ``hang`` (more
    than ``limit`` seconds of CPU time, or blocked: see ``_wait``)."""
    outcome, code, err, _ = _run_forked(args, limit, cwd)
    return outcome, code, err


def _run_forked(args: list[str], limit: float, cwd: str | None) -> tuple[str, int, str, float]:
    main = _entry_point()
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 70
            try:
                os.setpgid(0, 0)
                if cwd:
                    os.chdir(cwd)
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
                sys.argv = ["normflow", *args]
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                except BaseException:
                    import traceback

                    traceback.print_exc()
                    code = 70
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
        waited = _wait(pid, limit)
        if waited is None:
            spent = _cpu_seconds(pid) or 0.0
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return "hang", -9, "", spent
        status, spent = waited
        try:  # helpers the child started (e.g. a forkserver) go with it
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    bad = code not in (0, 1, 2) or TRACEBACK in text
    return ("crash" if bad else "ok"), code, text[-2000:], spent


# -- inputs by index ------------------------------------------------------------------


def fuzz_args(command: str, path: str, out_dir: str, seed: int = 0, capped: bool = False) -> list[str]:
    """The command line an input of ``command`` is fed to (``capped``: with
    the work caps of ``CAPS``)."""
    caps = list(CAPS) if capped else []
    if command == "run":
        return [*caps, "run", path, "--seed", str(seed)]
    if command == "validate":
        return [*caps, "validate", path, "--runs", "2", "--workers", "1"]
    # a plan's size is capped in every spec: 30 s of CPU time fit about 200
    # replications of the smallest scenario, and a plan of a few hundred is
    # work asked for, not a hang; a larger plan meets the same refusal at 50
    # as at the default 1,000,000
    return [
        *caps,
        "experiment",
        "run",
        path,
        "--out",
        out_dir,
        "--workers",
        "1",
        "--max-tasks",
        str(MAX_TASKS),
    ]


def make_input(seed: int, command: str, index: int) -> tuple[str, bytes, int, bool]:
    """Input ``index`` of ``command``: (how it was made, its bytes, the run
    seed, whether capped). Depends on these three numbers only."""
    rng = random.Random(f"normflow-fuzz/{seed}/{command}/{index}")
    if command == "experiment":
        source, text = "spec", rng.choice(SPECS)
    else:
        source, text = _pick_scenario(rng)
    kind, data = mutate(rng, text)
    return f"{source}/{kind}", data, rng.randrange(5), index % UNCAPPED_EVERY != UNCAPPED_EVERY - 1


def _new_counts() -> dict[str, Any]:
    return {"inputs": 0, "ok": 0, "crashes": 0, "hangs": 0, "exit0": 0, "exit1": 0, "exit2": 0,
            "cpu_seconds": 0.0, "wall_seconds": 0.0, "max_cpu_seconds": 0.0, "slowest": None}  # fmt: skip


def run_chunk(
    command: str,
    start: int,
    stop: int,
    seed: int = 0,
    limit: float = TIME_LIMIT,
    keep: Path | None = REGRESSIONS,
    report: Callable[[str], None] = print,
    chunk: dict[str, Any] | None = None,
    save: Callable[[], None] = lambda: None,
) -> dict[str, Any]:
    """Inputs ``start`` to ``stop - 1`` of ``command``; the chunk's record
    (counts, crashes), updated in place and ``save``-d after every input.
    A record whose ``done`` is past ``start`` is carried on from there."""
    start_server()
    if chunk is None:
        chunk = {}
    if chunk.get("done", start) <= start or "counts" not in chunk:
        chunk.update(command=command, start=start, stop=stop, done=start, counts=_new_counts(), found=[])
    chunk.update(commit=_commit(), seed=seed, limit=limit)
    # a chunk carried on after the code changed was measured on both
    chunk["commits"] = [*[c for c in chunk.get("commits", []) if c != _commit()], _commit()]
    counts = chunk["counts"]
    with tempfile.TemporaryDirectory(prefix="normflow-fuzz-") as tmp:
        for i in range(chunk["done"], stop):
            how, data, run_seed, capped = make_input(seed, command, i)
            path = Path(tmp) / f"input-{i}.toml"
            path.write_bytes(data)
            out_dir = Path(tmp) / f"out-{i}"
            args = fuzz_args(command, str(path), str(out_dir), seed=run_seed, capped=capped)
            began = time.monotonic()
            outcome, code, err, cpu = _run_forked(args, limit, tmp)
            wall = time.monotonic() - began
            counts["inputs"] += 1
            counts[{"ok": "ok", "crash": "crashes", "hang": "hangs"}[outcome]] += 1
            if f"exit{code}" in counts:
                counts[f"exit{code}"] += 1
            counts["cpu_seconds"] = round(counts["cpu_seconds"] + cpu, 3)
            counts["wall_seconds"] = round(counts["wall_seconds"] + wall, 3)
            if cpu > counts["max_cpu_seconds"]:
                counts["max_cpu_seconds"] = round(cpu, 3)
                counts["slowest"] = i
            if outcome != "ok":
                saved = _keep(keep, command, data, outcome, code, err, how)
                chunk["found"].append({"index": i, "outcome": outcome, "exit": code, "file": saved})
                report(f"{command} #{i}: {outcome} (exit {code}, {how}) -> {saved}")
            path.unlink(missing_ok=True)
            shutil.rmtree(out_dir, ignore_errors=True)
            chunk["done"] = i + 1
            save()
            if (i + 1) % 100 == 0:
                report(
                    f"{command} {i + 1}/{stop}: {counts['inputs']} inputs in this chunk,"
                    f" {counts['crashes']} crashes, {counts['hangs']} hangs,"
                    f" {counts['cpu_seconds']:.0f} s CPU, {counts['wall_seconds']:.0f} s wall"
                )
    return chunk


@functools.cache
def _commit() -> str:
    """The commit measured (with ``+dirty`` when the tree has changes to
    tracked files), or ``unknown`` outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _keep(keep: Path | None, command: str, data: bytes, outcome: str, code: int, err: str, how: str) -> str:
    if keep is None:
        return "(not kept)"
    keep.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = keep / f"{command}-{digest}.toml"
    path.write_bytes(data)
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    note = {"command": command, "outcome": outcome, "exit": code, "mutation": how, "last": lines[-1:]}
    (keep / f"{command}-{digest}.json").write_text(json.dumps(note, indent=1) + "\n", encoding="utf-8")
    return str(path)


# -- a campaign, in chunks --------------------------------------------------------------


class Tally:
    """The figures of a campaign, chunk by chunk, in a JSON file (or in
    memory when ``path`` is None), written again after every input."""

    def __init__(self, path: Path | None, seed: int, limit: float, budget: dict[str, int]):
        self.path = path
        self.data: dict[str, Any] = {"seed": seed, "limit": limit, "budget": budget, "chunks": []}
        if path is not None and path.exists():
            old = json.loads(path.read_text(encoding="utf-8"))
            if (old.get("seed"), old.get("limit")) != (seed, limit):
                raise SystemExit(
                    f"{path}: a tally of seed {old.get('seed')} and limit {old.get('limit')} s;"
                    f" this campaign has seed {seed} and limit {limit} s (use another --tally)"
                )
            old["budget"] = budget
            self.data = old

    def chunk(self, command: str, start: int, stop: int, again: bool = False) -> dict[str, Any]:
        """The record of this chunk: the one already there (unless ``again``),
        or a new one replacing the chunks it covers (refused when it overlaps
        one in part)."""
        chunks = self.data["chunks"]
        for c in chunks:
            if (c["command"], c["start"], c["stop"]) == (command, start, stop) and not again:
                return c
        inside = [c for c in chunks if c["command"] == command and start <= c["start"] and c["stop"] <= stop]
        clash = [
            c for c in chunks
            if c["command"] == command and c not in inside and c["start"] < stop and start < c["stop"]
        ]  # fmt: skip
        if clash:
            raise SystemExit(
                f"{command} inputs {start}-{stop - 1} overlap the chunk {clash[0]['start']}-"
                f"{clash[0]['stop'] - 1} of the tally in part: choose the same bounds or bounds around it"
            )
        record = {"command": command, "start": start, "stop": stop, "done": start}
        self.data["chunks"] = [c for c in chunks if c not in inside] + [record]
        return record

    def save(self) -> None:
        if self.path is None:
            return
        self.data["chunks"].sort(key=lambda c: (COMMANDS.index(c["command"]), c["start"]))
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def pending(self, chunk_size: int, first: int = 0) -> Iterator[tuple[str, int, int]]:
        """Chunks of the budget from input ``first`` on not done yet, in
        order (one cut short first)."""
        for command, n in self.data["budget"].items():
            mine = sorted(
                (c for c in self.data["chunks"] if c["command"] == command), key=lambda c: c["start"]
            )
            at = first
            for c in mine:
                if c["stop"] <= first:
                    continue
                if c["start"] > at:
                    yield from _grid(command, at, min(c["start"], n), chunk_size)
                if c["done"] < c["stop"]:
                    yield command, c["start"], c["stop"]
                at = max(at, c["stop"])
            yield from _grid(command, at, n, chunk_size)

    def totals(self) -> dict[str, dict[str, Any]]:
        """Per command: counts summed over chunks, inputs covered from 0 on
        without a gap, the commits measured."""
        out: dict[str, dict[str, Any]] = {}
        for command in self.data["budget"]:
            mine = sorted(
                (c for c in self.data["chunks"] if c["command"] == command), key=lambda c: c["start"]
            )
            total = _new_counts()
            del total["slowest"]
            covered, commits, found = 0, [], []
            for c in mine:
                counts = c.get("counts", {})
                for key in ("inputs", "ok", "crashes", "hangs", "exit0", "exit1", "exit2"):
                    total[key] += counts.get(key, 0)
                for key in ("cpu_seconds", "wall_seconds"):
                    total[key] = round(total[key] + counts.get(key, 0.0), 1)
                total["max_cpu_seconds"] = max(total["max_cpu_seconds"], counts.get("max_cpu_seconds", 0.0))
                if c["start"] <= covered:
                    covered = max(covered, c["done"])
                for commit in c.get("commits", [c["commit"]] if c.get("commit") else []):
                    if commit not in commits:
                        commits.append(commit)
                found.extend(c.get("found", []))
            total.update(budget=self.data["budget"][command], covered=covered, commits=commits, found=found)
            out[command] = total
        return out


def _grid(command: str, start: int, stop: int, size: int) -> Iterator[tuple[str, int, int]]:
    for a in range(start, stop, size):
        yield command, a, min(a + size, stop)


def campaign(
    budget: dict[str, int],
    seed: int = 0,
    limit: float = TIME_LIMIT,
    keep: Path | None = REGRESSIONS,
    report: Callable[[str], None] = print,
    tally: Path | None = None,
    chunk_size: int = CHUNK,
    chunks: int | None = None,
    first: int = 0,
) -> dict[str, dict[str, Any]]:
    """Run the chunks of ``budget`` not yet in ``tally`` (at most ``chunks``
    of them, from input ``first`` on); return the totals per command."""
    book = Tally(tally, seed, limit, budget)
    book.data["fork_server"] = start_server()
    report(f"fork server: {book.data['fork_server']}")
    for n, (command, start, stop) in enumerate(book.pending(chunk_size, first)):
        if chunks is not None and n >= chunks:
            break
        record = book.chunk(command, start, stop)
        report(f"{command}: inputs {record.get('done', start)}-{stop - 1}")
        run_chunk(command, start, stop, seed, limit, keep, report, record, book.save)
        book.save()
    return book.totals()


def markdown(totals: dict[str, dict[str, Any]]) -> str:
    """The figures as a Markdown table (for docs/robustness.md)."""
    rows = [
        "| command | inputs | tracebacks | hangs | exit 0 | exit 1 | exit 2 | CPU time | wall-clock time | slowest input |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {"run": "`run`", "validate": "`validate`", "experiment": "`experiment run`"}
    for command, t in totals.items():
        rows.append(
            f"| {names.get(command, command)} | {t['inputs']:,} | {t['crashes']} | {t['hangs']} | {t['exit0']:,} |"
            f" {t['exit1']:,} | {t['exit2']:,} | {t['cpu_seconds']:,.0f} s | {t['wall_seconds']:,.0f} s |"
            f" {t['max_cpu_seconds']:.1f} s |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m normflow.testing.fuzz", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("mode", choices=["thorough", "quick", "tally"])
    parser.add_argument("files", nargs="*", type=Path, help="(tally) the tallies to show, added up")
    parser.add_argument("--run", type=int, help="budget: inputs through `normflow run`")
    parser.add_argument("--validate", type=int, help="budget: inputs through `normflow validate`")
    parser.add_argument("--experiment", type=int, help="budget: specs through `normflow experiment run`")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=TIME_LIMIT, help="seconds of CPU time per input")
    parser.add_argument("--keep", type=Path, default=REGRESSIONS, help="where crashes are kept")
    parser.add_argument("--tally", type=Path, help="the figures so far, chunk by chunk (resumed)")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="inputs per chunk")
    parser.add_argument("--chunks", type=int, help="run at most this many chunks now")
    parser.add_argument("--first", type=int, default=0, help="leave inputs before this to another tally")
    parser.add_argument("--command", choices=COMMANDS, help="run one range of this command's inputs")
    parser.add_argument("--start", type=int, default=0, help="(with --command) the first input")
    parser.add_argument("--count", type=int, help="(with --command) how many inputs")
    parser.add_argument("--json", type=Path, help="write the totals here")
    ns = parser.parse_args(argv)
    if ns.mode == "tally":
        if not ns.files:
            parser.error("tally needs a tally file")
        tallies = [json.loads(f.read_text(encoding="utf-8")) for f in ns.files]
        if len({(t["seed"], t["limit"]) for t in tallies}) > 1:
            parser.error("these tallies are of different seeds or limits")
        book = Tally(None, tallies[0]["seed"], tallies[0]["limit"], tallies[0]["budget"])
        book.data["budget"] = {c: max(t["budget"].get(c, 0) for t in tallies) for c in COMMANDS}
        book.data["chunks"] = [c for t in tallies for c in t["chunks"]]
        totals = book.totals()
        print(
            json.dumps({c: {k: v for k, v in t.items() if k != "found"} for c, t in totals.items()}, indent=1)
        )
        print(markdown(totals))
        return 1 if any(t["crashes"] + t["hangs"] for t in totals.values()) else 0
    budget = dict(THOROUGH if ns.mode == "thorough" else QUICK)
    for command in COMMANDS:
        if getattr(ns, command) is not None:
            budget[command] = getattr(ns, command)
    say = functools.partial(print, flush=True)
    if ns.command:
        count = ns.count if ns.count is not None else budget[ns.command] - ns.start
        book = Tally(ns.tally, ns.seed, ns.limit, budget)
        book.data["fork_server"] = start_server()
        say(f"fork server: {book.data['fork_server']}")
        record = book.chunk(ns.command, ns.start, ns.start + count, again=True)
        run_chunk(ns.command, ns.start, ns.start + count, ns.seed, ns.limit, ns.keep, say, record, book.save)
        book.save()
        totals = book.totals()
    else:
        totals = campaign(budget, ns.seed, ns.limit, ns.keep, say, ns.tally, ns.chunk, ns.chunks, ns.first)
    if ns.json:
        ns.json.write_text(
            json.dumps({"seed": ns.seed, "limit": ns.limit, "figures": totals}, indent=1) + "\n"
        )
    say(markdown(totals))
    bad = sum(t["crashes"] + t["hangs"] for t in totals.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
