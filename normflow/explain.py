"""Why did a milestone happen? The causal chain recorded in a trace.

Events that can cause others carry an ``id``; events caused by others carry
those ids in ``causes`` (see ``normflow.events``). ``explain(trace,
milestone)`` finds the event that reached the milestone and follows the
recorded ``causes`` back to the roots -- events with no recorded cause,
such as a group's campaign pressure or a scheduled state visit -- and gives
the chain as a tree of plain sentences with dates. Nothing is inferred from
the order of events: a link is there only because the run recorded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from normflow.events import ALL_EVENTS, DECLARED, EVENT_BY_KIND, label_of

#: Links followed from one event; a chain deeper than this is cut (and says so).
MAX_DEPTH = 12


#: Core kinds that carry no ``id`` and no ``causes`` and are no root: never
#: in a chain, so ``explain`` does not read them (most of a large trace).
UNLINKED = frozenset(
    cls.kind
    for cls in ALL_EVENTS
    if not cls.root and not {"id", "causes"} & {f.name for f in attrs.fields(cls)}
)


class ExplainError(Exception):
    """The trace or the milestone cannot be explained (one line for the user)."""


def _phase_of(label: str) -> str:
    return "prenegotiation" if label == "opened" else label


def _matcher(milestone: str):
    """A test picking the event that reached ``milestone`` (a milestone name,
    an event kind, or ``id:N``)."""
    if milestone.startswith("id:") and milestone[3:].isdigit():
        wanted = int(milestone[3:])
        return lambda e: e.get("id") == wanted
    head, _, subject = milestone.partition(":")
    kinds = {
        "coalition_formed": "coalition_formed",
        "first_resolution": "resolution_passed",
        "agenda_placed": "agenda_placed",
        "bill_submitted": "bill_submitted",
        "bill_enacted": "bill_enacted",
    }
    if not subject and head in kinds:
        return lambda e: e["kind"] == kinds[head]
    if head.startswith("negotiation_") and subject:
        phase = _phase_of(head.removeprefix("negotiation_"))
        return lambda e: (
            e["kind"] == "negotiation_phase_changed"
            and e.get("negotiation") == subject
            and e.get("phase") == phase
        )
    if head == "agreement_reached" and subject:
        return lambda e: e["kind"] == "agreement_reached" and e.get("negotiation") == subject
    if head == "policy_changed" and subject:
        return lambda e: e["kind"] == "policy_changed" and e.get("state") == subject
    if head == "boomerang" and subject:
        return lambda e: (
            e["kind"] == "channel_used"
            and e.get("channel") == "boomerang"
            and list(e.get("path") or [""])[-1] == subject
        )
    if head == "channel_used" and subject:
        return lambda e: e["kind"] == "channel_used" and e.get("channel") == subject
    machine, _, phase = head.partition(".")
    if phase and subject:
        return lambda e: (
            e["kind"] == "phase_changed"
            and e.get("machine") == machine
            and e.get("phase") == phase
            and e.get("subject") == subject
        )
    if phase and not subject:
        # a milestone of a plugin's machine without a subject (e.g. norm_cascade.tipping)
        return lambda e: (
            e["kind"] == "phase_changed" and e.get("machine") == machine and e.get("phase") == phase
        )
    return lambda e: e["kind"] == milestone


#: What each event kind says, as a template over the event's fields and the
#: derived fields of ``_fields`` (``amount``, ``pressure``, ``stage``,
#: ``path``, ``opened``, ``request``); a kind not here says its label.
_SAYS: dict[str, str] = {
    "campaign_started": "{group} began campaigning on {issue} (pressing {state})",
    "scheduled": "{what}",
    "pressure_applied": (
        "{source} pressed {target} on {issue} through the {channel} channel ({nature}, {amount:.3g})"
    ),
    "access_blocked": "{group}'s pressure on {state} was blocked at the {channel} door",
    "resolution_passed": (
        "the assembly of {local_government} passed a resolution on {issue} ({population:,} residents)"
    ),
    "information_shared": "{local_government} shared information on {issue} with {group}",
    "coalition_formed": "groups formed coalition {coalition} on {issue} across a {crossing} line",
    "coalition_joined": "{joiner} joined coalition {coalition} on {issue}",
    "agenda_placed": (
        "{issue} reached the agenda of the {legislature}: problem stream (salience) {problem:.2f}, "
        "politics stream {politics:.2f}, policy stream (expertise) {policy:.2f}{pressure}"
    ),
    "bill_submitted": "bill {bill} on {issue} was submitted to the {legislature} ({sponsor})",
    "bill_advanced": "bill {bill} passed the {stage} stage",
    "bill_rejected": "bill {bill} was rejected at the {stage} stage",
    "bill_carried_over": "bill {bill} was carried over at the {stage} stage",
    "bill_lapsed": "bill {bill} lapsed at the {stage} stage",
    "bill_enacted": "bill {bill} on {issue} was enacted",
    "negotiation_phase_changed": "negotiation {negotiation} {opened}{request}",
    "agreement_reached": "negotiation {negotiation} reached an agreement",
    "agreement_failed": "negotiation {negotiation} failed ({reason})",
    "policy_changed": "{state} changed its policy on {issue} ({cause})",
    "exogenous": "{name} ({category}: {state} -> {target})",
    "channel_used": "the {channel} channel carried pressure along {path}",
    "phase_changed": "{subject} moved from {previous} to {phase} ({machine})",
    "session_opened": "the {legislature} opened its {session} session (no. {number})",
    "election_held": "a {house} house election was held ({cause})",
}

#: the numbers a template formats as numbers (missing ones read as 0)
_NUMBERS = ("amount", "problem", "politics", "policy", "population")


def _channels(by_channel: dict[str, float] | None) -> str:
    return ", ".join(f"{c} {v:.3g}" for c, v in (by_channel or {}).items())


def _fields(e: dict[str, Any]) -> dict[str, Any]:
    """The event's fields (``None`` read as empty) and the derived ones the
    templates use."""
    f: dict[str, Any] = {k: ("" if v is None else v) for k, v in e.items()}
    for name in _NUMBERS:
        f[name] = (int if name == "population" else float)(e.get(name) or 0)
    channels = _channels(e.get("pressure_by_channel"))
    f["pressure"] = f"; pressure so far by channel: {channels}" if channels else ""
    f["request"] = f" (pressure on the requester by channel: {channels})" if channels else ""
    f["opened"] = "opened" if e.get("phase") == "prenegotiation" else f"entered its {e.get('phase')} phase"
    f["stage"] = str(e.get("stage")).replace("_", " ")
    f["path"] = " -> ".join(e.get("path") or [])
    return f


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def describe(e: dict[str, Any]) -> str:
    """One event in plain words."""
    template = _SAYS.get(e["kind"])
    if template is None:
        return label_of(e["kind"])
    return template.format_map(_Blank(_fields(e)))


def is_root(kind: str) -> bool:
    """Whether the model starts chains from events of this kind (nothing in
    the run causes them; ``Event.root``)."""
    cls = EVENT_BY_KIND.get(kind) or DECLARED.get(kind)
    return bool(cls is not None and cls.root)


def _stream(cause: dict[str, Any]) -> str | None:
    """Which of the agenda's streams a cause of ``agenda_placed`` fed (the
    politics stream reads resolutions' coverage, lobbying and foreign
    pressure; a campaign or a visit also raises salience, the problem stream)."""
    kind = cause["kind"]
    if kind == "resolution_passed":
        return "politics stream: resolutions' coverage"
    if kind == "pressure_applied":
        if cause.get("channel") == "interstate":
            return "politics stream: foreign pressure; problem stream: salience"
        return "politics stream: pressure; problem stream: the campaign's salience"
    return None


def _node(e: dict[str, Any], by_id: dict[int, dict[str, Any]], depth: int, seen: set[int]) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": e.get("id"),
        "kind": e["kind"],
        "label": label_of(e["kind"]),
        "date": e.get("date"),
        "t": e.get("t"),
        "text": describe(e),
        "causes": [],
    }
    causes = [c for c in e.get("causes") or () if c]
    if not causes:
        # a root starts the chain; any other event without causes is a loose end
        node["root"] = is_root(e["kind"])
    if depth >= MAX_DEPTH and causes:
        node["cut"] = True
        return node
    for c in causes:
        cause = by_id.get(c)
        if cause is None:
            node["causes"].append(
                {"id": c, "missing": True, "text": f"event {c} (not in this trace)", "causes": []}
            )
        elif c in seen:
            node["causes"].append(
                {
                    "id": c,
                    "repeat": True,
                    "date": cause.get("date"),
                    "text": describe(cause) + " (see above)",
                    "causes": [],
                }
            )
        else:
            seen.add(c)
            node["causes"].append(_node(cause, by_id, depth + 1, seen))
        stream = _stream(cause) if cause is not None and e["kind"] == "agenda_placed" else None
        if stream:
            node["causes"][-1]["stream"] = stream
    return node


def explain_events(events: Iterable[dict[str, Any]], milestone: str) -> dict[str, Any]:
    """The causal chain behind ``milestone`` in a list of trace rows."""
    rows = [e for e in events if e.get("kind") not in ("trace_start", "trace_end")]
    if not any("causes" in e or "id" in e for e in rows):
        raise ExplainError("the trace records no causes (it was written by an older normflow); run it again")
    match = _matcher(milestone)
    hit = next((e for e in rows if match(e)), None)
    if hit is None:
        raise ExplainError(
            f"milestone '{milestone}': no event in this trace reaches it (not reached, or reached "
            "by a mechanism that publishes no event of its own)"
        )
    by_id = {e["id"]: e for e in rows if e.get("id")}
    seen: set[int] = {hit["id"]} if hit.get("id") else set()
    return {"milestone": milestone, "chain": _node(hit, by_id, 0, seen)}


def explain(trace: str | Path, milestone: str) -> dict[str, Any]:
    """The causal chain behind ``milestone`` in the trace at ``trace`` (a
    JSON Lines file, a Parquet trace directory, or a run directory)."""
    from normflow.trace import read_trace

    path = Path(trace)
    if path.is_dir() and not path.name.endswith(".parquet"):
        candidates = [path / "trace.jsonl", path / "trace.parquet"]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise ExplainError(f"{path}: no trace.jsonl or trace.parquet here")
        path = found
    if not path.exists():
        raise ExplainError(f"{path}: no such trace")
    try:
        events = read_trace(path, skip=UNLINKED - {milestone})
    except (OSError, ValueError, KeyError) as exc:
        raise ExplainError(f"{path}: not a readable trace ({type(exc).__name__}: {exc})") from None
    return explain_events(events, milestone)


def render(result: dict[str, Any]) -> str:
    """The chain as indented lines, the milestone first, each cause below
    what it caused."""
    lines = [f"why {result['milestone']}:"]

    def walk(node: dict[str, Any], depth: int) -> None:
        date = node.get("date") or ""
        via = f"[{node['stream']}] " if node.get("stream") else ""
        lines.append(f"{'  ' * depth}{'<- ' if depth else ''}{date}  {via}{node['text']}")
        for cause in node.get("causes", ()):
            walk(cause, depth + 1)
        if node.get("cut"):
            lines.append(f"{'  ' * (depth + 1)}<- ... (chain cut at {MAX_DEPTH} links)")
        if "root" in node:
            lines[-1] += "  [root]" if node["root"] else "  [cause not recorded]"

    walk(result["chain"], 0)
    return "\n".join(lines)
