"""The Mesa reference: the same information exchange as a Mesa 3 model that
steps weekly.

Each week every group agent (``shuffle_do``, Mesa's usual random activation)
seeks a Poisson number of contacts with mean ``7 * rate`` (drawn for all
agents at once with the model's numpy generator, the fast Mesa idiom), and
handles each
with the law shared with the SimPy reference (``NaivePopulation``): same
partner choice, same success chance, same updates. Stepping in time slices
is how a Mesa user would write it; within a week the order of contacts
follows activation order rather than exact times, the usual price of a
time-stepped model.
"""

from __future__ import annotations

import math
from typing import Any

import mesa
import numpy as np
from reference_simpy import NaivePopulation

WEEK = 7.0


class GroupAgent(mesa.Agent):
    def __init__(self, model: InformationModel, g: int, slot: int):
        super().__init__(model)
        self.g = g
        self.slot = slot

    def step(self) -> None:
        contact = self.model.population.contact
        for _ in range(self.model.contacts_this_week[self.slot]):
            contact(self.g)


class InformationModel(mesa.Model):
    """``run()`` steps week by week to the horizon and returns the number of contacts."""

    def __init__(self, world: Any, params: Any, seed: int, horizon: float, issue: int = 0):
        super().__init__(seed=seed)
        self.population = NaivePopulation(world, params, seed, issue)
        self.weeks = math.floor(horizon / WEEK)
        members = self.population.members
        self.weekly = np.array([WEEK * self.population.rate(g) for g in members])
        self.contacts_this_week: list[int] = []
        for slot, g in enumerate(members):
            GroupAgent(self, g, slot)

    def step(self) -> None:
        self.contacts_this_week = self.rng.poisson(self.weekly).tolist()
        self.agents.shuffle_do("step")

    def run(self) -> int:
        for _ in range(self.weeks):
            self.step()
        return self.population.contacts
