"""The core processes, one module each: information exchange,
accountability pressure, agenda-setting, interstate negotiation, central
backlash; ``stance`` holds the one rule by which reputational cost and a
state's phase toward the norm reach outcomes."""

#: The core sub-processes a run can switch off (``Interventions(off=...)``),
#: by name, with what switching each off removes. ``normflow knockout``
#: switches them off in turn.
CORE_PROCESSES: dict[str, str] = {
    "information": "information exchange between groups, and local governments sharing with their groups",
    "downward": "downward accountability: campaigns winning public support and salience",
    "top_down": "top-down accountability: campaigns pressing the state (and reputational cost)",
    "electoral": "electoral leverage: public support turned into electoral pressure",
    "resolutions": "local assembly resolutions",
    "agenda": "agenda-setting in the legislature: Kingdon's streams and bills",
    "negotiation": "interstate negotiation and its ratification",
    "backlash": "central backlash against local governments' activity abroad",
    "elections": "general and upper House elections (term, dissolution hazard) redrawing the governing parties' support, and the coalition changes dated in the scenario",
    "counter_mobilization": "counter-mobilization: counter-resolutions, withdrawals and lobbying against the campaign",
    "autonomy": "coalitions' autonomies: local support, co-optation and the political-autonomy gate on agenda-setting",
    "costs": "costs: campaign budgets and local governments' political capital",
}
