"""Organizations from an SQL query, on a real PostgreSQL cluster on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import psycopg
import pytest
from pydantic import SecretStr

from monitor.fleet.sources import QuerySource, SourceError
from tests.support.net import free_port
from tests.support.postgres import PASSWORD, PostgresServer

SCHEMA = "fleet_source_test"
TOKEN = "EAAGcanaryQueryToken8a7b"
QUERY = "SELECT * FROM fleet_source_test.organizations ORDER BY id"


@pytest.fixture(scope="module")
def organizations_table(postgres: PostgresServer) -> Iterator[PostgresServer]:
    """A table of organizations, as a platform's own database would have it."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(
            f"""CREATE TABLE {SCHEMA}.organizations (
                id text PRIMARY KEY, name text, whatsapp_business_account_id bigint,
                whatsapp_access_token text, stripe_customer_id text, plan text,
                owner uuid DEFAULT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')"""
        )
        conn.execute(
            """INSERT INTO fleet_source_test.organizations VALUES
                ('org_1', 'Acme', 104996542523987, %s, 'cus_NffrFeUfNV2Hib', 'pro'),
                ('org_2', NULL, NULL, NULL, NULL, 'free')""",
            (TOKEN,),
        )
        yield postgres
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")


def query_source(dsn: str, query: str = QUERY, timeout: float = 10) -> QuerySource:
    return QuerySource(SecretStr(dsn), query, timeout_seconds=timeout)


async def failure(source: QuerySource) -> str:
    with pytest.raises(SourceError) as raised:
        await source.load()
    message = str(raised.value)
    assert PASSWORD not in message
    return message


async def test_query_source__columns_by_name(organizations_table: PostgresServer) -> None:
    """Rows come back as mappings by column name, every column included, in query order."""
    rows = await query_source(organizations_table.dsn()).load()

    assert rows == [
        {
            "id": "org_1",
            "name": "Acme",
            "whatsapp_business_account_id": 104996542523987,
            "whatsapp_access_token": TOKEN,
            "stripe_customer_id": "cus_NffrFeUfNV2Hib",
            "plan": "pro",
            "owner": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        },
        {
            "id": "org_2",
            "name": None,
            "whatsapp_business_account_id": None,
            "whatsapp_access_token": None,
            "stripe_customer_id": None,
            "plan": "free",
            "owner": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        },
    ]


async def test_query_source__uuid_ids_as_text(organizations_table: PostgresServer) -> None:
    """A uuid id column loads as its text, as PostgREST and the platform show it."""
    source = query_source(
        organizations_table.dsn(), "SELECT owner AS id FROM fleet_source_test.organizations"
    )

    rows = await source.load()

    assert rows[0] == {"id": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}


async def test_query_source__nothing_prepared_on_the_server(postgres: PostgresServer) -> None:
    """The query prepares no server-side statement, so a transaction pooler can carry it."""
    source = query_source(postgres.dsn(), "SELECT count(*) AS prepared FROM pg_prepared_statements")

    for _ in range(8):  # more than psycopg's default prepare threshold
        assert await source.load() == [{"prepared": 0}]


async def test_query_source__read_only(organizations_table: PostgresServer) -> None:
    """The query cannot change the database: it runs in a read-only transaction."""
    source = query_source(
        organizations_table.dsn(), "DELETE FROM fleet_source_test.organizations RETURNING id"
    )

    message = await failure(source)

    assert message == (
        "the organizations query failed: cannot execute DELETE in a read-only transaction"
    )
    assert len(await query_source(organizations_table.dsn()).load()) == 2


async def test_query_source__slow_query_bounded(postgres: PostgresServer) -> None:
    """A query slower than its timeout fails in about that time, with a plain sentence."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    message = await failure(query_source(postgres.dsn(), "SELECT pg_sleep(30)", timeout=0.5))

    assert message == "the organizations query took longer than 0.5 s"
    assert loop.time() - started < 5


async def test_query_source__bad_sql(postgres: PostgresServer) -> None:
    """A query naming a missing table says so in PostgreSQL's words, on one line."""
    message = await failure(query_source(postgres.dsn(), "SELECT * FROM no_such_organizations"))

    assert (
        message == 'the organizations query failed: relation "no_such_organizations" does not exist'
    )


async def test_query_source__wrong_password(postgres: PostgresServer) -> None:
    """A wrong password fails without either password in the message."""
    wrong = "not-the-Password-3c4d"

    message = await failure(query_source(postgres.dsn(password=wrong)))

    assert "password authentication failed" in message
    assert wrong not in message


async def test_query_source__unreachable() -> None:
    """A server that is not there is a plain error."""
    dsn = f"postgresql://monitor:{PASSWORD}@127.0.0.1:{free_port()}/monitor"

    message = await failure(query_source(dsn))

    assert message.startswith("the organizations query failed: connection to server at")
    assert "Connection refused" in message


async def test_query_source__connect_bounded_too() -> None:
    """A server that accepts and never answers is cut off at the timeout, not libpq's."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        dsn = f"postgresql://monitor:{PASSWORD}@127.0.0.1:{silent.getsockname()[1]}/monitor"
        loop = asyncio.get_running_loop()
        started = loop.time()

        message = await failure(query_source(dsn, timeout=0.5))

    assert message == "the organizations query took longer than 0.5 s"
    assert loop.time() - started < 1.9  # libpq's own connect_timeout would be 2 s


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://monitor:{PASSWORD}@127.0.0.1:5432/monitor?nonsense=1",
        f"password={PASSWORD} this is not a dsn",
        "host=127.0.0.1 password=pg canary-fragment-9z",
    ],
    ids=["unknown-parameter", "unparsable", "unquoted-space-in-password"],
)
async def test_query_source__malformed_dsn_not_echoed(dsn: str) -> None:
    """A DSN libpq cannot read is reported without any piece of it."""
    message = await failure(query_source(dsn))

    assert message == "the organizations query failed: its connection string (DSN) is malformed"


async def test_query_source__bad_option_value() -> None:
    """An option libpq refuses is named, without the password beside it."""
    message = await failure(query_source(f"host=127.0.0.1 password={PASSWORD} sslmode=bogus"))

    assert (
        message
        == 'the organizations query failed: connection is bad: invalid sslmode value: "bogus"'
    )


def test_query_source__repr_without_dsn() -> None:
    """Printing the source shows the query, never the DSN."""
    source = query_source(f"postgresql://monitor:{PASSWORD}@db.internal/monitor")

    assert PASSWORD not in repr(source)
    assert "db.internal" not in repr(source)
    assert QUERY in repr(source)


async def test_query_source__query_sent_as_written(organizations_table: PostgresServer) -> None:
    """A query with % in it (a LIKE pattern) runs as written, not as a parameter template."""
    query = "SELECT id FROM fleet_source_test.organizations WHERE plan LIKE 'pr%' ORDER BY id"

    assert await query_source(organizations_table.dsn(), query).load() == [{"id": "org_1"}]
