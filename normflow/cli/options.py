"""Options several commands share, each checked here, in the interface
layer, so that no value of any option reaches a study unchecked: a bad one
is one line and exit 2, never a traceback.

- ``SEED``: a non-negative integer (what ``numpy.random.SeedSequence`` takes);
- ``FiniteFloat(low, high)``: a number in a range, never NaN or infinite;
- ``--until``: a date after the scenario's start and not after its end
  (``check_until``);
- ``--force``: replace existing outputs (``normflow.outputs``);
- ``--intervene NAME[=VALUE]``: counterfactual switches
  (``normflow.interventions``; ``normflow interventions`` lists them).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import click

from normflow.interventions import Interventions, parse_interventions

#: A seed: any non-negative integer.
SEED = click.IntRange(min=0)


class FiniteFloat(click.ParamType):
    """A finite number in ``[low, high]`` (NaN and infinities refused)."""

    name = "number"

    def __init__(self, low: float | None = None, high: float | None = None):
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            self.fail(f"{value!r} is not in [{lo}, {hi}]", param, ctx)
        return number


DATE = click.DateTime(formats=["%Y-%m-%d"])


def check_until(
    scenario: Any, until: dt.datetime | dt.date | None, option: str = "--until"
) -> dt.date | None:
    """``until`` as a date inside the scenario's span, or a one-line refusal."""
    if until is None:
        return None
    day = until.date() if isinstance(until, dt.datetime) else until
    start, end = scenario.scenario.start, scenario.scenario.end
    if day <= start:
        raise click.BadParameter(
            f"{day.isoformat()} is not after the scenario's start ({start.isoformat()})", param_hint=option
        )
    if day > end:
        raise click.BadParameter(
            f"{day.isoformat()} is after the scenario's end ({end.isoformat()}); to run longer, "
            f"move the end: --set scenario.end={day.isoformat()}",
            param_hint=option,
        )
    return day


def force_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--force",
        is_flag=True,
        help="Replace existing outputs (a file, or the outputs of an earlier run in the directory).",
    )(f)


def intervene_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--intervene",
        "intervene",
        multiple=True,
        metavar="NAME[=VALUE]",
        help="A counterfactual switch, e.g. no_local_resolutions or resource_scale=0.5 "
        "(repeatable; normflow interventions lists them).",
    )(f)


def interventions_of(items: tuple[str, ...]) -> Interventions:
    """The interventions named on the command line (``InterventionError`` on a bad one)."""
    return parse_interventions(list(items))
