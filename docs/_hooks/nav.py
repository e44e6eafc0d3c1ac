"""MkDocs hook: keep the site's navigation equal to the pages that exist.

``mkdocs.yml`` lists the intended navigation, including pages that are
written separately. When the site is built:

- an entry whose page does not exist yet is left out (strict mode would
  otherwise fail on it), and logged;
- an entry ending in ``/`` (``cases/``) becomes that directory's pages,
  ``index.md`` first, then by file name;
- a page that exists but is listed nowhere is added under "More", so that
  every page is reachable from the navigation.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.nav")

Nav = list[Any]


def _pages(docs: Path, config: Any) -> list[str]:
    spec = config.get("exclude_docs")
    out = []
    for path in sorted(docs.rglob("*.md")):
        rel = path.relative_to(docs).as_posix()
        if spec is not None and spec.match_file(rel):
            continue
        out.append(rel)
    return out


def _directory(rel: str, pages: list[str]) -> list[str]:
    inside = [p for p in pages if p.startswith(rel) and "/" not in p[len(rel) :]]
    index = [p for p in inside if p.endswith("/index.md") or p.endswith("/README.md")]
    return index + [p for p in inside if p not in index]


def _resolve(items: Nav, pages: list[str], listed: set[str]) -> Nav:
    out: Nav = []
    for item in items:
        if isinstance(item, dict):
            ((title, value),) = item.items()
        else:
            title, value = None, item
        if isinstance(value, list):
            children = _resolve(value, pages, listed)
            if children:
                out.append({title: children} if title else children)
            continue
        if isinstance(value, str) and value.endswith("/"):
            children = _directory(value, pages)
            listed.update(children)
            if children:
                out.append({title: children} if title else children)
            else:
                log.info("nav: no pages in %s yet; left out", value)
            continue
        if isinstance(value, str) and "://" not in value and value not in pages:
            log.info("nav: %s does not exist yet; left out", value)
            continue
        listed.add(value)
        out.append(item)
    return out


def on_config(config: Any) -> Any:
    nav = config.get("nav")
    if not nav:
        return config
    pages = _pages(Path(config["docs_dir"]), config)
    listed: set[str] = set()
    resolved = _resolve(nav, pages, listed)
    unlisted = [p for p in pages if p not in listed]
    if unlisted:
        log.info("nav: pages not listed in mkdocs.yml, added under More: %s", ", ".join(unlisted))
        resolved.append({"More": unlisted})
    config["nav"] = resolved
    return config
