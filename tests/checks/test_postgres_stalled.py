"""Database, direct mode, when the server goes silent in the middle of the check."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from monitor.checks.postgres import PostgresCheck, PostgresSettings
from tests.fakes.stalling_proxy import StallingProxy
from tests.support.postgres import DATABASE, PASSWORD, ROLE, PostgresServer
from tests.support.waiting import wait_until

# psycopg waits 5 s for a cancelled query to end, then closes the connection.
GIVE_UP_SECONDS = 30.0


async def test_postgres__cancelled_while_the_server_is_silent_mid_query(
    postgres: PostgresServer,
) -> None:
    """A check cancelled at its deadline ends even when the server never answers again."""
    with StallingProxy(postgres.port) as proxy:
        dsn = (
            f"postgresql://{ROLE}:{PASSWORD}@127.0.0.1:{proxy.port}/{DATABASE}"
            "?sslmode=disable&gssencmode=disable"
        )
        check = PostgresCheck(PostgresSettings(dsn=SecretStr(dsn)), timeout_seconds=2)
        attempt = asyncio.create_task(check.run())
        await wait_until(proxy.swallowed.is_set, 10)  # the query went out into the silence
        assert not attempt.done()

        attempt.cancel()
        done, _ = await asyncio.wait({attempt}, timeout=GIVE_UP_SECONDS)

    assert done, "the cancelled check is still waiting for the silent server"
