"""The article's five hypotheses (THEORY.md, H1-H5) as designed experiments.

Each hypothesis is a *design*: a set of arms (the same scenario under a
local-government role and interventions, ``normflow.interventions``), the
scenarios it applies to, and an analysis that turns the runs into effects
with 95% intervals and a verdict. ``run_hypotheses`` runs every arm of every
requested design, ``normflow hypotheses`` is its command.

Pairing (common random numbers): replication *k* of every arm, on every
scenario, runs with the ``SeedSequence`` whose entropy is the base seed and
whose spawn key is ``(k,)`` -- the *k*-th child of
``SeedSequence(seed).spawn(n)``, exactly as ``normflow experiment`` seeds
replication *k*. Arms therefore differ in what they switch, not in their
luck, and every effect is the mean of per-replication paired differences.
Its interval is a paired bootstrap over replications (BCa,
``normflow.stats.mean_interval``; Student t under 10 pairs). Shares per arm
carry Wilson intervals, times to a milestone Kaplan-Meier medians.

Runs are stored as they finish (``normflow.store``), one store per arm
under ``OUT/runs/<scenario>/<version>/<arm>``, where the version names the
scenario's text, its overrides and the seed. An arm shared by several
designs (the scenario as written, say) runs once; an interrupted command
continues where it stopped when run again; a recalibrated scenario gets new
stores and the others are reused. Tables and plots go to ``OUT/h1.csv``,
``OUT/h1.png`` ... The designs and the measured results are explained in
``docs/hypotheses.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import click
import numpy as np

from normflow.events import AgendaPlaced
from normflow.hookspecs import hookimpl
from normflow.interventions import Interventions
from normflow.scenario import loads_scenario, resolve_scenario_path
from normflow.schema import ScenarioError
from normflow.store import Store, StoreError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from normflow.scenario import Scenario

__all__ = [
    "Arm",
    "CASES",
    "DESIGNS",
    "Design",
    "HypothesisResult",
    "run_hypotheses",
]

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
NOT_APPLICABLE = "not applicable"
RESOURCE_LEVELS = (0.25, 1.0, 4.0)


@attrs.frozen
class CaseOutcomes:
    """What counts, in one scenario, as the issue reaching the agenda (the
    earlier step) and as norm-consistent policy being institutionalized."""

    agenda: str
    agenda_means: str
    institutionalized: str
    institutionalized_means: str

    def outcomes(self) -> tuple[tuple[str, str, str], ...]:
        """(role, milestone, meaning) for the agenda step, then the policy."""
        return (
            ("agenda", self.agenda, self.agenda_means),
            ("institutionalized", self.institutionalized, self.institutionalized_means),
        )


#: Per scenario, the milestones the designs read (docs/hypotheses.md says why).
CASES: dict[str, CaseOutcomes] = {
    "kawasaki-suffrage": CaseOutcomes(
        "agenda_placed",
        "the issue on the Diet's agenda",
        "policy_changed:japan",
        "a suffrage bill enacted (Japan's policy changed)",
    ),
    "kitakyushu-dalian": CaseOutcomes(
        "negotiation_opened:dalian-aid",
        "Beijing approaches Tokyo (the issue on the interstate agenda)",
        "policy_changed:japan",
        "Japan adopts the city-to-city plan as an aid project",
    ),
    "niigata-harbin": CaseOutcomes(
        "negotiation_main:harbin-khabarovsk",
        "the route on the Sino-Soviet negotiation agenda",
        "policy_changed:china",
        "the route agreed (China's policy changed)",
    ),
    "generic": CaseOutcomes(
        "agenda_placed:rights-home",
        "the issue on Home's legislative agenda",
        "policy_changed:home",
        "Home's policy changed (a bill or the agreement)",
    ),
}
ALL_SCENARIOS = tuple(CASES)


# -- arms -----------------------------------------------------------------------------


@attrs.frozen
class Arm:
    """One condition: the local-government role and the interventions."""

    local_government_role: float = 1.0
    interventions: Interventions = attrs.field(factory=Interventions)

    @property
    def key(self) -> str:
        """A directory name that says what the arm is."""
        iv = self.interventions
        parts = [f"role{self.local_government_role:g}"]
        if not iv.domestic:
            parts.append("no-domestic")
        if not iv.international:
            parts.append("no-international")
        if not iv.local_resolutions:
            parts.append("no-resolutions")
        if iv.resource_scale != 1.0:
            parts.append(f"resources{iv.resource_scale:g}")
        return "-".join(parts)

    def describe(self) -> str:
        return f"local-government role {self.local_government_role:g}; {self.interventions.label()}"

    def to_dict(self) -> dict[str, Any]:
        return {"local_government_role": self.local_government_role, **self.interventions.to_dict()}


def _without(**switches: Any) -> Interventions:
    return Interventions(**switches)


# -- statistics of paired arms ----------------------------------------------------------


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


def paired_effect(diffs: Sequence[float] | np.ndarray, predicted: int) -> dict[str, Any]:
    """The mean of per-replication paired differences with its 95% interval
    (missing differences dropped), the direction relative to the predicted
    sign (+1 or -1) and the verdict: ``supported`` when the whole interval
    lies on the predicted side of 0, ``not supported`` otherwise, ``not
    applicable`` with no pairs at all."""
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
        "verdict": _verdict(ci["n"], ci["mean"], ci["low"], ci["high"], predicted),
    }


def _column(frame: pd.DataFrame, name: str, default: float = np.nan) -> np.ndarray:
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


def _share_row(values: np.ndarray) -> dict[str, Any]:
    from normflow.stats import share_interval

    s = share_interval(int(np.sum(values)), len(values))
    return {"n": s["n"], "estimate": s["share"], "low": s["low"], "high": s["high"], "method": "Wilson"}


def _mean_row(values: np.ndarray) -> dict[str, Any]:
    from normflow.stats import mean_interval

    m = mean_interval(values)
    return {"n": m["n"], "estimate": m["mean"], "low": m["low"], "high": m["high"], "method": m["method"]}


def _median_row(days: np.ndarray, hit: np.ndarray) -> dict[str, Any]:
    from normflow.stats import kaplan_meier

    km = kaplan_meier(days, hit == 0.0)
    return {
        "n": km.n,
        "estimate": km.median,
        "low": km.median_low,
        "high": km.median_high,
        "method": "Kaplan-Meier median (None: beyond the horizon)",
    }


# -- designs ----------------------------------------------------------------------------


@attrs.frozen
class Analysis:
    """What a design makes of one scenario: effect rows and per-arm rows."""

    effects: list[dict[str, Any]]
    arms: list[dict[str, Any]]


@attrs.frozen
class Design:
    """A hypothesis as a designed comparison. Subclasses set the arms and
    the analysis; ``scenarios`` are the ones it applies to."""

    key: ClassVar[str] = ""
    claim: ClassVar[str] = ""
    prediction: ClassVar[str] = ""
    arms: dict[str, Arm] = attrs.field(factory=dict)
    scenarios: tuple[str, ...] = ALL_SCENARIOS

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        raise NotImplementedError

    def plot(self, result: HypothesisResult) -> Figure:
        raise NotImplementedError

    # helpers shared by the designs
    def _effect(
        self,
        scenario: str,
        outcome: str,
        measure: str,
        contrast: str,
        diffs: np.ndarray,
        predicted: int,
        primary: bool,
    ) -> dict[str, Any]:
        return {
            "hypothesis": self.key,
            "scenario": scenario,
            "outcome": outcome,
            "meaning": meaning_of(scenario, outcome),
            "measure": measure,
            "contrast": contrast,
            "primary": primary,
            **paired_effect(diffs, predicted),
        }

    def _arm_row(
        self, scenario: str, arm: str, outcome: str, measure: str, stats: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "hypothesis": self.key,
            "scenario": scenario,
            "arm": arm,
            "setting": self.arms[arm].describe(),
            "outcome": outcome,
            "meaning": meaning_of(scenario, outcome),
            "measure": measure,
            **stats,
        }


def meaning_of(scenario: str, outcome: str) -> str:
    """What a milestone stands for in a scenario (empty for other outcomes)."""
    case = CASES.get(scenario)
    if case is None:
        return ""
    return {case.agenda: case.agenda_means, case.institutionalized: case.institutionalized_means}.get(
        outcome, ""
    )


@attrs.frozen
class H1(Design):
    key: ClassVar[str] = "H1"
    claim: ClassVar[str] = (
        "Local government gives coalitions the access and opportunities to persuade states "
        "to institutionalize norm-consistent policy."
    )
    prediction: ClassVar[str] = (
        "With local-government access (role 1) rather than without (role 0), norm-consistent policy "
        "is institutionalized more often (difference in share > 0) and sooner (difference in "
        "restricted mean time < 0); the agenda step likewise."
    )
    arms: dict[str, Arm] = attrs.field(factory=lambda: {"with": Arm(1.0), "without": Arm(0.0)})

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        for role, milestone, _ in CASES[scenario].outcomes():
            primary = role == "institutionalized"
            hit = {a: reached(f, milestone) for a, f in data.items()}
            days = {a: days_to(f, milestone, horizon) for a, f in data.items()}
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "share reached",
                    "with - without",
                    hit["with"] - hit["without"],
                    +1,
                    primary,
                )
            )
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "restricted mean days (KM, horizon)",
                    "with - without",
                    days["with"] - days["without"],
                    -1,
                    primary,
                )
            )
            for a in data:
                arms.append(self._arm_row(scenario, a, milestone, "share reached", _share_row(hit[a])))
                arms.append(
                    self._arm_row(scenario, a, milestone, "median days", _median_row(days[a], hit[a]))
                )
                arms.append(self._arm_row(scenario, a, milestone, "restricted mean days", _mean_row(days[a])))
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        from normflow.stats import kaplan_meier

        scenarios = list(result.data)
        fig = _figure(len(scenarios), 2, width=4.2, height=2.8)
        colors = {"with": "tab:blue", "without": "tab:red"}
        for i, scenario in enumerate(scenarios):
            frames, horizon = result.data[scenario], result.horizons[scenario]
            for j, (_, milestone, meaning) in enumerate(CASES[scenario].outcomes()):
                ax = fig.axes[i * 2 + j]
                end = float(np.max(horizon)) / 365.25 if len(horizon) else 0.0
                for arm, frame in frames.items():
                    hit = reached(frame, milestone)
                    km = kaplan_meier(days_to(frame, milestone, horizon), hit == 0.0)
                    if km.events:
                        x = np.concatenate(([0.0], km.days / 365.25, [end]))
                        y = np.concatenate(([0.0], 1.0 - km.survival, [1.0 - km.survival[-1]]))
                    else:
                        x, y = np.array([0.0, end]), np.zeros(2)
                    ax.step(x, y, where="post", color=colors.get(arm), label=f"{arm} local government")
                ax.set_ylim(-0.02, 1.02)
                ax.set_title(f"{scenario}\n{meaning}", fontsize=8)
                ax.set_xlabel("years from start", fontsize=8)
                ax.set_ylabel("share of runs reached", fontsize=8)
                ax.tick_params(labelsize=7)
        fig.axes[0].legend(fontsize=7, loc="upper left")
        fig.suptitle("H1: time to the agenda step and to institutionalized policy (Kaplan-Meier)", fontsize=9)
        return fig


@attrs.frozen
class H2(Design):
    key: ClassVar[str] = "H2"
    claim: ClassVar[str] = (
        "Expertise is heard by power-holders but fades once negotiation enters its interest-driven "
        "main phase; local government's access keeps it heard throughout."
    )
    prediction: ClassVar[str] = (
        "Expertise influence per round in the main phase is higher with local-government access "
        "than without (difference > 0), and so is the ratio of main-phase to prenegotiation "
        "influence per round (the fade is smaller)."
    )
    arms: dict[str, Arm] = attrs.field(factory=lambda: {"with": Arm(1.0), "without": Arm(0.0)})
    scenarios: tuple[str, ...] = ("generic", "kitakyushu-dalian", "niigata-harbin")

    @staticmethod
    def per_round(frame: pd.DataFrame, phase: str) -> np.ndarray:
        influence = _column(frame, f"metrics.expertise_influence.{phase}")
        rounds = _column(frame, f"metrics.expertise_rounds.{phase}", 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rounds > 0, influence / rounds, np.nan)

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        pre = {a: self.per_round(f, "prenegotiation") for a, f in data.items()}
        main = {a: self.per_round(f, "main") for a, f in data.items()}
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = {a: np.where(pre[a] > 0, main[a] / pre[a], np.nan) for a in data}
        outcome = "expertise influence per negotiation round"
        # a pair counts only where both arms reached the main phase
        effects.append(
            self._effect(
                scenario,
                outcome,
                "main phase, per round",
                "with - without",
                main["with"] - main["without"],
                +1,
                True,
            )
        )
        effects.append(
            self._effect(
                scenario,
                outcome,
                "main / prenegotiation per round",
                "with - without",
                ratio["with"] - ratio["without"],
                +1,
                False,
            )
        )
        for a in data:
            arms.append(self._arm_row(scenario, a, outcome, "prenegotiation, per round", _mean_row(pre[a])))
            arms.append(self._arm_row(scenario, a, outcome, "main phase, per round", _mean_row(main[a])))
            arms.append(self._arm_row(scenario, a, outcome, "main / prenegotiation", _mean_row(ratio[a])))
            reached_main = (~np.isnan(main[a])).astype(float)
            arms.append(
                self._arm_row(scenario, a, outcome, "share reaching the main phase", _share_row(reached_main))
            )
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = _figure(1, len(scenarios), width=4.0, height=3.0)
        for ax, scenario in zip(fig.axes, scenarios, strict=True):
            rows = [r for r in result.arms if r["scenario"] == scenario]
            for k, arm in enumerate(self.arms):
                vals, lows, highs = [], [], []
                for measure in ("prenegotiation, per round", "main phase, per round"):
                    row = next(r for r in rows if r["arm"] == arm and r["measure"] == measure)
                    vals.append(_num(row["estimate"]))
                    lows.append(_num(row["low"], _num(row["estimate"])))
                    highs.append(_num(row["high"], _num(row["estimate"])))
                x = np.arange(2) + (k - 0.5) * 0.38
                v = np.asarray(vals)
                err = np.abs(np.vstack([v - np.asarray(lows), np.asarray(highs) - v]))
                ax.bar(
                    x,
                    np.nan_to_num(v),
                    width=0.36,
                    yerr=np.nan_to_num(err),
                    capsize=3,
                    label=f"{arm} local government",
                    color=["tab:blue", "tab:red"][k],
                )
            ax.set_xticks([0, 1], ["prenegotiation", "main phase"], fontsize=8)
            ax.set_title(scenario, fontsize=8)
            ax.set_ylabel("expertise influence per round", fontsize=8)
            ax.tick_params(labelsize=7)
        fig.axes[0].legend(fontsize=7)
        fig.suptitle("H2: the weight of expertise by negotiation phase (means, 95% intervals)", fontsize=9)
        return fig


@attrs.frozen
class H3(Design):
    key: ClassVar[str] = "H3"
    claim: ClassVar[str] = (
        "Local government helps shape a new international norm, feeding back from the national "
        "agenda to international structures."
    )
    prediction: ClassVar[str] = (
        "With local adoption (assemblies may pass resolutions) rather than without, international "
        "norm support (norm_cascade plugin; it moves only on national agendas, policy changes and "
        "agreements) is higher over the run (difference in time-averaged support > 0), and the "
        "tipping point comes more often and sooner."
    )
    arms: dict[str, Arm] = attrs.field(
        factory=lambda: {
            "with local adoption": Arm(1.0),
            "without local adoption": Arm(1.0, _without(local_resolutions=False)),
        }
    )
    scenarios: tuple[str, ...] = ("kawasaki-suffrage", "generic", "kitakyushu-dalian", "niigata-harbin")

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        a, b = list(self.arms)
        outcome = "international norm support"
        mean = {x: _column(f, "metrics.norm_cascade.support_mean") for x, f in data.items()}
        final = {x: _column(f, "metrics.norm_cascade.support") for x, f in data.items()}
        tip = {x: reached(f, "norm_cascade.tipping") for x, f in data.items()}
        tip_days = {x: days_to(f, "norm_cascade.tipping", horizon) for x, f in data.items()}
        contrast = "with - without local adoption"
        effects += [
            self._effect(scenario, outcome, "time-averaged support", contrast, mean[a] - mean[b], +1, True),
            self._effect(scenario, outcome, "support at the end", contrast, final[a] - final[b], +1, False),
            self._effect(
                scenario, "norm_cascade.tipping", "share reached", contrast, tip[a] - tip[b], +1, False
            ),
            self._effect(
                scenario,
                "norm_cascade.tipping",
                "restricted mean days (KM, horizon)",
                contrast,
                tip_days[a] - tip_days[b],
                -1,
                False,
            ),
        ]
        for x in data:
            arms.append(self._arm_row(scenario, x, outcome, "time-averaged support", _mean_row(mean[x])))
            arms.append(self._arm_row(scenario, x, outcome, "support at the end", _mean_row(final[x])))
            arms.append(
                self._arm_row(scenario, x, "norm_cascade.tipping", "share reached", _share_row(tip[x]))
            )
            agenda = CASES[scenario].agenda
            arms.append(
                self._arm_row(
                    scenario,
                    x,
                    agenda,
                    "share reached",
                    _share_row(reached(data[x], agenda)),
                )
            )
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = _figure(1, 2, width=5.0, height=3.2)
        colors = ["tab:blue", "tab:red"]
        for ax, measure, label in zip(
            fig.axes,
            ("time-averaged support", "share reached"),
            ("time-averaged norm support", "share of runs past the tipping point"),
            strict=True,
        ):
            for k, arm in enumerate(self.arms):
                rows = [
                    next(
                        r
                        for r in result.arms
                        if r["scenario"] == s
                        and r["arm"] == arm
                        and r["measure"] == measure
                        and (measure != "share reached" or r["outcome"] == "norm_cascade.tipping")
                    )
                    for s in scenarios
                ]
                v = np.array([_num(r["estimate"]) for r in rows])
                lo = np.array([_num(r["low"], _num(r["estimate"])) for r in rows])
                hi = np.array([_num(r["high"], _num(r["estimate"])) for r in rows])
                x = np.arange(len(scenarios)) + (k - 0.5) * 0.38
                err = np.abs(np.vstack([v - lo, hi - v]))
                ax.bar(
                    x,
                    np.nan_to_num(v),
                    width=0.36,
                    yerr=np.nan_to_num(err),
                    capsize=3,
                    label=arm,
                    color=colors[k],
                )
            ax.set_xticks(np.arange(len(scenarios)), scenarios, fontsize=7, rotation=20)
            ax.set_ylabel(label, fontsize=8)
            ax.set_ylim(0, 1.05)
            ax.tick_params(labelsize=7)
        fig.axes[0].legend(fontsize=7)
        fig.suptitle("H3: international norm support with and without local adoption", fontsize=9)
        return fig


@attrs.frozen
class H4(Design):
    key: ClassVar[str] = "H4"
    claim: ClassVar[str] = (
        "Local government lets domestic and international opportunity structures interact: the "
        "multi-layered structure is stronger than either."
    )
    prediction: ClassVar[str] = (
        "The interaction effect on the probability of the outcome, P(both) - P(domestic only) - "
        "P(international only) + P(neither), is positive (the channels together do more than the "
        "sum of what each adds alone)."
    )
    arms: dict[str, Arm] = attrs.field(
        factory=lambda: {
            "both": Arm(1.0),
            "domestic only": Arm(1.0, _without(international=False)),
            "international only": Arm(1.0, _without(domestic=False)),
            "neither": Arm(1.0, _without(domestic=False, international=False)),
        }
    )

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        for _, milestone, _ in CASES[scenario].outcomes():
            y = {a: reached(f, milestone) for a, f in data.items()}
            interaction = y["both"] - y["domestic only"] - y["international only"] + y["neither"]
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "share reached",
                    "both - domestic - international + neither",
                    interaction,
                    +1,
                    True,
                )
            )
            for a in data:
                arms.append(self._arm_row(scenario, a, milestone, "share reached", _share_row(y[a])))
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = _figure(len(scenarios), 2, width=3.4, height=2.6)
        for i, scenario in enumerate(scenarios):
            for j, (_, milestone, meaning) in enumerate(CASES[scenario].outcomes()):
                ax = fig.axes[i * 2 + j]

                def share(arm: str, scenario: str = scenario, milestone: str = milestone) -> dict[str, Any]:
                    return next(
                        r
                        for r in result.arms
                        if r["scenario"] == scenario and r["arm"] == arm and r["outcome"] == milestone
                    )

                for intl, color, arms in (
                    (True, "tab:blue", ("international only", "both")),
                    (False, "tab:gray", ("neither", "domestic only")),
                ):
                    rows = [share(a) for a in arms]
                    v = np.array([_num(r["estimate"]) for r in rows])
                    lo = np.array([_num(r["low"], _num(r["estimate"])) for r in rows])
                    hi = np.array([_num(r["high"], _num(r["estimate"])) for r in rows])
                    ax.errorbar(
                        [0, 1],
                        v,
                        yerr=np.abs(np.vstack([v - lo, hi - v])),
                        color=color,
                        marker="o",
                        capsize=3,
                        label=f"international {'on' if intl else 'off'}",
                    )
                ax.set_xticks([0, 1], ["domestic off", "domestic on"], fontsize=7)
                ax.set_xlim(-0.3, 1.3)
                ax.set_ylim(-0.03, 1.03)
                ax.set_title(f"{scenario}\n{meaning}", fontsize=8)
                ax.set_ylabel("share of runs reached", fontsize=7)
                ax.tick_params(labelsize=7)
        fig.axes[0].legend(fontsize=7)
        fig.suptitle("H4: domestic and international channels (non-parallel lines = interaction)", fontsize=9)
        return fig


def _h5_arms() -> dict[str, Arm]:
    arms = {}
    for level in RESOURCE_LEVELS:
        iv = _without(resource_scale=level)
        arms[f"with, resources x{level:g}"] = Arm(1.0, iv)
        arms[f"without, resources x{level:g}"] = Arm(0.0, iv)
    return arms


@attrs.frozen
class H5(Design):
    key: ClassVar[str] = "H5"
    claim: ClassVar[str] = "Local government's resources and reputation empower resource-poor coalitions."
    prediction: ClassVar[str] = (
        "The local-government effect (role 1 - role 0 on the share reaching the outcome) is larger "
        "for resource-poor coalitions (groups' resources x0.25) than for rich ones (x4): "
        "effect(x0.25) - effect(x4) > 0; on time, the speed-up is larger for the poor: "
        "days effect(x0.25) - days effect(x4) < 0."
    )
    arms: dict[str, Arm] = attrs.field(factory=_h5_arms)

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        poor, rich = f"x{RESOURCE_LEVELS[0]:g}", f"x{RESOURCE_LEVELS[-1]:g}"
        for _, milestone, _ in CASES[scenario].outcomes():
            y = {a: reached(f, milestone) for a, f in data.items()}
            d = {a: days_to(f, milestone, horizon) for a, f in data.items()}
            share_effect = {
                f"x{r:g}": y[f"with, resources x{r:g}"] - y[f"without, resources x{r:g}"]
                for r in RESOURCE_LEVELS
            }
            days_effect = {
                f"x{r:g}": d[f"with, resources x{r:g}"] - d[f"without, resources x{r:g}"]
                for r in RESOURCE_LEVELS
            }
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "share reached",
                    f"effect at {poor} - effect at {rich}",
                    share_effect[poor] - share_effect[rich],
                    +1,
                    True,
                )
            )
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "restricted mean days (KM, horizon)",
                    f"effect at {poor} - effect at {rich}",
                    days_effect[poor] - days_effect[rich],
                    -1,
                    False,
                )
            )
            for level, diffs in share_effect.items():
                effects.append(
                    self._effect(
                        scenario,
                        milestone,
                        f"share reached, resources {level}",
                        "with - without",
                        diffs,
                        +1,
                        False,
                    )
                )
            for a in data:
                arms.append(self._arm_row(scenario, a, milestone, "share reached", _share_row(y[a])))
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = _figure(len(scenarios), 2, width=3.4, height=2.6)
        for i, scenario in enumerate(scenarios):
            for j, (_, milestone, meaning) in enumerate(CASES[scenario].outcomes()):
                ax = fig.axes[i * 2 + j]
                rows = [
                    next(
                        r
                        for r in result.effects
                        if r["scenario"] == scenario
                        and r["outcome"] == milestone
                        and r["measure"] == f"share reached, resources x{level:g}"
                    )
                    for level in RESOURCE_LEVELS
                ]
                v = np.array([_num(r["estimate"]) for r in rows])
                lo = np.array([_num(r["low"], _num(r["estimate"])) for r in rows])
                hi = np.array([_num(r["high"], _num(r["estimate"])) for r in rows])
                x = np.arange(len(RESOURCE_LEVELS))
                ax.errorbar(
                    x, v, yerr=np.nan_to_num(np.abs(np.vstack([v - lo, hi - v]))), marker="o", capsize=3
                )
                ax.axhline(0.0, color="black", linewidth=0.6)
                ax.set_xticks(x, [f"x{level:g}" for level in RESOURCE_LEVELS], fontsize=7)
                ax.set_xlabel("groups' resources", fontsize=7)
                ax.set_ylim(-1.03, 1.03)
                ax.set_title(f"{scenario}\n{meaning}", fontsize=8)
                ax.set_ylabel("local-government effect\n(share, role 1 - role 0)", fontsize=7)
                ax.tick_params(labelsize=7)
        fig.suptitle("H5: the local-government effect across coalition resources (95% intervals)", fontsize=9)
        return fig


DESIGNS: dict[str, Design] = {d.key: d for d in (H1(), H2(), H3(), H4(), H5())}


def _num(value: Any, default: float = np.nan) -> float:
    if value is None:
        return default
    value = float(value)
    return value if np.isfinite(value) else default


def _figure(rows: int, cols: int, width: float, height: float) -> Figure:
    # a Figure without pyplot and an explicit Agg canvas: no global backend state
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height * rows + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    fig.subplots(rows, cols, squeeze=False)
    return fig


# -- results -----------------------------------------------------------------------------


@attrs.define
class HypothesisResult:
    """One design's outcome: effect rows, per-arm rows and the paired runs."""

    design: Design
    effects: list[dict[str, Any]]
    arms: list[dict[str, Any]]
    data: dict[str, dict[str, pd.DataFrame]]
    horizons: dict[str, np.ndarray]

    @property
    def key(self) -> str:
        return self.design.key

    def effects_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.effects, columns=EFFECT_COLUMNS)

    def arms_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.arms, columns=ARM_COLUMNS)

    def primary(self) -> list[dict[str, Any]]:
        return [r for r in self.effects if r["primary"]]


EFFECT_COLUMNS = [
    "hypothesis",
    "scenario",
    "outcome",
    "meaning",
    "measure",
    "contrast",
    "primary",
    "n",
    "estimate",
    "low",
    "high",
    "interval",
    "predicted",
    "direction",
    "verdict",
]
ARM_COLUMNS = [
    "hypothesis",
    "scenario",
    "arm",
    "setting",
    "outcome",
    "meaning",
    "measure",
    "n",
    "estimate",
    "low",
    "high",
    "method",
]


# -- running ----------------------------------------------------------------------------------


class _AgendaByIssue:
    """Records ``agenda_placed:<issue>``: the core's ``agenda_placed`` is
    the first agenda in any state, and a scenario with one campaign per
    state needs each state's own."""

    normflow_plugin_name = "hypotheses"
    __version__ = "builtin"

    @hookimpl
    def normflow_register_milestones(self, sim: Any, register: Callable[[str], None]) -> None:
        if any(st.legislature is not None for st in sim.scenario.states):
            for issue in sim.world.issues:
                register(f"agenda_placed:{issue.id}")

    @hookimpl
    def normflow_register_handlers(self, sim: Any, register: Callable[..., None]) -> None:
        register(AgendaPlaced, lambda e: sim.reach_milestone(f"agenda_placed:{e.issue}", e.t))


@attrs.frozen
class Job:
    """One scenario under one arm: a store of replications."""

    scenario: str
    arm: Arm
    text: str
    file: str
    overrides: tuple[tuple[str, Any], ...]
    directory: Path
    fingerprint: str


@attrs.frozen
class Task:
    """One replication of one job, as sent to a worker."""

    job: int
    replication: int
    seed: int
    text: str
    file: str
    overrides: tuple[tuple[str, Any], ...]
    arm: Arm
    plugins: tuple[str, ...]

    def identity(self) -> dict[str, Any]:
        return {
            "cell": 0,
            "replication": self.replication,
            "seed": self.seed,
            "spawn_key": str(self.replication),
            "status": "ok",
            "error": None,
            "horizon_days": None,
        }


_scenarios: dict[str, Scenario] = {}
_managers: dict[tuple[str | None, ...], Any] = {}


def _scenario_of(text: str, file: str, overrides: tuple[tuple[str, Any], ...]) -> Scenario:
    key = hashlib.sha256((text + json.dumps(overrides, default=str)).encode("utf-8")).hexdigest()
    if key not in _scenarios:
        if len(_scenarios) > 64:
            _scenarios.clear()
        _scenarios[key] = loads_scenario(text, file=file, overrides=dict(overrides))
    return _scenarios[key]


def _plugin_manager() -> Any:
    from normflow.experiment import PLUGIN_ENV
    from normflow.plugins import get_plugin_manager

    key = tuple(os.environ.get(k) for k in PLUGIN_ENV)
    if key not in _managers:
        _managers[key] = get_plugin_manager([_AgendaByIssue()])
    return _managers[key]


def _simulation(scenario: Scenario, arm: Arm, replication: int, seed: int) -> Any:
    from normflow.simulation import Simulation

    return Simulation(
        scenario,
        np.random.SeedSequence(seed, spawn_key=(replication,)),
        plugin_manager=_plugin_manager(),
        local_government_role=arm.local_government_role,
        interventions=arm.interventions,
    )


def run_task(task: Task) -> tuple[int, dict[str, Any]]:
    """Run one replication; a failure becomes a row with ``status = "failed"``."""
    from normflow.experiment import OUTPUTS, outputs_of

    row = task.identity()
    try:
        scenario = _scenario_of(task.text, task.file, task.overrides)
        row["horizon_days"] = scenario.horizon
        sim = _simulation(scenario, task.arm, task.replication, task.seed)
        loaded = tuple(sorted(sim.plugin_versions))
        if loaded != task.plugins:
            raise RuntimeError(
                f"this worker loads the plugins {list(loaded)}, planned with {list(task.plugins)}"
            )
        result = sim.run()
    except Exception as exc:
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return task.job, row
    row.update(outputs_of(result, scenario.horizon, OUTPUTS))
    return task.job, row


def _rows_in_process(tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
    for task in tasks:
        yield run_task(task)


def _rows_from_pool(tasks: list[Task], workers: int) -> Iterator[tuple[int, dict[str, Any]]]:
    from normflow.experiment import map_in_pool

    return map_in_pool(
        run_task,
        tasks,
        workers,
        lambda task, exc: (
            task.job,
            {**task.identity(), "status": "failed", "error": f"{type(exc).__name__}: {exc}"},
        ),
    )


def _version(text: str, overrides: tuple[tuple[str, Any], ...], seed: int) -> str:
    """Names the runs of one scenario text, overrides and seed: a recalibrated
    scenario or another seed gets new stores beside the old ones."""
    data = json.dumps([text, [[k, v] for k, v in overrides], seed], default=str)
    return f"seed{seed}-" + hashlib.sha256(data.encode("utf-8")).hexdigest()[:10]


def _fingerprint(text: str, overrides: tuple[tuple[str, Any], ...], arm: Arm, seed: int) -> str:
    data = {
        "scenario_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "overrides": [[k, v] for k, v in overrides],
        "arm": arm.to_dict(),
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _resolve(keys: Sequence[str | Design]) -> list[Design]:
    designs: list[Design] = []
    for key in keys:
        if isinstance(key, Design):
            designs.append(key)
            continue
        name = key.upper()
        if name == "ALL":
            designs.extend(d for d in DESIGNS.values() if d not in designs)
            continue
        if name not in DESIGNS:
            raise ScenarioError("HYPOTHESIS", key, f"one of {', '.join(DESIGNS)} or all")
        if DESIGNS[name] not in designs:
            designs.append(DESIGNS[name])
    return designs


def run_hypotheses(
    hypotheses: Sequence[str | Design] = ("all",),
    out: str | Path = "hypotheses",
    *,
    replications: int = 200,
    seed: int = 0,
    workers: int | None = None,
    scenarios: Sequence[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    progress: bool | Callable[[Any], None] = False,
) -> list[HypothesisResult]:
    """Run the designs (keys ``"H1"`` ... ``"H5"``, ``"all"``, or ``Design``
    objects) and write their tables and plots into ``out``.

    ``scenarios`` restricts each design to those of its scenarios named;
    ``overrides`` maps a scenario name to field overrides for it (e.g. a
    shorter ``scenario.end`` for a quick look). Runs already stored in
    ``out/runs`` for the same scenario text, overrides, arm and seed are
    reused. ``workers=1`` runs in this process; more use a process pool
    (default: every core).
    """
    from normflow.experiment import Progress, _RichProgress, default_workers

    began = time.perf_counter()
    designs = _resolve(hypotheses)
    if replications < 1:
        raise ValueError("replications: expected at least 1")
    wanted = set(scenarios) if scenarios is not None else None
    if wanted is not None:
        unknown = wanted - set(ALL_SCENARIOS)
        if unknown:
            raise ScenarioError(
                "--scenario",
                sorted(unknown)[0],
                f"one of the scenarios the designs use ({', '.join(ALL_SCENARIOS)})",
            )
    overrides = overrides or {}
    out = Path(out)
    plan: dict[str, list[str]] = {
        d.key: [s for s in d.scenarios if wanted is None or s in wanted] for d in designs
    }
    texts: dict[str, tuple[str, str]] = {}
    for name in sorted({s for names in plan.values() for s in names}):
        path = resolve_scenario_path(name)
        texts[name] = (path.read_text(encoding="utf-8"), str(path))
    # the jobs: every (scenario, arm) once, whichever designs share it
    jobs: dict[tuple[str, str], Job] = {}
    for d in designs:
        for name in plan[d.key]:
            for arm in d.arms.values():
                if (name, arm.key) in jobs:
                    continue
                text, file = texts[name]
                ov = tuple(sorted(overrides.get(name, {}).items()))
                jobs[(name, arm.key)] = Job(
                    scenario=name,
                    arm=arm,
                    text=text,
                    file=file,
                    overrides=ov,
                    directory=out / "runs" / name / _version(text, ov, seed) / arm.key,
                    fingerprint=_fingerprint(text, ov, arm, seed),
                )
    job_list = list(jobs.values())
    versions = _preflight(job_list, designs)
    stores = [Store(job.directory) for job in job_list]
    for job, store in zip(job_list, stores, strict=True):
        _open_store(store, job, seed, versions)
    tasks: list[Task] = []
    already = 0
    done_sets = [store.done() for store in stores]
    plugins = tuple(sorted(versions))
    for k in range(replications):
        for i, job in enumerate(job_list):
            if (0, k) in done_sets[i]:
                already += 1
                continue
            tasks.append(Task(i, k, seed, job.text, job.file, job.overrides, job.arm, plugins))
    n_workers = max(1, min(workers or default_workers(), len(tasks) or 1))
    rows = _rows_in_process(tasks) if n_workers == 1 else _rows_from_pool(tasks, n_workers)
    bar = _RichProgress("hypotheses") if progress is True else None
    report = bar if bar is not None else (progress or None)
    total = already + len(tasks)
    computed = failed = 0
    for store in stores:
        store.acquire()
    try:
        if report:
            report(Progress(already, total, 0, 0, 0.0))
        for job_index, row in rows:
            stores[job_index].write_row(row)
            computed += 1
            failed += row["status"] != "ok"
            if report:
                report(Progress(already + computed, total, failed, computed, time.perf_counter() - began))
    finally:
        rows.close()
        if bar is not None:
            bar.close()
        compacted = []
        for store in stores:
            compacted.append(store.compact())
            store.release()
    tables = {
        (job.scenario, job.arm.key): _first(table, replications)
        for job, table in zip(job_list, compacted, strict=True)
    }
    results = []
    out.mkdir(parents=True, exist_ok=True)
    for d in designs:
        result = _analyze(d, plan[d.key], tables)
        _write(result, out)
        results.append(result)
    _write_manifest(
        out,
        designs,
        plan,
        job_list,
        replications,
        seed,
        versions,
        time.perf_counter() - began,
        computed,
        failed,
    )
    return results


def _preflight(jobs: list[Job], designs: list[Design]) -> dict[str, str]:
    """Load each scenario and build (not run) one simulation per scenario, so
    a bad scenario or a missing plugin is one clear error before anything runs."""
    versions: dict[str, str] = {}
    seen = set()
    for job in jobs:
        if job.scenario in seen:
            continue
        seen.add(job.scenario)
        scenario = _scenario_of(job.text, job.file, job.overrides)
        sim = _simulation(scenario, Arm(), 0, 0)
        versions = dict(sorted(sim.plugin_versions.items()))
    if any(d.key == "H3" for d in designs) and "norm_cascade" not in versions:
        loaded = ", ".join(sorted(versions)) or "none"
        raise ScenarioError(
            "HYPOTHESIS", "H3", f"the norm_cascade plugin loaded (it measures norm support; loaded: {loaded})"
        )
    return versions


def _open_store(store: Store, job: Job, seed: int, versions: dict[str, str]) -> None:
    """A new store, or one holding runs of exactly this job (continued)."""
    from normflow import __version__
    from normflow.experiment import _plain

    if store.exists():
        stored = store.read_manifest()
        if stored.get("fingerprint") != job.fingerprint:
            raise StoreError(
                f"{store.dir} holds runs of another version of this arm (the scenario, its overrides or "
                "the seed changed); use another --out"
            )
        return
    store.check_fresh()
    store.write_manifest(
        {
            "normflow": __version__,
            "fingerprint": job.fingerprint,
            "spec": {"seed": seed, "arm": job.arm.to_dict(), "overrides": _plain(dict(job.overrides))},
            "scenario": {
                "name": job.scenario,
                "file": job.file,
                "sha256": hashlib.sha256(job.text.encode("utf-8")).hexdigest(),
                "text": job.text,
            },
            "parameters": [],
            "cells": [{"cell": 0, "params": job.arm.to_dict()}],
            "plugins": versions,
        }
    )


def _first(table: pd.DataFrame, replications: int) -> pd.DataFrame:
    """The first ``replications`` rows of a store (it may hold more), by replication."""
    table = table[table["replication"] < replications] if len(table) else table
    return table.set_index("replication", drop=False).sort_index()


def _analyze(
    design: Design, scenarios: list[str], tables: dict[tuple[str, str], pd.DataFrame]
) -> HypothesisResult:
    effects: list[dict[str, Any]] = []
    arms: list[dict[str, Any]] = []
    data: dict[str, dict[str, pd.DataFrame]] = {}
    horizons: dict[str, np.ndarray] = {}
    for scenario in scenarios:
        frames = {label: tables[(scenario, arm.key)] for label, arm in design.arms.items()}
        # pairs: the replications every arm finished
        common = None
        for frame in frames.values():
            ok = set(frame.index[frame["status"] == "ok"])
            common = ok if common is None else common & ok
        index = sorted(common or ())
        aligned = {label: frame.loc[index] for label, frame in frames.items()}
        first = next(iter(aligned.values()))
        horizon = first["horizon_days"].to_numpy(dtype=float, na_value=np.nan) if len(first) else np.zeros(0)
        analysis = design.analyze(scenario, aligned, horizon)
        effects += analysis.effects
        arms += analysis.arms
        data[scenario] = aligned
        horizons[scenario] = horizon
    return HypothesisResult(design, effects, arms, data, horizons)


def _write(result: HypothesisResult, out: Path) -> None:
    stem = result.key.lower()
    result.effects_frame().to_csv(out / f"{stem}.csv", index=False)
    result.arms_frame().to_csv(out / f"{stem}_arms.csv", index=False)
    if result.data:
        fig = result.design.plot(result)
        fig.savefig(out / f"{stem}.png", dpi=110)


def _write_manifest(
    out: Path,
    designs: list[Design],
    plan: dict[str, list[str]],
    jobs: list[Job],
    replications: int,
    seed: int,
    versions: dict[str, str],
    wall: float,
    computed: int,
    failed: int,
) -> None:
    from normflow import __version__
    from normflow.experiment import _plain

    manifest = {
        "normflow": __version__,
        "replications": replications,
        "seed": seed,
        "seeds": "replication k of every arm and scenario: SeedSequence(seed, spawn_key=(k,))",
        "plugins": versions,
        "designs": {
            d.key: {
                "claim": d.claim,
                "prediction": d.prediction,
                "scenarios": plan[d.key],
                "arms": {label: arm.to_dict() for label, arm in d.arms.items()},
            }
            for d in designs
        },
        "scenarios": {
            job.scenario: {
                "sha256": hashlib.sha256(job.text.encode("utf-8")).hexdigest(),
                "overrides": _plain(dict(job.overrides)),
            }
            for job in jobs
        },
        "runs_computed": computed,
        "runs_failed": failed,
        "wall_seconds": round(wall, 1),
    }
    (out / "hypotheses.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")


# -- command line ------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def print_results(results: list[HypothesisResult], primary_only: bool = True) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = 180
    table = Table(title="hypotheses: paired effects with 95% intervals", title_justify="left")
    for col in ("H", "scenario", "outcome", "measure", "effect [95% CI]", "n", "predicted", "verdict"):
        table.add_column(col, overflow="fold")
    for result in results:
        for r in result.effects:
            if primary_only and not r["primary"]:
                continue
            colour = {"supported": "green", "not supported": "red"}.get(r["verdict"], "yellow")
            table.add_row(
                r["hypothesis"],
                r["scenario"],
                r["outcome"],
                r["measure"],
                f"{_fmt(r['estimate'])} [{_fmt(r['low'])}, {_fmt(r['high'])}]",
                str(r["n"]),
                r["predicted"],
                f"[{colour}]{r['verdict']}[/{colour}]",
            )
    console.print(table)


@click.command("hypotheses")
@click.argument("hypotheses", nargs=-1, metavar="[H1 ... H5 | all]")
@click.option(
    "--replications",
    "-n",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Replications per arm (paired across arms by seed).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="Base seed: replication k of every arm runs with SeedSequence(seed, spawn_key=(k,)).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="hypotheses",
    show_default=True,
    help="Directory for the tables, plots and stored runs (runs already there are reused).",
)
@click.option(
    "--workers", type=click.IntRange(1), help="Worker processes (default: all cores; 1 = in process)."
)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    metavar="NAME",
    help="Only these of each design's scenarios (repeatable).",
)
@click.option("--all-rows", is_flag=True, help="Print every effect, not only the primary ones.")
def hypotheses_command(
    hypotheses: tuple[str, ...],
    replications: int,
    seed: int,
    out: str,
    workers: int | None,
    scenarios: tuple[str, ...],
    all_rows: bool,
) -> None:
    """Test the article's hypotheses H1-H5 about local government: each a
    paired comparison on the bundled scenarios, with effects, 95% intervals
    and a verdict, written to OUT as hN.csv, hN_arms.csv and hN.png (the
    designs: docs/hypotheses.md)."""
    from normflow.cli import fail
    from normflow.experiment import ExperimentError

    began = time.perf_counter()
    try:
        results = run_hypotheses(
            hypotheses or ("all",),
            out,
            replications=replications,
            seed=seed,
            workers=workers,
            scenarios=scenarios or None,
            progress=True,
        )
    except (StoreError, ExperimentError) as exc:
        fail(str(exc), 1 if isinstance(exc, ExperimentError) else 2)
        return
    except KeyboardInterrupt:
        fail(
            f"interrupted; finished runs are stored in {out}/runs: run the same command again to continue",
            130,
        )
        return
    print_results(results, primary_only=not all_rows)
    manifest = json.loads((Path(out) / "hypotheses.json").read_text(encoding="utf-8"))
    click.echo(
        f"{len(results)} hypotheses, {replications} replications per arm: {manifest['runs_computed']} runs "
        f"computed now ({manifest['runs_failed']} failed) in {time.perf_counter() - began:.0f} s",
        err=True,
    )
    click.echo(str(out))
