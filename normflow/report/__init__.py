"""Pictures of runs and experiments: one self-contained HTML page, or a PNG.

``normflow report DIR`` reads either

- a **run directory**, as ``normflow run SCENARIO --out DIR`` writes it:
  ``summary.json`` (the run's summary, as ``--json`` prints it) and
  ``trace.jsonl`` (every event); or
- an **experiment directory** (``manifest.json`` and the results table of
  ``normflow.store``),

and writes one HTML file whose figures are inline SVG drawn by matplotlib:
no script, style sheet, font or image is fetched from anywhere, so the page
can be mailed or archived as it is. A series the data does not hold (a trace
without pressure events, an experiment without a swept parameter) is named
on the page instead of failing the report.

Every section of the page is a ``<section class="report-section">`` with a
stable id. A few lines of inline script mark each section
``data-rendered="true"`` once its figure or table has a size on screen, and
count script errors in ``data-errors`` on ``<body>``: the test suite reads
them from a headless browser, and a reader never needs the script.

``normflow run ... --plot FILE.png`` draws the run's timeline and public
support from the same series, collected in memory while the run goes.

The package: ``series`` (what a run's figures draw), ``drawing`` (what
every figure shares), ``run_figures`` and ``experiment_figures``, ``page``
(sections and the page), ``run_page`` and ``experiment_page`` (the two
reports) and ``build`` (which report a directory gets).
"""

from normflow.errors import ReportError as ReportError
from normflow.report.build import build_report as build_report
from normflow.report.drawing import MAX_POINTS as MAX_POINTS
from normflow.report.drawing import MAX_SERIES as MAX_SERIES
from normflow.report.drawing import figure_svg as figure_svg
from normflow.report.experiment_figures import km_figure as km_figure
from normflow.report.experiment_figures import sweep_figure as sweep_figure
from normflow.report.experiment_page import EXPERIMENT_MANIFEST as EXPERIMENT_MANIFEST
from normflow.report.experiment_page import EXPERIMENT_SECTIONS as EXPERIMENT_SECTIONS
from normflow.report.experiment_page import experiment_report as experiment_report
from normflow.report.experiment_page import experiment_sections as experiment_sections
from normflow.report.experiment_page import load_experiment as load_experiment
from normflow.report.experiment_page import milestone_columns as milestone_columns
from normflow.report.page import Section as Section
from normflow.report.page import figure_html as figure_html
from normflow.report.page import iter_sections as iter_sections
from normflow.report.page import note as note
from normflow.report.page import page as page
from normflow.report.page import table_html as table_html
from normflow.report.run_figures import plot_run as plot_run
from normflow.report.run_figures import pressure_figure as pressure_figure
from normflow.report.run_figures import resolutions_figure as resolutions_figure
from normflow.report.run_figures import support_figure as support_figure
from normflow.report.run_figures import timeline_figure as timeline_figure
from normflow.report.run_page import RUN_SECTIONS as RUN_SECTIONS
from normflow.report.run_page import load_run as load_run
from normflow.report.run_page import run_report as run_report
from normflow.report.run_page import run_sections as run_sections
from normflow.report.run_page import write_run_outputs as write_run_outputs
from normflow.report.series import RUN_KINDS as RUN_KINDS
from normflow.report.series import SUMMARY as SUMMARY
from normflow.report.series import TRACE as TRACE
from normflow.report.series import RunSeries as RunSeries
from normflow.report.series import read_trace_series as read_trace_series
