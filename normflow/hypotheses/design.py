"""A hypothesis as a designed comparison: the base class of the designs, what
one produces (effect rows, per-arm rows, the paired runs, as tables) and the
drawing helpers the designs share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import attrs
import numpy as np

from normflow.hypotheses.arms import Arm
from normflow.hypotheses.cases import ALL_SCENARIOS, CASES, meaning_of
from normflow.hypotheses.effects import paired_effect

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


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

    def _arm_rows(
        self, scenario: str, outcome: str, measure: str, stats: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """One row per arm (in the order of ``stats``) of one measure."""
        return [self._arm_row(scenario, arm, outcome, measure, s) for arm, s in stats.items()]

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


def number(value: Any, default: float = np.nan) -> float:
    if value is None:
        return default
    value = float(value)
    return value if np.isfinite(value) else default


def estimates_and_errors(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The estimates of effect or arm rows and their error bars (the distances
    to the ends of the 95% interval, as matplotlib's ``yerr``); a missing end
    counts as the estimate itself."""
    v = np.array([number(r["estimate"]) for r in rows])
    lo = np.array([number(r["low"], number(r["estimate"])) for r in rows])
    hi = np.array([number(r["high"], number(r["estimate"])) for r in rows])
    return v, np.abs(np.vstack([v - lo, hi - v]))


def outcome_axes(fig: Figure, scenarios: Sequence[str]) -> Iterator[tuple[Any, str, str, str]]:
    """(axes, scenario, milestone, meaning) over a grid of one row per scenario
    and one column per outcome: the agenda step, then the policy."""
    for i, scenario in enumerate(scenarios):
        for j, (_, milestone, meaning) in enumerate(CASES[scenario].outcomes()):
            yield fig.axes[i * 2 + j], scenario, milestone, meaning


def figure_grid(rows: int, cols: int, width: float, height: float) -> Figure:
    # a Figure without pyplot and an explicit Agg canvas: no global backend state
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height * rows + 0.4), layout="constrained")
    FigureCanvasAgg(fig)
    fig.subplots(rows, cols, squeeze=False)
    return fig


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
