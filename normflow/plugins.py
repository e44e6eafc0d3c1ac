"""Plugin loading policy: discovery, enabling, listing, error attribution.

Plugins are found through the entry-point group ``normflow``. Loading is
controlled by three environment variables, as in pytest and llm:

- ``NORMFLOW_LOAD_PLUGINS``: a comma-separated list of plugin names to load;
  set but empty, no plugin is loaded.
- ``NORMFLOW_DISABLE_PLUGIN_AUTOLOAD``: any non-empty value turns automatic
  loading off (plugins can still be passed to ``Simulation`` directly).
- ``NORMFLOW_DISABLE_PLUGINS``: a comma-separated list of plugin names never
  to load, whatever a scenario uses.

A plugin that fails to import is reported in a warning that names it and its
version; the others load. Which loaded plugins take part in a run is the
scenario's choice (``[plugins] use``, see ``select_plugins``); a scenario
that does not choose gets every loaded plugin, and a note saying so.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from normflow import hookspecs
from normflow.codecache import cached_attrs_methods, store_cached_methods
from normflow.deprecation import NormflowDeprecationWarning
from normflow.schema import ScenarioError, describe

if TYPE_CHECKING:
    from importlib import metadata

ENTRY_POINT_GROUP = "normflow"
PREFIX = "normflow_"


class PluginError(Exception):
    """A plugin problem the user must see: one line naming the plugin."""


class PluginLoadWarning(UserWarning):
    """A plugin could not be imported; the rest were loaded."""


class UndeclaredPluginsWarning(UserWarning):
    """A scenario that does not list its plugins ran with every installed one."""


class NormflowPluginManager(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.versions: dict[str, str] = {}
        #: where each plugin comes from: its distribution (installed through
        #: an entry point) or its module (passed by hand)
        self.origins: dict[str, str] = {}
        #: names of the plugins passed by hand (always take part in a run)
        self.explicit: set[str] = set()

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is not None and not name.startswith(PREFIX):
            raise PluginError(
                f"plugin {_plugin_label(plugin)}: hook implementation '{name}' must be named "
                f"'{PREFIX}...' (the hooks are listed in normflow.hookspecs)"
            )
        return opts

    def register_checked(
        self, plugin: Any, name: str, version: str | None = None, origin: str | None = None
    ) -> None:
        """Register ``plugin`` and fail loudly if it implements a hook that
        does not exist (a misspelt hook would otherwise never be called)."""
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin '{name}': {exc}") from None
        self.versions[name] = version or getattr(plugin, "__version__", "") or "unknown"
        self.origins[name] = origin or f"module {_module_of(plugin)}"
        unknown = sorted(
            caller.name
            for caller in self.get_hookcallers(plugin) or []
            if not caller.has_spec() and any(not i.optionalhook for i in caller.get_hookimpls())
        )
        if unknown:
            self.unregister(name=name)
            self.versions.pop(name, None)
            self.origins.pop(name, None)
            hook = unknown[0]
            import difflib  # only for a suggestion in an error message

            close = difflib.get_close_matches(hook, self.hook_names(), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise PluginError(
                f"plugin '{name}' implements the hook '{hook}', which does not exist{hint} "
                f"(known hooks: {', '.join(self.hook_names())})"
            )
        self.check_pending()

    def hook_names(self) -> list[str]:
        """The hooks a plugin can implement (the specs in ``normflow.hookspecs``)."""
        return sorted(n for n in vars(hookspecs) if n.startswith(PREFIX))


def _module_of(plugin: Any) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__module__


def identity(pm: NormflowPluginManager) -> dict[str, str]:
    """Each loaded plugin's version and origin, e.g. ``"0.1.0 (distribution
    normflow)"``: two plugins of one name and version from different
    distributions are different plugins (stores record this)."""
    return {
        name: f"{pm.versions.get(name, 'unknown')} ({pm.origins.get(name, 'unknown')})"
        for name, _ in pm.list_name_plugin()
    }


def _plugin_label(plugin: Any) -> str:
    return getattr(plugin, "__name__", None) or type(plugin).__name__


def _selected_names() -> set[str] | None:
    """Names to load, or None for "every installed plugin"."""
    raw = os.environ.get("NORMFLOW_LOAD_PLUGINS")
    if raw is not None:
        return {x.strip() for x in raw.split(",") if x.strip()}
    if os.environ.get("NORMFLOW_DISABLE_PLUGIN_AUTOLOAD"):
        return set()
    return None


def disabled_names() -> set[str]:
    """Plugins ``NORMFLOW_DISABLE_PLUGINS`` keeps out of every run."""
    raw = os.environ.get("NORMFLOW_DISABLE_PLUGINS") or ""
    return {x.strip() for x in raw.split(",") if x.strip()}


def excluded_by_environment(name: str) -> bool:
    """True when the environment keeps the installed plugin ``name`` from loading."""
    wanted = _selected_names()
    return name in disabled_names() or (wanted is not None and name not in wanted)


def plugin_name(plugin: Any, i: int = 0) -> str:
    """The name a plugin passed by hand registers under."""
    return getattr(plugin, "normflow_plugin_name", None) or _plugin_label(plugin) or f"plugin-{i}"


_reported_failures: set[str] = set()


#: The installed entry points while ``one_scan`` holds them (None: scan on every call).
_scanned: list[metadata.EntryPoint] | None = None


#: The installed entry points of the last scan, and the state of the import
#: path they were read from (each directory with its modification time).
_entry_points: tuple[tuple[tuple[str, int], ...], list[metadata.EntryPoint]] | None = None


def _path_state() -> tuple[tuple[str, int], ...]:
    """``sys.path`` with each directory's modification time: a distribution
    installed or removed changes one of them."""
    import sys

    state = []
    for entry in sys.path:
        try:
            state.append((entry, os.stat(entry or ".").st_mtime_ns))
        except (OSError, TypeError, ValueError):
            state.append((str(entry), -1))
    return tuple(state)


#: Each entry point's distribution name and version, read once per entry point
#: (by the object's identity, the object kept with them): a distribution's name
#: and its version each parse its METADATA file, about a millisecond a time,
#: for every plugin of every run's set-up.
_distribution_facts: dict[int, tuple[Any, str | None, str | None]] = {}


def _name_and_version(ep: metadata.EntryPoint) -> tuple[str | None, str | None]:
    """``(ep.dist.name, ep.dist.version)``, from one read of its metadata."""
    got = _distribution_facts.get(id(ep))
    if got is None or got[0] is not ep:
        meta = ep.dist.metadata  # type: ignore[union-attr]
        got = _distribution_facts[id(ep)] = (ep, meta["Name"], meta["Version"])
    return got[1], got[2]


def installed_entry_points() -> list[metadata.EntryPoint]:
    """The plugins installed under the ``normflow`` entry-point group, by name.
    A scan reads every installed distribution; it is made again only when the
    import path or one of its directories changed since the last (so a plugin
    installed later in the process is seen), which spares an experiment's
    worker one scan per run."""
    global _entry_points
    if _scanned is not None:
        return _scanned
    state = _path_state()
    if _entry_points is None or _entry_points[0] != state:
        from importlib import metadata  # ~20 ms: loaded when plugins are looked up, not on import

        found = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
        _entry_points = (state, found)
        _distribution_facts.clear()
    return list(_entry_points[1])


@contextlib.contextmanager
def one_scan() -> Iterator[None]:
    """Within the block, ``installed_entry_points`` scans the installed
    distributions once (a scan reads every distribution's entry points: a
    few milliseconds, which a run's set-up paid three times). Nothing is kept
    after the block, so a plugin installed later in the process is seen."""
    global _scanned
    if _scanned is not None:
        yield  # an enclosing block already holds the scan
        return
    _scanned = installed_entry_points()
    try:
        yield
    finally:
        _scanned = None


def get_plugin_manager(extra: list[Any] | None = None, autoload: bool = True) -> NormflowPluginManager:
    """A plugin manager with the selected installed plugins and ``extra``
    plugin objects (modules or instances) registered."""
    pm = NormflowPluginManager()
    if autoload:
        wanted = _selected_names()
        disabled = disabled_names()
        for ep in installed_entry_points():
            if (wanted is not None and ep.name not in wanted) or ep.name in disabled:
                continue
            if ep.dist is not None:
                dist_name, version = _name_and_version(ep)
            else:
                dist_name, version = None, "unknown"
            try:
                # a plugin's attrs classes, like normflow's, from the code cache (the
                # file written once, after the loop, for all the plugins that compiled)
                with cached_attrs_methods(store=False):
                    module = ep.load()
            except Exception as exc:  # a broken plugin must not brick the CLI
                message = (
                    f"normflow plugin '{ep.name}' (version {version}) failed to load and was "
                    f"skipped: {type(exc).__name__}: {exc}"
                )
                # said once per process, however many runs or commands set up a manager
                if message not in _reported_failures:
                    _reported_failures.add(message)
                    warnings.warn(message, PluginLoadWarning, stacklevel=2)
                continue
            if pm.has_plugin(ep.name):
                continue
            origin = f"distribution {dist_name}" if ep.dist is not None else f"module {ep.value}"
            pm.register_checked(module, ep.name, version, origin)
        store_cached_methods()
    for i, plugin in enumerate(extra or []):
        # a plugin passed by hand that autoloading already found is kept once
        name = plugin_name(plugin, i)
        if not pm.has_plugin(name) and not pm.is_registered(plugin):
            pm.register_checked(plugin, name)
        pm.explicit.add(pm.get_name(plugin) or name)
    return pm


_noted_undeclared = False


def note_undeclared_once(scenario: Any, names: Iterable[str]) -> None:
    """Say once per process that a scenario without a ``use`` list runs
    with whatever is installed."""
    global _noted_undeclared
    if _noted_undeclared:
        return
    _noted_undeclared = True
    listed = ", ".join(names) or "none"
    warnings.warn(
        f"scenario '{scenario.name}' does not list the plugins it uses, so every installed plugin "
        f"takes part ({listed}) and its results depend on what is installed; "
        f'declare them with [plugins] use = ["...", ...]',
        UndeclaredPluginsWarning,
        stacklevel=3,
    )


def select_plugins(
    pm: NormflowPluginManager,
    scenario: Any,
    autoload: bool | None,
    sections: dict[str, tuple[str, type]] | None = None,
) -> list[str]:
    """The names of the loaded plugins that take part in a run of
    ``scenario``, in the order they were loaded.

    - ``autoload=True`` (passed explicitly): every loaded plugin;
      ``autoload=False``: the plugins passed by hand. The scenario's ``use``
      list is not consulted.
    - ``autoload=None`` (the default): the scenario decides. With a ``use``
      list, the plugins it lists, those it configures (a ``[plugins.NAME]``
      table, from the file or ``--set``), those added by ``--with`` and
      those passed by hand. Without one, every loaded plugin, and a note
      (once per process) that the results depend on what is installed.

    ``--without`` (``PluginSettings.removed``) then takes plugins out. A
    listed plugin that is not installed is an error naming the installed
    ones; one the environment keeps from loading (``NORMFLOW_LOAD_PLUGINS``,
    ``NORMFLOW_DISABLE_PLUGINS``) is left out. Configuring a plugin that
    ``--without`` removes is an error.
    """
    settings = scenario.plugins
    source = getattr(scenario, "source", None)
    if settings.require:
        _warn_require_once(source or scenario.name)
    loaded = [name for name, _ in pm.list_name_plugin()]
    removed = set(settings.removed)
    if sections is None:
        sections = config_sections(pm)
    configured = sorted({sections[s][0] for s in settings.sections if s in sections})
    for section in sorted(settings.sections):
        owner = sections.get(section, (section, None))[0]
        if owner in removed:
            raise ScenarioError(
                f"plugins.{section}",
                settings.sections[section],
                f"no settings for the plugin '{owner}', which --without removes from this run",
                file=source,
            )
    installed = {ep.name for ep in installed_entry_points()}
    for where, names in (("--with", settings.added), ("--without", settings.removed)):
        for name in names:
            if name not in installed and name not in loaded:
                raise ScenarioError(where, name, f"an installed plugin (installed: {_names(installed)})")
    if autoload is not None:
        return [n for n in loaded if n not in removed]
    if settings.use is None and not settings.added:
        active = [n for n in loaded if n not in removed]
        if any(n not in pm.explicit for n in active):
            note_undeclared_once(scenario, [n for n in active if n not in pm.explicit])
        return active
    required = set(settings.require)
    for name in settings.use or ():
        if name in loaded:
            continue
        where = "plugins.require" if name in required else "plugins.use"
        if name in required:
            # the deprecated alias keeps its old rule: the plugin must be loaded
            raise ScenarioError(
                where,
                name,
                f"a loaded plugin (loaded: {_names(loaded)}; installed: {_names(installed)})",
                file=source,
            )
        if name not in installed:
            raise ScenarioError(
                where, name, f"an installed plugin (installed: {_names(installed)})", file=source
            )
        # installed, but the environment keeps it out of this process: left out
    wanted = {*(settings.use or ()), *settings.added, *configured, *pm.explicit}
    return [n for n in loaded if n in wanted and n not in removed]


_warned_require: set[str] = set()


def _warn_require_once(where: str) -> None:
    if where in _warned_require:
        return
    _warned_require.add(where)
    warnings.warn(
        f"{where}: plugins.require is deprecated; list the plugins in plugins.use instead "
        "(require will be removed in normflow 0.3)",
        NormflowDeprecationWarning,
        stacklevel=4,
    )


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def implemented_hooks(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    return sorted(
        caller.name for caller in (pm.get_hookcallers(plugin) or []) if caller.name.startswith(PREFIX)
    )


def config_sections(pm: pluggy.PluginManager) -> dict[str, tuple[str, type]]:
    """section name -> (plugin name, attrs class)."""
    out: dict[str, tuple[str, type]] = {}
    for impl in pm.hook.normflow_register_config.get_hookimpls():

        def register(section: str, cls: type, _plugin: str = impl.plugin_name) -> None:
            if section in out:
                raise PluginError(
                    f"plugin '{_plugin}' registers the config section '{section}', "
                    f"already registered by '{out[section][0]}'"
                )
            out[section] = (_plugin, cls)

        impl.function(register=register)
    return out


def event_kinds(pm: pluggy.PluginManager, active: Iterable[str] | None = None) -> dict[str, tuple[str, type]]:
    """kind -> (plugin name, event class), for the kinds the (active) plugins declare."""
    wanted = None if active is None else set(active)
    out: dict[str, tuple[str, type]] = {}
    for impl in pm.hook.normflow_register_event_kinds.get_hookimpls():
        if wanted is not None and impl.plugin_name not in wanted:
            continue

        def register(cls: type, _plugin: str = impl.plugin_name) -> None:
            if not getattr(cls, "declared", False) or "declared" not in getattr(cls, "__dict__", {}):
                raise PluginError(
                    f"plugin '{_plugin}' registers the event class {cls!r}, which is not declared; "
                    "decorate it with @normflow.events.declare_event(kind, ...)"
                )
            kind = cls.kind
            if kind in out and out[kind][1] is not cls:
                raise PluginError(
                    f"plugin '{_plugin}' registers the event kind '{kind}', already registered by '{out[kind][0]}'"
                )
            out[kind] = (_plugin, cls)

        impl.function(register=register)
    return out


def describe_plugins(pm: NormflowPluginManager) -> list[dict[str, Any]]:
    """What ``normflow plugins`` prints: one row per plugin, with the fields
    of its config section (name, type, default, range, documentation)."""
    sections = config_sections(pm)
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda x: x[0]):
        module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
        own = sorted(s for s, (p, _) in sections.items() if p == name)
        rows.append(
            {
                "name": name,
                "version": pm.versions.get(name, "unknown"),
                "module": module,
                "hooks": implemented_hooks(pm, plugin),
                "config_section": ", ".join(own) or None,
                "config": {
                    section: [
                        {**row, "default": _plain(row["default"])} for row in describe(sections[section][1])
                    ]
                    for section in own
                },
            }
        )
    return rows


def _plain(value: Any) -> Any:
    """A default as JSON can hold it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)
