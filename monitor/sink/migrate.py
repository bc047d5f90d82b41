"""Applying the migrations: each in a transaction of its own, under an advisory lock, once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from monitor.sink.schema import BOOTSTRAP, MIGRATION_LOCK_KEY, MIGRATIONS, SCHEMA, Migration


@dataclass(frozen=True)
class MigrationReport:
    """Where the schema was and where it is now."""

    before: int
    after: int
    applied: tuple[Migration, ...]


async def current_version(conn: AsyncConnection[Any]) -> int:
    """The schema's version: 0 when the sink's tables were never created."""
    cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.schema_version",))
    row = await cursor.fetchone()
    if row is None or not row[0]:
        return 0
    cursor = await conn.execute(
        "SELECT coalesce(max(version), 0) FROM integration_monitor.schema_version"
    )
    row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def migrate(
    conn: AsyncConnection[Any], migrations: Sequence[Migration] = MIGRATIONS
) -> MigrationReport:
    """Apply every migration the database lacks, one transaction each.

    Each transaction first takes the advisory lock, then reads the version: a second process
    migrating at the same time waits, then finds the step done and skips it.

    Args:
        conn: a connection with autocommit off.
        migrations: the steps, in order (an older release's are a prefix of them).
    """
    before: int | None = None
    applied: list[Migration] = []
    for migration in migrations:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            version = await current_version(conn)
            before = version if before is None else before
            if version >= migration.version:
                continue
            if version == 0:
                for statement in BOOTSTRAP:
                    await conn.execute(statement)
            await _apply(conn, migration)
        applied.append(migration)
    async with conn.transaction():
        after = await current_version(conn)
    return MigrationReport(before or 0, after, tuple(applied))


async def _apply(conn: AsyncConnection[Any], migration: Migration) -> None:
    for statement in migration.statements:
        await conn.execute(statement)
    await conn.execute(
        "INSERT INTO integration_monitor.schema_version (version, description) VALUES (%s, %s)",
        (migration.version, migration.description),
    )
