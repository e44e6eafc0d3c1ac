"""Understanding a run: overrides by name, outcomes first, labels, causes in
the trace, explain, compare, the network, and events as a DataFrame."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import settings

from normflow import Simulation
from normflow.compare import CompareError, compare, parse_arm
from normflow.events import ALL_EVENTS, label_of
from normflow.explain import ExplainError, explain, explain_events, is_root, render
from normflow.interventions import InterventionError, Interventions, parse_interventions
from normflow.network import network_graph
from normflow.scenario import load_scenario, loads_scenario
from normflow.schema import ScenarioError
from normflow.trace import read_trace


@pytest.fixture(scope="module")
def kawasaki_trace(kawasaki_seed1):
    path, result, _ = kawasaki_seed1
    return path, result


@pytest.fixture(scope="module")
def kawasaki_events(kawasaki_seed1):
    """The seed-1 trace's events (without the kinds no chain holds); read-only."""
    return kawasaki_seed1[2]


@pytest.fixture(scope="module")
def minimal_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "trace.jsonl"
    result = Simulation(load_scenario("minimal"), 1, trace=path).run()
    return path, result


pytestmark = pytest.mark.usefixtures("bundled_plugins")  # tests/conftest.py


# -- the suite itself ---------------------------------------------------------------


def test_the_default_profile_is_derandomized_and_the_thorough_one_searches():
    assert settings.get_profile("ci").derandomize is True
    assert settings.get_profile("thorough").derandomize is False
    assert settings.get_profile("thorough").max_examples > settings.get_profile("ci").max_examples


def test_a_key_with_a_line_break_gives_a_one_line_error():
    with pytest.raises(ScenarioError) as info:
        loads_scenario('"a\\nb" = 0\n', file="x.toml")
    assert "\n" not in str(info.value) and "a\\nb" in str(info.value)


# -- --set by name ------------------------------------------------------------------


def test_set_reaches_a_state_a_named_local_government_and_a_plugin_section():
    s = load_scenario(
        "kawasaki-suffrage",
        overrides={
            "states.japan.penetrability": 0.9,
            "local_governments.kawasaki.access": 0.4,
            "plugins.boomerang.take_up": 0.5,
        },
    )
    assert {x.id: x.penetrability for x in s.states}["japan"] == 0.9
    assert {x.id: x.access for x in s.local_governments.named}["kawasaki"] == 0.4
    sim = Simulation(s, 1)
    assert sim.config("boomerang").take_up == 0.5
    result = sim.run(until=10.0)
    assert result.to_dict()["overrides"]["states.japan.penetrability"] == 0.9


def test_set_by_index_and_its_errors_name_the_path_and_suggest():
    s = load_scenario("kawasaki-suffrage", overrides={"states[1].commitment": 0.9})
    assert s.states[1].commitment == 0.9
    with pytest.raises(ScenarioError, match=r"states\[0\]\.penetrability: got 2.*\[0, 1\]"):
        load_scenario("kawasaki-suffrage", overrides={"states[0].penetrability": 2})
    with pytest.raises(ScenarioError, match="did you mean 'japan'"):
        load_scenario("kawasaki-suffrage", overrides={"states.japn.penetrability": 0.5})
    with pytest.raises(ScenarioError, match="did you mean 'penetrability'"):
        load_scenario("kawasaki-suffrage", overrides={"states.japan.penetrabilty": 0.5})
    with pytest.raises(ScenarioError, match="it has 2 entries"):
        load_scenario("kawasaki-suffrage", overrides={"states[5].commitment": 0.5})
    with pytest.raises(ScenarioError, match="did you mean 'take_up'"):
        Simulation(load_scenario("kawasaki-suffrage", overrides={"plugins.boomerang.takeup": 0.5}), 1)


# -- outcomes first and labels ---------------------------------------------------------


def test_the_summary_opens_with_each_bill_and_its_fate(kawasaki_trace, kawasaki_events):
    path, result = kawasaki_trace
    summary = result.to_dict()
    keys = list(summary)
    assert keys.index("outcomes") < keys.index("milestones")
    bills = summary["outcomes"]["bills"]
    submitted = [e for e in kawasaki_events if e["kind"] == "bill_submitted"]
    assert [b["bill"] for b in bills] == [e["bill"] for e in submitted]
    assert len(bills) == result.counts["bill_submitted"]
    fates = {e["bill"]: e["kind"] for e in kawasaki_events if e["kind"] in ("bill_rejected", "bill_enacted")}
    for bill in bills:
        if bill["bill"] in fates:
            assert bill["fate"] == fates[bill["bill"]].removeprefix("bill_")
            assert bill["fate"] in bill["text"]
    agenda = summary["outcomes"]["agenda"]
    assert agenda and agenda[0]["reached"] == (result.milestones["agenda_placed"] is not None)


def test_a_failed_negotiation_reads_as_failed():
    result = Simulation(load_scenario("niigata-harbin"), 1).run()
    ends = {n["negotiation"]: n for n in result.outcomes["negotiations"]}
    assert ends, "the scenario declares negotiations"
    for neg in ends.values():
        assert neg["end"] in ("agreed", "failed", "open", "not opened")
        if result.counts.get("agreement_failed"):
            pass
    failed = result.counts.get("agreement_failed", 0)
    assert sum(n["end"] == "failed" for n in ends.values()) == failed
    for neg in ends.values():
        if neg["end"] == "failed":
            assert "failed" in neg["text"] and neg["date"]


def test_milestones_are_in_date_order_and_every_one_has_a_plain_label(minimal_run):
    _, result = minimal_run
    milestones = result.to_dict()["milestones"]
    times = [m["t"] for m in milestones.values() if m["reached"]]
    assert times == sorted(times)
    reached_then_not = [m["reached"] for m in milestones.values()]
    assert reached_then_not == sorted(reached_then_not, reverse=True)
    for name, m in milestones.items():
        assert m["label"] and m["label"] != name and "_" not in m["label"].split("(")[0]
    # plugins give their own labels
    assert "from abroad" in milestones["boomerang:japan"]["label"]
    assert "tactical concessions" in milestones["spiral.tactical_concessions:japan"]["label"]


def test_every_event_kind_has_a_label():
    for cls in ALL_EVENTS:
        assert label_of(cls.kind) == cls.label and cls.label != cls.kind


# -- causes in the trace --------------------------------------------------------------


def test_a_boomerang_points_to_the_access_blocked_it_answers(minimal_run):
    path, _ = minimal_run
    events = read_trace(path)
    by_id = {e["id"]: e for e in events if e.get("id")}
    boomerangs = [e for e in events if e["kind"] == "channel_used" and e["channel"] == "boomerang"]
    assert boomerangs
    for e in boomerangs:
        (cause,) = e["causes"]
        blocked = by_id[cause]
        assert blocked["kind"] == "access_blocked" and blocked["t"] <= e["t"]
        assert e["path"][0] == blocked["group"]


def test_ids_are_unique_and_every_cause_is_an_earlier_event(kawasaki_events):
    # (the kinds left out of kawasaki_events carry neither ids nor causes)
    events = [e for e in kawasaki_events if e["kind"] not in ("trace_start", "trace_end")]
    ids = [e["id"] for e in events if e.get("id")]
    assert len(ids) == len(set(ids))
    seen: set[int] = set()
    for e in events:
        for c in e.get("causes", ()):
            assert c in seen, (e, c)
        if e.get("id"):
            seen.add(e["id"])
    kinds = {e["kind"] for e in events if e.get("causes")}
    assert {"agenda_placed", "bill_submitted", "resolution_passed"} <= kinds
    # a bill's fate (shelved under agenda control, carried over, lapsed, ...) names its submission
    assert kinds & {"bill_shelved", "bill_taken_up", "bill_rejected", "bill_lapsed", "bill_carried_over"}


def test_the_agenda_carries_its_streams_and_pressure_by_channel(kawasaki_events):
    events = kawasaki_events
    by_id = {e["id"]: e for e in events if e.get("id")}
    agenda = next(e for e in events if e["kind"] == "agenda_placed")
    assert agenda["problem"] > 0 and agenda["politics"] > 0 and agenda["policy"] > 0
    assert agenda["pressure_by_channel"] and all(v > 0 for v in agenda["pressure_by_channel"].values())
    causes = {by_id[c]["kind"] for c in agenda["causes"]}
    assert {"resolution_passed", "pressure_applied"} <= causes


def test_explain_follows_recorded_causes_back_to_groups(kawasaki_trace, kawasaki_events):
    path, _ = kawasaki_trace
    result = explain(path, "agenda_placed")
    chain = result["chain"]
    assert chain["kind"] == "agenda_placed"
    kinds, roots = set(), []

    def walk(node):
        kinds.add(node["kind"])
        if not node["causes"]:
            roots.append(node)
        for c in node["causes"]:
            walk(c)

    walk(chain)
    assert {"resolution_passed", "information_shared", "pressure_applied"} <= kinds
    assert any("jp-support" in r["text"] or "kr-assoc" in r["text"] for r in roots)
    text = render(result)
    assert text.splitlines()[1].startswith(chain["date"]) and "[root]" in text
    # built from the recorded causes: without them there is no chain to show
    stripped = [{k: v for k, v in e.items() if k != "causes"} for e in kawasaki_events]
    assert explain_events(stripped, "agenda_placed")["chain"]["causes"] == []
    with pytest.raises(ExplainError, match="no event in this trace reaches it"):
        explain_events(kawasaki_events, "agreement_reached:nowhere")


def _leaves(node):
    if not node["causes"]:
        yield node
    for c in node["causes"]:
        yield from _leaves(c)


@pytest.mark.parametrize("run", ["kawasaki_trace", "minimal_run"])
def test_every_chain_explain_prints_ends_at_a_real_root(run, request):
    """Every milestone the run reaches with an event of its own is explained
    down to roots: kinds the model starts from (``Event.root``), never an
    event whose cause went unrecorded, a missing id or a cut chain."""
    path, result = request.getfixturevalue(run)
    events = request.getfixturevalue("kawasaki_events") if run == "kawasaki_trace" else read_trace(path)
    explained = 0
    for milestone, t in result.milestones.items():
        if t is None or milestone.startswith("norm_cascade."):
            continue  # the norm cascade reaches its milestones without an event to follow
        chain = explain_events(events, milestone)["chain"]
        explained += 1
        for leaf in _leaves(chain):
            if leaf.get("repeat"):
                continue  # shown in full elsewhere in the chain
            assert not leaf.get("missing") and not leaf.get("cut"), (milestone, leaf)
            assert leaf["root"] and is_root(leaf["kind"]), (milestone, leaf["kind"], leaf["text"])
        assert "[cause not recorded]" not in render({"milestone": milestone, "chain": chain})
    assert explained >= 5
    # a root is a root because its kind says so: strip the campaign steps' causes and it shows
    stripped = [
        {**e, "causes": []} if e["kind"] in ("pressure_applied", "access_blocked") else e for e in events
    ]
    text = render(explain_events(stripped, "agenda_placed" if run == "kawasaki_trace" else "boomerang:japan"))
    assert "[cause not recorded]" in text


def test_campaign_pressure_names_its_group_s_campaign_and_local_backing(kawasaki_events):
    events = kawasaki_events
    by_id = {e["id"]: e for e in events if e.get("id")}
    campaigns = [
        e
        for e in events
        if e["kind"] in ("pressure_applied", "access_blocked")
        and e.get("group", e.get("source", "")).startswith(("jp-", "kr-"))
    ]
    assert campaigns
    for e in campaigns:
        group = e.get("group") or e["source"]
        started = [by_id[c] for c in e["causes"] if by_id[c]["kind"] == "campaign_started"]
        assert [s["group"] for s in started] == [group] and started[0]["t"] <= e["t"]
        if e["channel"] == "local_government":
            backing = {by_id[c]["kind"] for c in e["causes"]} - {"campaign_started"}
            assert backing <= {"resolution_passed", "information_shared"}
    # one campaign start per group
    starts = [e["group"] for e in events if e["kind"] == "campaign_started"]
    assert len(starts) == len(set(starts))


def test_explain_names_the_agenda_s_streams(kawasaki_events):
    chain = explain_events(kawasaki_events, "agenda_placed")["chain"]
    streams = {c["kind"]: c.get("stream", "") for c in chain["causes"]}
    assert streams["resolution_passed"].startswith("politics stream")
    assert "problem stream" in streams["pressure_applied"]


# -- interventions and compare ---------------------------------------------------------


def test_interventions_parse_with_one_line_errors():
    assert parse_interventions(["no_domestic", "resource_scale=0.5"]) == Interventions(
        domestic=False, resource_scale=0.5
    )
    assert parse_interventions(["no_local_resolutions=off"]) == Interventions()
    for bad, match in (
        (["no_domestc"], "did you mean 'no_domestic'"),
        (["resource_scale=nan"], r"\[0, 100\]"),
        (["resource_scale"], "VALUE"),
        (["no_international=maybe"], "=on or"),
    ):
        with pytest.raises(InterventionError, match=match):
            parse_interventions(bad)


def test_compare_pairs_two_arms_and_gives_differences_with_intervals():
    arms = [parse_arm("minimal"), parse_arm("minimal --intervene no_local_resolutions", 1)]
    result, _ = compare(arms, replications=4, seed=3)
    assert [a["replications"] for a in result["arms"]] == [4, 4]
    rows = {r["name"]: r for r in result["rows"]}
    for r in result["rows"]:
        assert set(r) >= {"name", "a", "b", "diff", "low", "high"} and r["paired"]
    res = rows["count:resolution_passed"]
    assert res["b"] == 0 and res["a"] > 0 and res["diff"] == pytest.approx(-res["a"])
    assert res["high"] < 0
    # common random numbers: what the intervention does not touch is identical pair by pair
    same = rows["day:coalition_formed"]
    assert same["diff"] == 0 and same["low"] == same["high"] == 0
    json.dumps(result)


def test_the_pair_of_runs_drawn_is_the_median_difference_with_one_seed():
    from normflow.compare import ArmData, median_pair, representative_pairs

    def runs(*reached):
        return [{"milestones": {f"m{i}": {"reached": i < n, "t": 1.0} for i in range(5)}} for n in reached]

    a, b = parse_arm("minimal"), parse_arm("minimal --name b")
    # differences in milestones reached (B - A) by replication: 0, -3, -1, -1, 2; the median is -1
    first = ArmData(a, [{}] * 5, summaries=runs(3, 4, 2, 3, 1), seeds=list(range(5)))
    other = ArmData(b, [{}] * 5, summaries=runs(3, 1, 1, 2, 3), seeds=list(range(5)))
    assert median_pair(first, other) == 2
    (pair,) = representative_pairs([first, other])
    assert pair["run"] == 3 and pair["paired"] and pair["a"] is first.summaries[2]
    # a stored experiment keeps no runs: nothing to draw; stored runs: the first of each
    assert median_pair(first, ArmData(b, [{}] * 5)) is None
    assert median_pair(ArmData(a, [{}], summaries=runs(2)), ArmData(b, [{}], summaries=runs(4))) == 0


def test_compare_refuses_bad_arms_in_one_line(tmp_path):
    for text, match in (
        ("minimal --bogus 1", "unknown option"),
        ("minimal --intervene nope", "one of the interventions"),
        ("minimal --set", "needs a value"),
    ):
        with pytest.raises(CompareError, match=match):
            parse_arm(text)
    with pytest.raises(CompareError, match="neither a run directory"):
        parse_arm(str(tmp_path))
    with pytest.raises(CompareError, match="at least two arms"):
        compare([parse_arm("minimal")], replications=1)


# -- the network and events as a DataFrame ------------------------------------------------


def test_the_network_has_partners_across_borders_and_coalitions():
    def graph(interventions):
        sim = Simulation(load_scenario("minimal"), 1, interventions=interventions)
        sim.run(until=3000.0)
        return network_graph(sim.world, 3000.0)

    g = graph(Interventions())
    kinds = {d["kind"] for _, d in g.nodes(data=True)}
    assert kinds == {"state", "local_government", "groups"}
    partner = g.edges["lg:kawasaki", "lg:bucheon"]
    assert partner["kind"] == "partner" and partner["across"]
    coalitions = [d for *_, d in g.edges(data=True) if d["kind"] == "coalition"]
    assert coalitions and any(d["across"] for d in coalitions)
    # groups aggregated by population: one node for the 150 generated groups
    pop = [d for _, d in g.nodes(data=True) if d["kind"] == "groups" and d["size"] > 1]
    assert pop and pop[0]["size"] == 150
    closed = graph(Interventions(international=False))
    assert not closed.has_edge("lg:kawasaki", "lg:bucheon")


def test_run_events_are_a_dataframe_from_a_trace_or_kept_in_memory(minimal_run):
    path, traced = minimal_run
    frame = traced.events()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:4]) == ["kind", "t", "date", "label"]
    assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert len(frame) == len(read_trace(path)) - 2
    kept = Simulation(load_scenario("minimal"), 1, keep_events=True).run().events()
    pd.testing.assert_frame_equal(frame.reset_index(drop=True), kept.reset_index(drop=True), check_like=True)
    with pytest.raises(ValueError, match="keep_events"):
        Simulation(load_scenario("minimal"), 1).run(until=5.0).events()
