"""Connections to the sink's database, and its errors in words that hold no secret."""

from __future__ import annotations

import math
from typing import Any

import psycopg
from pydantic import SecretStr

from monitor.redaction import Redactor

APPLICATION_NAME = "integration-monitor-sink"


async def connect(dsn: SecretStr, timeout_seconds: float) -> psycopg.AsyncConnection[Any]:
    """A connection with autocommit off that prepares nothing on the server.

    Supabase's transaction pooler (like PgBouncer in transaction mode) may send each
    transaction to another backend, where a statement prepared on the first does not exist:
    `prepare_threshold=None` keeps every statement unnamed.
    """
    return await psycopg.AsyncConnection.connect(
        dsn.get_secret_value(),
        connect_timeout=max(2, math.ceil(timeout_seconds)),
        prepare_threshold=None,
        autocommit=False,
        application_name=APPLICATION_NAME,
    )


def plain_error(exc: BaseException, redactor: Redactor) -> str:
    """One line saying what failed: libpq's first line (host and user, never the password)."""
    if isinstance(exc, TimeoutError):
        return "the database did not answer in time"
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    said = (lines[0] if lines else "").removeprefix("connection failed: ")
    said = " ".join(said.replace("FATAL:", "").split()) or type(exc).__name__
    return redactor.scrub(said)
