"""Copy a calibration's results into the package as a case's shipped posterior.

    python benchmarks/ship_posterior.py CALIBRATION_DIR CASE

writes normflow/scenarios/posteriors/CASE/: manifest.json, posterior.csv,
calibration.json and the calibrated scenario (not the history database,
which stays with the calibration). Absolute paths of the machine that ran
the calibration become paths inside the repository. The commands that
produced the shipped posteriors are in benchmarks/calibrate_cases.sh.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(source: str, case: str) -> None:
    src = Path(source)
    dest = ROOT / "normflow" / "scenarios" / "posteriors" / case
    dest.mkdir(parents=True, exist_ok=True)
    names = ["manifest.json", "posterior.csv", "calibration.json", f"{case}-calibrated.toml"]
    for name in names:
        text = (src / name).read_text(encoding="utf-8")
        # /anywhere/normflow/scenarios/... -> normflow/scenarios/...
        marker = "/normflow/scenarios/"
        while marker in text:
            i = text.index(marker)
            j = i
            while j > 0 and text[j - 1] not in ' "\n':
                j -= 1
            text = text[:j] + text[i + 1 :]
        (dest / name).write_text(text, encoding="utf-8")
    print(f"shipped {src} as {dest.relative_to(ROOT)}: {', '.join(names)}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/ship_posterior.py CALIBRATION_DIR CASE")
    main(sys.argv[1], sys.argv[2])
