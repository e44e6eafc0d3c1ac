"""The designs over parameter draws: how much of the parameter space
supports each hypothesis, and where it fails.

For every scenario a design runs on, ``draws`` parameter vectors are drawn:
from the case's calibrated *posterior* where one is shipped
(``normflow/scenarios/posteriors/<case>/``, or given in ``posteriors``;
weighted particles read by ``normflow.calibration.read_posterior``),
otherwise from the scenario's parameter spec (its priors; ``params.py``),
each from ``SeedSequence(seed, spawn_key=(2**32, crc32(scenario)))``. Within a draw
the design runs exactly as at a single point: every arm, ``replications``
runs each, replication *k* of every arm seeded with ``SeedSequence(seed,
spawn_key=(k,))`` -- paired within the draw by common random numbers (and
the same seeds in every draw, so draws differ in their parameters, not in
their luck). Each draw gives each effect an estimate, a 95% interval and a
verdict (``effects.paired_effect``).

Per hypothesis, scenario and primary effect the summary gives: the share of
draws in which the verdict is ``supported`` (the predicted sign and an
interval clear of 0) with its Wilson interval -- the share of parameter
space supporting the hypothesis; the share of draws where the estimate
merely has the predicted sign; the estimate's quantiles over draws; and,
by PRIM peeling (``prim.py``), the region of the parameter space where the
hypothesis fails, in words. A draw where the effect cannot be computed
(no pairs) counts as not supporting it.

Runs are stored like single-point runs (under
``OUT/runs/<scenario>/d<i>-<version>/<arm>``), so an interrupted command
continues. Written: ``OUT/support.csv`` (the summary), ``OUT/draws.csv``
(every draw's effects with its parameter values) and ``OUT/hypotheses.json``.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from normflow.calibration.posterior import bundled_posteriors, read_posterior
from normflow.hypotheses.design import Design
from normflow.hypotheses.designs import resolve
from normflow.hypotheses.effects import NOT_APPLICABLE, SUPPORTED
from normflow.hypotheses.params import load_spec, spec_path
from normflow.hypotheses.prim import failure_region
from normflow.hypotheses.running import Job, _analyze, _first, add_jobs, execute, plan_of, texts_of
from normflow.schema import ScenarioError

if TYPE_CHECKING:
    import pandas as pd

#: The spawn key's first entry for parameter draws (above any replication index).
DRAW_KEY = 2**32

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

SUPPORT_COLUMNS = [
    "hypothesis",
    "scenario",
    "outcome",
    "measure",
    "contrast",
    "predicted",
    "draws",
    "draws_from",
    "runs_per_draw",
    "applicable",
    "supported",
    "share_supported",
    "share_low",
    "share_high",
    "share_predicted_sign",
    *[f"q{int(q * 100):02d}" for q in QUANTILES],
    "reading",
    "fails_where",
]


def reading(share: float) -> str:
    """The share of parameter space supporting a hypothesis, in words."""
    if share >= 0.8:
        return "holds almost everywhere"
    if share >= 0.5:
        return "holds in most of the space"
    if share >= 0.2:
        return "holds in part of the space"
    if share > 0:
        return "holds rarely"
    return "does not hold"


@attrs.define
class DrawResults:
    """The summary rows, every draw's effect rows, the parameter names per
    scenario and the sizes."""

    support: list[dict[str, Any]]
    effects: list[dict[str, Any]]
    parameters: dict[str, list[str]]
    draws: int
    replications: int

    def support_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.support, columns=SUPPORT_COLUMNS)

    def effects_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.effects)

    def share(self, hypothesis: str, scenario: str, measure: str | None = None) -> float:
        """The share supporting the first primary effect of a hypothesis on a
        scenario (or the one of that measure)."""
        for row in self.support:
            if row["hypothesis"] == hypothesis and row["scenario"] == scenario:
                if measure is None or row["measure"] == measure:
                    return float(row["share_supported"])
        raise KeyError((hypothesis, scenario, measure))


def draw_values(spec: Any, draws: int, seed: int, scenario: str) -> np.ndarray:
    """The parameter draws of one scenario: draws x parameters."""
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(DRAW_KEY, zlib.crc32(scenario.encode("utf-8"))))
    )
    return spec.sample(draws, rng)


def posterior_of(scenario: str, given: dict[str, str | Path]) -> Path | None:
    """The posterior a scenario's draws come from: the one given, else the
    calibrated posterior shipped for the case, else None (priors)."""
    if scenario in given:
        return Path(given[scenario])
    return bundled_posteriors().get(scenario)


@attrs.frozen
class _PathSpec:
    """Posterior draws as a spec: parameters named by their paths."""

    names: list[str]
    source: str
    integer: frozenset[str] = frozenset()

    def overrides(self, values: np.ndarray) -> dict[str, Any]:
        return {
            n: int(round(v)) if n in self.integer else float(v)
            for n, v in zip(self.names, values, strict=True)
        }


def posterior_values(directory: Path, draws: int, seed: int, scenario: str) -> tuple[_PathSpec, np.ndarray]:
    """``draws`` parameter vectors resampled (with replacement, by weight)
    from the posterior of a calibration directory
    (``normflow.calibration.read_posterior``): the parameters, named by
    their paths, and a draws x parameters matrix."""
    posterior = read_posterior(directory, scenario)
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(DRAW_KEY, zlib.crc32(scenario.encode("utf-8"))))
    )
    matrix = posterior.values[posterior.resample(draws, rng)]
    return _PathSpec(posterior.paths, str(directory), posterior.integer), matrix


def run_over_draws(
    hypotheses: Sequence[str | Design] = ("all",),
    out: str | Path = "hypotheses",
    *,
    draws: int = 8,
    replications: int = 8,
    seed: int = 0,
    workers: int | None = None,
    scenarios: Sequence[str] | None = None,
    specs: dict[str, str | Path] | None = None,
    posteriors: dict[str, str | Path] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    progress: bool | Callable[[Any], None] = False,
) -> DrawResults:
    """Run the designs over ``draws`` parameter draws per scenario (from
    the case's shipped posterior or ``posteriors[scenario]``, a calibration
    directory; else from the priors of the scenario's bundled spec, or
    ``specs[scenario]``), ``replications`` paired runs per arm and draw;
    write and return the summary.

    ``overrides`` (per scenario) are applied in every draw, over the drawn
    values (a mechanism variant: a path switched off stays off)."""
    began = time.perf_counter()
    designs = resolve(hypotheses)
    if draws < 1:
        raise ValueError("draws: expected at least 1")
    if replications < 1:
        raise ValueError("replications: expected at least 1")
    plan = plan_of(designs, scenarios)
    texts = texts_of(plan)
    specs = dict(specs or {})
    overrides = overrides or {}
    bound: dict[str, Any] = {}
    values: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}
    for name, (text, file) in texts.items():
        posterior = posterior_of(name, dict(posteriors or {}))
        if posterior is not None:
            bound[name], values[name] = posterior_values(posterior, draws, seed, name)
            origin[name] = "posterior"
            continue
        path = specs.get(name) or spec_path(name)
        if path is None:
            raise ScenarioError(
                "--scenario", name, "a scenario with a parameter spec (normflow/scenarios/params/<name>.toml)"
            )
        bound[name] = load_spec(path, text, file)
        values[name] = draw_values(bound[name], draws, seed, name)
        origin[name] = "prior"
    out = Path(out)
    jobs: dict[tuple[Any, ...], Job] = {}
    for i in range(draws):

        def overrides_of(name: str, i: int = i) -> dict[str, Any]:
            return {**bound[name].overrides(values[name][i]), **overrides.get(name, {})}

        add_jobs(jobs, designs, plan, texts, overrides_of, seed, out / "runs", tag=f"d{i}")
    keys = list(jobs)
    job_list = [jobs[k] for k in keys]
    compacted, computed, failed, versions = execute(
        job_list, designs, replications, seed, workers, progress, began
    )
    tables: dict[str, dict[tuple[str, str], pd.DataFrame]] = {}
    for (tag, name, arm), table in zip(keys, compacted, strict=True):
        tables.setdefault(tag, {})[(name, arm)] = _first(table, replications)
    rows: list[dict[str, Any]] = []
    for i in range(draws):
        for d in designs:
            result = _analyze(d, plan[d.key], tables[f"d{i}"])
            for r in result.effects:
                names = bound[r["scenario"]].names
                params = dict(zip(names, (float(v) for v in values[r["scenario"]][i]), strict=True))
                rows.append({"draw": i, **r, **{f"param.{k}": v for k, v in params.items()}})
    support = summarize(rows, {n: s.names for n, s in bound.items()}, draws, replications, origin)
    result = DrawResults(support, rows, {n: s.names for n, s in bound.items()}, draws, replications)
    out.mkdir(parents=True, exist_ok=True)
    result.support_frame().to_csv(out / "support.csv", index=False)
    result.effects_frame().to_csv(out / "draws.csv", index=False)
    manifest = {
        "draws": draws,
        "replications_per_draw": replications,
        "seed": seed,
        "seeds": (
            "draws of a scenario: SeedSequence(seed, spawn_key=(2**32, crc32(scenario))); replication k of "
            "every arm in every draw: SeedSequence(seed, spawn_key=(k,))"
        ),
        "plugins": versions,
        "draws_from": {
            n: {"source": origin[n], "file": str(getattr(s, "source", ""))} for n, s in bound.items()
        },
        "parameters": {
            n: (
                [
                    {"name": p.label, "path": p.path, "prior": p.prior, "reason": p.reason}
                    for p in s.parameters
                ]
                if origin[n] == "prior"
                else [{"name": p, "path": p, "posterior": str(s.source)} for p in s.names]
            )
            for n, s in bound.items()
        },
        "specs": {n: str(getattr(s, "source", "")) for n, s in bound.items()},
        "designs": {
            d.key: {"claim": d.claim, "prediction": d.prediction, "scenarios": plan[d.key]} for d in designs
        },
        "runs_computed": computed,
        "runs_failed": failed,
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    (out / "hypotheses.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return result


def summarize(
    rows: list[dict[str, Any]],
    parameters: dict[str, list[str]],
    draws: int,
    replications: int,
    origin: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Per hypothesis, scenario and primary effect: the share of draws
    supporting it, the estimate's quantiles and where it fails (PRIM)."""
    from normflow.stats import share_interval

    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["primary"]:
            groups.setdefault((r["hypothesis"], r["scenario"], r["outcome"], r["measure"]), []).append(r)
    out = []
    for (hyp, scenario, outcome, measure), group in groups.items():
        group = sorted(group, key=lambda r: r["draw"])
        names = parameters[scenario]
        x = np.array([[r[f"param.{n}"] for n in names] for r in group], dtype=float)
        ok = np.array([r["verdict"] == SUPPORTED for r in group])
        applicable = np.array([r["verdict"] != NOT_APPLICABLE for r in group])
        est = np.array([np.nan if r["estimate"] is None else float(r["estimate"]) for r in group])
        sign = np.array([r["direction"] == "as predicted" for r in group])
        s = share_interval(int(ok.sum()), len(group))
        finite = est[np.isfinite(est)]
        qs = np.quantile(finite, QUANTILES) if len(finite) else np.full(len(QUANTILES), np.nan)
        out.append(
            {
                "hypothesis": hyp,
                "scenario": scenario,
                "outcome": outcome,
                "measure": measure,
                "contrast": group[0]["contrast"],
                "predicted": group[0]["predicted"],
                "draws": len(group),
                "draws_from": (origin or {}).get(scenario, "prior"),
                "runs_per_draw": replications,
                "applicable": int(applicable.sum()),
                "supported": int(ok.sum()),
                "share_supported": s["share"],
                "share_low": s["low"],
                "share_high": s["high"],
                "share_predicted_sign": float(sign.mean()) if len(sign) else float("nan"),
                **{f"q{int(q * 100):02d}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
                "reading": reading(s["share"]),
                "fails_where": failure_region(x, (~ok).astype(float), names),
            }
        )
    return out
