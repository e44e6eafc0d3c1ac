"""The plugin system: listing, the core/plugin boundary, discovery of an
out-of-tree plugin, every failure path, and the hook reference in the docs."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import json
import re
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from plugin_helpers import fake_distribution, normflow_cli

import normflow
from normflow import hookspecs
from normflow.cli import cli
from normflow.plugins import get_plugin_manager

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = {
    "boomerang": "normflow_boomerang",
    "spiral": "normflow_spiral",
    "local_diplomacy": "normflow_local_diplomacy",
}
NO_SELECTION = {"NORMFLOW_LOAD_PLUGINS": None, "NORMFLOW_DISABLE_PLUGIN_AUTOLOAD": None}

SHORT_SCENARIO = """
[scenario]
name = "short"
start = 1990-01-01
end = 1991-12-31

[[states]]
id = "japan"
legislature = {{ name = "Diet" }}

[[issues]]
id = "suffrage"
state = "japan"

[[local_governments.groups]]
state = "japan"
count = 20

[[civil_society.populations]]
state = "japan"
count = 20
{plugins}
"""


def write_scenario(tmp_path: Path, plugins: str = "") -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT_SCENARIO.format(plugins=plugins), encoding="utf-8")
    return path


# -- listing ---------------------------------------------------------------------


def test_normflow_plugins_lists_the_three_bundled_plugins_with_hooks_and_config():
    out = CliRunner().invoke(cli, ["plugins", "--json"], env=NO_SELECTION)
    assert out.exit_code == 0, out.output
    rows = {row["name"]: row for row in json.loads(out.output)}
    assert set(BUNDLED) <= set(rows)
    for name, module in BUNDLED.items():
        row = rows[name]
        assert row["module"] == module
        assert row["version"] == normflow.__version__
        assert row["config_section"] == name
        assert {"normflow_register_config", "normflow_register_metrics"} <= set(row["hooks"])
        fields = row["config"][name]
        assert fields and all(f["doc"] for f in fields)
    assert "normflow_register_channels" in rows["local_diplomacy"]["hooks"]
    assert "normflow_register_handlers" in rows["boomerang"]["hooks"]


def test_normflow_plugins_in_plain_text_names_each_config_table():
    out = CliRunner().invoke(cli, ["plugins"], env=NO_SELECTION)
    assert "config: [plugins.spiral]" in out.output and "hooks: " in out.output


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NORMFLOW_LOAD_PLUGINS": "spiral"}, {"spiral"}),
        ({"NORMFLOW_LOAD_PLUGINS": " spiral , boomerang"}, {"spiral", "boomerang"}),
        ({"NORMFLOW_LOAD_PLUGINS": ""}, set()),
        ({"NORMFLOW_LOAD_PLUGINS": None, "NORMFLOW_DISABLE_PLUGIN_AUTOLOAD": "1"}, set()),
    ],
)
def test_environment_variables_choose_the_plugins(env, expected):
    out = CliRunner().invoke(cli, ["plugins", "--json"], env={**NO_SELECTION, **env})
    assert {row["name"] for row in json.loads(out.output)} == expected


def test_a_plugin_passed_by_hand_and_autoloaded_is_registered_once():
    import normflow_spiral

    pm = get_plugin_manager([normflow_spiral])
    assert [name for name, plugin in pm.list_name_plugin() if plugin is normflow_spiral] == ["spiral"]


# -- the boundary ----------------------------------------------------------------


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import statement in a file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, [alias.name for alias in node.names]))
    return out


def test_the_core_imports_nothing_from_the_plugins():
    plugin_packages = {p.name for p in (ROOT / "plugins").iterdir() if p.is_dir()} | {"plugins"}
    assert set(BUNDLED.values()) <= plugin_packages
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "normflow").rglob("*.py"))
        for module, _ in _imports(path)
        if module.split(".")[0] in plugin_packages
    ]
    assert offenders == []


def test_the_bundled_plugins_use_only_the_public_api():
    public = set(normflow.__all__)
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for module, names in _imports(path):
            assert not module.startswith("normflow."), f"{path}: imports {module}"
            if module == "normflow":
                assert set(names) <= public, f"{path}: imports {set(names) - public} from normflow"
        used = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "normflow"
        }
        assert used <= public, f"{path}: uses normflow.{sorted(used - public)}"


def test_the_simulator_runs_with_no_plugin_at_all():
    done = normflow_cli("run", "minimal", "--json", env={"NORMFLOW_LOAD_PLUGINS": ""})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["plugins"] == {}
    assert not [m for m in summary["milestones"] if m.startswith(("spiral.", "boomerang", "channel_used"))]
    assert summary["milestones"]["agenda_placed"]["reached"]


# -- discovery of a plugin installed out of the tree -------------------------------

PETITION = '''
"""A plugin installed outside normflow's tree: yearly petitions."""
import attrs
import normflow


@attrs.frozen
class PetitionConfig:
    amount: float = normflow.param(1.0, low=0, doc="pressure of one petition")


@normflow.hookimpl
def normflow_register_config(register):
    register("petition", PetitionConfig)


@normflow.hookimpl
def normflow_register_processes(sim, register):
    def petitions():
        while sim.env.now + 365 <= sim.horizon:
            yield sim.env.timeout(365)
            issue = sim.world.issues[0]
            applied = sim.apply_pressure(
                sim.env.now, "petitioners", issue.state, issue.id, "petition", "moral", sim.config("petition").amount
            )
            sim.metric_add("petition.pressure", applied)

    register("petitions", petitions)
'''


def test_an_out_of_tree_plugin_is_discovered_listed_and_run(tmp_path):
    site = fake_distribution(
        tmp_path / "site", "normflow_petition", PETITION, entry="petition", version="2.5.0"
    )
    listed = normflow_cli("plugins", "--json", pythonpath=site)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["petition"]["version"] == "2.5.0"
    assert rows["petition"]["module"] == "normflow_petition"
    assert rows["petition"]["hooks"] == ["normflow_register_config", "normflow_register_processes"]
    assert rows["petition"]["config_section"] == "petition"
    assert set(BUNDLED) <= set(rows)

    scenario = write_scenario(
        tmp_path, '[plugins]\nrequire = ["petition"]\n[plugins.petition]\namount = 2.5\n'
    )
    ran = normflow_cli("run", str(scenario), "--json", pythonpath=site)
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert summary["plugins"]["petition"] == "2.5.0"
    assert summary["metrics"]["petition.pressure"] == pytest.approx(2.5)  # one petition in two years


# -- failure paths ------------------------------------------------------------------


def test_a_missing_required_plugin_is_an_error_listing_what_is_installed(tmp_path):
    scenario = write_scenario(tmp_path, '[plugins]\nrequire = ["shaming-of-mars"]\n')
    done = normflow_cli("run", str(scenario), env={"NORMFLOW_LOAD_PLUGINS": "spiral"})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    # the deprecated spelling still works, and says it is deprecated
    warning, message = done.stderr.strip().splitlines()
    assert warning.startswith("warning: ") and "plugins.require is deprecated" in warning
    assert message.startswith("error: ") and "plugins.require" in message and "'shaming-of-mars'" in message
    loaded, installed = re.search(r"loaded: (.*); installed: (.*)\)", message).groups()
    assert loaded == "spiral"
    assert set(BUNDLED) <= set(installed.split(", "))


def test_a_plugin_that_fails_to_import_is_named_with_its_version_and_the_rest_go_on(tmp_path):
    site = fake_distribution(
        tmp_path, "broken_plugin", 'raise ImportError("needs libfoo")\n', version="9.9.9"
    )
    done = normflow_cli("run", "minimal", "--json", "--until", "1991-01-01", pythonpath=site)
    assert done.returncode == 0, done.stderr
    warning = "warning: normflow plugin 'broken_plugin' (version 9.9.9) failed to load and was skipped: ImportError: needs libfoo"
    assert done.stderr.count(warning) == 1, done.stderr
    assert set(BUNDLED) <= set(json.loads(done.stdout)["plugins"])


EXPLODING = """
import normflow


@normflow.hookimpl
def normflow_register_handlers(sim, register):
    def refuse_resolutions(ev):
        raise RuntimeError("no resolutions, please")

    register(normflow.events.ResolutionPassed, refuse_resolutions)
"""


def test_a_plugin_that_raises_during_a_run_is_named_with_its_handler_and_the_day(tmp_path):
    site = fake_distribution(tmp_path / "site", "exploding", EXPLODING, version="0.0.1")
    trace = tmp_path / "run.jsonl"
    done = normflow_cli("run", "minimal", "--trace", str(trace), "--with", "exploding", pythonpath=site)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    said = re.fullmatch(
        r"error: plugin 'exploding' raised in handler refuse_resolutions for ResolutionPassed "
        r"at day (\d+\.\d\d) \((\d{4}-\d\d-\d\d)\): RuntimeError: no resolutions, please\n",
        done.stderr,
    )
    assert said, done.stderr
    lines = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["kind"] == "trace_start" and len(lines) > 10
    end = lines[-1]
    assert end["kind"] == "trace_end" and end["complete"] is False
    assert "exploding" in end["error"] and end["t"] == float(said.group(1)) >= lines[-2]["t"]


def _plugin(source: str, name: str = "inline") -> types.ModuleType:
    module = types.ModuleType(name)
    exec(source, module.__dict__)
    return module


def test_a_plugin_process_that_raises_names_the_process_and_the_time():
    plugin = _plugin(
        """
import normflow

@normflow.hookimpl
def normflow_register_processes(sim, register):
    def countdown():
        yield sim.env.timeout(100)
        raise ValueError("out of patience")
    register("countdown", countdown)
"""
    )
    sim = normflow.Simulation(normflow.load_scenario("minimal"), 1, plugins=[plugin], autoload=False)
    with pytest.raises(normflow.PluginRunError) as err:
        sim.run()
    assert (err.value.plugin, err.value.where, err.value.t) == ("inline", "process 'countdown'", 100.0)
    assert err.value.date == dt.date(1990, 4, 11)


def test_a_plugin_that_raises_at_setup_names_the_hook(tmp_path):
    plugin = _plugin(
        """
import normflow

@normflow.hookimpl
def normflow_register_channels(sim, register):
    register(sim.world.no_such_thing)
"""
    )
    trace = tmp_path / "t.jsonl"
    with pytest.raises(normflow.PluginRunError, match="plugin 'inline' raised in normflow_register_channels"):
        normflow.Simulation(
            normflow.load_scenario("minimal"), 1, plugins=[plugin], autoload=False, trace=trace
        )
    assert json.loads(trace.read_text().splitlines()[-1])["complete"] is False


def test_a_hook_implementation_for_a_hook_that_does_not_exist_fails_loudly(tmp_path):
    source = (
        "import normflow\n\n@normflow.hookimpl\ndef normflow_register_handler(sim, register):\n    pass\n"
    )
    with pytest.raises(normflow.PluginError, match="did you mean 'normflow_register_handlers'"):
        get_plugin_manager([_plugin(source, "typo")], autoload=False)
    site = fake_distribution(tmp_path, "typo_plugin", source)
    done = normflow_cli("run", "minimal", pythonpath=site)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(
        "error: plugin 'typo_plugin' implements the hook 'normflow_register_handler', which does not exist"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("@normflow.hookimpl\ndef register_handlers(sim, register):\n    pass\n", "must be named 'normflow_"),
        (
            "@normflow.hookimpl\ndef normflow_register_handlers(simulation, register):\n    pass\n",
            "simulation",
        ),
    ],
)
def test_a_malformed_hook_implementation_is_refused(source, expected):
    with pytest.raises(normflow.PluginError, match=expected):
        get_plugin_manager([_plugin("import normflow\n" + source)], autoload=False)


def test_two_plugins_may_not_declare_the_same_section():
    source = (
        "import attrs, normflow\n@attrs.frozen\nclass C:\n    x: int = 1\n"
        "@normflow.hookimpl\ndef normflow_register_config(register):\n    register('spiral', C)\n"
    )
    import normflow_spiral

    with pytest.raises(normflow.PluginError, match="already registered by 'spiral'"):
        normflow.Simulation(
            normflow.load_scenario("minimal"),
            plugins=[normflow_spiral, _plugin(source, "rival")],
            autoload=False,
        )


def test_a_table_for_a_plugin_nobody_declares_is_an_error():
    text = SHORT_SCENARIO.format(plugins="[plugins.spirall]\nhalf_life = 10\n")
    with pytest.raises(normflow.ScenarioError, match="plugins.spirall"):
        normflow.Simulation(normflow.loads_scenario(text), autoload=False)


# -- the hook reference in the docs ---------------------------------------------------

DOCS = ROOT / "docs" / "plugins.md"


def _hookspecs() -> dict[str, str]:
    """hook name -> its signature as the docs must head its section."""
    return {
        name: f"{name}({', '.join(inspect.signature(fn).parameters)})"
        for name, fn in vars(hookspecs).items()
        if name.startswith("normflow_") and callable(fn)
    }


def _sections() -> dict[str, str]:
    """'### heading' -> the text up to the next heading."""
    text = DOCS.read_text(encoding="utf-8")
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def test_every_hook_has_a_section_headed_by_its_signature():
    sections = _sections()
    missing = [signature for signature in _hookspecs().values() if signature not in sections]
    assert missing == []
    stale = [h for h in sections if h.startswith("normflow_") and h not in _hookspecs().values()]
    assert stale == []


def _example(signature: str) -> types.ModuleType:
    blocks = re.findall(r"```python\n(.*?)```", _sections()[signature], flags=re.DOTALL)
    assert blocks, f"no example for {signature}"
    return _plugin(blocks[0], "example")


@pytest.mark.parametrize("name", sorted(set(_hookspecs()) - {"normflow_register_commands"}))
def test_every_hook_example_in_the_docs_runs(name):
    example = _example(_hookspecs()[name])
    sim = normflow.Simulation(normflow.load_scenario("minimal"), 1, plugins=[example], autoload=False)
    assert name in [h.name for h in sim.pm.get_hookcallers(example)]
    sim.run(until=dt.date(1992, 1, 1))


def test_the_commands_hook_example_in_the_docs_runs():
    example = _example(_hookspecs()["normflow_register_commands"])
    group = click.Group()
    example.normflow_register_commands(cli=group)
    (command,) = group.commands
    out = CliRunner().invoke(group, [command])
    assert out.exit_code == 0 and "minimal" in out.output.split()


def test_installed_plugins_are_read_once_and_again_when_the_path_changes(tmp_path, monkeypatch):
    """The entry points are read once per state of the import path: asking
    again reads nothing, and a distribution installed into a directory of the
    path (or a directory added to it) is seen at the next look-up."""
    from importlib import metadata

    from plugin_helpers import fake_distribution

    from normflow import plugins

    reads = []
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda **kw: reads.append(kw) or real(**kw))
    site = tmp_path / "site"
    site.mkdir()
    # an import path no other process writes to (the working directory, which
    # other jobs may touch, would rightly make it read again)
    import sys

    installed = [p for p in sys.path if p.endswith("site-packages")]
    monkeypatch.setattr(sys, "path", [str(site), *installed])
    first = plugins.installed_entry_points()
    assert plugins.installed_entry_points() == first and len(reads) == 1
    fake_distribution(site, "normflow_cached_probe", "X = 1\n")
    names = [ep.name for ep in plugins.installed_entry_points()]
    assert "normflow_cached_probe" in names and len(reads) == 2
    assert names == sorted(names) and len(names) == len(first) + 1


def test_a_plugins_distribution_name_and_version_are_read_once_and_match_the_metadata():
    from normflow import plugins

    eps = [ep for ep in plugins.installed_entry_points() if ep.dist is not None]
    assert eps  # the bundled plugins are installed with normflow
    for ep in eps:
        assert plugins._name_and_version(ep) == (ep.dist.name, ep.dist.version)
        # the second read comes from the cache: the entry's own object is kept with it
        assert plugins._distribution_facts[id(ep)][0] is ep
        plugins._distribution_facts[id(ep)] = (ep, "cached", "9")
        assert plugins._name_and_version(ep) == ("cached", "9")
    plugins._distribution_facts.clear()
    assert plugins._name_and_version(eps[0]) == (eps[0].dist.name, eps[0].dist.version)
