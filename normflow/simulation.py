"""One run: a scenario, a seed and the active plugins, wired together.

``Simulation(scenario, seed)`` builds the world from the ``world`` random
stream, collects what the plugins hand over (channels, modifiers, handlers,
processes, metrics; hooks are called here, once), fixes the bus, and starts
the core processes. ``run()`` advances SimPy to the horizon and returns a
``RunResult``: each milestone with its time and date, final positions,
counts and metrics.

The methods plugins use during a run -- ``apply_pressure``,
``change_policy``, ``reach_milestone``, ``modify_transition``, ``rng`` --
are the public face of a run; everything else is the engine's business.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from normflow import events as ev
from normflow.bus import Bus
from normflow.clocks import Driver, FastEnvironment
from normflow.interventions import Interventions
from normflow.log import get_logger
from normflow.outcomes import OutcomeRecorder, milestone_label
from normflow.plugins import (
    PluginError,
    config_sections,
    event_kinds,
    get_plugin_manager,
    installed_entry_points,
    one_scan,
    plugin_name,
    select_plugins,
)
from normflow.processes import accountability, agenda, backlash, coalition, counter, information, negotiation
from normflow.result import RunResult
from normflow.rng import Streams
from normflow.scenario import Scenario
from normflow.schema import ScenarioError, structure
from normflow.world import Channel, World

if TYPE_CHECKING:
    from normflow.trace import JsonlTrace, ParquetTrace

#: Share of the gap to full public support a turning point of strength 1 (a
#: court ruling, a media event) closes.
TURNING_POINT_SUPPORT = 0.02


class Tally(Counter):
    """The counts of a run (``sim.tally``): a ``Counter`` whose item
    assignment is ``dict``'s own. ``Counter`` defines ``__delitem__`` in
    Python, which makes every ``tally[kind] += 1`` call that method's
    neighbour ``__setitem__`` through Python's slot machinery (about 0.1 µs
    more a time, some 180,000 times a ``kawasaki-suffrage`` run); with
    ``dict``'s ``__delitem__`` the assignment is a plain dictionary store. The
    one difference from ``Counter``: ``del tally[key]`` of a key that is not
    there raises ``KeyError``."""

    __slots__ = ()
    __delitem__ = dict.__delitem__


class PluginRunError(Exception):
    """A plugin raised during a run. Names the plugin, where, and when."""

    def __init__(self, plugin: str, where: str, t: float, date: dt.date, error: BaseException):
        self.plugin = plugin
        self.where = where
        self.t = t
        self.date = date
        self.error = error
        self.message = (
            f"plugin '{plugin}' raised in {where} at day {t:.2f} ({date.isoformat()}): "
            f"{type(error).__name__}: {error}"
        )
        # all fields in args: SimPy re-raises a failed process's exception as
        # type(exc)(*exc.args), and pickling (worker processes) does the same
        super().__init__(plugin, where, t, date, error)

    def __str__(self) -> str:
        return self.message


#: How far (in days) a time given to a run method may lie before the current
#: time and still count as now: a process that waits ``t - sim.now`` days
#: arrives at ``t`` give or take a rounding error.
TIME_TOLERANCE = 1e-6


class RunInputError(ValueError):
    """A run method (``apply_pressure``, ``change_policy``, ``reach_milestone``,
    ``every``, ``at``) was given a value it cannot use: NaN, an infinite or
    negative amount, an unknown actor or issue, a time in the past. Raised
    inside a plugin's callable, it stops the run with a ``PluginRunError``
    naming the plugin."""


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(x)
    except TypeError:
        return False


class Simulation:
    """A single run. Build it, optionally inspect ``world``, then ``run()``."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int | np.random.SeedSequence = 0,
        *,
        plugins: Iterable[Any] = (),
        autoload: bool | None = None,
        trace: str | Path | None = None,
        local_government_role: float = 1.0,
        interventions: Interventions | None = None,
        plugin_manager: Any = None,
        keep_events: bool = False,
    ):
        if not 0.0 <= local_government_role <= 10.0:
            raise ValueError(
                f"local_government_role: got {local_government_role}; expected a number in [0, 10]"
            )
        self.scenario = scenario
        self.seed = seed
        self._lg_role = float(local_government_role)
        self.streams = Streams(seed)
        self.env = FastEnvironment()
        self.world = World(scenario, self.streams("world"))
        self.local_government_role = local_government_role
        if local_government_role != 1.0:
            self.world.scale_local_role(local_government_role)
        self.interventions = interventions or Interventions()
        # None when nothing is withheld: apply_pressure is on the hot path
        self._withholds = None if self.interventions.is_default else self.interventions.blocks
        # None unless pressure from abroad is scaled (the foreign_scale intervention)
        self._foreign_factor = (
            self.interventions.foreign_factor if self.interventions.foreign_scale != 1.0 else None
        )
        self.interventions.apply_to_world(self.world)
        self.bus = Bus()
        self.tally: Counter[str] = Tally()
        self.horizon = scenario.horizon
        self.metrics_acc: dict[str, float] = defaultdict(float)
        self.event_times: dict[str, list[float]] = defaultdict(list)
        self._milestones: dict[str, float | None] = {}
        self._metric_fns: list[tuple[str, Callable[[], Any]]] = []
        self._pressure_mods: list[Callable[..., float]] = []
        self._transition_mods: list[Callable[..., float]] = []
        self._current_plugin: str | None = None
        self._pending_processes: list[tuple[str, str, Callable[[], Any]]] = []
        self.log = get_logger(scenario=scenario.name, seed=_seed_label(seed))
        with one_scan():  # the installed plugins, read once for the whole set-up
            self.pm = plugin_manager or get_plugin_manager(list(plugins), autoload=autoload is not False)
            if plugin_manager is not None and plugins:
                for i, plugin in enumerate(plugins):
                    self.pm.explicit.add(self.pm.get_name(plugin) or plugin_name(plugin, i))
            self._sections = config_sections(self.pm)
            #: the plugins taking part in this run, in the order they were loaded
            self.active_plugins: tuple[str, ...] = tuple(
                select_plugins(self.pm, scenario, autoload, self._sections)
            )
            self._active = frozenset(self.active_plugins)
            self.plugin_versions = {
                name: self.pm.versions.get(name, "unknown") for name in self.active_plugins
            }
            self.plugin_configs = self._validate_plugin_sections()
        #: the kinds of event the active plugins declare: kind -> (plugin, class)
        self.event_kinds: dict[str, tuple[str, type[ev.Event]]] = event_kinds(self.pm, self.active_plugins)
        self._trace: JsonlTrace | ParquetTrace | None = None
        self._trace_path = None if trace is None else str(trace)
        # causes: event ids, and per (state, issue) the latest pressure event by channel
        self._event_ids = 0
        self._last_pressure: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
        self._pressure_by_channel: dict[tuple[str, str], dict[str, float]] = defaultdict(
            lambda: defaultdict(float)
        )
        self._milestone_labels: dict[str, str] = {}
        #: the latest event id under a key processes agree on (e.g. the last
        #: sharing in a locality), so that a later event can name it as a cause
        self.latest_event: dict[Any, Any] = {}
        self._kept: list[dict[str, Any]] | None = None
        if keep_events:
            self._kept = []
            kept, date_of = self._kept, self.date

            def keep(event: ev.Event) -> None:
                kept.append({**event.to_dict(), "date": date_of(event.t).isoformat()})

            self.bus.add_sink(keep)
        if trace is not None:
            header: dict[str, Any] = {
                "scenario": scenario.name,
                "seed": _seed_label(seed),
                "start": scenario.start.isoformat(),
                "plugins": self.plugin_versions,
            }
            if self.event_kinds:
                # so that readers and the invariants know them without the plugin
                header["event_kinds"] = {
                    kind: {**ev.describe_event(cls), "plugin": plugin}
                    for kind, (plugin, cls) in sorted(self.event_kinds.items())
                }
            # a path ending in .parquet gets the columnar trace, any other JSON Lines
            # (the writers, and json, are loaded only by a traced run)
            from normflow.trace import open_trace

            self._trace = open_trace(trace, scenario.start, header=header)
        self._chambers: dict[str, agenda.Chamber] = {}
        self._pressure_row: Callable[..., None] | None = None  # set when the bus is fixed
        self._pressure_heard: bool | None = None  # bus.wants(PressureApplied), once the bus is fixed
        self._responsiveness = self.scenario.processes.accountability.responsiveness
        self._started = False
        try:
            self._setup()
        except BaseException as exc:
            # a plugin that fails at setup leaves a trace that says so
            if self._trace is not None:
                self._trace.close(complete=False, error=f"{type(exc).__name__}: {exc}", t=0.0)
            raise

    # -- setup -------------------------------------------------------------------

    def _validate_plugin_sections(self) -> dict[str, Any]:
        declared = {s: owner for s, owner in self._sections.items() if owner[0] in self._active}
        installed = {ep.name for ep in installed_entry_points()}
        raw = self.scenario.plugins.sections
        for section, data in raw.items():
            if section not in self._sections and section not in installed:
                known = ", ".join(sorted(self._sections)) or "none"
                raise ScenarioError(
                    f"plugins.{section}",
                    data,
                    f"a section of a loaded plugin (known sections: {known})",
                    file=self.scenario.source,
                )
        configs = {}
        for section, (_plugin, cls) in declared.items():
            try:
                configs[section] = structure(cls, raw.get(section, {}), f"plugins.{section}")
            except ScenarioError as exc:
                raise exc.with_file(self.scenario.source or "<scenario>") from None
        return configs

    def _setup(self) -> None:
        w = self.world
        self._declare_core_milestones()
        self._subscribe_recorders()
        self._count_declared_kinds()
        if self._trace is not None:
            self.bus.add_sink(self._trace)
        hook = self.pm.hook
        self._each_impl(hook.normflow_register_channels, lambda plugin: lambda ch: w.add_channel(ch))
        self._each_impl(hook.normflow_register_milestones, lambda plugin: self._declare_milestone)
        for n in self.scenario.negotiations:
            self._outcomes.declare_negotiation(n.id, n.issue, n.parties)
        self._each_impl(hook.normflow_register_modifiers, self._modifier_register)
        self._each_impl(hook.normflow_register_handlers, self._handler_register)

        run = weakref.ref(self)

        def process_register(plugin: str) -> Callable[[str, Callable[[], Any]], None]:
            # kept by a plugin, the same function starts a process during the run;
            # it holds the run weakly, so a plugin that keeps it (in a module-level
            # WeakKeyDictionary keyed by the run) does not keep the run alive
            def register(name: str, factory: Callable[[], Any]) -> None:
                sim = run()
                if sim is None:
                    raise RuntimeError(f"plugin '{plugin}': process '{name}' started after its run ended")
                sim._start_process(plugin, f"process '{name}'", factory)

            return register

        self._each_impl(hook.normflow_register_processes, process_register)
        self._each_impl(
            hook.normflow_register_metrics,
            lambda plugin: (
                lambda name, fn: self._metric_fns.append(
                    (f"{plugin}.{name}", self._guard(plugin, f"metric '{name}'", fn))
                )
            ),
        )
        self._start_core()
        for plugin, where, factory in self._pending_processes:
            self.env.process(self._guarded_process(plugin, where, factory))
        self._pending_processes.clear()
        self._started = True
        self._current_plugin = None

    def _each_impl(self, caller: Any, make_register: Callable[[str], Callable[..., Any]]) -> None:
        """Call each plugin's implementation separately, so that what it
        registers (and any error it raises) is attributed to it."""
        for impl in reversed(caller.get_hookimpls()):
            plugin = impl.plugin_name
            if plugin not in self._active:
                continue
            # an implementation may take only some of the hook's arguments
            offered = {"sim": self, "register": make_register(plugin)}
            self._current_plugin = plugin
            try:
                impl.function(**{name: offered[name] for name in impl.argnames})
            except (PluginError, ScenarioError):
                raise
            except Exception as exc:
                raise PluginRunError(plugin, caller.name, self.env.now, self.scenario.start, exc) from exc

    def _modifier_register(self, plugin: str) -> Callable[[str, Callable[..., float]], None]:
        def register(kind: str, fn: Callable[..., float]) -> None:
            if kind == "pressure":
                self._pressure_mods.append(self._guard(plugin, "pressure modifier", fn, calls=5))
            elif kind == "transition":
                self._transition_mods.append(self._guard(plugin, "transition modifier", fn, calls=4))
            else:
                raise PluginError(
                    f"plugin '{plugin}' registered a modifier of unknown kind '{kind}' (use 'pressure' or 'transition')"
                )

        return register

    def _handler_register(self, plugin: str) -> Callable[[type, Callable[[Any], object]], None]:
        def register(event_type: type, handler: Callable[..., object], *, fields: bool = False) -> None:
            label = f"handler {getattr(handler, '__name__', repr(handler))} for {getattr(event_type, '__name__', event_type)}"
            try:
                # an object handler takes the event; a fields handler at least as many of the
                # subscribed class's fields as it names (more for a subclass: fields come last)
                calls = _fields_passed(event_type, handler) if fields else 1
                self.bus.subscribe(event_type, self._guard(plugin, label, handler, calls), fields=fields)
            except TypeError as exc:
                raise PluginError(f"plugin '{plugin}': {exc}") from None

        return register

    def _guard(
        self, plugin: str, where: str, fn: Callable[..., Any], calls: int | None = None
    ) -> Callable[..., Any]:
        """``fn`` wrapped so that an error it raises names the plugin and where
        (``PluginRunError``). ``calls``: how many positional arguments the
        engine passes (at least; never keywords), for a wrapper with ``fn``'s
        own parameters, which costs a third of the general one per call."""

        def fail(exc: Exception) -> PluginRunError:
            return PluginRunError(plugin, where, self.env.now, self.date(self.env.now), exc)

        guarded = None if calls is None else _exact_guard(fn, fail, calls)
        if guarded is None:

            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    return fn(*args, **kwargs)
                except PluginRunError:
                    raise
                except Exception as exc:
                    raise fail(exc) from exc

        guarded.__name__ = getattr(fn, "__name__", "plugin_callable")
        guarded.__wrapped__ = fn  # type: ignore[attr-defined]  # its signature is fn's (Bus: fields handlers)
        return guarded

    def _start_process(self, plugin: str, where: str, factory: Callable[[], Any]) -> None:
        """Start a plugin's process now (during the run) or with the others
        (at setup, after the core's)."""
        if self._started:
            self.env.process(self._guarded_process(plugin, where, factory))
        else:
            self._pending_processes.append((plugin, where, factory))

    def _guarded_process(self, plugin: str, where: str, factory: Callable[[], Any]):
        try:
            yield from factory()
        except PluginRunError:
            raise
        except Exception as exc:
            raise PluginRunError(plugin, where, self.env.now, self.date(self.env.now), exc) from exc

    def _start_core(self) -> None:
        env, w, s = self.env, self.world, self.scenario
        poisson: list[Any] = []  # filled for every issue before the driver's first step
        driver = Driver(env)
        for state in w.states:
            if state.legislature is not None:
                chamber = agenda.Chamber(self, state.id, state.legislature)
                self._chambers[state.id] = chamber
                env.process(chamber.run())
        on = self.enabled
        if on("elections"):
            for chamber in self._chambers.values():
                env.process(chamber.lower_house_elections())
                env.process(chamber.upper_house_elections())
        for i, issue in enumerate(w.issues):
            # the Poisson processes of every issue share one SimPy process (clocks.drive)
            counter_mobilization = counter.CounterMobilization(self, i)
            if on("information"):
                # the exchange takes over the issue's sharing and campaigns (listed
                # right after it) and fires their ticks between its contacts itself
                k = len(poisson)
                poisson += [
                    information.information_exchange(self, i, adopt=driver.adopt(k, [k + 1, k + 2])),
                    information.local_sharing(self, i),
                ]
            poisson.append(accountability.campaigns(self, i))
            if i == 0:
                env.process(driver.run(poisson))
            env.process(accountability.electoral_leverage(self, i))
            if self.mechanism_on("autonomy"):
                env.process(coalition.local_support(self, i))
            if self.interventions.resolutions_allowed:
                env.process(agenda.local_assemblies(self, i, counter_mobilization))
            chamber = self._chambers.get(issue.state)
            if chamber is not None and on("agenda"):
                env.process(agenda.streams(self, i, chamber, counter_mobilization))
            if chamber is not None:
                env.process(counter_mobilization.lobbying(chamber.counter_lobbying[issue.id]))
        if on("negotiation"):
            for spec in s.negotiations:
                env.process(negotiation.negotiation(self, spec))
        if s.processes.backlash.enabled and on("backlash"):
            env.process(backlash.central_backlash(self))
        if s.events:
            env.process(self._scheduled_events())

    def _scheduled_events(self):
        env, s = self.env, self.scenario
        bump = s.processes.accountability.salience_bump
        ordered = sorted(s.events, key=lambda e: e.date)
        # whether each event takes effect is drawn up front, one draw per event
        # whatever its chance, so no event's luck depends on another's
        takes_effect = self.rng("events").random(len(ordered)) < [x.chance for x in ordered]
        for item, happens in zip(ordered, takes_effect, strict=True):
            t = s.day_of(item.date)
            if t > self.horizon:
                return
            if t > env.now:
                yield env.timeout(t - env.now)
            if not happens:
                self.tally["exogenous_without_effect"] += 1
                continue
            self.tally["exogenous"] += 1
            exogenous = self.new_event_id()
            self.bus.publish(
                ev.ExogenousEvent(
                    t=env.now,
                    name=item.name or item.category,
                    category=item.category,
                    state=item.state,
                    target=item.target,
                    id=exogenous,
                )
            )
            issues = [item.issue] if item.issue else [x.id for x in s.issues]
            if item.category in ("state_visit", "pressure"):
                if self._withholds is not None and self._withholds("interstate", True):
                    continue  # an intervention removed international pressure: no visit's effect at all
                for issue in issues:
                    self.apply_pressure(
                        env.now,
                        item.state,
                        item.target,
                        issue,
                        "interstate",
                        "moral",
                        item.strength,
                        foreign=True,
                        causes=(exogenous,),
                    )
                    self.world.stance(item.target, issue).salience.add(env.now, 10 * bump * item.strength)
            elif item.category == "election":
                self._chambers[item.state].hold_election("lower", "scheduled")
            elif item.category in ("court_ruling", "media"):
                # a turning point outside the legislature: media attention and public opinion move
                for issue in issues:
                    stance = self.world.stance(item.state, issue)
                    stance.salience.add(env.now, 10 * bump * item.strength)
                    gain = min(TURNING_POINT_SUPPORT * item.strength, 1.0)
                    stance.public_support += gain * (1.0 - stance.public_support)
            elif item.category == "local_support":
                for issue in issues:
                    coalition.support_local_groups(
                        self, item.local_government, issue, "delegated_task", item.strength
                    )
            elif item.category == "coalition":
                # a party joins the governing coalition: the arithmetic an election left; with
                # elections switched off the Diet's arithmetic never changes
                if self.enabled("elections"):
                    self._chambers[item.state].join_coalition(item.level, item.share, issues)
            elif item.category == "dissolution":
                self._chambers[item.state].dissolve()
            elif item.category == "session":
                self._chambers[item.state].call_special(env.now, days=item.days or None, delay=0)
            elif item.category == "commitment":
                # a turning point: the state declares a principle (a charter, a
                # treaty signed); where practice falls short, pressure now costs
                # it reputation (top-down accountability)
                # a local government's commitment is its assembly's backing
                w = self.world
                for issue in issues:
                    if item.local_government is not None:
                        # scaled like the rest of the local-government role (0: no effect)
                        level = min(item.level * self.local_government_role, 1.0)
                        lg, i = w.lg_index[item.local_government], w.issue_index[issue]
                        w.lg_support[i][lg] = max(float(w.lg_support[i][lg]), level)
                    else:
                        stance = w.stance(item.state, issue)
                        stance.commitment = max(stance.commitment, item.level)

    # -- milestones and recorders ------------------------------------------------

    def launch_time(self, issue: str, starts: str) -> float:
        """When the scenario's dated launch lets ``starts`` (``campaigns`` or
        ``resolutions``) begin on ``issue``: the earliest such ``launch``
        event, or 0 (the start) when the scenario declares none."""
        times = [
            self.scenario.day_of(x.date)
            for x in self.scenario.events
            if x.category == "launch" and x.starts == starts and x.issue in (None, issue)
        ]
        return min(times, default=0.0)

    def _declare_core_milestones(self) -> None:
        s = self.scenario
        names = ["coalition_formed"]
        if len(self.world.lg_ids):
            names.append("first_resolution")
        if any(st.legislature is not None for st in s.states):
            names += ["agenda_placed", "bill_submitted", "bill_enacted"]
        for n in s.negotiations:
            names += [
                f"negotiation_{phase}:{n.id}" for phase in ("opened", "main", "agreement", "ratification")
            ] + [f"agreement_reached:{n.id}"]
        names += sorted({f"policy_changed:{x.state}" for x in s.issues})
        for name in names:
            self._declare_milestone(name)
        #: the milestones the core declares (a plugin's are the others)
        self.core_milestones = frozenset(names)

    def _count_declared_kinds(self) -> None:
        tally = self.tally
        for kind, (_plugin, cls) in sorted(self.event_kinds.items()):
            if not cls.counted:
                continue
            tally[kind] += 0  # listed in counts even when none is published

            def count(_e: Any, kind: str = kind) -> None:
                tally[kind] += 1

            self.bus.subscribe(cls, count)

    def _declare_milestone(self, name: str, label: str | None = None) -> None:
        self._milestones.setdefault(name, None)
        if label:
            self._milestone_labels[name] = str(label)

    def _subscribe_recorders(self) -> None:
        times = self.event_times
        reach = self._reach
        sub = self.bus.subscribe
        self._outcomes = OutcomeRecorder(self.bus, lambda t: self.date(t).isoformat())

        def on_resolution(t: float, local_government: str, issue: str, population: int, *_: Any) -> None:
            # a ResolutionPassed's fields (subscribed with fields=True: untraced, the
            # assemblies build no event object for it)
            reach("first_resolution", t)
            times["resolution_passed"].append(t)
            times["resolution_population"].append(float(population))

        def on_phase(e: ev.NegotiationPhaseChanged) -> None:
            label = "opened" if e.phase == "prenegotiation" else e.phase
            reach(f"negotiation_{label}:{e.negotiation}", e.t)
            times[f"negotiation_{label}"].append(e.t)

        def simple(name: str) -> Callable[[Any], None]:
            def record(e: Any) -> None:
                reach(name, e.t)
                times[name].append(e.t)

            return record

        sub(ev.CoalitionFormed, simple("coalition_formed"))
        sub(ev.ResolutionPassed, on_resolution, fields=True)
        sub(ev.AgendaPlaced, simple("agenda_placed"))
        sub(ev.BillSubmitted, simple("bill_submitted"))
        sub(ev.BillEnacted, simple("bill_enacted"))
        sub(ev.BillLapsed, lambda e: times["bill_lapsed"].append(e.t))

        def on_withdrawal(e: ev.ResolutionWithdrawn) -> None:
            times["resolution_withdrawn"].append(e.t)
            times["withdrawn_population"].append(float(e.population))

        sub(ev.ResolutionWithdrawn, on_withdrawal)
        sub(ev.CounterResolutionPassed, lambda e: times["counter_resolution_passed"].append(e.t))
        sub(ev.NegotiationPhaseChanged, on_phase)
        sub(ev.AgreementReached, lambda e: reach(f"agreement_reached:{e.negotiation}", e.t))
        sub(ev.PolicyChanged, lambda e: reach(f"policy_changed:{e.state}", e.t))

        def on_machine_phase(e: ev.PhaseChanged) -> None:
            # a machine owned by one actor reaches ``machine.phase:subject``;
            # a system-wide machine (empty subject) reaches ``machine.phase``
            head = f"{e.machine}.{e.phase}"
            reach(f"{head}:{e.subject}" if e.subject else head, e.t)

        sub(ev.PhaseChanged, on_machine_phase)
        sub(ev.ChannelUsed, lambda e: reach(f"channel_used:{e.channel}", e.t))

    # -- the public face of a run (for processes and plugins) --------------------

    @property
    def now(self) -> float:
        return self.env.now

    def date(self, t: float | None = None) -> dt.date:
        return self.scenario.date_of(self.env.now if t is None else t)

    def rng(self, name: str) -> np.random.Generator:
        """The named random stream ``name`` (plugins: prefix with your name)."""
        return self.streams(name)

    def config(self, section: str) -> Any:
        """A plugin's validated config section."""
        return self.plugin_configs[section]

    def enabled(self, process: str) -> bool:
        """Whether the core sub-process ``process`` (a name of
        ``normflow.processes.CORE_PROCESSES``) runs in this run."""
        return self.interventions.enabled(process)

    def mechanism_on(self, name: str) -> bool:
        """Whether a switchable mechanism of the core (``counter``,
        ``autonomy``, ``costs``: ``[processes.<name>] enabled``) runs: the
        scenario turns it on and no knockout turns it off."""
        knockout = {"counter": "counter_mobilization"}.get(name, name)
        return bool(getattr(self.scenario.processes, name).enabled) and self.enabled(knockout)

    def spend(self, payer: str, amount: float, t: float | None = None) -> bool:
        """Charge an act (a delegation, a visit abroad, a campaign a plugin
        runs) to ``payer``, a local government or a group, at ``t`` (now by
        default); return whether the act goes ahead.

        With costs modelled (``[processes.costs] enabled``, and not switched
        off) a local government pays ``amount`` of its political capital (in
        [0, 1], regained at ``capital_rate`` a year; resolutions spend the
        same capital) and a group pays from its campaign budget (refilled at
        ``replenish_rate`` times its resources a year, up to
        ``budget_years`` of them). One that cannot pay is not charged and the
        act does not happen (``act_unpaid`` counts them): the caller skips
        it. Without costs every act is free and this returns True."""
        if amount <= 0.0 or not self.mechanism_on("costs"):
            return True
        w, costs = self.world, self.scenario.processes.costs
        t = self.env.now if t is None else t
        if payer in w.lg_index:
            i = w.lg_index[payer]
            w.lg_capital[i] = min(
                w.lg_capital[i] + costs.capital_rate * (t - w.lg_capital_t[i]) / 365.25, 1.0
            )
            w.lg_capital_t[i] = t
            purse = w.lg_capital
        elif payer in w.group_index:
            i = w.group_index[payer]
            cap = w.group_resources[i] * costs.budget_years
            w.group_budget[i] = min(
                w.group_budget[i]
                + costs.replenish_rate * w.group_resources[i] * (t - w.group_budget_t[i]) / 365.25,
                cap,
            )
            w.group_budget_t[i] = t
            purse = w.group_budget
        else:
            raise KeyError(f"spend: {payer!r} is neither a local government nor a group of the scenario")
        if purse[i] < amount:
            self.tally["act_unpaid"] += 1
            return False
        purse[i] -= amount
        return True

    def chamber(self, state: str) -> agenda.Chamber | None:
        return self._chambers.get(state)

    def reach_milestone(self, name: str, t: float, label: str | None = None) -> None:
        """Record the first time ``name`` is reached (later calls are ignored);
        ``label`` says it in plain words for summaries.

        ``t`` is the time it was reached: not before the current time. A
        time in the past, NaN or infinite raises ``RunInputError``."""
        if not (isinstance(name, str) and name):
            raise RunInputError(f"sim.reach_milestone: name {name!r}; expected a non-empty string")
        self._check_time("sim.reach_milestone", t)
        self._reach(name, t, label)

    def _reach(self, name: str, t: float, label: str | None = None) -> None:
        if self._milestones.get(name) is None:
            self._milestones[name] = t
        if label and name not in self._milestone_labels:
            self._milestone_labels[name] = str(label)

    def new_event_id(self) -> int:
        """A fresh event id (1, 2, ...), for an event that later events may
        name among their ``causes``."""
        self._event_ids += 1
        return self._event_ids

    def pressure_causes(self, state: str, issue: str) -> tuple[int, ...]:
        """The ids of the latest pressure events on ``state`` about ``issue``,
        one per channel (empty when nothing traced them)."""
        return tuple(sorted(self._last_pressure[(state, issue)].values()))

    def pressure_by_channel(self, state: str, issue: str) -> dict[str, float]:
        """Pressure applied so far on ``state`` about ``issue``, by channel
        (recorded while pressure events are traced or listened to)."""
        return {k: round(v, 6) for k, v in sorted(self._pressure_by_channel[(state, issue)].items())}

    def _check_time(self, method: str, t: Any) -> None:
        if not _finite(t):
            raise RunInputError(f"{method}: t {t!r}; expected a finite number of days")
        if t < self.env.now - TIME_TOLERANCE:
            raise RunInputError(
                f"{method}: t {t!r} is in the past (the run is at day {self.env.now!r}); "
                "use the current time, sim.now"
            )

    def _check_stance(self, method: str, state: Any, issue: Any) -> Any:
        stance = self.world.stances.get((state, issue))
        if stance is None:
            if state not in self.world.state_index:
                known = ", ".join(s.id for s in self.world.states)
                raise RunInputError(f"{method}: state {state!r} is not a state of the scenario ({known})")
            known = ", ".join(x.id for x in self.world.issues)
            raise RunInputError(f"{method}: issue {issue!r} is not an issue of the scenario ({known})")
        return stance

    def every(
        self, period: float, fn: Callable[[], Any], *, offset: float = 0.0, name: str | None = None
    ) -> None:
        """Call ``fn()`` at days ``offset``, ``offset + period``,
        ``offset + 2 * period``, ... of the run, at every one of those times
        that lies inside the run (``t < sim.horizon``; see "The end of the
        run" in docs/plugins.md). Called during the run, the calls start at
        the next of those times. An error in ``fn`` stops the run with an
        error naming the plugin and ``name`` (default: ``fn.__name__``)."""
        label = name or getattr(fn, "__name__", "every")
        if not (_finite(period) and period > 0):
            raise RunInputError(
                f"sim.every ({label}): period {period!r}; expected a finite number of days > 0"
            )
        if not (_finite(offset) and offset >= 0):
            raise RunInputError(
                f"sim.every ({label}): offset {offset!r}; expected a finite number of days >= 0"
            )
        env, horizon = self.env, self.horizon

        def periodic():
            k = max(0, math.ceil((env.now - offset) / period))
            t = offset + k * period
            while t < horizon:
                if t > env.now:
                    yield env.timeout(t - env.now)
                fn()
                k += 1
                t = offset + k * period

        self._start_process(self._current_plugin or "?", f"every '{label}'", periodic)

    def at(self, t: float, fn: Callable[[], Any], *, name: str | None = None) -> bool:
        """Call ``fn()`` once at day ``t``. Returns True when ``t`` lies inside
        the run (``t < sim.horizon``), False when it does not and ``fn`` will
        never be called. A ``t`` before the current time raises
        ``RunInputError``."""
        label = name or getattr(fn, "__name__", "at")
        self._check_time(f"sim.at ({label})", t)
        if t >= self.horizon:
            return False
        env = self.env

        def once():
            if t > env.now:
                yield env.timeout(t - env.now)
            fn()

        self._start_process(self._current_plugin or "?", f"at '{label}'", once)
        return True

    def metric_add(self, name: str, amount: float) -> None:
        self.metrics_acc[name] += amount

    def modify_transition(self, name: str, probability: float, state: str, issue: str) -> float:
        for fn in self._transition_mods:
            probability = fn(name, probability, state, issue)
        return probability

    def apply_pressure(
        self,
        t: float,
        source: str,
        target: str,
        issue: str,
        channel: str,
        nature: str,
        amount: float,
        *,
        foreign: bool = False,
        causes: tuple[int, ...] = (),
    ) -> float:
        """Apply pressure on state ``target`` about ``issue``. Runs the pressure
        modifiers, adds to the state's (and, if ``foreign``, its foreign)
        pressure stock, turns the gap between stated commitment and practice
        into reputational cost, and publishes ``PressureApplied``. Returns the
        amount applied after modifiers (0 when an intervention withholds
        the channel). ``causes`` are the ids of the events that led to it.

        Raises ``RunInputError`` for an amount that is NaN, infinite or
        negative (0 applies nothing), a target that is not a state or an
        issue that is not the scenario's, a time in the past, and when a
        modifier returns such an amount."""
        key = (target, issue)
        stance = self.world.stances.get(key)
        if (
            stance is None
            or not (0.0 <= amount < math.inf)
            or not (t >= self.env._now - TIME_TOLERANCE and t < math.inf)
        ):
            self._bad_pressure(t, target, issue, amount)
        if self._withholds is not None and self._withholds(channel, foreign):
            self.tally["pressure_withheld"] += 1
            return 0.0
        if self._foreign_factor is not None:
            amount *= self._foreign_factor(channel, foreign)
        if self._pressure_mods:
            for fn in self._pressure_mods:
                amount = fn(amount, source, target, issue, channel)
            if not (0.0 <= amount < math.inf):
                raise RunInputError(
                    f"sim.apply_pressure: the pressure modifiers turned the amount into {amount!r}; "
                    "a modifier must return a finite number >= 0"
                )
        if not amount > 0.0:
            return 0.0
        stance.pressure.add(t, amount)
        if foreign:
            stance.foreign_pressure.add(t, amount)
        gap = stance.commitment - stance.position
        if gap > 0.0:
            w = self.world
            cost = gap * w.states[w.state_index[target]].reputation_sensitivity * amount
            stance.reputational_cost += cost
            stance.reputation.add(t, cost)
            step = self._responsiveness * cost
            stance.position += step if step < gap else gap  # min(gap, step), without the call
        self.tally["pressure_applied"] += 1
        heard = self._pressure_heard
        if heard is None:
            heard = self.bus.wants(ev.PressureApplied)
        if heard:
            self._event_ids += 1
            self._last_pressure[key][channel] = self._event_ids
            self._pressure_by_channel[key][channel] += amount
            row = self._pressure_row
            if row is not None:
                # only the trace listens: a row, no event object
                row(t, source, target, issue, channel, nature, amount, self._event_ids, causes)
                return amount
            self.bus.publish(
                ev.PressureApplied(
                    t=t,
                    source=source,
                    target=target,
                    issue=issue,
                    channel=channel,
                    nature=nature,
                    amount=amount,
                    id=self._event_ids,
                    causes=causes,
                )
            )
        return amount

    def _bad_pressure(self, t: Any, target: Any, issue: Any, amount: Any) -> None:
        method = "sim.apply_pressure"
        self._check_stance(method, target, issue)
        if not (_finite(amount) and amount >= 0):
            raise RunInputError(f"{method}: amount {amount!r}; expected a finite number >= 0")
        self._check_time(method, t)

    def change_policy(
        self, t: float, state: str, issue: str, position: float, cause: str, causes: tuple[int, ...] = ()
    ) -> None:
        """Move a state's policy to a norm-consistent position (once);
        ``causes`` are the ids of the events that brought it about.

        ``position`` is a finite number >= 0 (values above 1 count as 1);
        NaN, an infinite or negative position, an unknown state or issue and
        a time in the past raise ``RunInputError``."""
        method = "sim.change_policy"
        stance = self._check_stance(method, state, issue)
        if not (_finite(position) and position >= 0):
            raise RunInputError(f"{method}: position {position!r}; expected a finite number in [0, 1]")
        self._check_time(method, t)
        if stance.policy_changed:
            return
        stance.policy_changed = True
        stance.position = max(stance.position, min(position, 1.0))
        self.tally["policy_changed"] += 1
        self.bus.publish(
            ev.PolicyChanged(
                t=t,
                state=state,
                issue=issue,
                position=stance.position,
                cause=cause,
                id=self.new_event_id(),
                causes=causes,
            )
        )

    def open_channel(self, channel: Channel) -> None:
        self.world.add_channel(channel)

    # -- running -----------------------------------------------------------------

    def run(self, until: float | dt.date | None = None) -> RunResult:
        end = self.horizon
        if isinstance(until, dt.date):
            end = min(end, self.scenario.day_of(until))
        elif until is not None:
            end = min(end, float(until))
        self.log.info("run.start", horizon_days=end, plugins=sorted(self.plugin_versions))
        began = time.perf_counter()
        self.bus.freeze()  # processes start on the first step, after this
        self._pressure_row = self.bus.direct(ev.PressureApplied)
        self._pressure_heard = self.bus.wants(ev.PressureApplied)
        try:
            self.env.run(until=end)
        except PluginRunError as exc:
            if self._trace is not None:
                self._trace.close(complete=False, error=str(exc), t=exc.t)
            # the caller reports the error itself; the log keeps it for --log-level info
            self.log.info("run.aborted", error=str(exc))
            raise
        except BaseException as exc:
            if self._trace is not None:
                self._trace.close(complete=False, error=f"{type(exc).__name__}: {exc}", t=self.env.now)
            raise
        wall = time.perf_counter() - began
        result = self._summarize(end, wall)
        if self._trace is not None:
            self._trace.close(complete=True, t=end)
        self.log.info("run.end", wall_seconds=round(wall, 3), events=sum(self.tally.values()))
        return result

    def _intervention_switches(self) -> dict[str, Any]:
        """The interventions that differ from the scenario as written, and the
        local-government role when it is not 1."""
        default = Interventions()
        if self.interventions == default:
            out: dict[str, Any] = {}  # as written (no attrs.asdict of either: most runs)
        else:
            defaults = default.to_dict()
            out = {k: v for k, v in self.interventions.to_dict().items() if defaults[k] != v}
        if self._lg_role != 1.0:
            out["local_government_role"] = self._lg_role
        return out

    def _summarize(self, end: float, wall: float) -> RunResult:
        w = self.world
        final: dict[str, Any] = {"states": {}, "issues": {}}
        for (state, issue), st in sorted(w.stances.items()):
            final["states"].setdefault(state, {})[issue] = {
                "position": round(float(st.position), 6),
                "commitment": round(float(st.commitment), 6),
                "public_support": round(float(st.public_support), 6),
                "salience": round(float(st.salience.at(end)), 6),
                "pressure": round(float(st.pressure.at(end)), 6),
                "electoral_pressure": round(float(st.electoral_pressure), 6),
                "reputational_cost": round(float(st.reputational_cost), 6),
                "on_agenda": st.on_agenda,
                "policy_changed": st.policy_changed,
            }
        coalitions = w.coalitions()
        for i, issue in enumerate(w.issues):
            st_idx = w.state_index[issue.state]
            resolutions = int(np.sum(~np.isnan(w.lg_resolution_t[i]) & np.isnan(w.lg_withdrawn_t[i])))
            final["issues"][issue.id] = {
                "resolutions": resolutions,
                "resolutions_withdrawn": int(np.sum(~np.isnan(w.lg_withdrawn_t[i]))),
                "counter_resolutions": int(np.sum(~np.isnan(w.lg_counter_t[i]))),
                "resolution_population_share": round(w.resolution_share(i, st_idx, end), 6),
                "local_governments": int(np.sum(w.lg_state == st_idx)),
                "population": float(w.state_population[st_idx]),
            }
        final["coalitions"] = {
            "count": len(coalitions),
            "largest": max((len(m) for m in coalitions.values()), default=0),
        }
        metrics: dict[str, Any] = {k: round(float(v), 6) for k, v in sorted(self.metrics_acc.items())}
        for name, fn in self._metric_fns:
            value = fn()
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and math.isfinite(value):
                value = round(value, 6)
            metrics[name] = value
        return RunResult(
            scenario=self.scenario.name,
            seed=self.seed if isinstance(self.seed, int) else None,
            start=self.scenario.start,
            end=self.scenario.date_of(end),
            milestones=dict(self._milestones),
            final=final,
            counts=dict(self.tally),
            metrics=metrics,
            event_times={k: list(v) for k, v in self.event_times.items()},
            plugins=dict(sorted(self.plugin_versions.items())),
            wall_seconds=wall,
            outcomes=self._outcomes.outcomes(
                [(x.state, x.id) for x in self.scenario.issues if x.state in self._chambers]
            ),
            labels={
                name: self._milestone_labels.get(name) or milestone_label(name) for name in self._milestones
            },
            overrides=dict(getattr(self.scenario, "overrides", {}) or {}),
            interventions=self._intervention_switches(),
            trace_path=self._trace_path,
            kept_events=self._kept,
        )


def _seed_label(seed: int | np.random.SeedSequence) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
    return seed


def simulate(scenario: Scenario, seed: int = 0, **kwargs: Any) -> RunResult:
    """Build and run a simulation in one call."""
    return Simulation(scenario, seed, **kwargs).run()


#: Factories of ``_exact_guard``'s wrappers, by parameter names and count of defaults.
_GUARD_FACTORIES: dict[tuple[tuple[str, ...], int], Callable[..., Callable[..., Any]]] = {}


def _plain_parameters(fn: Callable[..., Any]) -> list[Any] | None:
    """``fn``'s parameters when each may be given by position or by name
    (no ``*args``, ``**kwargs`` or keyword-only ones), else None."""
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params):
        return None
    return params


def _fields_passed(event_type: type, handler: Callable[..., Any]) -> int | None:
    """The fewest field values a fields handler of ``event_type`` is called
    with (``bus.FieldsHandler``: as many as it names, at most the class's)."""
    import attrs

    params = _plain_parameters(handler)
    if params is None or not attrs.has(event_type):
        return None
    return min(len(params), len(attrs.fields(event_type)))


def _exact_guard(
    fn: Callable[..., Any], fail: Callable[[Exception], Exception], calls: int
) -> Callable[..., Any] | None:
    """A guard with ``fn``'s own parameters (names, defaults): it binds every
    call exactly as ``fn`` would, and calls ``fn`` with them by position,
    without packing them in a tuple and a dict. None when ``fn``'s
    parameters are not plain, or when a call with ``calls`` positional
    arguments would not bind (the general guard then reports that mistake
    as the plugin's)."""
    params = _plain_parameters(fn)
    if params is None:
        return None
    names = tuple(p.name for p in params)
    defaults = tuple(p.default for p in params if p.default is not p.empty)
    required = len(names) - len(defaults)
    if not required <= calls <= len(names) or any(n.startswith("_nf_") for n in names):
        return None
    key = (names, len(defaults))
    factory = _GUARD_FACTORIES.get(key)
    if factory is None:
        signature = ", ".join(
            name if i < required else f"{name}=_nf_d{i - required}" for i, name in enumerate(names)
        )
        source = (
            f"def _nf_make(_nf_fn, _nf_fail, _nf_keep, _nf_any, {''.join(f'_nf_d{i}, ' for i in range(len(defaults)))}):\n"
            f"    def guarded({signature}):\n"
            "        try:\n"
            f"            return _nf_fn({', '.join(names)})\n"
            "        except _nf_keep:\n"
            "            raise\n"
            "        except _nf_any as _nf_exc:\n"
            "            raise _nf_fail(_nf_exc) from _nf_exc\n"
            "    return guarded\n"
        )
        space: dict[str, Any] = {}
        exec(compile(source, "<normflow plugin guard>", "exec"), space)
        factory = _GUARD_FACTORIES[key] = space["_nf_make"]
    return factory(fn, fail, PluginRunError, Exception, *defaults)
