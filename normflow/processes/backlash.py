"""Central backlash: a state curbs its local governments' international
activity that runs against its stated policy.

Local diplomacy can backfire. A local government that carries a cause abroad
(through a partner city, or as the partner relaying a foreign coalition's
case to its own centre) acts in a field a state regards as its own; where the
local government's stance on the issue runs ahead of the state's stated
commitment, the state may curb it. The more centralized the state (the lower
its penetrability), the likelier.

The rule (``[processes.backlash]``, off unless ``enabled``):

- Every ``ChannelUsed`` event marks each local government on its path as
  active abroad on the issue at that time.
- Every ``check_days``, for each local government active within the last
  ``memory_days``, the *gap* is ``max(0, support - C)``: its assembly's
  support for the issue minus the state's stated commitment ``C``. The state
  curbs it with probability ``1 - exp(-rate * check_days / 365.25 * gap *
  (1 - penetrability))``.
- A curb is one of three actions, drawn with the weights ``actions``:
  *access withdrawn* (the local government loses ``access_cut`` of its
  access to its national government for good), *channel closed* (its access
  is 0 for ``closure_days``, then restored), or a *reprimand* (its assembly's
  support for the issue falls by ``reprimand_cost``: political capital
  spent). Each is a ``CentralBacklash`` event.

Access is what carries pressure through a local government (the
accountability process's ``local_government`` channel, the local diplomacy
plugin's partner channel) and what keeps expertise heard in negotiation, so
a curb delays or prevents the milestones those paths lead to.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from normflow.events import CentralBacklash, ChannelUsed

if TYPE_CHECKING:
    from normflow.context import RunContext

DAYS_PER_YEAR = 365.25
ACTIONS = ("access_withdrawn", "channel_closed", "reprimand")


def central_backlash(sim: RunContext):
    """Set up the backlash (its handler subscribes now, during setup) and
    return the process that curbs."""
    w = sim.world
    p = sim.scenario.processes.backlash
    rng = sim.rng("backlash")
    weights = np.asarray(p.actions, dtype=float)
    weights = weights / weights.sum()
    #: (local government, issue) -> last time it was active abroad
    active: dict[tuple[int, int], float] = {}
    closed_until: dict[int, float] = {}
    saved_access: dict[int, float] = {}

    def on_channel(e: ChannelUsed) -> None:
        issue = w.issue_index.get(e.issue)
        if issue is None:
            return
        for name in e.path:
            lg = w.lg_index.get(name)
            if lg is not None:
                active[(lg, issue)] = e.t

    sim.bus.subscribe(ChannelUsed, on_channel)
    per_check = p.rate * p.check_days / DAYS_PER_YEAR

    def run():
        env = sim.env
        while env.now + p.check_days <= sim.horizon:
            yield env.timeout(p.check_days)
            t = env.now
            for lg, until in sorted(closed_until.items()):
                if until <= t:
                    del closed_until[lg]
                    w.lg_access[lg] = saved_access.pop(lg)
                    sim.tally["backlash_channel_reopened"] += 1
            for (lg, issue), last in sorted(active.items()):
                if t - last > p.memory_days or lg in closed_until:
                    continue
                curb(t, lg, issue)

    def curb(t: float, lg: int, issue: int) -> None:
        state = w.states[int(w.lg_state[lg])]
        stance = w.stance(state.id, w.issues[issue].id)
        gap = max(0.0, float(w.lg_support[issue][lg]) - stance.commitment)
        hazard = per_check * gap * (1.0 - state.penetrability)
        if hazard <= 0.0 or rng.random() >= 1.0 - math.exp(-hazard):
            return
        action = ACTIONS[int(rng.choice(3, p=weights))]
        if action == "access_withdrawn":
            w.lg_access[lg] *= 1.0 - p.access_cut
        elif action == "channel_closed":
            saved_access[lg] = float(w.lg_access[lg])
            w.lg_access[lg] = 0.0
            closed_until[lg] = t + p.closure_days
        else:
            w.lg_support[issue][lg] = max(0.0, float(w.lg_support[issue][lg]) - p.reprimand_cost)
        sim.tally["central_backlash"] += 1
        sim.bus.publish(
            CentralBacklash(
                t=t, state=state.id, local_government=w.lg_ids[lg], issue=w.issues[issue].id, action=action
            )
        )

    return run()
