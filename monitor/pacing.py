"""Requests to one provider leave no closer together than the budget's spacing.

The request budget spaces its grants, but a busy event loop can let a granted request sit and
then go out right behind the next one; the provider counts arrivals. Each request here takes
the next free slot, a spacing after the previous one's, so sends stay spaced too. After a grant
the wait is nearly always zero: it is only ever the gap the loop closed. (Anchoring each slot on
when the previous request head was actually written, through httpcore's trace events, measured
worse: more close pairs at the provider and longer rounds; `python -m bench.fleet`.)
"""

from __future__ import annotations

import asyncio

import httpx


class PacedTransport(httpx.AsyncBaseTransport):
    """Sends no two requests closer together than `spacing_seconds`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, spacing_seconds: float) -> None:
        self._inner = inner
        self._spacing = spacing_seconds
        self._next_slot = -float("inf")  # event-loop time

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Wait for the next free slot, then send."""
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._spacing
        if slot > now:
            await asyncio.sleep(slot - now)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self._inner.aclose()
