"""H3, norm building: local government helps shape a new international norm,
feeding back from the national agenda to international structures.

Arms: with and without local adoption (assemblies passing resolutions).
Outcomes: international norm support as the norm cascade plugin measures
it (time-averaged), and whether and when it tips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs
import numpy as np

from normflow.hypotheses.arms import Arm, without
from normflow.hypotheses.cases import CASES
from normflow.hypotheses.design import (
    Analysis,
    Design,
    HypothesisResult,
    estimates_and_errors,
    figure_grid,
)
from normflow.hypotheses.effects import column, days_to, mean_row, reached, share_row

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


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
            "without local adoption": Arm(1.0, without(local_resolutions=False)),
        }
    )
    # the two local-diplomacy cases pass no assembly resolutions and use no norm cascade
    # (the article records neither; docs/cases): H3 does not apply to them
    scenarios: tuple[str, ...] = ("kawasaki-suffrage", "generic")

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        a, b = list(self.arms)
        outcome = "international norm support"
        mean = {x: column(f, "metrics.norm_cascade.support_mean") for x, f in data.items()}
        final = {x: column(f, "metrics.norm_cascade.support") for x, f in data.items()}
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
            arms.append(self._arm_row(scenario, x, outcome, "time-averaged support", mean_row(mean[x])))
            arms.append(self._arm_row(scenario, x, outcome, "support at the end", mean_row(final[x])))
            arms.append(
                self._arm_row(scenario, x, "norm_cascade.tipping", "share reached", share_row(tip[x]))
            )
            agenda = CASES[scenario].agenda
            arms.append(
                self._arm_row(
                    scenario,
                    x,
                    agenda,
                    "share reached",
                    share_row(reached(data[x], agenda)),
                )
            )
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = figure_grid(1, 2, width=5.0, height=3.2)
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
                v, err = estimates_and_errors(rows)
                x = np.arange(len(scenarios)) + (k - 0.5) * 0.38
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
