"""Figures of an experiment: Kaplan-Meier curves of the time to each
milestone per cell, and the share reaching each milestone against a swept
parameter.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from normflow.report.drawing import MAX_SERIES, date_axis, new_figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _cell_label(row: pd.Series, params: list[str]) -> str:
    if not params:
        return "all runs"
    return ", ".join(f"{p.rsplit('.', 1)[-1]}={_fmt(row[p])}" for p in params)


def _start_date(start: Any) -> dt.date | None:
    """The scenario's start as a date (None when unknown or unreadable)."""
    try:
        return dt.date.fromisoformat(str(start)) if start else None
    except ValueError:
        return None


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def km_figure(table: pd.DataFrame, milestone: str, params: list[str], start: str) -> tuple[Figure, list[str]]:
    """Per cell, the Kaplan–Meier share of runs that have reached the
    milestone (``normflow.stats.kaplan_meier``) with its pointwise 95% band;
    runs that never reach it are censored at their horizon."""
    from normflow.stats import kaplan_meier

    fig = new_figure(5.2, 3.2, {"left": 0.13, "right": 0.97, "bottom": 0.15, "top": 0.9})
    ax = fig.add_subplot()
    origin = _start_date(start)

    def when(days: list[float]) -> list[Any]:
        """Days from the start as calendar dates (as days when the start is unknown)."""
        if origin is None:
            return days
        return [origin + dt.timedelta(days=float(d)) for d in days]

    cells = list(table.groupby("cell", sort=True))
    left_out = [_cell_label(g.iloc[0], params) for _, g in cells[MAX_SERIES:]]
    for _, group in cells[:MAX_SERIES]:
        censored = group[f"{milestone}_censored"].astype("boolean").fillna(True).to_numpy(dtype=bool)
        km = kaplan_meier(group[f"{milestone}_days"].astype(float).to_numpy(), censored)
        label = f"{_cell_label(group.iloc[0], params)} (n={km.n}, reached {km.events})"
        if km.events == 0:
            horizon = float(group[f"{milestone}_days"].max())
            ax.step(when([0.0, horizon]), [0.0, 0.0], where="post", label=label)
            continue
        # the curve runs on, flat, to the last run's horizon
        end = max(float(group[f"{milestone}_days"].max()), float(km.days[-1]))
        days = [0.0, *km.days.tolist(), end]
        reached = [0.0, *(1 - km.survival).tolist(), float(1 - km.survival[-1])]
        (line,) = ax.step(when(days), reached, where="post", label=label)
        ax.fill_between(
            when(days),
            [0.0, *(1 - km.high).tolist(), float(1 - km.high[-1])],
            [0.0, *(1 - km.low).tolist(), float(1 - km.low[-1])],
            step="post",
            alpha=0.15,
            color=line.get_color(),
            linewidth=0,
        )
    ax.set_ylim(0, 1.02)
    if origin is not None:
        date_axis(ax)
        ax.set_xlabel("date")
    else:
        ax.set_xlabel("days from the scenario's start")
    ax.set_ylabel("share of runs that reached it")
    ax.set_title(milestone, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(color="#eee")
    return fig, left_out


def sweep_figure(table: pd.DataFrame, param: str, milestones: list[str]) -> Figure:
    """Small multiples, one per milestone: the share of runs reaching it by
    the horizon against one swept parameter (other parameters pooled), with
    95% Wilson intervals (``normflow.stats.share_interval``)."""
    from normflow.stats import share_interval

    cols = min(4, len(milestones))
    rows = math.ceil(len(milestones) / cols)
    height = 0.8 + 2.0 * rows
    fig = new_figure(
        9.5,
        height,
        {
            "left": 0.09,
            "right": 0.98,
            "bottom": 0.55 / height,
            "top": 1 - 0.3 / height,
            "hspace": 0.55,
            "wspace": 0.12,
        },
    )
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    values = sorted(table[param].dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    xs = values if numeric else list(range(len(values)))
    for i, ax in enumerate(axes.flat):
        if i >= len(milestones):
            ax.set_visible(False)
            continue
        m = milestones[i]
        shares, below, above = [], [], []
        for v in values:
            censored = table.loc[table[param] == v, f"{m}_censored"].astype("boolean").fillna(True)
            ci = share_interval(int((~censored).sum()), int(censored.size))
            share = math.nan if ci["share"] is None else ci["share"]
            shares.append(share)
            below.append(share - ci["low"] if ci["low"] is not None else 0.0)
            above.append(ci["high"] - share if ci["high"] is not None else 0.0)
        ax.errorbar(xs, shares, yerr=[below, above], marker="o", ms=3, capsize=2, lw=1)
        ax.set_title(m, fontsize=7)
        ax.set_ylim(-0.04, 1.04)
        ax.tick_params(labelsize=7)
        ax.grid(color="#eee")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in values])
    fig.supxlabel(param, fontsize=9)
    fig.supylabel("share reached by the horizon", fontsize=9)
    return fig
