"""The network of a run at a date: who is tied to whom across borders.

``network_graph(world, t)`` builds a ``networkx`` graph of a run's world:

- one node per **state**;
- one node per **named local government**, and one per state for its
  generated local governments together ("other local governments");
- **groups aggregated by population**: each named group is a node, each
  ``[[civil_society.populations]]`` entry (all groups of one prefix) is one
  node sized by its number of groups;
- edges: a local government to its state, a group node to the local
  government node where most of its groups sit, **partner links** between
  local governments (across borders or not), declared **ties**, and
  **coalitions**: two group nodes are linked when at least one coalition at
  that moment has members in both (weight: how many such coalitions).

``network_figure`` draws it with matplotlib (a fixed layout seed: the same
run gives the same picture), and ``world_at`` rebuilds a run's world at a
date by running the scenario again with the run's seed up to that date.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.figure import Figure

    from normflow.world import World

STATE, LOCAL, GROUPS = "state", "local_government", "groups"
COLORS = {STATE: "#4c72b0", LOCAL: "#55a868", GROUPS: "#dd8452"}


def _escape(text: str) -> str:
    """Text for a matplotlib label: no math mode from a ``$`` in a name."""
    return str(text).replace("$", r"\$")


def _group_nodes(world: World) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """The node of every group (named: itself; generated: its population)."""
    s = world.scenario
    names: list[str] = []
    labels: dict[str, str] = {}
    node_of = np.empty(len(world.group_ids), dtype=np.int64)
    k = 0
    for g in s.civil_society.groups:
        node_of[k] = len(names)
        names.append(f"group:{g.id}")
        labels[names[-1]] = g.name or g.id
        k += 1
    for pop in s.civil_society.populations:
        node = len(names)
        names.append(f"population:{pop.prefix}")
        labels[names[-1]] = f"{pop.prefix}-* ({pop.count} {pop.kind}s, {pop.state})"
        node_of[k : k + pop.count] = node
        k += pop.count
    return names, node_of, labels


def _local_node(world: World, lg: int, named: int) -> str:
    if lg < 0:
        return ""
    if lg < named:
        return f"lg:{world.lg_ids[lg]}"
    return f"lgs:{world.states[int(world.lg_state[lg])].id}"


def _across(graph: nx.Graph, a: str, b: str) -> bool:
    """Whether a link between two group nodes crosses a border or a nationality line."""
    x, y = graph.nodes[a], graph.nodes[b]
    return x["state"] != y["state"] or x.get("nationality") != y.get("nationality")


def network_graph(world: World, t: float | None = None) -> nx.Graph:
    """The graph of ``world`` as it stands (``t``, the day it is drawn at,
    only decides which resolutions count as passed)."""
    import networkx as nx

    s = world.scenario
    graph = nx.Graph()
    named = len(s.local_governments.named)
    for st in world.states:
        pop = float(world.state_population[st.index])
        graph.add_node(f"state:{st.id}", kind=STATE, label=st.name, size=pop, state=st.id)
    passed = world.lg_resolution_t
    if t is not None:
        passed = np.where(passed <= t, passed, np.nan)
    resolved = ~np.all(np.isnan(passed), axis=0) if passed.size else np.zeros(0, bool)
    for i, lg in enumerate(s.local_governments.named):
        graph.add_node(
            f"lg:{lg.id}",
            kind=LOCAL,
            label=lg.name or lg.id,
            size=float(world.lg_population[i]),
            state=lg.state,
            resolution=bool(resolved[i]) if len(resolved) else False,
        )
        graph.add_edge(f"lg:{lg.id}", f"state:{lg.state}", kind="belongs", weight=1)
    generated = np.arange(named, len(world.lg_ids))
    for st in world.states:
        mine = generated[world.lg_state[generated] == st.index]
        if len(mine) == 0:
            continue
        node = f"lgs:{st.id}"
        graph.add_node(
            node,
            kind=LOCAL,
            label=f"{len(mine)} other local governments ({st.id})",
            size=float(world.lg_population[mine].sum()),
            state=st.id,
            count=int(len(mine)),
            resolutions=int(resolved[mine].sum()) if len(resolved) else 0,
        )
        graph.add_edge(node, f"state:{st.id}", kind="belongs", weight=1)
    for i, partners in enumerate(world.lg_partners):
        for j in partners:
            a, b = _local_node(world, i, named), _local_node(world, j, named)
            if a and b and a < b:
                across = world.lg_state[i] != world.lg_state[j]
                graph.add_edge(a, b, kind="partner", across=bool(across), weight=1)
    names, node_of, labels = _group_nodes(world)
    for idx, name in enumerate(names):
        members = np.flatnonzero(node_of == idx)
        states = Counter(world.states[int(x)].id for x in world.group_state[members])
        nations = Counter(world.nationalities[int(x)] for x in world.group_nationality[members])
        graph.add_node(
            name,
            kind=GROUPS,
            label=labels[name],
            size=float(len(members)),
            state=states.most_common(1)[0][0] if states else "",
            nationality=nations.most_common(1)[0][0] if nations else "",
        )
        places = Counter(_local_node(world, int(lg), named) for lg in world.group_locality[members])
        places.pop("", None)
        if places:
            graph.add_edge(name, places.most_common(1)[0][0], kind="located", weight=1)
        elif states:
            graph.add_edge(name, f"state:{states.most_common(1)[0][0]}", kind="located", weight=1)
    for a, ties in enumerate(world.group_ties):
        for b in ties:
            na, nb = names[node_of[a]], names[node_of[b]]
            if na < nb:
                graph.add_edge(na, nb, kind="tie", across=_across(graph, na, nb), weight=1)
    roots = world.coalition_roots() if len(world.group_ids) else np.zeros(0, np.int64)
    spans: dict[int, set[int]] = defaultdict(set)
    for g, r in enumerate(roots):
        if world.coalition_size[r] > 1:
            spans[int(r)].add(int(node_of[g]))
    links: Counter[tuple[str, str]] = Counter()
    for nodes in spans.values():
        ordered = sorted(names[n] for n in nodes)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                links[(a, b)] += 1
    for (a, b), n in links.items():
        across = _across(graph, a, b)
        if graph.has_edge(a, b) and graph.edges[a, b]["kind"] != "coalition":
            graph.edges[a, b].update(kind="coalition", coalitions=n, across=across, weight=n)
        else:
            graph.add_edge(a, b, kind="coalition", coalitions=n, across=across, weight=n)
    graph.graph.update(
        scenario=s.name,
        coalitions=int(sum(1 for r in spans)),
        date=None if t is None else (s.start + dt.timedelta(days=int(t))).isoformat(),
    )
    return graph


def network_figure(graph: nx.Graph, title: str = "") -> Figure:
    """Draw the graph: states blue, local governments green (dark when they
    passed a resolution), group nodes orange; partner links and coalitions
    across borders in red, within a state in grey."""
    import networkx as nx
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(11, 6.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.set_axis_off()
    if graph.number_of_nodes() == 0:
        ax.text(0.5, 0.5, "no actors", ha="center")
        return fig
    pos = nx.spring_layout(graph, seed=7, weight="weight", k=1.2 / max(graph.number_of_nodes(), 1) ** 0.5)
    sizes = np.array([max(float(d.get("size", 1.0)), 1.0) for _, d in graph.nodes(data=True)])
    by_kind: dict[str, np.ndarray] = {}
    for kind in (STATE, LOCAL, GROUPS):
        mask = np.array([d["kind"] == kind for _, d in graph.nodes(data=True)])
        if mask.any():
            x = sizes[mask]
            by_kind[kind] = 150 + 900 * (np.log1p(x) - np.log1p(x.min())) / max(np.ptp(np.log1p(x)), 1e-9)
    styles = {
        "belongs": ("#bbbbbb", "dotted", 0.8),
        "located": ("#cccccc", "solid", 0.6),
        "partner": (None, "dashed", 1.8),
        "tie": (None, "solid", 1.0),
        "coalition": (None, "solid", None),
    }
    for kind, (color, style, width) in styles.items():
        edges = [(a, b, d) for a, b, d in graph.edges(data=True) if d["kind"] == kind]
        if not edges:
            continue
        colors = [color or ("#c44e52" if d.get("across") else "#8c8c8c") for *_, d in edges]
        widths = [width or min(1.0 + np.log1p(d.get("coalitions", 1)), 6.0) for *_, d in edges]
        nx.draw_networkx_edges(
            graph,
            pos,
            edgelist=[(a, b) for a, b, _ in edges],
            edge_color=colors,
            style=style,
            width=widths,
            ax=ax,
        )
    for kind in (STATE, LOCAL, GROUPS):
        nodes = [n for n, d in graph.nodes(data=True) if d["kind"] == kind]
        if not nodes:
            continue
        colors = [
            "#2d6a3e"
            if graph.nodes[n].get("resolution") or graph.nodes[n].get("resolutions")
            else COLORS[kind]
            for n in nodes
        ]
        nx.draw_networkx_nodes(
            graph,
            pos,
            nodelist=nodes,
            node_size=list(by_kind[kind]),
            node_color=colors,
            alpha=0.9,
            ax=ax,
            node_shape="s" if kind == STATE else "o",
        )
    labels = {n: _escape(d.get("label", n)) for n, d in graph.nodes(data=True)}
    nx.draw_networkx_labels(graph, pos, labels=labels, font_size=7, ax=ax)
    handles = [
        Line2D([], [], marker="s", ls="", color=COLORS[STATE], markersize=9, label="state"),
        Line2D([], [], marker="o", ls="", color=COLORS[LOCAL], markersize=9, label="local government(s)"),
        Line2D([], [], marker="o", ls="", color="#2d6a3e", markersize=9, label="... with a resolution"),
        Line2D([], [], marker="o", ls="", color=COLORS[GROUPS], markersize=9, label="civil-society groups"),
        Line2D([], [], color="#c44e52", lw=2, label="coalition / tie across a border or nationality"),
        Line2D([], [], color="#8c8c8c", lw=2, label="coalition / tie within a state"),
        Line2D([], [], color="#c44e52", lw=1.8, ls="--", label="partner cities abroad"),
    ]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.02, right=0.72, top=0.92, bottom=0.03)
    when = graph.graph.get("date")
    ax.set_title(
        _escape(title or f"{graph.graph.get('scenario', '')} network" + (f" on {when}" if when else ""))
    )
    return fig


def world_at(summary: dict[str, Any], date: dt.date | None = None) -> tuple[World, float]:
    """A run's world at ``date`` (default: the run's end), rebuilt by running its
    scenario again with its seed, overrides and interventions up to then."""
    from normflow.interventions import Interventions
    from normflow.scenario import load_scenario
    from normflow.simulation import Simulation

    source = summary.get("source") or summary.get("scenario")
    scenario = load_scenario(source, overrides=summary.get("overrides") or {})
    seed = summary.get("seed")
    switches = dict(summary.get("interventions") or {})
    role = float(switches.pop("local_government_role", 1.0))
    sim = Simulation(
        scenario,
        seed if isinstance(seed, int) else 0,
        interventions=Interventions(**switches),
        local_government_role=role,
    )
    if date is None and summary.get("end"):
        date = dt.date.fromisoformat(str(summary["end"]))
    end = scenario.horizon if date is None else min(max(scenario.day_of(date), 1e-9), scenario.horizon)
    sim.run(until=end)
    return sim.world, end
