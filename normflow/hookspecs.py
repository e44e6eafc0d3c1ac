"""The plugin API: every hook a normflow plugin can implement.

All hooks are called once, while a run (or the CLI) is being set up -- never
once per event. A pluggy call costs about as much as a whole simulated
event, so plugins hand the engine plain callables (processes, handlers,
modifiers, metrics) through a ``register`` function, and the engine calls
those directly on the hot path.

Hooks are grouped by phase: *declaration* (what the plugin adds to the
scenario schema and the CLI) and *setup* (what it adds to one run, in the
order the engine calls them: channels, milestones, modifiers, handlers,
processes, metrics). Every hook name starts with ``normflow_``; the plugin
manager refuses a hook implementation with another name, and one that names
a hook not listed here.

An implementation may take only the arguments it needs (``def
normflow_register_handlers(register)`` is fine). A plugin module needs only
``import normflow``::

    import normflow

    @normflow.hookimpl
    def normflow_register_handlers(sim, register):
        register(normflow.events.AccessBlocked, lambda ev: print(ev.group))

``docs/plugins.md`` has one section per hook, with a runnable example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    import click

    from normflow.context import RunContext

PROJECT = "normflow"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- declaration ---------------------------------------------------------------


@hookspec
def normflow_register_config(register: Callable[[str, type], None]) -> None:
    """Declare the plugin's scenario section.

    :param register: ``register(section, cls)`` where ``section`` is the table
        name under ``[plugins]`` in a scenario file and ``cls`` an attrs class
        whose fields all have defaults. Use ``normflow.param`` for fields
        with a range and a documentation line; the loader then validates the
        section and reports errors with their field path
        (``plugins.spiral.denial_threshold``). A ``ValueError`` raised by the
        class itself (a cross-field check) is reported against the section.
    :returns: nothing.

    Called when a simulation is set up and by ``normflow plugins``. The
    validated instance is ``sim.config(section)`` during the run; a scenario
    without the section gets the defaults. Two plugins may not declare the
    same section.

    Example::

        @attrs.frozen
        class ShamingConfig:
            strength: float = normflow.param(0.5, low=0, high=1, doc="...")

        @normflow.hookimpl
        def normflow_register_config(register):
            register("shaming", ShamingConfig)
    """


@hookspec
def normflow_register_event_kinds(register: Callable[[type], None]) -> None:
    """Declare the plugin's own kinds of event.

    :param register: ``register(cls)`` with a class made by
        ``normflow.events.declare_event`` (its kind name, its fields, which
        fields name actors, whether it is counted).
    :returns: nothing.

    Called when a run is set up, before its trace is opened. A declared
    kind that the run counts appears in the summary's ``counts`` (0 when
    none was published) and so in an experiment's ``counts.<kind>``
    columns; the trace header lists the run's declared kinds, so that
    ``read_trace`` and the invariants read them back without the plugin.
    Publish one with ``sim.bus.publish(event)``.

    Example::

        @normflow.events.declare_event("treaty_review", actors={"state": "state"})
        class TreatyReview(normflow.events.Event):
            state: str
            issue: str
            severity: float

        @normflow.hookimpl
        def normflow_register_event_kinds(register):
            register(TreatyReview)
    """


@hookspec
def normflow_register_commands(cli: click.Group) -> None:
    """Add commands to the ``normflow`` command line.

    :param cli: the top-level click group; call ``cli.add_command(cmd)`` or
        decorate functions with ``@cli.command()``.
    :returns: nothing.

    Called once when the ``normflow`` command starts, before its arguments
    are parsed.

    Example::

        @normflow.hookimpl
        def normflow_register_commands(cli):
            @cli.command(name="shaming-report")
            def report():
                click.echo("...")
    """


# -- setup of a run --------------------------------------------------------------


@hookspec
def normflow_register_channels(sim: RunContext, register: Callable[[Any], None]) -> None:
    """Open channels of influence before the run.

    :param sim: the simulation being set up; ``sim.world`` holds the actors.
    :param register: ``register(channel)`` with a ``normflow.Channel``
        (``name``, ``source``, ``via``, ``target`` state, ``access`` in
        [0, 1]). The core's negotiation process treats a channel into a
        party state as access to its negotiators (expertise keeps its weight
        in the main phase); plugins find channels in ``sim.world.channels``.
    :returns: nothing.

    Called at setup, first of the setup hooks.

    Example::

        @normflow.hookimpl
        def normflow_register_channels(sim, register):
            register(normflow.Channel("un", source="ngo-1", via=("un",), target="japan", access=0.3))
    """


@hookspec
def normflow_register_milestones(sim: RunContext, register: Callable[[str], None]) -> None:
    """Declare milestones the plugin may reach, so that a run's summary lists
    them as "not reached" when they are not.

    :param sim: the simulation being set up.
    :param register: ``register(name, label=None)``; reach one during the
        run with ``sim.reach_milestone(name, t)`` (a milestone reached without
        being declared still appears in the summary, from the moment it is
        reached). ``label`` says what the milestone means in plain words for
        the run's summary and report (without one, the name is spelled out).
    :returns: nothing.

    Called at setup, before any process starts.

    Example::

        @normflow.hookimpl
        def normflow_register_milestones(sim, register):
            for state in sim.world.states:
                register(f"shamed:{state.id}", label=f"{state.id} was shamed in public")
    """


@hookspec
def normflow_register_modifiers(
    sim: RunContext, register: Callable[[str, Callable[..., float]], None]
) -> None:
    """Adjust amounts of pressure or transition probabilities.

    :param sim: the simulation being set up.
    :param register: ``register(kind, fn)`` where ``kind`` is ``"pressure"``
        or ``"transition"``. A pressure modifier is called as
        ``fn(amount, source, target, issue, channel) -> amount`` on every
        ``sim.apply_pressure``; a transition modifier as
        ``fn(name, probability, state, issue) -> probability`` where ``name``
        is e.g. ``"bill_stage"``, ``"ratification"`` or ``"expertise.main"``.
        Modifiers of one kind are chained in registration order.
    :returns: nothing.

    Called at setup. Modifiers sit on the hot path: keep them to arithmetic.

    Example::

        @normflow.hookimpl
        def normflow_register_modifiers(sim, register):
            register("pressure", lambda amount, source, target, issue, channel: amount * 1.1)
    """


@hookspec
def normflow_register_handlers(
    sim: RunContext, register: Callable[[type, Callable[[Any], object]], None]
) -> None:
    """Subscribe to events.

    :param sim: the simulation being set up.
    :param register: ``register(event_class, handler)``; ``handler(event)`` is
        called for every published event of that class (or of a subclass, so
        ``normflow.events.Event`` hears everything). Handlers are fixed when
        the run starts. ``register(event_class, handler, fields=True)`` calls
        ``handler(t, *fields)`` with the event's field values (in the class's
        order) instead: an event that only such handlers and the trace hear
        is never built as an object.
    :returns: nothing.

    Called at setup. Subscribing makes the engine build events it would
    otherwise skip, so subscribe only to what the plugin uses. A handler that
    raises stops the run with an error naming the plugin, the handler and the
    simulated time.

    Example::

        @normflow.hookimpl
        def normflow_register_handlers(sim, register):
            register(normflow.events.AccessBlocked, lambda ev: sim.reach_milestone("first_block", ev.t))
    """


@hookspec
def normflow_register_processes(sim: RunContext, register: Callable[[str, Callable[[], Any]], None]) -> None:
    """Start SimPy processes.

    :param sim: the simulation being set up; ``sim.env`` is the SimPy
        environment and ``sim.rng(name)`` a named random stream (prefix the
        name with the plugin's).
    :param register: ``register(name, factory)``; ``factory()`` returns a
        generator that the engine starts with ``env.process``. A plugin may
        keep ``register`` and call it during the run to start a process then
        (a delayed reaction to an event); it starts at once.
    :returns: nothing.

    Called at setup, after handlers; the processes start after the core's.
    A process that raises stops the run with an error naming the plugin, the
    process and the simulated time.

    Example::

        @normflow.hookimpl
        def normflow_register_processes(sim, register):
            def yearly():
                while sim.env.now + 365 <= sim.horizon:
                    yield sim.env.timeout(365)
            register("yearly", yearly)
    """


@hookspec
def normflow_register_metrics(sim: RunContext, register: Callable[[str, Callable[[], Any]], None]) -> None:
    """Add outcome metrics to the run's summary.

    :param sim: the simulation being set up.
    :param register: ``register(name, fn)``; ``fn()`` is called once at the
        end of the run and must return a number, a string, a bool or None.
        The value appears in the summary under ``metrics`` as
        ``"<plugin>.<name>"``.
    :returns: nothing.

    Called at setup; the functions are called at the end of the run.

    Example::

        @normflow.hookimpl
        def normflow_register_metrics(sim, register):
            register("blocks", lambda: sim.tally["access_blocked"])
    """


# -- presentation ------------------------------------------------------------------


@hookspec
def normflow_report_sections(report: Any) -> None:
    """Add sections to the HTML page ``normflow report`` writes.

    :param report: the report being built. ``report.kind`` is ``"run"`` or
        ``"experiment"``; ``report.directory`` the directory reported on;
        ``report.summary`` a run's summary (as ``normflow run --json``
        prints it; None for an experiment); ``report.results`` an
        experiment's results table (a pandas DataFrame, one row per run;
        None for a run); ``report.trace()`` a run's trace lines (read on
        first use; empty without a trace). ``report.add_section(title, *,
        text=None, figure=None, table=None)`` adds a section after the
        core's: a paragraph, a matplotlib figure (drawn into the page) and a
        table (a DataFrame, or a ``(header, rows)`` pair), in that order.
    :returns: nothing.

    Called once per report, for the plugins that took part in the run (a
    run's summary lists them) or, for an experiment, for the loaded plugins.
    A plugin whose hook raises gets a section saying so; the rest of the
    page is written.

    Example::

        @normflow.hookimpl
        def normflow_report_sections(report):
            if report.kind == "run":
                uses = report.summary["metrics"].get("shaming.episodes", 0)
                report.add_section("Shaming", text=f"{uses} shaming campaigns.")
    """
