"""Logging: structlog events, one per line, JSON off a terminal, secrets scrubbed last.

The standard library's loggers (uvicorn, apscheduler, the SDKs) and `warnings` go through the
same chain, so every log line on stderr has one shape and passes the same redaction. What a
library prints by itself (the Stripe SDK with STRIPE_LOG set) passes the redaction too.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from typing import Any, Literal, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from monitor.checks.base import CheckResult, Status
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
    logging.captureWarnings(True)
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
        scrubbed: EventDict = redactor.scrub_value(event)  # keys included
        return scrubbed

    return scrub


def _scrub_line(redactor: Redactor) -> Any:
    # The last word on a rendered line: catches a secret that rendering escaped or joined.
    def scrub(_: WrappedLogger, __: str, line: str) -> str:
        return redactor.scrub(line)

    return scrub


def scrub_standard_streams(redactor: Redactor) -> None:
    """Make sys.stdout and sys.stderr scrub secrets from what anything prints on them.

    Logging is not the only way out: the Stripe SDK, with STRIPE_LOG=debug or info in the
    environment, prints each request and response (bodies included) straight to stderr with
    print(), and a library may print a warning or a traceback the same way. Turning each
    such switch off would need one private hook per library and miss the next one; this
    catches them all.
    """
    sys.stdout = ScrubbingStream(sys.stdout, redactor)
    sys.stderr = ScrubbingStream(sys.stderr, redactor)


class ScrubbingStream(io.TextIOBase):
    """A text stream that passes what is written on to `target`, a whole line at a time, with
    every secret scrubbed.

    Lines are held until they end (or a flush), so a secret written in two pieces is still
    recognised; a line longer than MAX_PENDING is passed on in parts.
    """

    MAX_PENDING = 64 * 1024

    def __init__(self, target: TextIO, redactor: Redactor) -> None:
        super().__init__()
        self._target = target
        self._redactor = redactor
        self._pending = ""
        self._lock = threading.Lock()  # print() may come from any thread

    def write(self, text: str) -> int:
        """Hold `text` until its line ends, then pass the line on, scrubbed."""
        with self._lock:
            complete, newline, self._pending = (self._pending + text).rpartition("\n")
            if newline:
                self._target.write(self._redactor.scrub(complete + newline))
            if len(self._pending) > self.MAX_PENDING:
                self._pass_pending()
        return len(text)

    def flush(self) -> None:
        """Pass on a partial line too, then flush the target."""
        with self._lock:
            self._pass_pending()
            self._target.flush()

    def _pass_pending(self) -> None:
        if self._pending:
            self._target.write(self._redactor.scrub(self._pending))
            self._pending = ""

    def writable(self) -> bool:
        """Always."""
        return True

    def isatty(self) -> bool:
        """Whether the target is a terminal."""
        return self._target.isatty()

    def fileno(self) -> int:
        """The target's descriptor (for faulthandler and the like)."""
        return self._target.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The target's encoding."""
        return self._target.encoding


def log_state_change(
    logger: Any,
    integration: str,
    previous: str,
    current: Status,
    result: CheckResult,
    **context: str,
) -> None:
    """One `integration.state_changed` event; warning when it goes into error.

    `context` adds fields such as the organization in fleet mode.
    """
    fields: dict[str, object] = {
        **context,
        "integration": integration,
        "previous": previous,
        "current": current.value,
        "message": result.outcome.message,
        "duration_ms": result.duration_ms,
    }
    if result.reason is not None:
        fields["reason"] = result.reason.value
    level = logging.WARNING if current is Status.ERROR else logging.INFO
    logger.log(level, "integration.state_changed", **fields)
