"""uvicorn, as the daemon runs it: no signal handling of its own, and a deadline for each
request head so that slow or silent clients cannot hold connections for ever."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

# A client has this long to send a complete request head on a new or kept-alive connection;
# the same bound uvicorn gives an idle keep-alive connection.
REQUEST_HEAD_SECONDS = 5.0


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon decides when to stop."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave SIGTERM and SIGINT to the daemon's event loop."""
        yield


class HeadDeadlineProtocol(H11Protocol):
    """HTTP/1.1 that closes a connection whose request head is not complete in time.

    uvicorn times only idle keep-alive connections, and the first byte of a request cancels
    that timer; a slowloris client that then sends a byte a second would keep a socket open
    for ever.

    H11Protocol is uvicorn's internals, not its API: pyproject.toml caps uvicorn below the
    next minor release not yet tested, and tests/test_http_server.py checks the hooks
    overridden here and the attributes read (conn, transport, loop) on the installed release.
    """

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request head."""
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        """Stop the clock once a whole head has arrived."""
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this connection."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """No clock for a connection that is gone."""
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_timer = self.loop.call_later(REQUEST_HEAD_SECONDS, self._head_overdue)

    def _disarm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()
