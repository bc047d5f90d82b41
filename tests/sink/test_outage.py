"""The writer through a proxy: nothing prepared on the server (a transaction pooler's
constraint), and a database that goes away and comes back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest
from structlog.testing import capture_logs

from monitor.checks.base import Reason
from monitor.sink.writer import StatusSinkWriter
from tests.sink.pg_proxy import InspectingProxy
from tests.sink.writing import connected, make_writer, migrated, query, went_wrong
from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.waiting import wait_until

ORGANIZATIONS = [f"org-{n:03}" for n in range(50)]
INTEGRATIONS = ("whatsapp", "stripe")


@pytest.fixture
def proxy(postgres: PostgresServer) -> Iterator[InspectingProxy]:
    """A proxy in front of the session's PostgreSQL."""
    with InspectingProxy(postgres.port) as running:
        yield running


async def test_proxy__sees_what_a_default_connection_prepares(
    proxy: InspectingProxy, sink_dsn: str
) -> None:
    """The proxy's check is real: psycopg left at its default prepares a statement run five
    times, and the proxy names it."""
    async with await psycopg.AsyncConnection.connect(proxy.dsn(sink_dsn)) as conn:
        for _ in range(6):
            await conn.execute("SELECT %s::int", (1,))

    assert proxy.named_statements


async def test_writer__prepares_nothing_on_the_server(
    proxy: InspectingProxy, sink_dsn: str
) -> None:
    """Batch after batch on one connection, every statement stays unnamed: Supabase's
    transaction pooler (or PgBouncer) can carry the writer."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(proxy.dsn(dsn))
    writer.start()
    for round_number in range(8):  # more than psycopg's default prepare threshold of 5
        writer.record_status("org-1", "whatsapp", connected(f"round {round_number}"))
        writer.record_change(went_wrong("org-1", Reason.AUTH, f"round {round_number}"))
        await wait_until(lambda: writer.pending_rows() == 0)
    await writer.close()

    assert proxy.parses >= 8 * 3
    assert proxy.named_statements == []
    assert len(await query(dsn, "SELECT id FROM integration_monitor.state_changes")) == 8


def record_round(writer: StatusSinkWriter, round_number: int) -> float:
    """Every organization's result once; the longest a single hand-over took, in seconds."""
    longest = 0.0
    for organization in ORGANIZATIONS:
        for integration in INTEGRATIONS:
            entry = connected(f"round {round_number}")
            started = time.perf_counter()
            writer.record_status(organization, integration, entry)
            longest = max(longest, time.perf_counter() - started)
    return longest


async def test_writer__database_away_keeps_the_latest_and_catches_up(
    proxy: InspectingProxy, sink_dsn: str
) -> None:
    """While the database is away: handing over a result stays instant, what waits stays one
    row per key, each failed attempt is counted and logged without the password; once it is
    back everything lands, latest first."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(proxy.dsn(dsn))
    writer.start()
    record_round(writer, 0)
    await wait_until(lambda: writer.pending_rows() == 0)

    with capture_logs() as events:
        proxy.cut()
        longest = 0.0
        for round_number in range(1, 30):
            longest = max(longest, record_round(writer, round_number))
            writer.record_change(went_wrong(ORGANIZATIONS[0], Reason.TIMEOUT, "flapping"))
            await asyncio.sleep(0.02)
        await wait_until(lambda: writer.metrics.errors._value.get() >= 3)
        assert writer.metrics.up._value.get() == 0
        assert writer.pending_rows() <= len(ORGANIZATIONS) * len(INTEGRATIONS) + 29
        proxy.restore()
        await wait_until(lambda: writer.pending_rows() == 0, limit_seconds=15)
    await writer.close()

    assert longest < 0.05  # generous: a hand-over is a dictionary assignment
    rounds = await query(
        dsn, "SELECT DISTINCT message FROM integration_monitor.organization_status"
    )
    assert rounds == [("round 29",)]
    assert len(await query(dsn, "SELECT id FROM integration_monitor.state_changes")) == 29
    assert writer.metrics.up._value.get() == 1
    failures = [e for e in events if e["event"] == "sink.write_failed"]
    assert failures
    assert all(e["log_level"] == "warning" for e in failures)
    assert PASSWORD not in repr(events)
    assert [e for e in events if e["event"] == "sink.recovered"]


async def test_writer__stop_with_the_database_away_is_bounded(
    proxy: InspectingProxy, sink_dsn: str
) -> None:
    """Stopping while the database is away gives up after about a second and says how many
    rows were not written."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(proxy.dsn(dsn))
    writer.start()
    await wait_until(lambda: writer.metrics.up._value.get() == 1)
    proxy.cut()
    writer.record_status("org-1", "whatsapp", connected())

    with capture_logs() as events:
        started = time.monotonic()
        await writer.close()
        took = time.monotonic() - started

    assert took < 1.5
    (unwritten,) = [e for e in events if e["event"] == "sink.unwritten_on_stop"]
    assert unwritten["pending_rows"] == 1
    assert unwritten["log_level"] == "warning"
