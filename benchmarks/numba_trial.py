"""A compiled kernel for the exchange loop (issue 16, item 5): does it pay?

The quiet exchange loop (``normflow.processes.information._quiet``) handles
successful contacts one by one in Python: two reads, a comparison and a
write for information, the same for commitment, the coalition's stock. This
study runs that very loop on the very successes a run draws, once in Python
and once compiled with numba (no fast-math: IEEE operations in the same
order, so the results must be bit for bit the same, and the study checks
it), and times both beside the numpy block work that a kernel would not
replace (the clock's draws, the partners, picking the successes)::

    pip install numba                       # not a dependency of normflow
    python benchmarks/numba_trial.py        # 1,800 and 180,000 groups
    python benchmarks/numba_trial.py 18000 --blocks 40

It also reports what numba costs before the first contact: its import and
the kernel's compilation (or loading it from numba's cache). Times are CPU
(``time.process_time``), medians of alternating repetitions; docs/performance.md
gives the figures as measured and what was decided.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from itertools import repeat

import numpy as np

from normflow.bench import information_scenario
from normflow.clocks import AggregatedClock
from normflow.processes.information import (
    CACHE_BYTES,
    CACHE_CHUNK,
    LIKE_MINDED,
    STATE_BYTES,
    ContactBook,
    _held,
)
from normflow.rng import Streams
from normflow.world import World


def blocks_of(groups: int, count: int, seed: int = 1):
    """A world of ``groups`` groups and ``count`` blocks of successful contacts
    drawn as the quiet loop draws them: (world, [(g, h) arrays per block], numpy CPU)."""
    scenario = information_scenario(groups, 1.0)
    world = World(scenario, Streams(seed)("world"))
    p = scenario.processes.information
    members = np.flatnonzero(world.group_issue == 0)
    loc = world.group_locality[members]
    openness = world.lg_openness[loc]
    rng = np.random.default_rng(seed)
    clock = AggregatedClock(p.contact_rate / 365.25 * (1.0 + p.venue_boost * openness), rng)
    book = ContactBook(world, members, p.tie_share, p.partner_share, p.local_share)
    p0 = p.base_success
    by_locality = np.append(p0 + (1.0 - p0) * world.lg_openness, p0)
    out = []
    cpu = time.process_time()
    t = 0.0
    for _ in range(count):
        gaps, k = clock.draw()
        times = np.cumsum(np.concatenate(([t], gaps)))[1:]
        t = float(times[-1])
        seeker, lg, partner = book.draw_all(k, rng)
        found = partner >= 0
        at = np.flatnonzero((rng.random(len(k)) < by_locality[lg]) & found)
        out.append((seeker[at], partner[at], times[at].tolist()))
    return world, out, time.process_time() - cpu, p


def python_loop(world, blocks, p) -> float:
    """The quiet loop's scalar work (no hand-overs: nothing else is due)."""
    info = memoryview(world.group_info)
    commitment = memoryview(world.group_commitment)
    pooled = memoryview(world.coalition_info)
    held = _held(world)  # the world's rows of exchange state, gathered whole
    chunk = CACHE_CHUNK if len(info) * STATE_BYTES > CACHE_BYTES else 1 << 30
    transfer, influence = p.transfer, p.influence
    cpu = time.process_time()
    for g_all, h_all, times in blocks:
        lists = (times, g_all.tolist(), h_all.tolist())
        n = len(times)
        for lo in range(0, n, chunk):
            if chunk < n:
                for column in held:
                    column.take(g_all[lo : lo + chunk], axis=0)
                    column.take(h_all[lo : lo + chunk], axis=0)
            for _s, g, h, what in zip(
                *(x[lo : lo + chunk] for x in lists), repeat(LIKE_MINDED), strict=False
            ):
                a = info[g]
                b = info[h]
                if a < b:
                    gain = transfer * (b - a)
                    info[g] = a + gain
                    pooled[g] += gain
                elif b < a:
                    gain = transfer * (a - b)
                    info[h] = b + gain
                    pooled[h] += gain
                if what == 1:
                    continue
                a = commitment[g]
                b = commitment[h]
                if a < b:
                    commitment[g] = a + influence * (b - a)
                elif b < a:
                    commitment[h] = b + influence * (a - b)
    return time.process_time() - cpu


def compiled_loop(kernel, world, blocks, p) -> float:
    cpu = time.process_time()
    info, commitment, pooled = world.group_info, world.group_commitment, world.coalition_info
    for g_all, h_all, _times in blocks:
        kernel(g_all, h_all, info, commitment, pooled, p.transfer, p.influence)
    return time.process_time() - cpu


def make_kernel(cache: bool):
    from numba import njit

    @njit(cache=cache)
    def kernel(gs, hs, info, commitment, pooled, transfer, influence):  # pragma: no cover - compiled
        for j in range(len(gs)):
            g = gs[j]
            h = hs[j]
            a = info[g]
            b = info[h]
            if a < b:
                gain = transfer * (b - a)
                info[g] = a + gain
                pooled[g] += gain
            elif b < a:
                gain = transfer * (a - b)
                info[h] = b + gain
                pooled[h] += gain
            a = commitment[g]
            b = commitment[h]
            if a < b:
                commitment[g] = a + influence * (b - a)
            elif b < a:
                commitment[h] = b + influence * (a - b)

    return kernel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="*", type=int, default=[1_800, 180_000])
    parser.add_argument("--blocks", type=int, default=30, help="blocks of 4,096 contacts per repetition")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cpu = time.process_time()
    try:
        import numba  # noqa: F401
    except ImportError:
        print("numba is not installed (pip install numba): nothing to measure")
        return 0
    imported = time.process_time() - cpu
    cpu = time.process_time()
    kernel = make_kernel(cache=False)
    one = np.zeros(2, dtype=np.int64)
    kernel(one, one, np.zeros(2), np.zeros(2), np.zeros(2), 0.5, 0.2)
    compiled = time.process_time() - cpu
    print(f"numba import: {imported:.3f} s CPU; kernel compilation: {compiled:.3f} s CPU")
    for groups in args.groups:
        rows = {"numpy block work": [], "python loop": [], "compiled loop": []}
        for k in range(args.repeat):
            world, blocks, numpy_cpu, p = blocks_of(groups, args.blocks, seed=1 + k)
            ticks = args.blocks * 4096
            start = {
                name: getattr(world, name).copy()
                for name in ("group_info", "group_commitment", "coalition_info")
            }
            python_cpu = python_loop(world, blocks, p)
            after_python = {name: getattr(world, name).copy() for name in start}
            for name, value in start.items():
                getattr(world, name)[:] = value
            compiled_cpu = compiled_loop(kernel, world, blocks, p)
            for name, value in after_python.items():
                if not np.array_equal(getattr(world, name), value):
                    print(f"{groups:,} groups: the compiled loop's {name} differs from Python's")
                    return 1
            rows["numpy block work"].append(numpy_cpu / ticks)
            rows["python loop"].append(python_cpu / ticks)
            rows["compiled loop"].append(compiled_cpu / ticks)
        cells = {name: 1e9 * statistics.median(values) for name, values in rows.items()}
        python_total = cells["numpy block work"] + cells["python loop"]
        compiled_total = cells["numpy block work"] + cells["compiled loop"]
        print(
            f"{groups:,} groups, ns per contact: "
            + ", ".join(f"{name} {value:.0f}" for name, value in cells.items())
            + f"; block work + loop: Python {python_total:.0f}, compiled {compiled_total:.0f}"
            f" ({python_total / compiled_total:.2f}x); bit-identical state"
        )
        # how many contacts the kernel must handle to earn back numba's import and compilation
        saved = (cells["python loop"] - cells["compiled loop"]) * 1e-9
        if saved > 0:
            print(f"  break-even: {(imported + compiled) / saved:,.0f} contacts per process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
