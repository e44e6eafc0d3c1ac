"""Reading a calibrated posterior: the weighted particles a calibration
directory holds (``normflow calibrate --out DIR``, or one shipped under
``normflow/scenarios/posteriors/<case>/``), for the studies that draw
parameters from it (``normflow validate --posterior``, the hypotheses over
parameter draws).

A calibration directory holds ``manifest.json`` (naming the scenario and
its parameters: ``name``, ``path`` and, for whole numbers, ``integer``)
and ``posterior.csv`` (a column per parameter name and ``weight``). How
the particles are resampled, and from which seed, is each study's own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from normflow.schema import ScenarioError


@attrs.frozen
class Posterior:
    """A calibration's weighted particles: ``values`` is particles x
    parameters (in the manifest's order), ``weights`` sum to 1."""

    directory: Path
    scenario: str
    parameters: tuple[dict[str, Any], ...]
    values: np.ndarray = attrs.field(eq=False)
    weights: np.ndarray = attrs.field(eq=False)

    @property
    def paths(self) -> list[str]:
        """The parameters' scenario paths."""
        return [p["path"] for p in self.parameters]

    @property
    def integer(self) -> frozenset[str]:
        """The paths of the parameters that take whole numbers."""
        return frozenset(p["path"] for p in self.parameters if p.get("integer"))

    def resample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` particle indices drawn with replacement by weight."""
        return rng.choice(len(self.weights), size=n, p=self.weights)

    def overrides(self, row: int) -> dict[str, Any]:
        """Particle ``row`` as scenario path -> value (whole numbers rounded)."""
        integer = self.integer
        return {
            path: int(round(v)) if path in integer else float(v)
            for path, v in zip(self.paths, self.values[row], strict=True)
        }


def read_posterior(directory: str | Path, scenario: str) -> Posterior:
    """The posterior of the calibration of ``scenario`` in ``directory``; a
    directory that is not one, or calibrates another scenario, is one
    ``ScenarioError`` naming ``--posterior``."""
    import pandas as pd

    d = Path(directory)
    try:
        manifest = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
        table = pd.read_csv(d / "posterior.csv")
    except (OSError, ValueError) as exc:
        raise ScenarioError(
            "--posterior", str(d), f"a calibration directory with posterior.csv ({exc})"
        ) from None
    if manifest.get("scenario") != scenario:
        raise ScenarioError(
            "--posterior", str(d), f"a calibration of {scenario} (it calibrates {manifest.get('scenario')})"
        )
    params = manifest.get("parameters") or []
    missing = [p["name"] for p in params if p["name"] not in table]
    if missing or "weight" not in table or not params:
        raise ScenarioError(
            "--posterior", str(d), f"posterior.csv with the columns weight, {', '.join(missing)}"
        )
    w = table["weight"].to_numpy(dtype=float)
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ScenarioError("--posterior", str(d), "posterior.csv with weights >= 0, not all 0")
    values = table[[p["name"] for p in params]].to_numpy(dtype=float)
    return Posterior(d, scenario, tuple(dict(p) for p in params), values, w / w.sum())


def bundled_posteriors() -> dict[str, Path]:
    """The calibrated posteriors shipped with normflow, by case name
    (``normflow/scenarios/posteriors/<case>/``)."""
    from importlib import resources

    root = Path(str(resources.files("normflow") / "scenarios" / "posteriors"))
    if not root.is_dir():
        return {}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "posterior.csv").is_file()}


def resolve_posterior(directory: str | Path) -> Path:
    """A calibration directory, or the name of a bundled posterior."""
    d = Path(directory)
    if not d.is_dir():
        shipped = bundled_posteriors()
        if str(directory) in shipped:
            return shipped[str(directory)]
    return d
