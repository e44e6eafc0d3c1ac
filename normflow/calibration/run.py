"""``calibrate``: ABC-SMC (pyabc) of a scenario's free parameters against its targets."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from normflow.paramspec import ParameterSpec, load_parameter_spec, scenario_data
from normflow.schema import ScenarioError
from normflow.targets import (
    MilestoneDate,
    Target,
    check_target_milestones,
    deviations,
    distance,
    observed_values,
    replicated_distance,
    target_name,
)

__all__ = ["Calibration", "CalibrationError", "calibrate", "targets_horizon"]

#: The perturbation kernels ``calibrate`` offers (``transition=``).
TRANSITIONS = ("normal", "local")

HISTORY = "history.db"
MANIFEST = "manifest.json"


class CalibrationError(Exception):
    """A calibration that cannot start or go on (a message for the user)."""


@attrs.frozen
class Calibration:
    """What ``calibrate`` wrote and found."""

    directory: Path
    summary: dict[str, Any]
    computed: int
    wall_seconds: float


class TargetDistance:
    """Root mean square of the targets' deviations in units of their
    tolerance, over the particle's replications
    (normflow.targets.replicated_distance). Picklable."""

    def __init__(self, targets: tuple[Target, ...], replications: int = 1, kind: str = "rms"):
        self.targets = targets
        self.replications = replications
        self.kind = kind

    def __call__(self, x: dict[str, float], x_0: dict[str, float]) -> float:
        if self.replications == 1 and self.kind == "rms":
            return distance(self.targets, x, x_0)
        return replicated_distance(self.targets, x, x_0, self.replications, self.kind)


def _epsilon(alpha: float) -> Any:
    """pyabc's quantile epsilon, robust to ties.

    A run that never reaches a target milestone is censored at the end of
    the run, so many particles can share one distance; the ``alpha``
    quantile then sits on the tie and the threshold stops moving. Where the
    tie holds much more than ``alpha`` of the weight, the threshold drops to
    the largest distance below it."""
    import pyabc

    class TieAwareQuantileEpsilon(pyabc.QuantileEpsilon):
        def _update(self, t: int, weighted_distances: Any) -> None:
            super()._update(t, weighted_distances)
            q = self._look_up[t]
            d = weighted_distances.distance.to_numpy(dtype=float)
            w = weighted_distances.w.to_numpy(dtype=float)
            w = w / w.sum()
            below = d[d < q]
            if len(below) and w[d <= q].sum() > min(1.0, self.alpha + 0.2):
                self._look_up[t] = float(below.max())

    return TieAwareQuantileEpsilon(alpha=alpha)


def targets_horizon(targets: tuple[Target, ...], end: dt.date) -> dt.date:
    """The last date the targets' statistics look at: a count's ``by`` date;
    a milestone's date plus its tolerance (a milestone reached later misses
    its target whenever it is reached). Never later than ``end``."""
    dates = [
        t.date + dt.timedelta(days=math.ceil(t.tolerance)) if isinstance(t, MilestoneDate) else t.by
        for t in targets
    ]
    return min(end, max(dates))


def censoring_bound(
    targets: tuple[Target, ...], horizon: dt.date, start: dt.date, replications: int, kind: str
) -> float | None:
    """Below which epsilon stopping the runs at ``horizon`` changes no
    acceptance: a run whose milestone is not reached by ``horizon`` deviates
    from that target by at least (horizon - date) / tolerance whether it is
    censored there or at the scenario's end, so the particle's distance is
    at least this bound both ways (divided by the square root of the number
    of terms the distance averages); a particle without such a milestone has
    the same statistics both ways. None without milestone targets."""
    devs = [
        t.deviation(float((horizon - start).days), t.observed(start))
        for t in targets
        if isinstance(t, MilestoneDate)
    ]
    if not devs:
        return None
    terms = replications * (1 if kind == "max" else len(targets))
    return min(devs) / math.sqrt(terms)


def _transition(kind: str) -> Any:
    """pyabc's perturbation kernel: ``normal``, one multivariate normal whose
    covariance is the weighted covariance of the last population (pyabc's
    default); ``local``, a normal around each particle with the covariance of
    its nearest quarter of the population (pyabc.LocalTransition), which does
    not shrink onto a particle that holds most of the weight."""
    import pyabc

    if kind == "local":
        return pyabc.LocalTransition(k_fraction=0.25)
    return pyabc.MultivariateNormalTransition()


def _prior(p: Any, logged: bool) -> Any:
    """A parameter's prior as pyabc samples it: on the log scale (uniform
    between the logs of the bounds) for a log-uniform one sampled there.
    The perturbation kernel then works on the scale on which the prior is
    flat: on the natural scale a log-uniform prior is densest at its lower
    bound (ten times denser than at the upper for a tenfold range), and the
    importance weights (prior over proposal density) of particles proposed
    there multiply across parameters and can collapse onto a few particles."""
    import pyabc

    if not logged:
        return p.pyabc_rv()
    low, high = math.log(p.low), math.log(p.high)
    return pyabc.RV("uniform", low, high - low)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _spec_dict(spec: ParameterSpec) -> list[dict[str, Any]]:
    return [
        {"name": p.label, "path": p.path, "prior": p.to_dict(), "integer": p.integer} for p in spec.parameters
    ]


def calibrate(
    scenario: str | Path,
    params: str | Path | ParameterSpec,
    out: str | Path,
    *,
    population: int = 100,
    generations: int = 5,
    max_runs: int | None = None,
    workers: int = 1,
    scheduler: Any = None,
    seed: int = 0,
    resume: bool = False,
    alpha: float = 0.5,
    replications: int = 1,
    distance_kind: str = "rms",
    stop_at_targets: bool = False,
    transition: str = "normal",
    log_space: bool = False,
    figures: bool = True,
    on_progress: Callable[[int, int, int, int], None] | None = None,
    on_generation: Callable[[int, float, float], None] | None = None,
) -> Calibration:
    """Run (or, with ``resume``, continue) an ABC-SMC calibration of
    ``scenario``'s parameters (``params``: a spec file, a bundled spec name
    or a ``ParameterSpec``) against its ``[[targets]]``, storing pyabc's
    history in ``out/history.db`` and writing the outputs
    (``normflow.calibration.outputs``). ``generations`` counts all
    generations, including those already stored. Epsilon adapts: each
    generation's threshold is the ``alpha`` quantile of the previous
    generation's distances. ``figures=False`` skips the figures (matplotlib
    costs a second or two; the other outputs are the same). ``stop_at_targets``
    stops each run at the targets' horizon (``targets_horizon``) instead of
    the scenario's end (cheaper; see ``censoring_bound`` for what it may
    change). ``transition``: the perturbation kernel (``_transition``).
    ``log_space``: log-uniform parameters are perturbed and weighted on the
    log scale, where their prior is uniform (``_prior``). Raises ``ScenarioError`` for a bad scenario or
    spec, ``CalibrationError`` for a bad directory or setting."""
    import pyabc

    began = time.perf_counter()
    data, text, file = scenario_data(scenario)
    from normflow.scenario import scenario_from_dict

    base = scenario_from_dict(data, file=file)
    # a descriptive target (it holds without the campaign: an input sets it) is not calibrated against
    targets = tuple(t for t in base.targets if not t.descriptive)
    if not targets:
        raise CalibrationError(
            f"{file} declares no [[targets]] (other than descriptive ones): nothing to calibrate against "
            "(see docs/calibration.md)"
        )
    spec = params if isinstance(params, ParameterSpec) else load_parameter_spec(params)
    spec = spec.bind(data, file)
    if population < 2 or generations < 1:
        raise CalibrationError("--population must be at least 2 and --generations at least 1")
    if replications < 1:
        raise CalibrationError("--replications must be at least 1")
    if distance_kind not in ("rms", "max"):
        raise CalibrationError(f"--distance {distance_kind}: expected rms or max")
    if transition not in TRANSITIONS:
        raise CalibrationError(f"--transition {transition}: expected one of {', '.join(TRANSITIONS)}")
    horizon = targets_horizon(targets, base.scenario.end) if stop_at_targets else None
    if max_runs is not None and max_runs < population:
        raise CalibrationError(f"--max-runs {max_runs} is below one population ({population})")
    # targets must name milestones the runs have
    from normflow.simulation import Simulation

    declared = Simulation(base, 0).run(until=1e-9).milestones
    check_target_milestones(targets, declared, file)

    directory = Path(out)
    db_path = directory / HISTORY
    manifest_path = directory / MANIFEST
    manifest = {
        "scenario": base.name,
        "scenario_file": file,
        "scenario_sha256": _sha(text),
        "parameters": _spec_dict(spec),
        "spec_file": spec.source,
        "seed": seed,
        "population": population,
        "alpha": alpha,
        "replications": replications,
        "distance": distance_kind,
        "horizon": None if horizon is None else horizon.isoformat(),
        "transition": transition,
        "log_space": log_space,
    }
    stored: dict[str, Any] | None = None
    if db_path.exists():
        if not resume:
            raise CalibrationError(
                f"{directory} already holds a calibration; use --resume to continue it, or another --out"
            )
        try:
            stored = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(
                f"{manifest_path}: cannot read the calibration's manifest ({exc})"
            ) from None
        stored.setdefault("replications", 1)  # written before replications existed
        stored.setdefault("distance", "rms")
        stored.setdefault("horizon", None)  # written before stop_at_targets existed
        stored.setdefault("transition", "normal")
        stored.setdefault("log_space", False)
        # where the files lie may change (another checkout); their contents are compared
        # through scenario_sha256 and parameters
        moved = ("scenario_file", "spec_file")
        diffs = [k for k in manifest if k not in moved and stored.get(k) != manifest[k]]
        if diffs:
            raise CalibrationError(
                f"{directory} holds a different calibration ({', '.join(diffs)} differ); use another --out"
            )
    elif directory.exists() and any(directory.iterdir()):
        raise CalibrationError(f"{directory} exists and is not a calibration directory; use another --out")
    directory.mkdir(parents=True, exist_ok=True)

    from normflow.calibration.model import ParticleModel
    from normflow.calibration.sampler import OrderedSampler

    logged = tuple(p.label for p in spec.parameters if log_space and p.prior == "log-uniform")
    model = ParticleModel(data, file, spec, targets, seed, replications, until=horizon, logged=logged)
    prior = pyabc.Distribution(**{p.label: _prior(p, p.label in logged) for p in spec.parameters})
    sampler = OrderedSampler(seed, workers=workers, scheduler=scheduler, on_progress=on_progress)
    abc_logger = logging.getLogger("ABC")
    level = abc_logger.level
    abc_logger.setLevel(logging.WARNING)
    computed_before = int((stored or {}).get("computed", 0))
    wall_before = float((stored or {}).get("wall_seconds", 0.0))

    def save_progress() -> tuple[int, float]:
        """Write the runs (simulations, not particles) and wall time so far into
        the manifest: after each stored generation (a command killed by a signal
        no handler sees keeps them), on Ctrl-C, and at the end."""
        computed = computed_before + sampler.computed * replications
        wall = wall_before + time.perf_counter() - began
        _save_manifest(manifest_path, manifest, computed, wall)
        return computed, wall

    try:
        abc = pyabc.ABCSMC(
            model,
            prior,
            TargetDistance(targets, replications, distance_kind),
            population_size=population,
            sampler=sampler,
            eps=_epsilon(alpha),
            transitions=_transition(transition),
        )
        db = f"sqlite:///{db_path.resolve()}"
        if stored is not None:
            abc.load(db, 1)
            done = abc.history.max_t + 1
        else:
            abc.new(db, observed_values(targets, base.start), meta_info={"normflow": json.dumps(manifest)})
            done = 0
        remaining = generations - done
        if remaining > 0:
            if max_runs is not None:
                used = int(abc.history.total_nr_simulations) if stored is not None else 0
                sampler.budget = max(0, max_runs - used)

            callback = _GenerationCallback(abc, on_generation, save_progress)
            _run(abc, remaining, max_runs, callback)
        history = abc.history
    except ScenarioError:
        raise
    except KeyboardInterrupt:
        save_progress()
        raise
    finally:
        sampler.close()
        abc_logger.setLevel(level)
    computed, wall = save_progress()
    if history.max_t < 0:
        raise CalibrationError("no generation finished (the --max-runs budget ran out during the first one)")
    from normflow.calibration.outputs import write_outputs

    summary = write_outputs(
        directory,
        history,
        base,
        text,
        data,
        spec,
        targets,
        computed,
        wall,
        workers,
        scheduler,
        replications,
        distance_kind,
        figures=figures,
        horizon=None
        if horizon is None
        else {
            "date": horizon.isoformat(),
            "exact_below": censoring_bound(targets, horizon, base.start, replications, distance_kind),
        },
        transition=transition,
        logged=logged,
    )
    return Calibration(directory, summary, computed, wall)


class _GenerationCallback:
    def __init__(
        self,
        abc: Any,
        fn: Callable[[int, float, float], None] | None,
        checkpoint: Callable[[], object] | None = None,
    ):
        self.abc = abc
        self.fn = fn
        self.checkpoint = checkpoint


def _run(abc: Any, remaining: int, max_runs: int | None, callback: _GenerationCallback) -> None:
    """Run generations one at a time so a caller hears of each one."""
    for _ in range(remaining):
        before = abc.history.max_t
        # each call starts as a resumed run would: from the last stored
        # population (pyabc caches the first one it used in this attribute)
        abc._initial_population = None
        abc.run(max_nr_populations=1, max_total_nr_simulations=np.inf if max_runs is None else max_runs)
        after = abc.history.max_t
        if after == before:
            break  # the budget ran out: pyabc stored nothing new
        if callback.checkpoint is not None:
            callback.checkpoint()
        if callback.fn is not None:
            pops = abc.history.get_all_populations()
            row = pops[pops.t == after].iloc[0]
            callback.fn(int(after), float(row.epsilon), float(row.particles) / float(row.samples))
        if max_runs is not None and abc.history.total_nr_simulations >= max_runs:
            break


def _save_manifest(path: Path, manifest: dict[str, Any], computed: int, wall: float) -> None:
    out = {**manifest, "computed": computed, "wall_seconds": round(wall, 3)}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=2), encoding="utf-8")
    tmp.replace(path)


def target_report(
    targets: tuple[Target, ...], stats: dict[str, float], obs: dict[str, float]
) -> dict[str, float]:
    return deviations(targets, stats, obs)


__all__ += ["target_name", "TargetDistance"]
