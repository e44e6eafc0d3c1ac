"""A mutation fuzzer for the command line: no input may crash it or hang it.

It starts from the bundled scenarios and a few experiment specs, mutates
them (structure, syntax, encoding, size, depth) and feeds each mutant to
the real ``normflow`` entry point (the console script), each in a process
forked from one that has already imported normflow, with a time limit per
input. An input *crashes* when the command prints a Python traceback or
ends other than with exit 0, 1 (a run that failed) or 2 (bad input); it
*hangs* when it is still running at the limit. Every crash or hang is
written to a directory (by default ``tests/fuzz_regressions/``) as a file
that ``tests/test_fuzz_regressions.py`` runs from then on.

Run outside CI::

    python -m normflow.testing.fuzz thorough            # 20,000 run, 2,000 validate, 1,000 specs
    python -m normflow.testing.fuzz quick               # a few dozen of each
    python -m normflow.testing.fuzz thorough --run 500 --validate 200 --experiment 50 --seed 7

The same seed gives the same inputs. POSIX only (``os.fork``).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import random
import signal
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Inputs per command of the ``thorough`` budget (issue 18).
THOROUGH = {"run": 20_000, "validate": 2_000, "experiment": 1_000}
QUICK = {"run": 40, "validate": 40, "experiment": 10}
TIME_LIMIT = 30.0
TRACEBACK = "Traceback (most recent call last)"
REGRESSIONS = Path(__file__).resolve().parents[2] / "tests" / "fuzz_regressions"

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


def _bundled_texts() -> list[tuple[str, str]]:
    from normflow.scenario import bundled_scenarios

    return [(name, path.read_text(encoding="utf-8")) for name, path in sorted(bundled_scenarios().items())]


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


# -- running one input ----------------------------------------------------------------


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


def run_forked(args: list[str], limit: float = TIME_LIMIT, cwd: str | None = None) -> tuple[str, int, str]:
    """Run ``normflow ARGS`` in a forked child; (outcome, exit code, stderr
    tail). Outcome: ``ok``, ``crash`` or ``hang`` (more than ``limit``
    seconds of CPU time, or ten times that of wall-clock time)."""
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
        began = time.monotonic()
        status = None
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            # the limit is on CPU time where the system says (a shared, loaded
            # machine stretches wall-clock time); a process that blocks
            # without using the CPU meets the wall-clock cap instead
            spent = _cpu_seconds(pid)
            wall = time.monotonic() - began
            if (spent if spent is not None else wall) > limit or wall > max(10 * limit, limit + 300):
                status = None
                break
            time.sleep(0.02)
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return "hang", -9, ""
        try:  # helpers the child started (e.g. a forkserver) go with it
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    bad = code not in (0, 1, 2) or TRACEBACK in text
    return ("crash" if bad else "ok"), code, text[-2000:]


# -- a campaign -------------------------------------------------------------------------


def fuzz_args(command: str, path: str, out_dir: str, seed: int = 0) -> list[str]:
    """The command line an input of ``command`` is fed to."""
    if command == "run":
        return ["run", path, "--seed", str(seed)]
    if command == "validate":
        return ["validate", path, "--runs", "2", "--workers", "1"]
    return ["experiment", "run", path, "--out", out_dir, "--workers", "1"]


def campaign(
    budget: dict[str, int],
    seed: int = 0,
    limit: float = TIME_LIMIT,
    keep: Path | None = REGRESSIONS,
    report: Callable[[str], None] = print,
) -> dict[str, dict[str, int]]:
    """Run ``budget[command]`` mutated inputs through each command; return
    counts per command (inputs, ok, crashes, hangs, exit codes) and keep every
    crash or hang in ``keep``."""
    _entry_point()  # loads the command line, so the children start with it imported

    rng = random.Random(seed)
    scenarios = _bundled_texts()
    figures: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="normflow-fuzz-") as tmp:
        for command, n in budget.items():
            counts = {"inputs": 0, "ok": 0, "crashes": 0, "hangs": 0, "exit0": 0, "exit1": 0, "exit2": 0}
            began = time.monotonic()
            for i in range(n):
                if command == "experiment":
                    source, text = "spec", rng.choice(SPECS)
                else:
                    source, text = rng.choice(scenarios)
                kind, data = mutate(rng, text)
                path = Path(tmp) / f"input-{i}.toml"
                path.write_bytes(data)
                out_dir = str(Path(tmp) / f"out-{i}")
                args = fuzz_args(command, str(path), out_dir, seed=rng.randrange(5))
                outcome, code, err = run_forked(args, limit, cwd=tmp)
                counts["inputs"] += 1
                counts[{"ok": "ok", "crash": "crashes", "hang": "hangs"}[outcome]] += 1
                if f"exit{code}" in counts:
                    counts[f"exit{code}"] += 1
                if outcome != "ok":
                    saved = _keep(keep, command, data, outcome, code, err, f"{source}/{kind}")
                    report(f"{command} #{i}: {outcome} (exit {code}, {source}/{kind}) -> {saved}")
                path.unlink(missing_ok=True)
                if (i + 1) % 100 == 0:
                    report(f"{command}: {i + 1}/{n} inputs, {time.monotonic() - began:.0f} s, {counts}")
            counts["seconds"] = round(time.monotonic() - began)
            figures[command] = counts
            report(f"{command}: done {counts}")
    return figures


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m normflow.testing.fuzz", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("mode", choices=["thorough", "quick"])
    parser.add_argument("--run", type=int, help="inputs through `normflow run`")
    parser.add_argument("--validate", type=int, help="inputs through `normflow validate`")
    parser.add_argument("--experiment", type=int, help="specs through `normflow experiment run`")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=TIME_LIMIT, help="seconds per input")
    parser.add_argument("--keep", type=Path, default=REGRESSIONS, help="where crashes are kept")
    parser.add_argument("--json", type=Path, help="write the figures here")
    ns = parser.parse_args(argv)
    budget = dict(THOROUGH if ns.mode == "thorough" else QUICK)
    for command in budget:
        if getattr(ns, command) is not None:
            budget[command] = getattr(ns, command)
    figures = campaign(
        budget, seed=ns.seed, limit=ns.limit, keep=ns.keep, report=lambda s: print(s, flush=True)
    )
    if ns.json:
        ns.json.write_text(
            json.dumps({"seed": ns.seed, "limit": ns.limit, "figures": figures}, indent=1) + "\n"
        )
    bad = sum(c["crashes"] + c["hangs"] for c in figures.values())
    print(json.dumps(figures))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
