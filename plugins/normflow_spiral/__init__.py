"""The spiral model: how sustained pressure moves a state from repression to
rule-consistent behaviour.

Theory: Risse, Ropp and Sikkink, *The Power of Human Rights* (1999). A state
targeted by transnational and domestic pressure passes through five phases:
*repression*; *denial* (it rejects the norm's validity and the critics'
standing); *tactical concessions* (cosmetic steps to ease the pressure,
which commit it rhetorically and entrap it); *prescriptive status* (it
accepts the norm: ratifies, legislates, stops disputing); *rule-consistent
behaviour* (practice follows the norm as a habit). Early moves are
reluctant and instrumental and can be undone when pressure stops; once the
norm has prescriptive status for long enough, compliance no longer needs
pressure.

The rule, as normflow runs it, for every state and issue:

- A *pressure stock* adds up every ``PressureApplied`` on the state and issue
  (whatever the channel) and halves every ``half_life`` days.
- Every ``check_days`` the machine may move. Forward moves go one phase at a
  time and never skip: from repression to denial, denial to tactical
  concessions, concessions to prescriptive status, each when the stock is at
  or above that phase's threshold and then only with that move's
  probability (small for the early, reluctant moves).
- Entering tactical concessions raises stated commitment by
  ``concession_commitment``; entering prescriptive status raises it to at
  least ``prescriptive_commitment``. Where commitment exceeds practice, the
  core turns later pressure into reputational cost: the rhetorical trap.
- After ``habituation_days`` in prescriptive status the state becomes
  rule-consistent, whatever the pressure; from then on practice converges to
  commitment by itself, closing half the gap every ``practice_half_life``
  days.
- In denial and tactical concessions only, a stock that stays below
  ``backslide_threshold`` for ``backslide_days`` moves the state back one
  phase. Prescriptive status and rule-consistent behaviour do not slide back.

The phase is published on the state's stance (``norm_phase``: repression
0 up to rule-consistent 1), where the core's outcome rules read it through
the state's disposition (``normflow.processes.stance``): a state in
repression or denial is less likely to let a bill through a legislative
stage and holds a position further from the norm in negotiation and
ratification; a state that has accepted the norm leans toward it.

Every change is a ``PhaseChanged`` event (``machine="spiral"``); the core
records the milestone ``spiral.<phase>:<state>``. The machine runs on one
monthly SimPy process: its cost does not grow with the number of events.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Literal

import attrs

import normflow

__version__ = "0.1.0"
#: The name this plugin has when passed to ``Simulation(plugins=[...])`` by hand,
#: the same as its entry point's.
normflow_plugin_name = "spiral"

PHASES: tuple[str, ...] = (
    "repression",
    "denial",
    "tactical_concessions",
    "prescriptive_status",
    "rule_consistent",
)
REPRESSION, DENIAL, CONCESSIONS, PRESCRIPTIVE, RULE_CONSISTENT = range(5)
#: Each phase in plain words (the milestones' labels).
PHASE_LABELS = {
    "repression": "repression",
    "denial": "denial (rejecting the norm's validity)",
    "tactical_concessions": "tactical concessions",
    "prescriptive_status": "prescriptive status (the norm accepted in word)",
    "rule_consistent": "rule-consistent behaviour",
}
#: Phases a lull in pressure can undo (the reluctant, instrumental ones).
CAN_SLIDE_BACK = frozenset({DENIAL, CONCESSIONS})
#: The checks whose uniforms ``Spiral.run`` draws in one call (see there).
CHECKS_PER_DRAW = 64

Phase = Literal["repression", "denial", "tactical_concessions", "prescriptive_status", "rule_consistent"]


@attrs.frozen
class SpiralConfig:
    """``[plugins.spiral]``. Defaults and their reasons: docs/mechanisms.md."""

    half_life: float = normflow.param(
        365.0, low=1, high=36500, doc="days for the spiral's pressure stock to halve"
    )
    check_days: float = normflow.param(30.0, low=1, high=365, doc="days between two looks at each state")
    denial_threshold: float = normflow.param(
        1.0, low=0, high=1e6, doc="pressure stock from which a repressive state may turn to denial"
    )
    concessions_threshold: float = normflow.param(
        5.0, low=0, high=1e6, doc="pressure stock from which a denying state may make tactical concessions"
    )
    prescriptive_threshold: float = normflow.param(
        15.0, low=0, high=1e6, doc="pressure stock from which concessions may become prescriptive status"
    )
    denial_probability: float = normflow.param(
        0.3, low=0, high=1, doc="chance per check of moving to denial when above its threshold"
    )
    concessions_probability: float = normflow.param(
        0.05, low=0, high=1, doc="chance per check of moving to tactical concessions (reluctant)"
    )
    prescriptive_probability: float = normflow.param(
        0.05, low=0, high=1, doc="chance per check of moving to prescriptive status (reluctant)"
    )
    concession_commitment: float = normflow.param(
        0.1, low=0, high=1, doc="stated commitment added on entering tactical concessions"
    )
    prescriptive_commitment: float = normflow.param(
        0.9, low=0, high=1, doc="stated commitment at least, on entering prescriptive status"
    )
    habituation_days: float = normflow.param(
        1825.0, low=0, high=36500, doc="days in prescriptive status before behaviour is rule-consistent"
    )
    practice_half_life: float = normflow.param(
        730.0, low=1, high=36500, doc="days for practice to close half its gap to commitment, once habitual"
    )
    backslide_threshold: float = normflow.param(
        0.5, low=0, high=1e6, doc="pressure stock below which pressure counts as stopped"
    )
    backslide_days: float = normflow.param(
        730.0, low=1, high=36500, doc="days of stopped pressure that move denial or concessions back"
    )
    start_phase: Phase = normflow.param("repression", doc="phase every state starts in")
    start_phases: dict[str, Any] = normflow.param(
        factory=dict, doc="phase a given state starts in, by state id (overrides start_phase)"
    )

    def __attrs_post_init__(self) -> None:
        if not self.denial_threshold <= self.concessions_threshold <= self.prescriptive_threshold:
            raise ValueError(
                "thresholds in the order of the phases: "
                "denial_threshold <= concessions_threshold <= prescriptive_threshold"
            )
        if self.backslide_threshold > self.denial_threshold:
            raise ValueError(
                "backslide_threshold <= denial_threshold (stopped pressure cannot move a state on)"
            )
        for state, phase in self.start_phases.items():
            if phase not in PHASES:
                raise ValueError(f"start_phases.{state}: one of {list(PHASES)}, not {phase!r}")


@attrs.define(slots=True)
class Machine:
    """One state's phase on one issue."""

    state: str
    issue: str
    phase: int
    stock: normflow.Decaying
    entered: float = 0.0
    quiet_since: float | None = None
    event: int = 0  # the id of the latest phase change: the next one's cause


class Spiral:
    """The mechanism inside one run."""

    def __init__(self, sim: normflow.Simulation):
        # a proxy: the module-level WeakKeyDictionary holding this mechanism must not
        # keep its key (the run) alive, or every run of a process is kept in memory
        self.sim = weakref.proxy(sim)
        cfg: SpiralConfig = sim.config("spiral")
        self.config = cfg
        states = {s.id for s in sim.world.states}
        for state, phase in cfg.start_phases.items():
            if state not in states:
                raise normflow.ScenarioError(
                    f"plugins.spiral.start_phases.{state}",
                    phase,
                    f"a phase keyed by the id of a declared state ({', '.join(sorted(states))})",
                    file=sim.scenario.source,
                )
        self.machines: dict[tuple[str, str], Machine] = {}
        for state, issue in sorted(sim.world.stances):
            start = cfg.start_phases.get(state, cfg.start_phase)
            self.machines[(state, issue)] = Machine(
                state, issue, PHASES.index(start), normflow.Decaying(cfg.half_life)
            )
            # the phase is published on the stance, where outcomes read it
            # (normflow.processes.stance: legislative stages, negotiation)
            sim.world.stance(state, issue).norm_phase = PHASES.index(start) / RULE_CONSISTENT
        self.thresholds = {
            DENIAL: (cfg.denial_threshold, cfg.denial_probability),
            CONCESSIONS: (cfg.concessions_threshold, cfg.concessions_probability),
            PRESCRIPTIVE: (cfg.prescriptive_threshold, cfg.prescriptive_probability),
        }
        self.rng = sim.rng("spiral")
        self.backslides = 0

    def pressed(self, ev: normflow.events.PressureApplied) -> None:
        """The handler, given the event object."""
        self.pressure_applied(ev.t, ev.source, ev.target, ev.issue, ev.channel, ev.nature, ev.amount)

    def pressure_applied(
        self,
        t: float,
        source: str,
        target: str,
        issue: str,
        channel: str,
        nature: str,
        amount: float,
        id: int = 0,
        causes: tuple[int, ...] = (),
    ) -> None:
        """The handler, given the fields of a ``PressureApplied`` (subscribed
        with ``fields=True``: the engine builds no event object for it)."""
        machine = self.machines.get((target, issue))
        if machine is not None:
            machine.stock.add(t, amount)

    def run(self):
        sim, cfg = self.sim, self.config
        env = sim.env
        habit = 1.0 - math.exp(-math.log(2.0) * cfg.check_days / cfg.practice_half_life)
        # one uniform per machine at every check, used or not: the k-th
        # check's draws are the same whatever the pressure did before it,
        # so runs that differ elsewhere (knockout arms) stay coupled. Nothing
        # else draws from this stream, so the uniforms of CHECKS_PER_DRAW checks
        # are drawn at once: the same numbers in the same order (numpy fills an
        # array with the draws one call per check would give), and a check
        # after a month of other work makes no numpy call, which would start
        # with cold caches, in most months
        n = len(self.machines)
        uniforms: list[float] = []
        while env.now + cfg.check_days <= sim.horizon:
            yield env.timeout(cfg.check_days)
            t = env.now
            if not uniforms:
                uniforms = self.rng.random(CHECKS_PER_DRAW * n).tolist()[::-1]
            for machine in self.machines.values():
                self._step(machine, t, habit, uniforms.pop())

    def _step(self, m: Machine, t: float, habit: float, u: float) -> None:
        cfg = self.config
        stock = m.stock.at(t)
        if m.phase in CAN_SLIDE_BACK and stock < cfg.backslide_threshold:
            if m.quiet_since is None:
                m.quiet_since = t
            elif t - m.quiet_since >= cfg.backslide_days:
                self.backslides += 1
                self._move(m, t, m.phase - 1)
            return
        m.quiet_since = None
        nxt = m.phase + 1
        if nxt in self.thresholds:
            threshold, probability = self.thresholds[nxt]
            if stock >= threshold and u < probability:
                self._move(m, t, nxt)
        elif m.phase == PRESCRIPTIVE and t - m.entered >= cfg.habituation_days:
            self._move(m, t, RULE_CONSISTENT)
        elif m.phase == RULE_CONSISTENT:
            stance = self.sim.world.stance(m.state, m.issue)
            if stance.commitment > stance.position:
                stance.position += habit * (stance.commitment - stance.position)

    def _move(self, m: Machine, t: float, phase: int) -> None:
        previous = m.phase
        m.phase, m.entered, m.quiet_since = phase, t, None
        stance = self.sim.world.stance(m.state, m.issue)
        stance.norm_phase = phase / RULE_CONSISTENT
        if phase == CONCESSIONS:
            stance.commitment = min(1.0, stance.commitment + self.config.concession_commitment)
        elif phase == PRESCRIPTIVE:
            stance.commitment = max(stance.commitment, self.config.prescriptive_commitment)
        self.sim.tally["spiral_phase_changed"] += 1
        # causes: the phase it left, and (moving up) the latest pressure by channel
        causes = {m.event} if m.event else set()
        if phase > previous:
            causes.update(self.sim.pressure_causes(m.state, m.issue))
        m.event = self.sim.new_event_id()
        self.sim.bus.publish(
            normflow.events.PhaseChanged(
                t=t,
                machine="spiral",
                subject=m.state,
                issue=m.issue,
                phase=PHASES[phase],
                previous=PHASES[previous],
                id=m.event,
                causes=tuple(sorted(causes)),
            )
        )


#: One mechanism per run; the module is shared by every run in the process.
_runs: weakref.WeakKeyDictionary[normflow.Simulation, Spiral] = weakref.WeakKeyDictionary()


def _mechanism(sim: normflow.Simulation) -> Spiral:
    mechanism = _runs.get(sim)
    if mechanism is None:
        mechanism = _runs[sim] = Spiral(sim)
    return mechanism


# -- hooks ---------------------------------------------------------------------


@normflow.hookimpl
def normflow_register_config(register):
    register("spiral", SpiralConfig)


@normflow.hookimpl
def normflow_register_milestones(sim, register):
    # the spiral is about the states an issue targets; others appear when reached
    for state in sorted({issue.state for issue in sim.world.issues}):
        for phase in PHASES[1:]:
            words = PHASE_LABELS.get(phase, phase.replace("_", " "))
            register(f"spiral.{phase}:{state}", label=f"{state} entered the spiral's phase of {words}")


@normflow.hookimpl
def normflow_register_handlers(sim, register):
    # thousands of pressures a run: the fields, not an event object
    register(normflow.events.PressureApplied, _mechanism(sim).pressure_applied, fields=True)


@normflow.hookimpl
def normflow_register_processes(sim, register):
    register("spiral", _mechanism(sim).run)


@normflow.hookimpl
def normflow_register_metrics(sim, register):
    mechanism = _mechanism(sim)
    for (state, issue), machine in mechanism.machines.items():
        register(f"phase.{state}.{issue}", lambda m=machine: PHASES[m.phase])
    register("backslides", lambda: mechanism.backslides)
