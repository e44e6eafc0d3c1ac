"""The simulator as ABC sees it: parameter values in, target statistics out.

Each simulation is seeded from its particle's identity -- the calibration's
seed and the parameter values, bit for bit -- so any particle stored in the
history can be run again and gives the same statistics, on any machine and
whatever sampled it.

With ``replications`` K > 1 a particle runs K times (replication k seeded
from the particle's identity and k); its statistics are the K runs' values
(``"<target>"`` for the first, ``"<target> #k"`` for the others) and its
distance is the root mean square over targets and replications
(``normflow.targets.replicated_distance``). A particle is then accepted only
when its parameters reproduce the record reliably, not by the luck of one
draw: the posterior concentrates where the targets hold in most runs.

With ``until`` (a date: ``calibrate(..., stop_at_targets=True)``) each run
stops there instead of at the scenario's end. The run up to that date is the
same run (the same seed, the same draws in the same order), so a count by a
date up to ``until`` and a milestone reached by then are the values the full
run gives; a milestone not reached by ``until`` is censored at ``until``
instead of at the scenario's end (``normflow.targets.MilestoneDate.value``).

With ``logged`` (``calibrate(..., log_space=True)``) pyabc samples the
parameters named there on the log scale (where a log-uniform prior is
uniform); the model turns them back (``natural``, ``math.exp``) before it
runs them, and seeds the run from the natural values, as ``replay`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from normflow.paramspec import ParameterSpec
from normflow.targets import Target, replicate_key, statistics

__all__ = ["ParticleModel", "particle_seed"]

_MANAGER: list[Any] = []


def _plugin_manager() -> Any:
    """One plugin manager per process: discovering entry points costs a
    sizeable share of a short run."""
    if not _MANAGER:
        from normflow.plugins import get_plugin_manager

        _MANAGER.append(get_plugin_manager())
    return _MANAGER[0]


def particle_seed(
    seed: int, values: Mapping[str, float], names: list[str], replication: int = 0
) -> np.random.SeedSequence:
    """The seed of the run of a particle: the calibration's seed, keyed by
    the bits of each parameter value (in the spec's order) and, from the
    second replication on, by the replication's index."""
    key = tuple(int(np.float64(values[n]).view(np.uint64)) for n in names)
    if replication:
        key += (2**64 + replication,)  # above any value's bits: never a value's key
    return np.random.SeedSequence(seed, spawn_key=key)


class ParticleModel:
    """Picklable: it travels to pool workers and Dask workers with the
    scenario's plain data."""

    def __init__(
        self,
        data: dict[str, Any],
        file: str,
        spec: ParameterSpec,
        targets: tuple[Target, ...],
        seed: int,
        replications: int = 1,
        until: Any = None,
        logged: tuple[str, ...] = (),
    ):
        self.data = data
        self.file = file
        self.spec = spec
        self.targets = targets
        self.seed = seed
        self.replications = replications
        self.until = until
        self.logged = frozenset(logged)

    def natural(self, values: Mapping[str, float]) -> dict[str, float]:
        """The parameter values as the scenario takes them (``logged`` ones exponentiated)."""
        return {k: math.exp(v) if k in self.logged else float(v) for k, v in values.items()}

    def scenario(self, values: Mapping[str, float]) -> Any:
        from normflow.scenario import scenario_from_dict

        return scenario_from_dict(self.data, file=self.file, overrides=self.spec.overrides(values))

    def run(self, values: Mapping[str, float], replication: int = 0, scenario: Any = None) -> Any:
        """The run (replication ``replication``) of the particle with these parameter values."""
        from normflow.simulation import Simulation

        seed = particle_seed(self.seed, values, self.spec.names, replication)
        scenario = self.scenario(values) if scenario is None else scenario
        return Simulation(scenario, seed, plugin_manager=_plugin_manager()).run(until=self.until)

    def __call__(self, values: Mapping[str, float]) -> dict[str, float]:
        values = self.natural(values)
        scenario = self.scenario(values)
        out: dict[str, float] = {}
        for k in range(self.replications):
            stats = statistics(self.targets, self.run(values, k, scenario))
            out.update({replicate_key(name, k): v for name, v in stats.items()})
        return out
