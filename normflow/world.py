"""The world: the mutable state a run changes.

Built once from a scenario and a setup random stream. Populations live in
numpy arrays (thousands of local governments and groups cost little), the few
states and their stance on each issue live in small mutable attrs objects.
Actors are addressed by index inside the engine and by string id in events.

Coalitions are a union-find over groups: forming or joining one is a union of
two sets, and each set keeps its pooled information and resources at its root.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from normflow.scenario import Issue, Legislature, Scenario

LN2 = math.log(2.0)
_exp = math.exp

#: How well an issue area travels across borders and moves publics.
#: THEORY.md: bodily harm to the vulnerable and legal equality travel best,
#: hard security worst; environment and human rights in between.
AREA_APPEAL: dict[str, float] = {
    "bodily_harm": 0.9,
    "legal_equality": 0.8,
    "human_rights": 0.7,
    "environment": 0.6,
    "economic": 0.4,
    "security": 0.2,
}


@attrs.define(slots=True)
class Decaying:
    """A stock that halves every ``half_life`` days; read at any time exactly."""

    half_life: float
    value: float = 0.0
    since: float = 0.0

    def at(self, t: float) -> float:
        if self.value == 0.0:
            return 0.0
        return self.value * math.exp(-LN2 * (t - self.since) / self.half_life)

    def add(self, t: float, amount: float) -> float:
        # self.at(t) + amount, with at written out (pressure stocks take thousands a run)
        value = self.value
        if value == 0.0:
            value = 0.0
        else:
            value = value * _exp(-LN2 * (t - self.since) / self.half_life)
        self.value = value = value + amount
        self.since = t
        return value


@attrs.define(slots=True)
class StateStance:
    """One state's position on one issue, and the pressures bearing on it."""

    state: str
    issue: str
    commitment: float
    position: float
    public_support: float
    salience: Decaying
    pressure: Decaying
    foreign_pressure: Decaying
    electoral_pressure: float = 0.0
    reputational_cost: float = 0.0
    on_agenda: bool = False
    policy_changed: bool = False
    #: recent reputational cost: a stock that decays like the pressure stock,
    #: read by ``normflow.processes.stance.disposition`` (outcomes read it)
    reputation: Decaying = attrs.field(factory=lambda: Decaying(365.0))
    #: the state's phase toward the norm in [0, 1] as a phase machine (the
    #: spiral plugin) publishes it; None when no machine runs
    norm_phase: float | None = None
    #: organized opposition to the norm in the state, in [0, 1]; narrows the
    #: acceptable set a ratifier holds (counter-mobilization may raise it)
    opposition: float = 0.0


@attrs.define(slots=True)
class StateActor:
    id: str
    name: str
    index: int
    penetrability: float
    reputation_sensitivity: float
    electoral_sensitivity: float
    legislature: Legislature | None


@attrs.define(slots=True)
class Channel:
    """A path for influence that a plugin opened (e.g. a partner city abroad
    with access to its own national government)."""

    name: str
    source: str
    via: tuple[str, ...]
    target: str
    access: float


class World:
    """All actors of a run. Indices are stable for the whole run."""

    def __init__(self, scenario: Scenario, rng: np.random.Generator):
        self.scenario = scenario
        self.issues: tuple[Issue, ...] = scenario.issues
        self.issue_index = {x.id: i for i, x in enumerate(scenario.issues)}
        self.states = [
            StateActor(
                id=s.id,
                name=s.name or s.id,
                index=i,
                penetrability=s.penetrability,
                reputation_sensitivity=s.reputation_sensitivity,
                electoral_sensitivity=s.electoral_sensitivity,
                legislature=s.legislature,
            )
            for i, s in enumerate(scenario.states)
        ]
        self.state_index = {s.id: s.index for s in self.states}
        acc = scenario.processes.accountability
        self.stances: dict[tuple[str, str], StateStance] = {}
        for s in scenario.states:
            for issue in scenario.issues:
                self.stances[(s.id, issue.id)] = StateStance(
                    state=s.id,
                    issue=issue.id,
                    commitment=s.commitment,
                    position=s.practice,
                    public_support=s.public_support,
                    salience=Decaying(acc.salience_half_life),
                    pressure=Decaying(acc.pressure_half_life),
                    foreign_pressure=Decaying(acc.pressure_half_life),
                    reputation=Decaying(acc.pressure_half_life),
                )
        self._build_local_governments(scenario, rng)
        self._build_groups(scenario, rng)
        self.channels: list[Channel] = []

    # -- construction -------------------------------------------------------

    def _build_local_governments(self, s: Scenario, rng: np.random.Generator) -> None:
        ids: list[str] = []
        names: list[str] = []
        state: list[int] = []
        cols: dict[str, list[np.ndarray]] = {k: [] for k in ("population", "access", "openness", "support")}
        levels: list[str] = []
        for lg in s.local_governments.named:
            ids.append(lg.id)
            names.append(lg.name or lg.id)
            state.append(self.state_index[lg.state])
            levels.append(lg.level)
            cols["population"].append(np.array([lg.population], float))
            cols["access"].append(np.array([lg.access]))
            cols["openness"].append(np.array([lg.openness]))
            cols["support"].append(np.array([lg.support]))
        for grp in s.local_governments.groups:
            n = grp.count
            ids.extend(f"{grp.prefix}-{k}" for k in range(n))
            names.extend([""] * n)
            state.extend([self.state_index[grp.state]] * n)
            levels.extend(["municipality"] * n)
            cols["population"].append(np.round(grp.population.sample(rng, n, 0, None)))
            cols["access"].append(grp.access.sample(rng, n, 0, 1))
            cols["openness"].append(grp.openness.sample(rng, n, 0, 1))
            cols["support"].append(grp.support.sample(rng, n, 0, 1))
        self.lg_ids = ids
        self.lg_names = names
        self.lg_index = {x: i for i, x in enumerate(ids)}
        self.lg_level = levels
        self.lg_state = np.array(state, dtype=np.int64)
        cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
        self.lg_population = cat["population"]
        self.lg_access = cat["access"]
        self.lg_openness = cat["openness"]
        n_issues = len(self.issues)
        self.lg_support = np.tile(cat["support"], (n_issues, 1))
        self.lg_public_support = np.zeros((n_issues, len(ids)))
        if len(ids):
            # every local government starts at its state's public support, on every issue
            by_state = np.array([st.public_support for st in s.states], dtype=float)
            self.lg_public_support[:] = by_state[self.lg_state]
        self.lg_resolution_t = np.full((n_issues, len(ids)), np.nan)
        # counter-mobilization: when a resolution was withdrawn, and when an
        # assembly passed a counter-resolution (NaN: never)
        self.lg_withdrawn_t = np.full((n_issues, len(ids)), np.nan)
        self.lg_counter_t = np.full((n_issues, len(ids)), np.nan)
        # costs: political capital in [0, 1], and when it was last brought up to date
        self.lg_capital = np.ones(len(ids))
        self.lg_capital_t = np.zeros(len(ids))
        self.lg_partners: list[list[int]] = [[] for _ in ids]
        for lg in s.local_governments.named:
            i = self.lg_index[lg.id]
            for p in lg.partners:
                j = self.lg_index[p]
                if j not in self.lg_partners[i]:
                    self.lg_partners[i].append(j)
                if i not in self.lg_partners[j]:
                    self.lg_partners[j].append(i)
        self.state_population = np.bincount(
            self.lg_state, weights=self.lg_population, minlength=len(self.states)
        )

    def _build_groups(self, s: Scenario, rng: np.random.Generator) -> None:
        ids: list[str] = []
        cols: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "resources",
                "info",
                "commitment",
                "locality",
                "state",
                "issue",
                "supporter",
                "nationality",
                "ngo",
            )
        }
        nat_codes: dict[str, int] = {}

        def nat(code: str) -> int:
            return nat_codes.setdefault(code, len(nat_codes))

        first_issue = self.issues[0].id
        for g in s.civil_society.groups:
            ids.append(g.id)
            cols["resources"].append(np.array([g.resources]))
            cols["info"].append(np.array([g.expertise]))
            cols["commitment"].append(np.array([g.commitment]))
            cols["locality"].append(np.array([self.lg_index[g.locality] if g.locality else -1]))
            cols["state"].append(np.array([self.state_index[g.state]]))
            cols["issue"].append(np.array([self.issue_index[g.issue or first_issue]]))
            cols["supporter"].append(np.array([g.stance == "supporter"]))
            cols["nationality"].append(np.array([nat(g.nationality or g.state)]))
            cols["ngo"].append(np.array([g.kind == "NGO"]))
        for pop in s.civil_society.populations:
            n = pop.count
            ids.extend(f"{pop.prefix}-{k}" for k in range(n))
            st = self.state_index[pop.state]
            mask = self.lg_state == st
            if pop.within:
                mask &= np.array([x.startswith(pop.within) for x in self.lg_ids])
            where = np.flatnonzero(mask)
            if len(where) == 0:
                where = np.flatnonzero(self.lg_state == st)
            weights = self.lg_population[where] + 1.0
            cols["locality"].append(rng.choice(where, size=n, p=weights / weights.sum()))
            cols["resources"].append(pop.resources.sample(rng, n, 0, 10))
            cols["info"].append(pop.expertise.sample(rng, n, 0, 1))
            cols["commitment"].append(pop.commitment.sample(rng, n, 0, 1))
            cols["state"].append(np.full(n, st))
            cols["issue"].append(np.full(n, self.issue_index[pop.issue or first_issue]))
            cols["supporter"].append(np.full(n, pop.stance == "supporter"))
            cols["nationality"].append(np.full(n, nat(pop.nationality or pop.state)))
            cols["ngo"].append(np.full(n, pop.kind == "NGO"))
        cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
        self.group_ids = ids
        self.group_index = {x: i for i, x in enumerate(ids)}
        self.group_resources = cat["resources"].astype(float)
        n = len(ids)
        # The three columns that every contact reads and writes (a group's
        # information and commitment, its coalition's pooled information, kept
        # at the root), side by side: one row per group, views of which are the
        # world's float arrays. At 10^5 groups and more the state no longer fits
        # in the core's cache, and a contact then fetches one cache line per
        # group instead of three; the row is padded to 32 bytes (the fourth
        # column is unused) so that no row straddles two lines. The values are
        # the same whatever the layout.
        self._exchange = np.zeros((n, 4))
        self.group_info = self._exchange[:, 0]
        self.group_commitment = self._exchange[:, 1]
        self.group_info[:] = cat["info"]
        self.group_commitment[:] = cat["commitment"]
        self.group_locality = cat["locality"].astype(np.int64)
        self.group_state = cat["state"].astype(np.int64)
        self.group_issue = cat["issue"].astype(np.int64)
        self.group_supporter = cat["supporter"].astype(bool)
        self.group_nationality = cat["nationality"].astype(np.int64)
        self.group_ngo = cat["ngo"].astype(bool)
        self.nationalities = list(nat_codes)
        self.group_ties: list[list[int]] = [[] for _ in range(n)]
        for tie in s.ties:
            a, b = self.group_index[tie.a], self.group_index[tie.b]
            self.group_ties[a].append(b)
            self.group_ties[b].append(a)
        # union-find coalitions; a singleton is not yet a coalition. The parent
        # links are a Python list: a find is a few list reads, called on every
        # contact and campaign, and numpy's scalar indexing would cost 3-4x more
        self._parent: list[int] = list(range(n))
        # coalition_roots() as last computed, and the count of merges it reflects: roots
        # change only when coalitions merge (path compression moves no root)
        self._merges = 0
        self._roots: np.ndarray | None = None
        self._roots_at = -1
        # each state's local governments for the shares below (_in_state), found at first use
        self._in_states: dict[int, np.ndarray | None] = {}
        self.coalition_size = np.ones(n, dtype=np.int64)
        self.coalition_info = self._exchange[:, 2]
        self.coalition_info[:] = self.group_info
        self.coalition_resources = self.group_resources.copy()
        self.coalition_names: dict[int, str] = {}
        self._coalition_serial = 0
        # the three autonomies of a coalition, kept at its root (THEORY.md)
        au = s.processes.autonomy
        self.coalition_delegated = np.full(n, au.delegated_start)
        self.coalition_administrative = np.full(n, au.administrative_start)
        self.coalition_political = np.full(n, au.political_start)
        # a group's own administrative autonomy: support it takes binds it first (co-optation)
        self.group_administrative = np.full(n, au.administrative_start)
        # costs: each group's budget, and when it was last brought up to date
        self.group_budget = self.group_resources * s.processes.costs.budget_years
        self.group_budget_t = np.zeros(n)
        # costs: what each local government can still lend its groups' campaigns (lg_lending)
        costs = s.processes.costs
        self.lg_budget = np.full(len(self.lg_ids), costs.lg_lending * costs.budget_years)
        self.lg_budget_t = np.zeros(len(self.lg_ids))

    # -- coalitions -----------------------------------------------------------

    def coalition_of(self, g: int) -> int:
        """Root index of the coalition holding group ``g`` (``g`` itself if alone)."""
        parent = self._parent
        root = parent[g]
        if root == g:
            return root
        up = parent[root]
        if up == root:
            return root
        while up != root:
            root = up
            up = parent[root]
        # path compression: every group on the way now points at the root
        while g != root:
            parent[g], g = root, parent[g]
        return root

    def coalition_roots(self) -> np.ndarray:
        """The coalition root of every group at once (vectorized find, by
        pointer jumping): ``roots[g] == coalition_of(g)``. Computed again only
        after a merge; the caller gets its own copy."""
        if self._roots_at != self._merges or self._roots is None:
            roots = np.array(self._parent, dtype=np.int64)
            while True:
                up = roots[roots]
                if np.array_equal(up, roots):
                    break
                roots = up
            self._roots, self._roots_at = roots, self._merges
        return self._roots.copy()

    def in_coalition(self, g: int) -> bool:
        return self.coalition_size[self.coalition_of(g)] > 1

    def merge(self, a: int, b: int) -> tuple[int, bool, int] | None:
        """Join the coalitions of ``a`` and ``b``. Returns (root, formed, size)
        where ``formed`` is True when neither was in a coalition, or None when
        they already share one."""
        # coalition_of, inlined while a group's parent is a root (no path to compress):
        # most calls come from contacts within one coalition, which merge nothing
        parent = self._parent
        ra = parent[a]
        if parent[ra] != ra:
            ra = self.coalition_of(a)
        rb = parent[b]
        if parent[rb] != rb:
            rb = self.coalition_of(b)
        if ra == rb:
            return None
        size = self.coalition_size
        sa, sb = int(size[ra]), int(size[rb])
        formed = sa == 1 and sb == 1
        if sa < sb:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._merges += 1
        size[ra] = sa + sb
        # read as Python floats (item): the same double arithmetic as on numpy's
        # scalars, at a fraction of their cost (about 2,000 merges a kawasaki-suffrage run)
        info, resources = self.coalition_info, self.coalition_resources
        info[ra] = info.item(ra) + info.item(rb)
        resources[ra] = resources.item(ra) + resources.item(rb)
        # the autonomies of the joined coalition: the members-weighted mean
        wa, wb = (sb, sa) if sa < sb else (sa, sb)
        for autonomy in (self.coalition_delegated, self.coalition_administrative, self.coalition_political):
            autonomy[ra] = (autonomy.item(ra) * wa + autonomy.item(rb) * wb) / (wa + wb)
        kept = self.coalition_names.pop(ra, None)
        absorbed = self.coalition_names.pop(rb, None)
        self.coalition_names[ra] = kept or absorbed or self._new_name()
        return ra, formed, sa + sb

    def _new_name(self) -> str:
        self._coalition_serial += 1
        return f"coalition-{self._coalition_serial}"

    def coalition_members(self, g: int) -> np.ndarray:
        return np.flatnonzero(self.coalition_roots() == self.coalition_of(g))

    def add_info(self, g: int, amount: float) -> None:
        self.group_info[g] += amount
        self.coalition_info[self.coalition_of(g)] += amount

    def coalitions(self) -> dict[str, list[str]]:
        """Every coalition of two or more groups, by name, with its members."""
        out: dict[str, list[str]] = {}
        roots = self.coalition_roots()
        # the groups in a coalition, in order (none in a run without coalitions:
        # no loop over every group)
        members = np.flatnonzero(self.coalition_size[roots] > 1)
        ids = self.group_ids
        names = self.coalition_names
        for g, r in zip(members.tolist(), roots[members].tolist(), strict=True):
            out.setdefault(names[r], []).append(ids[g])
        return out

    # -- small queries --------------------------------------------------------

    def appeal(self, issue: int) -> float:
        x = self.issues[issue]
        return x.appeal if x.appeal is not None else AREA_APPEAL[x.area]

    def stance(self, state: str, issue: str) -> StateStance:
        return self.stances[(state, issue)]

    def legitimacy(self, lg: int, issue: int, weight: float) -> float:
        """How much of its full weight pressure carried by local government
        ``lg`` on ``issue`` has: ``1 - weight * (1 - s)``, where ``s`` is the
        local public support for the issue in its locality. A local government
        speaks for its residents (its claim to legitimacy as their
        spokesperson), so a cause its residents back carries more; downward
        accountability (campaigns winning local support) is what raises
        ``s``. ``weight`` is ``[processes.accountability] legitimacy_weight``
        (0: the residents' support does not matter)."""
        s = float(self.lg_public_support[issue][lg])
        return 1.0 - weight * (1.0 - min(max(s, 0.0), 1.0))

    def _in_state(self, state: int) -> np.ndarray | None:
        """The local governments of ``state`` as a mask, or None when it holds
        every one (no mask needed). ``lg_state`` is fixed once the world is
        built, so each state's is found once: the shares below are read weekly
        while a legislature sits, and each numpy call they save is one that
        would start with cold caches after a week of contacts."""
        if state not in self._in_states:
            mask = self.lg_state == state
            self._in_states[state] = None if mask.all() else mask
        return self._in_states[state]

    def resolution_share(self, issue: int, state: int, t: float) -> float:
        """Share of the state's population whose local government has passed a
        resolution on the issue by time ``t`` and not withdrawn it since."""
        total = self.state_population[state]
        if total <= 0:
            return 0.0
        # passed by t and not withdrawn by t: of two booleans, only True > False
        passed = (self.lg_resolution_t[issue] <= t) > (self.lg_withdrawn_t[issue] <= t)
        mask = self._in_state(state)
        if mask is not None:
            passed &= mask
        # gathered by position (one nonzero, one take): the same elements in order as the
        # mask picks, where numpy applies a mask about half full (resolutions in most
        # localities) at two to three times the cost
        return float(self.lg_population.take(passed.nonzero()[0]).sum() / total)

    def counter_share(self, issue: int, state: int, t: float) -> float:
        """Share of the state's population whose local assembly has passed a
        counter-resolution on the issue by time ``t``."""
        total = self.state_population[state]
        if total <= 0:
            return 0.0
        passed = self.lg_counter_t[issue] <= t
        mask = self._in_state(state)
        if mask is not None:
            passed &= mask
        return float(self.lg_population[passed].sum() / total)

    def add_channel(self, channel: Channel) -> None:
        self.channels.append(channel)

    def scale_local_role(self, factor: float) -> None:
        """Counterfactual switch: scale local governments' openness (venues),
        access and their assemblies' support for the issues by ``factor``,
        capped at 1; at 0, also cut partner links abroad. Support is part of
        the role because a supportive assembly is how a local government
        adopts a norm first (resolutions) and carries its groups' case; at 0
        no assembly passes a resolution. Used to remove or vary the
        local-government role without editing a scenario file."""
        self.lg_openness = np.minimum(self.lg_openness * factor, 1.0)
        self.lg_access = np.minimum(self.lg_access * factor, 1.0)
        self.lg_support = np.minimum(self.lg_support * factor, 1.0)
        if factor == 0.0:
            self.lg_partners = [[] for _ in self.lg_ids]
