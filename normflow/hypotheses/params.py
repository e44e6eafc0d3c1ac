"""The parameter specs the hypotheses draw from: each scenario's free
parameters with their priors, in the format of ``normflow calibrate`` and
``normflow sensitivity`` (``normflow.paramspec``: ``[[parameters]]`` with
``path``, ``prior`` -- uniform, log-uniform, normal, beta --, its bounds
and a ``reason``). The bundled spec of a scenario is
``normflow/scenarios/params/<name>.toml``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def spec_path(scenario: str) -> Path | None:
    """The bundled spec of a scenario, if there is one."""
    from normflow.paramspec import bundled_specs

    return bundled_specs().get(scenario)


def load_spec(path: str | Path, scenario_text: str, scenario_file: str) -> Any:
    """The spec read from ``path`` and bound to the scenario: every path
    checked against it, whole-number fields marked."""
    from normflow.paramspec import load_parameter_spec

    return load_parameter_spec(path).bind(tomllib.loads(scenario_text), scenario_file)
