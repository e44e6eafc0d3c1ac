"""Arms: the conditions a design compares -- the same scenario under a
local-government role, interventions (``normflow.interventions``) and, where
a design needs them, field settings (``settings``: scenario paths and
values, as ``--set`` takes them). An arm's settings lie *under* the
command's overrides: a mechanism variant given as an override changes every
arm alike, including a value the design sets.
"""

from __future__ import annotations

import hashlib
import json
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
    settings: tuple[tuple[str, Any], ...] = attrs.field(
        default=(), converter=lambda v: tuple(sorted(dict(v).items()))
    )

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
        if iv.foreign_scale != 1.0:
            parts.append(f"foreign{iv.foreign_scale:g}")
        if iv.penetrability is not None:
            parts.append(f"penetrability{iv.penetrability:g}")
        if iv.off:
            parts.append("off-" + "-".join(iv.off))
        if self.settings:
            data = json.dumps([[k, v] for k, v in self.settings], default=str)
            parts.append("set" + hashlib.sha256(data.encode("utf-8")).hexdigest()[:8])
        return "-".join(parts)

    def describe(self) -> str:
        text = f"local-government role {self.local_government_role:g}; {self.interventions.label()}"
        if self.settings:
            text += "; " + ", ".join(f"{k} = {v}" for k, v in self.settings)
        return text

    def to_dict(self) -> dict[str, Any]:
        out = {"local_government_role": self.local_government_role, **self.interventions.to_dict()}
        if self.settings:
            out["settings"] = dict(self.settings)
        return out


def without(**switches: Any) -> Interventions:
    return Interventions(**switches)
