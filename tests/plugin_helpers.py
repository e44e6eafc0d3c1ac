"""Helpers for the plugin tests: small plugins that record or press, a fake
installed distribution with entry-point metadata, and the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import normflow


class Recorder:
    """A plugin that keeps every event of the given classes, in order."""

    normflow_plugin_name = "recorder"

    def __init__(self, *kinds: type):
        self.kinds = kinds or (normflow.events.Event,)
        self.events: list[Any] = []

    @normflow.hookimpl
    def normflow_register_handlers(self, register):
        for kind in self.kinds:
            register(kind, self.events.append)

    def of(self, kind: type, **fields: Any) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items())
        ]


class Presser:
    """A plugin that presses ``target`` on ``issue`` with ``amount`` every
    ``every`` days from ``start`` until ``stop`` (a controlled pressure
    schedule, independent of the core processes)."""

    normflow_plugin_name = "presser"

    def __init__(self, target: str, issue: str, amount: float, every: float, start: float, stop: float):
        self.target, self.issue, self.amount = target, issue, amount
        self.every, self.start, self.stop = every, start, stop

    @normflow.hookimpl
    def normflow_register_processes(self, sim, register):
        def press():
            env = sim.env
            yield env.timeout(self.start)
            while env.now <= min(self.stop, sim.horizon):
                sim.apply_pressure(env.now, "test", self.target, self.issue, "test", "moral", self.amount)
                if env.now + self.every > sim.horizon:
                    return
                yield env.timeout(self.every)

        register("press", press)


def simulate(scenario_text: str, plugins: Iterable[Any], seed: int = 1, **kwargs: Any):
    """Run a scenario given as TOML text with exactly these plugins."""
    sim = normflow.Simulation(
        normflow.loads_scenario(scenario_text), seed, plugins=list(plugins), autoload=False, **kwargs
    )
    return sim, sim.run()


def toml_value(value: Any) -> str:
    """A Python value written as TOML (numbers, strings, inline tables)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + "}"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def fake_distribution(
    root: Path, module: str, source: str, *, entry: str | None = None, version: str = "1.2.3"
) -> Path:
    """Write ``module.py`` and a ``*.dist-info`` declaring it under the
    ``normflow`` entry-point group into ``root``: what pip would leave behind,
    without pip. Put ``root`` on PYTHONPATH to install it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[normflow]\n{entry or module} = {module}\n", encoding="utf-8")
    return root


def normflow_cli(
    *args: str, pythonpath: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``normflow`` command in a fresh interpreter, with no plugin
    selection inherited from the caller's environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NORMFLOW_")}
    if pythonpath is not None:
        environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(pythonpath), environ.get("PYTHONPATH")) if p)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", "from normflow.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
