"""Helpers for the writer's tests: results as the fleet reports them, a migrated database,
and a writer with short waits."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from monitor.checks.base import CheckResult, Outcome, Reason, Status
from monitor.fleet.state import OrganizationTransition
from monitor.redaction import Redactor
from monitor.sink.migrate import migrate
from monitor.sink.writer import StatusSinkWriter, WriterOptions
from monitor.snapshot import Reported
from tests.support.postgres import PASSWORD

# Short waits, so that a test sees retries and flushes within a second or two.
QUICK = WriterOptions(
    flush_seconds=0.05,
    backoff_first_seconds=0.05,
    backoff_max_seconds=0.2,
    write_timeout_seconds=5.0,
)
# Recent: retention, on at every start, would delete an older change at once.
CHECKED_AT = datetime.now(UTC).replace(microsecond=0)


def connected(message: str = "WhatsApp Business Account reachable", **details: Any) -> Reported:
    """A connected result, as reported."""
    return Reported(CheckResult(Outcome.connected(message, details), CHECKED_AT, 12.0))


def failed(reason: Reason, message: str) -> CheckResult:
    """An error result."""
    return CheckResult(Outcome(Status.ERROR, message, {}, reason), CHECKED_AT, 12.0)


def went_wrong(organization: str, reason: Reason, message: str) -> OrganizationTransition:
    """An organization's integration going from connected into error."""
    return OrganizationTransition(
        organization, "whatsapp", "connected", Status.ERROR, failed(reason, message)
    )


def make_writer(
    dsn: str, *, shard: str = "0/1", registry: CollectorRegistry | None = None, **options: Any
) -> StatusSinkWriter:
    """A writer with short waits (and `options` on top)."""
    return StatusSinkWriter(
        SecretStr(dsn),
        shard=shard,
        registry=registry or CollectorRegistry(),
        redactor=Redactor([dsn, PASSWORD]),
        options=dataclasses.replace(QUICK, **options),
    )


async def migrated(dsn: str) -> str:
    """The database with the sink's tables."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await migrate(conn)
    return dsn


async def query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    """Every row of a query, on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute(sql)
        return await cursor.fetchall()
