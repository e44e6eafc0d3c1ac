"""Norm cascade: national decisions build international support for a norm,
and past a tipping point that support socializes the states still outside.

Theory: Finnemore and Sikkink, "International Norm Dynamics and Political
Change" (1998). A norm has a life cycle: *emergence*, when norm
entrepreneurs persuade a few states; a *tipping point*, when a critical mass
of states (about a third, in their reading of the evidence) has adopted it;
a *cascade*, when the rest follow by imitation and socialization, for
legitimacy and reputation rather than domestic pressure; and
*internalization*, when the norm is taken for granted. The article behind
normflow (THEORY.md, H3) adds that local governments help shape a new
norm, feeding back from the national agenda to international structures.

The rule, as normflow runs it:

- *The norm* is carried by the issues named in ``issues`` (all issues by
  default). A state's standing toward it is the furthest it has gone on any
  of them: nothing (0), the issue on its national agenda
  (``agenda_weight``), or its policy changed or an agreement reached
  (1, an adopter).
- *International support* is ``S = initial_support + (1 - initial_support)
  * A``, where ``A`` is the mean standing over every state of the scenario.
  Only national-level events move it: ``AgendaPlaced``, ``PolicyChanged``
  and ``AgreementReached``. A local assembly's resolution does not: local
  adoption matters internationally only through a national agenda.
- *Tipping*: the first time ``S`` reaches ``tipping_threshold`` the
  milestone ``norm_cascade.tipping`` is reached.
- *Cascade*: from then on, every ``cascade_interval_days`` every state that
  has not adopted the norm moves its stated commitment and its public
  support on each norm issue toward 1 by ``cascade_rate * S`` of the gap
  (socialization: the more states stand behind the norm, the stronger the
  pull). Higher commitment widens the gap the core turns into reputational
  cost; higher public support feeds a legislature's politics stream and
  electoral pressure.
- *Internalization*: the first time ``S`` reaches
  ``internalization_threshold`` the milestone
  ``norm_cascade.internalization`` is reached.
- *Moral authority* (``moral_authority``, 0 by default: off): before any
  cascade, campaigners point at the states where the norm already holds
  (Keck and Sikkink's leverage politics; Finnemore and Sikkink: entrepreneurs
  invoke the norm's standing abroad). Every amount of pressure on a state
  that has not adopted the norm, about a norm issue, is multiplied by
  ``1 + moral_authority * S``: the more of the world stands behind the norm,
  the more a campaign's or a visiting head of state's appeal weighs. The
  pressure feeds the target's pressure stock (the politics stream's
  lobbying and foreign-pressure terms of a legislature's agenda) and its
  reputational cost, so international support reaches the agenda step
  before the agenda reaches the cascade.

Each milestone publishes a ``PhaseChanged`` event (``machine``
``"norm_cascade"``, ``phase`` ``"tipping"`` or ``"internalization"``, and an
empty ``subject``: the cascade belongs to the whole system, so the event
reaches the one milestone ``norm_cascade.tipping``, not a second one per
state) whose cause is the national decision that moved the support, so
``normflow explain TRACE norm_cascade.tipping`` follows it back to the state
that tipped it.

Metrics: ``norm_cascade.support`` (``S`` at the end), ``support_mean`` (its
time average over the run), ``adopters`` and ``agenda_states`` (how many
states stand at each level at the end).
"""

from __future__ import annotations

import weakref

import attrs

import normflow

__version__ = "0.1.0"
#: The name this plugin has when passed to ``Simulation(plugins=[...])`` by hand,
#: the same as its entry point's.
normflow_plugin_name = "norm_cascade"

NOTHING, AGENDA, ADOPTED = 0, 1, 2


@attrs.frozen
class NormCascadeConfig:
    """``[plugins.norm_cascade]``. Defaults and their reasons: docs/hypotheses.md (H3)."""

    issues: tuple[str, ...] = normflow.param((), doc="issues that carry the norm (empty: every issue)")
    initial_support: float = normflow.param(
        0.0, low=0, high=1, doc="international support before any state acts (entrepreneurs only)"
    )
    agenda_weight: float = normflow.param(
        0.5, low=0, high=1, doc="how much of an adopter a state with the issue on its agenda counts as"
    )
    tipping_threshold: float = normflow.param(
        1 / 3, low=0, high=1, doc="support at which the cascade begins (about a third of states adopting)"
    )
    cascade_interval_days: float = normflow.param(
        30.0, low=1, high=3650, doc="days between two rounds of socialization once tipped"
    )
    cascade_rate: float = normflow.param(
        0.05, low=0, high=1, doc="share of a non-adopter's gap to 1 closed per round, times support"
    )
    internalization_threshold: float = normflow.param(
        0.9, low=0, high=1, doc="support at which the norm counts as taken for granted"
    )
    moral_authority: float = normflow.param(
        0.0,
        low=0,
        high=10,
        doc="pressure on a non-adopter is 1 + this x international support times as heavy (0: off)",
    )

    def __attrs_post_init__(self) -> None:
        if self.internalization_threshold < self.tipping_threshold:
            raise ValueError("internalization_threshold >= tipping_threshold (the cascade comes first)")


class NormCascade:
    """The mechanism inside one run."""

    def __init__(self, sim: normflow.Simulation):
        # a proxy: the module-level WeakKeyDictionary holding this mechanism must not
        # keep its key (the run) alive, or every run of a process is kept in memory
        self.sim = weakref.proxy(sim)
        cfg: NormCascadeConfig = sim.config("norm_cascade")
        self.config = cfg
        known = [x.id for x in sim.world.issues]
        for i, issue in enumerate(cfg.issues):
            if issue not in known:
                raise normflow.ScenarioError(
                    f"plugins.norm_cascade.issues[{i}]",
                    issue,
                    f"the id of a declared issue ({', '.join(known)})",
                    file=sim.scenario.source,
                )
        self.issues = frozenset(cfg.issues or known)
        self.issue_state = {x.id: x.state for x in sim.world.issues}
        self.standing = {s.id: NOTHING for s in sim.world.states}
        self.support = self._level()
        self.tipped_at: float | None = None
        self.internalized_at: float | None = None
        self._area = 0.0
        self._since = 0.0

    def _level(self) -> float:
        cfg = self.config
        weight = {NOTHING: 0.0, AGENDA: cfg.agenda_weight, ADOPTED: 1.0}
        share = sum(weight[s] for s in self.standing.values()) / max(len(self.standing), 1)
        return cfg.initial_support + (1.0 - cfg.initial_support) * share

    def _raise(self, t: float, state: str, level: int, issue: str, cause: int = 0) -> None:
        if self.standing.get(state, level) >= level:
            return
        self._area += self.support * (t - self._since)
        self._since = t
        self.standing[state] = level
        self.support = self._level()
        cfg = self.config
        if self.tipped_at is None and self.support >= cfg.tipping_threshold:
            self.tipped_at = t
            self.sim.reach_milestone("norm_cascade.tipping", t)
            self._publish(t, issue, "tipping", "emergence", cause)
        if self.internalized_at is None and self.support >= cfg.internalization_threshold:
            self.internalized_at = t
            self.sim.reach_milestone("norm_cascade.internalization", t)
            self._publish(t, issue, "internalization", "cascade", cause)

    def _publish(self, t: float, issue: str, phase: str, previous: str, cause: int) -> None:
        """The milestone as an event, caused by the national decision that
        moved the support. Published from a process of its own at the same
        time, once the decision's event has reached every listener (the trace
        included), so the cause always comes first."""
        sim = self.sim

        def publish():
            yield sim.env.timeout(0)
            sim.bus.publish(
                normflow.events.PhaseChanged(
                    t=t,
                    machine="norm_cascade",
                    subject="",
                    issue=issue,
                    phase=phase,
                    previous=previous,
                    id=sim.new_event_id(),
                    causes=(cause,) if cause else (),
                )
            )

        sim.env.process(publish())

    def weigh(self, amount: float, source: str, target: str, issue: str, channel: str) -> float:
        """Moral authority: pressure on a state outside the norm, about a norm
        issue, weighs ``1 + moral_authority * S`` times as much."""
        if issue in self.issues and self.standing.get(target, ADOPTED) != ADOPTED:
            return amount * (1.0 + self.config.moral_authority * self.support)
        return amount

    # -- national-level events ---------------------------------------------------

    def on_agenda(self, ev: normflow.events.AgendaPlaced) -> None:
        if ev.issue in self.issues:
            self._raise(ev.t, self.issue_state[ev.issue], AGENDA, ev.issue, ev.id)

    def on_policy(self, ev: normflow.events.PolicyChanged) -> None:
        if ev.issue in self.issues:
            self._raise(ev.t, ev.state, ADOPTED, ev.issue, ev.id)

    def on_agreement(self, ev: normflow.events.AgreementReached) -> None:
        if ev.issue in self.issues:
            for state in ev.parties:
                self._raise(ev.t, state, ADOPTED, ev.issue, ev.id)

    # -- the cascade ----------------------------------------------------------------

    def run(self):
        sim, cfg = self.sim, self.config
        env = sim.env
        while env.now + cfg.cascade_interval_days <= sim.horizon:
            yield env.timeout(cfg.cascade_interval_days)
            if self.tipped_at is not None:
                self._socialize()

    def _socialize(self) -> None:
        w = self.sim.world
        pull = self.config.cascade_rate * self.support
        if pull <= 0.0:
            return
        for (state, issue), stance in w.stances.items():
            if issue not in self.issues or self.standing[state] == ADOPTED:
                continue
            stance.commitment += pull * (1.0 - stance.commitment)
            stance.public_support += pull * (1.0 - stance.public_support)
            self.sim.tally["norm_cascade_socialized"] += 1

    def support_mean(self) -> float:
        now = self.sim.env.now
        if now <= 0.0:
            return self.support
        return (self._area + self.support * (now - self._since)) / now


#: One mechanism per run; the module is shared by every run in the process.
_runs: weakref.WeakKeyDictionary[normflow.Simulation, NormCascade] = weakref.WeakKeyDictionary()


def _mechanism(sim: normflow.Simulation) -> NormCascade:
    mechanism = _runs.get(sim)
    if mechanism is None:
        mechanism = _runs[sim] = NormCascade(sim)
    return mechanism


# -- hooks ---------------------------------------------------------------------


@normflow.hookimpl
def normflow_register_config(register):
    register("norm_cascade", NormCascadeConfig)


@normflow.hookimpl
def normflow_register_milestones(sim, register):
    _mechanism(sim)  # validates the section's issues before the run
    register("norm_cascade.tipping", label="the norm cascade tipped (enough states adopted the norm)")
    register("norm_cascade.internalization", label="the norm was internalized (taken for granted)")


@normflow.hookimpl
def normflow_register_handlers(sim, register):
    mechanism = _mechanism(sim)
    register(normflow.events.AgendaPlaced, mechanism.on_agenda)
    register(normflow.events.PolicyChanged, mechanism.on_policy)
    register(normflow.events.AgreementReached, mechanism.on_agreement)


@normflow.hookimpl
def normflow_register_modifiers(sim, register):
    mechanism = _mechanism(sim)
    if mechanism.config.moral_authority > 0.0:  # off by default: no modifier on the hot path
        register("pressure", mechanism.weigh)


@normflow.hookimpl
def normflow_register_processes(sim, register):
    register("cascade", _mechanism(sim).run)


@normflow.hookimpl
def normflow_register_metrics(sim, register):
    mechanism = _mechanism(sim)
    register("support", lambda: mechanism.support)
    register("support_mean", mechanism.support_mean)
    register("adopters", lambda: sum(1 for s in mechanism.standing.values() if s == ADOPTED))
    register("agenda_states", lambda: sum(1 for s in mechanism.standing.values() if s == AGENDA))
