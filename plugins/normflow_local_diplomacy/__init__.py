"""Local diplomacy: reaching a foreign state through its own local governments.

Theory: the article behind normflow (Takao, on local government as an
intermediate agent in the transnationalization of civil society, Japan
around 2000). A local government need not go through its own
national government to influence another state: it can work through a
partner local government abroad, which belongs to the target state and has
direct access to that state's centre. Kitakyushu reached Beijing through
Dalian, a nationally designated city; Niigata reached Beijing through
Harbin, Dalian, Xi'an and Heilongjiang province at once, and the province
joining brought influence at the national level (the Kitakyushu and Niigata
cases in docs/mechanisms.md).

The rule, as normflow runs it:

- *Channels.* Every local government ``l`` that hosts a supporter group and
  has partners abroad opens one channel per foreign partner ``p``:
  ``l -> p -> state(p)``, with ``p``'s access to its national government
  (``world.lg_access``). Channels are registered before the run
  (``sim.world.channels``); the core's negotiation process counts a channel
  into a party state as access to the negotiators.
- *Transferable access.* Every ``interval_days`` each coalition (a lone group
  counts as a coalition of one) collects the foreign partners of every
  member's local government, provided that local government supports the
  issue (assembly support at or above the core's ``support_threshold``): any
  member's partners serve the whole coalition, as Dalian's access served
  Kitakyushu's groups.
- *Several partners at once.* The coalition mobilises all its partners
  together; each partner relays the case once per mobilisation and issue,
  with the strongest case any coalition brings it (many lone groups asking
  the same partner do not multiply what it carries); it gets through with
  probability equal to its access (an access of 0 never does) and adds
  pressure ``strength * force`` on its national government about the issue, where
  ``force`` is the coalition's pooled information through the core's
  ``I / (I + information_half)``, times the legitimacy of the member's local
  government that offers the partner (``World.legitimacy`` with the core's
  ``legitimacy_weight``: its residents' support for the issue, which
  downward accountability raises). A partner whose level is ``province``
  carries ``province_multiplier`` times as much.
- *Costs.* With ``[processes.costs] enabled`` a relay that gets through
  costs its home local government ``cost`` of political capital
  (``sim.spend``); one that cannot pay does not happen. ``cost`` 0 (the
  default) keeps relays free.
- Each success goes through ``sim.apply_pressure(..., channel=
  "local_diplomacy")``, so it adds to the target state's pressure stock (and
  can open a negotiation that waits for ``request_threshold``), and is
  published as ``ChannelUsed`` with the path ``(l, p, state)``; the core
  records the milestone ``channel_used:<channel>``.
"""

from __future__ import annotations

import weakref
from collections import Counter

import attrs
import numpy as np

import normflow

__version__ = "0.1.0"
#: The name this plugin has when passed to ``Simulation(plugins=[...])`` by hand,
#: the same as its entry point's.
normflow_plugin_name = "local_diplomacy"


@attrs.frozen
class LocalDiplomacyConfig:
    """``[plugins.local_diplomacy]``. Defaults and their reasons: docs/mechanisms.md."""

    interval_days: float = normflow.param(
        90.0, low=1, high=3650, doc="days between two mobilisations of partners abroad"
    )
    strength: float = normflow.param(
        1.0, low=0, high=100, doc="pressure one partner carries to its national government (times force)"
    )
    province_multiplier: float = normflow.param(
        2.0, low=1, high=100, doc="how much more a province partner carries than a city"
    )
    cost: float = normflow.param(
        0.0,
        low=0,
        high=10,
        doc="political capital a relay (a delegation, a visit) costs the home local government, "
        "when costs are modelled ([processes.costs] enabled); 0: free",
    )


def channel_name(source: str, partner: str) -> str:
    return f"local_diplomacy:{source}>{partner}"


class LocalDiplomacy:
    """The mechanism inside one run."""

    def __init__(self, sim: normflow.Simulation):
        # a proxy: the module-level WeakKeyDictionary holding this mechanism must not
        # keep its key (the run) alive, or every run of a process is kept in memory
        self.sim = weakref.proxy(sim)
        self.config: LocalDiplomacyConfig = sim.config("local_diplomacy")
        w = sim.world
        #: foreign partners of each local government that has some
        self.abroad: dict[int, list[int]] = {}
        for lg, partners in enumerate(w.lg_partners):
            if not partners:
                continue  # most local governments have no partner at all
            foreign = sorted(p for p in partners if w.lg_state[p] != w.lg_state[lg])
            if foreign:
                self.abroad[lg] = foreign
        hosted = np.isin(w.group_locality, list(self.abroad)) & w.group_supporter
        #: supporter groups located at a local government with partners abroad
        self.gateway_groups = np.flatnonzero(hosted)
        self.sources = sorted({int(lg) for lg in w.group_locality[self.gateway_groups]})
        self.rng = sim.rng("local_diplomacy")
        self.uses: Counter[str] = Counter()
        self.pressure = 0.0

    def channels(self) -> list[normflow.Channel]:
        w = self.sim.world
        return [
            normflow.Channel(
                name=channel_name(w.lg_ids[lg], w.lg_ids[p]),
                source=w.lg_ids[lg],
                via=(w.lg_ids[p],),
                target=w.states[w.lg_state[p]].id,
                access=float(w.lg_access[p]),
            )
            for lg in self.sources
            for p in self.abroad[lg]
        ]

    def run(self):
        sim, cfg = self.sim, self.config
        env = sim.env
        if len(self.gateway_groups) == 0:
            return
        while env.now + cfg.interval_days <= sim.horizon:
            yield env.timeout(cfg.interval_days)
            self._mobilise(env.now)

    def _mobilise(self, t: float) -> None:
        sim, w, cfg = self.sim, self.sim.world, self.config
        acc = sim.scenario.processes.accountability
        roots = w.coalition_roots()
        # (issue, coalition) -> {partner abroad: the member's local government that offers it}
        reach: dict[tuple[int, int], dict[int, int]] = {}
        for g in self.gateway_groups.tolist():
            lg = int(w.group_locality[g])
            issue = int(w.group_issue[g])
            if w.lg_support[issue][lg] < acc.support_threshold:
                continue
            offered = reach.setdefault((issue, int(roots[g])), {})
            for p in self.abroad[lg]:
                offered.setdefault(p, lg)
        # each partner relays the case once per mobilisation and issue, with the
        # strongest case any coalition brings it: many lone groups asking the same
        # partner do not multiply what it carries to its centre
        best: dict[tuple[int, int], tuple[float, int]] = {}
        for (issue, root), offered in sorted(reach.items()):
            pooled = w.coalition_info[root]
            force = pooled / (pooled + acc.information_half)
            for p, lg in sorted(offered.items()):
                # the home local government speaks for its residents: a case they
                # back carries more (the core's World.legitimacy rule)
                weight = float(force * w.legitimacy(lg, issue, acc.legitimacy_weight))
                if weight > best.get((issue, p), (-1.0, -1))[0]:
                    best[(issue, p)] = (weight, lg)
        for (issue, p), (weight, lg) in sorted(best.items()):
            issue_id = w.issues[issue].id
            if not self.rng.random() < w.lg_access[p]:
                continue
            # a delegation costs its home local government political capital (after the
            # access draw, so an unpaid relay leaves the stream as it was)
            if cfg.cost > 0.0 and not sim.spend(w.lg_ids[lg], cfg.cost, t):
                continue
            amount = cfg.strength * weight
            if w.lg_level[p] == "province":
                amount *= cfg.province_multiplier
            target = w.states[w.lg_state[p]].id
            causes = self._backing(t, lg, issue_id)
            applied = sim.apply_pressure(
                t, w.lg_ids[p], target, issue_id, "local_diplomacy", "moral", float(amount), causes=causes
            )
            if applied <= 0.0:
                continue  # nothing to carry (no information pooled yet, or a modifier cancelled it)
            name = channel_name(w.lg_ids[lg], w.lg_ids[p])
            self.uses[name] += 1
            self.pressure += applied
            sim.bus.publish(
                normflow.events.ChannelUsed(
                    t=t,
                    channel=name,
                    path=(w.lg_ids[lg], w.lg_ids[p], target),
                    issue=issue_id,
                    amount=applied,
                    id=sim.new_event_id(),
                    causes=causes,
                )
            )

    def _backing(self, t: float, lg: int, issue_id: str) -> tuple[int, ...]:
        """Why local government ``lg`` backs the issue: its resolution, else
        its latest sharing with a group, else the support the scenario gives
        it (a ``Scheduled`` event, published once)."""
        latest = self.sim.latest_event
        lg_id = self.sim.world.lg_ids[lg]
        backing = latest.get(("resolution", issue_id, lg)) or latest.get((issue_id, lg))
        if backing is None:
            key = ("local_diplomacy.backing", issue_id, lg)
            backing = latest.get(key)
            if backing is None:
                backing = latest[key] = self.sim.new_event_id()
                self.sim.bus.publish(
                    normflow.events.Scheduled(
                        t=t,
                        what=f"{lg_id} backs {issue_id} with the support the scenario gives it",
                        subject=lg_id,
                        id=backing,
                    )
                )
        return (backing,)


#: One mechanism per run; the module is shared by every run in the process.
_runs: weakref.WeakKeyDictionary[normflow.Simulation, LocalDiplomacy] = weakref.WeakKeyDictionary()


def _mechanism(sim: normflow.Simulation) -> LocalDiplomacy:
    mechanism = _runs.get(sim)
    if mechanism is None:
        mechanism = _runs[sim] = LocalDiplomacy(sim)
    return mechanism


# -- hooks ---------------------------------------------------------------------


@normflow.hookimpl
def normflow_register_config(register):
    register("local_diplomacy", LocalDiplomacyConfig)


@normflow.hookimpl
def normflow_register_channels(sim, register):
    for channel in _mechanism(sim).channels():
        register(channel)


@normflow.hookimpl
def normflow_register_milestones(sim, register):
    for channel in _mechanism(sim).channels():
        register(
            f"channel_used:{channel.name}",
            label=f"local diplomacy first carried pressure to {channel.target} ({channel.name})",
        )


@normflow.hookimpl
def normflow_register_processes(sim, register):
    register("mobilise partners", _mechanism(sim).run)


@normflow.hookimpl
def normflow_register_metrics(sim, register):
    mechanism = _mechanism(sim)
    register("uses", lambda: sum(mechanism.uses.values()))
    register("pressure", lambda: mechanism.pressure)
