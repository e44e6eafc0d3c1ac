"""``normflow new-plugin``: the project it writes, and the tutorial that grows
it into the shaming plugin, installed the way a plugin author installs it."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import cannot_build_editable, clean_env, install_editable, throwaway_venv

from normflow import Simulation, load_scenario
from normflow.cli import cli
from normflow.scaffold import PluginNames

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "normflow_shaming"


def new_plugin(name: str, parent: Path):
    return CliRunner().invoke(cli, ["new-plugin", name, "-d", str(parent)], catch_exceptions=False)


def import_from(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path / name / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_new_plugin_writes_an_installable_project(tmp_path):
    out = new_plugin("normflow-blocks", tmp_path)
    assert out.exit_code == 0, out.output
    root = tmp_path / "normflow-blocks"
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "normflow_blocks/__init__.py",
        "pyproject.toml",
        "tests/test_blocks.py",
    ]
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "normflow-blocks"
    assert project["project"]["entry-points"]["normflow"] == {"blocks": "normflow_blocks"}
    assert "normflow" in project["project"]["dependencies"]


def test_new_plugin_takes_the_plugins_own_name(tmp_path):
    out = CliRunner().invoke(
        cli, ["new-plugin", "normflow-treatybody", "--plugin-name", "treaty_body", "-d", str(tmp_path)]
    )
    assert out.exit_code == 0, out.output
    assert "plugin 'treaty_body'" in out.output
    root = tmp_path / "normflow-treatybody"
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["normflow"] == {"treaty_body": "normflow_treatybody"}
    module = import_from(root, "normflow_treatybody")
    assert module.normflow_plugin_name == "treaty_body"
    assert (root / "tests" / "test_treaty_body.py").exists()
    result = Simulation(load_scenario("minimal"), 1, plugins=[module], autoload=False).run(until=365)
    assert "treaty_body.access_blocked" in result.metrics


@pytest.mark.parametrize("bad", ["Treaty", "treaty-body", "normflow", "class", "1body", "a__b"])
def test_new_plugin_refuses_a_bad_plugin_name(tmp_path, bad):
    out = CliRunner().invoke(cli, ["new-plugin", "normflow-x", "--plugin-name", bad, "-d", str(tmp_path)])
    assert out.exit_code == 2
    assert "--plugin-name" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "normflow-x").exists()


def test_the_generated_plugin_reports_its_metric_in_a_run(tmp_path):
    new_plugin("normflow-blocks", tmp_path)
    module = import_from(tmp_path / "normflow-blocks", "normflow_blocks")
    result = Simulation(load_scenario("minimal"), 1, plugins=[module], autoload=False).run(until=365)
    assert "blocks" in result.plugins
    assert result.metrics["blocks.access_blocked"] == result.counts["access_blocked"] > 0


def test_the_generated_tests_pass_with_the_testing_kit(tmp_path):
    new_plugin("normflow-blocks", tmp_path)
    root = tmp_path / "normflow-blocks"
    assert "check_plugin" in (root / "tests" / "test_blocks.py").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORMFLOW_")}
    env["PYTHONPATH"] = str(root)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_new_plugin_refuses_to_overwrite_a_directory(tmp_path):
    (tmp_path / "normflow-blocks").mkdir()
    (tmp_path / "normflow-blocks" / "notes.txt").write_text("mine")
    out = CliRunner().invoke(cli, ["new-plugin", "normflow-blocks", "-d", str(tmp_path)])
    assert out.exit_code == 2
    assert "already exists" in out.stderr and "normflow-blocks" in out.stderr
    assert [p.name for p in (tmp_path / "normflow-blocks").iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    "name",
    ["Shaming", "1shaming", "sham ing", "../escape", "a--b", "normflow", "normflow_", "class", "x" * 61],
)
def test_new_plugin_rejects_a_bad_name(tmp_path, name):
    out = CliRunner().invoke(cli, ["new-plugin", name, "-d", str(tmp_path)])
    assert out.exit_code == 2
    assert "NAME" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_names_follow_the_bundled_plugins_convention():
    names = PluginNames.derive("normflow-local-diplomacy")
    assert (names.distribution, names.module, names.plugin) == (
        "normflow-local-diplomacy",
        "normflow_local_diplomacy",
        "local_diplomacy",
    )
    assert PluginNames.from_name("shaming").plugin == "shaming"


@pytest.mark.parametrize(
    "name,clash",
    [
        ("boomerang", "installed normflow plugin 'boomerang' (from normflow)"),
        ("normflow-boomerang", "installed module 'normflow_boomerang'"),
        ("numpy", "installed module 'numpy'"),
        ("os", "standard-library module 'os'"),
        ("pytest", "installed module 'pytest'"),
        ("json", "standard-library module 'json'"),
        ("sys", "standard-library module 'sys'"),
        ("mkdocs-material", "installed distribution 'mkdocs-material'"),
        ("local-diplomacy", "installed normflow plugin 'local_diplomacy'"),
    ],
)
def test_names_that_shadow_what_is_installed_are_refused(tmp_path, name, clash):
    """Issue 18, defect 11: an installed `new-plugin boomerang` silently
    replaced the bundled plugin; `numpy`, `os`, `pytest` were accepted."""
    result = CliRunner().invoke(cli, ["new-plugin", name, "--directory", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert clash in result.output and "shadow" in result.output
    assert not (tmp_path / name).exists()


def test_the_tutorial_project_starts_from_what_new_plugin_writes(tmp_path):
    new_plugin("normflow-shaming", tmp_path)
    generated = tmp_path / "normflow-shaming"
    for name in ("pyproject.toml", ".gitignore"):
        assert (EXAMPLE / name).read_text() == (generated / name).read_text(), name


def test_the_tutorial_plugin_installs_lists_and_runs(tmp_path):
    """The tutorial, step by step: scaffold, replace the module and tests with
    the tutorial's, install without the network, then the CLI lists the
    plugin and a run reports its metrics, and the plugin's own tests pass."""
    reason = cannot_build_editable()
    if reason:
        pytest.skip(reason)
    assert new_plugin("normflow-shaming", tmp_path).exit_code == 0
    project = tmp_path / "normflow-shaming"
    shutil.copytree(EXAMPLE / "normflow_shaming", project / "normflow_shaming", dirs_exist_ok=True)
    shutil.copytree(EXAMPLE / "tests", project / "tests", dirs_exist_ok=True)
    shutil.copy(EXAMPLE / "README.md", project / "README.md")
    python = throwaway_venv(tmp_path / "venv")
    env = clean_env()
    install_editable(python, project, env, tmp_path)

    def normflow(*args: str) -> str:
        out = subprocess.run(
            [python, "-m", "normflow", *args], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    listed = {row["name"]: row for row in json.loads(normflow("plugins", "--json"))}
    assert "shaming" in listed
    assert "normflow_register_processes" in listed["shaming"]["hooks"]
    # minimal lists the mechanisms it uses: an installed plugin joins when asked to
    untouched = json.loads(normflow("run", "minimal", "--seed", "1", "--until", "1993-01-01", "--json"))
    assert "shaming" not in untouched["plugins"]
    summary = json.loads(
        normflow(
            "run",
            "minimal",
            "--seed",
            "1",
            "--until",
            "1993-01-01",
            "--json",
            "--with",
            "shaming",
        )
    )
    assert summary["plugins"]["shaming"] == "0.1.0"
    assert summary["metrics"]["shaming.episodes"] > 0
    assert summary["milestones"]["shamed:japan"]["reached"]

    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "6 passed" in tests.stdout
