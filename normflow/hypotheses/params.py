"""The parameter specs the hypotheses draw from: each scenario's free
parameters with their priors (the TOML format of ``normflow calibrate``
and ``normflow sensitivity``: ``[[parameters]]`` with ``path``, ``prior``
-- uniform, log-uniform, normal, beta --, its bounds and a ``reason``).

The bundled spec of a scenario is ``normflow/scenarios/params/<name>.toml``.
When ``normflow.paramspec`` (the calibration's reader) is installed, specs
are read and checked by it; otherwise by the small reader below, which
accepts the same file format and draws the same way (independent uniform
numbers mapped through each prior's quantile function). It is meant to be
replaced by ``normflow.paramspec`` and kept no longer than that.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from normflow.schema import ScenarioError

PRIORS = ("uniform", "log-uniform", "normal", "beta")


@attrs.frozen(kw_only=True)
class _Parameter:
    path: str
    prior: str
    reason: str
    name: str = ""
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None
    a: float | None = None
    b: float | None = None
    integer: bool = False

    @property
    def label(self) -> str:
        return self.name or self.path

    def distribution(self) -> Any:
        from scipy import stats

        if self.prior == "uniform":
            return stats.uniform(self.low, self.high - self.low)
        if self.prior == "log-uniform":
            return stats.loguniform(self.low, self.high)
        if self.prior == "normal":
            if self.low is None and self.high is None:
                return stats.norm(self.mean, self.sd)
            lo = -math.inf if self.low is None else (self.low - self.mean) / self.sd
            hi = math.inf if self.high is None else (self.high - self.mean) / self.sd
            return stats.truncnorm(lo, hi, loc=self.mean, scale=self.sd)
        low = 0.0 if self.low is None else self.low
        high = 1.0 if self.high is None else self.high
        return stats.beta(self.a, self.b, loc=low, scale=high - low)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        u = np.clip(np.asarray(u, dtype=float), 1e-9, 1 - 1e-9)
        return np.asarray(self.distribution().ppf(u), dtype=float)


@attrs.frozen(kw_only=True)
class _Spec:
    parameters: tuple[_Parameter, ...]
    scenario: str | None = None
    source: str = "<spec>"

    @property
    def names(self) -> list[str]:
        return [p.label for p in self.parameters]

    def overrides(self, values: Mapping[str, float] | Sequence[float]) -> dict[str, Any]:
        if not isinstance(values, Mapping):
            values = dict(zip(self.names, values, strict=True))
        return {
            p.path: int(round(float(values[p.label]))) if p.integer else float(values[p.label])
            for p in self.parameters
        }

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        u = rng.random((n, len(self.parameters)))
        cols = [p.from_unit(u[:, j]) for j, p in enumerate(self.parameters)]
        return np.column_stack(cols) if cols else np.empty((n, 0))

    def bind(self, data: dict[str, Any], file: str = "<scenario>") -> _Spec:
        """Check each path against the scenario; mark whole-number fields."""
        from normflow.scenario import scenario_from_dict

        bound = []
        for i, p in enumerate(self.parameters):
            integer = p.integer
            try:
                scenario_from_dict(data, file=file, overrides={p.path: 0.5})
            except ScenarioError as exc:
                integer = integer or exc.expected == "a whole number"
                if not integer:
                    raise ScenarioError(
                        f"parameters[{i}].path", p.path, f"a field of {file} ({exc.message})", self.source
                    ) from None
            bound.append(attrs.evolve(p, integer=integer))
        return attrs.evolve(self, parameters=tuple(bound))


def _parameter(item: Any, i: int, file: str) -> _Parameter:
    where = f"parameters[{i}]"
    if not isinstance(item, dict):
        raise ScenarioError(where, item, "a table with path, prior, its bounds and reason", file)
    path, prior, reason = item.get("path"), item.get("prior"), item.get("reason")
    if not isinstance(path, str) or not path:
        raise ScenarioError(f"{where}.path", path, "a field path such as states.japan.penetrability", file)
    if prior not in PRIORS:
        raise ScenarioError(f"{where}.prior", prior, f"one of {', '.join(PRIORS)}", file)
    if not isinstance(reason, str) or not reason.strip():
        raise ScenarioError(f"{where}.reason", reason, "one line saying why this parameter and prior", file)
    nums: dict[str, float | None] = {}
    for key in ("low", "high", "mean", "sd", "a", "b"):
        value = item.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ScenarioError(f"{where}.{key}", value, "a number", file)
        nums[key] = None if value is None else float(value)
    need = {
        "uniform": ("low", "high"),
        "log-uniform": ("low", "high"),
        "normal": ("mean", "sd"),
        "beta": ("a", "b"),
    }
    for key in need[prior]:
        if nums[key] is None:
            raise ScenarioError(f"{where}.{key}", None, f"a number (a {prior} prior needs it)", file)
    if nums["low"] is not None and nums["high"] is not None and not nums["low"] < nums["high"]:
        raise ScenarioError(f"{where}.high", nums["high"], "a number above low", file)
    return _Parameter(
        path=path,
        prior=prior,
        reason=reason.strip(),
        name=str(item.get("name", "")),
        integer=bool(item.get("integer", False)),
        **nums,
    )


def _read(path: Path) -> _Spec:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError("--params", str(path), f"a readable parameter spec ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", "<TOML>", f"valid TOML ({exc})", file=str(path)) from None
    raw = data.get("parameters")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("parameters", raw, "at least one [[parameters]] table", str(path))
    return _Spec(
        parameters=tuple(_parameter(item, i, str(path)) for i, item in enumerate(raw)),
        scenario=data.get("scenario"),
        source=str(path),
    )


def spec_path(scenario: str) -> Path | None:
    """The bundled spec of a scenario, if there is one."""
    from importlib import resources

    p = Path(str(resources.files("normflow") / "scenarios" / "params" / f"{scenario}.toml"))
    return p if p.is_file() else None


def load_spec(path: str | Path, scenario_text: str, scenario_file: str) -> Any:
    """A spec read from ``path`` and bound to the scenario: every path
    checked, whole-number fields marked. Through ``normflow.paramspec``
    when it is installed."""
    data = tomllib.loads(scenario_text)
    try:
        from normflow.paramspec import load_parameter_spec  # type: ignore[import-not-found]
    except ImportError:
        return _read(Path(path)).bind(data, scenario_file)
    return load_parameter_spec(path).bind(data, scenario_file)
