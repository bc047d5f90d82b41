"""The writer's one connection: made on demand, its schema checked, dropped on any failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from pydantic import SecretStr

from monitor.sink.connection import connect
from monitor.sink.migrate import current_version
from monitor.sink.schema import LATEST_VERSION

CANCEL_GRACE_SECONDS = 0.1


class SchemaNotReady(Exception):
    """The sink's tables are missing or older than this release needs."""

    def __init__(self, found: int) -> None:
        super().__init__(f"the status sink's schema is at version {found}, {LATEST_VERSION} needed")
        self.found = found


class SinkSession:
    """Hands out the connection, connecting (and checking the schema) when there is none.

    Args:
        dsn: the sink's database.
        timeout_seconds: bounds the connect.
    """

    def __init__(self, dsn: SecretStr, timeout_seconds: float) -> None:
        self._dsn = dsn
        self._timeout = timeout_seconds
        self._conn: psycopg.AsyncConnection[Any] | None = None

    def __repr__(self) -> str:
        return f"SinkSession(connected={self._conn is not None})"

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """The connection for one piece of work; any failure in it drops the connection.

        Raises:
            SchemaNotReady: `integration-monitor migrate` has not run (or not since an upgrade).
        """
        # The server rolls back what a dropped connection held, and nothing waits on a rollback
        # over a connection that may no longer answer.
        try:
            yield await self._connected()
        except BaseException:
            await self.disconnect()
            raise

    async def disconnect(self) -> None:
        """Close the connection, if any (never waits on the server)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def _connected(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        await self.disconnect()
        conn = await connect(self._dsn, self._timeout)
        try:
            version = await current_version(conn)
            await conn.rollback()  # a transaction left open would pin a pooled backend
        except BaseException:
            await conn.close()
            raise
        if version < LATEST_VERSION:
            await conn.close()
            raise SchemaNotReady(version)
        self._conn = conn
        return conn


async def cancel_firmly(task: asyncio.Task[None]) -> None:
    """Cancel a task that may be in the middle of a query, and give it a moment to end."""
    # psycopg answers a cancelled query by asking the server to cancel it and waiting up to 5 s
    # for its word; a server that went silent never gives it. A second cancel cuts that wait
    # short (psycopg then closes the connection), so a stop stays within its bound.
    for _ in range(2):
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_GRACE_SECONDS)
        if task.done():
            return
