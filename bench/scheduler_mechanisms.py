"""Which mechanism dispatches fleet checks: one APScheduler job per key, or one heap?

Both dispatch N keys, each once per interval at its hashed phase, into a no-op, for a few
seconds; the interval is compressed so that the dispatch rate is high enough to measure.
Prints set-up time, RSS growth and CPU per dispatch for each.

    python -m bench.scheduler_mechanisms --keys 20000 --interval 20 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.fleet.schedule import Schedule, phase_of


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def apscheduler_jobs(keys: int, interval: float, seconds: float) -> dict[str, float]:
    dispatched = [0]

    async def check() -> None:
        dispatched[0] += 1

    rss, started = rss_mib(), time.perf_counter()
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = time.time()
    for n in range(keys):
        phase = phase_of(f"org-{n}", "whatsapp", interval)
        first = now + (phase - now) % interval
        scheduler.add_job(
            check,
            "interval",
            seconds=interval,
            next_run_time=datetime.fromtimestamp(first, UTC),
            id=f"org-{n}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    scheduler.start()
    setup = time.perf_counter() - started
    return await _measure(dispatched, setup, rss, seconds, scheduler.shutdown)


async def heap_dispatcher(keys: int, interval: float, seconds: float) -> dict[str, float]:
    dispatched = [0]
    rss, started = rss_mib(), time.perf_counter()
    schedule: Schedule[str] = Schedule(interval)
    now = time.time()
    for n in range(keys):
        key = f"org-{n}"
        schedule.add(key, phase_of(key, "whatsapp", interval), now)

    async def loop() -> None:
        while True:
            due = schedule.next_due()
            assert due is not None
            await asyncio.sleep(max(0.0, due - time.time()))
            while schedule.pop_due(time.time()) is not None:
                dispatched[0] += 1

    task = asyncio.create_task(loop())
    setup = time.perf_counter() - started
    return await _measure(dispatched, setup, rss, seconds, task.cancel)


async def _measure(
    dispatched: list[int], setup: float, rss_before: float, seconds: float, stop: object
) -> dict[str, float]:
    cpu_before = cpu_seconds()
    await asyncio.sleep(seconds)
    cpu = cpu_seconds() - cpu_before
    count = dispatched[0]
    rss_growth = rss_mib() - rss_before
    stop()  # type: ignore[operator]
    return {
        "setup_s": setup,
        "rss_mib": rss_growth,
        "dispatches": count,
        "cpu_us_per_dispatch": cpu / count * 1e6 if count else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=20_000)
    parser.add_argument("--interval", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    for name, mechanism in (("heap", heap_dispatcher), ("apscheduler", apscheduler_jobs)):
        result = asyncio.run(mechanism(args.keys, args.interval, args.seconds))
        print(
            f"{name:12} setup {result['setup_s']:.2f} s  RSS +{result['rss_mib']:.1f} MiB  "
            f"{result['dispatches']:.0f} dispatches  "
            f"{result['cpu_us_per_dispatch']:.0f} us CPU per dispatch"
        )


if __name__ == "__main__":
    main()
