"""H2, expertise: expertise is heard by power-holders but fades once a
negotiation enters its interest-driven main phase; local government's
access keeps it heard throughout.

Arms: local-government role 1 against role 0. The primary outcome is what
the talks produce: the *deal quality* (``metrics.deal_quality.<id>``,
``1 - |deal - technical optimum|``, from the negotiation process), paired
over the runs in which both arms reached a deal. The deal is pulled toward
the optimum by the weight expertise carried over the talks, so the
measure is an outcome of the mechanism, not a weight the rule sets. The
expertise influence per round in each phase and the main-phase to
prenegotiation ratio (the fade) are kept as secondary rows.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, ClassVar

import attrs
import numpy as np

from normflow.hypotheses.arms import Arm
from normflow.hypotheses.design import (
    Analysis,
    Design,
    HypothesisResult,
    estimates_and_errors,
    figure_grid,
)
from normflow.hypotheses.effects import column, mean_row, share_row

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


@attrs.frozen
class H2(Design):
    key: ClassVar[str] = "H2"
    claim: ClassVar[str] = (
        "Expertise is heard by power-holders but fades once negotiation enters its interest-driven "
        "main phase; local government's access keeps it heard throughout."
    )
    prediction: ClassVar[str] = (
        "The deal the negotiators reach is of higher quality (nearer the technical optimum) with "
        "local-government access than without (difference in deal quality > 0); secondary: "
        "expertise influence per round in the main phase, and its ratio to prenegotiation, higher."
    )
    arms: dict[str, Arm] = attrs.field(factory=lambda: {"with": Arm(1.0), "without": Arm(0.0)})
    scenarios: tuple[str, ...] = ("generic", "kitakyushu-dalian", "niigata-harbin")

    @staticmethod
    def per_round(frame: pd.DataFrame, phase: str) -> np.ndarray:
        influence = column(frame, f"metrics.expertise_influence.{phase}")
        rounds = column(frame, f"metrics.expertise_rounds.{phase}", 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(rounds > 0, influence / rounds, np.nan)

    @staticmethod
    def deal_quality(frame: pd.DataFrame) -> np.ndarray:
        """The quality of the deal reached (mean over the scenario's
        negotiations that reached one; NaN where none did)."""
        cols = [c for c in frame.columns if c.startswith("metrics.deal_quality.")]
        if not cols:
            return np.full(len(frame), np.nan)
        values = np.column_stack([column(frame, c) for c in cols])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(values, axis=1)

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        quality = {a: self.deal_quality(f) for a, f in data.items()}
        # a pair counts only where both arms reached a deal
        effects.append(
            self._effect(
                scenario,
                "deal quality",
                "1 - |deal - optimum|",
                "with - without",
                quality["with"] - quality["without"],
                +1,
                True,
            )
        )
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
                False,
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
            arms.append(
                self._arm_row(scenario, a, "deal quality", "1 - |deal - optimum|", mean_row(quality[a]))
            )
            dealt = (~np.isnan(quality[a])).astype(float)
            arms.append(self._arm_row(scenario, a, "deal quality", "share reaching a deal", share_row(dealt)))
            arms.append(self._arm_row(scenario, a, outcome, "prenegotiation, per round", mean_row(pre[a])))
            arms.append(self._arm_row(scenario, a, outcome, "main phase, per round", mean_row(main[a])))
            arms.append(self._arm_row(scenario, a, outcome, "main / prenegotiation", mean_row(ratio[a])))
            reached_main = (~np.isnan(main[a])).astype(float)
            arms.append(
                self._arm_row(scenario, a, outcome, "share reaching the main phase", share_row(reached_main))
            )
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = figure_grid(1, len(scenarios), width=4.0, height=3.0)
        for ax, scenario in zip(fig.axes, scenarios, strict=True):
            rows = [r for r in result.arms if r["scenario"] == scenario]
            for k, arm in enumerate(self.arms):
                v, err = estimates_and_errors(
                    [
                        next(r for r in rows if r["arm"] == arm and r["measure"] == measure)
                        for measure in ("prenegotiation, per round", "main phase, per round")
                    ]
                )
                x = np.arange(2) + (k - 0.5) * 0.38
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
