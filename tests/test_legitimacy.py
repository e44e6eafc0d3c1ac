"""Downward accountability reaches outcomes through a local government's
legitimacy: pressure it carries is scaled by its residents' support for the
issue (``World.legitimacy``). Property tests with the testing kit."""

from __future__ import annotations

import attrs
import numpy as np
from helpers import scenario
from hypothesis import given
from hypothesis import strategies as st

from normflow import Simulation, events
from normflow.interventions import Interventions
from normflow.testing import EventRecorder, check_invariants, examples

unit = st.floats(0.0, 1.0)


def _carried(weight, public, seed=1, off=()):
    """One group in a city whose assembly backs the issue, in a closed state:
    all its pressure goes through the city. Returns the local-government
    pressure amounts, the recorder and the scenario."""
    lgs = {
        "named": [{"id": "city", "state": "japan", "population": 100_000, "access": 1.0, "support": 0.9}],
        "groups": [],
    }
    groups = {
        "groups": [{"id": "g", "state": "japan", "locality": "city", "resources": 2.0}],
        "populations": [],
    }
    states = [{"id": "japan", "penetrability": 0.0, "public_support": public}, {"id": "korea"}]
    procs = {"information": {"lg_share_rate": 0.0}, "accountability": {"legitimacy_weight": weight}}
    scen = scenario(states=states, local_governments=lgs, civil_society=groups, processes=procs)
    scen = attrs.evolve(
        scen, scenario=attrs.evolve(scen.scenario, end=scen.scenario.start.replace(year=1992))
    )
    rec = EventRecorder()
    Simulation(scen, seed, plugins=[rec], autoload=False, interventions=Interventions(off=off)).run()
    amounts = [e.amount for e in rec.of(events.PressureApplied) if e.channel == "local_government"]
    return amounts, rec, scen


@given(weight=unit, public=unit)
@examples(ci=30, thorough=500)
def test_legitimacy_lies_between_one_minus_the_weight_and_one_and_rises_with_local_support(weight, public):
    sim = Simulation(scenario(), 0, autoload=False)
    w = sim.world
    lg, issue = w.lg_index["kawasaki"], 0
    w.lg_public_support[issue][lg] = public
    low = w.legitimacy(lg, issue, weight)
    assert 1.0 - weight - 1e-12 <= low <= 1.0 + 1e-12
    w.lg_public_support[issue][lg] = min(1.0, public + 0.1)
    assert w.legitimacy(lg, issue, weight) >= low
    assert w.legitimacy(lg, issue, 0.0) == 1.0  # weight 0: residents' support does not matter


@given(weight=unit, public=unit, seed=st.integers(0, 2**16))
@examples(ci=10, thorough=200)
def test_without_downward_accountability_a_city_carries_exactly_its_residents_initial_backing(
    weight, public, seed
):
    # downward accountability switched off: local public support stays where it
    # starts, so every amount the city carries is the full amount times 1 - w (1 - s)
    full, _, _ = _carried(0.0, public, seed, off=("downward",))
    scaled, rec, scen = _carried(weight, public, seed, off=("downward",))
    assert len(full) == len(scaled)  # the same campaigns, the same draws: only amounts differ
    factor = 1.0 - weight * (1.0 - public)
    assert np.allclose(scaled, [a * factor for a in full]) if factor > 0 else not scaled
    check_invariants(rec.lines(), scen)


def test_downward_accountability_makes_what_a_city_carries_weigh_more():
    # with campaigns winning residents over, the city speaks for more of them:
    # the same campaigns carry more pressure than with downward accountability off
    on, _, _ = _carried(0.8, 0.2, seed=3)
    off, _, _ = _carried(0.8, 0.2, seed=3, off=("downward",))
    assert len(on) == len(off) and len(on) > 5
    assert sum(on) > 1.1 * sum(off)
    assert all(a >= b - 1e-12 for a, b in zip(on, off, strict=True))


def _through_partner(weight):
    import normflow_local_diplomacy as ld

    lgs = {
        "named": [
            {
                "id": "city",
                "state": "japan",
                "population": 100_000,
                "access": 0.9,
                "support": 0.9,
                "partners": ["abroad"],
            },
            {"id": "abroad", "state": "korea", "population": 100_000, "access": 1.0, "support": 0.1},
        ],
        "groups": [],
    }
    groups = {
        "groups": [{"id": "g", "state": "japan", "locality": "city", "resources": 1.0}],
        "populations": [],
    }
    states = [{"id": "japan", "public_support": 0.2}, {"id": "korea", "public_support": 0.2}]
    issues = [{"id": "suffrage", "state": "korea", "area": "legal_equality"}]
    procs = {"information": {"lg_share_rate": 0.0}, "accountability": {"legitimacy_weight": weight}}
    scen = scenario(
        states=states, issues=issues, local_governments=lgs, civil_society=groups, processes=procs
    )
    rec = EventRecorder(events.ChannelUsed)
    sim = Simulation(
        scen, 2, plugins=[ld, rec], autoload=False, interventions=Interventions(off=("downward",))
    )
    sim.run()
    return [u.amount for u in rec.of(events.ChannelUsed)]


def test_local_diplomacy_carries_the_home_citys_legitimacy():
    # downward accountability off: the city's residents back the cause at 0.2
    # throughout, so what its partner abroad carries is 1 - 0.5 * 0.8 = 0.6 of
    # what it would carry if their backing did not matter -- use for use
    full, scaled = _through_partner(0.0), _through_partner(0.5)
    assert full and len(full) == len(scaled)
    assert np.allclose(scaled, [0.6 * a for a in full])
