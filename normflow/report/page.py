"""Page assembly: sections, small HTML helpers, and the self-contained page
(inline style, and a few lines of script that mark rendered sections for
the tests).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import attrs

from normflow.report.drawing import figure_svg

if TYPE_CHECKING:
    from matplotlib.figure import Figure


STYLE = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:60rem;
padding:1rem 1.5rem 4rem;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
nav a{margin-right:1rem}table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}th{background:#f6f6f6}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#6b5b00;background:#fff8d6;border-left:4px solid #e0c200;padding:.4rem .7rem}
figure{margin:.8rem 0}figure svg{max-width:100%;height:auto}.meta{color:#555}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(27rem,1fr));gap:0 1rem}
.grid figure{margin:.3rem 0}
"""


# Runs first, before any figure: records script errors so that a test (or
# a curious reader with the inspector) can see them on <body>.
HEAD_SCRIPT = """
window.normflowErrors=[];
window.addEventListener("error",function(e){window.normflowErrors.push(String(e.message));});
"""


# Runs last: a section has rendered when its figure or table takes space.
TAIL_SCRIPT = """
(function(){
  var sections=document.querySelectorAll("section.report-section");
  for(var i=0;i<sections.length;i++){
    var s=sections[i],shown=false,parts=s.querySelectorAll("svg, table, p.note");
    for(var j=0;j<parts.length;j++){
      var box=parts[j].getBoundingClientRect();
      if(box.width>0&&box.height>0){shown=true;}
    }
    s.setAttribute("data-rendered",shown?"true":"false");
  }
  document.body.setAttribute("data-errors",String(window.normflowErrors.length));
  if(window.normflowErrors.length){document.body.setAttribute("data-error-list",window.normflowErrors.join(" | "));}
})();
"""


@attrs.frozen
class Section:
    id: str
    title: str
    body: str


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def figure_html(fig: Figure, salt: str, caption: str = "") -> str:
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return f"<figure>{figure_svg(fig, salt)}{cap}</figure>"


def table_html(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            text = _number(value) if isinstance(value, float) else value
            cells.append(f'<td class="num">{_esc(text)}</td>' if numeric else f"<td>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def page(title: str, subtitle: str, kind: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{s.id}">{_esc(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section class="report-section" id="{s.id}"><h2>{_esc(s.title)}</h2>{s.body}</section>'
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{STYLE}</style><script>{HEAD_SCRIPT}</script></head>"
        f'<body data-report="{kind}"><header><h1>{_esc(title)}</h1><p class="meta">{_esc(subtitle)}</p>'
        f"<nav>{nav}</nav></header>{body}<script>{TAIL_SCRIPT}</script></body></html>\n"
    )


def iter_sections(html_text: str) -> Iterator[str]:
    """Ids of the report sections in a page (for tests and tools)."""
    import re

    yield from re.findall(r'<section class="report-section" id="([^"]+)"', html_text)
