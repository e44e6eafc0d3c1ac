"""The plugin API, second edition: what a plugin author relies on.

- Declared event kinds: counted, in both traces and ``read_trace``, checked
  by the invariants.
- ``sim.every`` and ``sim.at`` and the end-of-run rule (a time equal to the
  horizon is outside the run).
- Run methods refuse NaN, infinite or negative amounts, unknown states and
  issues, and times in the past, naming the plugin.
- ``normflow.param``: exclusive bounds, validators, cross-field sentences.
- ``check_plugin`` turns every failure into a ``ConformanceError`` with its
  cause, catches each broken variant below, warns about a plugin that never
  fired, takes a horizon and can skip shrinking.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import attrs
import pytest
from hypothesis import strategies as st

import normflow
from normflow import events, hookimpl
from normflow.scenario import scenario_from_dict
from normflow.simulation import RunInputError
from normflow.testing import ConformanceError, InvariantViolation, check_invariants, check_plugin
from normflow.testing.conformance import ConformanceWarning
from normflow.trace import read_trace

SCENARIO = {
    "scenario": {"name": "tiny", "start": "2000-01-01", "end": "2001-12-31"},
    "states": [{"id": "japan", "legislature": {"name": "Diet"}}, {"id": "korea"}],
    "issues": [{"id": "suffrage", "state": "japan"}],
    "local_governments": {"groups": [{"state": "japan", "count": 5}]},
    "civil_society": {"populations": [{"state": "japan", "count": 10}]},
}


def tiny(days: int | None = None) -> Any:
    data = {**SCENARIO}
    if days is not None:
        import datetime as dt

        end = dt.date(2000, 1, 1) + dt.timedelta(days=days)
        data["scenario"] = {**SCENARIO["scenario"], "end": end.isoformat()}
    return scenario_from_dict(data)


def run(*plugins: Any, scenario: Any = None, trace: Any = None, seed: int = 0) -> Any:
    sim = normflow.Simulation(scenario or tiny(), seed, plugins=list(plugins), autoload=False, trace=trace)
    return sim, sim.run()


# -- declared event kinds ----------------------------------------------------------------


@events.declare_event("treaty_review", actors={"state": "state", "body": "any"})
class TreatyReview(events.Event):
    body: str
    state: str
    issue: str
    severity: float


@events.declare_event("quiet_note", counted=False)
class QuietNote(events.Event):
    text: str


class TreatyBody:
    """Reviews each issue's state every ``period`` days and files a report."""

    normflow_plugin_name = "treatybody"

    def __init__(self, period: float = 200.0, state: str | None = None, body: str | None = None):
        self.period, self.state, self.body = period, state, body

    @hookimpl
    def normflow_register_event_kinds(self, register):
        register(TreatyReview)
        register(QuietNote)

    @hookimpl
    def normflow_register_processes(self, sim):
        def review() -> None:
            for issue in sim.world.issues:
                sim.bus.publish(
                    TreatyReview(
                        t=sim.now,
                        body=self.body,
                        state=self.state or issue.state,
                        issue=issue.id,
                        severity=0.5,
                    )
                )
            sim.bus.publish(QuietNote(t=sim.now, text="reviewed"))

        sim.every(self.period, review, offset=self.period, name="review")


def test_a_declared_kind_is_counted_traced_in_both_formats_and_read_back(tmp_path):
    _, result = run(TreatyBody(period=200.0))
    # reviews at days 200 and 400 and 600 (the run lasts 730 days)
    assert result.counts["treaty_review"] == 3
    assert "quiet_note" not in result.counts  # declared as not counted
    for name in ("trace.jsonl", "trace.parquet"):
        _, again = run(TreatyBody(period=200.0), trace=tmp_path / name)
        lines = read_trace(tmp_path / name)
        assert lines[0]["event_kinds"]["treaty_review"]["actors"] == {"state": "state", "body": "any"}
        assert lines[0]["event_kinds"]["treaty_review"]["plugin"] == "treatybody"
        reviews = [x for x in lines if x["kind"] == "treaty_review"]
        assert [r["t"] for r in reviews] == [200.0, 400.0, 600.0]
        assert reviews[0]["state"] == "japan" and reviews[0]["severity"] == 0.5
        assert again.counts == result.counts


def test_a_declared_kind_that_never_fires_is_counted_as_zero():
    _, result = run(TreatyBody(period=5000.0))
    assert result.counts["treaty_review"] == 0


def test_the_invariants_check_the_actor_fields_of_a_declared_kind(tmp_path):
    run(TreatyBody(state="atlantis"), trace=tmp_path / "t.jsonl")
    lines = read_trace(tmp_path / "t.jsonl")
    with pytest.raises(InvariantViolation, match="state 'atlantis' is not a declared state"):
        check_invariants(lines, tiny())
    # "any" takes any actor of the scenario, and the extra ones named
    run(TreatyBody(body="un"), trace=tmp_path / "u.jsonl")
    with pytest.raises(InvariantViolation, match="body 'un' is not a declared actor"):
        check_invariants(read_trace(tmp_path / "u.jsonl"), tiny())
    check_invariants(read_trace(tmp_path / "u.jsonl"), tiny(), extra_actors=["un"])


def test_a_kind_is_declared_once_with_a_valid_name_and_real_actor_fields():
    with pytest.raises(ValueError, match="core kind"):
        events.declare_event("pressure_applied")
    with pytest.raises(ValueError, match="lower case"):
        events.declare_event("Treaty Review")
    with pytest.raises(ValueError, match="not a field"):

        @events.declare_event("bad_actors", actors={"nobody": "state"})
        class Bad(events.Event):
            somebody: str

    class Undeclared(events.Event):
        pass

    class Registers:
        @hookimpl
        def normflow_register_event_kinds(self, register):
            register(Undeclared)

    with pytest.raises(normflow.PluginError, match="not declared"):
        normflow.Simulation(tiny(), 0, plugins=[Registers()], autoload=False)


# -- sim.every, sim.at and the end of the run ----------------------------------------------


class Clock:
    normflow_plugin_name = "clock"

    def __init__(self, **calls: Any):
        self.calls = calls
        self.seen: list[tuple[str, float]] = []
        self.accepted: dict[str, bool] = {}

    @hookimpl
    def normflow_register_processes(self, sim):
        for name, (how, *args) in self.calls.items():
            fn = lambda name=name: self.seen.append((name, sim.now))  # noqa: E731
            if how == "every":
                period, offset = args
                sim.every(period, fn, offset=offset, name=name)
            else:
                self.accepted[name] = sim.at(args[0], fn, name=name)


def test_a_time_equal_to_the_horizon_is_outside_the_run():
    horizon = tiny().horizon
    clock = Clock(last=("at", horizon - 0.5), end=("at", horizon), after=("at", horizon + 1))
    run(clock)
    assert clock.seen == [("last", horizon - 0.5)]
    assert clock.accepted == {"last": True, "end": False, "after": False}


def test_every_calls_at_offset_plus_whole_periods_strictly_before_the_horizon():
    horizon = tiny().horizon  # 730 days
    clock = Clock(yearly=("every", 365.0, 0.0), late=("every", 365.0, 365.0))
    run(clock)
    yearly = [t for name, t in clock.seen if name == "yearly"]
    late = [t for name, t in clock.seen if name == "late"]
    assert yearly == [0.0, 365.0]  # 730 == horizon is outside the run
    assert late == [365.0]
    clock = Clock(dense=("every", 10.0, 5.0))
    run(clock)
    assert len(clock.seen) == math.ceil((horizon - 5.0) / 10.0)


def test_every_and_at_refuse_what_cannot_be_scheduled():
    for calls, match in [
        ({"x": ("every", 0.0, 0.0)}, "period 0.0"),
        ({"x": ("every", math.nan, 0.0)}, "period nan"),
        ({"x": ("every", 1.0, -1.0)}, "offset -1.0"),
        ({"x": ("at", -3.0)}, "in the past"),
    ]:
        with pytest.raises(normflow.PluginRunError, match=f"plugin 'clock'.*{match}"):
            run(Clock(**calls))


# -- strict inputs to run methods -----------------------------------------------------------


class Calls:
    """Makes one call to a run method on day 10."""

    normflow_plugin_name = "calls"

    def __init__(self, method: str, *args: Any):
        self.method, self.args = method, args

    @hookimpl
    def normflow_register_processes(self, sim, register):
        def act():
            yield sim.env.timeout(10)
            args = [sim.now if a == "now" else a for a in self.args]
            getattr(sim, self.method)(*args)

        register("act", act)


PRESS = ("apply_pressure", "now", "korea", "japan", "suffrage", "test", "moral")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        ((*PRESS, math.nan), "amount nan"),
        ((*PRESS, -1.0), "amount -1.0"),
        ((*PRESS, math.inf), "amount inf"),
        (("apply_pressure", "now", "x", "atlantis", "suffrage", "test", "moral", 1.0), "state 'atlantis'"),
        (("apply_pressure", "now", "x", "japan", "tax", "test", "moral", 1.0), "issue 'tax'"),
        (("apply_pressure", 3.0, "x", "japan", "suffrage", "test", "moral", 1.0), "in the past"),
        (("change_policy", "now", "japan", "suffrage", math.nan, "c"), "position nan"),
        (("change_policy", "now", "japan", "suffrage", -0.5, "c"), "position -0.5"),
        (("change_policy", "now", "atlantis", "suffrage", 1.0, "c"), "state 'atlantis'"),
        (("change_policy", 2.0, "japan", "suffrage", 1.0, "c"), "in the past"),
        (("reach_milestone", "done", 2.0), "in the past"),
        (("reach_milestone", "done", math.nan), "t nan"),
        (("reach_milestone", "", "now"), "non-empty string"),
    ],
)
def test_run_methods_refuse_bad_input_naming_the_plugin(call, match):
    with pytest.raises(
        normflow.PluginRunError, match=f"plugin 'calls' raised in process 'act'.*{match}"
    ) as e:
        run(Calls(*call))
    assert isinstance(e.value.error, RunInputError)


def test_zero_pressure_is_allowed_and_applies_nothing():
    _, result = run(Calls(*PRESS, 0.0))
    assert "pressure_applied" not in result.counts or result.counts["pressure_applied"] >= 0


def test_a_modifier_that_returns_nan_is_an_error():
    class Broken:
        normflow_plugin_name = "broken_modifier"

        @hookimpl
        def normflow_register_modifiers(self, register):
            register("pressure", lambda amount, source, target, issue, channel: math.nan)

    with pytest.raises(normflow.PluginRunError, match="modifiers turned the amount into nan"):
        run(Broken(), Calls(*PRESS, 1.0))


class Raising:
    """A pressure modifier or a PressureApplied fields handler that raises."""

    normflow_plugin_name = "raising"

    def __init__(self, where: str):
        self.where = where

    @hookimpl
    def normflow_register_modifiers(self, register):
        if self.where == "modifier":
            register("pressure", self.weigh)

    @hookimpl
    def normflow_register_handlers(self, register):
        if self.where == "handler":
            register(events.PressureApplied, self.pressed, fields=True)

    def weigh(self, amount, source, target, issue, channel):
        raise ZeroDivisionError("weigh")

    def pressed(self, t, source, target, issue, channel, nature, amount, id=0, causes=()):
        raise ZeroDivisionError("pressed")


@pytest.mark.parametrize("where", ["modifier", "handler"])
def test_a_raising_modifier_or_handler_is_named_as_its_guard_names_it(where):
    # an error of a pressure modifier, or of a fields handler of PressureApplied, raised
    # inside a run names the plugin and the place exactly as calling its guard does
    with pytest.raises(normflow.PluginRunError) as raised:
        sim, _ = run(Raising(where), Calls(*PRESS, 1.0))
    fresh = normflow.Simulation(tiny(), 0, plugins=[Raising(where)], autoload=False)
    if where == "modifier":
        guard, args = fresh._pressure_mods[0], (1.0, "x", "japan", "suffrage", "test")
    else:
        guard = fresh.bus._table(events.PressureApplied)[0].fn
        args = (0.0, "x", "japan", "suffrage", "test", "moral", 1.0)
    with pytest.raises(normflow.PluginRunError) as direct:
        guard(*args)
    assert isinstance(raised.value.error, ZeroDivisionError)
    assert (raised.value.plugin, raised.value.where) == (direct.value.plugin, direct.value.where)
    assert raised.value.plugin == "raising"
    assert (
        str(raised.value.error) == str(direct.value.error) == ("weigh" if where == "modifier" else "pressed")
    )


# -- normflow.param ------------------------------------------------------------------------


@attrs.frozen
class Review:
    period: float = normflow.param(365.0, gt=0, lt=3650, doc="days between reviews")
    panel: int = normflow.param(3, low=1, validator=lambda n: n % 2 == 1, expected="an odd number of members")
    share: float = normflow.param(0.5, low=0, high=1, validator=lambda x: None)
    floor: float = normflow.param(0.1, low=0, high=1)

    def __attrs_post_init__(self) -> None:
        if self.floor > self.share:
            raise ValueError("Floor must not exceed share")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"period": 0}, "plugins.review.period: got 0.0; expected a number in (0, 3650)"),
        ({"period": 3650}, "plugins.review.period: got 3650.0; expected a number in (0, 3650)"),
        ({"panel": 4}, "plugins.review.panel: got 4; expected an odd number of members"),
        ({"floor": 0.9}, "plugins.review: floor must not exceed share"),
    ],
)
def test_param_bounds_and_validators_read_well(data, message):
    with pytest.raises(normflow.ScenarioError) as e:
        normflow.schema.structure(Review, data, "plugins.review")
    assert e.value.message == message


def test_param_exclusive_bounds_accept_values_inside():
    assert normflow.schema.structure(Review, {"period": 1e-9, "panel": 5}, "plugins.review").panel == 5
    with pytest.raises(TypeError, match="not both"):
        normflow.param(1.0, low=0, gt=0)


# -- check_plugin: one ConformanceError per broken variant -----------------------------------


def refuse(plugin: Any, match: str, cause: type[BaseException] | None = None, **options: Any) -> None:
    options = {"scenarios": [tiny()], "seeds": st.just(0), "max_examples": 2, **options}
    with pytest.raises(ConformanceError, match=f"(?s){match}") as raised:
        check_plugin(plugin, **options)
    if cause is not None:
        assert isinstance(raised.value.__cause__, cause), repr(raised.value.__cause__)


def test_check_plugin_refuses_a_milestone_dated_in_the_past():
    refuse(Calls("reach_milestone", "done", 2.0), "run: .*in the past", normflow.PluginRunError)


def test_check_plugin_refuses_negative_pressure():
    refuse(Calls(*PRESS, -1.0), "run: .*amount -1.0", normflow.PluginRunError)


def test_check_plugin_refuses_nan_pressure():
    refuse(Calls(*PRESS, math.nan), "run: .*amount nan", normflow.PluginRunError)


def test_check_plugin_refuses_an_unknown_actor_in_a_declared_event():
    refuse(
        TreatyBody(state="atlantis"), "invariants: .*'atlantis' is not a declared state", InvariantViolation
    )


class Writes:
    """Writes one world field directly on day 10."""

    normflow_plugin_name = "writes"

    def __init__(self, write: Any):
        self.write = write

    @hookimpl
    def normflow_register_processes(self, sim):
        sim.at(10.0, lambda: self.write(sim.world), name="write")


@pytest.mark.parametrize(
    ("write", "match"),
    [
        (lambda w: w.lg_support.__setitem__((0, 0), 1.5), r"world.lg_support\[0, 0\] = 1.5"),
        (lambda w: w.lg_access.__setitem__(2, -0.1), r"world.lg_access\[2\] = -0.1"),
        (lambda w: setattr(w.stance("japan", "suffrage"), "position", math.nan), r"position = nan"),
        (lambda w: setattr(w.stance("korea", "suffrage"), "commitment", 2.0), r"commitment = 2.0"),
    ],
)
def test_check_plugin_refuses_a_direct_write_out_of_range(write, match):
    refuse(Writes(write), f"world: .*{match}")


@pytest.mark.filterwarnings("ignore::normflow.testing.conformance.ConformanceWarning")
def test_check_plugin_lets_a_direct_write_in_range_pass():
    report = check_plugin(
        Writes(lambda w: w.lg_support.__setitem__((0, 0), 1.0)),
        scenarios=[tiny()],
        seeds=st.just(0),
        max_examples=1,
    )
    assert report.runs == 1


def test_check_plugin_warns_about_a_plugin_that_never_fired_and_takes_a_horizon():
    slow = TreatyBody(period=4 * 365.0)  # a four-year cycle
    with pytest.warns(ConformanceWarning, match="published no event of its own"):
        check_plugin(slow, scenarios=[tiny()], seeds=st.just(0), max_examples=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConformanceWarning)
        report = check_plugin(slow, horizon=5 * 365, seeds=st.just(0), max_examples=2)
    assert report.emitted["treaty_review"] > 0
    assert report.runs == 2


class PressesNegatively:
    normflow_plugin_name = "presses_negatively"

    @hookimpl
    def normflow_register_processes(self, sim):
        issue = sim.world.issues[0]
        sim.at(1.0, lambda: sim.apply_pressure(sim.now, "x", issue.state, issue.id, "test", "moral", -1.0))


def test_check_plugin_without_shrinking_reports_the_first_failure():
    # random scenarios: with shrinking off the first failing one is reported as found
    refuse(
        PressesNegatively(),
        "amount -1.0",
        normflow.PluginRunError,
        shrink=False,
        scenarios=None,
        max_examples=3,
    )


# -- the world reference ------------------------------------------------------------------


def test_the_world_reference_covers_every_field_of_the_world_and_the_docs_are_current():
    from pathlib import Path

    from normflow import worldref

    sim = normflow.Simulation(normflow.load_scenario("kitakyushu-dalian"), 0, autoload=False)
    public = {k for k in vars(sim.world) if not k.startswith("_")}
    documented = {f.name for f in worldref.FIELDS}
    assert public - documented == set(), "document these in normflow/worldref.py"
    assert documented - public == set(), "these are documented but gone"
    stance = sim.world.stance("japan", sim.world.issues[0].id)
    assert {f.name for f in worldref.STANCE_FIELDS} == {f.name for f in attrs.fields(type(stance))}
    doc = Path(__file__).resolve().parents[1] / "docs" / "world.md"
    assert doc.read_text(encoding="utf-8") == worldref.render(), (
        "run: python -m normflow.worldref > docs/world.md"
    )
    assert worldref.world_problems(sim.world, 0.0) == []
    sim.world.lg_openness[0] = 1.5
    assert any("lg_openness[0] = 1.5" in p for p in worldref.world_problems(sim.world, 0.0))


def test_read_trace_is_public():
    assert "read_trace" in normflow.__all__ and normflow.read_trace is read_trace


def test_the_fixture_writes_the_documented_trace_file(normflow_simulation, tmp_path):
    first = normflow_simulation("minimal", trace=True).run(until=30)
    second = normflow_simulation("minimal", seed=1, trace=True).run(until=30)
    assert first.trace_path == str(tmp_path / "trace-1.jsonl")
    assert second.trace_path == str(tmp_path / "trace-2.jsonl")
    assert read_trace(first.trace_path)[0]["kind"] == "trace_start"


# -- the report hook, and declared kinds in experiments ----------------------------------------

REPORTING = """
import matplotlib
import normflow


@normflow.events.declare_event("ballot_box", actors={"state": "state"})
class BallotBox(normflow.events.Event):
    state: str
    issue: str


@normflow.hookimpl
def normflow_register_event_kinds(register):
    register(BallotBox)


@normflow.hookimpl
def normflow_register_processes(sim):
    issue = sim.world.issues[0]
    sim.every(100, lambda: sim.bus.publish(BallotBox(t=sim.now, state=issue.state, issue=issue.id)))


@normflow.hookimpl
def normflow_report_sections(report):
    import matplotlib.pyplot as plt

    if report.kind == "run":
        boxes = [x for x in report.trace() if x["kind"] == "ballot_box"]
        fig, ax = plt.subplots()
        ax.plot([b["t"] for b in boxes], range(len(boxes)))
        report.add_section(
            "Ballot boxes",
            text=f"{len(boxes)} ballot boxes; counted {report.summary['counts']['ballot_box']}",
            figure=fig,
            table=(["day", "state"], [(b["t"], b["state"]) for b in boxes]),
        )
    else:
        report.add_section("Ballot boxes per run", table=report.results[["counts.ballot_box"]].describe())
"""

BROKEN_REPORT = """
import normflow


@normflow.hookimpl
def normflow_report_sections(report):
    raise RuntimeError("no figure today")
"""


def test_a_plugin_adds_a_figure_and_a_table_to_the_run_report_and_its_kind_to_experiment_columns(tmp_path):
    from plugin_helpers import fake_distribution, normflow_cli

    site = fake_distribution(tmp_path / "site", "reporting", REPORTING)
    fake_distribution(site, "broken_report", BROKEN_REPORT)
    out = tmp_path / "run"
    done = normflow_cli(
        "run",
        "minimal",
        "--until",
        "1992-01-01",
        "--with",
        "reporting",
        "--with",
        "broken_report",
        "--out",
        str(out),
        pythonpath=site,
    )
    assert done.returncode == 0, done.stderr
    done = normflow_cli("report", str(out), "-o", str(tmp_path / "run.html"), pythonpath=site)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "run.html").read_text()
    assert 'id="plugin-reporting-1"' in page and "Ballot boxes" in page
    assert "8 ballot boxes; counted 8" in page  # days 0, 100, ..., 700 of 730
    assert page.count("<svg") >= 1 and "<td>japan</td>" in page
    assert "plugin &#x27;broken_report&#x27; could not add its section: RuntimeError: no figure today" in page
    # a run the plugin took no part in gets no section from it
    plain = tmp_path / "plain"
    assert (
        normflow_cli(
            "run", "minimal", "--until", "1991-01-01", "--out", str(plain), pythonpath=site
        ).returncode
        == 0
    )
    assert (
        normflow_cli("report", str(plain), "-o", str(tmp_path / "plain.html"), pythonpath=site).returncode
        == 0
    )
    assert "Ballot boxes" not in (tmp_path / "plain.html").read_text()
    # experiments: the declared kind is a column, and the report gets the plugin's table
    exp = tmp_path / "exp"
    short = tmp_path / "short.toml"
    short.write_text(
        '[scenario]\nname = "short"\nstart = 1990-01-01\nend = 1991-06-30\n'
        '[plugins]\nuse = []\n[[states]]\nid = "japan"\n[[issues]]\nid = "suffrage"\nstate = "japan"\n'
        '[[civil_society.populations]]\nstate = "japan"\ncount = 5\n'
        '[[local_governments.groups]]\nstate = "japan"\ncount = 3\n'
    )
    done = normflow_cli(
        "experiment",
        "run",
        str(short),
        "-n",
        "2",
        "--workers",
        "1",
        "--with",
        "reporting",
        "--out",
        str(exp),
        pythonpath=site,
    )
    assert done.returncode == 0, done.stderr
    import pandas as pd

    results = pd.read_parquet(exp / "results.parquet") if (exp / "results.parquet").exists() else None
    if results is None:
        results = normflow.open_experiment(exp).results()
    assert list(results["counts.ballot_box"]) == [6, 6]  # days 0, 100, ..., 500 of 545
    done = normflow_cli("report", str(exp), "-o", str(tmp_path / "exp.html"), pythonpath=site)
    assert done.returncode == 0, done.stderr
    assert "Ballot boxes per run" in (tmp_path / "exp.html").read_text()


# -- which plugins take part in a run ------------------------------------------------------

BUNDLED = {"boomerang", "local_diplomacy", "norm_cascade", "spiral"}


def active(scenario: Any, **kwargs: Any) -> set[str]:
    return set(normflow.Simulation(scenario, 0, **kwargs).active_plugins)


def short_scenario(plugins: str) -> Any:
    return normflow.loads_scenario(
        '[scenario]\nname = "s"\nstart = 1990-01-01\nend = 1991-01-01\n'
        '[[states]]\nid = "japan"\n[[issues]]\nid = "suffrage"\nstate = "japan"\n' + plugins
    )


def test_a_scenario_runs_the_plugins_it_uses_and_those_it_configures(monkeypatch):
    for key in ("NORMFLOW_LOAD_PLUGINS", "NORMFLOW_DISABLE_PLUGINS", "NORMFLOW_DISABLE_PLUGIN_AUTOLOAD"):
        monkeypatch.delenv(key, raising=False)
    assert active(normflow.load_scenario("minimal")) == BUNDLED
    assert active(short_scenario('[plugins]\nuse = ["spiral"]\n')) == {"spiral"}
    configured = short_scenario('[plugins]\nuse = ["spiral"]\n[plugins.boomerang]\nstrength = 3.0\n')
    assert active(configured) == {"spiral", "boomerang"}
    # autoload=True asks for every installed plugin, whatever the scenario uses
    assert active(short_scenario('[plugins]\nuse = ["spiral"]\n'), autoload=True) >= BUNDLED
    # a plugin passed by hand always takes part; autoload=False: only those
    assert active(short_scenario("[plugins]\nuse = []\n"), plugins=[TreatyBody()]) == {"treatybody"}
    assert active(normflow.load_scenario("minimal"), plugins=[TreatyBody()], autoload=False) == {"treatybody"}


def test_with_without_and_the_environment_adjust_the_set(monkeypatch):
    from normflow.scenario import with_plugins

    monkeypatch.delenv("NORMFLOW_LOAD_PLUGINS", raising=False)
    minimal = normflow.load_scenario("minimal")
    assert active(with_plugins(minimal, removed=["spiral"])) == BUNDLED - {"spiral"}
    spiral_only = short_scenario('[plugins]\nuse = ["spiral"]\n')
    assert active(with_plugins(spiral_only, added=["boomerang"])) == {"spiral", "boomerang"}
    monkeypatch.setenv("NORMFLOW_DISABLE_PLUGINS", "spiral, boomerang")
    assert active(minimal) == BUNDLED - {"spiral", "boomerang"}
    monkeypatch.delenv("NORMFLOW_DISABLE_PLUGINS")
    with pytest.raises(normflow.ScenarioError, match="--with: got 'nosuch'; expected an installed plugin"):
        active(with_plugins(minimal, added=["nosuch"]))
    with pytest.raises(normflow.ScenarioError, match="only one of --with and --without"):
        with_plugins(minimal, added=["spiral"], removed=["spiral"])
    configured = short_scenario('[plugins]\nuse = ["spiral"]\n[plugins.boomerang]\nstrength = 3.0\n')
    with pytest.raises(normflow.ScenarioError, match="plugins.boomerang: .*which --without removes"):
        active(with_plugins(configured, removed=["boomerang"]))


def test_a_used_plugin_that_is_not_installed_is_an_error_naming_the_installed_ones():
    with pytest.raises(normflow.ScenarioError) as e:
        active(short_scenario('[plugins]\nuse = ["spiral", "treaty_body"]\n'))
    assert e.value.path == "plugins.use" and e.value.value == "treaty_body"
    assert "an installed plugin (installed: " in e.value.message and "spiral" in e.value.message


def test_a_scenario_without_a_use_list_runs_everything_and_says_so_once(monkeypatch):
    from normflow import plugins

    monkeypatch.delenv("NORMFLOW_LOAD_PLUGINS", raising=False)
    monkeypatch.setattr(plugins, "_noted_undeclared", False)
    undeclared = short_scenario("")
    with pytest.warns(plugins.UndeclaredPluginsWarning, match="results depend on what is installed"):
        assert active(undeclared) >= BUNDLED
    with warnings.catch_warnings():
        warnings.simplefilter("error", plugins.UndeclaredPluginsWarning)
        assert active(undeclared) >= BUNDLED  # said once per process


def test_require_still_works_and_warns_that_it_is_deprecated(monkeypatch):
    from normflow import plugins

    monkeypatch.setattr(plugins, "_warned_require", set())
    old = short_scenario('[plugins]\nrequire = ["spiral"]\n')
    assert old.plugins.use == ("spiral",)
    with pytest.warns(normflow.NormflowDeprecationWarning, match="plugins.require is deprecated"):
        assert active(old) == {"spiral"}


def test_validate_takes_with_and_without():
    import json

    from click.testing import CliRunner

    from normflow.cli import cli

    def milestones(*extra: str) -> set[str]:
        out = CliRunner().invoke(cli, ["validate", "minimal", "-n", "1", "--workers", "1", "--json", *extra])
        assert out.exit_code == 0, out.output
        return {m["name"] for m in json.loads(out.stdout)["milestones"]}

    assert any(name.startswith("spiral.") for name in milestones())
    assert not any(name.startswith("spiral.") for name in milestones("--without", "spiral"))
    out = CliRunner().invoke(cli, ["validate", "minimal", "-n", "1", "--with", "nosuch"])
    assert out.exit_code == 2 and "--with: got 'nosuch'" in out.output


# -- handlers that take an event's fields ------------------------------------------------


class BlockLog:
    """Keeps every blocked access it hears, as fields or from event objects."""

    def __init__(self, name: str, fields: bool):
        self.normflow_plugin_name = name
        self.fields = fields
        self.seen: list[tuple[Any, ...]] = []

    @hookimpl
    def normflow_register_handlers(self, register):
        if self.fields:
            register(events.AccessBlocked, lambda *row: self.seen.append(row), fields=True)
        else:
            register(
                events.AccessBlocked,
                lambda ev: self.seen.append(
                    (ev.t, ev.group, ev.state, ev.issue, ev.channel, ev.id, ev.causes)
                ),
            )


def closed_door() -> Any:
    data = {**SCENARIO, "states": [{"id": "japan", "penetrability": 0.05}, {"id": "korea"}]}
    return scenario_from_dict(data)


class OldBlockLog:
    """A fields handler written before ``AccessBlocked`` gained ``causes``."""

    def __init__(self, name: str):
        self.normflow_plugin_name = name
        self.seen: list[tuple[Any, ...]] = []

    @hookimpl
    def normflow_register_handlers(self, register):
        def blocked(t, group, state, issue, channel, id=0):
            self.seen.append((t, group, state, issue, channel, id))

        register(events.AccessBlocked, blocked, fields=True)


def test_a_fields_handler_written_before_an_event_gained_fields_keeps_working(tmp_path):
    assert [f.name for f in attrs.fields(events.AccessBlocked)][-1] == "causes"
    old, new = OldBlockLog("old"), BlockLog("new", fields=True)
    # rows without objects (only fields handlers and the trace listen) ...
    sim, _ = run(old, new, scenario=closed_door(), trace=tmp_path / "t.jsonl")
    assert sim.bus.direct(events.AccessBlocked) is not None
    assert len(old.seen) > 5 and old.seen == [row[:6] for row in new.seen]
    # ... and fields read from objects (a handler needing the object listens too)
    old2, objects = OldBlockLog("old2"), BlockLog("objects", fields=False)
    run(old2, objects, scenario=closed_door())
    assert old2.seen == [row[:6] for row in objects.seen]


def test_a_fields_handler_hears_what_an_object_handler_hears_with_or_without_objects(tmp_path):
    alone = BlockLog("alone", fields=True)
    sim, _ = run(alone, scenario=closed_door(), trace=tmp_path / "t.jsonl")
    # only the fields handler and the trace listen: no object is built
    assert sim.bus.direct(events.AccessBlocked) is not None
    assert len(alone.seen) > 5
    traced = [r for r in read_trace(tmp_path / "t.jsonl") if r["kind"] == "access_blocked"]
    fields_of = [
        (r["t"], r["group"], r["state"], r["issue"], r["channel"], r["id"], tuple(r["causes"]))
        for r in traced
    ]
    assert fields_of == alone.seen
    # beside a handler that needs the object, the fields handler gets the object's fields
    fields, objects = BlockLog("fields", fields=True), BlockLog("objects", fields=False)
    sim, _ = run(fields, objects, scenario=closed_door())
    assert sim.bus.direct(events.AccessBlocked) is None
    assert fields.seen == objects.seen
    # (event ids depend on which other kinds are traced; the rest does not)
    assert [row[:5] for row in fields.seen] == [row[:5] for row in alone.seen]


def test_the_exact_guard_binds_calls_as_the_plugins_callable_does_and_names_it_on_error():
    import datetime

    from normflow.simulation import PluginRunError, _exact_guard

    seen: list[tuple[Any, ...]] = []

    def handler(t, group, state, issue, channel="", id=0, causes=()):
        if group == "bad":
            raise ValueError("no such group")
        seen.append((t, group, state, issue, channel, id, causes))

    def fail(exc: Exception) -> Exception:
        return PluginRunError("demo", "handler", 1.0, datetime.date(2000, 1, 1), exc)

    guarded = _exact_guard(handler, fail, 7)
    assert guarded is not None
    guarded(1.0, "g", "s", "i")  # the defaults are the handler's
    guarded(2.0, "g", "s", "i", "local_government", 5, (1, 2))
    guarded(3.0, "g", "s", issue="i", id=9)
    assert seen == [
        (1.0, "g", "s", "i", "", 0, ()),
        (2.0, "g", "s", "i", "local_government", 5, (1, 2)),
        (3.0, "g", "s", "i", "", 9, ()),
    ]
    with pytest.raises(PluginRunError) as err:
        guarded(4.0, "bad", "s", "i")
    assert isinstance(err.value.__cause__, ValueError)
    # a call that would not bind, or a callable taking *args: the general guard instead
    assert _exact_guard(handler, fail, 3) is None
    assert _exact_guard(handler, fail, 8) is None
    assert _exact_guard(lambda *values: None, fail, 2) is None
