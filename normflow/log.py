"""The run's own log (structlog): readable lines on stderr by default, JSON
lines with ``--log-json``. Context (scenario, seed) is bound once per run.

Until ``configure`` is called the log is silent, and structlog (which pulls
in rich and asyncio) is not even imported: a library user who never asks for
the log never pays for it. After ``configure`` structlog is still imported
only when a message at or above the chosen level is logged, or the logger is
used in any other way: the run logs at ``info``, so ``normflow run`` at the
default level (``warning``) never loads it (about a quarter of the command's
start-up)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import structlog

_configured = False

#: ``configure``'s arguments while structlog is not configured with them yet
_pending: tuple[bool, str] | None = None

#: the numeric levels of structlog's filtering loggers (those of ``logging``)
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "critical": 50}
_min_level = _LEVELS["warning"]


def configure(json: bool = False, level: str = "warning") -> None:
    global _configured, _pending, _min_level
    _configured = True
    _min_level = _LEVELS.get(level.lower(), 0)  # a level not listed: nothing dropped here
    _pending = (json, level)
    if "structlog" in sys.modules:
        _apply()  # already paid for: configure it now, as before


def _apply() -> None:
    """Configure structlog with ``configure``'s latest arguments (once)."""
    global _pending
    if _pending is None:
        return
    import logging

    import structlog

    json, level = _pending
    _pending = None
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


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


class _Deferred:
    """The log after ``configure``, before structlog is needed. A message below
    the level is dropped here, as structlog's filtering logger drops it (it
    returns None); anything else (a message at or above the level, ``bind``,
    any other attribute) is the bound structlog logger's, made on first use
    with the same context (``tests/test_startup.py`` compares the two)."""

    __slots__ = ("_context", "_logger")

    def __init__(self, context: dict[str, object]) -> None:
        self._context = context
        self._logger: Any = None

    def __getattr__(self, name: str) -> Any:
        if _LEVELS.get(name, 100) < _min_level:
            return _nothing
        if self._logger is None:
            _apply()
            import structlog

            self._logger = structlog.get_logger("normflow").bind(**self._context)
        return getattr(self._logger, name)


def get_logger(**context: object) -> structlog.typing.FilteringBoundLogger:
    """The run's logger with ``context`` bound. Silent unless ``configure``
    was called (the CLI does; a library user may), so importing normflow
    never prints on anyone's stdout."""
    if not _configured:
        return _SILENT  # type: ignore[return-value]
    return _Deferred(context)  # type: ignore[return-value]
