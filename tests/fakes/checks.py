"""Hand-written checks for runner and service tests: slow, failing, crashing, stubborn, hung."""

from __future__ import annotations

import asyncio
import contextlib
import time

from monitor.checks.base import CheckFailed, Outcome, Reason


class SleepyCheck:
    """Connected after `seconds`."""

    def __init__(self, seconds: float = 0.0, message: str = "fine") -> None:
        self.seconds = seconds
        self.message = message
        self.runs = 0

    async def run(self) -> Outcome:
        """Sleep, then report connected."""
        self.runs += 1
        await asyncio.sleep(self.seconds)
        return Outcome.connected(self.message)


class ScriptedCheck:
    """Follows a script of outcomes ("ok" or a Reason), repeating the last one."""

    def __init__(self, *steps: str | Reason) -> None:
        self.steps = list(steps)
        self.runs = 0

    async def run(self) -> Outcome:
        """The next step of the script."""
        step = self.steps[min(self.runs, len(self.steps) - 1)]
        self.runs += 1
        if step == "ok":
            return Outcome.connected("all good")
        raise CheckFailed(Reason(step), f"failed with {step}")


class CrashingCheck:
    """Raises an exception no check should raise."""

    async def run(self) -> Outcome:
        """Crash."""
        raise ZeroDivisionError("division by zero in a provider SDK")


class StubbornCheck:
    """Swallows cancellation and keeps going, as a badly written SDK might."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.finished = asyncio.Event()

    async def run(self) -> Outcome:
        """Ignore the first cancellation, then finish."""
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            await asyncio.sleep(self.seconds)
        self.finished.set()
        return Outcome.connected("late")


class SelfCancellingCheck:
    """Ends cancelled on its own, as a library's cancel scope can leave a task."""

    async def run(self) -> Outcome:
        """Raise CancelledError from inside."""
        raise asyncio.CancelledError


class HungCheck:
    """Swallows every cancellation and never ends until released, as a wedged driver might.

    `alive` counts the runs in progress, so a test can see how many attempts are left hanging.
    """

    def __init__(self) -> None:
        self.runs = 0
        self.alive = 0
        self.released = asyncio.Event()

    async def run(self) -> Outcome:
        """Wait for the release, whatever cancels it in between."""
        self.runs += 1
        self.alive += 1
        try:
            while not self.released.is_set():
                # A wedged driver: cancellation is swallowed, the wait goes on.
                with contextlib.suppress(asyncio.CancelledError):
                    await self.released.wait()
        finally:
            self.alive -= 1
        return Outcome.connected("released at last")


class NotConfiguredCheck:
    """An integration whose credentials are not set."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self) -> Outcome:
        """Say so."""
        self.runs += 1
        return Outcome.not_configured("nothing is set")


class TimedCheck:
    """Takes the given seconds per run (the last one repeats) and notes when each run started
    and ended on the monotonic clock."""

    def __init__(self, *seconds: float) -> None:
        self.seconds = seconds
        self.spans: list[tuple[float, float]] = []
        self.runs = 0

    async def run(self) -> Outcome:
        """Sleep this run's time, then report connected."""
        started = time.monotonic()
        self.runs += 1
        await asyncio.sleep(self.seconds[min(self.runs, len(self.seconds)) - 1])
        self.spans.append((started, time.monotonic()))
        return Outcome.connected("on time")
