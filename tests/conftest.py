"""Fixtures shared by the whole suite: the fake provider server, a real PostgreSQL, and a
test environment that leaves the developer's own settings out."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fakes.providers import serve_healthy_providers
from tests.fakes.server import FakeServer
from tests.monitoring.stack_binaries import STACK_BIN_DIR
from tests.support.daemon import SCRUBBED_PREFIXES
from tests.support.postgres import PostgresServer, running_postgres


def pytest_configure(config: pytest.Config) -> None:
    """Find the Prometheus and Alertmanager binaries scripts/test unpacked, before any other."""
    if STACK_BIN_DIR.is_dir():
        os.environ["PATH"] = os.pathsep.join([str(STACK_BIN_DIR), os.environ.get("PATH", "")])


@pytest.fixture(autouse=True)
def away_from_developer_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's provider or monitor variables, or the `.env` the README
    has them write into the checkout: the CLI and daemon would use real credentials against
    real providers. Every test starts in an empty directory of its own."""
    for name in list(os.environ):
        if name.startswith(SCRUBBED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


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
