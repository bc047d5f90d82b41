"""The monitor service: shared cycles, refresh coalescing, metrics and log events per cycle."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from prometheus_client import CollectorRegistry

from monitor.checks.base import Reason, Target
from monitor.metrics import MonitorMetrics
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.service import Monitor, ShuttingDown
from monitor.store import SnapshotStore
from tests.fakes.checks import NotConfiguredCheck, ScriptedCheck, SleepyCheck, TimedCheck
from tests.support.clocks import FakeMonotonic
from tests.support.waiting import wait_until


def make_monitor(*targets: Target, interval: float = 60.0) -> tuple[Monitor, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = MonitorMetrics(registry, [t.name for t in targets], timeout_seconds=5)
    runner = Runner(targets, 5.0, Redactor([]))
    return Monitor(runner, SnapshotStore(), metrics, interval), registry


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


async def test_run_cycle__concurrent_callers_share_one_cycle() -> None:
    """Ten refreshes at once run the checks once, and all get the same snapshot."""
    check = SleepyCheck(0.2)
    monitor, _ = make_monitor(Target("a", "x", check))
    snapshots = await asyncio.gather(*(monitor.run_cycle() for _ in range(10)))
    assert check.runs == 1
    assert all(s is snapshots[0] for s in snapshots)


async def test_refresh__within_five_seconds_returns_cached_snapshot() -> None:
    """The refresh button right after a cycle returns that cycle and calls no provider."""
    check = SleepyCheck()
    monitor, _ = make_monitor(Target("a", "x", check))
    first = await monitor.run_cycle()
    assert await monitor.refresh() is first
    assert check.runs == 1


async def test_cycle__metrics_follow_results() -> None:
    """After a failing cycle the gauges, counters and state set say so."""
    monitor, registry = make_monitor(Target("a", "x", ScriptedCheck("ok", Reason.AUTH)))
    await monitor.run_cycle()
    assert sample(registry, "integration_up", integration="a") == 1
    assert sample(registry, "integration_state_changes_total", integration="a") == 0
    await monitor.run_cycle()
    assert sample(registry, "integration_up", integration="a") == 0
    assert sample(registry, "integration_status", integration="a", status="error") == 1
    assert sample(registry, "integration_status", integration="a", status="connected") == 0
    assert sample(registry, "integration_check_failures_total", integration="a", reason="auth") == 1
    assert sample(registry, "integration_checks_total", integration="a") == 2
    assert sample(registry, "integration_state_changes_total", integration="a") == 1
    assert sample(registry, "integration_overall_status", status="degraded") == 1
    assert sample(registry, "integration_overall_status", status="healthy") == 0
    assert sample(registry, "integration_check_duration_seconds_count", integration="a") == 2
    assert sample(registry, "integration_monitor_cycle_duration_seconds_count") == 2


def test_metrics__every_reason_precreated_at_zero() -> None:
    """Failure counters exist at 0 for every reason before anything fails."""
    _, registry = make_monitor(Target("a", "x", SleepyCheck()))
    for reason in Reason:
        value = sample(
            registry, "integration_check_failures_total", integration="a", reason=reason.value
        )
        assert value == 0


async def test_scheduler__first_cycle_at_once_then_every_interval() -> None:
    """Started, the monitor runs a cycle at once and again after each interval."""
    check = SleepyCheck()
    monitor, _ = make_monitor(Target("a", "x", check), interval=0.2)
    monitor.start()
    try:
        await wait_until(lambda: check.runs >= 3)
        assert monitor.is_live()
    finally:
        await monitor.stop()
    assert not monitor.is_live()


def apscheduler_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What APScheduler logged, in order."""
    return [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")]


async def test_scheduler__slow_cycle_never_stacks(caplog: pytest.LogCaptureFixture) -> None:
    """A cycle slower than the interval: no overlapping job, no skipped-run warnings, no burst."""
    caplog.set_level(logging.INFO, logger="apscheduler")
    interval = 0.2
    check = TimedCheck(5 * interval, 0.0)  # one slow cycle, then quick ones
    monitor, _ = make_monitor(Target("a", "x", check), interval=interval)
    monitor.start()
    try:
        await wait_until(lambda: len(check.spans) >= 4)
    finally:
        await monitor.stop()

    messages = apscheduler_messages(caplog)
    job_events = [m.split(" ")[0] for m in messages if m.startswith(("Running job", "Job "))]
    assert job_events == ["Running", "Job"] * (len(job_events) // 2)  # never two at once
    assert len(job_events) // 2 == check.runs  # one cycle per job run, none joined or queued
    assert not [m for m in messages if "maximum number of running instances" in m]
    (_, slow_end), *quick = check.spans
    assert 0 <= quick[0][0] - slow_end <= interval + 0.3  # the next tick, not a queue of them
    assert sum(slow_end <= start < slow_end + interval / 2 for start, _ in quick) <= 1


@pytest.mark.parametrize("threshold", [1, 3])
async def test_cycle__state_change_counter_respects_failure_threshold(threshold: int) -> None:
    """The transition counter moves only when the reported status does."""
    registry = CollectorRegistry()
    target = Target("a", "x", ScriptedCheck("ok", Reason.TIMEOUT))
    metrics = MonitorMetrics(registry, ["a"], 5)
    monitor = Monitor(Runner([target], 5.0, Redactor([])), SnapshotStore(threshold), metrics, 60)
    for _ in range(3):
        await monitor.run_cycle()
    changes = sample(registry, "integration_state_changes_total", integration="a")
    assert changes == (1 if threshold <= 2 else 0)


def monitor_with_clock(check: SleepyCheck, clock: FakeMonotonic, interval: float = 60) -> Monitor:
    registry = CollectorRegistry()
    metrics = MonitorMetrics(registry, ["a"], timeout_seconds=5)
    runner = Runner([Target("a", "x", check)], 5.0, Redactor([]))
    return Monitor(runner, SnapshotStore(), metrics, interval, monotonic=clock)


async def test_refresh__after_five_seconds_runs_one_new_cycle_for_all_callers() -> None:
    """Past 5 s, the refresh button checks again, once, however many dashboards press it."""
    check, clock = SleepyCheck(0.05), FakeMonotonic()
    monitor = monitor_with_clock(check, clock)
    await monitor.run_cycle()
    clock.now += 4.9
    await monitor.refresh()
    assert check.runs == 1
    clock.now += 0.2
    snapshots = await asyncio.gather(*(monitor.refresh() for _ in range(10)))
    assert check.runs == 2
    assert all(s is snapshots[0] for s in snapshots)


async def test_is_live__fails_after_three_intervals_without_a_scheduled_cycle() -> None:
    """/livez turns false when the schedule stalls, and refreshes do not hide it."""
    check, clock = SleepyCheck(), FakeMonotonic()
    monitor = monitor_with_clock(check, clock, interval=60)
    monitor.start()
    try:
        await wait_until(monitor.is_live)
        await wait_until(lambda: check.runs >= 1)
        clock.now += 179
        assert monitor.is_live()
        clock.now += 2
        assert not monitor.is_live()
        await monitor.refresh()
        assert not monitor.is_live()
    finally:
        await monitor.stop()


async def test_stop__during_a_cycle_is_quiet_and_tells_waiters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Stopping mid-cycle ends at once, logs no error, and a refresh waiting is told why."""
    caplog.set_level(logging.INFO)
    check = SleepyCheck(30)
    monitor, _ = make_monitor(Target("a", "x", check), interval=60)
    monitor.start()
    await wait_until(lambda: check.runs == 1)
    refreshing = asyncio.create_task(monitor.refresh())
    await asyncio.sleep(0)  # the refresh joins the scheduled cycle in flight
    started = time.monotonic()
    await monitor.stop()

    assert time.monotonic() - started < 2
    with pytest.raises(ShuttingDown):
        await refreshing
    with pytest.raises(ShuttingDown):
        await monitor.refresh()
    assert check.runs == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def counted(registry: CollectorRegistry, name: str = "a") -> tuple[float | None, ...]:
    """checks_total, failures_total for timeout, and the duration histogram's count."""
    return (
        sample(registry, "integration_checks_total", integration=name),
        sample(registry, "integration_check_failures_total", integration=name, reason="timeout"),
        sample(registry, "integration_check_duration_seconds_count", integration=name),
    )


async def test_cycle__refresh_cycles_are_not_counted() -> None:
    """A refresh's own cycle moves the timestamps, not the check counters or latencies."""
    monitor, registry = make_monitor(Target("a", "x", ScriptedCheck(Reason.TIMEOUT)))
    await monitor.refresh()
    assert counted(registry) == (0, 0, 0)
    assert (sample(registry, "integration_last_check_timestamp_seconds", integration="a") or 0) > 0
    await monitor.run_cycle()
    assert counted(registry) == (1, 1, 1)


async def test_cycle__tick_joining_a_refresh_counts_once() -> None:
    """A scheduled tick that joins a refresh's cycle is that tick's one counted check."""
    check = SleepyCheck(0.1)
    monitor, registry = make_monitor(Target("a", "x", check))
    refreshing = asyncio.create_task(monitor.refresh())
    await wait_until(lambda: check.runs == 1)
    await monitor.run_cycle()
    await refreshing
    assert check.runs == 1
    assert counted(registry) == (1, 0, 1)


async def test_cycle__refresh_joining_a_scheduled_cycle_counts_once() -> None:
    """A refresh that joins a scheduled cycle adds nothing to the counters."""
    check = SleepyCheck(0.1)
    monitor, registry = make_monitor(Target("a", "x", check))
    scheduled = asyncio.create_task(monitor.run_cycle())
    await wait_until(lambda: check.runs == 1)
    await monitor.refresh()
    await scheduled
    assert check.runs == 1
    assert counted(registry) == (1, 0, 1)


async def test_cycle__not_configured_is_not_a_check() -> None:
    """An integration without credentials counts no check and no latency, but its time moves."""
    monitor, registry = make_monitor(Target("a", "x", NotConfiguredCheck()))
    await monitor.run_cycle()
    assert counted(registry) == (0, 0, 0)
    assert (sample(registry, "integration_last_check_timestamp_seconds", integration="a") or 0) > 0
    assert sample(registry, "integration_status", integration="a", status="not_configured") == 1
