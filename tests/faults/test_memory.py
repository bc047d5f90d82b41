"""What a failed check leaves behind: nothing, once its cycle is over."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

from monitor.checks.base import Reason
from tests.checks.misbehaviours import gzip_bomb
from tests.fakes.server import FakeServer
from tests.faults.wiring import PROVIDER_PATHS, runner_for, settings_for

CYCLES = 10
# Each gzip-bomb check inflates up to the 1 MiB body cap before it gives up; ten cycles of four
# such checks would keep about 40 MiB if their failures were not freed.
RETAINED_LIMIT_BYTES = 8 * 1024 * 1024


@contextmanager
def cycle_collector_off() -> Iterator[None]:
    """Only reference counting frees memory in the block, as between two full collections."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def test_runner__failed_checks_free_their_memory_at_once(fake_server: FakeServer) -> None:
    """Ten cycles of four gzip bombs leave no inflated bodies behind in the process."""
    for path in PROVIDER_PATHS.values():
        fake_server.route(path, gzip_bomb())
    runner = runner_for(settings_for(fake_server.url, timeout=3.0))
    await runner.run_cycle()  # imports and first-use caches, outside the measurement

    with cycle_collector_off():
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            for _ in range(CYCLES):
                results = await runner.run_cycle()
            after, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert {r.reason for r in results.values()} == {Reason.INVALID_RESPONSE}
    assert after - before < RETAINED_LIMIT_BYTES, f"{(after - before) / 2**20:.1f} MiB retained"
