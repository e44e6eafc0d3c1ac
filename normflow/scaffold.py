"""``normflow new-plugin NAME``: write a plugin project ready to install.

The project is the smallest complete third-party plugin: a distribution
whose ``normflow`` entry point names a module that subscribes a handler to
an event and reports a metric, a test that runs it inside a simulation, and
a README saying how to install and grow it. It follows the same layout as
the plugins bundled with normflow, so reading one teaches the other.

Names: ``NAME`` is the directory and the distribution name
(``normflow-blocks``); the module is ``NAME`` with dashes as underscores
(``normflow_blocks``); the plugin's name -- the entry point, the prefix of
its metrics and its config section -- drops a leading ``normflow-``
(``blocks``), unless ``--plugin-name`` chooses it.
"""

from __future__ import annotations

import errno
import keyword
import re
from pathlib import Path
from string import Template

import attrs

NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
PLUGIN_NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MAX_NAME_LENGTH = 60


@attrs.frozen
class PluginNames:
    """The three names a plugin project needs, derived from one."""

    distribution: str
    module: str
    plugin: str

    @classmethod
    def from_name(cls, name: str, plugin_name: str | None = None) -> PluginNames:
        """Check ``name``, derive the others (the plugin's name is
        ``plugin_name`` when given) and make sure that none shadows what is
        installed; ``ValueError`` says what is wrong."""
        names = cls.derive(name, plugin_name)
        clash = shadowed(names.distribution, names.module, names.plugin)
        if clash:
            raise ValueError(
                f"'{name}' would shadow {clash}; choose another name, e.g. normflow-{names.plugin}-x"
            )
        return names

    @classmethod
    def derive(cls, name: str, plugin_name: str | None = None) -> PluginNames:
        """Check ``name``'s form and derive the others (without looking at
        what is installed)."""
        if not NAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise ValueError(
                f"'{name}' is not a valid plugin name: use lower-case letters, digits and single "
                f"dashes or underscores, starting with a letter, at most {MAX_NAME_LENGTH} "
                "characters (e.g. normflow-shaming)"
            )
        module = name.replace("-", "_")
        plugin = re.sub(r"^normflow_", "", module)
        if module == "normflow" or not plugin:
            raise ValueError(
                f"'{name}' would shadow normflow itself; name the mechanism, e.g. normflow-shaming"
            )
        if keyword.iskeyword(module) or keyword.iskeyword(plugin):
            raise ValueError(f"'{name}' is a Python keyword; choose another name")
        if plugin_name is not None:
            if not PLUGIN_NAME_PATTERN.fullmatch(plugin_name) or len(plugin_name) > MAX_NAME_LENGTH:
                raise ValueError(
                    f"'{plugin_name}' is not a valid plugin name: use lower-case letters, digits and "
                    f"single underscores, starting with a letter, at most {MAX_NAME_LENGTH} characters "
                    "(e.g. treaty_body); it prefixes the plugin's metrics and names its config section"
                )
            if plugin_name == "normflow" or keyword.iskeyword(plugin_name):
                raise ValueError(f"'{plugin_name}' cannot name a plugin; choose another name")
            plugin = plugin_name
        return cls(distribution=name, module=module, plugin=plugin)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def shadowed(distribution: str, module: str, plugin: str) -> str | None:
    """What installing a project of these names would shadow, or None: a
    standard-library or installed module, an installed distribution, or an
    installed normflow plugin (entry point) of the same name."""
    import importlib.util
    import sys
    from importlib import metadata

    from normflow.plugins import ENTRY_POINT_GROUP

    if module in sys.stdlib_module_names or module in sys.builtin_module_names:
        return f"the standard-library module '{module}'"
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        return f"the installed module '{module}'"
    wanted = _canonical(distribution)
    for dist in metadata.distributions():
        name = dist.metadata["Name"] or ""
        if _canonical(name) == wanted:
            return f"the installed distribution '{name}'"
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == plugin:
            owner = ep.dist.name if ep.dist is not None else ep.value
            return f"the installed normflow plugin '{plugin}' (from {owner})"
    return None


PYPROJECT = Template("""\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "A normflow plugin: $plugin"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["normflow"]

[project.optional-dependencies]
# normflow's testing kit: check_plugin and the pytest fixtures
test = ["normflow[testing]", "pytest"]

# normflow finds plugins through this entry-point group; the name on the
# left is the plugin's name (metrics appear as "$plugin.<metric>").
[project.entry-points.normflow]
$plugin = "$module"

[tool.setuptools]
packages = ["$module"]
""")

MODULE = Template('''\
"""$plugin: a normflow plugin.

Counts, in every run, how often a civil-society group's attempt to press
its own state is blocked at the state's door (``AccessBlocked``), per
state, and reports the total as the metric ``$plugin.access_blocked``.

Hooks are called once per run, at setup: they hand the engine a handler
and a metric function, which the engine then calls directly.
"""

from __future__ import annotations

import weakref
from collections import Counter
from typing import Any

from normflow import events, hookimpl

__version__ = "0.1.0"

# The plugin's name when it is passed to Simulation(plugins=[...]) directly,
# the same as its entry-point name when it is installed.
normflow_plugin_name = "$plugin"

# One tally per run; a finished run's tally goes with it.
_blocked: weakref.WeakKeyDictionary[Any, Counter[str]] = weakref.WeakKeyDictionary()


def _tally(sim: Any) -> Counter[str]:
    return _blocked.setdefault(sim, Counter())


@hookimpl
def normflow_register_handlers(sim, register):
    tally = _tally(sim)

    def on_access_blocked(event: events.AccessBlocked) -> None:
        tally[event.state] += 1

    register(events.AccessBlocked, on_access_blocked)


@hookimpl
def normflow_register_metrics(sim, register):
    tally = _tally(sim)
    register("access_blocked", lambda: sum(tally.values()))
''')

TEST = Template('''\
"""The plugin checked with normflow's testing kit, and inside real runs."""

from normflow.testing import check_plugin

import $module as plugin


def test_the_plugin_conforms():
    # hooks match normflow's specs, the plugin runs on random small
    # scenarios without breaking a run's invariants, and a seed fixes its run
    check_plugin(plugin, max_examples=5)


def test_the_metric_counts_every_blocked_access(normflow_simulation):
    # normflow_simulation (a fixture of the kit) loads only the plugins named
    run = normflow_simulation("minimal", seed=1, plugins=[plugin])
    result = run.run(until=3 * 365)
    assert result.metrics["$plugin.access_blocked"] == result.counts.get("access_blocked", 0)
    assert result.metrics["$plugin.access_blocked"] > 0
''')

README = Template("""\
# $distribution

A normflow plugin. It counts how often
civil-society groups are blocked when they press their own state, and adds
the metric `$plugin.access_blocked` to the summary of every run it takes
part in: a scenario lists the plugins it uses (`[plugins] use`), and
`--with $plugin` adds this one to a command's run.

## Install and try

```bash
pip install -e .
normflow plugins                 # lists "$plugin"
normflow run minimal --with $plugin --json   # metrics include "$plugin.access_blocked"
```

## Test

```bash
pip install -e '.[test]'
pytest -q
```

## Grow it

`$module/__init__.py` implements two hooks. The hooks a plugin can implement
(config sections, channels, modifiers, handlers, processes, metrics,
commands) are listed, each with its signature, in normflow's hook reference
(`docs/plugins.md`), and `normflow.hookspecs` documents them in code.

If normflow no longer lists the plugin, run `normflow plugins` and read the
warning it prints: a plugin that fails to import is named there with its
error. Run with this plugin alone: `NORMFLOW_LOAD_PLUGINS=$plugin normflow run minimal --with $plugin`.
""")

GITIGNORE = "__pycache__/\n*.egg-info/\nbuild/\ndist/\n.venv/\n"


def plugin_files(names: PluginNames) -> dict[str, str]:
    """Relative path -> text of every file of the project."""
    fields = attrs.asdict(names)
    return {
        "pyproject.toml": PYPROJECT.substitute(fields),
        "README.md": README.substitute(fields),
        f"{names.module}/__init__.py": MODULE.substitute(fields),
        f"tests/test_{names.plugin}.py": TEST.substitute(fields),
        ".gitignore": GITIGNORE,
    }


def write_plugin_project(name: str, parent: Path | str = ".", plugin_name: str | None = None) -> Path:
    """Write the project ``name`` into ``parent/name`` and return its path.

    Raises ``ValueError`` for a bad name and ``FileExistsError`` when the
    directory exists: nothing is ever overwritten.
    """
    names = PluginNames.from_name(name, plugin_name)
    root = Path(parent) / name
    if root.exists():
        raise FileExistsError(
            errno.EEXIST,
            "already exists; normflow new-plugin never overwrites (choose another name)",
            str(root),
        )
    files = plugin_files(names)
    root.mkdir(parents=False)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root
