"""PRIM, the patient rule induction method (Friedman & Fisher 1999), by
peeling only: the box in parameter space where a hypothesis fails.

Given the parameter draws ``x`` (one row per draw, one column per
parameter) and ``y`` (1 where the hypothesis failed in that draw, else 0),
peeling starts from the box holding every draw and repeatedly cuts off the
slice -- ``alpha`` of the remaining draws, from the low or the high end of
one parameter -- whose removal leaves the highest share of failures
inside. It stops when a further cut would leave fewer than ``min_mass`` of
the draws. The box returned is the one on that trajectory with the
highest share of failures (the densest), the larger one on ties; each
bound it moved is a condition in words ("request_threshold above 12.3").

This is the peeling half of the method only (no pasting, no covering of a
second box, no bootstrap of the trajectory): with a few dozen draws there
is not enough data for more, and the result is read as a description of
where the failures lie, not as a test. ema-workbench ships a full PRIM;
the few lines here avoid adding that package and its dependencies for
one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np


@attrs.frozen
class Box:
    """A box: per parameter, the low and high bound (None: not restricted)."""

    names: tuple[str, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]
    mass: float  # share of all draws inside
    density: float  # share of the draws inside where the hypothesis fails
    coverage: float  # share of all failing draws that lie inside

    def restricted(self) -> list[tuple[str, float | None, float | None]]:
        return [
            (n, lo, hi)
            for n, lo, hi in zip(self.names, self.low, self.high, strict=True)
            if lo is not None or hi is not None
        ]

    def describe(self) -> str:
        parts = []
        for name, lo, hi in zip(self.names, self.low, self.high, strict=True):
            if lo is not None and hi is not None:
                parts.append(f"{name} {_num(lo)}-{_num(hi)}")
            elif lo is not None:
                parts.append(f"{name} above {_num(lo)}")
            elif hi is not None:
                parts.append(f"{name} below {_num(hi)}")
        return " and ".join(parts)


def _num(x: float) -> str:
    return f"{x:.3g}"


def peel(
    x: np.ndarray,
    y: np.ndarray,
    names: Sequence[str],
    *,
    alpha: float = 0.1,
    min_mass: float = 0.1,
) -> Box | None:
    """The densest box on the peeling trajectory (None without draws or
    without failures). ``x``: draws x parameters; ``y``: 1 = failed."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n, k = x.shape if x.ndim == 2 else (len(x), 0)
    if n == 0 or k == 0 or y.sum() == 0:
        return None
    inside = np.ones(n, dtype=bool)
    low: list[float | None] = [None] * k
    high: list[float | None] = [None] * k
    min_count = max(1, int(np.ceil(min_mass * n)))
    best = _box(names, low, high, inside, y)
    while True:
        count = int(inside.sum())
        candidates = []
        for j in range(k):
            values = x[inside, j]
            cut = max(1, int(np.floor(alpha * count)))
            order = np.sort(values)
            if len(order) <= cut:
                continue
            # peel the low end: keep values above the cut-th smallest
            lo_edge = order[cut - 1]
            keep = inside & (x[:, j] > lo_edge)
            if min_count <= keep.sum() < count:
                candidates.append((y[keep].mean(), keep.sum(), j, "low", lo_edge, keep))
            hi_edge = order[-cut]
            keep = inside & (x[:, j] < hi_edge)
            if min_count <= keep.sum() < count:
                candidates.append((y[keep].mean(), keep.sum(), j, "high", hi_edge, keep))
        if not candidates:
            break
        # the highest density; on ties the larger box, then the first parameter
        density, _, j, side, edge, keep = max(candidates, key=lambda c: (c[0], c[1], -c[2]))
        if side == "low":
            low[j] = float(edge)
        else:
            high[j] = float(edge)
        inside = keep
        box = _box(names, low, high, inside, y)
        if box.density > best.density:
            best = box
    return best


def _box(
    names: Sequence[str], low: list[float | None], high: list[float | None], inside: np.ndarray, y: np.ndarray
) -> Box:
    return Box(
        names=tuple(names),
        low=tuple(low),
        high=tuple(high),
        mass=float(inside.mean()),
        density=float(y[inside].mean()),
        coverage=float(y[inside].sum() / y.sum()),
    )


def failure_region(x: np.ndarray, y: np.ndarray, names: Sequence[str], **kw: Any) -> str:
    """Where the hypothesis fails, in words: the PRIM box with how many of
    the failing draws it holds and how many of the draws in it fail."""
    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        return "no draws"
    if y.sum() == 0:
        return "nowhere: it holds in every draw"
    if y.sum() == len(y):
        return "everywhere: it fails in every draw"
    box = peel(x, y, names, **kw)
    if box is None or not box.describe():
        return f"no region stands out (fails in {y.mean():.0%} of draws, spread over the space)"
    return (
        f"{box.describe()} (fails in {box.density:.0%} of the draws there, "
        f"which hold {box.coverage:.0%} of all failures; {box.mass:.0%} of the space)"
    )
