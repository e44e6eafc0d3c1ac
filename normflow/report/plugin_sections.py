"""Sections that plugins add to a report (the hook ``normflow_report_sections``).

Each plugin's implementation is called once per report with a
``PluginReport``: what the report is about (a run's summary and trace, or an
experiment's results) and ``add_section`` to add a paragraph, a figure and a
table. A plugin that raises gets a section saying so; the page is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from normflow.report.page import Section, figure_html, note, table_html
from normflow.report.series import TRACE


class PluginReport:
    """What a plugin's ``normflow_report_sections`` receives."""

    def __init__(
        self,
        kind: str,
        directory: Path,
        summary: dict[str, Any] | None = None,
        results: Any = None,
    ):
        #: "run" or "experiment"
        self.kind = kind
        self.directory = Path(directory)
        #: a run's summary (``normflow run --json``); None for an experiment
        self.summary = summary
        #: an experiment's results (a DataFrame, one row per run); None for a run
        self.results = results
        self.sections: list[Section] = []
        self._trace: list[dict[str, Any]] | None = None
        self._plugin = "plugin"

    def trace(self) -> list[dict[str, Any]]:
        """A run's trace lines (``normflow.read_trace``), read on first use;
        empty for an experiment or a run directory without a trace."""
        if self._trace is None:
            from normflow.trace import read_trace

            path = self.directory / TRACE
            self._trace = read_trace(path) if self.kind == "run" and path.exists() else []
        return self._trace

    def add_section(
        self,
        title: str,
        *,
        text: str | None = None,
        figure: Any = None,
        table: Any = None,
    ) -> None:
        """Add a section after the core's: ``text`` (a paragraph),
        ``figure`` (a matplotlib figure, closed once drawn) and ``table`` (a
        pandas DataFrame, or a ``(header, rows)`` pair), in that order."""
        n = len(self.sections) + 1
        parts = []
        if text:
            parts.append(f"<p>{_escape(text)}</p>")
        if figure is not None:
            import matplotlib.pyplot as plt

            parts.append(figure_html(figure, f"{self._plugin}-{n}", ""))
            plt.close(figure)
        if table is not None:
            header, rows = _table(table)
            parts.append(table_html(header, rows))
        if not parts:
            parts.append(note("(this section is empty)"))
        self.sections.append(Section(f"plugin-{self._plugin}-{n}", str(title), "".join(parts)))


def _escape(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


def _table(table: Any) -> tuple[list[str], Iterable[Iterable[Any]]]:
    if hasattr(table, "columns") and hasattr(table, "itertuples"):
        return [str(c) for c in table.columns], [list(row) for row in table.itertuples(index=False)]
    header, rows = table
    return [str(h) for h in header], rows


def plugin_sections(
    kind: str,
    directory: Path,
    *,
    summary: dict[str, Any] | None = None,
    results: Any = None,
    plugin_names: Iterable[str] | None = None,
) -> list[Section]:
    """The sections the loaded plugins (those in ``plugin_names``, when
    given) add to a report."""
    from normflow.plugins import PluginError, get_plugin_manager

    try:
        pm = get_plugin_manager()
    except PluginError as exc:
        return [Section("plugins", "Plugins", note(f"plugins could not be loaded: {exc}"))]
    wanted = None if plugin_names is None else set(plugin_names)
    report = PluginReport(kind, directory, summary=summary, results=results)
    for impl in reversed(pm.hook.normflow_report_sections.get_hookimpls()):
        if wanted is not None and impl.plugin_name not in wanted:
            continue
        report._plugin = impl.plugin_name
        before = len(report.sections)
        try:
            impl.function(**{name: report for name in impl.argnames})
        except Exception as exc:  # a plugin's section must not cost the page
            del report.sections[before:]
            report.sections.append(
                Section(
                    f"plugin-{impl.plugin_name}-error",
                    f"Plugin {impl.plugin_name}",
                    note(
                        f"plugin '{impl.plugin_name}' could not add its section: {type(exc).__name__}: {exc}"
                    ),
                )
            )
    return report.sections
