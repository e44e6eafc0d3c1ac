"""Small scenarios built in tests, so each test states what it varies."""

from __future__ import annotations

import copy
from typing import Any

from normflow import Simulation
from normflow.scenario import scenario_from_dict

BASE: dict[str, Any] = {
    "scenario": {"name": "test", "start": "1990-01-01", "end": "1994-12-31"},
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
                "access": 0.6,
                "openness": 0.8,
                "support": 0.6,
                "partners": ["bucheon"],
            },
            {"id": "bucheon", "state": "korea", "population": 800_000},
        ],
        "groups": [{"state": "japan", "count": 50, "support": 0.4}],
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
            {"id": "supporters", "state": "japan", "locality": "kawasaki"},
            {"id": "seoul-ngo", "state": "korea", "locality": "bucheon"},
        ],
        "populations": [{"state": "japan", "count": 40}],
    },
}


def scenario(**changes: Any):
    """The base scenario with top-level sections replaced or merged.

    ``processes={...}`` and other tables given as dicts are merged one level deep."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            merged = dict(data[key])
            merged.update(value)
            data[key] = merged
        else:
            data[key] = value
    return scenario_from_dict(data)


def run(scen, seed: int = 1, **kwargs: Any):
    kwargs.setdefault("autoload", False)
    return Simulation(scen, seed, **kwargs).run()


def traced(scen, tmp_path, seed: int = 1, name: str = "trace.jsonl", **kwargs: Any):
    """Run with a trace and return (result, trace lines without header/end)."""
    from normflow.trace import read_trace

    path = tmp_path / name
    kwargs.setdefault("autoload", False)
    result = Simulation(scen, seed, trace=path, **kwargs).run()
    lines = read_trace(path)
    assert lines[0]["kind"] == "trace_start" and lines[-1]["kind"] == "trace_end"
    return result, lines[1:-1]
