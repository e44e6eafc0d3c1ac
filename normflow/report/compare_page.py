"""The comparison report: ``normflow compare ... --out DIR``.

One page: the arms; the two timelines of one pair of runs that stands for
the comparison (of paired scenario arms, the replication whose difference
in milestones reached is the median one, the same seed in both arms); the
differences B - A with their 95% intervals, drawn and as a table; and each
arm's mean dates across all its runs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from normflow.report.drawing import date_axis, new_figure
from normflow.report.page import Section, figure_html, note, page, table_html

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COMPARE_SECTIONS = ("arms", "timelines", "differences", "means")
COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2", "#937860")


def _escape(text: str) -> str:
    return str(text).replace("$", r"\$")


def _date(start: str | None, t: float) -> dt.date:
    return dt.date.fromisoformat(start or "2000-01-01") + dt.timedelta(days=float(t))


def pair_timelines_figure(a: dict[str, Any], b: dict[str, Any], names: tuple[str, str]) -> Figure | None:
    """Two runs' timelines, one panel each on a shared date axis: a dot on
    the date each milestone is reached; in B's panel a hollow circle marks
    A's date and a line the shift between them."""
    ms_a, ms_b = a.get("milestones", {}), b.get("milestones", {})

    def day(ms: dict[str, Any], name: str) -> float | None:
        m = ms.get(name)
        return m.get("t") if isinstance(m, dict) and m.get("reached") else None

    lanes = [n for n in dict.fromkeys([*ms_a, *ms_b]) if day(ms_a, n) is not None or day(ms_b, n) is not None]
    if not lanes:
        return None
    lanes.sort(key=lambda n: min(x for x in (day(ms_a, n), day(ms_b, n)) if x is not None))
    labels = {}
    for n in lanes:
        m = ms_a.get(n) or ms_b.get(n) or {}
        text = str(m.get("label") or n)
        labels[n] = _escape(text if len(text) <= 60 else text[:57] + "...")
    from matplotlib.transforms import blended_transform_factory

    def edge(ax: Any) -> Any:
        return blended_transform_factory(ax.transAxes, ax.transData)

    fig = new_figure(10, 1.6 + 0.5 * len(lanes))
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    runs = ((a, ms_a, names[0], COLORS[0]), (b, ms_b, names[1], COLORS[1]))
    for ax, (run, ms, name, color) in zip(axes, runs, strict=True):
        for y, n in enumerate(lanes):
            t = day(ms, n)
            if t is None:
                # at the left edge of the panel, where it never runs out of the axes
                ax.text(0.005, y, "not reached", va="center", fontsize=8, color="#888", transform=edge(ax))
                continue
            ax.plot([_date(run.get("start"), t)], [y], "o", color=color, ms=6, zorder=3)
            if run is b and day(ms_a, n) is not None and day(ms_a, n) != t:
                ta = _date(a.get("start"), day(ms_a, n))
                ax.plot([ta], [y], "o", mfc="none", mec=COLORS[0], ms=6, zorder=2)
                ax.plot([ta, _date(run.get("start"), t)], [y, y], color="#999", lw=1, zorder=1)
        ax.set_title(_escape(name), fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(lanes)), [labels[n] for n in lanes])
    for ax in axes:
        ax.tick_params(axis="y", labelsize=8)
    axes[0].invert_yaxis()
    date_axis(axes[1])
    return fig


def differences_figure(result: dict[str, Any]) -> Figure | None:
    """Each difference B - A with its 95% interval, in three panels by unit:
    shares reaching a milestone, days to reach it, outcome counts."""
    panels = (
        ("reached", "share reaching (B - A, points)", 100.0),
        ("day", "days to reach (B - A)", 1.0),
        ("count", "outcome counts (B - A)", 1.0),
    )
    shown = [
        (
            kind,
            title,
            scale,
            [r for r in result["rows"] if r["name"].startswith(kind + ":") and r["diff"] is not None],
        )
        for kind, title, scale in panels
    ]
    shown = [p for p in shown if p[3]]
    if not shown:
        return None
    others = list(dict.fromkeys(r["b_arm"] for r in result["rows"]))
    heights = [max(len({r["name"] for r in rows}), 1) for *_, rows in shown]
    fig = new_figure(10, 1.2 + 0.28 * sum(heights) + 0.5 * len(shown))
    axes = fig.subplots(len(shown), 1, gridspec_kw={"height_ratios": heights}, squeeze=False)[:, 0]
    for ax, (_, title, scale, rows) in zip(axes, shown, strict=True):
        names = list(dict.fromkeys(r["name"] for r in rows))
        labels = {r["name"]: r["label"].split(": ", 1)[-1] for r in rows}
        for r in rows:
            k = others.index(r["b_arm"])
            y = names.index(r["name"]) + (k - (len(others) - 1) / 2) * 0.2
            color = COLORS[(k + 1) % len(COLORS)]
            if r["low"] is not None:
                ax.plot([r["low"] * scale, r["high"] * scale], [y, y], color=color, lw=2, alpha=0.6)
            ax.plot([r["diff"] * scale], [y], "o", color=color, ms=5)
        ax.axvline(0, color="#444", lw=0.8)
        ax.set_yticks(range(len(names)), [_escape(labels[n][:60]) for n in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(axis="x", alpha=0.3)
    return fig


def timelines_figure(result: dict[str, Any]) -> Figure | None:
    """Each arm's milestones on one date axis: a marker at the mean day
    (among replications reaching it), its size the share reaching it."""
    arms = result["arms"]
    rows = result["rows"]
    # one value per (arm, milestone): arm A from the first comparison, the others from theirs
    days: dict[str, dict[str, float]] = {}
    shares: dict[str, dict[str, float]] = {}
    labels: dict[str, str] = {}
    for r in rows:
        kind, _, name = r["name"].partition(":")
        if kind not in ("day", "reached"):
            continue
        if kind == "day":
            labels.setdefault(name, r["label"].removeprefix("day: "))
        target = days if kind == "day" else shares
        if r["a"] is not None:
            target.setdefault(arms[0]["name"], {})[name] = r["a"]
        if r["b"] is not None:
            target.setdefault(r["b_arm"], {})[name] = r["b"]
    names = [n for n in labels if any(n in d for d in days.values())]
    if not names:
        return None
    fig = new_figure(10, 1.0 + 0.3 * len(names))
    ax = fig.add_subplot(1, 1, 1)
    for k, arm in enumerate(arms):
        start = dt.date.fromisoformat(arm.get("start") or arms[0].get("start") or "2000-01-01")
        xs, ys, sizes = [], [], []
        for y, name in enumerate(names):
            day = days.get(arm["name"], {}).get(name)
            if day is None:
                continue
            xs.append(start + dt.timedelta(days=float(day)))
            ys.append(y + (k - (len(arms) - 1) / 2) * 0.18)
            sizes.append(20 + 80 * float(shares.get(arm["name"], {}).get(name, 1.0)))
        ax.scatter(xs, ys, s=sizes, color=COLORS[k % len(COLORS)], label=_escape(arm["name"]), zorder=3)
    ax.set_yticks(range(len(names)), [_escape(labels[n][:70]) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    date_axis(ax)
    ax.legend(fontsize=9, loc="lower right")
    ax.set_title("Mean date each milestone is reached (marker size: share of runs reaching it)", fontsize=10)
    return fig


def compare_sections(result: dict[str, Any], pairs: list[dict[str, Any]] | None = None) -> list[Section]:
    arms = result["arms"]
    rows = [
        (
            chr(ord("A") + i),
            a["name"],
            a["kind"],
            a["replications"],
            a.get("interventions", ""),
            str(a.get("overrides", "") or ""),
        )
        for i, a in enumerate(arms)
    ]
    paired = any(r["paired"] for r in result["rows"])
    body = table_html(["", "arm", "kind", "runs", "interventions", "overrides"], rows)
    body += note(
        "Scenario arms ran with common random numbers: replication k of every arm used the same seed, "
        "so differences are paired."
        if paired
        else "The arms are not paired (stored runs or experiments): intervals use Welch's normal approximation."
    )
    sections = [Section("arms", "Arms", body), _timelines_section(pairs)]
    table = []
    for r in result["rows"]:
        interval = "" if r["low"] is None else f"[{r['low']:.3g}, {r['high']:.3g}]"
        table.append((r["b_arm"], r["label"], _num(r["a"]), _num(r["b"]), _num(r["diff"]), interval))
    diff_fig = differences_figure(result)
    body = (
        figure_html(
            diff_fig, "compare-differences", "Each difference B - A (dot) with its 95% interval (bar)."
        )
        if diff_fig
        else ""
    )
    body += (
        table_html(["B", "measure", "A", "B", "B - A", "95% interval"], table)
        if table
        else note("Nothing to compare.")
    )
    sections.append(Section("differences", "Differences (B - A) with 95% intervals", body))
    fig = timelines_figure(result)
    sections.append(
        Section(
            "means",
            "Mean dates across all runs",
            figure_html(fig, "compare-means", "Milestones of each arm, over all its runs.")
            if fig
            else note("No milestone was reached in any arm."),
        )
    )
    return sections


def _timelines_section(pairs: list[dict[str, Any]] | None) -> Section:
    """The two timelines of the pair of runs that stands for each comparison
    (``normflow.compare.representative_pairs``)."""
    parts = []
    for i, pair in enumerate(pairs or []):
        if pair.get("a") is None:
            parts.append(note(f"{pair['b_arm']}: an experiment directory keeps no single run's timeline."))
            continue
        paired = bool(pair.get("paired"))
        run = f"run {pair['run']}" + (", the same seed in both arms" if paired else "")
        names = (f"A: {pair['a_arm']} ({run})", f"B: {pair['b_arm']} ({run})")
        fig = pair_timelines_figure(pair["a"], pair["b"], names)
        how = (
            "the replication whose difference in milestones reached is the median one, "
            "with the same seed in both arms"
            if paired
            else "the stored runs"
        )
        parts.append(
            figure_html(fig, f"compare-pair-{i}", f"One run of each arm: {how}.")
            if fig
            else note(f"{pair['b_arm']}: no milestone reached in either run.")
        )
    return Section(
        "timelines",
        "Timelines of one pair of runs",
        "".join(parts) or note("No run to draw (the arms keep no runs)."),
    )


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def compare_report(result: dict[str, Any], pairs: list[dict[str, Any]] | None = None) -> str:
    """The HTML page of a comparison (``normflow.compare.compare``'s result)."""
    title = "normflow compare: " + " vs ".join(a["name"] for a in result["arms"])
    return page(title, f"{len(result['arms'])} arms", "compare", compare_sections(result, pairs))
