"""Logging: structlog events, one per line, JSON off a terminal, secrets scrubbed last.

The standard library's loggers (uvicorn, apscheduler, the SDKs) go through the same chain, so
every line on stderr has one shape and passes the same redaction.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from monitor.redaction import Redactor

LogFormat = Literal["json", "console", "auto"]


def configure_logging(
    log_format: LogFormat, level: str, redactor: Redactor, stream: TextIO | None = None
) -> None:
    """Send every log event to `stream` (stderr) in the chosen format, redacted."""
    stream = stream or sys.stderr
    as_json = log_format == "json" or (log_format == "auto" and not stream.isatty())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        # Plain tracebacks: a rich one would print locals, shortened past what the scrubber
        # can recognise.
        else structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if as_json else []),
            _scrub_event(redactor),
            renderer,
            _scrub_line(redactor),
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Their INFO lines repeat what our own events already say.
    for chatty in ("apscheduler", "httpx", "httpcore", "stripe", "uvicorn.access"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def _scrub_event(redactor: Redactor) -> Processor:
    def scrub(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        return {key: redactor.scrub_value(value) for key, value in event.items()}

    return scrub


def _scrub_line(redactor: Redactor) -> Any:
    # The last word on a rendered line: catches a secret that rendering escaped or joined.
    def scrub(_: WrappedLogger, __: str, line: str) -> str:
        return redactor.scrub(line)

    return scrub
