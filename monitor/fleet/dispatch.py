"""One integration's dispatcher: takes due keys from the schedule, waits for budget (outside the
check's deadline), and starts the check; measures rounds and says when they stretch.

One asyncio task per integration walks a heap (`bench/scheduler_mechanisms.py`: about a third
of the CPU per dispatch of one APScheduler job per key, and a tenth of the set-up time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from monitor.budgets import Budget, Priority
from monitor.fleet.schedule import Schedule

log = structlog.get_logger("monitor.fleet")


class Round:
    """How long it takes to check every scheduled organization once.

    Args:
        integration: for the warning.
        record: called with the duration of each completed round.
        clock: monotonic seconds.
    """

    def __init__(
        self,
        integration: str,
        record: Callable[[float], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._integration = integration
        self._record = record
        self._clock = clock
        self._started = clock()
        self._left: set[str] = set()
        self._everyone: Callable[[], set[str]] = set
        self._warned = False

    def begin(self, everyone: Callable[[], set[str]]) -> None:
        """Start counting a round over the keys `everyone()` returns."""
        self._everyone = everyone
        self._left = everyone()
        self._started = self._clock()

    def forget(self, organizations: set[str]) -> None:
        """Keys removed by a reload no longer hold a round open."""
        self._left -= organizations

    def checked(self, organization: str) -> None:
        """One key was checked; a round ends when every key has been."""
        self._left.discard(organization)
        if self._left:
            return
        self._record(self._clock() - self._started)
        self.begin(self._everyone)

    def warn_if_stretched(
        self, organizations: int, requests_per_check: int, budget: Budget, interval: float
    ) -> None:
        """One warning, with the numbers, when the budget cannot cover everyone per interval."""
        needed_seconds = organizations * requests_per_check / budget.requests_per_second
        stretched = needed_seconds > interval
        if stretched and not self._warned:
            log.warning(
                "fleet.round_stretched",
                integration=self._integration,
                organizations=organizations,
                requests_per_check=requests_per_check,
                budget_requests_per_second=budget.requests_per_second,
                interval_seconds=interval,
                round_seconds=round(needed_seconds, 1),
            )
        self._warned = stretched


class Dispatcher:
    """Walks one integration's schedule for ever.

    Args:
        schedule: the keys (organization ids) and when they are due.
        budget: the provider's request budget.
        requests_per_check: budget one check takes.
        start_check: starts the check of one organization (returns without waiting for it).
        wall_clock: unix seconds, the clock of the schedule.
    """

    def __init__(
        self,
        schedule: Schedule[str],
        budget: Budget,
        requests_per_check: int,
        start_check: Callable[[str], None],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.schedule = schedule
        self._budget = budget
        self._requests = requests_per_check
        self._start_check = start_check
        self._wall_clock = wall_clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """The schedule changed (a reload added keys due at once): look again."""
        self._wake.set()

    async def run(self) -> None:
        """Dispatch due keys until cancelled."""
        while True:
            organization = await self._next_due()
            for _ in range(self._requests):
                await self._budget.acquire(Priority.LOW)
            self._start_check(organization)

    async def _next_due(self) -> str:
        while True:
            now = self._wall_clock()
            organization = self.schedule.pop_due(now)
            if organization is not None:
                return organization
            due = self.schedule.next_due()
            self._wake.clear()
            wait = None if due is None else max(0.0, due - now)
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass
