"""The daemon with MONITOR_STATUS_SINK=postgres: fake providers on loopback, a real PostgreSQL,
and the rows the platform's application would read."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fakes.providers import graph_error
from tests.fakes.server import FakeServer
from tests.fakes.stalling_proxy import StallingProxy
from tests.fleet.organizations_fake import (
    fleet_env,
    organization,
    requests_to,
    serve_fleet,
    waba_path,
    write_organizations,
)
from tests.sink.pg_proxy import InspectingProxy
from tests.sink.writing import migrated
from tests.support.daemon import Daemon, running_daemon, wait_for
from tests.support.postgres import PASSWORD, PostgresServer
from tests.support.promtool import check_metrics

ROWS = [organization(0), organization(1), organization(2, stripe_customer_id=None)]
FAST = {"MONITOR_ORGANIZATION_INTERVAL_SECONDS": "2", "MONITOR_CHECK_TIMEOUT_SECONDS": "1"}
STOP_SECONDS = 2.0  # the contract's bound for a clean SIGTERM


@pytest.fixture
def migrated_dsn(sink_dsn: str) -> str:
    """A database `integration-monitor migrate` has prepared."""
    return asyncio.run(migrated(sink_dsn))


def sink_env(server: FakeServer, organizations: Path, dsn: str, **extra: str) -> dict[str, str]:
    """A fleet daemon writing its statuses to `dsn`."""
    return fleet_env(
        server,
        organizations,
        MONITOR_STATUS_SINK="postgres",
        MONITOR_STATUS_SINK_URL=dsn,
        **{**FAST, **extra},
    )


def statuses(dsn: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(organization, integration) -> (status, reason, message, shard)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT organization_id, integration, status, reason, message, shard"
            " FROM integration_monitor.organization_status"
        ).fetchall()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def changes(dsn: str) -> list[tuple[Any, ...]]:
    """Every state change, oldest first."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT organization_id, integration, previous, current, reason"
            " FROM integration_monitor.state_changes ORDER BY id"
        ).fetchall()


def metric(daemon: Daemon, name: str) -> float:
    """The value of an unlabelled series on /metrics."""
    for line in daemon.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not exposed")


def timed_terminate(daemon: Daemon) -> tuple[int, float]:
    started = time.monotonic()
    code = daemon.terminate(timeout=10)
    return code, time.monotonic() - started


def test_sink__a_row_per_organization_and_integration_and_a_change_when_one_breaks(
    fake_server: FakeServer, tmp_path: Path, migrated_dsn: str
) -> None:
    """Every organization's statuses land in organization_status (not_configured too); when
    one breaks, its row says so and state_changes records the change."""
    serve_fleet(fake_server, ROWS)
    orgs = write_organizations(tmp_path / "orgs.yaml", ROWS)
    with running_daemon(sink_env(fake_server, orgs, migrated_dsn)) as daemon:
        wait_for(lambda: len(statuses(migrated_dsn)) == 6, what="a row per key")
        rows = statuses(migrated_dsn)
        assert rows[("org-0000", "whatsapp")][0] == "connected"
        assert rows[("org-0002", "stripe")][0] == "not_configured"
        assert {row[3] for row in rows.values()} == {"0/1"}

        fake_server.route(waba_path(ROWS[1]), graph_error(190, "Error validating access token"))
        wait_for(lambda: changes(migrated_dsn), what="a state change row")
        assert changes(migrated_dsn) == [("org-0001", "whatsapp", "connected", "error", "auth")]
        wait_for(lambda: statuses(migrated_dsn)[("org-0001", "whatsapp")][0] == "error")
        assert statuses(migrated_dsn)[("org-0001", "whatsapp")][1] == "auth"

        exposition = daemon.get("/metrics").text
        assert metric(daemon, "integration_monitor_sink_up") == 1
        assert metric(daemon, "integration_monitor_sink_errors_total") == 0
        assert 'integration_monitor_sink_rows_written_total{table="state_changes"} 1.0' in (
            exposition
        )
        assert check_metrics(exposition).stdout == ""
        (started,) = daemon.events("sink.started")
        assert started["shard"] == "0/1"
        code, seconds = timed_terminate(daemon)
    assert (code, seconds < STOP_SECONDS) == (0, True)
    assert PASSWORD not in daemon.stderr()


def test_sink__removed_organizations_rows_disappear_after_a_reload(
    fake_server: FakeServer, tmp_path: Path, migrated_dsn: str
) -> None:
    """An organization dropped from the source loses its rows at the next reload."""
    serve_fleet(fake_server, ROWS)
    orgs = write_organizations(tmp_path / "orgs.yaml", ROWS)
    with running_daemon(sink_env(fake_server, orgs, migrated_dsn)) as daemon:
        wait_for(lambda: len(statuses(migrated_dsn)) == 6, what="a row per key")
        write_organizations(orgs, ROWS[:2])
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(
            lambda: {key[0] for key in statuses(migrated_dsn)} == {"org-0000", "org-0001"},
            what="org-0002's rows to go",
        )


def test_sink__rows_never_checked_again_are_written_anew_at_each_reload(
    fake_server: FakeServer, tmp_path: Path, migrated_dsn: str
) -> None:
    """A not_configured row lost (a shard on an older list deleted it) comes back at the next
    reload, and its updated_at moves on, so a freshness test does not take it for stopped."""
    serve_fleet(fake_server, ROWS)
    orgs = write_organizations(tmp_path / "orgs.yaml", ROWS)
    key = ("org-0002", "stripe")
    with running_daemon(sink_env(fake_server, orgs, migrated_dsn)) as daemon:
        wait_for(lambda: len(statuses(migrated_dsn)) == 6, what="a row per key")
        with psycopg.connect(migrated_dsn) as conn:
            conn.execute(
                "DELETE FROM integration_monitor.organization_status"
                " WHERE organization_id = %s AND integration = %s",
                key,
            )
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: key in statuses(migrated_dsn), what="the not_configured row back")
        assert statuses(migrated_dsn)[key][0] == "not_configured"


@pytest.fixture
def proxy(postgres: PostgresServer) -> Iterator[InspectingProxy]:
    """A proxy in front of the session's PostgreSQL, to cut the database off."""
    with InspectingProxy(postgres.port) as running:
        yield running


def test_sink__database_away_slows_nothing_and_everything_lands_after(
    fake_server: FakeServer, tmp_path: Path, migrated_dsn: str, proxy: InspectingProxy
) -> None:
    """With the database gone the checks keep their pace and the API answers; the errors are
    counted, what waits stays one row per key; once it is back every row and the change made
    meanwhile land."""
    rows = [organization(n) for n in range(10)]
    serve_fleet(fake_server, rows)
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = sink_env(fake_server, orgs, proxy.dsn(migrated_dsn))
    with running_daemon(env) as daemon:
        wait_for(lambda: len(statuses(migrated_dsn)) == 20, what="a row per key")
        proxy.cut()
        cut_at = time.monotonic()
        fake_server.route(waba_path(rows[3]), graph_error(190, "Error validating access token"))
        wait_for(lambda: metric(daemon, "integration_monitor_sink_errors_total") >= 2)
        wait_for(lambda: time.monotonic() > cut_at + 4, what="four seconds without a database")
        during = [r for r in requests_to(fake_server, "/") if r.received_at > cut_at]
        answered = daemon.get("/api/organizations/org-0003/integrations/status")
        assert answered.json()["integrations"]["whatsapp"]["reason"] == "auth"
        # Every key once every 2 s: about 40 checks in 4 s; half of that is a generous bound.
        assert len(during) >= 20
        assert metric(daemon, "integration_monitor_sink_up") == 0
        assert metric(daemon, "integration_monitor_sink_pending_rows") <= 20 + 1
        assert statuses(migrated_dsn)[("org-0003", "whatsapp")][0] == "connected"

        proxy.restore()
        wait_for(
            lambda: statuses(migrated_dsn)[("org-0003", "whatsapp")][0] == "error",
            timeout=30,
            what="the rows written after the outage",
        )
        wait_for(lambda: changes(migrated_dsn), timeout=10)
        assert changes(migrated_dsn) == [("org-0003", "whatsapp", "connected", "error", "auth")]
        wait_for(lambda: metric(daemon, "integration_monitor_sink_up") == 1)
        code, seconds = timed_terminate(daemon)
    assert (code, seconds < STOP_SECONDS) == (0, True)
    assert daemon.events("sink.write_failed")
    assert PASSWORD not in daemon.stderr()


def test_sink__sigterm_with_a_silent_database_still_exits_at_once(
    fake_server: FakeServer, tmp_path: Path, postgres: PostgresServer, migrated_dsn: str
) -> None:
    """A database that accepts the connection and never answers again does not hold up a
    clean SIGTERM: exit 0 within 2 s, nothing at error level."""
    serve_fleet(fake_server, ROWS)
    orgs = write_organizations(tmp_path / "orgs.yaml", ROWS)
    with StallingProxy(postgres.port) as silent:
        head, _, tail = migrated_dsn.rpartition(f":{postgres.port}/")
        dsn = f"{head}:{silent.port}/{tail}?sslmode=disable&gssencmode=disable"
        with running_daemon(sink_env(fake_server, orgs, dsn)) as daemon:
            assert silent.swallowed.wait(10)
            wait_for(lambda: len(requests_to(fake_server, "/v1/customers/")) >= 2)
            code, seconds = timed_terminate(daemon)
    assert (code, seconds < STOP_SECONDS) == (0, True)
    assert [e for e in daemon.events() if e["level"] in ("error", "critical")] == []
    assert daemon.events()[-1]["event"] == "monitor.stopped"


def test_sink__tables_missing_is_an_error_but_the_checks_go_on(
    fake_server: FakeServer, tmp_path: Path, sink_dsn: str
) -> None:
    """Without `migrate`, the daemon says so at error level and counts it; organizations are
    still checked and answered."""
    serve_fleet(fake_server, ROWS)
    orgs = write_organizations(tmp_path / "orgs.yaml", ROWS)
    with running_daemon(sink_env(fake_server, orgs, sink_dsn)) as daemon:
        wait_for(lambda: daemon.events("sink.schema_not_ready"), what="the schema error")
        (first, *_) = daemon.events("sink.schema_not_ready")
        assert first["level"] == "error"
        assert "integration-monitor migrate" in first["message"]
        wait_for(
            lambda: (
                daemon.get("/api/organizations/org-0000/integrations/status").json()[
                    "overall_status"
                ]
                == "healthy"
            )
        )
        assert metric(daemon, "integration_monitor_sink_errors_total") >= 1
