"""Deadline-polled waits: a condition is polled until it holds, never a fixed sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(
    condition: Callable[[], object], limit_seconds: float = 10.0, interval: float = 0.01
) -> None:
    """Poll `condition` on the event loop until it holds, or fail after `limit_seconds`."""
    async with asyncio.timeout(limit_seconds):
        while not condition():  # noqa: ASYNC110 - the condition is a counter, not an event
            await asyncio.sleep(interval)
