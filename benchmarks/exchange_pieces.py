"""Where a contact's cost goes, and how it grows with the population (issue 16,
item 4): the quiet exchange loop's work, piece by piece, on the very blocks a
run draws, with the world's state laid out two ways::

    python benchmarks/exchange_pieces.py                  # 1,800 and 180,000 groups
    python benchmarks/exchange_pieces.py --groups 18000 --blocks 80

Pieces, in CPU nanoseconds per contact drawn (medians of alternating
repetitions): the contact clock's block (gaps, and actors by rejection), the
contact book's partners, picking the successes and turning them into lists,
and the scalar loop over the successes (``gather``: the part of the loop spent
gathering the next chunk's state ahead of it, at populations whose state
exceeds ``CACHE_BYTES``). Layouts:

- ``columns``: information, commitment and pooled information as three
  separate arrays, the clock's localities in 32 bits (the engine before the
  fifth round);
- ``rows``: the world as it is (``World._exchange``: one padded 32-byte row per
  group, gathered whole; 16-bit localities where they fit).

The loop is the quiet loop's scalar work without hand-overs (nothing else is
due in an information-only run between blocks). docs/performance.md gives
the figures as measured.
"""

from __future__ import annotations

import argparse
import statistics
import time
from itertools import repeat

import numpy as np

from normflow.bench import information_scenario
from normflow.processes.information import (
    CACHE_BYTES,
    CACHE_CHUNK,
    STATE_BYTES,
    ContactBook,
    LocalityClock,
    _held,
)
from normflow.rng import Streams
from normflow.world import World

PIECES = ("clock", "book", "pick", "loop", "gather")


def measure(groups: int, blocks: int, layout: str, seed: int = 1) -> dict[str, float]:
    """CPU ns per contact drawn of each piece, over ``blocks`` blocks."""
    scenario = information_scenario(groups, 1.0)
    w = World(scenario, Streams(seed)("world"))
    p = scenario.processes.information
    members = np.flatnonzero(w.group_issue == 0)
    loc = w.group_locality[members]
    rng = np.random.default_rng(seed)
    rates = p.contact_rate / 365.25 * (1.0 + p.venue_boost * w.lg_openness[loc])
    by_place = p.contact_rate / 365.25 * (1.0 + p.venue_boost * np.append(w.lg_openness, 0.0))
    clock = LocalityClock(rates, rng, loc, by_place)
    book = ContactBook(w, members, p.tie_share, p.partner_share, p.local_share)
    p0 = p.base_success
    by_locality = np.append(p0 + (1.0 - p0) * w.lg_openness, p0)
    if layout == "columns":
        columns = (w.group_info.copy(), w.group_commitment.copy(), w.coalition_info.copy())
        info, commitment, pooled = (memoryview(c) for c in columns)
        held: tuple[np.ndarray, ...] = columns
        clock._place = clock._place.astype(np.int32)
    else:
        info, commitment, pooled = (
            memoryview(c) for c in (w.group_info, w.group_commitment, w.coalition_info)
        )
        held = _held(w)
    chunk = CACHE_CHUNK if groups * STATE_BYTES > CACHE_BYTES else 1 << 30
    transfer, influence = p.transfer, p.influence
    spent = dict.fromkeys(PIECES, 0.0)
    clock_cpu = time.process_time
    t = 0.0
    ticks = 0
    for _ in range(blocks):
        c0 = clock_cpu()
        gaps, k = clock.draw()
        c1 = clock_cpu()
        gaps[0] += t
        times = np.cumsum(gaps)
        t = float(times[-1])
        seeker, lg, partner = book.draw_all(k, rng, clock.places)
        c2 = clock_cpu()
        found = partner >= 0
        at = np.flatnonzero((rng.random(len(k)) < by_locality[lg]) & found)
        missing = np.flatnonzero(~found)
        before = (at - np.searchsorted(missing, at)).tolist()
        g_all, h_all = seeker[at], partner[at]
        lists = (times[at].tolist(), g_all.tolist(), h_all.tolist(), before)
        n = len(at)
        pairs = np.column_stack((g_all, h_all)).ravel() if chunk < n else g_all
        c3 = clock_cpu()
        for lo in range(0, n, chunk):
            part = lists
            if chunk < n:
                g0 = clock_cpu()
                both = pairs[2 * lo : 2 * (lo + chunk)]
                for column in held:
                    column.take(both, axis=0)
                spent["gather"] += clock_cpu() - g0
                part = tuple(x[lo : lo + chunk] for x in lists)
            for _s, g, h, _ahead, what in zip(*part, repeat(2), strict=False):
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
        c4 = clock_cpu()
        spent["clock"] += c1 - c0
        spent["book"] += c2 - c1
        spent["pick"] += c3 - c2
        spent["loop"] += c4 - c3
        ticks += len(k)
    return {name: 1e9 * value / ticks for name, value in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", nargs="*", type=int, default=[1_800, 180_000])
    parser.add_argument("--blocks", type=int, default=80, help="blocks of 4,096 contacts per repetition")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    layouts = ("columns", "rows")
    totals: dict[tuple[int, str], float] = {}
    for groups in args.groups:
        runs: dict[str, list[dict[str, float]]] = {layout: [] for layout in layouts}
        for k in range(args.repeat):
            for layout in layouts if k % 2 == 0 else layouts[::-1]:
                runs[layout].append(measure(groups, args.blocks, layout))
        for layout in layouts:
            cells = {name: statistics.median(r[name] for r in runs[layout]) for name in PIECES}
            total = sum(cells.values()) - cells["gather"]  # the gathers are part of the loop
            totals[(groups, layout)] = total
            print(
                f"{groups:>9,} {layout:>8}: "
                + ", ".join(f"{name} {value:.0f}" for name, value in cells.items())
                + f"; total {total:.0f} ns per contact drawn"
            )
    smallest = min(args.groups)
    for groups in args.groups:
        if groups != smallest:
            print(
                f"{groups:,} / {smallest:,} groups: "
                + ", ".join(
                    f"{layout} {totals[(groups, layout)] / totals[(smallest, layout)]:.2f}"
                    for layout in layouts
                )
            )


if __name__ == "__main__":
    main()
