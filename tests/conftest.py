"""Fixtures shared by the whole suite: the fake provider server and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.providers import serve_healthy_providers
from tests.fakes.server import FakeServer
from tests.support.postgres import PostgresServer, running_postgres


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A fake provider server on 127.0.0.1, answering as healthy providers do."""
    server = FakeServer().start()
    serve_healthy_providers(server)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL cluster (Debian's packages) for the whole session."""
    with running_postgres() as server:
        yield server
