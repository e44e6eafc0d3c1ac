"""H2, expertise: expertise is heard by power-holders but fades once a
negotiation enters its interest-driven main phase; local government's
access keeps it heard throughout.

Arms: local-government role 1 against role 0. Outcomes: expertise
influence per round in each negotiation phase, and the main-phase to
prenegotiation ratio (the fade).
"""

from __future__ import annotations

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
        "Expertise influence per round in the main phase is higher with local-government access "
        "than without (difference > 0), and so is the ratio of main-phase to prenegotiation "
        "influence per round (the fade is smaller)."
    )
    arms: dict[str, Arm] = attrs.field(factory=lambda: {"with": Arm(1.0), "without": Arm(0.0)})
    scenarios: tuple[str, ...] = ("generic", "kitakyushu-dalian", "niigata-harbin")

    @staticmethod
    def per_round(frame: pd.DataFrame, phase: str) -> np.ndarray:
        influence = column(frame, f"metrics.expertise_influence.{phase}")
        rounds = column(frame, f"metrics.expertise_rounds.{phase}", 0.0)
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
