"""Logging: one JSON object per line on stdout, with an ISO UTC timestamp.

Trackway's own code logs through `get_logger()` (structlog). Records of
other libraries that use the standard `logging` module (uvicorn, alembic)
are rendered the same way once `configure_logging` has run. Nothing here
logs request bodies, keys, emails, phones or IPs: callers pass only safe
fields, and tracebacks carry no local variables.
"""

import logging
import sys
from typing import Any, TextIO, cast

import structlog
from structlog.typing import FilteringBoundLogger, Processor

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_HANDLER_NAME = "trackway-json"


def configure_logging(level: str, stream: TextIO | None = None) -> None:
    """Log at `level` and above ("debug", "info", "warning", "error") as
    JSON lines to `stream` (stdout when None). Safe to call again: the
    previous configuration is replaced, not stacked."""
    threshold = _threshold(level)
    output = stream or sys.stdout
    stamp: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*stamp, *_render()],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=_NamedLoggerFactory(output),
        # Uncached, so a later call (tests, CLI) reaches loggers made earlier.
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(threshold, output, stamp)
    # Alembic narrates every start-up migration check; only its warnings
    # are worth a line.
    logging.getLogger("alembic").setLevel(max(threshold, logging.WARNING))


def get_logger(name: str = "trackway") -> FilteringBoundLogger:
    """A logger whose lines carry `"logger": name`."""
    return cast(FilteringBoundLogger, structlog.get_logger(name))


class _NamedWriteLogger(structlog.WriteLogger):
    # `name` is what structlog.stdlib.add_logger_name reads.
    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


class _NamedLoggerFactory:
    def __init__(self, file: TextIO) -> None:
        self._file = file

    def __call__(self, *args: Any) -> _NamedWriteLogger:
        name = str(args[0]) if args else "trackway"
        return _NamedWriteLogger(self._file, name)


def _threshold(level: str) -> int:
    try:
        return LEVELS[level.lower()]
    except KeyError:
        known = ", ".join(LEVELS)
        raise ValueError(f"log level {level!r} is not one of {known}") from None


def _render() -> list[Processor]:
    return [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ]


def _route_standard_logging(
    threshold: int, output: TextIO, stamp: list[Processor]
) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=stamp,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_render(),
        ],
    )
    handler = logging.StreamHandler(output)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
