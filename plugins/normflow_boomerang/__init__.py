"""The boomerang: blocked at home, a coalition gets its state pressed from abroad.

Theory: Keck and Sikkink, *Activists beyond Borders* (1998). When a state
closes its door to its own civil society, domestic groups go around it:
they reach allies in other countries, who persuade their own government (or
an international institution) to press the blocking state from outside. The
pressure comes back like a boomerang, through a door the domestic structure
does not guard.

The rule, as normflow runs it:

- A group's attempt to press its own state ``S`` fails (the core publishes
  ``AccessBlocked``: penetrability, or its local government's access,
  said no).
- The group's coalition offers *routes* abroad: each other state ``A`` in
  which the coalition has a supporter member, plus the international
  institution named in the config, if any. A lone group has no route.
- With probability ``take_up * gate`` a route is taken, where the route is
  drawn uniformly and the gate is ``A``'s penetrability (the ally must first
  move its own government) or ``institution_leverage``.
- After an exponential delay of mean ``delay_days``, ``A`` (or the
  institution) presses ``S`` on the issue with ``strength``, through
  ``sim.apply_pressure(..., channel="boomerang", foreign=True)``; ``S``'s
  penetrability does not gate it. A ``ChannelUsed`` event records the path
  (blocked group, ally, ally's state, ``S``) and the milestone
  ``boomerang:<S>`` marks the first time.
- At most ``max_pending`` boomerangs per coalition, blocked state and issue
  are under way at once: an ally does not open a second démarche while the
  first is in progress. With frequent blocks this makes outside pressure
  arrive about once per ``delay_days`` per coalition.

Cost: ``AccessBlocked`` can fire thousands of times a run, so the handler does
O(1) work per event: the coalition's routes come from an index of
(coalition, state) pairs rebuilt with one vectorized pass, only after
coalitions have changed and at most once a week of simulated time (coalition
membership changes slowly beside the months a boomerang takes); while no
coalition has an ally abroad and no institution is named, it returns at once. In a
run where no coalition can ever have one (every supporter in one state, no
institution), the mechanism does not listen to blocks at all.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

import normflow

__version__ = "0.1.0"
#: The name this plugin has when passed to ``Simulation(plugins=[...])`` by hand,
#: the same as its entry point's.
normflow_plugin_name = "boomerang"

#: Days the index of allies abroad may lag behind coalition changes.
INDEX_REFRESH_DAYS = 7.0


@attrs.frozen
class BoomerangConfig:
    """``[plugins.boomerang]``. Defaults and their reasons: docs/mechanisms.md."""

    take_up: float = normflow.param(
        0.3,
        low=0,
        high=1,
        doc="chance an ally abroad takes up a blocked grievance (times the route's gate)",
    )
    delay_days: float = normflow.param(
        180.0, low=1, high=3650, doc="mean days from the block to the outside pressure"
    )
    strength: float = normflow.param(
        2.0, low=0, high=100, doc="pressure one boomerang puts on the blocked state"
    )
    max_pending: int = normflow.param(
        1, low=1, high=1000, doc="boomerangs under way at once per coalition, blocked state and issue"
    )
    institution: str | None = normflow.param(
        None, doc="an international institution coalitions can appeal to (none by default)"
    )
    institution_leverage: float = normflow.param(
        0.5, low=0, high=1, doc="chance the institution acts once a coalition appeals to it"
    )


class Boomerang:
    """The mechanism inside one run."""

    def __init__(self, sim: normflow.Simulation):
        # a proxy: the module-level WeakKeyDictionary holding this mechanism must not
        # keep its key (the run) alive, or every run of a process is kept in memory
        self.sim = weakref.proxy(sim)
        self.config: BoomerangConfig = sim.config("boomerang")
        self.start_process: Callable[[str, Callable[[], Any]], None] = _not_started
        self.rng = sim.rng("boomerang")
        w = sim.world
        self.n_states = len(w.states)
        self.penetrability = [s.penetrability for s in w.states]
        self.pending: Counter[tuple[int, str, str]] = Counter()
        self.routes: dict[int, list[tuple[int, int]]] = {}
        #: the institution named in the config (None: none), a route for any coalition of
        #: two groups or more, wherever its members are
        self.institution = self.config.institution
        #: whether a blocked attempt could ever have somewhere to turn in this run:
        #: an institution is named, or supporters live in two states or more. A
        #: group's state and stance are read only (docs/world.md), so with every
        #: supporter in one state no coalition ever has an ally abroad, and the
        #: mechanism does not listen at all (``normflow_register_handlers``)
        supporters = w.group_state[w.group_supporter]
        self.listens = bool(self.institution) or (
            len(supporters) > 0 and bool(supporters.min() != supporters.max())
        )
        self.stale = True
        self.indexed_at = -np.inf
        self.count = 0
        self.pressure = 0.0

    # -- the index of allies abroad --------------------------------------------

    def coalitions_changed(self, _event: Any) -> None:
        self.stale = True

    def _reindex(self, t: float) -> None:
        """Coalition root -> [(state index, one supporter member there)], kept
        only for coalitions with supporters in two states or more: a coalition
        confined to one state has no ally abroad."""
        w = self.sim.world
        self.stale = False
        self.indexed_at = t
        roots = w.coalition_roots()
        members = np.flatnonzero(w.group_supporter & (w.coalition_size[roots] > 1))
        keys = roots[members] * self.n_states + w.group_state[members]
        unique, first = np.unique(keys, return_index=True)
        routes: dict[int, list[tuple[int, int]]] = {}
        for key, i in zip(unique.tolist(), first.tolist(), strict=True):
            root, state = divmod(key, self.n_states)
            routes.setdefault(root, []).append((state, int(members[i])))
        self.routes = {root: r for root, r in routes.items() if len(r) > 1}

    # -- the mechanism ------------------------------------------------------------

    def blocked(self, ev: normflow.events.AccessBlocked) -> None:
        """The handler, given the event object."""
        self.access_blocked(ev.t, ev.group, ev.state, ev.issue, ev.channel, getattr(ev, "id", 0))

    def access_blocked(
        self,
        t: float,
        group: str,
        state: str,
        issue: str,
        channel: str = "",
        id: int = 0,
        causes: tuple[int, ...] = (),
    ) -> None:
        """The handler, given the fields of an ``AccessBlocked`` (subscribed
        with ``fields=True``: the engine builds no event object for it;
        ``causes``, the campaign step's, are not needed here)."""
        if self.stale and t - self.indexed_at >= INDEX_REFRESH_DAYS:
            self._reindex(t)
        if not self.routes and not self.institution:
            # no coalition has an ally abroad and there is no institution: nothing
            # to look up (the common case while coalitions stay within one state)
            return
        w, cfg = self.sim.world, self.config
        root = w.coalition_of(w.group_index[group])
        routes = self.routes.get(root)
        if routes is None and not (cfg.institution and w.coalition_size[root] > 1):
            return  # the common case: no network abroad to reach
        self._take_up(t, (root, state, issue), group, routes, id)

    def _take_up(
        self,
        t: float,
        key: tuple[int, str, str],
        group: str,
        routes: list[tuple[int, int]] | None,
        blocked: int,
    ) -> None:
        """A blocked group whose coalition has somewhere to turn: a route drawn,
        taken up or not, and the outside pressure started. (Kept out of the
        handler: the names the pressure's process closes over are cells, made
        at every call of the function that holds them, blocked attempts with
        nowhere to turn included.)"""
        cfg = self.config
        if self.pending[key] >= cfg.max_pending:
            return
        blocked_state = self.sim.world.state_index[key[1]]
        options = [r for r in routes or () if r[0] != blocked_state]
        if cfg.institution:
            options.append((-1, -1))
        ally_state, ally = options[int(self.rng.integers(len(options)))]
        gate = cfg.institution_leverage if ally_state < 0 else self.penetrability[ally_state]
        if self.rng.random() >= cfg.take_up * gate:
            return
        fire_at = t + self.rng.exponential(cfg.delay_days)
        if fire_at > self.sim.horizon:
            return
        self.pending[key] += 1
        issue = key[2]
        self.start_process(
            "boomerang",
            lambda: self._outside_pressure(fire_at, key, group, ally_state, ally, issue, blocked),
        )

    def _outside_pressure(
        self,
        fire_at: float,
        key: tuple[int, str, str],
        group: str,
        state: int,
        ally: int,
        issue: str,
        blocked: int = 0,
    ):
        sim, w = self.sim, self.sim.world
        yield sim.env.timeout(fire_at - sim.env.now)
        self.pending[key] -= 1
        target = key[1]
        t = sim.env.now
        if state < 0:
            source = self.config.institution
            path: tuple[str, ...] = (group, source, target)
        else:
            source = w.states[state].id
            path = (group, w.group_ids[ally], source, target)
        causes = (blocked,) if blocked else ()  # the AccessBlocked this answers
        applied = sim.apply_pressure(
            t, source, target, issue, "boomerang", "moral", self.config.strength, foreign=True, causes=causes
        )
        if applied <= 0.0:
            return  # withheld (a modifier, or an intervention closing the international door)
        self.count += 1
        self.pressure += applied
        sim.reach_milestone(f"boomerang:{target}", t)
        sim.bus.publish(
            normflow.events.ChannelUsed(
                t=t,
                channel="boomerang",
                path=path,
                issue=issue,
                amount=applied,
                id=sim.new_event_id(),
                causes=causes,
            )
        )


def _not_started(name: str, factory: Callable[[], Any]) -> None:
    raise RuntimeError("the boomerang's processes hook was not called")


#: One mechanism per run; the module is shared by every run in the process.
_runs: weakref.WeakKeyDictionary[normflow.Simulation, Boomerang] = weakref.WeakKeyDictionary()


def _mechanism(sim: normflow.Simulation) -> Boomerang:
    mechanism = _runs.get(sim)
    if mechanism is None:
        mechanism = _runs[sim] = Boomerang(sim)
    return mechanism


# -- hooks ---------------------------------------------------------------------


@normflow.hookimpl
def normflow_register_config(register):
    register("boomerang", BoomerangConfig)


@normflow.hookimpl
def normflow_register_milestones(sim, register):
    for state in sorted({issue.state for issue in sim.world.issues}):
        register(f"boomerang:{state}", label=f"a first boomerang: pressure on {state} from abroad")


@normflow.hookimpl
def normflow_register_handlers(sim, register):
    mechanism = _mechanism(sim)
    if not mechanism.listens:
        # nothing a block could lead to in this run (Boomerang.listens): unheard, a
        # blocked attempt costs the engine a count, not a call, an id and a guard
        return
    # thousands of blocks a run: the fields, not an event object
    register(normflow.events.AccessBlocked, mechanism.access_blocked, fields=True)
    register(normflow.events.CoalitionFormed, mechanism.coalitions_changed)
    register(normflow.events.CoalitionJoined, mechanism.coalitions_changed)


@normflow.hookimpl
def normflow_register_processes(sim, register):
    # kept: each boomerang is a short process started when its delay begins,
    # so that an error inside it is attributed to this plugin
    _mechanism(sim).start_process = register


@normflow.hookimpl
def normflow_register_metrics(sim, register):
    mechanism = _mechanism(sim)
    register("count", lambda: mechanism.count)
    register("pressure", lambda: mechanism.pressure)
