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

from normflow.events import label_of

#: Links followed from one event; a chain deeper than this is cut (and says so).
MAX_DEPTH = 12


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
    return lambda e: e["kind"] == milestone


def describe(e: dict[str, Any]) -> str:
    """One event in plain words."""
    k = e["kind"]
    g = e.get
    if k == "pressure_applied":
        return (
            f"{g('source')} pressed {g('target')} on {g('issue')} through the {g('channel')} channel "
            f"({g('nature')}, {float(g('amount') or 0):.3g})"
        )
    if k == "access_blocked":
        return f"{g('group')}'s pressure on {g('state')} was blocked at the {g('channel')} door"
    if k == "resolution_passed":
        return f"the assembly of {g('local_government')} passed a resolution on {g('issue')} ({g('population'):,} residents)"
    if k == "information_shared":
        return f"{g('local_government')} shared information on {g('issue')} with {g('group')}"
    if k == "agenda_placed":
        channels = ", ".join(f"{c} {v:.3g}" for c, v in (g("pressure_by_channel") or {}).items())
        return (
            f"{g('issue')} reached the agenda of the {g('legislature')}: problem stream (salience) {float(g('problem') or 0):.2f}, "
            f"politics stream {float(g('politics') or 0):.2f}, policy stream (expertise) {float(g('policy') or 0):.2f}"
            + (f"; pressure so far by channel: {channels}" if channels else "")
        )
    if k == "bill_submitted":
        return f"bill {g('bill')} on {g('issue')} was submitted to the {g('legislature')} ({g('sponsor')})"
    if k in ("bill_advanced", "bill_rejected", "bill_carried_over", "bill_lapsed"):
        verb = {
            "bill_advanced": "passed the",
            "bill_rejected": "was rejected at the",
            "bill_carried_over": "was carried over at the",
            "bill_lapsed": "lapsed at the",
        }[k]
        return f"bill {g('bill')} {verb} {str(g('stage')).replace('_', ' ')} stage"
    if k == "bill_enacted":
        return f"bill {g('bill')} on {g('issue')} was enacted"
    if k == "negotiation_phase_changed":
        what = "opened" if g("phase") == "prenegotiation" else f"entered its {g('phase')} phase"
        extra = ""
        if g("pressure_by_channel"):
            extra = (
                " (pressure on the requester by channel: "
                + ", ".join(f"{c} {v:.3g}" for c, v in g("pressure_by_channel").items())
                + ")"
            )
        return f"negotiation {g('negotiation')} {what}{extra}"
    if k == "agreement_reached":
        return f"negotiation {g('negotiation')} reached an agreement"
    if k == "agreement_failed":
        return f"negotiation {g('negotiation')} failed ({g('reason')})"
    if k == "policy_changed":
        return f"{g('state')} changed its policy on {g('issue')} ({g('cause')})"
    if k == "exogenous":
        return f"{g('name')} ({g('category')}: {g('state') or ''} -> {g('target') or ''})"
    if k == "channel_used":
        return f"the {g('channel')} channel carried pressure along {' -> '.join(g('path') or [])}"
    if k == "phase_changed":
        return f"{g('subject')} moved from {g('previous')} to {g('phase')} ({g('machine')})"
    return label_of(k)


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
    return node


def explain_events(events: Iterable[dict[str, Any]], milestone: str) -> dict[str, Any]:
    """The causal chain behind ``milestone`` in a list of trace rows."""
    rows = [e for e in events if e.get("kind") not in ("trace_start", "trace_end")]
    if not any("causes" in e or "id" in e for e in rows):
        raise ExplainError("the trace records no causes (it was written by an older normflow); run it again")
    match = _matcher(milestone)
    hit = next((e for e in rows if match(e)), None)
    if hit is None:
        raise ExplainError(f"milestone '{milestone}' is not reached in this trace")
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
        events = read_trace(path)
    except (OSError, ValueError, KeyError) as exc:
        raise ExplainError(f"{path}: not a readable trace ({type(exc).__name__}: {exc})") from None
    return explain_events(events, milestone)


def render(result: dict[str, Any]) -> str:
    """The chain as indented lines, the milestone first, each cause below
    what it caused."""
    lines = [f"why {result['milestone']}:"]

    def walk(node: dict[str, Any], depth: int) -> None:
        date = node.get("date") or ""
        lines.append(f"{'  ' * depth}{'<- ' if depth else ''}{date}  {node['text']}")
        for cause in node.get("causes", ()):
            walk(cause, depth + 1)
        if node.get("cut"):
            lines.append(f"{'  ' * (depth + 1)}<- ... (chain cut at {MAX_DEPTH} links)")
        if depth and not node.get("causes") and not node.get("repeat") and not node.get("missing"):
            lines[-1] += "  [root]"

    walk(result["chain"], 0)
    return "\n".join(lines)
