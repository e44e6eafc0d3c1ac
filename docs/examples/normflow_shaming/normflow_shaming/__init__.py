"""Shaming: a coalition names a state whose practice falls short of its word.

Theory: accountability from the top down. A state that has publicly
committed to a principle (equal treatment, humanitarian aid) but acts
otherwise can be embarrassed in front of an international audience; the
reputational cost of the gap is what moves it. The rule, as this plugin runs
it:

- Shaming campaigns on an issue arrive at random, ``rate`` times a year.
- A campaign targets the state whose policy the issue is about, provided
  the gap between its stated commitment and its practice is at least
  ``min_gap`` and its policy has not changed yet.
- The campaign presses that state with ``strength`` times the gap, from
  abroad (``foreign=True``): the audience is international, so the state's
  closed domestic structure does not stop it.

The tutorial "Write a plugin" in normflow's documentation builds this file
step by step.
"""

from __future__ import annotations

import weakref
from typing import Any

import attrs

import normflow
from normflow import hookimpl

__version__ = "0.1.0"
normflow_plugin_name = "shaming"


# --8<-- [start:config]
@attrs.frozen
class ShamingConfig:
    """``[plugins.shaming]`` in a scenario file."""

    rate: float = normflow.param(2.0, low=0, high=365, doc="shaming campaigns per year, per issue")
    min_gap: float = normflow.param(
        0.2, low=0, high=1, doc="shortfall of practice behind commitment worth shaming"
    )
    strength: float = normflow.param(1.5, low=0, high=100, doc="pressure per unit of shortfall")


@hookimpl
def normflow_register_config(register):
    register("shaming", ShamingConfig)


# --8<-- [end:config]


# --8<-- [start:mechanism]
class Shaming:
    """The mechanism inside one run: its clock, its rule and its tallies."""

    def __init__(self, sim: normflow.Simulation):
        self.sim = weakref.proxy(sim)  # weakly: _runs below must not keep the run alive
        self.config: ShamingConfig = sim.config("shaming")
        self.rng = sim.rng("shaming")  # a named stream: reproducible, independent of the core's
        self.episodes = 0
        self.pressure = 0.0

    def campaigns(self, issue: Any):
        """A SimPy process: one issue's shaming campaigns, at random times."""
        sim, cfg = self.sim, self.config
        if cfg.rate <= 0:
            return
        mean_days = 365.0 / cfg.rate
        while True:
            yield sim.env.timeout(self.rng.exponential(mean_days))
            self.shame(sim.env.now, issue.state, issue.id)

    def shame(self, t: float, state: str, issue: str) -> None:
        stance = self.sim.world.stance(state, issue)
        gap = stance.commitment - stance.position
        if stance.policy_changed or gap < self.config.min_gap:
            return
        applied = self.sim.apply_pressure(
            t, "shaming", state, issue, "shaming", "moral", self.config.strength * gap, foreign=True
        )
        if applied <= 0:  # no strength, or a modifier cancelled it: nobody was shamed
            return
        self.episodes += 1
        self.pressure += applied
        self.sim.reach_milestone(f"shamed:{state}", t)


# Hooks are module functions, shared by every run in the process: keep one
# mechanism per run, and let it go with its run.
_runs: weakref.WeakKeyDictionary[normflow.Simulation, Shaming] = weakref.WeakKeyDictionary()


def mechanism(sim: normflow.Simulation) -> Shaming:
    if sim not in _runs:
        _runs[sim] = Shaming(sim)
    return _runs[sim]


@hookimpl
def normflow_register_processes(sim, register):
    for issue in sim.world.issues:
        register(f"campaigns:{issue.id}", lambda issue=issue: mechanism(sim).campaigns(issue))


# --8<-- [end:mechanism]


# --8<-- [start:outputs]
@hookimpl
def normflow_register_milestones(sim, register):
    for state in sorted({issue.state for issue in sim.world.issues}):
        register(f"shamed:{state}")


@hookimpl
def normflow_register_metrics(sim, register):
    shaming = mechanism(sim)
    register("episodes", lambda: shaming.episodes)
    register("pressure", lambda: shaming.pressure)


# --8<-- [end:outputs]
