"""Reports: ``run --out``/``--plot``, ``normflow report`` for a run and an
experiment, and the page opened in a real (headless) browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from normflow.cli import cli
from normflow.report import EXPERIMENT_SECTIONS, RUN_SECTIONS, build_report, iter_sections
from normflow.report.compare_page import COMPARE_SECTIONS

NO_PLUGINS = {"NORMFLOW_LOAD_PLUGINS": ""}  # the core alone: fewer milestones, faster figures
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def invoke(*args: str):
    return CliRunner(env=NO_PLUGINS).invoke(cli, list(args))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "minimal-1"
    result = invoke("run", "minimal", "--seed", "1", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory) -> Path:
    from normflow.experiment import run_experiment

    out = tmp_path_factory.mktemp("experiment") / "lg-role"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NORMFLOW_LOAD_PLUGINS", "")
        run_experiment("minimal", out, replications=2, sweep={"local_government_role": [0, 1]}, workers=1)
    return out


@pytest.fixture(scope="module")
def run_page(run_dir) -> Path:
    assert invoke("report", str(run_dir), "-o", str(run_dir / "report.html")).exit_code == 0
    return run_dir / "report.html"


@pytest.fixture(scope="module")
def compare_page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("compare") / "cmp"
    result = invoke("compare", "minimal", "--intervene", "no_local_resolutions", "-n", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out / "report.html"


@pytest.fixture(scope="module")
def experiment_page(experiment_dir) -> Path:
    result = invoke("report", str(experiment_dir))
    assert result.exit_code == 0, result.output
    return experiment_dir / "report.html"


# -- the run directory ---------------------------------------------------------------


def test_run_out_writes_the_summary_and_the_trace(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["scenario"] == "minimal" and summary["seed"] == 1
    lines = (run_dir / "trace.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "trace_start"
    assert json.loads(lines[-1]) == {"kind": "trace_end", "complete": True, "t": json.loads(lines[-1])["t"]}


def test_run_out_and_trace_together_are_refused(tmp_path):
    result = invoke("run", "minimal", "--out", str(tmp_path / "d"), "--trace", str(tmp_path / "t.jsonl"))
    assert result.exit_code == 2
    assert "--out" in result.stderr and "--trace" in result.stderr


def test_plot_writes_a_png_and_leaves_the_run_unchanged(tmp_path):
    plain = invoke("run", "minimal", "--seed", "3", "--until", "1993-01-01", "--json")
    plotted = invoke(
        "run", "minimal", "--seed", "3", "--until", "1993-01-01", "--json", "--plot", str(tmp_path / "q.png")
    )
    assert plotted.exit_code == 0, plotted.output
    assert json.loads(plotted.stdout) == json.loads(plain.stdout)
    assert (tmp_path / "q.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_into_a_missing_directory_is_refused_before_the_run(tmp_path):
    result = invoke("run", "minimal", "--plot", str(tmp_path / "nowhere" / "q.png"))
    assert result.exit_code == 2
    assert "--plot" in result.stderr and "does not exist" in result.stderr


# -- the run report ------------------------------------------------------------------


def assert_self_contained(text: str) -> None:
    assert not re.search(r"<(link|img|iframe|object)\b", text)
    assert not re.search(r"""\bsrc\s*=""", text)
    assert not re.search(r"""(?:href|xlink:href)\s*=\s*["'](?!#)""", text), "only in-page links"
    assert "url(http" not in text and "@import" not in text


def test_the_run_report_has_every_section_and_fetches_nothing(run_page):
    text = run_page.read_text()
    assert list(iter_sections(text)) == list(RUN_SECTIONS)
    assert text.count("<svg") >= 4
    assert_self_contained(text)
    assert "agenda_placed" in text


def test_a_series_the_trace_lacks_is_named_on_the_page(run_dir, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(run_dir / "summary.json", bare / "summary.json")
    lines = (run_dir / "trace.jsonl").read_text().splitlines()
    (bare / "trace.jsonl").write_text(lines[0] + "\n" + lines[-1] + "\n")
    text = build_report(bare)
    assert list(iter_sections(text)) == list(RUN_SECTIONS)
    assert "no public_support_changed events" in text
    assert "no pressure_applied or policy_changed events" in text
    assert "no resolution_passed events" in text


def test_a_report_without_a_trace_still_shows_the_summary(run_dir, tmp_path):
    only = tmp_path / "only-summary"
    only.mkdir()
    shutil.copy(run_dir / "summary.json", only / "summary.json")
    text = build_report(only)
    assert list(iter_sections(text)) == list(RUN_SECTIONS)
    assert "No trace.jsonl here" in text


def test_a_trace_alone_is_enough_for_the_figures(run_dir, tmp_path):
    only = tmp_path / "only-trace"
    only.mkdir()
    shutil.copy(run_dir / "trace.jsonl", only / "trace.jsonl")
    text = build_report(only)
    assert list(iter_sections(text)) == list(RUN_SECTIONS)
    timeline = text[text.index('id="timeline"') : text.index('id="public-support"')]
    assert "<svg" in timeline and "Diet" in timeline


def test_an_aborted_run_is_flagged(run_dir, tmp_path):
    cut = tmp_path / "cut"
    cut.mkdir()
    shutil.copy(run_dir / "summary.json", cut / "summary.json")
    lines = (run_dir / "trace.jsonl").read_text().splitlines()
    end = {"kind": "trace_end", "complete": False, "t": 10.0, "error": "plugin 'x' raised"}
    (cut / "trace.jsonl").write_text("\n".join([*lines[:100], json.dumps(end)]) + "\n")
    text = build_report(cut)
    assert "The trace is incomplete" in text and "plugin &#x27;x&#x27; raised" in text


@pytest.mark.parametrize(
    "files, message",
    [
        ({}, "neither a run directory"),
        ({"summary.json": "{not json"}, "summary.json: not JSON"),
        ({"summary.json": "[1, 2]"}, "expected a JSON object"),
        ({"trace.jsonl": "hello\n"}, "trace.jsonl:1: not a normflow trace line"),
        ({"trace.jsonl": '{"kind":"public_support_changed","t":1}\n'}, "no trace_start line"),
        ({"manifest.json": "{}"}, "store format"),
    ],
)
def test_a_directory_that_cannot_be_reported_on_exits_2(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = invoke("report", str(tmp_path), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


# -- the experiment report -------------------------------------------------------------


def test_the_experiment_report_draws_a_curve_per_milestone_and_the_sweep(experiment_dir, experiment_page):
    from normflow.experiment import open_experiment

    text = experiment_page.read_text()
    assert list(iter_sections(text)) == list(EXPERIMENT_SECTIONS)
    assert_self_contained(text)
    table = open_experiment(experiment_dir).results()
    milestones = [c.removesuffix("_censored") for c in table.columns if c.endswith("_censored")]
    km = text[text.index('id="kaplan-meier"') : text.index('id="sweeps"')]
    assert km.count("<svg") == len(milestones) > 0
    sweeps = text[text.index('id="sweeps"') :]
    assert sweeps.count("<svg") == 1 and "local_government_role" in sweeps


def test_an_experiment_without_a_sweep_says_so(experiment_dir):
    from normflow.experiment import open_experiment
    from normflow.report import experiment_sections

    experiment = open_experiment(experiment_dir)
    one_cell = experiment.results().query("cell == 0")
    keep = ["cell", "replication", "status", "agenda_placed_days", "agenda_placed_censored"]
    sections = experiment_sections(experiment.manifest, [], one_cell[keep])
    assert [s.id for s in sections] == list(EXPERIMENT_SECTIONS)
    assert "sweeps no parameter" in sections[2].body
    assert sections[1].body.count("<svg") == 1


def test_an_experiment_whose_runs_all_failed_is_reported_not_drawn(experiment_dir):
    from normflow.experiment import open_experiment
    from normflow.report import experiment_sections

    experiment = open_experiment(experiment_dir)
    failed = experiment.results().assign(status="failed")
    sections = experiment_sections(experiment.manifest, experiment.parameters, failed)
    assert "4 replications failed" in sections[0].body
    assert "No replication finished" in sections[1].body
    assert "<svg" not in sections[1].body + sections[2].body


def test_the_compare_report_draws_both_timelines_of_one_pair_and_the_differences(compare_page):
    page = compare_page.read_text()
    sections = dict(
        re.findall(r'<section class="report-section" id="([^"]+)"[^>]*>(.*?)</section>', page, re.S)
    )
    assert tuple(sections) == COMPARE_SECTIONS
    # both arms' timelines (one pair of runs, the same seed), then the differences drawn and tabled
    timelines = sections["timelines"]
    assert (
        timelines.count("<svg") == 1
        and "A: minimal (run" in timelines
        and "B: minimal --intervene" in timelines
    )
    assert "the same seed in both arms" in timelines and "not reached" in timelines
    differences = sections["differences"]
    assert differences.count("<svg") == 1 and "<table" in differences
    assert "share reaching (B - A, points)" in differences and "outcome counts (B - A)" in differences


# -- in a real browser ---------------------------------------------------------------


def chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def open_in_browser(page: Path, profile: Path) -> tuple[str, str]:
    """The page's DOM after its scripts ran, and the browser's log."""
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian package 'chromium'; .ci/run installs it)")
    args = [
        browser,
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    env = {**os.environ, "HOME": str(profile)}
    done = subprocess.run(args, capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


@pytest.mark.parametrize("which", ["run", "experiment", "compare"])
def test_every_section_renders_in_a_browser_without_a_console_error(which, request, tmp_path):
    page: Path = request.getfixturevalue(f"{which}_page")
    expected = {"run": RUN_SECTIONS, "experiment": EXPERIMENT_SECTIONS, "compare": COMPARE_SECTIONS}[which]
    dom, log = open_in_browser(page, tmp_path / "profile")
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    assert 'data-errors="0"' in body.group(0), body.group(0)
    rendered = dict(re.findall(r'<section class="report-section" id="([^"]+)" data-rendered="(\w+)"', dom))
    assert rendered == dict.fromkeys(expected, "true")
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []


def test_the_browser_check_catches_a_broken_script(run_page, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        run_page.read_text().replace("<header>", "<header><script>noSuchFunction();</script>", 1)
    )
    dom, log = open_in_browser(broken, tmp_path / "profile")
    assert 'data-errors="1"' in re.search(r"<body[^>]*>", dom).group(0)
    assert any(":CONSOLE" in line and "noSuchFunction" in line for line in log.splitlines())
