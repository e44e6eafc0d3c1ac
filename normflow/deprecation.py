"""How normflow retires a name: warned for one minor release, then removed.

A renamed or withdrawn part of the public API (a hook, a hook argument, a
world field, a scenario key) keeps working for one minor release after the
one that replaces it, and every use warns with ``NormflowDeprecationWarning``
naming the replacement and the release that removes it (the policy is in
docs/plugins.md). The warning is a ``FutureWarning``, so Python shows it by
default, and plugin test suites can turn it into an error with
``-W error::normflow.NormflowDeprecationWarning``.
"""

from __future__ import annotations

__all__ = ["NormflowDeprecationWarning"]


class NormflowDeprecationWarning(FutureWarning):
    """A deprecated part of normflow's API was used; the message says what
    replaces it and in which release it goes."""
