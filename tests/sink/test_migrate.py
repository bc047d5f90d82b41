"""`integration-monitor migrate` against a real PostgreSQL: creates, upgrades, changes nothing
twice, and fails plainly."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import psycopg
import pytest

from monitor.sink.migrate import migrate
from monitor.sink.schema import MIGRATIONS
from tests.fleet.organizations_fake import organization, write_organizations
from tests.support.daemon import monitor_command, subprocess_env
from tests.support.net import free_port
from tests.support.postgres import PASSWORD, PostgresServer


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*monitor_command(), *args],
        env=subprocess_env({"MONITOR_LOG_FORMAT": "json", **env}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def versions(dsn: str) -> list[tuple[int, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT version, applied_at::text FROM integration_monitor.schema_version"
            " ORDER BY version"
        ).fetchall()
    return [(int(version), applied) for version, applied in rows]


def relations(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace"
            " WHERE nspname = 'integration_monitor'"
        ).fetchall()
    return {name for (name,) in rows}


def test_migrate__creates_the_tables_then_changes_nothing(sink_dsn: str) -> None:
    """The first run creates the tables; the second says the schema is current and changes
    nothing."""
    first = run_cli("migrate", env={"DATABASE_URL": sink_dsn})
    assert first.returncode == 0, first.stderr
    assert "now at version 2 (was 0)" in first.stdout
    assert {"organization_status", "state_changes", "state_changes_at"} <= relations(sink_dsn)
    applied = versions(sink_dsn)

    second = run_cli("migrate", env={"MONITOR_STATUS_SINK_URL": sink_dsn})

    assert second.returncode == 0, second.stderr
    assert second.stdout == "the status sink's schema is already at version 2; nothing changed\n"
    assert versions(sink_dsn) == applied


def test_migrate__runs_without_the_organization_file(sink_dsn: str) -> None:
    """A shard's init container has the daemon's variables but not its mounted file."""
    env = {
        "MONITOR_STATUS_SINK_URL": sink_dsn,
        "MONITOR_STATUS_SINK": "postgres",
        "MONITOR_ORGANIZATIONS_FILE": "/nonexistent/organizations.yaml",
        "MONITOR_HOST": "127.0.0.1",
    }

    done = run_cli("migrate", env=env)

    assert done.returncode == 0, done.stderr
    assert "now at version 2" in done.stdout


async def test_migrate__upgrades_an_older_schema_keeping_its_rows(sink_dsn: str) -> None:
    """A database an older release migrated gets only the steps it lacks; its rows stay."""
    async with await psycopg.AsyncConnection.connect(sink_dsn) as conn:
        await migrate(conn, MIGRATIONS[:1])
        await conn.execute(
            "INSERT INTO integration_monitor.organization_status (organization_id, integration,"
            " status, message, checked_at, shard) VALUES ('org-1', 'stripe', 'error', 'gone',"
            " now(), '0/1')"
        )
        await conn.commit()

    done = await asyncio.to_thread(run_cli, "migrate", env={"DATABASE_URL": sink_dsn})

    assert done.returncode == 0, done.stderr
    assert "now at version 2 (was 1)" in done.stdout
    assert "applied 2: indexes" in done.stdout
    assert "applied 1" not in done.stdout
    assert "state_changes_organization_at" in relations(sink_dsn)
    async with await psycopg.AsyncConnection.connect(sink_dsn) as conn:
        cursor = await conn.execute("SELECT message FROM integration_monitor.organization_status")
        assert await cursor.fetchall() == [("gone",)]


async def test_migrate__two_shards_at_once_apply_each_step_once(sink_dsn: str) -> None:
    """Several replicas migrating at the same moment take turns: every one succeeds and each
    step is applied once."""

    async def one() -> int:
        async with await psycopg.AsyncConnection.connect(sink_dsn) as conn:
            return (await migrate(conn)).after

    assert await asyncio.gather(*(one() for _ in range(4))) == [2, 2, 2, 2]
    assert [version for version, _ in versions(sink_dsn)] == [1, 2]


@pytest.mark.parametrize("reachable", [False, True], ids=["no-server", "wrong-password"])
def test_migrate__database_failure_exits_1_without_the_password(
    postgres: PostgresServer, reachable: bool
) -> None:
    """No server, or a refused login: exit 1 and one plain line, never the DSN or password."""
    secret = "Canary-Sink-Password-51"
    port = postgres.port if reachable else free_port()
    dsn = f"postgresql://monitor:{secret}@127.0.0.1:{port}/monitor"

    done = run_cli("migrate", env={"MONITOR_STATUS_SINK_URL": dsn})

    assert done.returncode == 1
    assert done.stderr.startswith("integration-monitor: migrate failed: ")
    assert ("password authentication failed" in done.stderr) is reachable
    assert "Traceback" not in done.stderr
    assert secret not in done.stderr + done.stdout
    assert PASSWORD not in done.stderr + done.stdout


def test_migrate__keep_going_lets_a_shard_start_while_the_database_is_down() -> None:
    """Before a shard starts: the failure is said, and the exit is 0 so the checks can run."""
    dsn = f"postgresql://monitor:Canary-Sink-Password-51@127.0.0.1:{free_port()}/monitor"

    done = run_cli("migrate", "--keep-going", env={"MONITOR_STATUS_SINK_URL": dsn})

    assert done.returncode == 0
    assert done.stderr.startswith("integration-monitor: migrate failed: ")
    assert "going on without it (--keep-going)" in done.stderr
    assert "Canary-Sink-Password-51" not in done.stderr


def test_migrate__without_a_database_is_bad_configuration() -> None:
    """Neither MONITOR_STATUS_SINK_URL nor DATABASE_URL: exit 2, saying which to set."""
    done = run_cli("migrate", env={})

    assert done.returncode == 2
    assert "invalid configuration" in done.stderr
    assert "MONITOR_STATUS_SINK_URL or DATABASE_URL" in done.stderr


def test_run__sink_without_a_database_is_bad_configuration(tmp_path: Path) -> None:
    """The daemon asked to write statuses with nowhere to write them: exit 2, listed."""
    orgs = write_organizations(tmp_path / "orgs.yaml", [organization(1)])
    env = {
        "MONITOR_ORGANIZATIONS_FILE": str(orgs),
        "MONITOR_HOST": "127.0.0.1",
        "MONITOR_STATUS_SINK": "postgres",
    }

    done = run_cli("run", env=env)

    assert done.returncode == 2
    assert "MONITOR_STATUS_SINK=postgres needs MONITOR_STATUS_SINK_URL or DATABASE_URL" in (
        done.stderr
    )
