"""The documentation site: it builds in strict mode, its navigation reaches
every page, and what it quotes from the code is what the code says."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "examples"
SITE_PACKAGES = ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_click")


def _missing_site_packages() -> list[str]:
    missing = []
    for name in SITE_PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


def _nav_hook():
    spec = importlib.util.spec_from_file_location("normflow_docs_nav", DOCS / "_hooks" / "nav.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flatten(nav) -> list[str]:
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        out.extend(_flatten(value) if isinstance(value, list) else [value])
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    missing = _missing_site_packages()
    if missing:
        pytest.skip(f"the docs toolchain is not installed ({', '.join(missing)}): pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_the_site_builds_strictly_with_every_page(site):
    config = _loaded_config()
    pages = [p for p in _flatten(config["nav"]) if p.endswith(".md")]
    for page in pages:
        built = site / (page[: -len(".md")].removesuffix("index")) / "index.html"
        if page == "index.md":
            built = site / "index.html"
        assert built.exists(), f"{page} was not built"


def _loaded_config():
    from mkdocs.config import load_config

    config = load_config(str(ROOT / "mkdocs.yml"))
    return _nav_hook().on_config(config)


def test_the_navigation_reaches_every_page():
    if _missing_site_packages():
        pytest.skip("the docs toolchain is not installed: pip install -e '.[dev]'")
    listed = set(_flatten(_loaded_config()["nav"]))
    pages = {
        p.relative_to(DOCS).as_posix()
        for p in DOCS.rglob("*.md")
        if not p.relative_to(DOCS).as_posix().startswith(("examples/", "_hooks/"))
    }
    assert pages - listed == set()


def test_the_nav_hook_drops_missing_pages_expands_directories_and_adds_strays(tmp_path):
    hook = _nav_hook()
    docs = tmp_path / "docs"
    (docs / "cases").mkdir(parents=True)
    for name in ("index.md", "a.md", "stray.md", "cases/b-case.md", "cases/a-case.md", "cases/index.md"):
        (docs / name).write_text("# x\n")
    config = {
        "docs_dir": str(docs),
        "exclude_docs": None,
        "nav": [
            {"Home": "index.md"},
            {"Group": [{"A": "a.md"}, {"Later": "not-yet.md"}]},
            {"Cases": "cases/"},
            {"Empty": [{"Gone": "gone.md"}]},
        ],
    }
    nav = hook.on_config(config)["nav"]
    assert nav == [
        {"Home": "index.md"},
        {"Group": [{"A": "a.md"}]},
        {"Cases": ["cases/index.md", "cases/a-case.md", "cases/b-case.md"]},
        {"More": ["stray.md"]},
    ]


def test_the_api_page_documents_every_public_name():
    import normflow

    text = (DOCS / "api.md").read_text()
    documented = set(re.findall(r"^::: normflow\.(\w+)", text, re.M))
    assert set(normflow.__all__) - {"__version__"} - documented == set()


def test_getting_started_quotes_the_minimal_scenario_verbatim():
    scenario = (ROOT / "normflow" / "scenarios" / "minimal.toml").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", (DOCS / "getting-started.md").read_text(), re.S)
    assert len(blocks) >= 8
    for block in blocks:
        assert block in scenario, f"not in minimal.toml:\n{block}"


def test_getting_started_starts_with_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", readme)
    page = (DOCS / "getting-started.md").read_text()
    assert len(commands) == 2
    for command in commands:
        assert command in page


def _snippet(ref: str) -> str:
    """What pymdownx.snippets includes for ``path``, ``path:section`` or
    ``path:first:last``."""
    parts = ref.split(":")
    text = (SNIPPETS / parts[0]).read_text()
    if len(parts) == 1:
        return text
    if len(parts) == 3:
        lines = text.splitlines()
        return "\n".join(lines[int(parts[1]) - 1 : int(parts[2])])
    section = re.search(rf"--8<-- \[start:{parts[1]}\]\n(.*?)# --8<-- \[end:{parts[1]}\]", text, re.S)
    assert section, f"no section {parts[1]} in {parts[0]}"
    return section.group(1)


def test_the_tutorial_includes_code_that_exists():
    page = (DOCS / "tutorial-plugin.md").read_text()
    refs = re.findall(r'--8<-- "([^"]+)"', page)
    assert len(refs) >= 6
    included = {ref: _snippet(ref) for ref in refs}
    assert all(text.strip() for text in included.values())
    entry_point = next(text for ref, text in included.items() if ref.startswith("normflow_shaming/pyproject"))
    assert '[project.entry-points.normflow]\nshaming = "normflow_shaming"' in entry_point
    hooks = "".join(included.values())
    for hook in ("normflow_register_config", "normflow_register_processes", "normflow_register_metrics"):
        assert f"def {hook}(" in hooks


def test_the_tutorial_plugin_runs_with_its_settings():
    spec = importlib.util.spec_from_file_location(
        "normflow_shaming", SNIPPETS / "normflow_shaming" / "normflow_shaming" / "__init__.py"
    )
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    import normflow

    scenario = normflow.load_scenario("minimal", overrides={"plugins.shaming.rate": 12.0})
    result = normflow.Simulation(scenario, 2, plugins=[plugin], autoload=False).run(until=730)
    assert result.metrics["shaming.episodes"] > 0
    assert result.counts["pressure_applied"] > 0
