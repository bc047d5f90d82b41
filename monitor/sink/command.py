"""`integration-monitor migrate`: create or upgrade the sink's tables, idempotently.

Exit 0 when the schema is current (whether or not anything was applied), 1 when the database
cannot be reached or refuses; the caller exits 2 on bad configuration (`sink_problems`).
"""

from __future__ import annotations

import asyncio
from typing import TextIO

import psycopg
from pydantic import SecretStr

from monitor.config import Settings
from monitor.redaction import Redactor
from monitor.sink.build import sink_dsn, warn_if_unencrypted
from monitor.sink.connection import connect, plain_error
from monitor.sink.migrate import MigrationReport, migrate
from monitor.sink.schema import LATEST_VERSION

CONNECT_TIMEOUT_SECONDS = 10.0
# DDL waits for locks (another shard migrating, a long query on the tables); not for ever.
MIGRATE_TIMEOUT_SECONDS = 120.0


def sink_problems(settings: Settings) -> list[str]:
    """What `migrate` needs from the configuration, in plain words."""
    if sink_dsn(settings) is None:
        return [
            "migrate needs MONITOR_STATUS_SINK_URL or DATABASE_URL:"
            " the database to create the status sink's tables in"
        ]
    return []


def run_migrate(settings: Settings, out: TextIO, err: TextIO, *, keep_going: bool = False) -> int:
    """Migrate, say what was done; 0 on success, 1 when the database failed (0 with
    `keep_going`: the daemon then says `sink.schema_not_ready` until a migration succeeds)."""
    dsn = sink_dsn(settings)
    assert dsn is not None  # noqa: S101 - sink_problems() was checked first
    warn_if_unencrypted(dsn)
    try:
        report = asyncio.run(_migrate(dsn))
    except (psycopg.Error, OSError, TimeoutError) as exc:
        said = plain_error(exc, Redactor(settings.secret_values()))
        err.write(f"integration-monitor: migrate failed: {said}\n")
        if keep_going:
            err.write("integration-monitor: going on without it (--keep-going)\n")
            return 0
        return 1
    out.write(describe(report))
    return 0


async def _migrate(dsn: SecretStr) -> MigrationReport:
    async with asyncio.timeout(MIGRATE_TIMEOUT_SECONDS):
        conn = await connect(dsn, CONNECT_TIMEOUT_SECONDS)
        try:
            return await migrate(conn)
        finally:
            await conn.close()  # never waits on the server: it rolls back what it held


def describe(report: MigrationReport) -> str:
    """What migrate did, for the operator."""
    if not report.applied:
        if report.after > LATEST_VERSION:
            return (
                f"the status sink's schema is at version {report.after}, newer than this"
                f" release's {LATEST_VERSION}; nothing changed\n"
            )
        return f"the status sink's schema is already at version {report.after}; nothing changed\n"
    lines = [f"the status sink's schema is now at version {report.after} (was {report.before})"]
    lines += [f"  applied {m.version}: {m.description}" for m in report.applied]
    return "\n".join(lines) + "\n"
