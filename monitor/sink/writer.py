"""The background writer: batches of the sink's rows, one transaction each, about once a second.

Checks only hand rows to the buffer (O(1), never waiting); this loop alone talks to the database.
While the database is away it keeps the rows (bounded: see `buffer`), counts each failed attempt,
and tries again after 1, 2, 4 ... up to 60 s, on a new connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
import structlog
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from monitor.redaction import Redactor
from monitor.sink import statements
from monitor.sink.buffer import MAX_CHANGES, Batch, ChangeRow, Removal, SinkBuffer, StatusRow
from monitor.sink.connection import plain_error
from monitor.sink.metrics import SinkMetrics
from monitor.sink.retention import Retention
from monitor.sink.schema import LATEST_VERSION
from monitor.sink.session import SchemaNotReady, SinkSession, cancel_firmly

if TYPE_CHECKING:
    from monitor.fleet.state import OrganizationTransition
    from monitor.snapshot import Reported

log = structlog.get_logger("monitor.sink")


@dataclass(frozen=True)
class WriterOptions:
    """How the writer batches, waits and gives up; the defaults suit production."""

    flush_seconds: float = 1.0
    batch_rows: int = 2000  # per table and transaction
    max_changes: int = MAX_CHANGES
    write_timeout_seconds: float = 15.0  # one attempt, connecting included
    backoff_first_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    retention_every_seconds: float = 3600.0
    retention_chunk_rows: int = 5000
    final_flush_seconds: float = 1.0  # on stop; a clean SIGTERM exits within 2 s
    retention_days: float = 30.0  # state changes older than this are deleted


class StatusSinkWriter:
    """Writes every organization's latest status and its state changes to PostgreSQL.

    The daemon does not create the tables: `integration-monitor migrate` does, run once by an
    operator with the rights to. Until they exist each attempt logs an error and is counted;
    the checks go on.

    Args:
        dsn: the sink's database (MONITOR_STATUS_SINK_URL, else DATABASE_URL).
        shard: this process's shard ("i/n"), written with each row.
        registry: where the sink's metrics go.
        redactor: scrubs secrets out of what is logged.
        options: batching, timeouts and backoff.
        clock, monotonic: clocks (fakes in tests).
    """

    def __init__(
        self,
        dsn: SecretStr,
        *,
        shard: str,
        registry: CollectorRegistry,
        redactor: Redactor,
        options: WriterOptions | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shard = shard
        self._redactor = redactor
        self.options = options = options or WriterOptions()
        self._clock = clock
        self._monotonic = monotonic
        self._buffer = SinkBuffer(options.max_changes, self._dropped)
        self.metrics = SinkMetrics(registry, self._buffer.pending_rows)
        self._wake = asyncio.Event()
        self._session = SinkSession(dsn, options.write_timeout_seconds)
        self._retention = Retention(
            options.retention_days,
            options.retention_every_seconds,
            options.retention_chunk_rows,
            options.write_timeout_seconds,
            monotonic,
        )
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._pausing = False  # after a failure, waiting to try again
        self._failures = 0

    def __repr__(self) -> str:
        return f"StatusSinkWriter(shard={self.shard!r})"

    # --- what the fleet hands over: synchronous, O(1), never waits ----------------------------

    def record_status(self, organization: str, integration: str, entry: Reported) -> None:
        """The status now reported for one organization's integration."""
        result = entry.reported
        outcome = result.outcome
        self._buffer.put_status(
            StatusRow(
                organization,
                integration,
                outcome.status.value,
                outcome.reason.value if outcome.reason is not None else None,
                outcome.message,
                outcome.details,
                result.checked_at,
                self._clock(),
            )
        )
        self._wake_if_full()

    def record_change(self, transition: OrganizationTransition) -> None:
        """A change of an organization's reported status, as logged."""
        outcome = transition.result.outcome
        self._buffer.add_change(
            ChangeRow(
                transition.organization,
                transition.integration,
                transition.previous,
                transition.current.value,
                outcome.reason.value if outcome.reason is not None else None,
                outcome.message,
                transition.result.checked_at,
            )
        )
        self._wake_if_full()

    def keep_only(
        self,
        organization_ids: frozenset[str],
        loaded_at: float,
        integrations: frozenset[str] | None = None,
    ) -> None:
        """After a load: rows of organizations not in `organization_ids`, and of integrations
        not in `integrations`, are deleted."""
        self._buffer.keep_only(Removal(organization_ids, loaded_at, integrations))
        self._wake.set()

    def pending_rows(self) -> int:
        """Rows not yet in the database."""
        return self._buffer.pending_rows()

    def _wake_if_full(self) -> None:
        if len(self._buffer) >= self.options.batch_rows:
            self._wake.set()

    def _dropped(self, count: int) -> None:
        self.metrics.dropped_changes.inc(count)

    # --- the loop --------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in the background until `close`."""
        log.info(
            "sink.started",
            shard=self.shard,
            flush_seconds=self.options.flush_seconds,
            batch_rows=self.options.batch_rows,
            retention_days=self.options.retention_days,
        )
        self._task = asyncio.create_task(self._run(), name="status-sink")

    async def close(self) -> None:
        """Let a write under way end, make one last attempt to write what waits, disconnect:
        all within `final_flush_seconds`, whatever the database does."""
        deadline = self._monotonic() + self.options.final_flush_seconds
        self._stopping = True
        self._wake.set()  # an idle loop ends at once
        task, self._task = self._task, None
        if task is not None:
            if self._pausing:  # waiting to retry: nothing is under way
                task.cancel()
            await asyncio.wait({task}, timeout=self._left(deadline))
            if not task.done():
                await cancel_firmly(task)
        last = asyncio.create_task(self._flush_everything(), name="status-sink-last-flush")
        await asyncio.wait({last}, timeout=self._left(deadline))
        if not last.done():
            await cancel_firmly(last)
        gave_up = not last.done() or last.cancelled()
        error = TimeoutError() if gave_up else last.exception()
        if error is not None:  # stopping: say what is lost, never raise
            log.warning(
                "sink.unwritten_on_stop",
                pending_rows=self._buffer.pending_rows(),
                error=plain_error(error, self._redactor),
            )
        await self._session.disconnect()

    def _left(self, deadline: float) -> float:
        return max(0.0, deadline - self._monotonic())

    async def _run(self) -> None:
        while not self._stopping:
            try:
                async with asyncio.timeout(self.options.write_timeout_seconds):
                    await self._write_once()
            except Exception as exc:  # the loop's boundary: counted, logged, retried later
                if self._stopping:  # cut short by the stop: close() reports what is left
                    return
                self._failed(exc)
                await self._pause(self._backoff())
                continue
            await self._idle()

    async def _pause(self, seconds: float) -> None:
        self._pausing = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self._pausing = False

    async def _idle(self) -> None:
        if len(self._buffer) >= self.options.batch_rows or self._retention.due():
            return  # more to do now
        self._wake.clear()
        if self._stopping:
            return
        try:
            async with asyncio.timeout(self.options.flush_seconds):
                await self._wake.wait()
        except TimeoutError:
            pass

    def _backoff(self) -> float:
        first, most = self.options.backoff_first_seconds, self.options.backoff_max_seconds
        return float(min(most, first * 2 ** min(self._failures - 1, 32)))

    async def _write_once(self) -> None:
        retention_due = self._retention.due()
        if not self._buffer.has_work() and not retention_due:
            return  # nothing to say: the database is not asked, the metrics stay as they are
        async with self._session.connection() as conn:
            await self._flush(conn)
            if retention_due:
                await self._retention.step(conn)
        self._succeeded()

    async def _flush_everything(self) -> None:
        while self._buffer.has_work():
            async with self._session.connection() as conn:
                await self._flush(conn)

    async def _flush(self, conn: psycopg.AsyncConnection[Any]) -> None:
        batch = self._buffer.take(self.options.batch_rows)
        if not batch:
            self._buffer.written(batch)
            return
        try:
            removed = await statements.write_batch(
                conn, batch, self.shard, self.options.write_timeout_seconds
            )
        except BaseException:
            self._buffer.give_back(batch)
            raise
        self._buffer.written(batch)
        self._count(batch, removed)

    def _count(self, batch: Batch, removed: int) -> None:
        self.metrics.rows_written.labels("organization_status").inc(len(batch.statuses))
        self.metrics.rows_written.labels("state_changes").inc(len(batch.changes))
        if removed:
            log.info("sink.organizations_removed", rows=removed)

    # --- outcomes --------------------------------------------------------------------------

    def _succeeded(self) -> None:
        if self._failures:
            log.info("sink.recovered", failed_attempts=self._failures)
        self._failures = 0
        self.metrics.up.set(1)
        self.metrics.last_success.set(self._clock())

    def _failed(self, exc: Exception) -> None:
        self._failures += 1
        self.metrics.errors.inc()
        self.metrics.up.set(0)
        retry_in = self._backoff()
        if isinstance(exc, SchemaNotReady):
            log.error(
                "sink.schema_not_ready",
                found_version=exc.found,
                needed_version=LATEST_VERSION,
                message="run `integration-monitor migrate` to create or upgrade the tables",
                retry_in_seconds=retry_in,
            )
            return
        log.warning(
            "sink.write_failed",
            error=plain_error(exc, self._redactor),
            pending_rows=self._buffer.pending_rows(),
            retry_in_seconds=retry_in,
        )
