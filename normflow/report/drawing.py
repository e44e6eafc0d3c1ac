"""What every figure shares: matplotlib figures without pyplot's global
state, inline SVG with stable ids, thinned series, date axes, and the cap
on the number of lines one plot shows.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


#: More lines than this in one plot become unreadable; the rest are named.
MAX_SERIES = 10


#: Points per drawn series; longer series are thinned evenly (ends kept).
MAX_POINTS = 2500


def new_figure(width: float, height: float, margins: dict[str, float] | None = None) -> Figure:
    """A figure without pyplot (no global state, no GUI backend). With
    ``margins`` the layout is fixed, which draws about three times faster
    than matplotlib's constrained layout: used where a page has many small
    figures of known shape."""
    from matplotlib.figure import Figure

    if margins is not None:
        fig = Figure(figsize=(width, height))
        fig.subplots_adjust(**margins)
        return fig
    return Figure(figsize=(width, height), layout="constrained")


def literal_text(fig: Figure) -> Figure:
    """Turn off matplotlib's math parsing in every text of ``fig``: names
    come from scenarios and a ``$`` in one (``visit $\\frac$``) would
    otherwise be read as TeX, and fail. Called before a figure is saved."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def figure_svg(fig: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element to inline (deterministic ids, so
    two figures on one page never share a clip-path id)."""
    import matplotlib

    literal_text(fig)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"normflow-{salt}", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / (MAX_POINTS - 1)
    return [points[int(i * step)] for i in range(MAX_POINTS - 1)] + [points[-1]]


def date_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def top_series(keyed: dict[Any, list[Any]], first: Iterable[Any] = ()) -> tuple[list[Any], list[Any]]:
    """The series to draw (``first`` ones, then the longest) and those left out."""
    first = [k for k in first if k in keyed]
    rest = sorted((k for k in keyed if k not in first), key=lambda k: (-len(keyed[k]), str(k)))
    keys = (first + rest)[:MAX_SERIES]
    return keys, [k for k in keyed if k not in keys]
