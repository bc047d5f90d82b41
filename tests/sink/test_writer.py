"""The writer against a real PostgreSQL: what lands in the tables, removals and retention."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
from structlog.testing import capture_logs

from monitor.checks.base import CheckResult, Outcome, Reason
from monitor.sink.writer import StatusSinkWriter
from monitor.snapshot import Reported
from tests.sink.writing import (
    CHECKED_AT,
    connected,
    make_writer,
    migrated,
    query,
    went_wrong,
)
from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.waiting import wait_until

STATUS_COLUMNS = (
    "SELECT organization_id, integration, status, reason, message, details, checked_at, shard"
    " FROM integration_monitor.organization_status ORDER BY organization_id, integration"
)


def logged(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """The captured events called `name`."""
    return [event for event in events if event["event"] == name]


async def written(writer: StatusSinkWriter) -> None:
    """Until nothing waits."""
    await wait_until(lambda: writer.pending_rows() == 0)


async def test_writer__statuses_and_changes_land_with_their_shard(sink_dsn: str) -> None:
    """One row per organization and integration, and one row per state change, each naming
    the shard that wrote it."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(dsn, shard="1/3")
    before = time.time()
    writer.record_status("org-1", "whatsapp", connected(account_id="1049"))
    writer.record_status("org-1", "stripe", connected("Customer found"))
    writer.record_status("org-2", "whatsapp", connected("earlier"))
    writer.record_status("org-2", "whatsapp", connected("later"))
    writer.record_change(went_wrong("org-3", Reason.AUTH, "The access token has expired"))
    recorded = time.time()

    writer.start()
    await written(writer)
    await writer.close()

    assert await query(dsn, STATUS_COLUMNS) == [
        ("org-1", "stripe", "connected", None, "Customer found", {}, CHECKED_AT, "1/3"),
        (
            "org-1",
            "whatsapp",
            "connected",
            None,
            "WhatsApp Business Account reachable",
            {"account_id": "1049"},
            CHECKED_AT,
            "1/3",
        ),
        ("org-2", "whatsapp", "connected", None, "later", {}, CHECKED_AT, "1/3"),
    ]
    updated = [row.timestamp() for (row,) in await query(dsn, UPDATED_AT)]
    assert all(before - 0.001 <= moment <= recorded + 0.001 for moment in updated)
    assert await query(
        dsn,
        "SELECT organization_id, integration, previous, current, reason, message, at, shard"
        " FROM integration_monitor.state_changes",
    ) == [
        (
            "org-3",
            "whatsapp",
            "connected",
            "error",
            "auth",
            "The access token has expired",
            CHECKED_AT,
            "1/3",
        ),
    ]
    written_total = writer.metrics.rows_written
    assert written_total.labels("organization_status")._value.get() == 3
    assert written_total.labels("state_changes")._value.get() == 1
    assert writer.metrics.up._value.get() == 1


UPDATED_AT = "SELECT DISTINCT updated_at FROM integration_monitor.organization_status"


async def test_writer__a_newer_row_of_another_shard_is_not_overwritten(sink_dsn: str) -> None:
    """A shard catching up with an old result does not replace what another wrote since."""
    dsn = await migrated(sink_dsn)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute(
            "INSERT INTO integration_monitor.organization_status (organization_id, integration,"
            " status, message, checked_at, shard, updated_at)"
            " VALUES ('org-1', 'whatsapp', 'error', 'newer', now(), '2/3', now() + interval '1 h')"
        )
    writer = make_writer(dsn)
    writer.record_status("org-1", "whatsapp", connected("older"))
    writer.record_status("org-2", "whatsapp", connected("fresh"))

    writer.start()
    await written(writer)
    await writer.close()

    assert await query(
        dsn,
        "SELECT organization_id, message, shard FROM integration_monitor.organization_status"
        " ORDER BY organization_id",
    ) == [("org-1", "newer", "2/3"), ("org-2", "fresh", "0/1")]


async def test_writer__rows_of_removed_organizations_deleted(sink_dsn: str) -> None:
    """After a load, rows of organizations gone from the source are deleted, whoever wrote
    them; a row written after the load read its list (by a shard with a newer one) stays."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(dsn)
    for organization in ("org-1", "org-2", "org-gone"):
        writer.record_status(organization, "whatsapp", connected())
        writer.record_status(organization, "stripe", connected())
    writer.start()
    await written(writer)
    loaded_at = time.time()
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute(
            "INSERT INTO integration_monitor.organization_status (organization_id, integration,"
            " status, message, checked_at, shard, updated_at)"
            " VALUES ('org-new', 'whatsapp', 'connected', 'ok', now(), '1/2',"
            "         now() + interval '1 s')"
        )

    with capture_logs() as events:
        writer.keep_only(frozenset({"org-1", "org-2"}), loaded_at)
        await wait_until(lambda: any(e["event"] == "sink.organizations_removed" for e in events))
    await writer.close()

    remaining = await query(
        dsn,
        "SELECT DISTINCT organization_id FROM integration_monitor.organization_status ORDER BY 1",
    )
    assert remaining == [("org-1",), ("org-2",), ("org-new",)]
    assert [e["rows"] for e in events if e["event"] == "sink.organizations_removed"] == [2]


async def test_writer__rows_of_an_integration_no_longer_checked_are_deleted(
    sink_dsn: str,
) -> None:
    """Stripe dropped from MONITOR_INTEGRATIONS: its rows do not stay behind, frozen."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(dsn)
    for organization in ("org-1", "org-2"):
        writer.record_status(organization, "whatsapp", connected())
        writer.record_status(organization, "stripe", connected())
    writer.start()
    await written(writer)

    with capture_logs() as events:
        writer.keep_only(frozenset({"org-1", "org-2"}), time.time(), frozenset({"whatsapp"}))
        await wait_until(lambda: any(e["event"] == "sink.organizations_removed" for e in events))
    await writer.close()

    remaining = await query(
        dsn,
        "SELECT organization_id, integration FROM integration_monitor.organization_status"
        " ORDER BY 1, 2",
    )
    assert remaining == [("org-1", "whatsapp"), ("org-2", "whatsapp")]


async def test_writer__retention_deletes_old_changes_only(sink_dsn: str) -> None:
    """At start, state changes older than the retention are deleted, in chunks; newer stay."""
    dsn = await migrated(sink_dsn)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute(
            "INSERT INTO integration_monitor.state_changes (organization_id, integration,"
            " previous, current, message, at, shard)"
            " SELECT 'org-' || n, 'stripe', 'connected', 'error', 'old', now() - interval '40 d'"
            "        - n * interval '1 h', '0/1' FROM generate_series(1, 7) AS n"
            " UNION ALL"
            " SELECT 'org-' || n, 'stripe', 'connected', 'error', 'recent',"
            "        now() - interval '29 d', '0/1' FROM generate_series(1, 2) AS n"
        )
    writer = make_writer(dsn, retention_days=30.0, retention_chunk_rows=3)

    with capture_logs() as events:
        writer.start()
        await wait_until(lambda: any(e["event"] == "sink.retention" for e in events))
    await writer.close()

    kept = await query(dsn, "SELECT message FROM integration_monitor.state_changes")
    assert kept == [("recent",), ("recent",)]
    (retention,) = [e for e in events if e["event"] == "sink.retention"]
    assert (retention["deleted"], retention["older_than_days"]) == (7, 30.0)


async def test_writer__values_postgres_cannot_hold_do_not_block_the_batch(sink_dsn: str) -> None:
    """A provider's text with a NUL byte or half a surrogate pair, or details JSON cannot hold,
    are written as well as can be, and the rest of the batch with them."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(dsn)
    odd_details = {
        "seen": datetime(2025, 1, 1, tzinfo=UTC),
        "ratio": float("nan"),
        ("a", "tuple"): "key",
        "half": "pair\ud800",
        "nul": "in\x00side",
        "emoji": "\U0001f600",
    }
    odd = Outcome.connected("bad\x00byte \udc80 here", odd_details)
    writer.record_status("org-1", "whatsapp", Reported(CheckResult(odd, CHECKED_AT, 1.0)))
    writer.record_status("org-2", "whatsapp", connected("fine", note="café"))

    writer.start()
    await written(writer)
    await writer.close()

    rows = await query(
        dsn,
        "SELECT message, details FROM integration_monitor.organization_status"
        " ORDER BY organization_id",
    )
    assert rows == [
        (
            "badbyte ? here",
            {
                "seen": "2025-01-01 00:00:00+00:00",
                "ratio": "nan",
                "('a', 'tuple')": "key",
                "half": "pair?",
                "nul": "inside",
                "emoji": "\U0001f600",
            },
        ),
        ("fine", {"note": "café"}),
    ]
    assert writer.metrics.errors._value.get() == 0


async def test_writer__close_writes_what_waits(sink_dsn: str) -> None:
    """Stopping writes what waits, even between two flushes."""
    dsn = await migrated(sink_dsn)
    writer = make_writer(dsn, flush_seconds=3600.0)
    writer.start()
    await wait_until(lambda: writer.metrics.up._value.get() == 1)  # the first pass is done
    writer.record_status("org-1", "stripe", connected("last words"))
    writer.record_change(went_wrong("org-1", Reason.TIMEOUT, "no answer"))

    await writer.close()

    assert await query(dsn, "SELECT message FROM integration_monitor.organization_status") == [
        ("last words",)
    ]
    assert len(await query(dsn, "SELECT id FROM integration_monitor.state_changes")) == 1


async def test_writer__schema_missing_is_an_error_until_migrated(sink_dsn: str) -> None:
    """Without `migrate` every attempt is an error, logged and counted; once the tables exist
    what waited lands."""
    writer = make_writer(sink_dsn)
    writer.record_status("org-1", "whatsapp", connected())

    with capture_logs() as events:
        writer.start()
        await wait_until(lambda: writer.metrics.errors._value.get() >= 2)
        await migrated(sink_dsn)
        await written(writer)
    await writer.close()

    missing = [e for e in events if e["event"] == "sink.schema_not_ready"]
    assert missing[0]["log_level"] == "error"
    assert (missing[0]["found_version"], missing[0]["needed_version"]) == (0, 2)
    assert "integration-monitor migrate" in missing[0]["message"]
    assert await query(
        sink_dsn, "SELECT organization_id FROM integration_monitor.organization_status"
    ) == [("org-1",)]


def test_writer__repr_holds_no_secret() -> None:
    """The writer's repr (in a traceback, a debugger) never shows the DSN."""
    writer = make_writer(f"postgresql://monitor:{PASSWORD}@127.0.0.1:5/monitor")

    assert PASSWORD not in repr(writer)
    assert PASSWORD not in repr(vars(writer))


async def test_writer__needs_no_more_than_row_rights(
    postgres: PostgresServer, sink_dsn: str
) -> None:
    """The daemon's database user needs no right to create anything: the grants the docs list
    are enough to write, delete removed organizations and apply retention."""
    dsn = await migrated(sink_dsn)
    role = f"writer_{uuid.uuid4().hex[:8]}"
    grants = [
        f"CREATE ROLE {role} LOGIN PASSWORD 'writer-Password-{role}'",
        f"GRANT USAGE ON SCHEMA integration_monitor TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON integration_monitor.organization_status,"
        f" integration_monitor.state_changes TO {role}",
        f"GRANT SELECT ON integration_monitor.schema_version TO {role}",
    ]
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for grant in grants:
            await conn.execute(grant)
    database = dsn.rpartition("/")[2]
    writer = make_writer(
        f"postgresql://{role}:writer-Password-{role}@127.0.0.1:{postgres.port}/{database}"
    )
    writer.record_status("org-1", "whatsapp", connected())
    writer.record_status("org-gone", "whatsapp", connected())
    writer.record_change(went_wrong("org-1", Reason.AUTH, "expired"))
    try:
        writer.start()
        await written(writer)
        with capture_logs() as events:
            writer.keep_only(frozenset({"org-1"}), time.time())
            await wait_until(
                lambda: [e for e in events if e["event"] == "sink.organizations_removed"]
            )
        await writer.close()
    finally:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute(f"DROP OWNED BY {role}")
            await conn.execute(f"DROP ROLE {role}")

    assert writer.metrics.errors._value.get() == 0
    assert await query(
        dsn, "SELECT organization_id FROM integration_monitor.organization_status"
    ) == [("org-1",)]
