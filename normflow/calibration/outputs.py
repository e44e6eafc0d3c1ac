"""What a calibration writes: posterior.csv, calibration.json, the
calibrated scenario and figures."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from normflow.paramspec import ParameterSpec, apply_values
from normflow.targets import Target, target_name

__all__ = ["posterior_table", "read_posterior", "to_toml", "weighted_quantile", "write_outputs"]

POSTERIOR = "posterior.csv"
SUMMARY = "calibration.json"


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of weighted values (the inverse of the weighted
    empirical distribution function, interpolated at the midpoints)."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    total = w.sum()
    if total <= 0 or len(v) == 0:
        return math.nan
    cum = (np.cumsum(w) - 0.5 * w) / total
    return float(np.interp(q, cum, v))


def posterior_table(history: Any, spec: ParameterSpec, logged: tuple[str, ...] = ()) -> Any:
    """The last generation's particles: parameters (on their natural scale:
    those sampled on the log scale, ``logged``, exponentiated as the model
    did), weight and distance."""
    import pandas as pd

    t = history.max_t
    df, w = history.get_distribution(m=0, t=t)

    def column(name: str) -> list[float]:
        values = df[name].to_numpy(dtype=float)
        return [math.exp(v) for v in values] if name in logged else [float(v) for v in values]

    table = pd.DataFrame({p.label: column(p.label) for p in spec.parameters})
    table.insert(0, "particle", df.index.to_numpy())
    table["weight"] = np.asarray(w, dtype=float)
    distances = history.get_weighted_distances(t=t)
    if len(distances) == len(table):
        table["distance"] = distances["distance"].to_numpy(dtype=float)
    table.insert(1, "generation", t)
    return table


def read_posterior(directory: str | Path) -> Any:
    """posterior.csv of a calibration directory (weighted particles)."""
    import pandas as pd

    path = Path(directory) / POSTERIOR
    return pd.read_csv(path)


def _summary(table: Any, spec: ParameterSpec) -> list[dict[str, Any]]:
    out = []
    w = table["weight"].to_numpy()
    for p in spec.parameters:
        x = table[p.label].to_numpy()
        median, low, high = (weighted_quantile(x, w, q) for q in (0.5, 0.05, 0.95))
        out.append(
            {
                "name": p.label,
                "path": p.path,
                "prior": p.to_dict(),
                "reason": p.reason,
                "posterior": {"median": median, "low": low, "high": high},
            }
        )
    return out


def write_outputs(
    directory: Path,
    history: Any,
    base: Any,
    text: str,
    data: dict[str, Any],
    spec: ParameterSpec,
    targets: tuple[Target, ...],
    computed: int,
    wall: float,
    workers: int,
    scheduler: Any,
    replications: int = 1,
    distance_kind: str = "rms",
    figures: bool = True,
    horizon: dict[str, Any] | None = None,
    transition: str = "normal",
    logged: tuple[str, ...] = (),
) -> dict[str, Any]:
    pops = history.get_all_populations()
    gens = pops[pops.t >= 0].sort_values("t")
    table = posterior_table(history, spec, logged)
    tmp = directory / (POSTERIOR + ".tmp")
    table.to_csv(tmp, index=False)
    tmp.replace(directory / POSTERIOR)
    params = _summary(table, spec)
    summary: dict[str, Any] = {
        "scenario": base.name,
        "generations": int(history.max_t + 1),
        # a calibration stopped by a signal other than Ctrl-C could not record its runs: never fewer
        # than the candidates pyabc stored, each run ``replications`` times
        "runs": max(int(computed), int(pops.samples.sum()) * replications),
        "evaluations": int(pops.samples.sum()),
        "epsilon": [float(e) for e in gens.epsilon],
        "acceptance": [float(p) / float(s) for p, s in zip(gens.particles, gens.samples, strict=True)],
        "population": int(gens.particles.iloc[-1]),
        "replications": replications,
        "distance": distance_kind,
        # each generation's effective sample size, 1 / sum(w^2): how many particles the weights amount to
        "ess": [_ess(history, int(t)) for t in gens.t],
        "horizon": horizon,
        "transition": transition,
        "log_space": list(logged),
        "parameters": params,
        "targets": [
            {"name": target_name(t), "observed": t.observed(base.start), "tolerance": _tolerance(t)}
            for t in targets
        ],
        "wall_seconds": round(wall, 3),
        "workers": "dask" if scheduler is not None else workers,
    }
    (directory / SUMMARY).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    medians = {p["name"]: p["posterior"]["median"] for p in params}
    calibrated = apply_values(data, spec, medians)
    scenario_path = directory / f"{base.name}-calibrated.toml"
    header = _header(base, spec, params, summary)
    scenario_path.write_text(header + to_toml(calibrated), encoding="utf-8")
    try:
        if figures:
            _figures(directory / "figures", table, spec, gens)
    except Exception as exc:  # a figure never costs the results
        import warnings

        warnings.warn(f"figures not written: {type(exc).__name__}: {exc}", stacklevel=2)
    return summary


def _ess(history: Any, t: int) -> float:
    _, w = history.get_distribution(m=0, t=t)
    w = np.asarray(w, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum())


def _tolerance(t: Target) -> Any:
    from normflow.targets import MilestoneDate

    if isinstance(t, MilestoneDate):
        return {"days": t.tolerance}
    lo, hi = t.range
    return {"low": lo, "high": hi}


def _header(base: Any, spec: ParameterSpec, params: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    lines = [
        f"# {base.name}, calibrated by `normflow calibrate` (ABC-SMC, pyabc) on {dt.date.today().isoformat()}",
        f"# from {base.source} with the parameter spec {spec.source}:",
        f"# {summary['generations']} generations of {summary['population']} particles, {summary['runs']} runs,",
        f"# final epsilon {summary['epsilon'][-1]:.4g} (deviation from the targets in tolerances, {summary['distance']}",
        f"# over targets, root mean square over {summary['replications']} run(s) per particle).",
        "# Each free parameter is set to its posterior median; the posterior (weighted",
        "# median, 5th and 95th percentiles) and the prior:",
    ]
    for p in params:
        post = p["posterior"]
        prior = ", ".join(f"{k}={v}" for k, v in p["prior"].items() if k != "kind")
        lines.append(
            f"#   {p['path']} = {post['median']:.6g}   [{post['low']:.4g}, {post['high']:.4g}]"
            f"   prior {p['prior']['kind']}({prior})"
        )
    lines.append("# Comments of the source file are not kept; see it for the reasons behind other values.")
    return "\n".join(lines) + "\n\n"


# -- a small TOML writer (the scenario's plain data back to text) ------------------------------


def _key(k: str) -> str:
    import re

    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def _table(lines: list[str], name: str, table: dict[str, Any], array: bool = False) -> None:
    scalars = {
        k: v for k, v in table.items() if not (isinstance(v, dict) and not array) and not _is_table_array(v)
    }
    if name:
        lines.append("")
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if k in scalars:
            continue
        sub = f"{name}.{_key(k)}" if name else _key(k)
        if _is_table_array(v):
            for item in v:
                _table(lines, sub, item, array=True)
        else:
            _table(lines, sub, v)


def to_toml(data: dict[str, Any]) -> str:
    """Plain data as TOML text (tables as sections, arrays of tables as
    ``[[...]]``, tables inside those inline)."""
    lines: list[str] = []
    _table(lines, "", data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _figures(directory: Path, table: Any, spec: ParameterSpec, gens: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    n = len(spec.parameters)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    w = table["weight"].to_numpy()
    for ax, p in zip(axes.flat, spec.parameters, strict=False):
        lo, hi = p.support()
        log = p.prior == "log-uniform"
        grid = np.geomspace(lo, hi, 200) if log else np.linspace(lo, hi, 200)
        bins = np.geomspace(lo, hi, 25) if log else np.linspace(lo, hi, 25)
        ax.hist(table[p.label], bins=bins, weights=w, density=True, alpha=0.6, label="posterior")
        ax.plot(grid, p.distribution().pdf(grid), color="black", lw=1, label="prior")
        if log:
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short ranges
        ax.set_title(p.label, fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("posterior marginals (weighted histogram) against priors", fontsize=10)
    fig.tight_layout()
    fig.savefig(directory / "posterior.png", dpi=100)
    plt.close(fig)

    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3))
    t = gens.t.to_numpy()
    a.plot(t, gens.epsilon.to_numpy(), marker="o")
    a.set_xlabel("generation")
    a.set_ylabel("epsilon")
    a.set_title("acceptance threshold", fontsize=9)
    b.plot(t, gens.particles.to_numpy() / gens.samples.to_numpy(), marker="o")
    b.set_xlabel("generation")
    b.set_ylabel("accepted / evaluated")
    b.set_title("acceptance rate", fontsize=9)
    for ax in (a, b):
        ax.set_xticks(t)
    fig.tight_layout()
    fig.savefig(directory / "epsilon.png", dpi=100)
    plt.close(fig)
