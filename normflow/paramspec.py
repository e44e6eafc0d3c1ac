"""Parameter specs: a scenario's free parameters, with priors and reasons.

One TOML format serves calibration (``normflow calibrate``: the priors),
sensitivity analysis (``normflow sensitivity``: the ranges, through the
priors' quantiles) and parameter draws::

    scenario = "kitakyushu-dalian"       # optional: the scenario it was written for

    [[parameters]]
    path = "negotiations.dalian-aid.request_threshold"   # any field, as for --set
    prior = "log-uniform"                                 # uniform | log-uniform | normal | beta
    low = 1.0
    high = 20.0
    reason = "Beijing's request waits for pressure through Dalian; how much is not recorded"

Paths are those of ``--set`` (``normflow.scenario``): dotted keys, an entry
of an array of tables by its id or index (``states.japan.penetrability``,
``local_governments.kitakyushu.access``, ``local_governments.groups[0].support.mean``).
``uniform`` and ``log-uniform`` take ``low`` and ``high``; ``normal`` takes
``mean`` and ``sd`` (and, optionally, ``low``/``high`` to truncate it);
``beta`` takes ``a`` and ``b`` and is scaled to ``[low, high]`` (default
``[0, 1]``). ``name`` gives a short label (default: the path); ``integer =
true`` rounds draws (automatic when the scenario holds an integer there).
``reason`` is required: one line saying why the parameter is free and why
this prior.
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs
import numpy as np

from normflow.schema import ScenarioError

if TYPE_CHECKING:
    from normflow.scenario import Scenario

__all__ = [
    "Parameter",
    "ParameterSpec",
    "load_parameter_spec",
    "parameter_spec_from_dict",
    "scenario_data",
]

PriorKind = Literal["uniform", "log-uniform", "normal", "beta"]
PRIORS: tuple[str, ...] = ("uniform", "log-uniform", "normal", "beta")


@attrs.frozen(kw_only=True)
class Parameter:
    """One free parameter: where it is, its prior and why."""

    path: str
    prior: PriorKind
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
        """The prior as a frozen scipy.stats distribution."""
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

    def pyabc_rv(self) -> Any:
        """The prior as a pyabc random variable (the same scipy distribution)."""
        import pyabc

        if self.prior == "uniform":
            return pyabc.RV("uniform", self.low, self.high - self.low)
        if self.prior == "log-uniform":
            return pyabc.RV("loguniform", self.low, self.high)
        if self.prior == "normal":
            if self.low is None and self.high is None:
                return pyabc.RV("norm", self.mean, self.sd)
            lo = -math.inf if self.low is None else (self.low - self.mean) / self.sd
            hi = math.inf if self.high is None else (self.high - self.mean) / self.sd
            return pyabc.RV("truncnorm", lo, hi, loc=self.mean, scale=self.sd)
        low = 0.0 if self.low is None else self.low
        high = 1.0 if self.high is None else self.high
        return pyabc.RV("beta", self.a, self.b, loc=low, scale=high - low)

    def support(self) -> tuple[float, float]:
        """The smallest and largest value a draw can take (the 0.1% and 99.9%
        quantiles of an unbounded normal)."""
        dist = self.distribution()
        lo, hi = dist.support()
        if not math.isfinite(lo):
            lo = float(dist.ppf(0.001))
        if not math.isfinite(hi):
            hi = float(dist.ppf(0.999))
        return float(lo), float(hi)

    def from_unit(self, u: np.ndarray | float) -> np.ndarray:
        """Map points of [0, 1] to values through the prior's quantile
        function (so a uniform design over the unit cube follows the prior)."""
        u = np.clip(np.asarray(u, dtype=float), 1e-9, 1 - 1e-9)
        return np.asarray(self.distribution().ppf(u), dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """The prior as written (for calibration.json)."""
        keys = ("low", "high", "mean", "sd", "a", "b")
        out: dict[str, Any] = {"kind": self.prior}
        out.update({k: getattr(self, k) for k in keys if getattr(self, k) is not None})
        return out


@attrs.frozen(kw_only=True)
class ParameterSpec:
    parameters: tuple[Parameter, ...]
    scenario: str | None = None
    source: str = "<spec>"

    @property
    def names(self) -> list[str]:
        return [p.label for p in self.parameters]

    def __len__(self) -> int:
        return len(self.parameters)

    def overrides(self, values: Mapping[str, float] | Sequence[float]) -> dict[str, Any]:
        """Paths and values for the scenario loader: ``values`` by label or in order."""
        if not isinstance(values, Mapping):
            values = dict(zip(self.names, values, strict=True))
        out: dict[str, Any] = {}
        for p in self.parameters:
            x = float(values[p.label])
            out[p.path] = int(round(x)) if p.integer else x
        return out

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws from the priors, one column per parameter."""
        u = rng.random((n, len(self.parameters)))
        cols = [p.from_unit(u[:, j]) for j, p in enumerate(self.parameters)]
        return np.column_stack(cols) if cols else np.empty((n, 0))

    def bind(self, data: dict[str, Any], file: str = "<scenario>") -> ParameterSpec:
        """Check every path against a scenario's plain data: each must reach a
        field, and the prior's smallest and largest values must load. Marks
        parameters whose field the scenario holds as an integer. Errors name
        the spec entry."""
        from normflow.scenario import scenario_from_dict

        bound = []
        for i, p in enumerate(self.parameters):
            # a field that takes whole numbers refuses 0.5 with "a whole number"
            integer = p.integer
            try:
                scenario_from_dict(data, file=file, overrides={p.path: 0.5})
            except ScenarioError as exc:
                integer = integer or exc.expected == "a whole number"
            p = attrs.evolve(p, integer=integer)
            for x in p.support():
                value = int(round(x)) if integer else float(x)
                try:
                    scenario_from_dict(data, file=file, overrides={p.path: value})
                except ScenarioError as exc:
                    raise ScenarioError(
                        f"parameters[{i}]",
                        value,
                        f"a path and prior whose values {file} accepts at {p.path} ({exc.message})",
                        self.source,
                    ) from None
            bound.append(p)
        return attrs.evolve(self, parameters=tuple(bound))


def _number(data: dict[str, Any], key: str, where: str, file: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{where}.{key}", value, "a finite number", file)
    return float(value)


def _parameter(data: Any, i: int, file: str) -> Parameter:
    where = f"parameters[{i}]"
    if not isinstance(data, dict):
        raise ScenarioError(where, data, "a table with path, prior, its bounds and reason", file)
    known = {"path", "prior", "reason", "name", "low", "high", "mean", "sd", "a", "b", "integer"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(
            f"{where}.{unknown[0]}", data[unknown[0]], f"one of the keys {sorted(known)}", file
        )
    path = data.get("path")
    if not isinstance(path, str):
        raise ScenarioError(f"{where}.path", path, "a field path such as states[japan].penetrability", file)
    if not path or any(not part for part in path.split(".")):
        raise ScenarioError(f"{where}.path", path, "a dotted path such as states.japan.penetrability", file)
    prior = data.get("prior")
    if prior not in PRIORS:
        raise ScenarioError(f"{where}.prior", prior, f"one of {', '.join(PRIORS)}", file)
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ScenarioError(f"{where}.reason", reason, "one line saying why this parameter and prior", file)
    name = data.get("name", "")
    if not isinstance(name, str):
        raise ScenarioError(f"{where}.name", name, "a short label", file)
    integer = data.get("integer", False)
    if not isinstance(integer, bool):
        raise ScenarioError(f"{where}.integer", integer, "true or false", file)
    nums = {k: _number(data, k, where, file) for k in ("low", "high", "mean", "sd", "a", "b")}
    need = {
        "uniform": ("low", "high"),
        "log-uniform": ("low", "high"),
        "normal": ("mean", "sd"),
        "beta": ("a", "b"),
    }[prior]
    allowed = set(need) | ({"low", "high"} if prior in ("normal", "beta") else set())
    for key in need:
        if nums[key] is None:
            raise ScenarioError(
                f"{where}.{key}", None, f"a number (a {prior} prior needs {' and '.join(need)})", file
            )
    for key, value in nums.items():
        if value is not None and key not in allowed:
            raise ScenarioError(
                f"{where}.{key}", value, f"no {key} for a {prior} prior (it takes {sorted(allowed)})", file
            )
    low, high = nums["low"], nums["high"]
    if low is not None and high is not None and not low < high:
        raise ScenarioError(f"{where}.high", high, f"a number above low ({low:g})", file)
    if prior == "log-uniform" and not low > 0:
        raise ScenarioError(f"{where}.low", low, "a number above 0 (log-uniform)", file)
    if prior == "normal" and not nums["sd"] > 0:
        raise ScenarioError(f"{where}.sd", nums["sd"], "a standard deviation above 0", file)
    if prior == "beta":
        for key in ("a", "b"):
            if not nums[key] > 0:
                raise ScenarioError(f"{where}.{key}", nums[key], "a shape above 0", file)
        if (low is None) != (high is None):
            raise ScenarioError(
                where, data, "both low and high (the beta's range), or neither (0 to 1)", file
            )
    return Parameter(path=path, prior=prior, reason=reason.strip(), name=name, integer=integer, **nums)


def parameter_spec_from_dict(data: dict[str, Any], file: str = "<spec>") -> ParameterSpec:
    """Validate a spec given as plain data; errors name ``file`` and the entry."""
    if not isinstance(data, dict):
        raise ScenarioError("", data, "a table", file)
    unknown = sorted(set(data) - {"scenario", "parameters", "description"})
    if unknown:
        raise ScenarioError(unknown[0], data[unknown[0]], "scenario, description or [[parameters]]", file)
    raw = data.get("parameters")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("parameters", raw, "at least one [[parameters]] table", file)
    params = tuple(_parameter(item, i, file) for i, item in enumerate(raw))
    seen: dict[str, int] = {}
    for i, p in enumerate(params):
        for key in {p.label, p.path}:
            if key in seen and seen[key] != i:
                raise ScenarioError(
                    f"parameters[{i}]", key, f"a parameter not already given at parameters[{seen[key]}]", file
                )
            seen[key] = i
    scenario = data.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise ScenarioError("scenario", scenario, "a bundled scenario name or a path", file)
    return ParameterSpec(parameters=params, scenario=scenario, source=file)


def load_parameter_spec(path: str | Path) -> ParameterSpec:
    """Read a spec file: a path, or the name of a bundled spec (``kitakyushu-dalian``)."""
    bundled = bundled_specs()
    p = bundled.get(str(path), Path(path))
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        names = ", ".join(sorted(bundled))
        raise ScenarioError(
            "--params", str(path), f"a readable parameter spec file or a bundled one ({names}): {exc}"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", "<TOML>", f"valid TOML ({exc})", file=str(p)) from None
    return parameter_spec_from_dict(data, file=str(p))


def bundled_specs() -> dict[str, Path]:
    """Bundled parameter specs by name (one per bundled scenario)."""
    from importlib import resources

    root = resources.files("normflow") / "scenarios" / "params"
    try:
        entries = list(root.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return {p.name.removesuffix(".toml"): Path(str(p)) for p in entries if p.name.endswith(".toml")}


def scenario_data(name_or_path: str | Path) -> tuple[dict[str, Any], str, str]:
    """A scenario's plain data, its text and its file (for applying parameter values)."""
    from normflow.scenario import resolve_scenario_path

    path = resolve_scenario_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError("", str(path), f"a readable UTF-8 file ({exc})", file=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", "<TOML>", f"valid TOML ({exc})", file=str(path)) from None
    return data, text, str(path)


def apply_values(data: dict[str, Any], spec: ParameterSpec, values: Mapping[str, float]) -> dict[str, Any]:
    """A copy of the plain scenario data with the parameters set to ``values``."""
    from normflow.scenario import _apply_override

    out = copy.deepcopy(data)
    for path, value in spec.overrides(values).items():
        _apply_override(out, path, value, "<parameters>")
    return out


def scenario_with(
    data: dict[str, Any], spec: ParameterSpec, values: Mapping[str, float], file: str = "<scenario>"
) -> Scenario:
    """The validated scenario with the parameters set to ``values``."""
    from normflow.scenario import scenario_from_dict

    return scenario_from_dict(data, file=file, overrides=spec.overrides(values))
