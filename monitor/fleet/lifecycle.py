"""The fleet's background work: the first load (tried again while a database source is down),
reloads on a timer and on SIGHUP, the dispatchers, and a stop that leaves nothing running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from monitor.fleet.directory import DirectoryChange
from monitor.fleet.service import FleetService
from monitor.fleet.sources import SourceError

# A database source that fails at start is tried again this often.
START_RETRY_SECONDS = 30.0


class FleetLifecycle:
    """Starts and stops what runs in the background for one fleet.

    Args:
        fleet: the service.
        reload_seconds: MONITOR_ORGANIZATIONS_RELOAD_SECONDS.
    """

    def __init__(self, fleet: FleetService, reload_seconds: float) -> None:
        self.fleet = fleet
        self._reload_seconds = reload_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """The dispatchers, the reload timer, the status sink and, until one has succeeded, the
        first load."""
        if self.fleet.sink is not None:
            self.fleet.sink.start()
        for loop in self.fleet.background():
            self._spawn(loop, "fleet-background")
        if not self.fleet.loaded:
            self._spawn(self._load_until_it_works(), "fleet-first-load")
        self._spawn(self._reload_periodically(), "fleet-reload-timer")

    async def stop(self) -> None:
        """Cancel the background work and the checks in flight; a waiting refresh gets 503.
        The status sink then gets one last, bounded, attempt to write what waits."""
        tasks = [*self._tasks, *self.fleet.stop_checks()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.fleet.sink is not None:
            await self.fleet.sink.close()

    async def load(self) -> DirectoryChange:
        """Load the organizations now.

        Raises:
            SourceError: the source failed; the last good list stays.
        """
        return await self.fleet.load()

    def reload_soon(self) -> None:
        """A reload in the background (SIGHUP); a failure keeps the list."""
        self._spawn(self._reload_quietly(), "fleet-reload")

    async def _reload_quietly(self) -> None:
        with contextlib.suppress(SourceError):  # logged by the directory; the list stays
            await self.fleet.load()

    async def _reload_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._reload_seconds)
            if self.fleet.loaded:
                await self._reload_quietly()

    async def _load_until_it_works(self) -> None:
        while not self.fleet.loaded:
            try:
                await self.fleet.load()
            except SourceError:
                await asyncio.sleep(START_RETRY_SECONDS)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
