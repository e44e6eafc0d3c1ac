"""Statistics against small examples worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from normflow.stats import kaplan_meier, mean_interval, share_interval, summarize

Z = 1.959963984540054  # the 97.5% point of the standard normal


def test_kaplan_meier_on_five_times_with_two_censored():
    # times 2, 3+, 5, 7+, 9 ("+" = not reached by then):
    # S(2) = 4/5; S(5) = 4/5 * (1 - 1/3) = 8/15; S(9) = 8/15 * (1 - 1/1) = 0
    km = kaplan_meier([2, 3, 5, 7, 9], [False, True, False, True, False])
    assert km.n == 5 and km.events == 3
    assert list(km.days) == [2, 3, 5, 7, 9]
    assert km.survival == pytest.approx([0.8, 0.8, 8 / 15, 8 / 15, 0.0])
    # Greenwood at t=5: 1/(5*4) + 1/(3*2); log-log band exp(-exp(log(-log S) -/+ z*se))
    s = 8 / 15
    se = math.sqrt(1 / 20 + 1 / 6) / abs(math.log(s))
    centre = math.log(-math.log(s))
    assert km.low[2] == pytest.approx(math.exp(-math.exp(centre + Z * se)), rel=1e-6)
    assert km.high[2] == pytest.approx(math.exp(-math.exp(centre - Z * se)), rel=1e-6)
    assert km.low[2] == pytest.approx(0.068332, abs=1e-6)
    assert km.high[2] == pytest.approx(0.863071, abs=1e-6)
    # at t=2 already the lower edge is below 1/2: Greenwood 1/(5*4)
    se2 = math.sqrt(1 / 20) / abs(math.log(0.8))
    assert km.low[0] == pytest.approx(math.exp(-math.exp(math.log(-math.log(0.8)) + Z * se2)), rel=1e-6)
    assert km.low[0] == pytest.approx(0.203809, abs=1e-6)
    # the median: first time S <= 1/2 is 9; the band's lower edge first
    # drops to 1/2 at 2; its upper edge only where S itself reaches 0
    assert km.median == 9
    assert km.median_low == 2
    assert km.median_high == 9


def test_kaplan_meier_median_of_times_all_equal_has_no_width():
    km = kaplan_meier([73.0] * 20, [False] * 20)
    assert (km.median, km.median_low, km.median_high) == (73.0, 73.0, 73.0)


def test_kaplan_meier_median_interval_open_when_the_band_stays_above_half():
    # 3 of 10 reach it early, the rest are censored: S never drops to 1/2
    km = kaplan_meier([1, 2, 3] + [10] * 7, [False] * 3 + [True] * 7)
    assert km.median is None and km.median_high is None
    assert km.median_low is not None


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    km = kaplan_meier([4, 1, 3, 2], [False] * 4)
    assert list(km.days) == [1, 2, 3, 4]
    assert km.survival == pytest.approx([0.75, 0.5, 0.25, 0.0])
    assert km.median == 2


def test_kaplan_meier_when_nobody_reaches_the_milestone():
    km = kaplan_meier([100.0, 100.0, 100.0], [True, True, True])
    assert km.n == 3 and km.events == 0
    assert km.median is None and len(km.days) == 0


def test_wilson_interval_by_hand():
    # 3 of 10: centre (p + z^2/2n) / (1 + z^2/n), half-width z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
    p, n = 0.3, 10
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    out = share_interval(3, 10)
    assert out["share"] == pytest.approx(0.3)
    assert out["low"] == pytest.approx(centre - half, rel=1e-9)
    assert out["high"] == pytest.approx(centre + half, rel=1e-9)


def test_clopper_pearson_with_no_successes():
    # 0 of 10: the exact upper limit solves (1 - p)^10 = 0.025
    out = share_interval(0, 10, method="exact")
    assert out["low"] == 0.0
    assert out["high"] == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)


def test_mean_interval_small_samples_use_student_t():
    # 1..5: mean 3, sd sqrt(2.5), se sqrt(0.5); t(0.975, 4) = 2.776445
    out = mean_interval([1, 2, 3, 4, 5])
    assert out["method"] == "t"
    assert out["low"] == pytest.approx(3 - 2.7764451 * math.sqrt(0.5), rel=1e-6)
    assert out["high"] == pytest.approx(3 + 2.7764451 * math.sqrt(0.5), rel=1e-6)


def test_mean_interval_edge_cases():
    assert mean_interval([2.0, 2.0, 2.0]) == {
        "n": 3,
        "mean": 2.0,
        "low": 2.0,
        "high": 2.0,
        "method": "constant",
    }
    assert mean_interval([1.5])["method"] == "none"
    assert mean_interval([np.nan, 4.0])["n"] == 1


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    x = np.random.default_rng(1).exponential(10.0, size=40)
    a, b = mean_interval(x), mean_interval(x)
    assert a == b
    assert a["method"] == "bootstrap-bca"
    assert a["low"] < a["mean"] < a["high"]
    # a skewed sample gives a skewed interval: longer on the right
    assert a["high"] - a["mean"] > a["mean"] - a["low"]


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cell": [0, 0, 0, 0, 0, 1, 1],
            "replication": [0, 1, 2, 3, 4, 0, 1],
            "role": [0.0] * 5 + [1.0] * 2,
            "status": ["ok", "ok", "ok", "ok", "ok", "ok", "failed"],
            "error": [None] * 6 + ["RuntimeError: boom"],
            "horizon_days": [10.0] * 7,
            "agenda_days": [2.0, 3.0, 5.0, 7.0, 9.0, 4.0, None],
            "agenda_date": ["1990-01-03", None, "1990-01-06", None, "1990-01-10", "1990-01-05", None],
            "agenda_censored": pd.array([False, True, False, True, False, False, pd.NA], dtype="boolean"),
            "final.passed": pd.array([True, False, True, True, False, True, pd.NA], dtype="boolean"),
            "counts.campaign": pd.array([1, 2, 3, 4, 5, 7, pd.NA], dtype="Int64"),
        }
    )


def test_summarize_per_cell():
    s = summarize(_table(), parameters=["role"], start="1990-01-01")
    assert s.cells.to_dict(orient="records") == [
        {"cell": 0, "role": 0.0, "replications": 5, "ok": 5, "failed": 0},
        {"cell": 1, "role": 1.0, "replications": 2, "ok": 1, "failed": 1},
    ]
    m0 = s.milestones[s.milestones["cell"] == 0].iloc[0]
    assert (m0["n"], m0["reached"], m0["median_days"], m0["median_low"]) == (5, 3, 9.0, 2.0)
    assert m0["median_date"] == "1990-01-10"
    means = s.means.set_index(["cell", "column"])
    assert means.loc[(0, "counts.campaign"), "mean"] == 3.0
    assert means.loc[(1, "counts.campaign"), "n"] == 1  # the failed run is left out
    shares = s.shares.set_index(["cell", "column"])
    assert (shares.loc[(0, "final.passed"), "k"], shares.loc[(0, "final.passed"), "n"]) == (3, 5)
    assert "role" not in set(s.means["column"]) and "horizon_days" not in set(s.means["column"])


def test_summary_json_is_stable_and_rounded():
    text = summarize(_table(), parameters=["role"]).to_json(curves=True)
    again = summarize(_table().sample(frac=1.0, random_state=3), parameters=["role"]).to_json(curves=True)
    assert text == again  # row order does not matter
    data = json.loads(text)
    cell0 = data["cells"][0]
    assert cell0["params"] == {"role": 0.0}
    assert cell0["milestones"]["agenda"]["curve"]["survival"] == [0.8, 0.8, 0.53333333, 0.53333333, 0.0]
    assert cell0["milestones"]["agenda"]["median_high"] == 9.0
    assert "NaN" not in text
