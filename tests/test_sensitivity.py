"""Global sensitivity analysis (SALib) on a tiny scenario
(tests/data/tiny-targets.toml: runs of a few milliseconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("SALib")

from normflow.paramspec import parameter_spec_from_dict  # noqa: E402
from normflow.sensitivity import SensitivityError, sensitivity, write_sensitivity  # noqa: E402

# politics_threshold gates the agenda; max_main_days cannot matter (the
# scenario has no negotiation)
TINY = str(Path(__file__).parent / "data" / "tiny-targets.toml")
SPEC = parameter_spec_from_dict(
    {
        "parameters": [
            {
                "name": "politics_threshold",
                "path": "processes.agenda.politics_threshold",
                "prior": "uniform",
                "low": 0.2,
                "high": 0.9,
                "reason": "test",
            },
            {
                "name": "max_main_days",
                "path": "processes.negotiation.max_main_days",
                "prior": "uniform",
                "low": 3000,
                "high": 4000,
                "reason": "test: no effect",
            },
        ]
    }
)
OUT = ["time:agenda_placed", "reached:agenda_placed"]


def test_morris_ranks_the_parameter_that_matters(tmp_path):
    result = sensitivity(TINY, SPEC, method="morris", n=3, outputs=OUT, replications=1)
    data = result.to_dict()
    assert data["method"] == "morris"
    assert [o["name"] for o in data["outputs"]] == OUT
    ranked = data["outputs"][0]["parameters"]
    assert set(ranked[0]) >= {"name", "mu_star", "sigma"}
    assert ranked[0]["name"] == "politics_threshold" and ranked[0]["mu_star"] > 0
    dead = next(p for p in ranked if p["name"] == "max_main_days")
    assert dead["mu_star"] == 0 and dead["sigma"] == 0
    assert result.runs == 3 * (2 + 1)
    written = write_sensitivity(result, tmp_path)
    assert len(written) == 2 and all(p.exists() for p in written)
    assert (tmp_path / "results.json").exists() and (tmp_path / "design.csv").exists()


def test_sobol_gives_first_order_and_total_indices():
    result = sensitivity(TINY, SPEC, method="sobol", n=8, outputs=OUT[:1], replications=1)
    (output,) = result.to_dict()["outputs"]
    first, dead = output["parameters"]
    assert set(first) == {"name", "S1", "S1_conf", "ST", "ST_conf"}
    assert first["name"] == "politics_threshold" and first["ST"] > 0.5
    assert dead["ST"] == pytest.approx(0.0, abs=1e-9)


def test_an_unknown_output_is_named():
    with pytest.raises(SensitivityError, match="--outputs time:nothing: not an output of tiny-targets"):
        sensitivity(TINY, SPEC, outputs=["time:nothing"])
