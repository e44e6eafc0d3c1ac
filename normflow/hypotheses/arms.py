"""Arms: the conditions a design compares -- the same scenario under a
local-government role and interventions (``normflow.interventions``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from normflow.interventions import Interventions

if TYPE_CHECKING:
    pass

RESOURCE_LEVELS = (0.25, 1.0, 4.0)


@attrs.frozen
class Arm:
    """One condition: the local-government role and the interventions."""

    local_government_role: float = 1.0
    interventions: Interventions = attrs.field(factory=Interventions)

    @property
    def key(self) -> str:
        """A directory name that says what the arm is."""
        iv = self.interventions
        parts = [f"role{self.local_government_role:g}"]
        if not iv.domestic:
            parts.append("no-domestic")
        if not iv.international:
            parts.append("no-international")
        if not iv.local_resolutions:
            parts.append("no-resolutions")
        if iv.resource_scale != 1.0:
            parts.append(f"resources{iv.resource_scale:g}")
        return "-".join(parts)

    def describe(self) -> str:
        return f"local-government role {self.local_government_role:g}; {self.interventions.label()}"

    def to_dict(self) -> dict[str, Any]:
        return {"local_government_role": self.local_government_role, **self.interventions.to_dict()}


def without(**switches: Any) -> Interventions:
    return Interventions(**switches)
