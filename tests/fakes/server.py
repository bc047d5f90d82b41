"""A small HTTP/1.1 server on 127.0.0.1 that answers as a fake provider would, misbehaviours
included (hang after accept, drip the body, close mid-body, reset).

It runs its own event loop in a thread, so the tests' loop and the daemon under test (a
subprocess) both reach it over real sockets.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.net import free_port


@dataclass(frozen=True)
class Request:
    """What a client sent, for assertions (headers lower-cased)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    received_at: float = field(default_factory=time.monotonic, compare=False)


@dataclass(frozen=True)
class Reply:
    """How to answer one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before anything is sent
    hang: bool = False  # accept, read the request, never answer
    drip_interval: float | None = None  # send headers, then one body byte per interval
    truncate_to: int | None = None  # announce the whole body, send this many bytes, close
    reset: bool = False  # close with a TCP reset instead of answering

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        """A JSON answer."""
        body = json.dumps(payload).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def html(cls, status: int, text: str) -> Reply:
        """An HTML page, as a proxy in front of a provider sends."""
        return cls(status, text.encode(), {"Content-Type": "text/html"})


Responder = Reply | Callable[[Request], Reply]
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class FakeServer:
    """Routes by method and exact path; unknown paths get a 404 that names them."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Request] = []
        self._routes: dict[tuple[str, str], Responder] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._stop_hanging = asyncio.Event()
        self._connections: set[asyncio.StreamWriter] = set()
        self.connections_accepted = 0
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The base URL clients use."""
        return f"http://127.0.0.1:{self.port}"

    def route(self, path: str, responder: Responder, method: str = "GET") -> None:
        """Answer `method path` with `responder` from now on."""
        with self._lock:
            self._routes[(method, path)] = responder

    def requests_to(self, path: str) -> list[Request]:
        """The requests that reached `path` so far."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FakeServer:
        """Listen and serve in the background."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Close the listener and every open connection."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        self._stop_hanging = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _close(self) -> None:
        self._stop_hanging.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._connections):
            writer.transport.abort()
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        self.connections_accepted += 1
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the server is stopping; ending quietly keeps asyncio from reporting it
        finally:
            self._handlers.discard(handler)
            self._connections.discard(writer)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        request = await _read_request(reader)
        if request is None:
            return False
        with self._lock:
            self.requests.append(request)
            responder = self._routes.get((request.method, request.path))
        if responder is None:
            reply = Reply.json(404, {"error": f"no fake route for {request.method} {request.path}"})
        else:
            reply = responder(request) if callable(responder) else responder
        return await self._answer(reply, writer)

    async def _answer(self, reply: Reply, writer: asyncio.StreamWriter) -> bool:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.hang:
            await self._stop_hanging.wait()
            return False
        if reply.reset:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        writer.write(_head(reply))
        body = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
        if reply.drip_interval is None:
            writer.write(body)
            await writer.drain()
        else:
            for byte in body:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(reply.drip_interval)
        return reply.truncate_to is None


def _head(reply: Reply) -> bytes:
    headers = {"Content-Length": str(len(reply.body)), **reply.headers}
    lines = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if length:
        await reader.readexactly(length)
    parts = urlsplit(target)
    return Request(method, parts.path, parse_qs(parts.query), headers)
