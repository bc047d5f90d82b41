"""Two shards against one: CPU per check and round times should not change with sharding.

Budgets are per process, so two shards over twice the organizations should each look like one
replica over half of them: the same CPU per check, the same round time. The fleet's own
counters give the checks; summed over the shards they show whether any organization was
checked twice.

    python -m bench.shards                  # about five minutes
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.fleet import checks_so_far, cpu_seconds, fast_fake, fleet_env, organizations_file
from tests.support.daemon import Daemon, running_daemon, wait_for


@contextlib.contextmanager
def replicas(fake: str, organizations: Path, count: int, **extra: str) -> Iterator[list[Daemon]]:
    """`count` daemons over the same file, shard i of `count` each (one: no sharding)."""
    with contextlib.ExitStack() as stack:
        daemons = []
        for index in range(count):
            shard = {"MONITOR_SHARD": f"{index}/{count}"} if count > 1 else {}
            env = fleet_env(fake, organizations, **shard, **extra)
            daemons.append(stack.enter_context(running_daemon(env)))
        yield daemons


def cpu_per_check(daemons: list[Daemon], warmup: float, seconds: float) -> tuple[float, float]:
    """Milliseconds of CPU per organization check over all replicas, and checks per second."""
    time.sleep(warmup)
    cpu = sum(cpu_seconds(d.process.pid) for d in daemons)
    checks = sum(sum(checks_so_far(d).values()) for d in daemons)
    started = time.monotonic()
    time.sleep(seconds)
    cpu = sum(cpu_seconds(d.process.pid) for d in daemons) - cpu
    checks = sum(sum(checks_so_far(d).values()) for d in daemons) - checks
    return cpu / checks * 1000, checks / (time.monotonic() - started)


def round_seconds(daemon: Daemon) -> dict[str, float] | None:
    """The last complete round per integration, once every integration has one."""
    found = {}
    for line in daemon.get("/metrics").text.splitlines():
        if line.startswith("integration_organization_round_seconds{"):
            found[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
    return found if found and all(found.values()) else None


def rounds(fake: str, folder: Path, per_replica: int, count: int) -> list[dict[str, float]]:
    """Round times of `count` replicas sharing `per_replica * count` organizations every 20 s."""
    organizations = organizations_file(folder, per_replica * count)
    with replicas(
        fake, organizations, count, MONITOR_ORGANIZATION_INTERVAL_SECONDS="20"
    ) as daemons:
        return [wait_for(lambda d=d: round_seconds(d), timeout=180, interval=1) for d in daemons]


def organizations_per_shard(daemons: list[Daemon]) -> list[int]:
    """How many organizations each replica says it checks."""
    return [int(d.get("/api/organizations/summary").json()["organizations"]) for d in daemons]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; windows of {args.seconds:g} s")
    with tempfile.TemporaryDirectory() as name, fast_fake() as fake:
        folder = Path(name)
        organizations = organizations_file(folder, args.organizations)
        for count in (1, 2):
            with replicas(fake, organizations, count) as daemons:
                split = organizations_per_shard(daemons)
                ms, rate = cpu_per_check(daemons, args.warmup, args.seconds)
            print(
                f"{count} replica(s), {args.organizations} organizations split {split}:"
                f" {ms:.2f} ms CPU per check, {rate:.1f} checks/s in all"
            )
        for count in (1, 2):
            measured = rounds(fake, folder, 1000, count)
            shown = "; ".join(
                ", ".join(f"{k} {v:.1f} s" for k, v in sorted(m.items())) for m in measured
            )
            print(f"round, 1000 organizations per replica every 20 s at 40/s, {count}: {shown}")


if __name__ == "__main__":
    main()
