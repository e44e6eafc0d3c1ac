"""The scenario: what a run starts from, as frozen attrs objects.

A scenario file is TOML. Its sections map one to one onto the classes below;
every numeric field has a range and a documented default (see
``docs/scenario-reference.md``, generated from these classes). Large
populations are declared compactly: ``[[local_governments.groups]]`` and
``[[civil_society.populations]]`` give a count and distributions, while
``named`` entries declare the individuals a case study needs by name.

``load_scenario`` reads a bundled name or a path; every problem becomes a
``ScenarioError`` naming the file, the field path, the value and what was
expected.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import attrs

from normflow.facts import parse_facts
from normflow.schema import Dist, ScenarioError, param, parse_toml, read_text_file, structure
from normflow.targets import parse_targets

IssueArea = Literal["bodily_harm", "legal_equality", "environment", "economic", "human_rights", "security"]
GroupKind = Literal["NGO", "NPO"]
Stance = Literal["supporter", "opponent"]
frozen = attrs.frozen(slots=True, kw_only=True)

#: Residents of one local government at most (the largest cities and
#: provinces have tens of millions; this leaves room for any real one).
MAX_POPULATION = 1_000_000_000


@frozen
class Meta:
    name: str
    start: dt.date
    end: dt.date
    description: str = ""


@frozen
class Session:
    month: int = param(1, low=1, high=12, doc="calendar month the session is convened")
    day: int = param(20, low=1, high=28, doc="day of the month it is convened")
    days: int = param(150, low=1, high=365, doc="length in days")
    probability: float = param(1.0, low=0, high=1, doc="chance it is held in a given year")


@frozen
class Legislature:
    """A legislature with a calendar (the Diet by default).

    Defaults follow the Diet's rules (CASES.md): an ordinary session from
    January for 150 days, extendable once; an extraordinary session most
    autumns; a special session after a general election."""

    name: str = "Diet"
    ordinary_session: Session = param(factory=Session, doc="the yearly ordinary session")
    extension_probability: float = param(
        0.3, low=0, high=1, doc="chance the ordinary session is extended once"
    )
    extension_days: int = param(30, low=0, high=180, doc="length of that extension")
    extraordinary_sessions: tuple[Session, ...] = param(
        (Session(month=9, day=25, days=60, probability=0.8),),
        doc="extraordinary sessions called by the Cabinet, usually in autumn",
    )
    special_session_delay: int = param(
        30, low=1, high=120, doc="days from a general election to the special session"
    )
    special_session_days: int = param(30, low=1, high=180, doc="length of the special session")
    continuation_probability: float = param(
        0.3, low=0, high=1, doc="chance a pending bill's deliberation is continued past session end"
    )
    government_support: float = param(
        0.3, low=0, high=1, doc="governing parties' support for the issue (veto players)"
    )
    cabinet_take_up: float = param(
        0.95, low=0, high=1, doc="chance a committee takes up a Cabinet bill in a session"
    )
    members_take_up: float = param(
        1.0, low=0, high=1, doc="a members' bill is taken up with this times the governing parties' support"
    )
    stage_pass: float = param(
        0.97, low=0, high=1, doc="chance a Cabinet bill that was taken up passes each vote"
    )
    lower_house_elected: dt.date | None = param(
        None, doc="date the sitting lower House was elected; set, general elections run"
    )
    term_years: float = param(
        4.0, low=0.5, high=10, doc="the lower House's term: elections at most this far apart"
    )
    dissolution_hazard: float = param(
        0.25, low=0, high=100, doc="dissolution hazard per year, times years since the last election"
    )
    election_delay: int = param(40, low=1, high=120, doc="days from a dissolution to the general election")
    upper_house_elected: dt.date | None = param(
        None, doc="date of an upper House election; set, one follows every upper_house_interval years"
    )
    upper_house_interval: float = param(
        3.0, low=0.5, high=10, doc="years between upper House elections (half its members each time)"
    )
    election_swing: float = param(
        0.2, low=0, high=1, doc="share of the gap to national public support that an election closes"
    )
    election_noise: float = param(
        0.05, low=0, high=1, doc="spread of the governing parties' support around that after an election"
    )


@frozen
class DecisionRound:
    """A yearly round at which a state takes one kind of decision (see
    ``State.decision_rounds``): it opens each year on ``month``/``day`` and
    stays open ``days`` more days (0: that day only); with ``lead_days`` a
    matter must be ready that long before it opens (a budget request's
    deadline), else it waits for the next year's round. A state's priority
    can shorten the lead (``lead_scale``), never below ``firm_lead_days``."""

    month: int = param(1, low=1, high=12, doc="calendar month the round opens")
    day: int = param(1, low=1, high=28, doc="day of the month it opens")
    days: int = param(0, low=0, high=364, doc="days it stays open after that day (0: that day only)")
    lead_days: int = param(
        0,
        low=0,
        high=364,
        doc="a matter must be ready this many days before the round opens to be decided in it "
        "(0: any day until it closes)",
    )
    firm_lead_days: int = param(
        0,
        low=0,
        high=364,
        doc="the part of lead_days no priority shortens (a deadline the state cannot waive, e.g. "
        "the draft budget before an adoption round); a value above lead_days counts as lead_days",
    )


@frozen
class State:
    id: str
    name: str = ""
    penetrability: float = param(
        0.3, low=0, high=1, doc="chance domestic pressure gets through (open domestic structure)"
    )
    reputation_sensitivity: float = param(
        0.5, low=0, high=1, doc="how much a gap between word and deed costs"
    )
    electoral_sensitivity: float = param(
        0.5, low=0, high=1, doc="how much public support weighs with legislators"
    )
    commitment: float = param(0.5, low=0, high=1, doc="stated commitment to the norm")
    practice: float = param(0.2, low=0, high=1, doc="practice / policy position on the issue")
    public_support: float = param(0.2, low=0, high=1, doc="initial national public support")
    legislature: Legislature | None = None
    decision_rounds: tuple[DecisionRound, ...] = param(
        (),
        doc="yearly rounds in which the state adopts (ratifies) an agreement; empty: on any day "
        "(processes.negotiation.decision_rounds switches them off)",
    )
    request_rounds: tuple[DecisionRound, ...] = param(
        (),
        doc="yearly rounds in which the state lodges a request for talks; empty: on any day "
        "(processes.negotiation.decision_rounds switches them off)",
    )


@frozen
class NamedLocalGovernment:
    id: str
    state: str
    name: str = ""
    level: Literal["municipality", "prefecture", "province", "city"] = "municipality"
    population: int = param(100_000, low=0, high=MAX_POPULATION, doc="residents")
    access: float = param(0.3, low=0, high=1, doc="access to its national government")
    openness: float = param(0.5, low=0, high=1, doc="information policy and venues for exchange")
    support: float = param(0.2, low=0, high=1, doc="assembly support for the issue")
    partners: tuple[str, ...] = param((), doc="partner local governments abroad (ids)")


@frozen
class LocalGovernmentGroup:
    """``count`` anonymous local governments drawn from distributions."""

    state: str
    count: int = param(low=1, high=2_000_000, doc="how many")
    prefix: str = "lg"
    population: Dist = param(Dist("lognormal", 12_000, 1.2), low=0, high=MAX_POPULATION, doc="residents")
    access: Dist = param(Dist("beta", 0.15, 10), low=0, high=1, doc="access to the national government")
    openness: Dist = param(Dist("beta", 0.3, 10), low=0, high=1, doc="openness")
    support: Dist = param(Dist("beta", 0.15, 10), low=0, high=1, doc="assembly support")


@frozen
class LocalGovernments:
    named: tuple[NamedLocalGovernment, ...] = ()
    groups: tuple[LocalGovernmentGroup, ...] = ()


@frozen
class NamedGroup:
    id: str
    state: str
    name: str = ""
    kind: GroupKind = "NGO"
    locality: str | None = None
    nationality: str | None = None
    resources: float = param(0.5, low=0, high=10, doc="members and money, relative")
    expertise: float = param(0.5, low=0, high=1, doc="information held at the start")
    commitment: float = param(0.7, low=0, high=1, doc="commitment to the issue")
    stance: Stance = "supporter"
    issue: str | None = None


@frozen
class GroupPopulation:
    """``count`` anonymous groups spread over a state's local governments in
    proportion to population (or over the ones whose id starts with
    ``within``)."""

    state: str
    count: int = param(low=1, high=2_000_000, doc="how many")
    prefix: str = "g"
    kind: GroupKind = "NGO"
    nationality: str | None = None
    within: str | None = None
    resources: Dist = param(Dist("lognormal", 0.3, 0.8), low=0, high=10, doc="resources")
    expertise: Dist = param(Dist("beta", 0.3, 8), low=0, high=1, doc="information held")
    commitment: Dist = param(Dist("beta", 0.5, 8), low=0, high=1, doc="commitment")
    stance: Stance = "supporter"
    issue: str | None = None


@frozen
class CivilSociety:
    groups: tuple[NamedGroup, ...] = ()
    populations: tuple[GroupPopulation, ...] = ()


@frozen
class Issue:
    id: str
    state: str
    name: str = ""
    area: IssueArea = "human_rights"
    appeal: float | None = param(None, low=0, high=1, doc="override of the issue area's appeal")


@frozen
class Tie:
    a: str
    b: str
    weight: float = param(1.0, low=0, high=100, doc="relative contact frequency")


@frozen
class Negotiation:
    id: str
    issue: str
    parties: tuple[str, ...]
    requester: str | None = None
    opens: dt.date | None = None
    request_threshold: float | None = param(
        None, low=0, doc="opens when the requester's pressure stock on the issue reaches this"
    )
    positions: tuple[float, ...] = param(
        (), low=0, high=1, doc="opening positions (empty: each party's practice on the issue when talks open)"
    )
    win_sets: tuple[float, ...] = param(
        (0.3, 0.3), low=0, high=1, doc="half-widths of the ratifiers' acceptable sets at public support 0.5"
    )
    power: tuple[float, ...] = param(
        (),
        low=0,
        high=1000,
        doc="bargaining power per party: interests pull the deal toward the stronger (empty: equal)",
    )
    optimum: Dist = param(
        Dist("uniform", 0.0, 1.0),
        low=0,
        high=1,
        doc="technical optimum of the deal, drawn once per run (expertise pulls the deal toward it)",
    )


@frozen
class ScheduledEvent:
    date: dt.date
    category: Literal[
        "state_visit",
        "election",
        "dissolution",
        "pressure",
        "session",
        "custom",
        "launch",
        "court_ruling",
        "media",
        "local_support",
        "commitment",
        "coalition",
    ]
    name: str = ""
    state: str | None = None
    target: str | None = None
    issue: str | None = None
    starts: Literal["campaigns", "resolutions"] | None = None
    local_government: str | None = None
    strength: float = param(1.0, low=0, high=100, doc="pressure carried by the event")
    days: int = param(0, low=0, high=365, doc="length (sessions only)")
    level: float = param(
        0.0,
        low=0,
        high=1,
        doc="commitment events: the state's stated commitment, or the local government's support, at least this",
    )
    chance: float = param(
        1.0,
        low=0,
        high=1,
        doc="chance the event takes effect in a run (an uncertain consequence of a dated event)",
    )
    share: float = param(
        0.0,
        low=0,
        high=1,
        doc="coalition events: the joining party's share of the new governing coalition's seats",
    )


@frozen
class InformationParams:
    contact_rate: float = param(6.0, low=0, high=1000, doc="contacts a group seeks per year")
    venue_boost: float = param(
        1.0, low=0, high=100, doc="v: contacts are (1 + v*openness) times more frequent"
    )
    base_success: float = param(0.3, low=0, high=1, doc="p0: success chance without a local venue")
    local_share: float = param(0.6, low=0, high=1, doc="share of contacts inside the group's locality")
    tie_share: float = param(0.3, low=0, high=1, doc="share of contacts along declared ties")
    partner_share: float = param(0.1, low=0, high=1, doc="share of contacts in partner localities abroad")
    transfer: float = param(0.5, low=0, high=1, doc="share of the information gap closed by a success")
    influence: float = param(0.2, low=0, high=1, doc="share of the commitment gap closed by a success")
    lg_share_rate: float = param(
        12.0, low=0, high=1000, doc="sharings per year by a fully open local government"
    )
    lg_persuasion: float = param(
        0.05, low=0, high=1, doc="assembly support gained per sharing with a committed group"
    )


@frozen
class AccountabilityParams:
    campaign_rate: float = param(4.0, low=0, high=1000, doc="campaigns per year by a group of resources 1")
    resource_elasticity: float = param(1.0, low=0, high=3, doc="campaign rate grows as resources**this")
    information_half: float = param(
        1.0,
        low=0.001,
        high=1000,
        doc="pooled information at which campaigns are half as effective as at most",
    )
    local_support_gain: float = param(
        0.05, low=0, high=1, doc="local support gained per campaign (times appeal)"
    )
    national_support_gain: float = param(0.002, low=0, high=1, doc="national support gained per campaign")
    salience_bump: float = param(0.03, low=0, high=1, doc="salience gained per campaign")
    salience_half_life: float = param(180.0, low=1, high=36500, doc="days for salience to halve")
    pressure_amount: float = param(1.0, low=0, high=100, doc="pressure carried by one campaign")
    pressure_half_life: float = param(365.0, low=1, high=36500, doc="days for the pressure stock to halve")
    responsiveness: float = param(
        0.02, low=0, high=1, doc="practice moves toward commitment per unit pressure"
    )
    support_threshold: float = param(
        0.5, low=0, high=1, doc="assembly support from which a local government carries its groups' case"
    )
    legitimacy_weight: float = param(
        0.0,
        low=0,
        high=1,
        doc="how much of the pressure a local government carries depends on its residents' support "
        "for the issue (World.legitimacy; 0: none)",
    )
    electoral_threshold: float = param(
        0.5, low=0, high=1, doc="public support from which legislators count electoral cost"
    )
    electoral_check_days: float = param(30.0, low=1, high=3650, doc="how often electoral cost is reassessed")


@frozen
class AgendaParams:
    assembly_months: tuple[int, ...] = param(
        (3, 6, 9, 12), low=1, high=12, doc="months of regular local assembly meetings"
    )
    resolution_min_support: float = param(0.3, low=0, high=1, doc="no resolution below this assembly support")
    resolution_rate: float = param(0.3, low=0, high=1, doc="resolution chance per meeting at full support")
    diffusion: float = param(
        0.5, low=0, high=10, doc="weight of the share of population already covered by resolutions"
    )
    problem_threshold: float = param(0.3, low=0, high=1, doc="salience the problem stream needs")
    politics_threshold: float = param(0.4, low=0, high=1, doc="support the politics stream needs")
    politics_public_weight: float = param(
        0.5, low=0, high=1, doc="weight of national support vs resolution coverage"
    )
    foreign_pressure_weight: float = param(
        0.1, low=0, high=1, doc="politics stream gain per unit of interstate pressure"
    )
    government_weight: float = param(
        0.0,
        low=0,
        high=1,
        doc="politics stream gain per unit of the governing parties' support (turnover at elections)",
    )
    lobbying_weight: float = param(
        0.0,
        low=0,
        high=1,
        doc="politics stream gain from the pressure stock P on the state, as P/(1+P) (lobbying of ministries and parties)",
    )
    policy_hazard: float = param(
        0.05, low=0, high=1, doc="weekly chance a sponsor readies a bill, at full expertise"
    )
    check_days: float = param(7.0, low=1, high=365, doc="days between checks of the three streams")
    coupling_days: float = param(
        0.0,
        low=0,
        high=36500,
        doc="mean days of open session entrepreneurs need to couple the three streams when politics is 0.1 over its threshold (0: at once)",
    )
    stage_days: float = param(30.0, low=1, high=3650, doc="mean days a bill spends in a stage")
    electoral_weight: float = param(
        0.5, low=0, high=10, doc="stage pass chance gained per unit electoral pressure"
    )
    member_bill_factor: float = param(
        0.7,
        low=0,
        high=1,
        doc="a members' bill passes a vote with stage_pass times this, rising to stage_pass with support",
    )
    resubmit_probability: float = param(
        0.7, low=0, high=1, doc="chance sponsors resubmit a dead bill next session"
    )


@frozen
class NegotiationParams:
    round_rate: float = param(12.0, low=0, high=1000, doc="rounds per year")
    expertise_weight_pre: float = param(0.8, low=0, high=1, doc="weight of expertise in prenegotiation")
    expertise_weight_main: float = param(0.2, low=0, high=1, doc="weight of expertise in the main phase")
    lg_channel_weight: float = param(
        0.8,
        low=0,
        high=1,
        doc="expertise weight kept by a local-government access channel (times its access)",
    )
    convergence: float = param(0.1, low=0, high=1, doc="share of the gap closed per round at full influence")
    prenegotiation_threshold: float = param(
        1.0, low=0, high=1000, doc="expertise influence needed to settle the agenda"
    )
    agreement_gap: float = param(0.1, low=0, high=1, doc="positions this close make an agreement")
    max_main_days: float = param(1825.0, low=1, high=36500, doc="main phase stalls after this many days")
    ratification_days: float = param(90.0, low=1, high=3650, doc="mean days to ratify")
    ratification_base: float = param(0.8, low=0, high=1, doc="ratification chance with a comfortable win-set")
    request_check_days: float = param(30.0, low=1, high=3650, doc="how often a pending request is reassessed")
    renegotiation_probability: float = param(
        0.5, low=0, high=1, doc="chance a deal a ratifier finds outside its acceptable set is renegotiated"
    )
    max_renegotiations: int = param(3, low=0, high=100, doc="renegotiations before the talks are given up")
    quality_weight: float = param(
        0.5, low=0, high=1, doc="share of the ratification chance a deal of quality 0 loses"
    )
    decision_rounds: bool = param(
        True,
        doc="states decide only in their declared rounds (State.decision_rounds, request_rounds); "
        "false: on any day",
    )


@frozen
class StanceParams:
    """How reputational cost and a state's phase toward the norm reach
    outcomes (``normflow.processes.stance``)."""

    reputation_weight: float = param(
        0.3, low=0, high=1, doc="disposition gained at saturating recent reputational cost"
    )
    reputation_half: float = param(
        1.0, low=0.001, high=1000, doc="recent reputational cost at which half that weight is reached"
    )
    phase_weight: float = param(
        0.2,
        low=0,
        high=1,
        doc="disposition from the norm phase: -this in repression, +this when rule-consistent",
    )
    stage_weight: float = param(
        0.3,
        low=0,
        high=1,
        doc="pass chance of a legislative stage or a ratification gained per unit disposition",
    )
    position_weight: float = param(
        0.2, low=0, high=1, doc="shift of a negotiating position toward the norm per unit disposition"
    )
    lead_weight: float = param(
        1.0,
        low=0,
        high=1,
        doc="share of a decision round's lead time a unit of disposition takes off (leaning against "
        "the norm: adds)",
    )


@frozen
class BacklashParams:
    """Central backlash against local governments' international activity
    (``normflow.processes.backlash``)."""

    enabled: bool = param(False, doc="whether states may curb their local governments' activity abroad")
    rate: float = param(
        1.0, low=0, high=100, doc="curbs per year at full gap and full centralization, while active"
    )
    check_days: float = param(30.0, low=1, high=3650, doc="days between two looks at recent activity")
    memory_days: float = param(365.0, low=1, high=36500, doc="activity this recent counts as ongoing")
    access_cut: float = param(0.5, low=0, high=1, doc="share of its access a local government loses")
    closure_days: float = param(365.0, low=1, high=36500, doc="days a closed channel stays closed")
    reprimand_cost: float = param(0.1, low=0, high=1, doc="assembly support a reprimand costs")
    actions: tuple[float, ...] = param(
        (1.0, 1.0, 1.0),
        low=0,
        high=100,
        doc="relative weights of withdrawn access, closed channel, reprimand",
    )


@frozen
class CounterParams:
    """Counter-mobilization: opponents react to the campaign's visible
    successes (resolutions, the issue on the national agenda) through local
    assemblies and by lobbying the governing parties."""

    enabled: bool = param(False, doc="switch: opponents react to the campaign's successes")
    resolution_trigger: float = param(
        0.01, low=0, high=100, doc="mobilization added by each resolution the campaign wins"
    )
    agenda_trigger: float = param(
        1.0,
        low=0,
        high=100,
        doc="mobilization added when the issue reaches the national agenda or a bill is submitted",
    )
    memory_days: float = param(730.0, low=1, high=36500, doc="days for mobilization (and lobbying) to halve")
    half_mobilization: float = param(
        1.0, low=0.001, high=1000, doc="mobilization at which opponents act at half their strength"
    )
    counter_resolution_rate: float = param(
        0.05,
        low=0,
        high=1,
        doc="chance per meeting an unconvinced assembly passes a counter-resolution, at full mobilization",
    )
    withdrawal_rate: float = param(
        0.02,
        low=0,
        high=1,
        doc="chance per meeting an assembly withdraws its resolution, at full mobilization",
    )
    support_loss: float = param(
        0.2, low=0, high=1, doc="assembly support lost with a counter-resolution or a withdrawal"
    )
    coverage_weight: float = param(
        1.0,
        low=0,
        high=10,
        doc="weight of counter-resolutions' population share against coverage in the politics stream",
    )
    politics_weight: float = param(
        0.5,
        low=0,
        high=10,
        doc="politics stream lost per unit of organized opposition (the state's stance.opposition)",
    )
    lobbying_rate: float = param(6.0, low=0, high=1000, doc="lobbying acts per year at full mobilization")
    lobbying_amount: float = param(0.1, low=0, high=100, doc="counter-lobbying stock added per act")
    lobbying_weight: float = param(
        0.5, low=0, high=10, doc="governing parties' support lost per unit of counter-lobbying stock"
    )


@frozen
class AutonomyParams:
    """The three autonomies of a coalition (delegated, administrative,
    political) and co-optation by local government."""

    enabled: bool = param(False, doc="switch: local governments support coalitions, which can be co-opted")
    delegated_start: float = param(0.1, low=0, high=1, doc="delegated autonomy of every group at the start")
    administrative_start: float = param(0.9, low=0, high=1, doc="administrative autonomy at the start")
    political_start: float = param(0.6, low=0, high=1, doc="political autonomy at the start")
    support_rate: float = param(
        0.5,
        low=0,
        high=100,
        doc="offers of a subsidy, office or endorsement per year by a supportive, open local government",
    )
    subsidy: float = param(0.2, low=0, high=10, doc="resources a subsidy adds to the coalition")
    delegated_gain: float = param(0.2, low=0, high=1, doc="share of the gap to 1 a delegated task closes")
    administrative_loss: float = param(
        0.1, low=0, high=1, doc="share of administrative autonomy each support takes"
    )
    political_gain: float = param(
        0.1,
        low=0,
        high=1,
        doc="share of the gap to 1 in political autonomy a delegated task (a venue to set agendas) closes",
    )
    cooptation_threshold: float = param(
        0.5, low=0, high=1, doc="below this administrative autonomy, campaigns press less and more softly"
    )


@frozen
class CostParams:
    """What campaigns and resolutions cost, and how budgets replenish."""

    enabled: bool = param(False, doc="switch: campaigns cost resources and resolutions political capital")
    campaign_cost: float = param(0.1, low=0, high=100, doc="resources one campaign spends")
    budget_years: float = param(
        1.0, low=0.01, high=100, doc="a group's budget holds this many years of its resources at most"
    )
    replenish_rate: float = param(
        1.0, low=0, high=100, doc="budget regained per year, times the group's resources"
    )
    resolution_cost: float = param(0.5, low=0, high=10, doc="political capital a resolution spends")
    capital_rate: float = param(
        0.5, low=0, high=100, doc="political capital a local government regains per year (at most 1)"
    )
    lg_lending: float = param(
        0.0,
        low=0,
        high=100,
        doc="resources a local government backing the issue lends per year to its groups' campaigns they "
        "cannot pay for themselves (0: it lends nothing)",
    )


@frozen
class Processes:
    information: InformationParams = attrs.field(factory=InformationParams)
    accountability: AccountabilityParams = attrs.field(factory=AccountabilityParams)
    agenda: AgendaParams = attrs.field(factory=AgendaParams)
    negotiation: NegotiationParams = attrs.field(factory=NegotiationParams)
    stance: StanceParams = attrs.field(factory=StanceParams)
    backlash: BacklashParams = attrs.field(factory=BacklashParams)
    counter: CounterParams = attrs.field(factory=CounterParams)
    autonomy: AutonomyParams = attrs.field(factory=AutonomyParams)
    costs: CostParams = attrs.field(factory=CostParams)


@frozen
class PluginSettings:
    """``[plugins]``: which mechanisms the scenario uses, and their tables.

    ``use`` lists the plugins that take part in a run (None: the scenario
    does not say, and every installed plugin does). ``require`` is the
    deprecated spelling of ``use`` (its names are folded into ``use`` and
    must be loaded). ``added``/``removed`` are not read from a file: they
    are one command's ``--with``/``--without`` (``with_plugins``)."""

    use: tuple[str, ...] | None = None
    require: tuple[str, ...] = ()
    sections: dict[str, Any] = attrs.field(factory=dict)
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


#: Keys of ``[plugins]`` that are not a plugin's table.
PLUGIN_SETTING_KEYS = ("use", "require")


@frozen
class Scenario:
    scenario: Meta
    states: tuple[State, ...]
    issues: tuple[Issue, ...]
    local_governments: LocalGovernments = attrs.field(factory=LocalGovernments)
    civil_society: CivilSociety = attrs.field(factory=CivilSociety)
    ties: tuple[Tie, ...] = ()
    negotiations: tuple[Negotiation, ...] = ()
    events: tuple[ScheduledEvent, ...] = ()
    processes: Processes = attrs.field(factory=Processes)
    plugins: PluginSettings = attrs.field(factory=PluginSettings)
    facts: tuple[Any, ...] = ()  # stylized facts, validated by normflow.facts.parse_facts
    targets: tuple[Any, ...] = ()  # calibration targets, validated by normflow.targets.parse_targets
    source: str | None = attrs.field(default=None, eq=False)
    #: the ``--set`` overrides this scenario was loaded with (path -> value)
    overrides: dict[str, Any] = attrs.field(factory=dict, eq=False)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def start(self) -> dt.date:
        return self.scenario.start

    @property
    def horizon(self) -> float:
        """Length of the run in days."""
        return float((self.scenario.end - self.scenario.start).days)

    def day_of(self, date: dt.date) -> float:
        return float((date - self.scenario.start).days)

    def date_of(self, t: float) -> dt.date:
        return self.scenario.start + dt.timedelta(days=int(t))


# -- loading ------------------------------------------------------------------


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names and their files."""
    # the package's own directory (importlib.resources would cost ~5 ms of start-up
    # for the same path: the files are read from the file system either way)
    root = Path(__file__).with_name("scenarios")
    return {p.name.removesuffix(".toml"): p for p in root.iterdir() if p.name.endswith(".toml")}


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    bundled = bundled_scenarios()
    if text in bundled:
        return bundled[text]
    path = Path(text)
    if path.exists():
        return path
    names = ", ".join(sorted(bundled))
    raise ScenarioError("SCENARIO", text, f"a bundled scenario name ({names}) or the path of a TOML file")


@attrs.frozen
class Limits:
    """How large a world and how long a run a command accepts before it
    refuses (users who mean it raise them: ``normflow --max-actors N``).

    A million actors take about 300 MB; the bundled scenarios have a few
    thousand and span decades."""

    max_actors: int = 1_000_000
    max_years: int = 500


#: The limits ``load_scenario`` applies by default (the command line sets them).
LIMITS = Limits()


def world_size(s: Scenario) -> int:
    """Actors a run of ``s`` builds: states, local governments and groups."""
    return (
        len(s.states)
        + len(s.local_governments.named)
        + sum(g.count for g in s.local_governments.groups)
        + len(s.civil_society.groups)
        + sum(p.count for p in s.civil_society.populations)
    )


def check_size(s: Scenario, limits: Limits | None = None, file: str | None = None) -> None:
    """Refuse a world or a horizon above ``limits`` (default ``LIMITS``) with
    one line naming the total, the limit and the option that raises it."""
    limits = limits or LIMITS
    total = world_size(s)
    if total > limits.max_actors:
        raise ScenarioError(
            "<world>",
            f"{total:,} actors (states, local governments and groups)",
            f"at most {limits.max_actors:,}; raise the limit with normflow --max-actors N if you mean it",
            file=file or s.source,
        )
    years = (s.scenario.end - s.scenario.start).days / 365.25
    if years > limits.max_years:
        raise ScenarioError(
            "scenario.end",
            s.scenario.end.isoformat(),
            f"a horizon of at most {limits.max_years} years (this one is {years:,.0f}); "
            "raise the limit with normflow --max-years N if you mean it",
            file=file or s.source,
        )


def load_scenario(
    name_or_path: str | Path, overrides: dict[str, Any] | None = None, limits: Limits | None = None
) -> Scenario:
    """Load and validate a scenario from a bundled name or a TOML path.

    ``overrides`` maps dotted field paths (``processes.agenda.stage_days``) to
    values applied before validation, so sweeps never edit files. The file
    must be a regular file of at most ``schema.MAX_FILE_BYTES``, and the
    world and horizon within ``limits`` (default ``LIMITS``).
    """
    path = resolve_scenario_path(name_or_path)
    text = read_text_file(path, "scenario file")
    scenario = loads_scenario(text, file=str(path), overrides=overrides)
    check_size(scenario, limits, file=str(path))
    return scenario


def loads_scenario(text: str, file: str = "<string>", overrides: dict[str, Any] | None = None) -> Scenario:
    """Validate a scenario given as TOML text."""
    data = parse_toml(text, file)
    return scenario_from_dict(data, file=file, overrides=overrides)


def scenario_from_dict(
    data: dict[str, Any], file: str = "<dict>", overrides: dict[str, Any] | None = None
) -> Scenario:
    # overrides write into nested tables: work on a copy, never the caller's data
    data = copy.deepcopy(data) if overrides else data
    for internal in ("source", "overrides"):
        if isinstance(data, dict) and internal in data:
            raise ScenarioError(
                internal, data[internal], "no such table or key (set by the loader)", file=file
            )
    for dotted, value in (overrides or {}).items():
        _apply_override(data, dotted, value, file)
    data = _split_plugin_sections(data)
    try:
        scenario = structure(Scenario, data)
        scenario = attrs.evolve(scenario, source=file, overrides=dict(overrides or {}))
        scenario = _fold_require(scenario, file)
        check_references(scenario)
        scenario = attrs.evolve(
            scenario,
            facts=parse_facts(list(scenario.facts), scenario),
            targets=parse_targets(list(scenario.targets), scenario),
        )
    except ScenarioError as exc:
        raise exc.with_file(file) from None
    return scenario


def _split_plugin_sections(data: dict[str, Any]) -> dict[str, Any]:
    """``[plugins]`` holds ``use`` (or its deprecated alias ``require``) and
    one table per plugin; keep the tables aside as raw sections for the
    plugins' own schemas."""
    data = dict(data)
    plugins = data.get("plugins")
    if isinstance(plugins, dict):
        sections = {k: v for k, v in plugins.items() if k not in PLUGIN_SETTING_KEYS}
        rest = {"sections": sections}
        for key in PLUGIN_SETTING_KEYS:
            if key in plugins:
                rest[key] = plugins[key]
        data["plugins"] = rest
    return data


_INDEX = re.compile(r"^(?P<key>[^\[\]]*)\[(?P<index>-?\d+)\]$")


def split_path(dotted: str) -> list[str | int]:
    """The steps of an override path: ``states.japan.penetrability`` gives
    ``["states", "japan", "penetrability"]``, ``states[0].x`` gives
    ``["states", 0, "x"]``."""
    steps: list[str | int] = []
    for part in dotted.split("."):
        m = _INDEX.match(part)
        if m:
            if m["key"]:
                steps.append(m["key"])
            steps.append(int(m["index"]))
        else:
            steps.append(part)
    return steps


def _ids_in(items: list[Any]) -> list[str]:
    return [str(x["id"]) for x in items if isinstance(x, dict) and "id" in x]


def _step_into_list(items: list[Any], step: str | int, where: str, dotted: str, value: Any, file: str) -> Any:
    """The element of an array of tables named by ``step``: its ``id``, or an index."""
    if isinstance(step, int) or step.lstrip("-").isdigit():
        i = int(step)
        if not -len(items) <= i < len(items):
            raise ScenarioError(
                dotted, value, f"an index into {where} (it has {len(items)} entries)", file=file
            )
        return items[i]
    found = [x for x in items if isinstance(x, dict) and x.get("id") == step]
    if not found:
        ids = _ids_in(items)
        import difflib  # only for a suggestion in an error message

        close = difflib.get_close_matches(step, ids, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ScenarioError(
            dotted,
            value,
            f"the id of an entry of {where} ({', '.join(ids) or 'none declared'}) or an index{hint}",
            file=file,
        )
    return found[0]


def _fold_require(scenario: Scenario, file: str) -> Scenario:
    """``require`` is the old spelling of ``use``: its names join ``use``.
    (The deprecation warning comes when a run is set up, once the whole
    scenario is known to be valid: ``plugins.select_plugins``.)"""
    settings = scenario.plugins
    if not settings.require:
        return scenario
    use = tuple(dict.fromkeys([*(settings.use or ()), *settings.require]))
    return attrs.evolve(scenario, plugins=attrs.evolve(settings, use=use))


def with_plugins(scenario: Scenario, added: Iterable[str] = (), removed: Iterable[str] = ()) -> Scenario:
    """``scenario`` with one command's ``--with``/``--without`` applied: the
    named plugins join or leave the ones the scenario uses."""
    added, removed = tuple(added), tuple(removed)
    both = sorted(set(added) & set(removed))
    if both:
        raise ScenarioError("--with/--without", both[0], "a plugin named in only one of --with and --without")
    if not added and not removed:
        return scenario
    settings = scenario.plugins
    return attrs.evolve(
        scenario,
        plugins=attrs.evolve(
            settings,
            added=tuple(dict.fromkeys([*settings.added, *added])),
            removed=tuple(dict.fromkeys([*settings.removed, *removed])),
        ),
    )


def _apply_override(data: dict[str, Any], dotted: str, value: Any, file: str) -> None:
    """Write ``value`` at ``dotted`` (see ``split_path``). A step through an
    array of tables names an entry by its ``id`` (``states.japan``) or its
    index (``states[0]``, ``states.0``); a table that holds arrays of named
    entries (``local_governments``, ``civil_society``) is stepped through to
    the entry of that id (``local_governments.kawasaki.access``). The value
    is then validated with the rest of the scenario, so an unknown field
    gets the same did-you-mean as in the file."""
    steps = split_path(dotted)
    if any(step == "" for step in steps):
        raise ScenarioError(dotted, value, "a dotted path such as processes.agenda.stage_days", file=file)
    node: Any = data
    where = ""
    for step, nxt in zip(steps, [*steps[1:], None], strict=True):
        last = nxt is None
        if isinstance(node, list):
            target = _step_into_list(node, step, where or "the list", dotted, value, file)
            if last:
                node[node.index(target)] = value
                return
            node = target
            where = f"{where}.{step}"
            continue
        if not isinstance(node, dict):
            raise ScenarioError(dotted, value, f"a path through tables ({where} is a value)", file=file)
        key = str(step)
        if last:
            node[key] = value
            return
        if key not in node:
            # an entry named by id in one of this table's arrays of tables
            holders = [k for k, v in node.items() if isinstance(v, list) and key in _ids_in(v)]
            if len(holders) == 1:
                node = _step_into_list(node[holders[0]], key, holders[0], dotted, value, file)
                where = f"{where}.{holders[0]}.{key}".lstrip(".")
                continue
            node[key] = {}
        node = node[key]
        where = f"{where}.{key}".lstrip(".")


def _unique(items: tuple[Any, ...], path: str, seen: dict[str, str]) -> None:
    for i, item in enumerate(items):
        if item.id in seen:
            raise ScenarioError(
                f"{path}[{i}].id", item.id, f"an id not already used (it is used at {seen[item.id]})"
            )
        seen[item.id] = f"{path}[{i}]"


def _unique_generated(s: Scenario, seen: dict[str, str]) -> None:
    """Generated actors are called ``<prefix>-<k>``: two groups sharing a
    prefix, or a named actor called like a generated one, would give two
    actors one id, and a trace could no longer tell them apart."""
    prefixes: dict[str, str] = {}
    generated = [("local_governments.groups", g) for g in s.local_governments.groups]
    generated += [("civil_society.populations", p) for p in s.civil_society.populations]
    counters: dict[str, int] = {}
    for path, item in generated:
        i = counters[path] = counters.get(path, -1) + 1
        where = f"{path}[{i}].prefix"
        if item.prefix in prefixes:
            raise ScenarioError(
                where, item.prefix, f"a prefix not already used (it is used at {prefixes[item.prefix]})"
            )
        prefixes[item.prefix] = f"{path}[{i}]"
        head = f"{item.prefix}-"
        for name, at in seen.items():
            k = name[len(head) :]
            if name.startswith(head) and k.isdigit() and int(k) < item.count and str(int(k)) == k:
                raise ScenarioError(
                    where, item.prefix, f"a prefix whose ids do not repeat '{name}' (the id at {at})"
                )


def check_references(s: Scenario) -> None:
    """Cross-field checks: ids unique and every reference resolvable."""
    if s.scenario.end <= s.scenario.start:
        raise ScenarioError(
            "scenario.end", s.scenario.end.isoformat(), f"a date after start ({s.scenario.start})"
        )
    if not s.states:
        raise ScenarioError("states", [], "at least one state")
    if not s.issues:
        raise ScenarioError("issues", [], "at least one issue")
    seen: dict[str, str] = {}
    _unique(s.states, "states", seen)
    _unique(s.issues, "issues", seen)
    _unique(s.local_governments.named, "local_governments.named", seen)
    _unique(s.civil_society.groups, "civil_society.groups", seen)
    _unique(s.negotiations, "negotiations", seen)
    _unique_generated(s, seen)
    states = {x.id for x in s.states}
    issues = {x.id for x in s.issues}
    lgs = {x.id for x in s.local_governments.named}
    groups = {x.id for x in s.civil_society.groups}

    state, issue, lg = (states, "state"), (issues, "issue"), (lgs, "named local government")
    # each list of the scenario, and the fields of its items that name a declared id
    references: tuple[tuple[str, Any, dict[str, tuple[set[str], str]]], ...] = (
        ("issues", s.issues, {"state": state}),
        ("local_governments.named", s.local_governments.named, {"state": state, "partners": lg}),
        ("local_governments.groups", s.local_governments.groups, {"state": state}),
        ("civil_society.groups", s.civil_society.groups, {"state": state, "locality": lg, "issue": issue}),
        ("civil_society.populations", s.civil_society.populations, {"state": state, "issue": issue}),
        ("ties", s.ties, {"a": (groups, "civil-society group"), "b": (groups, "civil-society group")}),
        ("negotiations", s.negotiations, {"issue": issue, "parties": state}),
        ("events", s.events, {"state": state, "target": state, "issue": issue, "local_government": lg}),
    )
    for where, items, fields in references:
        for i, x in enumerate(items):
            for field, (allowed, what) in fields.items():
                value = getattr(x, field)
                named = enumerate(value) if isinstance(value, (tuple, list)) else [(None, value)]
                for j, v in named:
                    if v is not None and v not in allowed:
                        path = f"{where}[{i}].{field}" + ("" if j is None else f"[{j}]")
                        known = ", ".join(sorted(allowed)) or "none declared"
                        raise ScenarioError(path, v, f"the id of a declared {what} ({known})")
    for i, x in enumerate(s.local_governments.named):
        for j, p in enumerate(x.partners):
            if p == x.id:
                raise ScenarioError(
                    f"local_governments.named[{i}].partners[{j}]", p, "a partner other than itself"
                )
    for i, x in enumerate(s.civil_society.populations):
        p = f"civil_society.populations[{i}]"
        has_lg = any(g.state == x.state for g in s.local_governments.groups) or any(
            n.state == x.state for n in s.local_governments.named
        )
        if not has_lg:
            raise ScenarioError(
                f"{p}.state", x.state, "a state with local governments to place the groups in"
            )
    for i, x in enumerate(s.negotiations):
        p = f"negotiations[{i}]"
        if len(x.parties) < 2:
            raise ScenarioError(f"{p}.parties", list(x.parties), "at least two states")
        if x.requester is not None and x.requester not in x.parties:
            raise ScenarioError(f"{p}.requester", x.requester, f"one of the parties {list(x.parties)}")
        if x.opens is None and x.request_threshold is None:
            raise ScenarioError(p, x.id, "either 'opens' (a date) or 'request_threshold' with a 'requester'")
        if x.request_threshold is not None and x.requester is None:
            raise ScenarioError(f"{p}.requester", None, "the requesting state when request_threshold is set")
        for key in ("positions", "win_sets", "power"):
            if key != "win_sets" and len(getattr(x, key)) == 0:
                continue
            if len(getattr(x, key)) != len(x.parties):
                raise ScenarioError(
                    f"{p}.{key}", list(getattr(x, key)), f"one value per party ({len(x.parties)})"
                )
    actions = s.processes.backlash.actions
    if len(actions) != 3 or sum(actions) <= 0:
        raise ScenarioError(
            "processes.backlash.actions",
            list(actions),
            "three weights (withdrawn access, closed channel, reprimand), not all 0",
        )
    for i, x in enumerate(s.events):
        p = f"events[{i}]"
        if not s.scenario.start <= x.date <= s.scenario.end:
            raise ScenarioError(
                f"{p}.date", x.date.isoformat(), f"a date between {s.scenario.start} and {s.scenario.end}"
            )
        if x.category in ("election", "dissolution", "session", "coalition"):
            st = next((st for st in s.states if st.id == x.state), None)
            if st is None or st.legislature is None:
                raise ScenarioError(f"{p}.state", x.state, f"a state with a legislature (for a {x.category})")
        if x.category == "commitment" and (x.state is None) == (x.local_government is None):
            raise ScenarioError(
                p, x.category, "either 'state' or 'local_government' (who declares the commitment), not both"
            )
        if x.category in ("state_visit", "pressure") and (x.state is None or x.target is None):
            raise ScenarioError(p, x.category, "both 'state' (who presses) and 'target' (who is pressed)")
        if x.category == "launch" and x.starts is None:
            raise ScenarioError(f"{p}.starts", None, "what the launch starts: 'campaigns' or 'resolutions'")
        if x.category in ("court_ruling", "media") and x.state is None:
            raise ScenarioError(f"{p}.state", None, f"the state whose public a {x.category} moves")
        if x.category == "coalition" and not x.share > 0.0:
            raise ScenarioError(
                f"{p}.share", x.share, "the joining party's share of the coalition's seats, above 0"
            )
        if x.category == "local_support" and x.local_government is None:
            raise ScenarioError(
                f"{p}.local_government", None, "the named local government that supports its groups"
            )
