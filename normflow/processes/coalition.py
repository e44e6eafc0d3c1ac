"""The three autonomies of a coalition, and co-optation by local government.

THEORY.md gives a coalition three autonomies, each in [0, 1]: *delegated*
(decisions and tasks a government hands it), *administrative* (freedom from
government intervention) and *political* (its capacity to put issues on
agendas). A local government that supports a coalition helps and binds it at
once: a subsidy, an office, an endorsement or a delegated task (Kawasaki's
foreign residents' assembly, say) adds resources and delegated autonomy but
takes administrative autonomy (MODEL.md, second edition; Najam 2000 on
government-NGO relations, "the four Cs": co-optation is the price of
cooperation on the government's terms).

Rules (``[processes.autonomy]``, switched on with ``enabled``):

- Every group's coalition starts with ``delegated_start``,
  ``administrative_start`` and ``political_start``; a merger takes the
  size-weighted mean (``World.merge``).
- A local government whose assembly supports the issue (support at least
  ``support_threshold``) offers support to one of its supporter groups at
  ``support_rate * openness`` per year (a monthly draw). The group gains
  ``subsidy`` resources and loses ``administrative_loss`` of its own
  administrative autonomy (``World.group_administrative``); its coalition
  closes ``delegated_gain`` of its gap to full delegated autonomy and loses
  ``administrative_loss`` of its administrative autonomy, both times the
  group's share of the coalition's members (one subsidized member barely binds a large coalition, and wholly
  binds a group on its own). A dated ``local_support`` event in the scenario
  (a delegated task: an advisory assembly) does the same for every supporter
  group of the named local government, ``strength`` times over, and also
  closes ``political_gain`` of the gap in political autonomy (a venue where
  the coalition sets part of the local agenda).
- *Co-optation* (read by ``accountability.campaigns``): a group whose
  administrative autonomy ``a`` is below ``cooptation_threshold`` presses
  less and more softly: its top-down pressure is made with chance
  ``a / threshold`` and carries that share of its amount, ``a`` being the
  lower of the group's own and its coalition's administrative autonomy (a
  subsidized member is co-opted even inside a coalition one subsidy barely
  binds).
- *Political autonomy gates agenda-setting* (read by ``agenda.streams``):
  the policy stream's hazard and the coupling hazard are multiplied by the
  supporters' mean political autonomy, and a co-opted coalition's political
  autonomy falls with its administrative autonomy (each support takes ``administrative_loss`` of it
  too, when administrative autonomy is below the threshold).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from normflow.events import CoalitionSupported

if TYPE_CHECKING:
    from normflow.context import RunContext

DAYS_PER_YEAR = 365.25
STEP_DAYS = 30.0


def support_group(sim: RunContext, lg: int, g: int, issue: int, form: str, political: bool = False) -> None:
    """Local government ``lg`` supports group ``g`` (and so its coalition)."""
    w = sim.world
    p = sim.scenario.processes.autonomy
    root = w.coalition_of(g)
    # the columns read as Python floats (item) and written back: the same double
    # arithmetic as on numpy's scalars, at a fraction of their cost (about 1,000
    # supports a kawasaki-suffrage run, each a dozen reads and writes)
    resources, delegated = w.coalition_resources, w.coalition_delegated
    administrative, political_ = w.coalition_administrative, w.coalition_political
    # support to one member binds the coalition in proportion to that member's weight in it
    share = 1.0 / float(w.coalition_size.item(root))
    resources[root] = resources.item(root) + p.subsidy
    w.group_resources[g] = w.group_resources.item(g) + p.subsidy
    held = delegated.item(root)
    delegated[root] = held + share * p.delegated_gain * (1.0 - held)
    bound = administrative.item(root) * (1.0 - share * p.administrative_loss)
    administrative[root] = bound
    # the group that takes the support is bound by it in full
    w.group_administrative[g] = w.group_administrative.item(g) * (1.0 - p.administrative_loss)
    if political:
        held = political_.item(root)
        political_[root] = held + share * p.political_gain * (1.0 - held)
    elif bound < p.cooptation_threshold:
        political_[root] = political_.item(root) * (1.0 - share * p.administrative_loss)
    sim.tally["coalition_supported"] += 1
    if sim.bus.wants(CoalitionSupported):
        sim.bus.publish(
            CoalitionSupported(
                t=sim.env.now,
                local_government=w.lg_ids[lg],
                group=w.group_ids[g],
                issue=w.issues[issue].id,
                form=form,
                administrative=round(float(w.coalition_administrative[root]), 6),
            )
        )


def support_local_groups(
    sim: RunContext, local_government: str | None, issue_id: str, form: str, strength: float
) -> None:
    """A dated delegated task: the named local government supports each
    supporter group of its locality, ``strength`` times (rounded, at least once)."""
    w = sim.world
    if local_government is None or not sim.mechanism_on("autonomy"):
        return
    lg = w.lg_index[local_government]
    issue = w.issue_index[issue_id]
    groups = np.flatnonzero((w.group_locality == lg) & (w.group_issue == issue) & w.group_supporter)
    for _ in range(max(int(round(strength)), 1)):
        for g in groups:
            support_group(sim, lg, int(g), issue, form, political=True)


def local_support(sim: RunContext, issue: int):
    """Supportive, open local governments offer support to their groups,
    month by month."""
    w = sim.world
    p = sim.scenario.processes.autonomy
    threshold = sim.scenario.processes.accountability.support_threshold
    rng = sim.rng(f"autonomy.{w.issues[issue].id}")
    env = sim.env
    mine = (w.group_issue == issue) & w.group_supporter & (w.group_locality >= 0)
    groups = np.flatnonzero(mine)
    if len(groups) == 0 or p.support_rate <= 0.0:
        return
    localities = w.group_locality[groups]
    order = np.argsort(localities, kind="stable")
    groups, localities = groups[order], localities[order]
    lgs, first, count = np.unique(localities, return_index=True, return_counts=True)
    n = len(lgs)
    lgs_of, first_of, groups_of, count_of = lgs.tolist(), first.tolist(), groups.tolist(), count.tolist()
    # the assemblies' support read as Python floats (the same memory)
    support = memoryview(w.lg_support[issue])
    integers = rng.integers
    # an offer's chance, support_rate * openness * STEP_DAYS / DAYS_PER_YEAR, for every
    # locality at once (the same products; openness is fixed for a run, as the exchange's
    # success chances take it); a locality whose assembly is not supportive gets none
    chance = p.support_rate * w.lg_openness[lgs] * STEP_DAYS / DAYS_PER_YEAR
    while env.now + STEP_DAYS <= sim.horizon:
        yield env.timeout(STEP_DAYS)
        # a uniform drawn for every locality, supportive or not; an offer where the uniform
        # is below the chance (a few in a hundred) and the assembly supports the issue (the
        # others' chance is 0: never below a uniform). The few lucky localities are picked
        # with numpy, their assemblies read one by one: a month's step after a month of
        # contacts finds numpy's code and data out of the cache, so the fewer numpy calls
        # the better (see docs/performance-history.md, "Whole runs, eighth round")
        lucky = (rng.random(n) < chance).nonzero()[0].tolist()
        offers = [k for k in lucky if support[lgs_of[k]] >= threshold]
        # the group each offer reaches: one bounded integer per offer, in order, all drawn
        # before the first support (numpy draws an array of bounds one by one, as it draws
        # each alone; a bound of 1 takes no draw either way)
        draws = [integers(0, count_of[k]) for k in offers]
        for k, d in zip(offers, draws, strict=True):
            # a few offers a month: the one shared rule for a local government's support
            support_group(sim, lgs_of[k], groups_of[first_of[k] + int(d)], issue, "subsidy")
