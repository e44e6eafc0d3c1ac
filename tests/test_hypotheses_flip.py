"""Each design can fail: for each hypothesis, a mechanism variant under
which its verdict flips, at one parameter point, with few paired runs on
the cheap scenarios (seconds each; every run is seeded, so the verdicts
are fixed)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from normflow.hypotheses import NOT_SUPPORTED, SUPPORTED, run_hypotheses
from normflow.testing.profiles import ENV_VAR, THOROUGH

SEED = 3

#: An open flip (marked expected-to-fail below) costs up to a minute and fails
#: as expected: it runs under the thorough profile, where an unexpected pass
#: is reported, and is listed but not run in the default suite.
RUN_OPEN_FLIPS = os.environ.get(ENV_VAR) == THOROUGH


def verdicts(tmp_path, key, scenario, n, overrides, name):
    [result] = run_hypotheses(
        [key], tmp_path / name, replications=n, seed=SEED, workers=1, scenarios=[scenario],
        overrides={scenario: overrides},
    )  # fmt: skip
    return {(r["outcome"], r["measure"]): r for r in result.primary()}


#: Central backlash at its strongest: a local government active abroad on
#: the issue loses all its access to its national government, at once.
BACKLASH = {
    "processes.backlash.enabled": True,
    "processes.backlash.rate": 100.0,
    "processes.backlash.check_days": 10.0,
    "processes.backlash.access_cut": 1.0,
    "processes.backlash.actions": [1.0, 0.0, 0.0],
}


@pytest.mark.xfail(
    reason="open: after the rebuilt kitakyushu-dalian case (state-to-state route, dated onsets) "
    "landed, the backlash variant no longer flips H1 at this size; see docs/hypotheses.md",
    strict=False,
    run=RUN_OPEN_FLIPS,
)
def test_h1_fails_when_the_centre_cuts_local_access(tmp_path):
    """Kitakyushu: with local government the aid plan is adopted far more
    often; under a central backlash that withdraws the city's access the
    city's activity no longer reaches the state, and the effect vanishes."""
    key = ("policy_changed:japan", "share reached")
    base = verdicts(tmp_path, "H1", "kitakyushu-dalian", 10, {}, "base")[key]
    curbed = verdicts(tmp_path, "H1", "kitakyushu-dalian", 10, BACKLASH, "backlash")[key]
    assert base["verdict"] == SUPPORTED and base["low"] > 0
    assert curbed["verdict"] == NOT_SUPPORTED
    assert curbed["estimate"] < base["low"]


#: Negotiators who hear no expertise in either phase (pure interest
#: bargaining: the deal is the power-weighted centre of the offers).
INTEREST_ONLY = {
    "processes.negotiation.expertise_weight_pre": 0.0,
    "processes.negotiation.expertise_weight_main": 0.0,
    "processes.negotiation.lg_channel_weight": 0.0,
    "processes.negotiation.prenegotiation_threshold": 0.0,
}


@pytest.fixture(scope="module")
def h2(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("h2")
    short = {"scenario.end": dt.date(1998, 12, 31)}
    key = ("deal quality", "1 - |deal - optimum|")
    return {
        name: verdicts(tmp, "H2", "generic", 8, {**short, **ov}, name)[key]
        for name, ov in {
            "base": {},
            "interest only": INTEREST_ONLY,
            "interest only, optimum at the norm": {**INTEREST_ONLY, "negotiations.reciprocity.optimum": 1.0},
        }.items()
    }


@pytest.mark.xfail(
    reason="open: since the Diet rebuild (agenda control, elections) landed, the generic "
    "scenario's base H2 effect on deal quality is no longer significant, so this flip "
    "cannot be shown at 12 runs; see docs/hypotheses.md",
    strict=False,
    run=RUN_OPEN_FLIPS,
)
def test_h2_fails_when_negotiators_hear_no_expertise_and_the_optimum_is_the_norm(h2):
    """Generic talks: with local government's channel the deal is nearer the
    technical optimum. Where negotiators hear no expertise and the optimum
    lies at the norm's end, local government makes the deal worse."""
    assert h2["base"]["verdict"] == SUPPORTED
    flipped = h2["interest only, optimum at the norm"]
    assert flipped["verdict"] == NOT_SUPPORTED and flipped["high"] < 0


@pytest.mark.xfail(
    reason="open: since the Diet rebuild (agenda control, elections) landed, the generic "
    "scenario's base H2 effect on deal quality is no longer significant, so this flip "
    "cannot be shown at 12 runs; see docs/hypotheses.md",
    strict=False,
    run=RUN_OPEN_FLIPS,
)
def test_h2_deal_quality_is_not_pure_expertise(h2):
    """What the measure also carries: without any expertise, local
    government still moves the interests' point, and with an optimum drawn
    uniformly that alone improves the deal -- but by less than expertise
    does (docs/hypotheses.md)."""
    io = h2["interest only"]
    assert io["estimate"] > 0
    assert io["estimate"] < h2["base"]["low"]


@pytest.mark.xfail(
    reason="open: after the Diet rebuild landed, the variant's verdict still flips but its "
    "estimate is no longer below the base interval; see docs/hypotheses.md",
    strict=False,
    run=RUN_OPEN_FLIPS,
)
def test_h3_fails_when_national_agendas_do_not_move_the_norm(tmp_path):
    """Generic: local adoption raises international norm support, through
    the national agendas it helps set. When the norm cascade counts only
    policy changes and agreements, not agendas (``agenda_weight = 0``), the
    effect is gone."""
    key = ("international norm support", "time-averaged support")
    base = verdicts(tmp_path, "H3", "generic", 8, {}, "base")[key]
    variant = verdicts(
        tmp_path, "H3", "generic", 8, {"plugins.norm_cascade.agenda_weight": 0.0}, "no-agenda"
    )[key]
    assert base["verdict"] == SUPPORTED and base["low"] > 0
    assert variant["verdict"] == NOT_SUPPORTED and variant["estimate"] < base["low"]
