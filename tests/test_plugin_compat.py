"""Plugins written against the first edition of the plugin API keep working.

Two third-party projects, installed the way their authors install them (an
editable install into a throwaway environment, without the network):

- the tutorial's shaming plugin (docs/examples/normflow_shaming), and
- a copy of the bundled spiral plugin as it was before the second edition
  (tests/legacy/normflow_legacy_spiral), under its own name.

Each must install, load (``normflow plugins``), run when a scenario or a
command asks for it, leave the bundled scenarios' results alone when nobody
asks (a scenario lists the mechanisms it uses), and pass its own tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cannot_build_editable, clean_env, install_editable, throwaway_venv

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = {
    "shaming": ROOT / "docs" / "examples" / "normflow_shaming",
    "legacy_spiral": ROOT / "tests" / "legacy" / "normflow_legacy_spiral",
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A throwaway environment with both projects installed; returns a
    function that runs a command there."""
    reason = cannot_build_editable()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("compat")
    python = throwaway_venv(tmp / "venv")
    env = clean_env()
    for name, source in PROJECTS.items():
        project = tmp / name
        shutil.copytree(source, project, ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
        install_editable(python, project, env, tmp)

    def run(
        *args: str, cwd: Path = tmp, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [python, *args], capture_output=True, text=True, env={**env, **(extra_env or {})}, cwd=cwd
        )

    run.tmp = tmp  # type: ignore[attr-defined]
    return run


def summary(installed, *args: str, **kw) -> dict:
    done = installed(
        "-m", "normflow", "run", "minimal", "--seed", "1", "--until", "1992-01-01", "--json", *args, **kw
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_both_plugins_install_and_load(installed):
    done = installed("-m", "normflow", "plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert {"shaming", "legacy_spiral", "spiral", "boomerang"} <= set(rows)
    assert rows["legacy_spiral"]["config_section"] == "legacy_spiral"
    assert "normflow_register_processes" in rows["shaming"]["hooks"]


def test_a_scenario_runs_exactly_the_mechanisms_it_declares_whatever_else_is_installed(installed):
    declared = set(normflow_use("minimal"))
    plain = summary(installed)
    assert set(plain["plugins"]) == declared
    # the same run in this environment, which lacks the two extra plugins
    here = subprocess.run(
        [
            sys.executable,
            "-m",
            "normflow",
            "run",
            "minimal",
            "--seed",
            "1",
            "--until",
            "1992-01-01",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("NORMFLOW_")},
    )
    assert here.returncode == 0, here.stderr
    assert json.loads(here.stdout) == plain


def test_with_and_without_adjust_one_command(installed):
    more = summary(installed, "--with", "shaming", "--with", "legacy_spiral")
    assert {"shaming", "legacy_spiral"} <= set(more["plugins"])
    assert more["metrics"]["shaming.episodes"] > 0
    assert "legacy_spiral.backslides" in more["metrics"]
    fewer = summary(installed, "--without", "spiral")
    assert "spiral" not in fewer["plugins"] and "boomerang" in fewer["plugins"]
    disabled = summary(installed, extra_env={"NORMFLOW_DISABLE_PLUGINS": "spiral,boomerang"})
    assert set(disabled["plugins"]) == set(normflow_use("minimal")) - {"spiral", "boomerang"}
    configured = summary(installed, "--set", "plugins.shaming.rate=4")
    assert "shaming" in configured["plugins"]


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_the_plugins_own_tests_pass_unchanged(installed, name):
    project = installed.tmp / name
    done = installed("-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout


def normflow_use(name: str) -> tuple[str, ...]:
    import normflow

    return normflow.load_scenario(name).plugins.use
