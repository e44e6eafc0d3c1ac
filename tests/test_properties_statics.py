"""Comparative statics the theory implies, in distribution.

A single run is one draw; what the theory claims is about the share of
runs. Each test varies one thing -- the local-government role, or one local
government's access to its national government -- over the same seeds
(paired runs: replication k uses seed k in every arm, so the arms differ by
the change and not by luck) and compares the arms.

Tolerance: an arm with more local-government involvement may fall short of
the one with less by at most ``TOLERANCE`` (a share of runs, or a relative
mean), which absorbs the noise left after pairing at these sample sizes
(24 seeds per arm in CI; a share moves by 1/24 ~ 0.04 per run). Each test
also checks that the effect exists at the ends of the range, so a model in
which the lever did nothing would fail.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from normflow import Simulation
from normflow.scenario import scenario_from_dict
from normflow.testing import budget

TOLERANCE = 0.1
SEEDS = range(budget(ci=24, thorough=200))

#: Near the edge of the agenda: with the full local-government role most runs
#: reach it within four years, with a quarter of it almost none do.
EDGE: dict[str, Any] = {
    "scenario": {"name": "statics", "start": "1990-01-01", "end": "1993-12-31"},
    "states": [
        {
            "id": "japan",
            "penetrability": 0.2,
            "public_support": 0.3,
            "legislature": {"name": "Diet", "government_support": 0.4},
        },
        {"id": "korea"},
    ],
    "issues": [{"id": "suffrage", "state": "japan", "area": "legal_equality"}],
    "local_governments": {
        "named": [
            {
                "id": "kawasaki",
                "state": "japan",
                "population": 1_000_000,
                "access": 0.5,
                "openness": 0.6,
                "support": 0.4,
                "partners": ["bucheon"],
            },
            {"id": "bucheon", "state": "korea", "population": 800_000},
        ],
        "groups": [
            {"state": "japan", "count": 60, "support": {"dist": "beta", "mean": 0.3, "concentration": 6}}
        ],
    },
    "civil_society": {
        "groups": [
            {
                "id": "residents",
                "state": "japan",
                "locality": "kawasaki",
                "nationality": "korea",
                "kind": "NPO",
                "resources": 1.0,
            },
            {"id": "seoul-ngo", "state": "korea", "locality": "bucheon"},
        ],
        "populations": [{"state": "japan", "count": 40}],
    },
    "processes": {"agenda": {"politics_threshold": 0.45}},
}


@cache
def arm(access: float | None = None, role: float = 1.0) -> list[Any]:
    """The runs of one arm: the edge scenario (with kawasaki's ``access``, if
    given) under ``role``, one per seed. Cached: two tests share arms."""
    data = copy.deepcopy(EDGE)
    if access is not None:
        data["local_governments"]["named"][0]["access"] = access
    scenario = scenario_from_dict(data)
    return [Simulation(scenario, seed, autoload=False, local_government_role=role).run() for seed in SEEDS]


def share_on_agenda(results: list[Any]) -> float:
    return sum(r.milestones["agenda_placed"] is not None for r in results) / len(results)


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


ROLES = (0.25, 0.5, 1.0)


def test_a_larger_local_government_role_never_lowers_the_share_of_runs_on_the_agenda():
    shares = {role: share_on_agenda(arm(role=role)) for role in ROLES}
    for less, more in zip(ROLES, ROLES[1:], strict=False):
        assert shares[more] >= shares[less] - TOLERANCE, shares
    assert shares[ROLES[-1]] - shares[ROLES[0]] >= 0.3, shares


def test_a_larger_local_government_role_never_lowers_the_resolutions_passed():
    means = {
        role: mean([r.final["issues"]["suffrage"]["resolutions"] for r in arm(role=role)]) for role in ROLES
    }
    for less, more in zip(ROLES, ROLES[1:], strict=False):
        assert means[more] >= means[less] * (1 - TOLERANCE), means
    assert means[ROLES[-1]] > 2 * means[ROLES[0]], means


def test_more_access_never_lowers_the_pressure_that_reaches_the_state():
    accesses = (0.1, 0.4, 0.8)
    passed = {a: mean([r.counts.get("pressure_applied", 0) for r in arm(access=a)]) for a in accesses}
    for less, more in zip(accesses, accesses[1:], strict=False):
        assert passed[more] >= passed[less] * (1 - TOLERANCE), passed
    assert passed[accesses[-1]] > passed[accesses[0]], passed
