"""One cycle: every target checked at once, each under a hard deadline, none hurting another."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason, Target
from monitor.redaction import Redactor

log = structlog.get_logger("monitor.runner")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class Runner:
    """Runs the checks of a list of targets in parallel.

    Args:
        targets: what to check; each name appears once in the results.
        timeout_seconds: the hard deadline of one check, connect to last byte.
        redactor: scrubs secrets out of every message and detail a provider echoes back.
        clock: stamps results (a fake in tests).
    """

    def __init__(
        self,
        targets: Sequence[Target],
        timeout_seconds: float,
        redactor: Redactor,
        clock: Clock = utc_now,
    ) -> None:
        self.targets = tuple(targets)
        self._timeout = timeout_seconds
        self._redactor = redactor
        self._clock = clock
        # Checks that ignored cancellation past their deadline; kept so they are not collected
        # mid-flight, and dropped as soon as they end.
        self._stragglers: set[asyncio.Task[Outcome]] = set()

    async def run_cycle(self) -> dict[str, CheckResult]:
        """Check every target concurrently; one result per target name, always."""
        results = await asyncio.gather(*(self._run_one(target) for target in self.targets))
        return {target.name: result for target, result in zip(self.targets, results, strict=True)}

    async def _run_one(self, target: Target) -> CheckResult:
        started = time.perf_counter()
        outcome = await self._outcome_within_deadline(target)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        return CheckResult(self._redactor.scrub_outcome(outcome), self._clock(), duration_ms)

    async def _outcome_within_deadline(self, target: Target) -> Outcome:
        task = asyncio.create_task(target.check.run(), name=f"check:{target.name}")
        try:
            done, _ = await asyncio.wait({task}, timeout=self._timeout)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not done:
            self._abandon(task)
            return Outcome.failed(
                CheckFailed(Reason.TIMEOUT, f"no result within {self._timeout:g} s")
            )
        return self._outcome_of(target, task)

    def _abandon(self, task: asyncio.Task[Outcome]) -> None:
        # The deadline holds even for a check that swallows cancellation: we stop waiting here.
        task.cancel()
        self._stragglers.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[Outcome]) -> None:
        self._stragglers.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not warn about it

    def _outcome_of(self, target: Target, task: asyncio.Task[Outcome]) -> Outcome:
        try:
            return task.result()
        except CheckFailed as failure:
            return Outcome.failed(failure)
        except Exception as exc:  # the boundary of one check
            log.error(
                "check.crashed",
                integration=target.name,
                kind=target.kind,
                error_type=type(exc).__name__,
                exc_info=exc,
            )
            return Outcome.failed(
                CheckFailed(
                    Reason.INTERNAL,
                    f"the {target.kind} check failed unexpectedly"
                    f" ({type(exc).__name__}); see the monitor's log",
                )
            )
