"""Experiments: many replications of a scenario over a parameter sweep, run
on a local process pool or a Dask cluster and stored as they finish.

An experiment is an ``ExperimentSpec`` (a TOML file, or built in Python): a
scenario, a number of replications, a base seed, fixed overrides and a
sweep. The sweep's cells are the full factorial of the listed values, times
the points of a Latin hypercube over continuous ranges. Each
(cell, replication) is one task whose seed is fixed by the plan alone, so
any executor and any number of workers produce the same rows. Rows reach a
``Store`` (``normflow.store``) as they arrive; ``resume=True`` computes only
the missing ones. Statistics of the table are in ``normflow.stats``.

The package, one idea per module: ``spec`` (what to run), ``plan`` (cells,
seeds, tasks), ``replication`` (one task in a worker), ``executors`` (in
process, process pool, Dask), ``progress``, ``running`` (plan, compute what
is missing, store as rows arrive) and ``results`` (a stored experiment).

Heavy libraries (pandas, pyarrow, scipy, dask, rich) are imported where they
are used, so ``import normflow`` and the rest of the command line stay fast.
"""

# the names after `as` were importable from normflow.experiment before it became a package
from normflow.errors import ExperimentError
from normflow.experiment.executors import default_workers as default_workers
from normflow.experiment.executors import map_in_pool as map_in_pool
from normflow.experiment.plan import Plan, make_plan
from normflow.experiment.plan import fingerprint as fingerprint
from normflow.experiment.progress import Progress
from normflow.experiment.progress import ProgressBar as ProgressBar
from normflow.experiment.replication import PLUGIN_ENV as PLUGIN_ENV
from normflow.experiment.replication import Shared as Shared
from normflow.experiment.replication import Task as Task
from normflow.experiment.replication import outputs_of as outputs_of
from normflow.experiment.replication import run_replication as run_replication
from normflow.experiment.results import Experiment, open_experiment, summarize
from normflow.experiment.running import run_experiment
from normflow.experiment.spec import LG_ROLE as LG_ROLE
from normflow.experiment.spec import LG_ROLE_RANGE as LG_ROLE_RANGE
from normflow.experiment.spec import OUTPUTS as OUTPUTS
from normflow.experiment.spec import ExperimentSpec, LatinHypercube, load_spec, spec_from_dict
from normflow.experiment.spec import Output as Output
from normflow.experiment.spec import spec_or_scenario as spec_or_scenario

__all__ = [
    "Experiment",
    "ExperimentError",
    "ExperimentSpec",
    "LatinHypercube",
    "Plan",
    "Progress",
    "load_spec",
    "make_plan",
    "open_experiment",
    "run_experiment",
    "spec_from_dict",
    "summarize",
]
