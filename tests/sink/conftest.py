"""A database of its own for each sink test, on the session's PostgreSQL cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.support.postgres import PostgresServer


@pytest.fixture
def sink_dsn(postgres: PostgresServer) -> Iterator[str]:
    """The DSN of an empty database, dropped after the test."""
    name = f"sink_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres.dsn(database=name)
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
