"""Per-provider request budgets (contract §8.3): at most N requests in any 1-second window.

aiolimiter's `AsyncLimiter(n, 1)` is a leaky bucket that holds n: after an idle second it lets n
requests through at once and then one every 1/n s, so one window can hold nearly 2n. A bucket
of one, `AsyncLimiter(1, 1 / n)`, spaces every request at least 1/n s after the one before:
n + 1 requests span at least a second, so no window of one second ever holds more than n.

In front of the bucket stands a line ordered by priority, then arrival. Only the first in line
asks the bucket, so a platform check or a refresh that arrives late still goes before the
scheduled organization checks already waiting.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from heapq import heappop, heappush

from aiolimiter import AsyncLimiter

DEFAULT_REQUESTS_PER_SECOND = {"whatsapp": 10.0, "stripe": 5.0}
# How soon the first in line looks again when float rounding leaves the bucket a hair short.
_RECHECK_SECONDS = 0.001


class Priority(IntEnum):
    """Who goes first when both wait: lower values first."""

    HIGH = 0  # platform checks and refreshes: someone is waiting for the answer
    LOW = 1  # scheduled organization checks


class NoBudgetInTime(Exception):
    """The deadline passed before the provider's budget had room for one more request."""

    def __init__(self, provider: str, retry_after: float) -> None:
        super().__init__(f"no {provider} request budget within the deadline")
        self.provider = provider
        self.retry_after = retry_after  # seconds: a fair guess for a Retry-After header


@dataclass(order=True)
class _Waiter:
    priority: int
    arrival: int
    wake: asyncio.Event = field(default_factory=asyncio.Event, compare=False)
    gone: bool = field(default=False, compare=False)


# The provider counts requests as they arrive, not as we grant them: a request that waits longer
# for its connection than the next one narrows the gap between them. Spacing grants this much
# wider than the budget needs absorbs that much jitter (10 % of the budget's throughput).
JITTER_GUARD = 0.10


def spacing_seconds(requests_per_second: float) -> float:
    """The least time between two requests so that no 1-second window holds more than allowed.

    A fractional budget of 1 or more is rounded down (2.5/s allows 2 in any second, never 3);
    below 1/s, requests are 1/rps seconds apart. Both are widened by JITTER_GUARD.
    """
    if not 0 < requests_per_second < math.inf:
        raise ValueError(f"a request budget must be a positive number, not {requests_per_second}")
    if requests_per_second >= 1:
        return (1 + JITTER_GUARD) / math.floor(requests_per_second)
    return (1 + JITTER_GUARD) / requests_per_second


class Budget:
    """One provider's budget, shared by every check that sends it requests.

    Args:
        provider: the provider's name, for messages ("whatsapp", "stripe").
        requests_per_second: the most requests in any 1-second window.
    """

    def __init__(self, provider: str, requests_per_second: float) -> None:
        self.provider = provider
        self.requests_per_second = requests_per_second
        self._spacing = spacing_seconds(requests_per_second)
        self._bucket = AsyncLimiter(1, self._spacing)
        self._line: list[_Waiter] = []
        self._first: _Waiter | None = None
        self._arrivals = itertools.count()
        self._waiting = 0
        self._held_until = -math.inf  # event-loop time
        self._granted_at = -math.inf

    @property
    def waiting(self) -> int:
        """How many callers wait for budget right now."""
        return self._waiting

    def hold(self, seconds: float) -> None:
        """Send nothing to this provider for `seconds` (a provider-wide limit); never shortens."""
        if seconds > 0:
            until = asyncio.get_running_loop().time() + seconds
            self._held_until = max(self._held_until, until)

    def held_for(self) -> float:
        """Seconds left of the current hold, 0 when none."""
        return max(0.0, self._held_until - asyncio.get_running_loop().time())

    async def acquire(
        self, priority: Priority = Priority.LOW, max_wait: float | None = None
    ) -> float:
        """Wait for room for one request; return the event-loop time it was granted.

        Raises:
            NoBudgetInTime: `max_wait` seconds passed first; the caller took no budget.
        """
        waiter = _Waiter(priority, next(self._arrivals))
        heappush(self._line, waiter)
        self._waiting += 1
        self._wake_first()
        try:
            async with asyncio.timeout(max_wait):
                return await self._take_turn(waiter)
        except TimeoutError:
            raise NoBudgetInTime(self.provider, self._retry_after(waiter)) from None
        finally:
            waiter.gone = True
            self._waiting -= 1
            self._wake_first()

    async def _take_turn(self, waiter: _Waiter) -> float:
        loop = asyncio.get_running_loop()
        while True:
            if self._line[0] is not waiter:
                await self._sleep(waiter, None)
                continue
            # The bucket decides; as it holds one, it has room again one spacing after the last
            # grant, so that is when the first in line looks (unless a hold lasts longer).
            ready_at = max(self._held_until, self._granted_at + self._spacing)
            now = loop.time()
            if now >= ready_at and self._bucket.has_capacity():
                # The bucket has room, so this returns at once: no other caller runs in between,
                # and the grant happens in the caller's own task, at the time it is recorded.
                await self._bucket.acquire()
                self._granted_at = loop.time()
                return self._granted_at
            await self._sleep(waiter, max(ready_at, now + _RECHECK_SECONDS))

    async def _sleep(self, waiter: _Waiter, until: float | None) -> None:
        """Until `until` (event-loop time), or until the line changes and the waiter is first."""
        waiter.wake.clear()
        timer = (
            None if until is None else asyncio.get_running_loop().call_at(until, waiter.wake.set)
        )
        try:
            await waiter.wake.wait()
        finally:
            if timer is not None:
                timer.cancel()

    def _wake_first(self) -> None:
        while self._line and self._line[0].gone:
            heappop(self._line)
        # Called after every change to the line, so `_first` is always the first in line and a
        # waiter that becomes first (again, after being passed over) is always woken.
        if self._line and self._line[0] is not self._first:
            self._first = self._line[0]
            self._first.wake.set()

    def _retry_after(self, waiter: _Waiter) -> float:
        ahead = sum(1 for other in self._line if not other.gone and other < waiter)
        return max(self.held_for(), self._spacing * (ahead + 1))


class Budgets(Mapping[str, Budget]):
    """Every provider's budget, by provider name ("whatsapp", "stripe")."""

    def __init__(self, requests_per_second: Mapping[str, float]) -> None:
        self._by_provider = {
            provider: Budget(provider, rps) for provider, rps in requests_per_second.items()
        }

    def __getitem__(self, provider: str) -> Budget:
        return self._by_provider[provider]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_provider)

    def __len__(self) -> int:
        return len(self._by_provider)
