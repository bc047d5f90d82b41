"""Which replica checks which organization (§8.7).

The assignment is a plain function of the id and the shard count, so any other tool (the
platform's app, a script choosing which replica to ask) computes the same answer without asking.
"""

from __future__ import annotations

import hashlib

from prometheus_client import CollectorRegistry, Gauge

from monitor.fleet.scale_settings import Shard


def shard_of(organization_id: str, count: int) -> int:
    """The index of the shard that checks this organization, out of `count`."""
    digest = hashlib.sha256(organization_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


class ShardAssignment:
    """This replica's shard; a replica without sharding is shard 0 of 1 and owns everyone."""

    def __init__(self, shard: Shard | None) -> None:
        self.shard = shard or Shard(0, 1)

    @property
    def sharded(self) -> bool:
        """Whether organizations are split between several replicas."""
        return self.shard.count > 1

    def owns(self, organization_id: str) -> bool:
        """Whether this replica checks the organization."""
        return self.owner_of(organization_id) == self.shard.index

    def owner_of(self, organization_id: str) -> int:
        """The index of the shard that checks the organization."""
        if not self.sharded:
            return 0
        return shard_of(organization_id, self.shard.count)


def export_shard(registry: CollectorRegistry, assignment: ShardAssignment) -> None:
    """`integration_monitor_shard_info{shard,shards}` = 1, and the shard count as a value.

    The count is a value too because PromQL cannot compare a label with a number: a missing
    replica shows as fewer info series than the largest count any replica reports.
    """
    shard = assignment.shard
    Gauge(
        "integration_monitor_shard_info",
        "This replica's shard (always 1); one series per running shard",
        ["shard", "shards"],
        registry=registry,
    ).labels(str(shard.index), str(shard.count)).set(1)
    Gauge(
        "integration_monitor_shards",
        "How many shards the organizations are split into",
        registry=registry,
    ).set(shard.count)
