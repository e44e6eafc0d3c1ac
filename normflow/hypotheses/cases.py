"""What counts, in each bundled scenario, as the issue reaching the agenda
and as norm-consistent policy being institutionalized: the milestones the
designs read (docs/hypotheses.md says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    pass


@attrs.frozen
class CaseOutcomes:
    """What counts, in one scenario, as the issue reaching the agenda (the
    earlier step) and as norm-consistent policy being institutionalized."""

    agenda: str
    agenda_means: str
    institutionalized: str
    institutionalized_means: str

    def outcomes(self) -> tuple[tuple[str, str, str], ...]:
        """(role, milestone, meaning) for the agenda step, then the policy."""
        return (
            ("agenda", self.agenda, self.agenda_means),
            ("institutionalized", self.institutionalized, self.institutionalized_means),
        )


#: Per scenario, the milestones the designs read (docs/hypotheses.md says why).
CASES: dict[str, CaseOutcomes] = {
    "kawasaki-suffrage": CaseOutcomes(
        "agenda_placed",
        "the issue on the Diet's agenda",
        "policy_changed:japan",
        "a suffrage bill enacted (Japan's policy changed)",
    ),
    "kitakyushu-dalian": CaseOutcomes(
        "negotiation_opened:dalian-aid",
        "Beijing approaches Tokyo (the issue on the interstate agenda)",
        "policy_changed:japan",
        "Japan adopts the city-to-city plan as an aid project",
    ),
    "niigata-harbin": CaseOutcomes(
        "negotiation_main:harbin-khabarovsk",
        "the route on the Sino-Soviet negotiation agenda",
        "policy_changed:china",
        "the route agreed (China's policy changed)",
    ),
    "generic": CaseOutcomes(
        "agenda_placed:rights-home",
        "the issue on Home's legislative agenda",
        "policy_changed:home",
        "Home's policy changed (a bill or the agreement)",
    ),
}


ALL_SCENARIOS = tuple(CASES)


def meaning_of(scenario: str, outcome: str) -> str:
    """What a milestone stands for in a scenario (empty for other outcomes)."""
    case = CASES.get(scenario)
    if case is None:
        return ""
    return {case.agenda: case.agenda_means, case.institutionalized: case.institutionalized_means}.get(
        outcome, ""
    )
