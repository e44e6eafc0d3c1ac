"""H4, layered opportunity structures: local government lets domestic and
international opportunity structures interact, so the multi-layered
structure is stronger than either alone.

Arms: a surface of the two structures, each continuous, crossed with the
local-government role. The domestic structure is the penetrability of the
states the campaigns target (the intervention ``penetrability``, levels
``penetrability``); the international one scales every pressure from
abroad -- state visits, interstate requests, the boomerang, local diplomacy
(the intervention ``foreign_scale``, levels ``foreign``). Every cell of the
grid runs with the local-government role at 1 and at 0.

Outcome, per replication and role: the *interaction* of the two structures
on reaching each milestone, the least-squares coefficient of
``penetrability x foreign`` in ``y ~ 1 + p + f + p*f`` over the grid (on a
full factorial with centred levels the four columns are orthogonal, so the
coefficient is ``sum(y * pc * fc) / sum((pc * fc)**2)``). The prediction:
with local government the interaction is larger than without (the
structures reinforce each other through it); paired per replication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from normflow.hypotheses.arms import Arm
from normflow.hypotheses.cases import CASES
from normflow.hypotheses.design import Analysis, Design, HypothesisResult, figure_grid, outcome_axes
from normflow.hypotheses.effects import reached, share_row
from normflow.interventions import Interventions

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

#: Penetrability of the targeted states: closed, middling, open.
PENETRABILITY = (0.1, 0.35, 0.6)
#: Pressure from abroad: none, as written, doubled.
FOREIGN = (0.0, 1.0, 2.0)
ROLES = {"with": 1.0, "without": 0.0}


def label(role: str, p: float, f: float) -> str:
    return f"{role}, penetrability {p:g}, foreign x{f:g}"


def surface_arms(penetrability: tuple[float, ...], foreign: tuple[float, ...]) -> dict[str, Arm]:
    return {
        label(role, p, f): Arm(level, Interventions(penetrability=p, foreign_scale=f))
        for role, level in ROLES.items()
        for p in penetrability
        for f in foreign
    }


def interaction(y: np.ndarray, penetrability: np.ndarray, foreign: np.ndarray) -> np.ndarray:
    """Per replication, the coefficient of ``p*f`` in ``y ~ 1 + p + f + p*f``
    fitted over the grid; ``y`` is replications x len(p) x len(f)."""
    pc = penetrability - penetrability.mean()
    fc = foreign - foreign.mean()
    x = np.outer(pc, fc)
    coef = np.einsum("kij,ij->k", y, x) / float(np.sum(x**2))
    # rounded: a surface with no interaction gives 0, not a rounding error's sign
    return np.round(coef, 12) + 0.0


@attrs.frozen
class H4(Design):
    key: ClassVar[str] = "H4"
    claim: ClassVar[str] = (
        "Local government lets domestic and international opportunity structures interact: the "
        "multi-layered structure is stronger than either."
    )
    prediction: ClassVar[str] = (
        "Over a surface of the targeted states' penetrability x the scale of pressure from abroad, the "
        "interaction of the two (the coefficient of p*f in y ~ p + f + p*f, per replication) on the "
        "probability of the outcome is larger with local government (role 1) than without (role 0): "
        "difference > 0."
    )
    penetrability: tuple[float, ...] = PENETRABILITY
    foreign: tuple[float, ...] = FOREIGN
    arms: dict[str, Arm] = attrs.field(
        default=attrs.Factory(lambda self: surface_arms(self.penetrability, self.foreign), takes_self=True)
    )

    def grid(self, values: dict[str, np.ndarray], role: str) -> np.ndarray:
        """replications x penetrability x foreign, from per-arm arrays."""
        return np.stack(
            [np.stack([values[label(role, p, f)] for f in self.foreign], axis=1) for p in self.penetrability],
            axis=1,
        )

    def analyze(self, scenario: str, data: dict[str, pd.DataFrame], horizon: np.ndarray) -> Analysis:
        effects, arms = [], []
        p, f = np.asarray(self.penetrability, dtype=float), np.asarray(self.foreign, dtype=float)
        for _, milestone, _ in CASES[scenario].outcomes():
            y = {a: reached(frame, milestone) for a, frame in data.items()}
            coef = {role: interaction(self.grid(y, role), p, f) for role in ROLES}
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "interaction p x f of the share reached",
                    "with - without local government",
                    coef["with"] - coef["without"],
                    +1,
                    True,
                )
            )
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "interaction p x f, with local government",
                    "with",
                    coef["with"],
                    +1,
                    False,
                )
            )
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "interaction p x f, without local government",
                    "without",
                    coef["without"],
                    +1,
                    False,
                )
            )
            mean_effect = (self.grid(y, "with") - self.grid(y, "without")).mean(axis=(1, 2))
            effects.append(
                self._effect(
                    scenario,
                    milestone,
                    "share reached, mean over the surface",
                    "with - without local government",
                    mean_effect,
                    +1,
                    False,
                )
            )
            arms += self._arm_rows(scenario, milestone, "share reached", {a: share_row(y[a]) for a in data})
        return Analysis(effects, arms)

    def plot(self, result: HypothesisResult) -> Figure:
        scenarios = list(result.data)
        fig = figure_grid(len(scenarios), 2, width=3.4, height=2.8)
        for ax, scenario, milestone, meaning in outcome_axes(fig, scenarios):

            def share(arm: str, scenario: str = scenario, milestone: str = milestone) -> float:
                row: dict[str, Any] = next(
                    r
                    for r in result.arms
                    if r["scenario"] == scenario and r["arm"] == arm and r["outcome"] == milestone
                )
                return float(row["estimate"]) if row["estimate"] is not None else np.nan

            effect = np.array(
                [
                    [share(label("with", p, f)) - share(label("without", p, f)) for f in self.foreign]
                    for p in self.penetrability
                ]
            )
            image = ax.imshow(effect, origin="lower", vmin=-1, vmax=1, cmap="RdBu", aspect="auto")
            for i in range(len(self.penetrability)):
                for j in range(len(self.foreign)):
                    ax.text(j, i, f"{effect[i, j]:+.2f}", ha="center", va="center", fontsize=7)
            ax.set_xticks(range(len(self.foreign)), [f"x{v:g}" for v in self.foreign], fontsize=7)
            ax.set_yticks(range(len(self.penetrability)), [f"{v:g}" for v in self.penetrability], fontsize=7)
            ax.set_xlabel("pressure from abroad", fontsize=7)
            ax.set_ylabel("penetrability", fontsize=7)
            ax.set_title(f"{scenario}\n{meaning}", fontsize=8)
        fig.colorbar(image, ax=fig.axes, shrink=0.6, label="local-government effect on the share")
        fig.suptitle("H4: the local-government effect over the two opportunity structures", fontsize=9)
        return fig
