"""The daemon in fleet mode for the monitoring stack's live tests: organizations answered by
the fake providers, the platform's own integrations beside them, and the status sink on a
database of its own that `integration-monitor migrate` prepared."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.fakes.providers import provider_env
from tests.fakes.server import FakeServer
from tests.fleet.organizations_fake import fleet_env, healthy_fleet
from tests.support.daemon import monitor_command, subprocess_env
from tests.support.postgres import PostgresServer

ORGANIZATIONS = 6
ALL_INTEGRATIONS = "whatsapp,stripe,email,database"


@contextmanager
def sink_database(postgres: PostgresServer) -> Iterator[str]:
    """An empty database on the session's cluster, dropped afterwards; yields its DSN."""
    name = f"stack_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres.dsn(database=name)
    finally:
        with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def serve_fleet(server: FakeServer, folder: Path) -> tuple[list[dict[str, Any]], Path]:
    """Healthy organizations at both providers (the platform's own paths stay as served)."""
    return healthy_fleet(server, folder, ORGANIZATIONS)


def fleet_stack_env(
    server: FakeServer, organizations_file: Path, sink_dsn: str, **extra: str
) -> dict[str, str]:
    """A fleet daemon that checks the platform's four integrations too, writes to the sink,
    and exports the opt-in per-organization error series."""
    return {
        **provider_env(server),
        **fleet_env(server, organizations_file),
        "MONITOR_INTEGRATIONS": ALL_INTEGRATIONS,
        "MONITOR_ORGANIZATION_METRICS": "failing",
        "MONITOR_STATUS_SINK": "postgres",
        "MONITOR_STATUS_SINK_URL": sink_dsn,
        # Enough budget for every organization once a second on each shard.
        "MONITOR_WHATSAPP_MAX_RPS": "50",
        "MONITOR_STRIPE_MAX_RPS": "50",
        **extra,
    }


def migrate(env: dict[str, str]) -> None:
    """`integration-monitor migrate` with the daemon's settings, as an operator runs it (on
    the loopback address the test daemons listen on, so that no API token is needed)."""
    done = subprocess.run(
        [*monitor_command(), "migrate"],
        env=subprocess_env({"MONITOR_LOG_FORMAT": "json", "MONITOR_HOST": "127.0.0.1", **env}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"migrate exited {done.returncode}:\n{done.stderr}"
