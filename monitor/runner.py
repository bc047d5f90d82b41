"""One cycle: every target checked at once, each under a hard deadline, none hurting another.

The runner also remembers, per target, a provider's request to slow down (Retry-After and its
kin): until then the target is not asked again and its last error is reported as it stands.
And it keeps at most one attempt per target alive: a check that outlived its deadline (and
ignored being cancelled) is not started again until it has ended, so a hung database cannot
pile up one task and one connection per cycle.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog

from monitor.checks.base import CheckFailed, CheckResult, Outcome, Reason, Target, rfc3339
from monitor.redaction import Redactor

log = structlog.get_logger("monitor.runner")

Clock = Callable[[], datetime]
# Waits until a request to the target's provider may go out (its budget); see Runner.
Admission = Callable[[Target], Awaitable[None]]
# Failures that another try a moment later often clears; the rest will not change in a second.
TRANSIENT_REASONS = frozenset({Reason.CONNECTION, Reason.UPSTREAM_ERROR})


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Attempt:
    outcome: Outcome
    requests: int
    retry_after: float | None = None


@dataclass(frozen=True)
class _Hold:
    until: float  # on the monotonic clock
    outcome: Outcome


@dataclass(frozen=True)
class _Straggler:
    task: asyncio.Task[Outcome]
    started: float  # on the monotonic clock


class Runner:
    """Runs the checks of a list of targets in parallel.

    Args:
        targets: what to check; each name appears once in the results.
        timeout_seconds: the hard deadline of one check (retry included), connect to last byte.
        redactor: scrubs secrets out of every message and detail a provider echoes back.
        retry_transient: try once more, within the deadline, after a connection or 5xx failure.
        admit: awaited before each request a check may send (the provider's request budget);
            the first wait happens before the deadline starts. A CheckFailed it raises is the
            result (no request was sent, so it is not counted as a check).
        clock: stamps results; monotonic: measures holds. Both are fakes in tests.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        timeout_seconds: float,
        redactor: Redactor,
        *,
        retry_transient: bool = False,
        admit: Admission | None = None,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.targets = tuple(targets)
        self._timeout = timeout_seconds
        self._redactor = redactor
        self._retry_transient = retry_transient
        self._admit = admit
        self._clock = clock
        self._monotonic = monotonic
        self._holds: dict[str, _Hold] = {}
        # Per target, the attempt we stopped waiting for that has not ended yet; kept so it is
        # not collected mid-flight and not doubled, and dropped as soon as it ends.
        self._stragglers: dict[str, _Straggler] = {}

    async def run_cycle(self) -> dict[str, CheckResult]:
        """Check every target concurrently; one result per target name, always."""
        results = await asyncio.gather(*(self.run_target(target) for target in self.targets))
        return {target.name: result for target, result in zip(self.targets, results, strict=True)}

    async def run_target(self, target: Target) -> CheckResult:
        """One result for one target: checked under the deadline, held back, or still running."""
        hold = self._holds.get(target.name)
        if hold is not None and self._monotonic() < hold.until:
            return CheckResult(hold.outcome, self._clock(), 0.0, attempts=0)
        straggler = self._stragglers.get(target.name)
        if straggler is not None:
            return self._still_running(target, straggler)
        if self._admit is not None:
            try:
                await self._admit(target)
            except CheckFailed as failure:  # no budget: held back, nothing was sent
                return CheckResult(Outcome.failed(failure), self._clock(), 0.0, attempts=0)
        started = time.perf_counter()
        attempt = await self._attempt_within_deadline(target)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        outcome = self._redactor.scrub_outcome(attempt.outcome)
        if attempt.retry_after:
            outcome = self._hold_back(target.name, outcome, attempt.retry_after)
        else:
            self._holds.pop(target.name, None)
        return CheckResult(outcome, self._clock(), duration_ms, attempts=attempt.requests)

    def _hold_back(self, name: str, outcome: Outcome, seconds: float) -> Outcome:
        next_attempt = rfc3339(self._clock() + timedelta(seconds=seconds))
        held = replace(
            outcome,
            message=f"{outcome.message}; next attempt after {next_attempt}",
            details={**outcome.details, "next_attempt_at": next_attempt},
        )
        self._holds[name] = _Hold(self._monotonic() + seconds, held)
        return held

    def _still_running(self, target: Target, straggler: _Straggler) -> CheckResult:
        """A timeout for a target whose previous attempt has not ended; nothing is started.

        It counts as one failed check (attempts=1), so error ratios keep seeing the outage, and
        its duration is the stuck attempt's age, so latency shows it past the deadline.
        """
        age = self._monotonic() - straggler.started
        failure = CheckFailed(
            Reason.TIMEOUT,
            f"the previous {target.kind} check has not ended yet (running for {age:.0f} s,"
            f" past its {self._timeout:g} s deadline); no new one is started until it does",
        )
        return CheckResult(Outcome.failed(failure), self._clock(), round(age * 1000, 1))

    async def _attempt_within_deadline(self, target: Target) -> _Attempt:
        requests = [0]
        started = self._monotonic()
        task = asyncio.create_task(self._tries(target, requests), name=f"check:{target.name}")
        try:
            done, _ = await asyncio.wait({task}, timeout=self._timeout)
        except asyncio.CancelledError:
            self._abandon(target.name, task, started)
            raise
        if not done:
            self._abandon(target.name, task, started)
            failure = CheckFailed(
                Reason.TIMEOUT, f"the {target.kind} check gave no result within {self._timeout:g} s"
            )
            return _Attempt(Outcome.failed(failure), requests[0])
        return self._attempt_of(target, task, requests[0])

    async def _tries(self, target: Target, requests: list[int]) -> Outcome:
        requests[0] = 1
        try:
            return await target.check.run()
        except CheckFailed as failure:
            # A provider that said when to come back (a 503's Retry-After) is not asked at once.
            transient = failure.reason in TRANSIENT_REASONS and failure.retry_after is None
            if not (self._retry_transient and transient):
                raise
            log.info("check.retrying", integration=target.name, reason=failure.reason.value)
        if self._admit is not None:
            await self._admit(target)
        requests[0] = 2
        return await target.check.run()

    def _abandon(self, name: str, task: asyncio.Task[Outcome], started: float) -> None:
        # The deadline holds even for a check that swallows cancellation: we stop waiting here,
        # and remember the attempt until it ends so that no second one joins it.
        task.cancel()
        self._stragglers[name] = _Straggler(task, started)
        task.add_done_callback(lambda ended: self._forget(name, ended))

    def _forget(self, name: str, task: asyncio.Task[Outcome]) -> None:
        straggler = self._stragglers.get(name)
        if straggler is not None and straggler.task is task:
            del self._stragglers[name]
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not warn about it

    def _attempt_of(self, target: Target, task: asyncio.Task[Outcome], requests: int) -> _Attempt:
        # Read the exception instead of re-raising it: a re-raise here would tie the failure,
        # its traceback and whatever that holds (a body up to the cap) into a reference cycle
        # that only a full garbage collection frees.
        if task.cancelled():
            # Cancelled from inside (a library's cancel scope), not by our deadline.
            failure = CheckFailed(Reason.INTERNAL, f"the {target.kind} check was cancelled")
            return _Attempt(Outcome.failed(failure), requests)
        exc = task.exception()
        if exc is None:
            return _Attempt(task.result(), requests)
        if isinstance(exc, CheckFailed):
            return _Attempt(Outcome.failed(exc), requests, exc.retry_after)
        return self._crashed(target, exc, requests)

    def _crashed(self, target: Target, exc: BaseException, requests: int) -> _Attempt:
        """The boundary of one check: an unexpected exception is logged and reported."""
        log.error(
            "check.crashed",
            integration=target.name,
            kind=target.kind,
            error_type=type(exc).__name__,
            exc_info=exc,
        )
        crash = CheckFailed(
            Reason.INTERNAL,
            f"the {target.kind} check failed unexpectedly ({type(exc).__name__});"
            " see the monitor's log",
        )
        return _Attempt(Outcome.failed(crash), requests)
