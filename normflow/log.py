"""The run's own log (structlog): readable lines on stderr by default, JSON
lines with ``--log-json``. Context (scenario, seed) is bound once per run."""

from __future__ import annotations

import logging
import sys

import structlog

_configured = False


def configure(json: bool = False, level: str = "warning") -> None:
    global _configured
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


def get_logger(**context: object) -> structlog.typing.FilteringBoundLogger:
    """The run's logger with ``context`` bound. Silent unless ``configure``
    was called (the CLI does; a library user may), so importing normflow
    never prints on anyone's stdout."""
    if not _configured:
        return structlog.wrap_logger(
            structlog.ReturnLogger(), wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL)
        ).bind(**context)
    return structlog.get_logger("normflow").bind(**context)
