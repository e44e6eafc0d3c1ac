"""Generate the scenario file reference (docs/scenario-reference.md) from
the schema classes, so the reference cannot drift from the code.

``python -m normflow.reference > docs/scenario-reference.md``; a test fails
when the committed page differs from what this prints.
"""

from __future__ import annotations

import typing

import attrs

from normflow import scenario as sc
from normflow.schema import Dist, describe

SECTIONS: list[tuple[str, type, str]] = [
    ("[scenario]", sc.Meta, "Name, dates and description. Simulated time is in days from `start`."),
    ("[[states]]", sc.State, "A state: its domestic structure and its stance on every issue."),
    (
        "[states.legislature]",
        sc.Legislature,
        "A legislature with a calendar; the defaults follow the Diet's rules.",
    ),
    ("session tables", sc.Session, "`ordinary_session` and each entry of `extraordinary_sessions`."),
    (
        "decision round tables",
        sc.DecisionRound,
        "Each entry of a state's `decision_rounds` and `request_rounds` (docs/processes.md).",
    ),
    (
        "[[local_governments.named]]",
        sc.NamedLocalGovernment,
        "A local government the scenario needs by name.",
    ),
    (
        "[[local_governments.groups]]",
        sc.LocalGovernmentGroup,
        "`count` anonymous local governments drawn from distributions; ids are `<prefix>-<k>`.",
    ),
    (
        "[[civil_society.groups]]",
        sc.NamedGroup,
        "A civil-society group by name. `nationality` defaults to its state.",
    ),
    (
        "[[civil_society.populations]]",
        sc.GroupPopulation,
        "`count` anonymous groups placed in a state's local governments in proportion to population.",
    ),
    ("[[issues]]", sc.Issue, "An issue; `state` is the state whose policy is at stake."),
    ("[[ties]]", sc.Tie, "A declared tie between two groups, along which they exchange information."),
    ("[[negotiations]]", sc.Negotiation, "An interstate negotiation, opened on a date or on request."),
    ("[[events]]", sc.ScheduledEvent, "A dated exogenous event."),
    ("[processes.information]", sc.InformationParams, "Information exchange (docs/processes.md)."),
    ("[processes.accountability]", sc.AccountabilityParams, "Accountability pressure (docs/processes.md)."),
    ("[processes.agenda]", sc.AgendaParams, "Agenda-setting (docs/processes.md)."),
    ("[processes.negotiation]", sc.NegotiationParams, "Interstate negotiation (docs/processes.md)."),
    (
        "[processes.stance]",
        sc.StanceParams,
        "How reputational cost and a state's phase toward the norm reach outcomes (docs/processes.md).",
    ),
    (
        "[processes.backlash]",
        sc.BacklashParams,
        "Central backlash against local governments' activity abroad (docs/processes.md).",
    ),
    ("[processes.counter]", sc.CounterParams, "Counter-mobilization (docs/processes.md)."),
    (
        "[processes.autonomy]",
        sc.AutonomyParams,
        "The three autonomies of a coalition and co-optation (docs/processes.md).",
    ),
    ("[processes.costs]", sc.CostParams, "Costs and budgets (docs/processes.md)."),
]


def _type_name(cls: type, name: str) -> str:
    tp = typing.get_type_hints(cls)[name]
    text = str(tp).replace("typing.", "").replace("normflow.scenario.", "").replace("datetime.", "")
    text = text.replace("<class '", "").replace("'>", "")
    if tp is Dist:
        return "number or distribution"
    return text


def _default(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, Dist):
        if value.kind == "fixed":
            return f"{value.a:g}"
        return f"{value.kind}({value.a:g}, {value.b:g})"
    if attrs.has(type(value)):
        return "(table)"
    if isinstance(value, tuple) and value and attrs.has(type(value[0])):
        return f"{len(value)} table(s)"
    return f"`{value!r}`" if not isinstance(value, float) else f"`{value:g}`"


def render() -> str:
    out = [
        "# Scenario file reference",
        "",
        "Generated from the schema by `python -m normflow.reference`; do not edit by hand.",
        "A field with no default is required. Ranges are inclusive. A *number or distribution*",
        'is a number, or a table: `{dist = "uniform", low, high}`, `{dist = "beta", mean, concentration}`,',
        '`{dist = "lognormal", median, sigma}`, `{dist = "normal", mean, sd}`; samples are clipped to the range.',
        "Rates are per year, durations in days.",
        "",
    ]
    for title, cls, text in SECTIONS:
        out += [
            f"## {title}",
            "",
            text,
            "",
            "| field | type | default | range | meaning |",
            "|---|---|---|---|---|",
        ]
        for row in describe(cls):
            lo, hi = row["low"], row["high"]
            rng = (
                ""
                if lo is None and hi is None
                else f"[{'' if lo is None else f'{lo:g}'}, {'' if hi is None else f'{hi:g}'}]"
            )
            field = next(f for f in attrs.fields(cls) if f.name == row["name"])
            default = "required" if field.default is attrs.NOTHING else _default(row["default"])
            out.append(
                f"| `{row['name']}` | {_type_name(cls, row['name'])} | {default} | {rng} | {row['doc']} |"
            )
        out.append("")
    out += [
        "## [plugins]",
        "",
        "`use = [...]` lists the plugins (mechanisms) the scenario runs: only these take part, whatever",
        "else is installed, and one that is not installed is an error that lists what is. A plugin with a",
        "`[plugins.<section>]` table takes part too; each table is validated by the plugin that declares",
        "it, and `normflow plugins` lists the sections. Without `use`, every installed plugin takes part",
        "(with a note on stderr). `require = [...]` is the deprecated spelling of `use`. See the hook",
        'reference, "Which plugins take part in a run".',
        "",
        "## [[facts]]",
        "",
        "Stylized facts checked by `normflow validate`; see the case-study pages.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
