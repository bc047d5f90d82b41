"""What the organization endpoints read of the fleet (the `Fleet` protocol of the API)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from monitor.checks.base import rfc3339
from monitor.fleet.scale_settings import Shard
from monitor.fleet.service import FleetService
from monitor.fleet.shards import ShardAssignment
from monitor.fleet.views import OrganizationView


class FleetReader:
    """Answers the API from the fleet's directory and state; `refresh` is the one call back."""

    def __init__(self, fleet: FleetService, assignment: ShardAssignment | None = None) -> None:
        self._fleet = fleet
        self._assignment = assignment or ShardAssignment(None)
        self.view: OrganizationView = fleet.view
        self.integrations: Sequence[str] = fleet.integrations

    def has(self, organization: str) -> bool:
        """Whether the organization is in the current list."""
        return organization in self._fleet.directory

    def elsewhere(self, organization: str) -> Shard | None:
        """The shard that checks the organization, when it is another replica."""
        assignment = self._assignment
        owner = assignment.owner_of(organization)
        if owner == assignment.shard.index or not self._fleet.directory.in_source(organization):
            return None
        return Shard(owner, assignment.shard.count)

    def shard_summary(self) -> dict[str, int]:
        """This replica's shard."""
        shard = self._assignment.shard
        return {"index": shard.index, "count": shard.count}

    def organization_ids(self) -> Sequence[str]:
        """Every organization id, sorted."""
        return self._fleet.directory.ids()

    def name_of(self, organization: str) -> str | None:
        """The organization's display name."""
        found = self._fleet.directory.get(organization)
        return found.name if found is not None else None

    def status_counts(self, integration: str) -> dict[str, int]:
        """Organizations per reported status."""
        return self._fleet.state.status_counts(integration)

    def source_summary(self) -> dict[str, Any]:
        """The source's kind, last success and skipped rows."""
        directory = self._fleet.directory
        last = directory.last_success
        return {
            "kind": directory.source.kind,
            "last_success": rfc3339(datetime.fromtimestamp(last, UTC)) if last else None,
            "invalid_rows": directory.invalid_rows,
        }

    async def refresh(self, organization: str) -> None:
        """Check the organization now, within budgets.

        Raises:
            NoBudget: a provider had no budget within the check deadline.
        """
        await self._fleet.refresh(organization)
