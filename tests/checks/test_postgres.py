"""Database, direct mode: `SELECT 1` against a real PostgreSQL cluster on 127.0.0.1."""

from __future__ import annotations

import psycopg
import pytest
from pydantic import SecretStr

from monitor.checks.base import Reason, Status
from monitor.checks.postgres import PostgresCheck, PostgresSettings, postgres_failure
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.support.checks import failure_of
from tests.support.net import free_port
from tests.support.postgres import PASSWORD, PostgresServer


def postgres_check(dsn: str | None) -> PostgresCheck:
    settings = PostgresSettings(dsn=SecretStr(dsn) if dsn is not None else None)
    return PostgresCheck(settings, timeout_seconds=CHECK_TIMEOUT)


async def test_postgres__dsn_unset() -> None:
    """Without DATABASE_URL (or Supabase settings) the database is not configured."""
    outcome = await postgres_check(None).run()

    assert outcome.status is Status.NOT_CONFIGURED
    assert "DATABASE_URL" in outcome.message


async def test_postgres__select_one(postgres: PostgresServer) -> None:
    """A reachable server shows as connected with its version."""
    outcome = await postgres_check(postgres.dsn()).run()

    assert outcome.status is Status.CONNECTED
    version = outcome.details["server_version"]
    assert version.split(".")[0].isdigit()
    assert f"PostgreSQL {version}" in outcome.message


async def test_postgres__wrong_password(postgres: PostgresServer) -> None:
    """A wrong password is an auth error whose message holds neither password."""
    wrong = "not-the-Password-7a1b"

    failure = await failure_of(postgres_check(postgres.dsn(password=wrong)))

    assert failure.reason is Reason.AUTH
    assert "password authentication failed" in failure.message
    assert wrong not in failure.message
    assert PASSWORD not in failure.message


@pytest.mark.parametrize("database", ["no_such_db", "roles"])
async def test_postgres__database_missing(postgres: PostgresServer, database: str) -> None:
    """A database that does not exist is not_found, and the message names it."""
    failure = await failure_of(postgres_check(postgres.dsn(database=database)))

    assert failure.reason is Reason.NOT_FOUND
    assert f'database "{database}" does not exist' in failure.message


@pytest.mark.parametrize(
    ("libpq_says", "reason"),
    [
        ('FATAL:  role "nobody" does not exist', Reason.AUTH),
        ('FATAL:  no pg_hba.conf entry for host "10.0.0.7", user "monitor"', Reason.AUTH),
        ('FATAL:  database "payroles" does not exist', Reason.NOT_FOUND),
        ("timeout expired", Reason.TIMEOUT),
        ("Connection refused\n\tIs the server running on that host?", Reason.CONNECTION),
    ],
)
def test_postgres__connect_failure_without_sqlstate(libpq_says: str, reason: Reason) -> None:
    """A failed connect, which carries only libpq's words, still gets the right reason."""
    error = psycopg.OperationalError(
        f'connection failed: connection to server at "db.internal", port 5432 failed: {libpq_says}'
    )

    failure = postgres_failure(error)

    assert failure.reason is reason
    assert "FATAL" not in failure.message
    assert "\n" not in failure.message


async def test_postgres__connection_refused() -> None:
    """Nothing listening at the DSN's port is a connection error."""
    dsn = f"postgresql://monitor:{PASSWORD}@127.0.0.1:{free_port()}/monitor"

    failure = await failure_of(postgres_check(dsn))

    assert failure.reason is Reason.CONNECTION
    assert PASSWORD not in failure.message
