"""Broken connections: reset, cut mid-body, never answered, dripped, unresolvable. Each is a
clean error with a reason, for every provider, within the check deadline, and a database that
never answers costs one connection, not one per cycle."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr

from monitor.checks.base import CheckResult, Reason, Status, Target
from monitor.checks.postgres import PostgresCheck, PostgresSettings
from monitor.redaction import Redactor
from monitor.runner import Runner
from tests.checks.misbehaviours import closed_mid_body
from tests.fakes.server import FakeServer, Reply
from tests.faults.wiring import PROVIDER_PATHS, dripped, one_cycle
from tests.support.waiting import wait_until

# Long enough that a per-read timeout of the HTTP client cannot be what ends a one-byte-per-
# second drip: only the runner's hard deadline can.
DEADLINE = 1.5
# Loopback answers, scheduling and client set-up; generous for a busy machine.
SLACK_SECONDS = 0.75
UNRESOLVABLE_HOST = "api.provider-that-does-not-resolve.invalid"


def serve_everywhere(server: FakeServer, reply: Reply) -> None:
    """Every provider's path answers with `reply`."""
    for path in PROVIDER_PATHS.values():
        server.route(path, reply)


async def cycle_against(base_url: str) -> tuple[dict[str, CheckResult], float]:
    """One cycle of the four checks and its wall time."""
    started = time.perf_counter()
    results = await one_cycle(base_url, deadline_seconds=DEADLINE)
    return results, time.perf_counter() - started


async def nothing_left_running(limit_seconds: float = 2.0) -> bool:
    """True once no task but the caller is left on the loop."""
    current = asyncio.current_task()
    async with asyncio.timeout(limit_seconds):
        while asyncio.all_tasks() - {current}:  # noqa: ASYNC110 - waiting for tasks to end
            await asyncio.sleep(0.02)
    return True


def assert_all_failed(results: dict[str, CheckResult], reason: Reason, elapsed: float) -> None:
    """Every provider is an error with `reason`, and the cycle kept its deadline."""
    assert set(results) == set(PROVIDER_PATHS)
    for name, result in results.items():
        assert result.status is Status.ERROR, name
        assert result.reason is reason, (name, result.reason, result.outcome.message)
        assert result.outcome.message, name
        assert result.duration_ms <= (DEADLINE + SLACK_SECONDS) * 1000, name
    assert elapsed < DEADLINE + SLACK_SECONDS


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        pytest.param(Reply(reset=True), Reason.CONNECTION, id="reset-by-peer"),
        pytest.param(closed_mid_body(), Reason.CONNECTION, id="closed-mid-body"),
        pytest.param(Reply(hang=True), Reason.TIMEOUT, id="never-answers"),
        pytest.param(dripped(), Reason.TIMEOUT, id="one-byte-per-second"),
    ],
)
async def test_every_provider__broken_connection(
    fake_server: FakeServer, reply: Reply, reason: Reason
) -> None:
    """A provider that breaks the connection shows one clean error per integration, in time."""
    serve_everywhere(fake_server, reply)

    results, elapsed = await cycle_against(fake_server.url)

    assert_all_failed(results, reason, elapsed)
    assert {r.path for r in fake_server.requests} == set(PROVIDER_PATHS.values())
    assert await nothing_left_running()


async def test_every_provider__host_name_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider host name that does not resolve is a connection error, not a crash."""
    real_getaddrinfo = socket.getaddrinfo
    looked_up: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # The one stand-in of the suite: no resolver runs here, and nothing may leave loopback.
        if host in (UNRESOLVABLE_HOST, UNRESOLVABLE_HOST.encode()):
            looked_up.append(UNRESOLVABLE_HOST)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    results, elapsed = await cycle_against(f"https://{UNRESOLVABLE_HOST}")

    assert_all_failed(results, Reason.CONNECTION, elapsed)
    assert all("resolve" in r.outcome.message for r in results.values())
    assert len(looked_up) >= len(PROVIDER_PATHS)


class SilentDatabase:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0  # connections the client has not closed yet
        self.peak_open = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hold the connection, reading and ignoring, until the client closes it."""
        self.accepted += 1
        self.open += 1
        self.writers.append(writer)
        self.peak_open = max(self.peak_open, self.open)
        try:
            await reader.read()  # until EOF: the client gave up and closed
        finally:
            self.open -= 1
            writer.close()


@asynccontextmanager
async def silent_database() -> AsyncIterator[tuple[SilentDatabase, str]]:
    """The silent server and a DSN pointing at it."""
    database = SilentDatabase()
    server = await asyncio.start_server(database.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield database, f"postgresql://monitor:pw-canary-silent@127.0.0.1:{port}/monitor"
    finally:
        server.close()
        for writer in database.writers:
            writer.close()  # ends each handler's read, so no handler is left to cancel
        await wait_until(lambda: database.open == 0)


async def test_postgres__silent_database_holds_one_connection_over_many_cycles() -> None:
    """A database that accepts and never answers holds one connection and task, not one a cycle."""
    async with silent_database() as (database, dsn):
        check = PostgresCheck(PostgresSettings(dsn=SecretStr(dsn)), timeout_seconds=0.1)
        runner = Runner([Target("database", "postgres", check)], 0.1, Redactor([dsn]))
        live = []
        for _ in range(20):
            results = await runner.run_cycle()
            live.append(sum(t.get_name() == "check:database" for t in asyncio.all_tasks()))

        assert results["database"].reason is Reason.TIMEOUT
        assert max(live) <= 1
        assert database.accepted >= 1
        assert database.peak_open == 1
