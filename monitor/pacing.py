"""Requests to one provider leave the socket no closer together than the budget's spacing.

The request budget spaces its grants, but between a grant and the moment a request's bytes are
written there are several awaits (the check's task, the connection pool, a connection being
opened): a request delayed there goes out right behind the next one, and the provider counts
arrivals. So the spacing is kept a second time here, anchored on when each request's head is
actually written (httpcore's trace events), not on when it was let go.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

# httpcore's trace events for "the request head has been handed to the socket".
_WRITE_EVENTS = frozenset(
    {"http11.send_request_headers.complete", "http2.send_request_headers.complete"}
)
# A request that cannot write (a connection that does not open) holds the next one back at
# most this many spacings: pacing must not turn one hung connect into a queue.
_MAX_WAIT_SPACINGS = 4

Trace = Callable[[str, Mapping[str, Any]], Awaitable[None]]


class PacedTransport(httpx.AsyncBaseTransport):
    """Writes no two request heads closer together than `spacing_seconds`.

    After a budget grant the wait here is nearly always zero: it is only ever the gap that the
    event loop or the connection pool closed.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, spacing_seconds: float) -> None:
        self._inner = inner
        self._spacing = spacing_seconds
        self._last_write = -float("inf")  # event-loop time
        self._next_slot = -float("inf")
        self._previous: asyncio.Event | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Take the next slot, wait for it and for the previous request's head, then send."""
        loop = asyncio.get_running_loop()
        slot = max(loop.time(), self._next_slot)
        self._next_slot = slot + self._spacing
        written = asyncio.Event()
        previous, self._previous = self._previous, written
        try:
            await asyncio.sleep(max(0.0, slot - loop.time()))
            await self._after_write_of(previous)
            request.extensions = {**request.extensions, "trace": self._tracer(written)}
            return await self._inner.handle_async_request(request)
        finally:
            written.set()

    async def _after_write_of(self, previous: asyncio.Event | None) -> None:
        if previous is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._spacing * _MAX_WAIT_SPACINGS):
                    await previous.wait()
        wait = self._last_write + self._spacing - asyncio.get_running_loop().time()
        if wait > 0:  # the previous head went out late: the slots behind move with it
            self._next_slot += wait
            await asyncio.sleep(wait)

    def _tracer(self, written: asyncio.Event) -> Trace:
        async def trace(event: str, _: Mapping[str, Any]) -> None:
            if event in _WRITE_EVENTS:
                self._last_write = asyncio.get_running_loop().time()
                written.set()

        return trace

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
