"""H1, access: local government gives coalitions the access and the openings
to persuade states to institutionalize norm-consistent policy.

Arms: local-government role 1 against role 0. Outcomes: the agenda step
and the institutionalized policy, each as the share of runs reaching it and
as the restricted mean time to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs
import numpy as np

from normflow.hypotheses.arms import Arm
from normflow.hypotheses.cases import CASES
from normflow.hypotheses.design import Analysis, Design, HypothesisResult, figure_grid, outcome_axes
from normflow.hypotheses.effects import days_to, mean_row, median_row, reached, share_row

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


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
                arms.append(self._arm_row(scenario, a, milestone, "share reached", share_row(hit[a])))
                arms.append(self._arm_row(scenario, a, milestone, "median days", median_row(days[a], hit[a])))
                arms.append(self._arm_row(scenario, a, milestone, "restricted mean days", mean_row(days[a])))
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        from normflow.stats import kaplan_meier

        scenarios = list(result.data)
        fig = figure_grid(len(scenarios), 2, width=4.2, height=2.8)
        colors = {"with": "tab:blue", "without": "tab:red"}
        for ax, scenario, milestone, meaning in outcome_axes(fig, scenarios):
            frames, horizon = result.data[scenario], result.horizons[scenario]
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
