"""The most requests any 1-second window sees, for our budget and for plain aiolimiter.

Each limiter is driven at 10/s and 40/s by more callers than it allows: a busy spell, an idle
spell (a plain leaky bucket refills), another busy spell. Every grant's event-loop time is kept,
and the busiest half-open window [t, t + 1 s) is reported next to the budget. Run from the
repository root:

    python -m bench.budget_windows
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiolimiter import AsyncLimiter

from monitor.budgets import Budget
from tests.fleet.windows import most_in_any_window

Acquire = Callable[[], Awaitable[object]]


def limiters(rps: int) -> dict[str, Acquire]:
    """The ways to limit to `rps` requests per second that are compared."""
    return {
        "Budget (ours)": Budget("bench", rps).acquire,
        "AsyncLimiter(1, 1/rps)": AsyncLimiter(1, 1 / rps).acquire,
        "AsyncLimiter(rps, 1)": AsyncLimiter(rps, 1).acquire,
    }


async def busy_spell(acquire: Acquire, callers: int, seconds: float, grants: list[float]) -> None:
    """`callers` callers ask again as soon as they are served, for `seconds`; then they stop
    waiting, so the idle spell that follows is idle."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def caller() -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(end):
                while True:
                    await acquire()
                    grants.append(loop.time())

    await asyncio.gather(*(caller() for _ in range(callers)))


async def drive(acquire: Acquire, rps: int, busy: float, idle: float) -> list[float]:
    """Busy, idle, busy again: the grant times."""
    grants: list[float] = []
    await busy_spell(acquire, 2 * rps, busy, grants)
    await asyncio.sleep(idle)
    await busy_spell(acquire, 2 * rps, busy, grants)
    return grants


async def measure(busy: float, idle: float) -> list[tuple[str, int, int, int]]:
    """Every limiter at every budget, all at once: (limiter, budget, grants, busiest window)."""
    runs = {
        (name, rps): drive(acquire, rps, busy, idle)
        for rps in (10, 40)
        for name, acquire in limiters(rps).items()
    }
    results = await asyncio.gather(*runs.values())
    return [
        (name, rps, len(grants), most_in_any_window(grants))
        for (name, rps), grants in zip(runs, results, strict=True)
    ]


def main() -> None:
    """Measure and print one line per limiter and budget."""
    parser = argparse.ArgumentParser(prog="python -m bench.budget_windows")
    parser.add_argument("--busy", type=float, default=2.0, help="seconds of each busy spell")
    parser.add_argument("--idle", type=float, default=1.5, help="seconds of the idle spell")
    args = parser.parse_args()
    rows = asyncio.run(measure(args.busy, args.idle))
    print(f"{'limiter':<24} {'budget/s':>8} {'grants':>7} {'most in 1 s':>12}  verdict")
    for name, rps, grants, most in rows:
        verdict = "ok" if most <= rps else f"over by {most - rps}"
        print(f"{name:<24} {rps:>8} {grants:>7} {most:>12}  {verdict}")


if __name__ == "__main__":
    main()
