"""H5, resources: local government's resources and reputation empower
resource-poor coalitions, so its effect is larger for them.

Arms: local-government role 1 and 0 at each level of the groups' resources
(``resources``, by default ``RESOURCE_LEVELS``), every arm with campaign costs switched on and local
governments able to lend (``SETTINGS``): a campaign costs its group
``campaign_cost`` from a budget that refills with the group's resources,
and a local government that backs the issue pays for campaigns its groups
cannot afford, from a budget of its own that refills at ``lg_lending`` a
year (``normflow.processes.accountability``). A poor group whose budget
never reaches the cost of a campaign campaigns only on borrowed money.
Outcome: the role effect for the poorest level minus the role effect for
the richest, on shares and on times.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import attrs
import numpy as np

from normflow.hypotheses.arms import RESOURCE_LEVELS, Arm, without
from normflow.hypotheses.cases import CASES
from normflow.hypotheses.design import (
    Analysis,
    Design,
    HypothesisResult,
    estimates_and_errors,
    figure_grid,
    outcome_axes,
)
from normflow.hypotheses.effects import column, days_to, mean_row, reached, share_row

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


#: What every H5 arm sets (under the command's overrides, so a variant such
#: as ``processes.costs.lg_lending = 0`` changes every arm): campaigns cost
#: resources, and a local government backing the issue can lend a year's
#: worth of one unit of resources (ten campaigns at the default cost).
SETTINGS = {"processes.costs.enabled": True, "processes.costs.lg_lending": 1.0}


#: The outcome that measures what a coalition can do at all: its campaigns.
ACTIVITY = "coalition campaigns"


def _h5_arms(levels: tuple[float, ...] = RESOURCE_LEVELS) -> dict[str, Arm]:
    arms = {}
    for level in levels:
        iv = without(resource_scale=level)
        arms[f"with, resources x{level:g}"] = Arm(1.0, iv, SETTINGS)
        arms[f"without, resources x{level:g}"] = Arm(0.0, iv, SETTINGS)
    return arms


@attrs.frozen
class H5(Design):
    key: ClassVar[str] = "H5"
    claim: ClassVar[str] = "Local government's resources and reputation empower resource-poor coalitions."
    prediction: ClassVar[str] = (
        "With campaigns costing resources and local governments able to lend to campaigns their groups "
        "cannot pay for, the local-government effect (role 1 - role 0 on the share reaching the "
        "outcome) is larger for resource-poor coalitions (groups' resources x0.25) than for rich ones (x4): "
        "effect(x0.25) - effect(x4) > 0; on time, the speed-up is larger for the poor: "
        "days effect(x0.25) - days effect(x4) < 0. Also primary, what the coalition can do at all: the "
        "local-government effect on the campaigns its groups run (log ratio with / without) is larger "
        "for the poor than for the rich."
    )
    #: The levels of groups' resources (their first is the poor, their last the rich).
    resources: tuple[float, ...] = RESOURCE_LEVELS
    arms: dict[str, Arm] = attrs.field(
        default=attrs.Factory(lambda self: _h5_arms(self.resources), takes_self=True)
    )

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        poor, rich = f"x{self.resources[0]:g}", f"x{self.resources[-1]:g}"

        def with_minus_without(values: dict) -> dict:
            """Per resource level (``x<level>``): the with arm less the without arm."""
            return {
                f"x{r:g}": values[f"with, resources x{r:g}"] - values[f"without, resources x{r:g}"]
                for r in self.resources
            }

        for _, milestone, _ in CASES[scenario].outcomes():
            y = {a: reached(f, milestone) for a, f in data.items()}
            d = {a: days_to(f, milestone, horizon) for a, f in data.items()}
            share_effect = with_minus_without(y)
            days_effect = with_minus_without(d)
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
            arms += self._arm_rows(scenario, milestone, "share reached", {a: share_row(y[a]) for a in data})
        # what the coalition can do at all: the campaigns its groups run (the
        # ones local government pays for included), as a log ratio with / without
        runs = {a: np.log1p(column(f, "counts.campaign", 0.0)) for a, f in data.items()}
        activity = with_minus_without(runs)
        effects.append(
            self._effect(
                scenario,
                ACTIVITY,
                "log campaigns run, with / without",
                f"effect at {poor} - effect at {rich}",
                activity[poor] - activity[rich],
                +1,
                True,
            )
        )
        for level, diffs in activity.items():
            effects.append(
                self._effect(
                    scenario,
                    ACTIVITY,
                    f"log campaigns run, resources {level}",
                    "with - without",
                    diffs,
                    +1,
                    False,
                )
            )
        arms += self._arm_rows(
            scenario,
            ACTIVITY,
            "campaigns run",
            {a: mean_row(column(f, "counts.campaign", 0.0)) for a, f in data.items()},
        )
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = figure_grid(len(scenarios), 2, width=3.4, height=2.6)
        for ax, scenario, milestone, meaning in outcome_axes(fig, scenarios):
            rows = [
                next(
                    r
                    for r in result.effects
                    if r["scenario"] == scenario
                    and r["outcome"] == milestone
                    and r["measure"] == f"share reached, resources x{level:g}"
                )
                for level in self.resources
            ]
            v, err = estimates_and_errors(rows)
            x = np.arange(len(self.resources))
            ax.errorbar(x, v, yerr=np.nan_to_num(err), marker="o", capsize=3)
            ax.axhline(0.0, color="black", linewidth=0.6)
            ax.set_xticks(x, [f"x{level:g}" for level in self.resources], fontsize=7)
            ax.set_xlabel("groups' resources", fontsize=7)
            ax.set_ylim(-1.03, 1.03)
            ax.set_title(f"{scenario}\n{meaning}", fontsize=8)
            ax.set_ylabel("local-government effect\n(share, role 1 - role 0)", fontsize=7)
            ax.tick_params(labelsize=7)
        fig.suptitle("H5: the local-government effect across coalition resources (95% intervals)", fontsize=9)
        return fig
