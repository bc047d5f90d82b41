"""The daemon's HTTP protocol over uvicorn's internals: still in step with the uvicorn installed.

HeadDeadlineProtocol overrides hooks of uvicorn's H11Protocol and reads its attributes. A
uvicorn release that renames or reshapes them would silently switch the request-head deadline
off (a slowloris could hold sockets again); these tests fail on such a release.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator

import h11
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor import http_server
from monitor.http_server import HeadDeadlineProtocol, Server
from tests.support.net import free_port
from tests.support.waiting import wait_until

HEAD_SECONDS = 0.3
# Far more than HEAD_SECONDS, far less than uvicorn's own 5 s keep-alive timeout.
CLOSED_WITHIN_SECONDS = 3.0
REQUEST = b"GET / HTTP/1.1\r\nHost: monitor\r\n\r\n"
UNFINISHED_HEAD = b"GET / HTTP/1.1\r\nHost: mon"

# The hooks the subclass overrides, with the parameters it passes on.
EXTENDED_HOOKS = {
    "connection_made": ["self", "transport"],
    "data_received": ["self", "data"],
    "on_response_complete": ["self"],
    "connection_lost": ["self", "exc"],
}


def test_h11_protocol__has_the_hooks_the_daemon_extends() -> None:
    """Every hook HeadDeadlineProtocol overrides exists in uvicorn with the same parameters."""
    for name, parameters in EXTENDED_HOOKS.items():
        hook = getattr(H11Protocol, name, None)
        assert callable(hook), f"uvicorn's H11Protocol has no {name}()"
        assert list(inspect.signature(hook).parameters) == parameters, name
        assert name in vars(HeadDeadlineProtocol), f"HeadDeadlineProtocol no longer extends {name}"


@pytest.fixture
async def server_address(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, int]]:
    """The daemon's uvicorn server and protocol, with a short head deadline, on a free port."""
    monkeypatch.setattr(http_server, "REQUEST_HEAD_SECONDS", HEAD_SECONDS)
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="off", http=HeadDeadlineProtocol
    )
    server = Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        await wait_until(lambda: server.started, 10)
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await serving


async def closed_after(reader: asyncio.StreamReader) -> float:
    """Seconds until the server closes the connection, reading whatever it sends."""
    started = time.monotonic()
    async with asyncio.timeout(CLOSED_WITHIN_SECONDS):
        while await reader.read(65536):
            pass
    return time.monotonic() - started


async def read_one_response(reader: asyncio.StreamReader) -> int:
    """The status of the next response on the connection, read to its last byte."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "monitor")]))
    client.send(h11.EndOfMessage())
    status = 0
    async with asyncio.timeout(CLOSED_WITHIN_SECONDS):
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                return status


async def test_head_deadline__unfinished_first_head_is_closed(
    server_address: tuple[str, int],
) -> None:
    """A client that never finishes its request head is disconnected at the deadline."""
    reader, writer = await asyncio.open_connection(*server_address)
    writer.write(UNFINISHED_HEAD)
    await writer.drain()

    assert await closed_after(reader) >= HEAD_SECONDS * 0.5
    writer.close()


async def test_head_deadline__kept_alive_connection_gets_a_new_deadline(
    server_address: tuple[str, int],
) -> None:
    """After an answer on a kept-alive connection, the next unfinished head is cut off too."""
    reader, writer = await asyncio.open_connection(*server_address)
    writer.write(REQUEST)
    await writer.drain()
    assert await read_one_response(reader) == 200

    writer.write(UNFINISHED_HEAD)
    await writer.drain()
    await closed_after(reader)
    writer.close()


async def test_head_deadline__complete_requests_are_answered(
    server_address: tuple[str, int],
) -> None:
    """Clients that send whole requests get answers, twice on one connection."""
    reader, writer = await asyncio.open_connection(*server_address)
    for _ in range(2):
        writer.write(REQUEST)
        await writer.drain()
        assert await read_one_response(reader) == 200
    writer.close()
