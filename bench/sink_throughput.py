"""How fast does the status sink write, and what does it cost the monitor's CPU?

10,000 organizations x 2 integrations of results are handed to the writer (as the fleet hands
them over) against a local PostgreSQL (a throwaway cluster, or `--dsn`), and the writer drains
them: once into empty tables (inserts), once more over the same keys (updates), then 10,000
state changes. For each, prints rows per second and the process's CPU time while the writer
drained them, as a share of that wall time. With `--compare`, the same upserts through
psycopg's `executemany` (one statement per row, pipelined), for the choice of one statement
per batch.

    python -m bench.sink_throughput [--organizations 10000] [--dsn postgresql://...] [--compare]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from monitor.checks.base import CheckResult, Outcome, Reason, Status
from monitor.fleet.state import OrganizationTransition
from monitor.redaction import Redactor
from monitor.sink.migrate import migrate
from monitor.sink.statements import details_json
from monitor.sink.writer import StatusSinkWriter
from monitor.snapshot import Reported
from tests.support.postgres import running_postgres
from tests.support.waiting import wait_until

INTEGRATIONS = ("whatsapp", "stripe")
DEFAULT_INTERVAL_SECONDS = 300.0  # MONITOR_ORGANIZATION_INTERVAL_SECONDS's default


@dataclass(frozen=True)
class Drained:
    """One phase: how many rows, how long the writer took, and the CPU it used meanwhile."""

    name: str
    rows: int
    wall_seconds: float
    cpu_seconds: float
    hand_over_seconds: float = 0.0  # the checks' side: all the rows handed to the writer

    def line(self) -> str:
        rate = self.rows / self.wall_seconds
        share = 100 * self.cpu_seconds / self.wall_seconds
        per_row = 1e6 * self.cpu_seconds / self.rows
        line = (
            f"{self.name:<24} {self.rows:>6} rows in {self.wall_seconds:5.2f} s:"
            f" {rate:>7.0f} rows/s, CPU {share:4.1f} % of that time ({per_row:4.1f} us/row)"
        )
        if self.hand_over_seconds:
            line += f"; hand-over {1e6 * self.hand_over_seconds / self.rows:.1f} us/row"
        return line


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def result(message: str) -> CheckResult:
    details = {"account_id": "104996542523987", "account_name": "Acme Support"}
    return CheckResult(Outcome.connected(message, details), datetime.now(UTC), 120.0)


async def drain(name: str, writer: StatusSinkWriter, hand_over: Callable[[], int]) -> Drained:
    """Hand the rows over (the checks' side, timed apart), then time the drain."""
    handing = time.perf_counter()
    rows = hand_over()
    started, cpu = time.perf_counter(), cpu_seconds()
    await wait_until(lambda: writer.pending_rows() == 0, limit_seconds=600, interval=0.005)
    wall, used = time.perf_counter() - started, cpu_seconds() - cpu
    return Drained(name, rows, wall, used, started - handing)


def statuses(writer: StatusSinkWriter, organizations: int, message: str) -> Callable[[], int]:
    def hand_over() -> int:
        entry = Reported(result(message))
        for n in range(organizations):
            for integration in INTEGRATIONS:
                writer.record_status(f"org-{n:05}", integration, entry)
        return organizations * len(INTEGRATIONS)

    return hand_over


def changes(writer: StatusSinkWriter, organizations: int) -> Callable[[], int]:
    def hand_over() -> int:
        broken = CheckResult(
            Outcome(Status.ERROR, "The access token has expired", {}, Reason.AUTH),
            datetime.now(UTC),
            80.0,
        )
        for n in range(organizations):
            writer.record_change(
                OrganizationTransition(f"org-{n:05}", "whatsapp", "connected", Status.ERROR, broken)
            )
        return organizations

    return hand_over


async def measure_writer(dsn: str, organizations: int) -> list[Drained]:
    writer = StatusSinkWriter(
        SecretStr(dsn), shard="0/1", registry=CollectorRegistry(), redactor=Redactor([dsn])
    )
    writer.start()
    # Connected, schema checked, retention done: only the drains are timed.
    await wait_until(lambda: writer.metrics.up._value.get() == 1)
    phases = [
        await drain("statuses (inserts)", writer, statuses(writer, organizations, "first")),
        await drain("statuses (updates)", writer, statuses(writer, organizations, "second")),
        await drain("state changes (appends)", writer, changes(writer, organizations)),
    ]
    await writer.close()
    return phases


UPSERT_ONE = """
INSERT INTO integration_monitor.organization_status
    (organization_id, integration, status, reason, message, details, checked_at, shard,
     updated_at)
VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)
ON CONFLICT (organization_id, integration) DO UPDATE SET
    status = EXCLUDED.status, reason = EXCLUDED.reason, message = EXCLUDED.message,
    details = EXCLUDED.details, checked_at = EXCLUDED.checked_at, shard = EXCLUDED.shard,
    updated_at = EXCLUDED.updated_at
"""


async def measure_executemany(dsn: str, organizations: int, batch: int = 2000) -> Drained:
    """The same updates, one statement per row through executemany (pipelined)."""
    checked = result("third")
    now = datetime.now(UTC)
    rows = [
        (
            f"org-{n:05}",
            integration,
            "connected",
            None,
            "third",
            details_json(checked.outcome.details),
            checked.checked_at,
            "0/1",
            now,
        )
        for n in range(organizations)
        for integration in INTEGRATIONS
    ]
    started, cpu = time.perf_counter(), cpu_seconds()
    async with await psycopg.AsyncConnection.connect(dsn, prepare_threshold=None) as conn:
        for start in range(0, len(rows), batch):
            async with conn.cursor() as cursor:
                await cursor.executemany(UPSERT_ONE, rows[start : start + batch])
            await conn.commit()
    return Drained(
        "executemany (updates)", len(rows), time.perf_counter() - started, cpu_seconds() - cpu
    )


@contextlib.contextmanager
def database(dsn: str | None) -> Iterator[str]:
    if dsn is not None:
        yield dsn
        return
    with running_postgres() as server:
        yield server.dsn()


async def prepare(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await migrate(conn)
        await conn.execute("TRUNCATE integration_monitor.organization_status")
        await conn.execute("TRUNCATE integration_monitor.state_changes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--dsn", help="a database to use (its sink tables are emptied)")
    parser.add_argument("--compare", action="store_true", help="also time executemany")
    args = parser.parse_args()
    with database(args.dsn) as dsn:
        asyncio.run(prepare(dsn))
        phases = asyncio.run(measure_writer(dsn, args.organizations))
        if args.compare:
            phases.append(asyncio.run(measure_executemany(dsn, args.organizations)))
    for phase in phases:
        print(phase.line())
    updates = phases[1]
    per_row = updates.cpu_seconds / updates.rows
    rate = args.organizations * len(INTEGRATIONS) / DEFAULT_INTERVAL_SECONDS
    print(
        f"at the default interval ({DEFAULT_INTERVAL_SECONDS:g} s) the fleet hands over"
        f" {rate:.0f} rows/s: the writer's share of one CPU is about {100 * rate * per_row:.2f} %"
    )


if __name__ == "__main__":
    main()
