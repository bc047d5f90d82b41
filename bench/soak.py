"""Soak: many short cycles with every provider misbehaving, each in a different way each cycle.

The four real checks run in this process under the real scheduler (`monitor.service.Monitor`),
against fake providers on 127.0.0.1 served from a child process (so the server's side of each
connection is not counted here). Faults rotate over the providers, so every cycle mixes four
of them and every provider meets every fault: hang (accept, never answer), reset, an HTML proxy
page, truncated JSON, a connection cut mid-body, a one-byte-per-second drip, a gzip bomb, and a
refused connection.

Prints RSS, open file descriptors and asyncio tasks before, after warm-up and at the end, and
the drift of each cycle's start from its schedule. Run from the repository root:

    python -m bench.soak --cycles 1000 --interval 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import itertools
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.checks.base import Check, CheckResult, Outcome, Target
from monitor.config import Settings
from monitor.logs import configure_logging
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.targets import build_targets
from tests.checks import misbehaviours
from tests.fakes.process import FakeServerProcess
from tests.fakes.server import Reply
from tests.faults.wiring import PROVIDER_PATHS, dripped, monitor_over, settings_for

WARMUP_CYCLES = 20
REFUSED = "refused"


# Each fault the fake server plays, by the path prefix it is served under.
SERVED_FAULTS = {
    "hang": Reply(hang=True),
    "reset": Reply(reset=True),
    "html": misbehaviours.proxy_error_page(),
    "truncated": misbehaviours.truncated_json(),
    "cut-mid-body": misbehaviours.closed_mid_body(),
    "drip": dripped(),
    "gzip-bomb": misbehaviours.gzip_bomb(),
}
FAULTS = (*SERVED_FAULTS, REFUSED)


def fault_routes() -> list[tuple[str, Reply]]:
    """Every provider path under every fault's prefix."""
    return [
        (f"/{fault}{path}", reply)
        for fault, reply in SERVED_FAULTS.items()
        for path in PROVIDER_PATHS.values()
    ]


@dataclass
class Schedule:
    """Which fault each provider meets in each cycle: they rotate, never two alike at once."""

    cycle: int = -1

    def fault(self, provider_index: int, cycle: int | None = None) -> str:
        """The fault provider `provider_index` meets in `cycle` (default: the current one)."""
        current = self.cycle if cycle is None else cycle
        return FAULTS[(current + provider_index) % len(FAULTS)]


class RotatingCheck:
    """One provider's real check, pointed each cycle at the fault the schedule says."""

    def __init__(self, checks_by_fault: dict[str, Check], index: int, schedule: Schedule) -> None:
        self._checks = checks_by_fault
        self._index = index
        self._schedule = schedule

    async def run(self) -> Outcome:
        """Run the real check against this cycle's fault."""
        return await self._checks[self._schedule.fault(self._index)].run()


@dataclass
class Record:
    """What the soak saw, cycle by cycle."""

    starts: list[float] = field(default_factory=list)
    drifts: list[float] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    slowest_check: list[float] = field(default_factory=list)
    tasks_at_start: list[int] = field(default_factory=list)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    warmup_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    running: int = 0
    peak_running: int = 0


class SoakRunner(Runner):
    """The real runner; advances the schedule and keeps the record.

    `next_cycle_in` is the monitor's own count-down to its next scheduled cycle: the scheduler
    sets the next run time before it starts this one, so at the start of a cycle, interval
    minus that count-down is how late this cycle started against its schedule.
    """

    def __init__(self, *args: Any, schedule: Schedule, record: Record, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schedule = schedule
        self._record = record
        self.interval = 0.0
        self.next_cycle_in: Callable[[], float] = lambda: 0.0

    async def run_cycle(self) -> dict[str, CheckResult]:
        """One cycle, timed and tallied by fault and reason."""
        record = self._record
        started = time.monotonic()
        record.drifts.append(self.interval - self.next_cycle_in())
        record.starts.append(started)
        record.tasks_at_start.append(len(asyncio.all_tasks()))
        record.running += 1
        record.peak_running = max(record.peak_running, record.running)
        self._schedule.cycle += 1
        cycle = self._schedule.cycle
        try:
            results = await super().run_cycle()
        finally:
            record.running -= 1
            record.durations.append(time.monotonic() - started)
        record.slowest_check.append(max(r.duration_ms for r in results.values()) / 1000)
        tally = record.warmup_reasons if cycle < WARMUP_CYCLES else record.reasons
        for index, result in enumerate(results.values()):
            reason = result.reason.value if result.reason else result.status.value
            tally[(self._schedule.fault(index, cycle), reason)] += 1
        return results


def rotating_targets(
    base_url: str, refused_url: str, deadline: float, interval: float, schedule: Schedule
) -> tuple[list[Target], Settings]:
    """The four real targets, each rotating over every fault."""
    settings_by_fault = {
        fault: settings_for(
            refused_url if fault == REFUSED else f"{base_url}/{fault}",
            timeout=deadline,
            interval=interval,
        )
        for fault in FAULTS
    }
    targets_by_fault = {fault: build_targets(s) for fault, s in settings_by_fault.items()}
    first = targets_by_fault[FAULTS[0]]
    targets = [
        Target(
            target.name,
            target.kind,
            RotatingCheck(
                {fault: targets_by_fault[fault][index].check for fault in FAULTS}, index, schedule
            ),
        )
        for index, target in enumerate(first)
    ]
    return targets, settings_by_fault[FAULTS[0]]


# --- measurements -------------------------------------------------------------------------


def rss_mib() -> float:
    """Resident set size of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def open_fds() -> int:
    """File descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))


def resources(label: str) -> str:
    """One line: RSS, fds and asyncio tasks now."""
    return (
        f"{label:<28} RSS {rss_mib():7.1f} MiB   open fds {open_fds():4d}"
        f"   asyncio tasks {len(asyncio.all_tasks()):3d}"
    )


def percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ordered list."""
    rank = max(1, round(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def describe_ms(values: list[float]) -> str:
    """mean / p99 / max of seconds, in milliseconds."""
    ordered = sorted(values)
    mean, p99, top = statistics.fmean(ordered), percentile(ordered, 0.99), ordered[-1]
    return f"mean {mean * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms   max {top * 1000:6.2f} ms"


def log_events(stream: io.StringIO) -> Counter[str]:
    """The monitor's log events (warning and above) by level and name."""
    events: Counter[str] = Counter()
    for line in stream.getvalue().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            # The scheduler names the next run time in its message; one line per kind of event.
            said = re.sub(r" \(trigger: [^)]*\)", "", str(event.get("event")))
            events[f"{event.get('level')} {event.get('logger')}: {said}"] += 1
    return events


# --- the run ------------------------------------------------------------------------------


async def soak(cycles: int, interval: float, deadline: float, base_url: str, refused: str) -> None:
    """Run `cycles` scheduled cycles and print what they did to the process."""
    schedule, record = Schedule(), Record()
    targets, settings = rotating_targets(base_url, refused, deadline, interval, schedule)
    runner = SoakRunner(
        targets, deadline, Redactor(settings.secret_values()), schedule=schedule, record=record
    )
    monitor = monitor_over(runner, settings)
    runner.interval, runner.next_cycle_in = interval, monitor.seconds_until_next_cycle
    print(resources("before the first cycle"))
    tasks_before = len(asyncio.all_tasks())
    time_limit = time.monotonic() + cycles * interval * 3 + 60
    monitor.start()
    try:
        await wait_for_cycles(record, WARMUP_CYCLES, time_limit)
        print(resources(f"after {WARMUP_CYCLES} cycles (warm)"))
        await wait_for_cycles(record, cycles, time_limit)
    finally:
        await monitor.stop()
    # Abandoned checks finish their cancellation; wait for that, within the time limit.
    while len(asyncio.all_tasks()) > tasks_before and time.monotonic() < time_limit:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    print(resources(f"after {len(record.durations)} cycles (stopped)"))
    gc.collect()
    print(resources("then after gc.collect()"))
    report(record, interval, deadline)


async def wait_for_cycles(record: Record, count: int, time_limit: float) -> None:
    """Until `count` cycles have finished, or the time limit."""
    while len(record.durations) < count:
        if time.monotonic() > time_limit:
            print(f"time limit reached after {len(record.durations)} cycles")
            return
        await asyncio.sleep(0.01)


def report(record: Record, interval: float, deadline: float) -> None:
    """Drift, durations, overlap, tasks and reasons by fault."""
    tenth = max(1, len(record.starts) // 10)
    gaps = [b - a for a, b in itertools.pairwise(record.starts)]
    skipped = sum(max(0, round(gap / interval) - 1) for gap in gaps)
    print()
    print("start drift (actual start - scheduled start):")
    print(f"  first {tenth:4d} cycles  {describe_ms(record.drifts[:tenth])}")
    print(f"  last {tenth:4d} cycles   {describe_ms(record.drifts[-tenth:])}")
    print(f"  all {len(record.drifts):5d} cycles   {describe_ms(record.drifts)}")
    print(f"gap between starts    {describe_ms(gaps)}   (interval {interval * 1000:g} ms)")
    warm = slice(WARMUP_CYCLES, None)
    print(f"after warm-up (the first {WARMUP_CYCLES} cycles import and cache what they use):")
    print(f"  cycle duration      {describe_ms(record.durations[warm])}")
    print(
        f"  slowest check       {describe_ms(record.slowest_check[warm])}"
        f"   (deadline {deadline * 1000:g} ms)"
    )
    print(f"first cycle           {record.durations[0] * 1000:6.2f} ms")
    print(f"scheduled runs skipped because a cycle was still running: {skipped}")
    print(f"cycles running at once, at most: {record.peak_running}")
    early, final = record.tasks_at_start[:tenth], record.tasks_at_start[-tenth:]
    print(f"asyncio tasks at cycle start: first {tenth} max {max(early)}, last max {max(final)}")
    print()
    print(
        f"reason seen, by fault (one per provider per cycle; first {WARMUP_CYCLES} cycles apart):"
    )
    for fault in FAULTS:
        steady, warmup = tally(record.reasons, fault), tally(record.warmup_reasons, fault)
        print(f"  {fault:<13} {steady:<40} {warmup}")


def tally(reasons: Counter[tuple[str, str]], fault: str) -> str:
    """`reason count, ...` for one fault."""
    return ", ".join(f"{reason} {n}" for (f, reason), n in sorted(reasons.items()) if f == fault)


def main(argv: list[str] | None = None) -> None:
    """Parse the options, start the fake providers, soak, print."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cycles", type=int, default=1000, help="cycles to run (default 1000)")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between cycles")
    parser.add_argument(
        "--timeout", type=float, help="check deadline in seconds (default: 0.6 of the interval)"
    )
    args = parser.parse_args(argv)
    deadline = args.timeout if args.timeout is not None else round(args.interval * 0.6, 4)
    if not 0 < deadline < args.interval or args.cycles < WARMUP_CYCLES:
        parser.error(f"need 0 < timeout < interval and at least {WARMUP_CYCLES} cycles")
    given = f" --timeout {args.timeout:g}" if args.timeout is not None else ""
    print(f"python -m bench.soak --cycles {args.cycles} --interval {args.interval:g}{given}")
    print(
        f"check deadline {deadline:g} s; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; faults: {', '.join(FAULTS)}"
    )
    logs = io.StringIO()
    configure_logging("json", "warning", Redactor([]), stream=logs)
    with FakeServerProcess(fault_routes()) as server:
        refused = misbehaviours.refused_url()
        asyncio.run(soak(args.cycles, args.interval, deadline, server.url, refused))
    events = log_events(logs)
    print()
    print("log events at warning or above:" + ("" if events else " none"))
    for name, count in events.most_common():
        print(f"  {count:6d}  {name}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
