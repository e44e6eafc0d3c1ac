"""The experiment report: the sections of an experiment directory's page."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from normflow.errors import ReportError
from normflow.report.experiment_figures import km_figure, sweep_figure
from normflow.report.page import Section, figure_html, note, page, table_html
from normflow.report.plugin_sections import plugin_sections

if TYPE_CHECKING:
    import pandas as pd


EXPERIMENT_MANIFEST = "manifest.json"


EXPERIMENT_SECTIONS = ("experiment", "kaplan-meier", "sweeps")


def load_experiment(directory: Path) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    """An experiment's manifest, swept parameters and results table."""
    from normflow.experiment import open_experiment
    from normflow.store import StoreError

    try:
        experiment = open_experiment(directory)
        return experiment.manifest, experiment.parameters, experiment.results()
    except StoreError as exc:
        raise ReportError(str(exc)) from None
    except (KeyError, ValueError) as exc:
        raise ReportError(f"{directory}: unreadable experiment ({type(exc).__name__}: {exc})") from None


def milestone_columns(table: pd.DataFrame) -> list[str]:
    return [c.removesuffix("_censored") for c in table.columns if c.endswith("_censored")]


def experiment_sections(
    manifest: dict[str, Any], parameters: list[str], table: pd.DataFrame
) -> list[Section]:
    params = [p for p in parameters if p in table.columns]
    start = str(manifest.get("scenario", {}).get("start", ""))
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    statuses = Counter(table["status"]) if "status" in table.columns else Counter({"ok": len(table)})
    rows = [
        ("scenario", _scenario_name(manifest)),
        ("cells", table["cell"].nunique() if len(table) else 0),
        ("replications stored", len(table)),
        ("status", ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) or "none"),
        ("swept parameters", ", ".join(params) or "none"),
    ]
    body = table_html(["", ""], rows)
    if params and len(ok):
        cells = ok.groupby("cell", sort=True).first()[params].reset_index()
        body += "<p>Cells:</p>" + table_html(["cell", *params], cells.itertuples(index=False))
    if statuses.get("ok", 0) < len(table):
        body += note(
            f"{len(table) - statuses.get('ok', 0)} replications failed and are left out of the figures."
        )
    sections = [Section("experiment", "Experiment", body)]

    milestones = milestone_columns(ok)
    if not len(ok):
        km_body = note("No replication finished: no curve to draw.")
    elif not milestones:
        km_body = note("The results table holds no milestone columns (<name>_days, <name>_censored).")
    else:
        parts = []
        for m in milestones:
            fig, left_out = km_figure(ok, m, params, start)
            parts.append(figure_html(fig, f"km-{m}"))
            if left_out:
                parts.append(note(f"{len(left_out)} more cells not drawn for {m}."))
        km_body = '<div class="grid">' + "".join(parts) + "</div>"
    sections.append(Section("kaplan-meier", "Time to each milestone (Kaplan–Meier)", km_body))

    if not params:
        sweep_body = note("This experiment sweeps no parameter: every replication ran the same scenario.")
    elif not len(ok) or not milestones:
        sweep_body = note("No finished replication with milestones: nothing to plot against the parameters.")
    else:
        sweep_body = "".join(
            figure_html(
                sweep_figure(ok, p, milestones), f"sweep-{p}", f"Share reaching each milestone against {p}."
            )
            for p in params
        )
    sections.append(Section("sweeps", "Sweeps", sweep_body))
    return sections


def _scenario_name(manifest: dict[str, Any]) -> str:
    scen = manifest.get("scenario")
    if isinstance(scen, dict):
        return str(scen.get("name", "?"))
    return str(scen or manifest.get("scenario_name", "?"))


def experiment_report(directory: Path) -> str:
    manifest, parameters, table = load_experiment(directory)
    sections = experiment_sections(manifest, parameters, table)
    sections += plugin_sections(
        "experiment", directory, results=table, plugin_names=(manifest.get("plugins") or {}) or None
    )
    title = f"normflow experiment: {_scenario_name(manifest)}"
    return page(title, str(directory), "experiment", sections)
