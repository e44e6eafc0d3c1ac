"""Statistics of an experiment's table, per sweep cell.

- Means of numeric outcomes with 95% intervals: a BCa bootstrap
  (``scipy.stats.bootstrap``, fixed seed) from 10 replications up, a
  Student t interval below that, none for a single value.
- Shares of yes/no outcomes (and of runs reaching each milestone) with
  Wilson score intervals (``scipy.stats.binomtest``).
- Time to each milestone: the Kaplan–Meier estimate of the share of runs
  that have *not yet* reached it, with runs that never reach it censored
  at the horizon (``scipy.stats.ecdf`` on ``scipy.stats.CensoredData``),
  its pointwise log-log 95% band, and the median time with the interval
  read off that band.

Nothing here re-implements an estimator; this module chooses, labels and
rounds. ``Summary.to_json`` is a pure function of the table: sorted keys,
floats rounded to 8 significant digits, no timings or host names.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from collections.abc import Sequence
from typing import IO, Any

import attrs
import numpy as np
import pandas as pd

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_MIN_N = 10
BOOTSTRAP_SEED = 20240501
SIGNIFICANT = 8

_NOT_OUTCOMES = {"cell", "replication", "seed", "spawn_key", "status", "error", "horizon_days"}


# -- single estimates -----------------------------------------------------------------


def mean_interval(
    values: Sequence[float] | np.ndarray,
    confidence: float = CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> dict[str, Any]:
    """The mean of ``values`` (missing ones dropped) with an interval.

    ``method`` says which: ``bootstrap-bca`` (n >= 10), ``t`` (2 <= n < 10),
    ``constant`` (all equal: the interval is the value), ``none`` (n < 2).
    The bootstrap draws from a generator seeded with ``seed``, so the same
    data always give the same interval.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": None, "low": None, "high": None, "method": "none"}
    mean = float(np.mean(x))
    if n < 2:
        return {"n": n, "mean": mean, "low": None, "high": None, "method": "none"}
    if np.all(x == x[0]):
        return {"n": n, "mean": mean, "low": mean, "high": mean, "method": "constant"}
    if n < BOOTSTRAP_MIN_N:
        low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=stats.sem(x))
        return {"n": n, "mean": mean, "low": float(low), "high": float(high), "method": "t"}
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            # BCa is undefined for some near-degenerate samples; then fall back
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                (x,),
                np.mean,
                confidence_level=confidence,
                n_resamples=resamples,
                method=method,
                rng=np.random.default_rng(seed),
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return {"n": n, "mean": mean, "low": low, "high": high, "method": f"bootstrap-{method.lower()}"}
    return {"n": n, "mean": mean, "low": None, "high": None, "method": "none"}


def share_interval(
    successes: int, n: int, confidence: float = CONFIDENCE, method: str = "wilson"
) -> dict[str, Any]:
    """A share with its interval: ``wilson`` (default) or ``exact``
    (Clopper–Pearson), from ``scipy.stats.binomtest``."""
    from scipy import stats

    if n == 0:
        return {"n": 0, "k": 0, "share": None, "low": None, "high": None, "method": method}
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method=method)
    return {
        "n": int(n),
        "k": int(successes),
        "share": successes / n,
        "low": float(ci.low),
        "high": float(ci.high),
        "method": method,
    }


@attrs.frozen
class Survival:
    """Kaplan–Meier estimate for one milestone in one cell.

    ``days[i]`` are the distinct observed times (reached or censored),
    ``survival[i]`` the estimated share of runs not yet at the milestone
    just after ``days[i]``, ``low``/``high`` the pointwise log-log band
    (where the estimate is 0 or 1 the formula is undefined and the band is
    the estimate itself). The median is the first time the estimate is at or
    below one half; its interval runs from the first time the band's lower
    edge is, to the first time its upper edge is (``None``: not within the
    observed time).
    """

    n: int
    events: int
    days: np.ndarray
    survival: np.ndarray
    low: np.ndarray
    high: np.ndarray
    median: float | None
    median_low: float | None
    median_high: float | None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"days": self.days, "survival": self.survival, "low": self.low, "high": self.high}
        )


def kaplan_meier(
    days: Sequence[float] | np.ndarray,
    censored: Sequence[bool] | np.ndarray,
    confidence: float = CONFIDENCE,
) -> Survival:
    """Kaplan–Meier for times ``days`` where ``censored`` marks runs that
    ended (at that time) without reaching the milestone."""
    from scipy import stats

    t = np.asarray(days, dtype=float)
    c = np.asarray(censored, dtype=bool)
    keep = ~np.isnan(t)
    t, c = t[keep], c[keep]
    n, events = len(t), int(np.sum(~c))
    if events == 0:
        empty = np.array([], dtype=float)
        return Survival(n, 0, empty, empty, empty, empty, None, None, None)
    res = stats.ecdf(stats.CensoredData(uncensored=t[~c], right=t[c]))
    with warnings.catch_warnings():
        # "undefined at some observations": where S is 0 or 1; kept as NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        band = res.sf.confidence_interval(confidence_level=confidence, method="log-log")
    at = res.sf.quantiles
    s = res.sf.probabilities
    # the log-log formula is undefined where the estimate is 0 or 1 (every
    # run still at risk reached it, or none has yet): the band is that value
    edge = (s == 0.0) | (s == 1.0)
    low = np.where(edge, s, band.low.probabilities)
    high = np.where(edge, s, band.high.probabilities)
    return Survival(
        n=n,
        events=events,
        days=np.asarray(at, dtype=float),
        survival=np.asarray(s, dtype=float),
        low=np.asarray(low, dtype=float),
        high=np.asarray(high, dtype=float),
        median=_first_at_or_below(at, s),
        median_low=_first_at_or_below(at, low),
        median_high=_first_at_or_below(at, high),
    )


def _first_at_or_below(at: np.ndarray, curve: np.ndarray, level: float = 0.5) -> float | None:
    hit = np.nonzero(np.nan_to_num(curve, nan=np.inf) <= level)[0]
    return float(at[hit[0]]) if len(hit) else None


# -- the whole table ----------------------------------------------------------------------


@attrs.frozen
class Summary:
    """Per-cell statistics as DataFrames, and as stable JSON.

    - ``cells``: cell, parameters, replications, ok, failed
    - ``means``: cell, column, n, mean, low, high, method
    - ``shares``: cell, column, n, k, share, low, high, method
    - ``milestones``: cell, milestone, n, reached, share, share_low,
      share_high, median_days, median_low, median_high, median_date
    - ``curves``: cell, milestone, days, survival, low, high
    """

    about: dict[str, Any]
    parameters: tuple[str, ...]
    cells: pd.DataFrame
    means: pd.DataFrame
    shares: pd.DataFrame
    milestones: pd.DataFrame
    curves: pd.DataFrame

    def to_dict(self, curves: bool = False) -> dict[str, Any]:
        out_cells = []
        for cell in self.cells.to_dict(orient="records"):
            c = cell["cell"]
            entry: dict[str, Any] = {
                "cell": c,
                "params": {p: _json_value(cell[p]) for p in self.parameters},
                "replications": cell["replications"],
                "ok": cell["ok"],
                "failed": cell["failed"],
                "means": {
                    r["column"]: {k: r[k] for k in ("n", "mean", "low", "high", "method")}
                    for r in self.means[self.means["cell"] == c].to_dict(orient="records")
                },
                "shares": {
                    r["column"]: {k: r[k] for k in ("n", "k", "share", "low", "high", "method")}
                    for r in self.shares[self.shares["cell"] == c].to_dict(orient="records")
                },
                "milestones": {},
            }
            for r in self.milestones[self.milestones["cell"] == c].to_dict(orient="records"):
                m = {k: v for k, v in r.items() if k not in ("cell", "milestone")}
                if curves:
                    curve = self.curves[
                        (self.curves["cell"] == c) & (self.curves["milestone"] == r["milestone"])
                    ]
                    m["curve"] = {k: curve[k].tolist() for k in ("days", "survival", "low", "high")}
                entry["milestones"][r["milestone"]] = m
            out_cells.append(entry)
        return _rounded({"experiment": self.about, "confidence": CONFIDENCE, "cells": out_cells})

    def to_json(self, curves: bool = False) -> str:
        return json.dumps(self.to_dict(curves=curves), sort_keys=True, indent=1, allow_nan=False)

    def print(self, file: IO[str] | None = None) -> None:
        """Tables for people: one block per cell."""
        from rich.console import Console
        from rich.table import Table

        console = Console(file=file)
        if not console.is_terminal:
            # a pipe or a file: no terminal width to respect, keep names whole
            console.width = 160
        about = self.about
        if about:
            console.print(
                f"[bold]{about.get('scenario', '')}[/bold]  {about.get('cells', '?')} cell(s) x "
                f"{about.get('replications', '?')} replications, seed {about.get('seed', '?')}"
            )
        for cell in self.cells.to_dict(orient="records"):
            c = cell["cell"]
            params = ", ".join(f"{p}={_json_value(cell[p])}" for p in self.parameters) or "no sweep"
            console.print(f"\n[bold]cell {c}[/bold]: {params}  ({cell['ok']} ok, {cell['failed']} failed)")
            ms = Table(
                title="time to milestone (Kaplan–Meier; 'beyond': past the horizon)", title_justify="left"
            )
            for col in ("milestone", "reached", "share [95% CI]", "median day [95% CI]", "median date"):
                ms.add_column(col, overflow="fold")
            for r in self.milestones[self.milestones["cell"] == c].to_dict(orient="records"):
                ms.add_row(
                    r["milestone"],
                    f"{r['reached']}/{r['n']}",
                    f"{_pct(r['share'])} [{_pct(r['share_low'])}, {_pct(r['share_high'])}]",
                    f"{_day(r['median_days'])} [{_day(r['median_low'])}, {_day(r['median_high'])}]",
                    r["median_date"] if isinstance(r["median_date"], str) else "",
                )
            console.print(ms)
            mt = Table(title="means and shares", title_justify="left")
            for col in ("outcome", "n", "estimate [95% CI]", "method"):
                mt.add_column(col, overflow="fold")
            for r in self.means[self.means["cell"] == c].to_dict(orient="records"):
                mt.add_row(
                    r["column"],
                    str(r["n"]),
                    f"{_num(r['mean'])} [{_num(r['low'])}, {_num(r['high'])}]",
                    r["method"],
                )
            for r in self.shares[self.shares["cell"] == c].to_dict(orient="records"):
                mt.add_row(
                    r["column"],
                    str(r["n"]),
                    f"{_pct(r['share'])} [{_pct(r['low'])}, {_pct(r['high'])}]",
                    r["method"],
                )
            console.print(mt)


def summarize(
    table: pd.DataFrame,
    parameters: Sequence[str] = (),
    start: str | dt.date | None = None,
    about: dict[str, Any] | None = None,
    confidence: float = CONFIDENCE,
) -> Summary:
    """Statistics of an experiment table (``Experiment.results()``) per cell.

    ``parameters`` are the swept columns (reported per cell, never
    summarized); ``start`` (the scenario's start date) turns median days
    into calendar dates.
    """
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    parameters = tuple(parameters)
    milestones = [c.removesuffix("_censored") for c in table.columns if c.endswith("_censored")]
    milestone_cols = {f"{m}{s}" for m in milestones for s in ("_days", "_date", "_censored")}
    skip = _NOT_OUTCOMES | set(parameters) | milestone_cols
    shares_cols, mean_cols = [], []
    for col in table.columns:
        if col in skip:
            continue
        kind = _kind(table[col])
        if kind == "bool":
            shares_cols.append(col)
        elif kind == "number":
            mean_cols.append(col)
    cells, means, shares, ms, curves = [], [], [], [], []
    cell_ids = sorted(table["cell"].unique()) if len(table) else []
    for c in cell_ids:
        # bootstrap draws depend on the order of the values: fix it
        rows = table[table["cell"] == c].sort_values("replication", kind="stable")
        ok = rows[rows["status"] == "ok"]
        first = rows.iloc[0]
        cells.append(
            {
                "cell": int(c),
                **{p: _json_value(first[p]) for p in parameters},
                "replications": len(rows),
                "ok": len(ok),
                "failed": len(rows) - len(ok),
            }
        )
        for col in mean_cols:
            values = ok[col].to_numpy(dtype=float, na_value=np.nan)
            means.append({"cell": int(c), "column": col, **mean_interval(values, confidence)})
        for col in shares_cols:
            values = ok[col].dropna().astype(bool)
            shares.append(
                {"cell": int(c), "column": col, **share_interval(int(values.sum()), len(values), confidence)}
            )
        for m in milestones:
            days = ok[f"{m}_days"].to_numpy(dtype=float, na_value=np.nan)
            censored = ok[f"{m}_censored"].to_numpy(dtype=bool, na_value=True)
            km = kaplan_meier(days, censored, confidence)
            share = share_interval(km.events, km.n, confidence)
            ms.append(
                {
                    "cell": int(c),
                    "milestone": m,
                    "n": km.n,
                    "reached": km.events,
                    "share": share["share"],
                    "share_low": share["low"],
                    "share_high": share["high"],
                    "median_days": km.median,
                    "median_low": km.median_low,
                    "median_high": km.median_high,
                    "median_date": _date(start, km.median),
                }
            )
            for i in range(len(km.days)):
                curves.append(
                    {
                        "cell": int(c),
                        "milestone": m,
                        "days": km.days[i],
                        "survival": km.survival[i],
                        "low": km.low[i],
                        "high": km.high[i],
                    }
                )
    return Summary(
        about=dict(about or {}),
        parameters=parameters,
        cells=pd.DataFrame(cells, columns=["cell", *parameters, "replications", "ok", "failed"]),
        means=pd.DataFrame(means, columns=["cell", "column", "n", "mean", "low", "high", "method"]),
        shares=pd.DataFrame(shares, columns=["cell", "column", "n", "k", "share", "low", "high", "method"]),
        milestones=pd.DataFrame(
            ms,
            columns=[
                "cell",
                "milestone",
                "n",
                "reached",
                "share",
                "share_low",
                "share_high",
                "median_days",
                "median_low",
                "median_high",
                "median_date",
            ],
        ),
        curves=pd.DataFrame(curves, columns=["cell", "milestone", "days", "survival", "low", "high"]),
    )


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    return "other"


def _date(start: dt.date | None, days: float | None) -> str | None:
    if start is None or days is None:
        return None
    return (start + dt.timedelta(days=int(days))).isoformat()


def _json_value(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    if v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v


def _rounded(value: Any) -> Any:
    """Floats to 8 significant digits, NaN/inf to null, numpy scalars to
    Python: the JSON must not depend on the last bits of a float."""
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{SIGNIFICANT}g}")
    return value


def _pct(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _day(x: float | None) -> str:
    return "beyond" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0f}"


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.4g}"
