"""The exceptions studies raise when they cannot go on.

Studies (experiments, hypotheses, reports, ...) never print or exit: they
raise, and only the command line (``normflow.cli``) turns an exception into
one line on stderr and an exit code. Bad input is ``ScenarioError``
(``normflow.schema``) or ``StoreError`` (``normflow.store``); the ones here
are the rest.
"""

from __future__ import annotations

__all__ = ["ExperimentError", "ReportError"]


class ExperimentError(Exception):
    """An experiment cannot go on (a dead worker, an unreachable scheduler): exit 1."""


class ReportError(Exception):
    """The directory cannot be reported on (one line for the user): exit 2."""
