"""What figures and verdicts say: agreed and failed negotiations in their
own colours, milestones by their labels, Kaplan-Meier curves on dates, the
H4 interaction named as such, its surface mapped, and no verdict from a
zero-width interval of a handful of runs."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from normflow.hypotheses import H4
from normflow.hypotheses.cases import CASES
from normflow.hypotheses.effects import SUPPORTED, TOO_FEW, paired_effect
from normflow.report.experiment_figures import km_figure
from normflow.report.run_figures import timeline_figure
from normflow.report.series import RunSeries


def test_a_zero_width_interval_from_few_runs_is_no_verdict():
    assert paired_effect(np.ones(4), +1)["verdict"] == TOO_FEW
    assert paired_effect(np.ones(20), +1)["verdict"] == SUPPORTED


def test_agreed_and_failed_negotiations_have_their_own_colours_and_milestones_their_labels():
    series = RunSeries(dt.date(1990, 1, 1))
    # enough phases that a colour cycle would come round again
    for k in range(20):
        series.add(
            {"kind": "phase_changed", "t": float(k), "machine": "m", "subject": f"s{k}", "phase": f"p{k}"}
        )
    for name, end in (("a", "agreement_reached"), ("b", "agreement_failed")):
        series.add({"kind": "negotiation_phase_changed", "t": 10.0, "negotiation": name, "phase": "main"})
        series.add({"kind": end, "t": 50.0, "negotiation": name})
    series.end_t = 100.0
    milestones = {"agenda_placed": {"t": 20.0, "label": "the issue reached the national agenda"}}
    fig = timeline_figure(series, milestones)
    handles = {
        t.get_text(): h.get_facecolor()
        for h, t in zip(fig.legends[0].legend_handles, fig.legends[0].texts, strict=True)
    }
    assert handles["agreed"] != handles["failed"]
    others = [c for name, c in handles.items() if name not in ("agreed", "failed")]
    assert handles["agreed"] not in others and handles["failed"] not in others
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "the issue reached the national agenda" in labels and "agenda_placed" not in labels


def test_kaplan_meier_curves_are_drawn_on_dates():
    table = pd.DataFrame(
        {
            "cell": [0] * 4,
            "agenda_placed_days": [10.0, 400.0, 800.0, 3650.0],
            "agenda_placed_censored": [False] * 3 + [True],
        }
    )
    fig, _ = km_figure(table, "agenda_placed", [], "1990-01-01")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "date"
    low, high = ax.get_xlim()
    import matplotlib.dates as mdates

    # calendar dates around the scenario's span, not day counts from 0
    assert 1989 <= mdates.num2date(low).year <= 1990 and 1999 <= mdates.num2date(high).year <= 2000
    assert ax.get_legend().get_texts()[0].get_fontsize() >= 8


def test_h4_names_its_interaction_and_maps_the_surface():
    from normflow.hypotheses.design import HypothesisResult
    from normflow.hypotheses.h4 import label

    scenario = "kawasaki-suffrage"
    n = 12
    outcomes = [m for _, m, _ in CASES[scenario].outcomes()]
    design = H4()

    def frame(p):
        rng = np.random.default_rng(int(p * 100))
        return pd.DataFrame({f"{m}_censored": rng.random(n) >= p for m in outcomes})

    # with local government the outcome needs both structures; without, neither matters
    data = {
        label(role, p, f): frame(min(p * f, 1.0) if role == "with" else 0.3)
        for role in ("with", "without")
        for p in design.penetrability
        for f in design.foreign
    }
    analysis = design.analyze(scenario, data, np.full(n, 3650.0))
    primary = [e for e in analysis.effects if e["primary"]]
    assert {e["measure"] for e in primary} == {"interaction p x f of the share reached"}
    assert {a["measure"] for a in analysis.arms} == {"share reached"}
    assert all(e["estimate"] > 0 for e in primary)
    result = HypothesisResult(design, analysis.effects, analysis.arms, {scenario: data}, {})
    fig = design.plot(result)
    assert len(fig.axes) >= 2
