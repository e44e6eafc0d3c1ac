"""Hypothesis profiles: quick by default, thorough on demand.

``register_profiles()`` (call it from a ``conftest.py``) registers two
profiles and loads one:

- ``ci``: few examples, no deadline (a run's duration varies with the
  machine, and a timing is not a property), and derandomized: the examples
  are the same on every run, so the README's ``pytest -q`` passes or fails
  the same way in every clone; the default.
- ``thorough``: many more examples drawn at random (the search for new
  counterexamples), for a run before a release or after a change to the
  engine; a failure it finds becomes an ``@example`` or a regression test.

The profile is chosen by ``pytest --hypothesis-profile=thorough`` or by the
environment variable ``NORMFLOW_HYPOTHESIS_PROFILE``. Tests whose examples
cost very different amounts (parsing a file vs. simulating ten years) give
their own budget for each profile with ``examples(ci=..., thorough=...)``
(or ``budget(...)`` for a plain number of seeds).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

__all__ = ["CI", "ENV_VAR", "THOROUGH", "budget", "examples", "register_profiles"]

CI = "ci"
THOROUGH = "thorough"
ENV_VAR = "NORMFLOW_HYPOTHESIS_PROFILE"

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}


def register_profiles(ci_examples: int = 25, thorough_examples: int = 1000) -> str:
    """Register the ``ci`` and ``thorough`` profiles and load the one chosen
    by ``NORMFLOW_HYPOTHESIS_PROFILE`` (default ``ci``). Returns its name.

    ``pytest --hypothesis-profile=NAME`` is applied after this and wins."""
    settings.register_profile(CI, max_examples=ci_examples, derandomize=True, database=None, **_COMMON)
    # explicit: under CI=true Hypothesis loads its own derandomized "ci" defaults, which a
    # profile that leaves derandomize unset would inherit
    settings.register_profile(THOROUGH, max_examples=thorough_examples, derandomize=False, **_COMMON)
    name = os.environ.get(ENV_VAR) or CI
    settings.load_profile(name)
    return name


def budget(ci: int, thorough: int) -> int:
    """``thorough`` under the thorough profile, ``ci`` under any other: a
    number of replications, seeds or examples that scales with the profile."""
    return thorough if settings.get_current_profile_name() == THOROUGH else ci


def examples(ci: int, thorough: int) -> settings:
    """Settings with ``max_examples`` set for the loaded profile (see ``budget``)."""
    return settings(max_examples=budget(ci, thorough))
