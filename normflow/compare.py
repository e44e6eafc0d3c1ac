"""Two or more arms side by side: outcomes, milestone shares and dates, and
their differences with intervals.

An arm is one of:

- a **scenario** (a bundled name or a TOML path), optionally followed by
  ``--set PATH=VALUE`` and ``--intervene NAME[=VALUE]`` (and ``--name
  LABEL``), all in one argument: ``"kawasaki-suffrage --intervene
  no_local_resolutions"``. Scenario arms run ``replications`` times each
  with *common random numbers*: replication ``k`` of every arm uses the same
  seed, so a difference between arms is measured pair by pair, and its
  interval is the interval of the paired differences;
- a **run directory** (``normflow run ... --out DIR``): one replication;
- an **experiment directory** with one cell: its stored replications.

Every arm is reduced to the same measures, one value per replication:
whether each milestone was reached (``reached:NAME``, a share) and when
(``day:NAME``, days from the arm's start, among the replications that reach
it), and outcome counts (bills submitted, enacted, rejected; resolutions;
agreements reached and failed; policy changes). ``compare`` gives, for each
measure, each arm's mean and, against the first arm, the difference with a
95% interval: paired (bootstrap or t, ``normflow.stats.mean_interval``) when
both arms are scenario arms run with the same seeds, otherwise Welch's
normal approximation.
"""

from __future__ import annotations

import json
import math
import shlex
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from normflow.interventions import InterventionError, Interventions, parse_interventions
from normflow.result import json_value

#: Outcome counts compared (``counts.*`` of a run), with their labels.
COUNTS = {
    "agenda_placed": "times the issue reached the national agenda",
    "bill_submitted": "bills submitted",
    "bill_enacted": "bills enacted",
    "bill_rejected": "bills rejected",
    "bill_lapsed": "bill lapses",
    "resolution_passed": "local resolutions passed",
    "agreement_reached": "agreements reached",
    "agreement_failed": "negotiations failed",
    "policy_changed": "policy changes",
}


class CompareError(Exception):
    """An arm that cannot be compared (one line for the user)."""


@attrs.frozen
class Arm:
    """One arm of a comparison (see the module's docstring)."""

    name: str
    kind: str  # "scenario", "run" or "experiment"
    source: str
    overrides: dict[str, Any] = attrs.field(factory=dict)
    interventions: Interventions = attrs.field(factory=Interventions)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "source": self.source}
        if self.kind == "scenario":
            out["overrides"] = {k: json_value(v) for k, v in self.overrides.items()}
            out["interventions"] = self.interventions.label()
        return out


def _parse_value(text: str) -> Any:
    import tomllib

    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_arm(text: str, index: int = 0) -> Arm:
    """An arm from its command-line text (see the module's docstring)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise CompareError(f"arm {index + 1} {text!r}: {exc}") from None
    if not words:
        raise CompareError(f"arm {index + 1} is empty; expected a scenario, a run or an experiment directory")
    source, rest = words[0], words[1:]
    overrides: dict[str, Any] = {}
    intervene: list[str] = []
    name = None
    i = 0
    while i < len(rest):
        flag = rest[i]
        value = rest[i + 1] if i + 1 < len(rest) else None
        if flag in ("--set", "--intervene", "--name") and value is None:
            raise CompareError(f"arm {index + 1} {text!r}: {flag} needs a value")
        if flag == "--set":
            if "=" not in value:
                raise CompareError(f"arm {index + 1} {text!r}: --set {value!r}: expected PATH=VALUE")
            key, raw = value.split("=", 1)
            overrides[key.strip()] = _parse_value(raw.strip())
        elif flag == "--intervene":
            intervene.append(value)
        elif flag == "--name":
            name = value
        else:
            raise CompareError(
                f"arm {index + 1} {text!r}: unknown option {flag!r}; an arm takes --set, --intervene and --name"
            )
        i += 2
    path = Path(source)
    if path.is_dir():
        if overrides or intervene:
            raise CompareError(
                f"arm {index + 1} {text!r}: --set and --intervene apply to scenario arms, not to a stored directory"
            )
        if (path / "manifest.json").exists():
            kind = "experiment"
        elif (path / "summary.json").exists():
            kind = "run"
        else:
            raise CompareError(
                f"arm {index + 1}: {path} is neither a run directory (summary.json) "
                "nor an experiment directory (manifest.json)"
            )
        return Arm(name=name or path.name, kind=kind, source=str(path))
    try:
        interventions = parse_interventions(intervene)
    except InterventionError as exc:
        raise CompareError(f"arm {index + 1}: {exc}") from None
    label = name or " ".join([source, *rest]) if (rest and not name) else name or source
    return Arm(name=label, kind="scenario", source=source, overrides=overrides, interventions=interventions)


# -- measures --------------------------------------------------------------------------


def measures_of(summary: dict[str, Any]) -> dict[str, float]:
    """One replication's measures from its summary (``RunResult.to_dict()``)."""
    out: dict[str, float] = {}
    for name, m in summary.get("milestones", {}).items():
        reached = bool(m.get("reached"))
        out[f"reached:{name}"] = 1.0 if reached else 0.0
        out[f"day:{name}"] = float(m["t"]) if reached and m.get("t") is not None else math.nan
    counts = summary.get("counts", {})
    for kind in COUNTS:
        out[f"count:{kind}"] = float(counts.get(kind, 0))
    return out


def _measures_of_row(row: dict[str, Any]) -> dict[str, float]:
    """One stored experiment row's measures."""
    out: dict[str, float] = {}
    for key, value in row.items():
        if key.endswith("_censored"):
            name = key.removesuffix("_censored")
            reached = not bool(value)
            out[f"reached:{name}"] = 1.0 if reached else 0.0
            days = row.get(f"{name}_days")
            out[f"day:{name}"] = float(days) if reached and days is not None else math.nan
    for kind in COUNTS:
        value = row.get(f"counts.{kind}")
        out[f"count:{kind}"] = (
            0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        )
    return out


@attrs.define
class ArmData:
    arm: Arm
    rows: list[dict[str, float]]
    start: str | None = None
    labels: dict[str, str] = attrs.field(factory=dict)
    summaries: list[dict[str, Any]] = attrs.field(factory=list)
    seeds: list[Any] | None = None


def _load_run(arm: Arm) -> ArmData:
    path = Path(arm.source) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CompareError(f"{path}: not a readable run summary ({exc})") from None
    if not isinstance(summary, dict):
        raise CompareError(f"{path}: not a run summary")
    labels = {n: m.get("label", "") for n, m in summary.get("milestones", {}).items() if isinstance(m, dict)}
    return ArmData(arm, [measures_of(summary)], summary.get("start"), labels, [summary])


def _load_experiment(arm: Arm) -> ArmData:
    from normflow.store import Store

    try:
        table = Store(arm.source).read_results()
    except Exception as exc:
        raise CompareError(f"{arm.source}: unreadable experiment ({type(exc).__name__}: {exc})") from None
    if "status" in table.columns:
        table = table[table["status"] == "ok"]
    if "cell" in table.columns and table["cell"].nunique() > 1:
        raise CompareError(
            f"{arm.source}: the experiment has {table['cell'].nunique()} cells; compare takes one cell per arm"
        )
    if table.empty:
        raise CompareError(f"{arm.source}: the experiment has no completed replications")
    rows = [_measures_of_row(r) for r in table.to_dict("records")]
    start = None
    try:
        manifest = json.loads((Path(arm.source) / "manifest.json").read_text(encoding="utf-8"))
        start = manifest.get("start")
    except (OSError, ValueError):
        pass
    return ArmData(arm, rows, start)


def _run_scenario(arm: Arm, seeds: list[Any], keep: int | None = None) -> ArmData:
    from normflow.plugins import get_plugin_manager
    from normflow.scenario import load_scenario
    from normflow.simulation import Simulation

    scenario = load_scenario(arm.source, overrides=arm.overrides)
    pm = get_plugin_manager()
    rows, summaries, labels = [], [], {}
    for k, seed in enumerate(seeds):
        result = Simulation(scenario, seed, plugin_manager=pm, interventions=arm.interventions).run()
        summary = result.to_dict()
        rows.append(measures_of(summary))
        labels = result.labels
        if keep is None or k < keep:
            # what a timeline needs of each replication (the report draws the median pair's)
            summaries.append({"start": summary.get("start"), "milestones": summary.get("milestones", {})})
    return ArmData(arm, rows, scenario.start.isoformat(), labels, summaries, seeds)


def load_arm(arm: Arm, seeds: list[Any]) -> ArmData:
    if arm.kind == "run":
        return _load_run(arm)
    if arm.kind == "experiment":
        return _load_experiment(arm)
    return _run_scenario(arm, seeds)


def _reached_count(summary: dict[str, Any]) -> int:
    return sum(1 for m in summary.get("milestones", {}).values() if isinstance(m, dict) and m.get("reached"))


def median_pair(first: ArmData, other: ArmData) -> int | None:
    """The replication whose two runs stand for the comparison: of paired
    scenario arms, the first replication whose difference in milestones
    reached (B - A) is the median difference (the same seed in both arms);
    of stored runs, the first of each. None when an arm keeps no runs (an
    experiment directory)."""
    if not first.summaries or not other.summaries:
        return None
    n = min(len(first.summaries), len(other.summaries))
    if first.seeds is None or other.seeds is None or n == 1:
        return 0
    d = [_reached_count(other.summaries[k]) - _reached_count(first.summaries[k]) for k in range(n)]
    median = float(np.median(d))
    return min(range(n), key=lambda k: (abs(d[k] - median), k))


def representative_pairs(data: list[ArmData]) -> list[dict[str, Any]]:
    """For each arm compared with the first, the pair of runs that stands for
    the comparison (``median_pair``), as the report draws it: ``a_arm``,
    ``b_arm``, ``run`` (1-based), ``paired`` (the same seed in both), and
    the two runs' summaries ``a`` and ``b`` (None for an experiment
    directory)."""
    first, out = data[0], []
    for other in data[1:]:
        k = median_pair(first, other)
        paired = k is not None and first.seeds is not None and other.seeds is not None
        out.append(
            {
                "a_arm": first.arm.name,
                "b_arm": other.arm.name,
                "run": None if k is None else k + 1,
                "paired": paired,
                "a": None if k is None else first.summaries[k],
                "b": None if k is None else other.summaries[k],
            }
        )
    return out


# -- the comparison -------------------------------------------------------------------


def _mean(values: list[float]) -> float | None:
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    return float(np.mean(x)) if len(x) else None


def _unpaired(a: list[float], b: list[float]) -> tuple[float | None, float | None, float | None]:
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if not len(x) or not len(y):
        return None, None, None
    diff = float(np.mean(y) - np.mean(x))
    if len(x) < 2 or len(y) < 2:
        return diff, None, None
    se = math.sqrt(np.var(x, ddof=1) / len(x) + np.var(y, ddof=1) / len(y))
    return diff, diff - 1.96 * se, diff + 1.96 * se


def _paired(a: list[float], b: list[float]) -> tuple[float | None, float | None, float | None]:
    from normflow.stats import mean_interval

    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    ci = mean_interval(d)
    return ci["mean"], ci["low"], ci["high"]


def _label(name: str, labels: dict[str, str]) -> str:
    from normflow.outcomes import milestone_label

    kind, _, rest = name.partition(":")
    if kind == "count":
        return COUNTS.get(rest, rest)
    words = labels.get(rest) or milestone_label(rest)
    return f"share: {words}" if kind == "reached" else f"day: {words}"


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(x, 6)


def compare_data(data: list[ArmData]) -> dict[str, Any]:
    """The comparison of loaded arms (see ``compare``)."""
    first = data[0]
    names: list[str] = []
    for d in data:
        for row in d.rows:
            for key in row:
                if key not in names:
                    names.append(key)

    # milestones in the order the first arm reaches them, then the counts
    def order(name: str) -> tuple[int, float, str]:
        kind, _, rest = name.partition(":")
        if kind == "count":
            return (2, 0.0, name)
        day = _mean([r.get(f"day:{rest}", math.nan) for r in first.rows])
        return (0 if day is not None else 1, day or 0.0, f"{rest}:{kind != 'reached'}")

    names.sort(key=order)
    labels: dict[str, str] = {}
    for d in data:
        labels = {**d.labels, **labels}
    rows = []
    for other in data[1:]:
        paired = (
            first.arm.kind == other.arm.kind == "scenario"
            and first.seeds is not None
            and other.seeds is not None
            and len(first.rows) == len(other.rows)
        )
        for name in names:
            a = [r.get(name, math.nan) for r in first.rows]
            b = [r.get(name, math.nan) for r in other.rows]
            if all(math.isnan(v) for v in a + b):
                continue
            if paired:
                diff, low, high = _paired(a, b)
            else:
                diff, low, high = _unpaired(a, b)
            rows.append(
                {
                    "name": name,
                    "label": _label(name, labels),
                    "a": _round(_mean(a)),
                    "b": _round(_mean(b)),
                    "diff": _round(diff),
                    "low": _round(low),
                    "high": _round(high),
                    "paired": paired,
                    "b_arm": other.arm.name,
                }
            )
    arms = [{**d.arm.describe(), "replications": len(d.rows), "start": d.start} for d in data]
    return {"arms": arms, "rows": rows}


def compare(arms: list[Arm], replications: int = 20, seed: int = 0) -> tuple[dict[str, Any], list[ArmData]]:
    """Compare ``arms`` (the first is the reference). Scenario arms run
    ``replications`` paired replications from ``seed``. Returns the
    comparison (``{"arms": [...], "rows": [...]}``) and the loaded arms."""
    from normflow.rng import replication_seeds

    if len(arms) < 2:
        raise CompareError("compare needs at least two arms")
    seeds = replication_seeds(seed, replications)
    data = [load_arm(arm, seeds) for arm in arms]
    return compare_data(data), data


def _fmt(x: float | None, name: str) -> str:
    if x is None:
        return "-"
    if name.startswith("reached:"):
        return f"{x:.0%}"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def render_table(result: dict[str, Any], console: Any) -> None:
    """The comparison as rich tables (one per arm compared with the first)."""
    from rich.table import Table

    arms = result["arms"]
    ref = arms[0]["name"]
    for other in arms[1:]:
        rows = [r for r in result["rows"] if r["b_arm"] == other["name"]]
        paired = bool(rows and rows[0]["paired"])
        table = Table(
            title=f"A: {ref} ({arms[0]['replications']} runs)   B: {other['name']} ({other['replications']} runs)"
            + ("   paired, common random numbers" if paired else "")
        )
        for col in ("measure", "A", "B", "B - A", "95% interval"):
            table.add_column(col, justify="left" if col == "measure" else "right")
        for r in rows:
            interval = "-" if r["low"] is None else f"[{_fmt(r['low'], 'x')}, {_fmt(r['high'], 'x')}]"
            diff = r["diff"]
            shown = (
                "-"
                if diff is None
                else (f"{diff:+.0%}" if r["name"].startswith("reached:") else f"{diff:+.3g}")
            )
            if r["name"].startswith("reached:") and r["low"] is not None:
                interval = f"[{r['low']:+.0%}, {r['high']:+.0%}]"
            table.add_row(r["label"], _fmt(r["a"], r["name"]), _fmt(r["b"], r["name"]), shown, interval)
        console.print(table)
