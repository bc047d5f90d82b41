"""A TCP proxy in front of PostgreSQL that goes silent once a session is ready for queries.

It stands for a pooler or load balancer that keeps the client's connection open after losing
the server behind it (a managed database's failover): the client's socket stays established,
what it sends is accepted, and no answer ever comes. New connections (a cancel request) still
reach the server.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.support.tcp_proxy import CHUNK, LoopbackProxy

READY_FOR_QUERY = b"Z"


class _ServerStream:
    """Splits the server's byte stream into protocol messages (type byte, int32 length)."""

    def __init__(self) -> None:
        self._pending = b""

    def ready_for_query_in(self, data: bytes) -> int | None:
        """The end offset in `data` of the first ReadyForQuery message, if one ends in it."""
        start = len(self._pending)
        self._pending += data
        offset = 0
        while len(self._pending) - offset >= 5:
            kind = self._pending[offset : offset + 1]
            (length,) = struct.unpack("!I", self._pending[offset + 1 : offset + 5])
            end = offset + 1 + length
            if end > len(self._pending):
                break
            if kind == READY_FOR_QUERY:
                return end - start
            offset = end
        self._pending = self._pending[offset:]
        return None


class StallingProxy(LoopbackProxy):
    """Forwards to 127.0.0.1:`upstream_port` until the server first says it is ready, then
    swallows everything on that connection. Connect with sslmode and gssencmode disabled:
    the proxy reads the plain protocol."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.stalled = threading.Event()  # a session went silent
        self.swallowed = threading.Event()  # and the client sent something into the silence

    def forward(self, client: socket.socket, server: socket.socket) -> None:
        silent = threading.Event()
        self.spawn(self._to_server, client, server, silent)
        self.spawn(self._to_client, server, client, silent)

    def _to_server(
        self, client: socket.socket, server: socket.socket, silent: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(CHUNK):
                if silent.is_set():
                    self.swallowed.set()
                else:
                    server.sendall(data)
            if not silent.is_set():
                server.shutdown(socket.SHUT_WR)

    def _to_client(
        self, server: socket.socket, client: socket.socket, silent: threading.Event
    ) -> None:
        stream = _ServerStream()
        with contextlib.suppress(OSError):
            while data := server.recv(CHUNK):
                if silent.is_set():
                    continue
                ready_at = stream.ready_for_query_in(data)
                if ready_at is not None:
                    # The session is ready: from now on this connection hears nothing.
                    silent.set()
                    client.sendall(data[:ready_at])
                    self.stalled.set()
                    continue
                client.sendall(data)
            if not silent.is_set():
                client.shutdown(socket.SHUT_WR)
