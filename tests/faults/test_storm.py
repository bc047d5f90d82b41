"""Every check failing at once, cycle after cycle at a short interval: the schedule holds and
nothing accumulates (cycles, tasks, file descriptors, memory)."""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from monitor.checks.base import CheckResult, Status
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.targets import build_targets
from tests.checks.misbehaviours import refused_url
from tests.fakes.process import FakeServerProcess
from tests.fakes.server import Reply
from tests.faults.wiring import PROVIDER_PATHS, monitor_over, settings_for
from tests.support.waiting import wait_until

CYCLES = 200
WARMUP_CYCLES = 10
INTERVAL = 0.04
DEADLINE = 0.02
# Generous bounds: they catch a leak or a stacked schedule, not a slow machine.
FD_SLACK = 4
TASK_SLACK = 2
RSS_GROWTH_LIMIT_BYTES = 20 * 1024 * 1024


class RecordingRunner(Runner):
    """The real runner, noting when each cycle starts and ends and how many run at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spans: list[tuple[float, float]] = []
        self.tasks_at_start: list[int] = []
        self.running = 0
        self.peak_running = 0
        self.last_results: dict[str, CheckResult] = {}

    async def run_cycle(self) -> dict[str, CheckResult]:
        """Run the cycle as usual, keeping the record."""
        started = time.monotonic()
        self.tasks_at_start.append(len(asyncio.all_tasks()))
        self.running += 1
        self.peak_running = max(self.peak_running, self.running)
        try:
            self.last_results = await super().run_cycle()
            return self.last_results
        finally:
            self.running -= 1
            self.spans.append((started, time.monotonic()))


def open_fds() -> int:
    """File descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """Resident set size of this process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@contextmanager
def failing_providers(kind: str) -> Iterator[str]:
    """A base URL at which every provider fails the way `kind` says."""
    if kind == "refused":
        yield refused_url()
        return
    routes = [(path, Reply(hang=True)) for path in PROVIDER_PATHS.values()]
    # In a child process: the server's side of each hanging connection is not ours to count.
    with FakeServerProcess(routes) as server:
        yield server.url


@pytest.mark.parametrize("kind", ["refused", "hang"])
async def test_monitor__every_check_failing_for_200_cycles(kind: str) -> None:
    """200 cycles of four failing checks: no overlap, on rhythm, no leaked fds, tasks or memory."""
    with failing_providers(kind) as base_url:
        settings = settings_for(base_url, timeout=DEADLINE, interval=INTERVAL)
        runner = RecordingRunner(
            build_targets(settings), DEADLINE, Redactor(settings.secret_values())
        )
        monitor = monitor_over(runner, settings)
        tasks_before = len(asyncio.all_tasks())
        monitor.start()
        try:
            await wait_until(lambda: len(runner.spans) >= WARMUP_CYCLES, 10)
            fds_warm, rss_warm = open_fds(), rss_bytes()
            await wait_until(lambda: len(runner.spans) >= WARMUP_CYCLES + CYCLES, CYCLES * 0.2)
        finally:
            await monitor.stop()
        await wait_until(lambda: len(asyncio.all_tasks()) <= tasks_before, 5)
        fds_end, rss_end = open_fds(), rss_bytes()

    assert {r.status for r in runner.last_results.values()} == {Status.ERROR}
    assert runner.peak_running == 1
    assert all(end <= after[0] for (_, end), after in itertools.pairwise(runner.spans))
    # Cycles start on a fixed grid, one interval apart. The median gap ignores the odd late
    # start or skipped slot of a loaded machine, which would swing a mean; it still tells a
    # loop on rhythm from one whose cycles run back to back (gap ~ one cycle, under 0.6) or
    # that waits out each cycle before the next interval (gap ~ 1.5 intervals).
    median_gap = statistics.median(b[0] - a[0] for a, b in itertools.pairwise(runner.spans))
    assert INTERVAL * 0.6 < median_gap < INTERVAL * 1.4, median_gap
    assert fds_end <= fds_warm + FD_SLACK, (fds_warm, fds_end)
    early, late = runner.tasks_at_start[:WARMUP_CYCLES], runner.tasks_at_start[-WARMUP_CYCLES:]
    assert max(late) <= max(early) + TASK_SLACK, (early, late)
    assert rss_end - rss_warm < RSS_GROWTH_LIMIT_BYTES, (rss_warm, rss_end)
