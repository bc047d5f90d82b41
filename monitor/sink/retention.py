"""Deleting state changes older than MONITOR_STATUS_SINK_RETENTION_DAYS: at start, then hourly,
in chunks of a transaction each (a year of changes never holds one long lock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import structlog

from monitor.sink import statements

log = structlog.get_logger("monitor.sink")


class Retention:
    """When the next chunk is due, and deleting it.

    Args:
        days: changes older than this go.
        every_seconds: how long after a finished pass the next one starts.
        chunk_rows: rows deleted per transaction.
        timeout_seconds: bounds each statement on the server.
        monotonic: the clock (a fake in tests).
    """

    def __init__(
        self,
        days: float,
        every_seconds: float,
        chunk_rows: int,
        timeout_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.days = days
        self._every = every_seconds
        self._chunk = chunk_rows
        self._timeout = timeout_seconds
        self._monotonic = monotonic
        self._next = monotonic()  # once at start
        self._deleted = 0  # over the pass under way

    def due(self) -> bool:
        """Whether a chunk should be deleted now (a pass is starting or under way)."""
        return self._monotonic() >= self._next

    async def step(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Delete one chunk; a chunk that is not full ends the pass."""
        deleted = await statements.delete_old_changes(conn, self.days, self._chunk, self._timeout)
        self._deleted += deleted
        if deleted < self._chunk:
            self._next = self._monotonic() + self._every
            if self._deleted:
                log.info("sink.retention", deleted=self._deleted, older_than_days=self.days)
            self._deleted = 0
