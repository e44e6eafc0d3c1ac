"""Calibration of a scenario's free parameters against its targets by
approximate Bayesian computation (ABC-SMC, through pyabc).

``calibrate`` runs it; ``replay`` runs one particle again;
``read_posterior`` reads a calibration's weighted particles for the studies
that draw from them (validation, the hypotheses over draws); the outputs
(posterior.csv, calibration.json, a calibrated scenario, figures) are
described in docs/calibration.md. pyabc is imported only here, so the rest
of normflow does not need it.
"""

from __future__ import annotations

from typing import Any

from normflow.calibration.posterior import Posterior, bundled_posteriors, read_posterior, resolve_posterior
from normflow.calibration.run import Calibration, CalibrationError, calibrate

__all__ = [
    "Calibration",
    "CalibrationError",
    "Posterior",
    "bundled_posteriors",
    "calibrate",
    "read_posterior",
    "replay",
    "resolve_posterior",
]


def replay(scenario: str, params: Any, values: dict[str, float], seed: int = 0, replication: int = 0) -> Any:
    """The run (replication ``replication``) of the particle with ``values``
    in a calibration of ``scenario`` with ``params`` and ``seed``: the same
    RunResult the calibration computed for it."""
    from normflow.calibration.model import ParticleModel
    from normflow.paramspec import ParameterSpec, load_parameter_spec, scenario_data
    from normflow.scenario import scenario_from_dict

    data, _, file = scenario_data(scenario)
    spec = params if isinstance(params, ParameterSpec) else load_parameter_spec(params)
    spec = spec.bind(data, file)
    targets = scenario_from_dict(data, file=file).targets
    return ParticleModel(data, file, spec, targets, seed).run(values, replication)
