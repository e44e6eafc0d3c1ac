"""Bit-identical results: the seed-1 trace of every bundled scenario, hashed,
from this source tree and from another commit built in a git worktree, in
the same run.

A change made for speed alone must leave every trace byte for byte the
same::

    python benchmarks/identical.py main          # this tree against main
    python benchmarks/identical.py b326518 --scenario benchmarks/frozen/kawasaki-suffrage-b326518.toml

Both sides run the same scenario files (this tree's bundled ones unless
``--scenario`` names others), each with its own engine and bundled plugins.
Exit 0 when every digest matches, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Runs one scenario with a JSON Lines trace and prints the digests. Uses only
#: the public API as it was at the start of the performance work, so an older
#: commit runs it unchanged.
SNIPPET = """
import hashlib, json, sys, tempfile, os
from normflow import Simulation, load_scenario
path, seed = sys.argv[1], int(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    trace = os.path.join(tmp, "t.jsonl")
    result = Simulation(load_scenario(path), seed, trace=trace).run()
    data = open(trace, "rb").read()
def digest(result):
    return hashlib.sha256(json.dumps(result.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
# the same run untraced: processes skip building events nobody hears
untraced = Simulation(load_scenario(path), seed).run()
print(json.dumps({"trace": hashlib.sha256(data).hexdigest()[:16], "lines": data.count(b"\\n"),
                  "result": digest(result), "untraced": digest(untraced)}))
"""


def digests(tree: Path, scenario: Path, seed: int) -> dict[str, object]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    # the tree's own normflow and bundled plugins come before the installed ones
    plugins = sorted(str(p) for p in (tree / "plugins").glob("*") if p.is_dir())
    env["PYTHONPATH"] = os.pathsep.join([str(tree), str(tree / "plugins"), *plugins])
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(scenario), str(seed)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the commit to compare with (built in a git worktree)")
    parser.add_argument("--scenario", action="append", type=Path, help="scenario files (default: bundled)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenarios = args.scenario or sorted((ROOT / "normflow" / "scenarios").glob("*.toml"))
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(other), args.rev], check=True
        )
        try:
            same = True
            for scenario in scenarios:
                here = digests(ROOT, scenario.resolve(), args.seed)
                there = digests(other, scenario.resolve(), args.seed)
                ok = here == there and "error" not in here
                same &= ok
                print(
                    f"{'same' if ok else 'DIFFERENT'}  {scenario.name}: this tree {here}, {args.rev} {there}"
                )
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(other)], check=False)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
