"""A loopback TCP proxy whose subclasses decide what each connection's bytes go through.

The base accepts connections in a thread of its own, connects each to the upstream port, keeps
every socket so that `stop` (and a subclass cutting the database off) can close them all, and
refuses new connections while `refusing` is set.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

CHUNK = 65536


class LoopbackProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port`; `forward` is the subclass's."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._refusing = False
        self._closing = False

    def start(self) -> Self:
        """Accept connections in a thread of its own."""
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the listener and every connection."""
        with self._lock:
            self._closing = True
        self.close_connections()
        close_sockets([self._listener])

    def close_connections(self) -> None:
        """Close every connection made so far."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        close_sockets(sockets)

    def forward(self, client: socket.socket, server: socket.socket) -> None:
        """Start passing bytes between a new client and its server connection."""
        raise NotImplementedError

    @staticmethod
    def spawn(target: Callable[..., None], *args: Any) -> None:
        """Run one direction of a connection in a thread of its own."""
        threading.Thread(target=target, args=args, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                close_sockets([client])
                continue
            server = socket.create_connection(("127.0.0.1", self._upstream_port))
            with self._lock:
                if self._closing:
                    close_sockets([client, server])
                    return
                self._sockets += [client, server]
            self.forward(client, server)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def close_sockets(sockets: list[socket.socket]) -> None:
    """Shut down and close each socket, whatever state it is in."""
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
