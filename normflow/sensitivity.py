"""Global sensitivity analysis of a scenario's outputs to its free parameters
(SALib: Morris elementary effects, Sobol indices).

The parameters and their ranges come from a parameter spec
(``normflow.paramspec``): SALib designs points in the unit cube, and each
coordinate goes through its parameter's prior quantile function, so a
log-uniform prior is explored evenly in its logarithm and a beta prior
where its mass is. Each design point runs ``replications`` times with
common random numbers (replication k has the same seed at every point),
so differences between points come from the parameters, not the draws.

Outputs, per design point, averaged over its replications:

* ``reached:<milestone>``: the share of runs that reach it;
* ``time:<milestone>``: its restricted mean time in days (a run that never
  reaches it counts the whole run);
* ``target:<name>``: a target's deviation from the record, in tolerances;
* ``met:<name>``: the share of runs in which a target holds (what
  posterior-predictive validation counts);
* ``distance``: the root mean square of those deviations (what
  calibration minimizes);
* ``metrics.<name>``: any numeric run metric.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import numpy as np

from normflow.paramspec import ParameterSpec, load_parameter_spec, scenario_data
from normflow.schema import ScenarioError

__all__ = ["SensitivityError", "SensitivityResult", "available_outputs", "sensitivity"]

Method = Literal["morris", "sobol"]


class SensitivityError(Exception):
    """A sensitivity analysis that cannot run (a message for the user)."""


@attrs.frozen
class SensitivityResult:
    method: str
    outputs: list[dict[str, Any]]
    runs: int
    points: int
    replications: int
    design: Any = attrs.field(eq=False, repr=False)  # DataFrame: parameters and outputs per point

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "runs": self.runs,
            "points": self.points,
            "replications": self.replications,
            "outputs": self.outputs,
        }


# -- one design point (in a worker) ----------------------------------------------------------

_MANAGER: list[Any] = []


def _plugin_manager() -> Any:
    """One plugin manager per worker process (entry-point discovery is slow)."""
    if not _MANAGER:
        from normflow.plugins import get_plugin_manager

        _MANAGER.append(get_plugin_manager())
    return _MANAGER[0]


def _outputs_of(result: Any, targets: tuple[Any, ...], horizon: float) -> dict[str, float]:
    from normflow.targets import deviations, distance, observed_values, statistics, target_name

    out: dict[str, float] = {}
    for name, t in result.milestones.items():
        out[f"reached:{name}"] = 0.0 if t is None else 1.0
        out[f"time:{name}"] = horizon if t is None else float(t)
    if targets:
        stats = statistics(targets, result)
        obs = observed_values(targets, result.start)
        for name, d in deviations(targets, stats, obs).items():
            out[f"target:{name}"] = float(d)
        for t in targets:
            out[f"met:{target_name(t)}"] = 1.0 if t.holds(result) else 0.0
        out["distance"] = distance(targets, stats, obs)
    for key, value in _flat(result.metrics, "metrics").items():
        out[key] = value
    return out


def _flat(value: Any, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}"))
    elif isinstance(value, bool | int | float | np.number) and math.isfinite(float(value)):
        out[prefix] = float(value)
    return out


def evaluate_points(shared: dict[str, Any], key: str, seed: int, t: int, chunk: list[Any]) -> list[Any]:  # noqa: ARG001
    """Run design points ``chunk`` (each: index, values) ``replications``
    times; return (index, averaged outputs). The signature matches the
    executors' task form (payload, key, seed, tag, items)."""
    from normflow.scenario import scenario_from_dict
    from normflow.simulation import Simulation

    spec: ParameterSpec = shared["spec"]
    results = []
    for index, values in chunk:
        scenario = scenario_from_dict(shared["data"], file=shared["file"], overrides=spec.overrides(values))
        sums: dict[str, float] = {}
        for k in range(shared["replications"]):
            run = Simulation(
                scenario, np.random.SeedSequence(seed, spawn_key=(k,)), plugin_manager=_plugin_manager()
            ).run()
            for name, v in _outputs_of(run, scenario.targets, scenario.horizon).items():
                sums[name] = sums.get(name, 0.0) + v
        results.append((index, {k: v / shared["replications"] for k, v in sums.items()}))
    return results


# -- the analysis -----------------------------------------------------------------------


def available_outputs(scenario: Any) -> list[str]:
    """The outputs of ``scenario`` a run produces (from a short run)."""
    from normflow.simulation import Simulation

    run = Simulation(scenario, 0).run()
    return sorted(_outputs_of(run, scenario.targets, scenario.horizon))


def _default_outputs(scenario: Any, names: list[str]) -> list[str]:
    """Milestones named by the facts and targets (share and time), the
    targets' deviations and the overall distance; every milestone's time
    when nothing is named."""
    named: list[str] = []
    for item in (*scenario.facts, *scenario.targets):
        named.extend(m for m in getattr(item, "milestones", lambda: ())() if not m.endswith("*"))
    chosen = [f"{kind}:{m}" for m in dict.fromkeys(named) for kind in ("reached", "time")]
    chosen += [n for n in names if n.startswith(("target:", "met:"))]
    chosen += ["distance"] if "distance" in names else []
    if not chosen:
        chosen = [n for n in names if n.startswith("time:")]
    return [n for n in chosen if n in names]


def sensitivity(
    scenario: str | Path,
    params: str | Path | ParameterSpec,
    *,
    method: Method = "morris",
    n: int = 10,
    outputs: Sequence[str] | None = None,
    replications: int = 2,
    workers: int = 1,
    scheduler: Any = None,
    seed: int = 0,
    levels: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Morris (``n`` trajectories) or Sobol (``n`` base samples, Saltelli's
    scheme: n * (d + 2) points) over the spec's parameters; returns, per
    output, the parameters ranked by mu* (Morris) or total index ST (Sobol).
    Raises ``ScenarioError`` for a bad scenario or spec, ``SensitivityError``
    for a bad setting."""
    import pandas as pd

    from normflow.scenario import scenario_from_dict

    if method not in ("morris", "sobol"):
        raise SensitivityError(f"--method {method}: expected morris or sobol")
    if n < 1 or replications < 1:
        raise SensitivityError("-n and --replications must be at least 1")
    data, _, file = scenario_data(scenario)
    base = scenario_from_dict(data, file=file)
    spec = params if isinstance(params, ParameterSpec) else load_parameter_spec(params)
    spec = spec.bind(data, file)
    d = len(spec.parameters)
    if method == "morris" and d < 2:
        raise SensitivityError("Morris screening needs at least two parameters in the spec")
    names = available_outputs(base)
    if outputs:
        unknown = [o for o in outputs if o not in names]
        if unknown:
            raise SensitivityError(
                f"--outputs {unknown[0]}: not an output of {base.name}; it has {', '.join(names)}"
            )
        wanted = list(outputs)
    else:
        wanted = _default_outputs(base, names)
    problem = {"num_vars": d, "names": spec.names, "bounds": [[0.0, 1.0]] * d}
    unit = _design(method, problem, n, seed, levels)
    values = np.column_stack([p.from_unit(unit[:, j]) for j, p in enumerate(spec.parameters)])
    rows = _run_points(values, spec, data, file, replications, seed, workers, scheduler, on_progress)
    frame = pd.DataFrame(values, columns=spec.names)
    table = pd.DataFrame(rows)
    for name in wanted:
        frame[name] = table[name].to_numpy(dtype=float) if name in table else np.nan
    results = [
        {"name": name, "parameters": _analyze(method, problem, unit, frame[name].to_numpy(), seed, levels)}
        for name in wanted
    ]
    return SensitivityResult(method, results, len(values) * replications, len(values), replications, frame)


def _design(method: str, problem: dict[str, Any], n: int, seed: int, levels: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, n, num_levels=levels, seed=seed)
    import warnings

    from SALib.sample import sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n need not be a power of two for a screening
        return sobol.sample(problem, n, calc_second_order=False, seed=seed)


def _clean(x: Any) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


def _analyze(
    method: str, problem: dict[str, Any], unit: np.ndarray, y: np.ndarray, seed: int, levels: int
) -> list[dict[str, Any]]:
    import warnings

    y = np.nan_to_num(np.asarray(y, dtype=float), nan=0.0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if method == "morris":
            from SALib.analyze import morris

            si = morris.analyze(problem, unit, y, num_levels=levels, seed=seed)
            items = [
                {
                    "name": name,
                    "mu_star": _clean(si["mu_star"][j]),
                    "sigma": _clean(si["sigma"][j]),
                    "mu_star_conf": _clean(si["mu_star_conf"][j]),
                }
                for j, name in enumerate(problem["names"])
            ]
            key = "mu_star"
        else:
            from SALib.analyze import sobol

            if np.var(y) == 0:
                items = [
                    {"name": name, "S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0}
                    for name in problem["names"]
                ]
            else:
                si = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
                items = [
                    {
                        "name": name,
                        "S1": _clean(si["S1"][j]),
                        "S1_conf": _clean(si["S1_conf"][j]),
                        "ST": _clean(si["ST"][j]),
                        "ST_conf": _clean(si["ST_conf"][j]),
                    }
                    for j, name in enumerate(problem["names"])
                ]
            key = "ST"
    return sorted(items, key=lambda item: -(item[key] or 0.0))


def _run_points(
    values: np.ndarray,
    spec: ParameterSpec,
    data: dict[str, Any],
    file: str,
    replications: int,
    seed: int,
    workers: int,
    scheduler: Any,
    on_progress: Callable[[int, int], None] | None,
) -> list[dict[str, float]]:
    from normflow.executors import InProcess, make_executor

    try:
        ex = make_executor(workers, scheduler)
    except RuntimeError as exc:
        raise SensitivityError(str(exc)) from None
    points = [(i, dict(zip(spec.names, map(float, row), strict=True))) for i, row in enumerate(values)]
    shared_data = {"spec": spec, "data": data, "file": file, "replications": replications}
    chunk = 1 if isinstance(ex, InProcess) else max(1, min(8, len(points) // (4 * max(1, workers))))
    chunks = [points[i : i + chunk] for i in range(0, len(points), chunk)]
    out: dict[int, dict[str, float]] = {}
    pending: list[Any] = []
    try:
        shared = ex.share(shared_data)
        todo = iter(chunks)
        limit = 1 if isinstance(ex, InProcess) else 2 * max(1, workers)
        while True:
            while len(pending) < limit:
                c = next(todo, None)
                if c is None:
                    break
                pending.append(ex.submit(evaluate_points, shared, "", seed, 0, c))
            if not pending:
                break
            for fut in ex.wait_first(pending):
                pending.remove(fut)
                for index, row in fut.result():
                    out[index] = row
                if on_progress is not None:
                    on_progress(len(out), len(points))
    finally:
        ex.cancel(pending)
        ex.close()
    return [out[i] for i in range(len(points))]


# -- outputs on disk -------------------------------------------------------------------------


def write_sensitivity(result: SensitivityResult, directory: str | Path) -> list[Path]:
    """results.json, design.csv and one figure per output in ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    figures = directory / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    result.design.to_csv(directory / "design.csv", index=False)
    written = []
    for k, output in enumerate(result.outputs):
        items = output["parameters"]
        labels = [p["name"] for p in items][::-1]
        fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(items)))
        if result.method == "morris":
            ax.barh(
                labels, [p["mu_star"] or 0 for p in items][::-1], xerr=[p["sigma"] or 0 for p in items][::-1]
            )
            ax.set_xlabel("mu* (bar) and sigma (line)")
        else:
            y = np.arange(len(items))
            st = [p["ST"] or 0 for p in items][::-1]
            s1 = [p["S1"] or 0 for p in items][::-1]
            ax.barh(y + 0.2, st, height=0.4, xerr=[p["ST_conf"] or 0 for p in items][::-1], label="ST")
            ax.barh(y - 0.2, s1, height=0.4, xerr=[p["S1_conf"] or 0 for p in items][::-1], label="S1")
            ax.set_yticks(y, labels)
            ax.legend(fontsize=8)
            ax.set_xlabel("Sobol index (95% interval)")
        ax.set_title(output["name"], fontsize=9)
        fig.tight_layout()
        path = figures / f"{k:02d}-{_slug(output['name'])}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")[:80] or "output"


__all__ += ["ScenarioError", "write_sensitivity"]
