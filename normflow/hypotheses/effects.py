"""The one analysis every design shares: paired effects between arms.

Replication *k* of every arm runs with the same seed, so arms differ in
what they switch, not in their luck, and an effect is the mean of
per-replication paired differences with a paired bootstrap interval (BCa,
``normflow.stats.mean_interval``; Student t under 10 pairs). Shares per arm
carry Wilson intervals, times to a milestone Kaplan-Meier medians. A
verdict is ``supported`` when the whole interval lies on the predicted
side of 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


SUPPORTED = "supported"


NOT_SUPPORTED = "not supported"


NOT_APPLICABLE = "not applicable"


#: Every pair gave the same difference, but too few pairs to call that an interval.
TOO_FEW = "too few runs to tell"

#: Pairs needed before an interval of width zero (all pairs equal) counts.
MIN_CONSTANT_PAIRS = 10


def _verdict(n: int, estimate: float | None, low: float | None, high: float | None, predicted: int) -> str:
    if n == 0 or estimate is None:
        return NOT_APPLICABLE
    if low is None or high is None:
        return NOT_SUPPORTED
    return SUPPORTED if (low > 0 if predicted > 0 else high < 0) else NOT_SUPPORTED


def _direction(estimate: float | None, predicted: int) -> str:
    if estimate is None or not np.isfinite(estimate):
        return "none"
    if estimate == 0:
        return "none"
    return "as predicted" if np.sign(estimate) == predicted else "opposite"


def _checked_verdict(ci: dict[str, Any], predicted: int) -> str:
    verdict = _verdict(ci["n"], ci["mean"], ci["low"], ci["high"], predicted)
    if verdict == SUPPORTED and ci["method"] == "constant" and ci["n"] < MIN_CONSTANT_PAIRS:
        return TOO_FEW  # every pair equal over a handful of runs: no interval to speak of
    return verdict


def paired_effect(diffs: Sequence[float] | np.ndarray, predicted: int) -> dict[str, Any]:
    """The mean of per-replication paired differences with its 95% interval
    (missing differences dropped), the direction relative to the predicted
    sign (+1 or -1) and the verdict: ``supported`` when the whole interval
    lies on the predicted side of 0, ``not supported`` otherwise, ``not
    applicable`` with no pairs at all, and ``too few runs to tell`` instead
    of ``supported`` when fewer than ``MIN_CONSTANT_PAIRS`` pairs all gave
    the same difference (an interval of width zero from four runs is no
    evidence)."""
    from normflow.stats import mean_interval

    ci = mean_interval(np.asarray(diffs, dtype=float))
    methods = {
        "bootstrap-bca": "paired bootstrap (BCa)",
        "bootstrap-percentile": "paired bootstrap (percentile)",
        "t": "paired t",
        "constant": "all pairs equal",
        "none": "none (too few pairs)",
    }
    return {
        "n": ci["n"],
        "estimate": ci["mean"],
        "low": ci["low"],
        "high": ci["high"],
        "interval": methods.get(ci["method"], ci["method"]),
        "predicted": "> 0" if predicted > 0 else "< 0",
        "direction": _direction(ci["mean"], predicted),
        "verdict": _checked_verdict(ci, predicted),
    }


def column(frame: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), default)
    return frame[name].to_numpy(dtype=float, na_value=np.nan)


def reached(frame: pd.DataFrame, milestone: str) -> np.ndarray:
    """1.0 where the run reached the milestone, else 0.0 (a milestone no run
    declared is never reached)."""
    if f"{milestone}_censored" not in frame.columns:
        return np.zeros(len(frame))
    return (~frame[f"{milestone}_censored"].to_numpy(dtype=bool, na_value=True)).astype(float)


def days_to(frame: pd.DataFrame, milestone: str, horizon: np.ndarray) -> np.ndarray:
    """Days to the milestone, the run's horizon where it was not reached."""
    out = horizon.astype(float).copy()
    if f"{milestone}_days" in frame.columns:
        hit = reached(frame, milestone) == 1.0
        out[hit] = frame[f"{milestone}_days"].to_numpy(dtype=float, na_value=np.nan)[hit]
    return out


def share_row(values: np.ndarray) -> dict[str, Any]:
    from normflow.stats import share_interval

    s = share_interval(int(np.sum(values)), len(values))
    return {"n": s["n"], "estimate": s["share"], "low": s["low"], "high": s["high"], "method": "Wilson"}


def mean_row(values: np.ndarray) -> dict[str, Any]:
    from normflow.stats import mean_interval

    m = mean_interval(values)
    return {"n": m["n"], "estimate": m["mean"], "low": m["low"], "high": m["high"], "method": m["method"]}


def median_row(days: np.ndarray, hit: np.ndarray) -> dict[str, Any]:
    from normflow.stats import kaplan_meier

    km = kaplan_meier(days, hit == 0.0)
    return {
        "n": km.n,
        "estimate": km.median,
        "low": km.median_low,
        "high": km.median_high,
        "method": "Kaplan-Meier median (None: beyond the horizon)",
    }
