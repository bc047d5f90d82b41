"""The monitor itself: scheduled cycles, shared refreshes, the heartbeat, what a cycle
publishes (snapshot, metrics, state-change events), and a quiet stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.checks.base import CheckResult
from monitor.history import ChangeHistory
from monitor.logs import log_state_change
from monitor.metrics import MonitorMetrics
from monitor.runner import Clock, Runner, utc_now
from monitor.snapshot import Snapshot
from monitor.store import UNKNOWN, SnapshotStore, Transition

log = structlog.get_logger("monitor")

# A refresh this soon after a cycle returns that cycle: the button cannot hammer providers.
REFRESH_MIN_AGE_SECONDS = 5.0
# /livez fails once the loop has not finished a cycle for this many intervals.
STALE_AFTER_INTERVALS = 3
JOB_ID = "check-cycle"


class ShuttingDown(Exception):
    """The monitor stopped before the cycle a caller waited for had finished."""


class Monitor:
    """Runs cycles on a schedule and on demand; never two at once.

    Only scheduled cycles count in the check counters (checks, failures, latencies): refreshes
    during an incident would otherwise skew the error ratios. A cycle the schedule started or
    joined is a scheduled one, whoever else waits for it: a refresh that joins it sends no
    request of its own, and a tick that joins a refresh's cycle takes its results instead of
    running another, so every tick is sampled exactly once.

    Args:
        runner: checks the targets.
        store: turns results into the reported snapshot.
        metrics: what /metrics exports.
        interval_seconds: time between scheduled cycles.
        clock: wall clock for timestamps; monotonic: clock for ages and heartbeats.
        history: where state changes are kept for the status page (a new one by default).
    """

    def __init__(
        self,
        runner: Runner,
        store: SnapshotStore,
        metrics: MonitorMetrics,
        interval_seconds: float,
        *,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        history: ChangeHistory | None = None,
    ) -> None:
        self._runner = runner
        self.history = history if history is not None else ChangeHistory()
        self.store = store
        self._metrics = metrics
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._started_at = monotonic()
        self._last_cycle_end: float | None = None
        # Set only by the scheduled job: refreshes from a dashboard must not hide a stuck loop.
        self._last_scheduled_end: float | None = None
        self._inflight: asyncio.Task[Snapshot] | None = None
        self._inflight_scheduled = False
        self._scheduler: AsyncIOScheduler | None = None
        self._job: asyncio.Task[object] | None = None  # the scheduled job, while it runs
        self._stopping = False

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest whole snapshot, or None before the first cycle has finished."""
        return self.store.current

    async def run_cycle(self, *, scheduled: bool = True) -> Snapshot:
        """Run a cycle, or join the one already running.

        Args:
            scheduled: False for an on-demand refresh, whose own cycle is not counted.

        Raises:
            ShuttingDown: the monitor stopped before the cycle finished.
        """
        if self._stopping:
            raise ShuttingDown
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self._cycle(), name="monitor-cycle")
            self._inflight_scheduled = False
        self._inflight_scheduled |= scheduled
        inflight = self._inflight
        try:
            # Shielded: a caller that goes away (a closed HTTP request) must not cancel it.
            return await asyncio.shield(inflight)
        except asyncio.CancelledError:
            if self._stopped_under(inflight):
                raise ShuttingDown from None
            raise

    async def refresh(self) -> Snapshot:
        """A cycle now, unless one finished less than 5 s ago (then that cycle's snapshot).

        Raises:
            ShuttingDown: the monitor stopped before the cycle finished.
        """
        current, last_end = self.snapshot, self._last_cycle_end
        fresh = last_end is not None and self._monotonic() - last_end < REFRESH_MIN_AGE_SECONDS
        if current is not None and fresh and not self._cycle_running():
            return current
        return await self.run_cycle(scheduled=False)

    def start(self) -> None:
        """Schedule the first cycle now and the next ones every interval."""
        self._started_at = self._monotonic()
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.add_job(
            self._scheduled_cycle,
            "interval",
            seconds=self.interval_seconds,
            next_run_time=datetime.now(UTC),
            id=JOB_ID,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and end a cycle in flight; whoever waits for it gets ShuttingDown.

        Nothing is cancelled under APScheduler: it would log the cancelled job as a failure,
        with a traceback. The scheduler is paused, the cycle cancelled, and the job, told
        ShuttingDown, returns by itself before the scheduler shuts down.
        """
        self._stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
            await asyncio.sleep(0)  # a job submitted just before the pause starts, and sees it
        if self._inflight is not None and not self._inflight.done():
            self._inflight.cancel()
            await asyncio.gather(self._inflight, return_exceptions=True)
        if self._job is not None:
            await asyncio.gather(self._job, return_exceptions=True)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    def seconds_until_next_cycle(self) -> float:
        """How long the current snapshot stays the newest (for Cache-Control)."""
        job = self._scheduler.get_job(JOB_ID) if self._scheduler else None
        if job is None:
            return 0.0
        now = datetime.now(UTC)
        # While the scheduled cycle runs its job is paused; its next tick is still the grid's.
        next_run = job.next_run_time or job.trigger.get_next_fire_time(None, now)
        remaining: float = (next_run - now).total_seconds()
        return max(0.0, remaining)

    def is_live(self) -> bool:
        """The scheduler runs and a cycle finished within the last few intervals."""
        if self._scheduler is None or not self._scheduler.running:
            return False
        since = self._last_scheduled_end
        if since is None:
            since = self._started_at
        return self._monotonic() - since < STALE_AFTER_INTERVALS * self.interval_seconds

    def _cycle_running(self) -> bool:
        return self._inflight is not None and not self._inflight.done()

    def _stopped_under(self, inflight: asyncio.Task[Snapshot]) -> bool:
        """The cycle was cancelled by stop(), not the caller by its own canceller."""
        caller = asyncio.current_task()
        own_cancel = caller is not None and caller.cancelling() > 0
        return self._stopping and inflight.cancelled() and not own_cancel

    async def _scheduled_cycle(self) -> None:
        self._job = asyncio.current_task()
        # Paused while it runs, so APScheduler never finds the job due meanwhile (it would skip
        # and warn at every tick of a slow cycle); resumed at the grid's next tick after it.
        self._set_job_paused(paused=True)
        try:
            await self.run_cycle()
        except ShuttingDown:
            return
        except Exception:  # the loop's boundary: log and keep the schedule
            log.exception("monitor.cycle_failed")
        else:
            self._last_scheduled_end = self._monotonic()
        finally:
            self._job = None
            self._set_job_paused(paused=False)

    def _set_job_paused(self, *, paused: bool) -> None:
        if self._scheduler is None or self._stopping:
            return
        if paused:
            self._scheduler.pause_job(JOB_ID)
        else:
            self._scheduler.resume_job(JOB_ID)

    async def _cycle(self) -> Snapshot:
        started = self._monotonic()
        results = await self._runner.run_cycle()
        duration = self._monotonic() - started
        transitions = self.store.apply(results, self._clock(), duration)
        self._last_cycle_end = self._monotonic()
        snapshot = self.store.current
        assert snapshot is not None  # noqa: S101 - apply() always sets it
        self._publish(results, snapshot, transitions, counted=self._inflight_scheduled)
        return snapshot

    def _publish(
        self,
        results: dict[str, CheckResult],
        snapshot: Snapshot,
        transitions: list[Transition],
        *,
        counted: bool,
    ) -> None:
        for name, result in results.items():
            self._metrics.observe_result(name, result, counted=counted)
        for name, entry in snapshot.integrations.items():
            self._metrics.set_reported(name, entry.reported.status)
        self._metrics.set_overall(snapshot.overall_status)
        self._metrics.cycle_duration.observe(snapshot.cycle_duration_seconds)
        for transition in transitions:
            if transition.previous != UNKNOWN:
                self._metrics.state_changes.labels(transition.integration).inc()
            log_transition(transition)
            self.history.record(
                transition.integration, transition.previous, transition.current, transition.result
            )
        log.debug(
            "monitor.cycle_finished",
            overall_status=snapshot.overall_status.value,
            duration_ms=round(snapshot.cycle_duration_seconds * 1000, 1),
        )


def log_transition(transition: Transition) -> None:
    """One `integration.state_changed` event; warning when it goes into error."""
    log_state_change(
        log, transition.integration, transition.previous, transition.current, transition.result
    )
