"""The five designs by key, and the lookup the command line uses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from normflow.hypotheses.design import Design
from normflow.hypotheses.h1 import H1
from normflow.hypotheses.h2 import H2
from normflow.hypotheses.h3 import H3
from normflow.hypotheses.h4 import H4
from normflow.hypotheses.h5 import H5
from normflow.schema import ScenarioError

if TYPE_CHECKING:
    pass


DESIGNS: dict[str, Design] = {d.key: d for d in (H1(), H2(), H3(), H4(), H5())}


def resolve(keys: Sequence[str | Design]) -> list[Design]:
    designs: list[Design] = []
    for key in keys:
        if isinstance(key, Design):
            designs.append(key)
            continue
        name = key.upper()
        if name == "ALL":
            designs.extend(d for d in DESIGNS.values() if d not in designs)
            continue
        if name not in DESIGNS:
            raise ScenarioError("HYPOTHESIS", key, f"one of {', '.join(DESIGNS)} or all")
        if DESIGNS[name] not in designs:
            designs.append(DESIGNS[name])
    return designs
