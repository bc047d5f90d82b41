"""A TCP proxy in front of PostgreSQL that reads what clients send, and can cut them off.

It records the name of every statement a client asks the server to prepare (a Parse message
with a non-empty name): a transaction pooler such as Supabase's Supavisor or PgBouncer in
transaction mode may send the next transaction to another backend, where that statement does not
exist. `cut` stands for the database going away: every connection is closed and new ones are
closed at once; `restore` brings it back. Connect with sslmode and gssencmode disabled: the
proxy reads the plain protocol.
"""

from __future__ import annotations

import contextlib
import socket
import struct

from tests.support.tcp_proxy import CHUNK, LoopbackProxy, close_sockets

PARSE = b"P"


class _ClientStream:
    """Splits what a client sends into messages: the untyped startup message, then typed ones."""

    def __init__(self) -> None:
        self._pending = b""
        self._started = False

    def parse_names(self, data: bytes) -> list[str]:
        """The statement names of the Parse messages complete so far."""
        self._pending += data
        names = []
        while True:
            header = 4 if not self._started else 5
            if len(self._pending) < header:
                return names
            kind = self._pending[:1] if self._started else b""
            (length,) = struct.unpack("!I", self._pending[header - 4 : header])
            end = header - 4 + length
            if len(self._pending) < end:
                return names
            body = self._pending[header:end]
            self._pending = self._pending[end:]
            self._started = True
            if kind == PARSE:
                names.append(body.split(b"\0", 1)[0].decode())


class InspectingProxy(LoopbackProxy):
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port`, watching Parse messages."""

    def __init__(self, upstream_port: int) -> None:
        super().__init__(upstream_port)
        self.parses = 0  # every Parse message, named or not
        self.named_statements: list[str] = []

    def dsn(self, upstream_dsn: str) -> str:
        """`upstream_dsn` (a URL on 127.0.0.1) pointed at the proxy, in plain text."""
        head, _, tail = upstream_dsn.rpartition(f":{self._upstream_port}/")
        return f"{head}:{self.port}/{tail}?sslmode=disable&gssencmode=disable"

    def cut(self) -> None:
        """The database goes away: close every connection, and close new ones at once."""
        with self._lock:
            self._refusing = True
        self.close_connections()

    def restore(self) -> None:
        """The database is back."""
        with self._lock:
            self._refusing = False

    def forward(self, client: socket.socket, server: socket.socket) -> None:
        self.spawn(self._to_server, client, server)
        self.spawn(self._to_client, server, client)

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        stream = _ClientStream()
        with contextlib.suppress(OSError):
            while data := client.recv(CHUNK):
                names = stream.parse_names(data)
                with self._lock:
                    self.parses += len(names)
                    self.named_statements += [name for name in names if name]
                server.sendall(data)
        close_sockets([client, server])

    def _to_client(self, server: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := server.recv(CHUNK):
                client.sendall(data)
        close_sockets([client, server])
