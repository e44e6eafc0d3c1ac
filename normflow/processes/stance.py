"""A state's disposition toward the norm: where reputational cost and the
state's phase toward the norm reach outcomes.

Two quantities that mechanisms move are read here, and only here, so that
every rule deciding an outcome reads them the same way:

- ``stance.reputation``: recent reputational cost, a stock that decays like
  the pressure stock (``apply_pressure`` adds ``(C - x) *
  reputation_sensitivity * amount`` to it wherever stated commitment ``C``
  exceeds practice ``x``). Saturating: ``R / (R + reputation_half)``.
- ``stance.norm_phase``: the state's phase toward the norm in [0, 1] as a
  phase machine publishes it (the spiral plugin: repression 0, denial 0.25,
  tactical concessions 0.5, prescriptive status 0.75, rule-consistent 1);
  ``None`` when no machine runs, which counts as neutral.

``disposition = reputation_weight * R / (R + reputation_half) + phase_weight
* (2 * norm_phase - 1)``, clipped to [-1, 1]. A state embarrassed by its own
stated principle, or one that has accepted the norm, leans toward it; one
in repression or denial leans against it.

Who reads it (docs/processes.md draws each path):

- a legislative stage's pass chance (``agenda``: ``+ stage_weight *
  disposition``);
- a negotiating state's position and the centre of its ratifiers'
  acceptable set (``negotiation``: ``+ position_weight * disposition``);
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from normflow.scenario import StanceParams
    from normflow.world import StateStance

#: The spiral plugin's phases as a level in [0, 1] (other machines may use
#: any level in [0, 1]).
PHASE_LEVELS: dict[str, float] = {
    "repression": 0.0,
    "denial": 0.25,
    "tactical_concessions": 0.5,
    "prescriptive_status": 0.75,
    "rule_consistent": 1.0,
}


def disposition_of(stance: StateStance, params: StanceParams, t: float) -> float:
    """The disposition of one stance at time ``t``, in [-1, 1]."""
    r = stance.reputation.at(t)
    value = params.reputation_weight * r / (r + params.reputation_half)
    if stance.norm_phase is not None:
        value += params.phase_weight * (2.0 * stance.norm_phase - 1.0)
    return min(max(value, -1.0), 1.0)


def disposition(sim, state: str, issue: str, t: float | None = None) -> float:
    """The disposition of ``state`` on ``issue`` in a run, now or at ``t``."""
    return disposition_of(
        sim.world.stance(state, issue), sim.scenario.processes.stance, sim.env.now if t is None else t
    )
