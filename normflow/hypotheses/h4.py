"""H4, layered opportunity structures: local government lets domestic and
international opportunity structures interact, so the multi-layered
structure is stronger than either alone.

Arms: both channels, domestic only, international only, neither. Outcome:
the interaction contrast P(both) - P(domestic only) - P(international
only) + P(neither) on reaching each milestone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

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
    outcome_axes,
)
from normflow.hypotheses.effects import reached, share_row

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


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
            "domestic only": Arm(1.0, without(international=False)),
            "international only": Arm(1.0, without(domestic=False)),
            "neither": Arm(1.0, without(domestic=False, international=False)),
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
                    "interaction of the shares reached",
                    "both - domestic - international + neither",
                    interaction,
                    +1,
                    True,
                )
            )
            arms += self._arm_rows(scenario, milestone, "share reached", {a: share_row(y[a]) for a in data})
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = figure_grid(len(scenarios), 2, width=3.4, height=2.6)
        for ax, scenario, milestone, meaning in outcome_axes(fig, scenarios):

            def share(arm: str, scenario: str = scenario, milestone: str = milestone) -> dict[str, Any]:
                return next(
                    r
                    for r in result.arms
                    if r["scenario"] == scenario and r["arm"] == arm and r["outcome"] == milestone
                )

            # the two lines are drawn a little apart, in different styles, so
            # that one never hides the other where they coincide
            for intl, color, marker, style, shift, arms in (
                (True, "tab:blue", "o", "-", -0.03, ("international only", "both")),
                (False, "tab:orange", "s", "--", 0.03, ("neither", "domestic only")),
            ):
                rows = [share(a) for a in arms]
                v, err = estimates_and_errors(rows)
                ax.errorbar(
                    [shift, 1 + shift],
                    v,
                    yerr=err,
                    color=color,
                    marker=marker,
                    linestyle=style,
                    capsize=3,
                    label=f"international {'on' if intl else 'off'}",
                )
            ax.set_xticks([0, 1], ["domestic off", "domestic on"], fontsize=7)
            ax.set_xlim(-0.3, 1.3)
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(f"{scenario}\n{meaning}", fontsize=8)
            ax.set_ylabel("share of runs reached", fontsize=7)
            ax.tick_params(labelsize=7)
        fig.axes[0].legend(fontsize=8)
        fig.suptitle("H4: domestic and international channels (non-parallel lines = interaction)", fontsize=9)
        return fig
