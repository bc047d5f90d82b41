"""Database, direct mode: `SELECT 1` over a real PostgreSQL connection with psycopg 3."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import psycopg
from psycopg import errors as pg_errors
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason

PROVIDER = "PostgreSQL"

# SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html
_REASON_BY_SQLSTATE = {
    "28P01": Reason.AUTH,  # invalid_password
    "28000": Reason.AUTH,  # invalid_authorization_specification (pg_hba rejected us)
    "3D000": Reason.NOT_FOUND,  # invalid_catalog_name: the database does not exist
    "42501": Reason.PERMISSION,  # insufficient_privilege
    "53300": Reason.UPSTREAM_ERROR,  # too_many_connections
    "57P03": Reason.UPSTREAM_ERROR,  # cannot_connect_now (starting up, shutting down)
}


@dataclass(frozen=True)
class PostgresSettings:
    """The DSN to connect with; it may hold a password, so it is a secret."""

    dsn: SecretStr | None = field(repr=False)


class PostgresCheck:
    """Connects, runs `SELECT 1`, reports the server version."""

    def __init__(self, settings: PostgresSettings, timeout_seconds: float) -> None:
        self._settings = settings
        self._timeout = timeout_seconds

    async def run(self) -> Outcome:
        """Open a connection and ask the server for one row."""
        if self._settings.dsn is None:
            return Outcome.not_configured(
                "Database is not configured: set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY,"
                " or DATABASE_URL"
            )
        try:
            version = await self._select_one(self._settings.dsn.get_secret_value())
        except psycopg.Error as exc:
            raise postgres_failure(exc) from None
        return Outcome.connected(
            f"PostgreSQL {version} answered SELECT 1", {"server_version": version}
        )

    async def _select_one(self, dsn: str) -> str:
        # connect_timeout is whole seconds in libpq; the runner's deadline is the real bound.
        connect_timeout = max(2, math.ceil(self._timeout))
        async with await psycopg.AsyncConnection.connect(
            dsn,
            autocommit=True,
            connect_timeout=connect_timeout,
            application_name="integration-monitor",
        ) as conn:
            row = await (await conn.execute("SELECT 1")).fetchone()
            if row != (1,):
                raise CheckFailed(
                    Reason.INVALID_RESPONSE, f"{PROVIDER} answered SELECT 1 with {row!r}"
                )
            version = conn.info.parameter_status("server_version") or "unknown"
            return str(version).split(" ")[0]


def postgres_failure(exc: psycopg.Error) -> CheckFailed:
    """Map a psycopg error to a failure by SQLSTATE, or by libpq's text when we never got in."""
    text = _plain(str(exc))
    if isinstance(exc, pg_errors.QueryCanceled):
        return CheckFailed(Reason.TIMEOUT, f"{PROVIDER}: {text}")
    reason = _REASON_BY_SQLSTATE.get(exc.sqlstate or "")
    if reason is None and exc.sqlstate is None:
        reason = _connect_failure_reason(text)
    return CheckFailed(reason or Reason.UPSTREAM_ERROR, f"{PROVIDER}: {text}")


# A failed connect carries no SQLSTATE in psycopg, only libpq's message; these are its words.
# The quoted name is matched whole, so a database called "roles" is not read as a role problem.
_CONNECT_FAILURES = (
    (re.compile("password authentication failed"), Reason.AUTH),
    (re.compile("no pg_hba.conf entry"), Reason.AUTH),
    (re.compile(r'\brole "[^"]*" does not exist'), Reason.AUTH),
    (re.compile(r'\bdatabase "[^"]*" does not exist'), Reason.NOT_FOUND),
    (re.compile("timeout expired"), Reason.TIMEOUT),
)


def _connect_failure_reason(text: str) -> Reason:
    for pattern, reason in _CONNECT_FAILURES:
        if pattern.search(text):
            return reason
    return Reason.CONNECTION


def _plain(message: str) -> str:
    """libpq's multi-line error as one line without its `connection failed:`/`FATAL:` noise."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = " ".join(lines) or "unknown error"
    text = text.removeprefix("connection failed: ")
    return " ".join(text.replace("FATAL:", "").split())
