"""The information-exchange rows of ``normflow bench`` alone, with the same
jobs and the same ratios, for the scaling work of issue 16 (items 4 and 5)::

    python benchmarks/exchange_rows.py                  # 1,800 to 1.8 million groups
    python benchmarks/exchange_rows.py --sizes 1800 180000 --repeat 3

Each measurement runs in a fresh process (``normflow.bench.run_job``): the
engine over the full horizon and over a quarter of it (the difference gives
the marginal CPU per contact, net of set-up and summary), and the naive
SimPy reference where the bench runs it. Prints the rows, the ratio to naive
SimPy at 1,800 groups and the growth of the marginal cost per contact with
the population, as ``normflow bench`` computes them, and the peak memory
per group. The whole bench takes half an hour on a loaded 2-core machine;
this takes a few minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from normflow.bench import run_job

#: (groups, engine years, naive SimPy years): the bench's sizes and horizons.
SIZES = {
    1_800: (10.0, 10.0),
    18_000: (10.0, 2.0),
    180_000: (10.0, 1.0),
    1_800_000: (1.0, None),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="repetitions below 100,000 groups (one above)")
    args = parser.parse_args()
    marginal: dict[int, float] = {}
    print(
        f"{'groups':>10} {'contacts':>11} {'CPU µs/contact':>15} {'marginal µs':>12} {'peak MB':>8} {'× SimPy':>8}"
    )
    for groups in args.sizes:
        years, simpy_years = SIZES.get(groups, (1.0, None))
        reps = args.repeat if groups < 100_000 else 1
        engine, quarter, simpy = [], [], []
        for k in range(reps):
            base = {"scenario": "information", "groups": groups, "seed": 1 + k}
            engine.append(run_job({"kind": "engine", **base, "years": years}))
            quarter.append(run_job({"kind": "engine", **base, "years": years / 4}))
            if simpy_years is not None:
                simpy.append(run_job({"kind": "simpy", **base, "years": simpy_years}))
        marginal[groups] = 1e6 * statistics.median(
            (a["cpu"] - b["cpu"]) / max(a["events"] - b["events"], 1)
            for a, b in zip(engine, quarter, strict=True)
        )
        cpu = 1e6 * statistics.median(r["cpu"] / max(r["events"], 1) for r in engine)
        ratio = (
            statistics.median(
                (r["cpu"] / max(r["events"], 1)) / (e["cpu"] / max(e["events"], 1))
                for r, e in zip(simpy, engine, strict=True)
            )
            if simpy
            else None
        )
        peak = max(r["peak_rss_mb"] for r in engine)
        events = int(statistics.median(r["events"] for r in engine))
        print(
            f"{groups:>10,} {events:>11,} {cpu:>15.3f} {marginal[groups]:>12.3f} {peak:>8.0f} "
            f"{'' if ratio is None else f'{ratio:.2f}':>8}"
        )
        if simpy:
            reference = 1e6 * statistics.median(r["cpu"] / max(r["events"], 1) for r in simpy)
            print(f"{'':>10} naive SimPy: {reference:.3f} µs/contact over {simpy_years:g} year(s)")
        print(f"{'':>10} peak memory per group: {peak * 2**20 / groups:,.0f} bytes (whole process)")
    if 1_800 in marginal:
        for groups, value in marginal.items():
            if groups != 1_800:
                print(
                    f"marginal CPU per contact at {groups:,} / at 1,800 groups: {value / marginal[1_800]:.2f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
