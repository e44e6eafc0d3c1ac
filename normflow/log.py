"""The run's own log (structlog): readable lines on stderr by default, JSON
lines with ``--log-json``. Context (scenario, seed) is bound once per run.

Until ``configure`` is called the log is silent, and structlog (which pulls
in rich and asyncio) is not even imported: a library user who never asks for
the log never pays for it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import structlog

_configured = False


def configure(json: bool = False, level: str = "warning") -> None:
    global _configured
    import logging

    import structlog

    _configured = True
    processors: list = [
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class _Silent:
    """The log before ``configure``: every method a bound logger offers, doing nothing."""

    __slots__ = ()

    def bind(self, **context: object) -> _Silent:
        return self

    def new(self, **context: object) -> _Silent:
        return self

    def unbind(self, *keys: str) -> _Silent:
        return self

    def _nothing(self, *args: Any, **kwargs: Any) -> None:
        return None

    debug = info = warning = warn = error = critical = exception = msg = log = _nothing


_SILENT = _Silent()


def get_logger(**context: object) -> structlog.typing.FilteringBoundLogger:
    """The run's logger with ``context`` bound. Silent unless ``configure``
    was called (the CLI does; a library user may), so importing normflow
    never prints on anyone's stdout."""
    if not _configured:
        return _SILENT  # type: ignore[return-value]
    import structlog

    return structlog.get_logger("normflow").bind(**context)
