"""The article's five hypotheses (THEORY.md, H1-H5) as designed experiments.

Each hypothesis is a *design*: a set of arms (the same scenario under a
local-government role and interventions, ``normflow.interventions``), the
scenarios it applies to, and an analysis that turns the runs into effects
with 95% intervals and a verdict. ``run_hypotheses`` runs every arm of every
requested design, ``normflow hypotheses`` is its command.

Pairing (common random numbers): replication *k* of every arm, on every
scenario, runs with the ``SeedSequence`` whose entropy is the base seed and
whose spawn key is ``(k,)`` -- the *k*-th child of
``SeedSequence(seed).spawn(n)``, exactly as ``normflow experiment`` seeds
replication *k*. Arms therefore differ in what they switch, not in their
luck, and every effect is the mean of per-replication paired differences.
Its interval is a paired bootstrap over replications (BCa,
``normflow.stats.mean_interval``; Student t under 10 pairs). Shares per arm
carry Wilson intervals, times to a milestone Kaplan-Meier medians.

Runs are stored as they finish (``normflow.store``), one store per arm
under ``OUT/runs/<scenario>/<version>/<arm>``, where the version names the
scenario's text, its overrides and the seed. An arm shared by several
designs (the scenario as written, say) runs once; an interrupted command
continues where it stopped when run again; a recalibrated scenario gets new
stores and the others are reused. Tables and plots go to ``OUT/h1.csv``,
``OUT/h1.png`` ... The designs and the measured results are explained in
``docs/hypotheses.md``.

The package: ``cases`` (the milestones each scenario's outcomes are),
``arms`` (the conditions), ``effects`` (the paired analysis every design
shares), ``design`` (the base class and its results), ``h1`` ... ``h5``
(one module per design), ``designs`` (the designs by key) and ``running``
(jobs, stores, workers, the written tables).
"""

from normflow.hypotheses.arms import RESOURCE_LEVELS as RESOURCE_LEVELS
from normflow.hypotheses.arms import Arm
from normflow.hypotheses.cases import ALL_SCENARIOS as ALL_SCENARIOS
from normflow.hypotheses.cases import CASES
from normflow.hypotheses.cases import CaseOutcomes as CaseOutcomes
from normflow.hypotheses.cases import meaning_of as meaning_of
from normflow.hypotheses.design import ARM_COLUMNS as ARM_COLUMNS
from normflow.hypotheses.design import EFFECT_COLUMNS as EFFECT_COLUMNS
from normflow.hypotheses.design import Analysis as Analysis
from normflow.hypotheses.design import Design, HypothesisResult
from normflow.hypotheses.designs import DESIGNS
from normflow.hypotheses.effects import NOT_APPLICABLE as NOT_APPLICABLE
from normflow.hypotheses.effects import NOT_SUPPORTED as NOT_SUPPORTED
from normflow.hypotheses.effects import SUPPORTED as SUPPORTED
from normflow.hypotheses.effects import TOO_FEW as TOO_FEW
from normflow.hypotheses.effects import days_to as days_to
from normflow.hypotheses.effects import paired_effect as paired_effect
from normflow.hypotheses.effects import reached as reached
from normflow.hypotheses.h1 import H1 as H1
from normflow.hypotheses.h2 import H2 as H2
from normflow.hypotheses.h3 import H3 as H3
from normflow.hypotheses.h4 import H4 as H4
from normflow.hypotheses.h5 import H5 as H5
from normflow.hypotheses.running import Job as Job
from normflow.hypotheses.running import Task as Task
from normflow.hypotheses.running import run_hypotheses
from normflow.hypotheses.running import run_task as run_task

__all__ = [
    "Arm",
    "CASES",
    "DESIGNS",
    "Design",
    "HypothesisResult",
    "run_hypotheses",
]
