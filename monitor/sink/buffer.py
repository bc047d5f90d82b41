"""What waits to be written: the latest status per (organization, integration), and the state
changes in order.

Memory is bounded whatever the database does: statuses are keyed, so a sink that cannot write
for an hour holds one row per key, not one per result; changes are a list of at most
`max_changes`, the oldest dropped (and counted) first. Adding costs O(1): checks call it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

MAX_CHANGES = 10_000


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One organization's reported status for one integration (a row of organization_status)."""

    organization_id: str
    integration: str
    status: str
    reason: str | None
    message: str
    details: Mapping[str, Any]
    checked_at: datetime
    recorded_at: float  # wall clock when the monitor recorded it: the row's updated_at

    @property
    def key(self) -> tuple[str, str]:
        """The table's primary key."""
        return self.organization_id, self.integration


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One change of an organization's reported status (a row of state_changes)."""

    organization_id: str
    integration: str
    previous: str
    current: str
    reason: str | None
    message: str
    at: datetime


@dataclass(frozen=True)
class Removal:
    """After a load: every organization the source holds (all shards'), and when it was read.

    Rows of other organizations last updated before `loaded_at` are deleted; a row written
    after it came from a shard that read a newer list, which may hold that organization.
    """

    known_ids: frozenset[str]
    loaded_at: float
    # The integrations checked per organization; rows of others (one dropped from
    # MONITOR_INTEGRATIONS) go too. None keeps every integration's rows.
    integrations: frozenset[str] | None = None


@dataclass(frozen=True)
class Batch:
    """What one transaction writes."""

    statuses: list[StatusRow]
    changes: list[ChangeRow]
    removal: Removal | None

    def __bool__(self) -> bool:
        return bool(self.statuses or self.changes or self.removal)


def _ignore(_dropped: int) -> None:
    return None


class SinkBuffer:
    """Rows waiting for the database.

    Args:
        max_changes: how many state changes wait at most; older ones are dropped.
        on_dropped: told how many changes were dropped, each time some are.
    """

    def __init__(
        self, max_changes: int = MAX_CHANGES, on_dropped: Callable[[int], None] = _ignore
    ) -> None:
        self._statuses: dict[tuple[str, str], StatusRow] = {}
        self._changes: deque[ChangeRow] = deque()
        self._max_changes = max_changes
        self._on_dropped = on_dropped
        self._removal: Removal | None = None
        self._in_flight = 0

    def put_status(self, row: StatusRow) -> None:
        """Keep the latest status per key (a newer one replaces what waits)."""
        self._statuses[row.key] = row

    def add_change(self, row: ChangeRow) -> None:
        """Append a change; when the list is full the oldest goes."""
        if len(self._changes) >= self._max_changes:
            self._changes.popleft()
            self._on_dropped(1)
        self._changes.append(row)

    def keep_only(self, removal: Removal) -> None:
        """Forget waiting statuses of organizations gone from the source; delete their rows."""
        known = removal.known_ids
        for key in [key for key in self._statuses if key[0] not in known]:
            del self._statuses[key]
        self._removal = removal

    def take(self, limit: int) -> Batch:
        """Up to `limit` statuses and `limit` changes, oldest first, and the latest removal."""
        keys = list(islice(self._statuses, limit))
        statuses = [self._statuses.pop(key) for key in keys]
        changes = [self._changes.popleft() for _ in range(min(limit, len(self._changes)))]
        self._in_flight = len(statuses) + len(changes)
        return Batch(statuses, changes, self._removal)

    def written(self, batch: Batch) -> None:
        """The batch is in the database."""
        self._in_flight = 0
        if self._removal is batch.removal:  # a newer load's removal still waits
            self._removal = None

    def give_back(self, batch: Batch) -> None:
        """The batch was not written: keep it, unless something newer replaced it meanwhile."""
        self._in_flight = 0
        known = self._removal.known_ids if self._removal is not None else None
        for row in batch.statuses:
            if known is None or row.organization_id in known:
                self._statuses.setdefault(row.key, row)
        room = max(0, self._max_changes - len(self._changes))
        kept = batch.changes[len(batch.changes) - room :] if room else []
        if len(kept) < len(batch.changes):
            self._on_dropped(len(batch.changes) - len(kept))
        self._changes.extendleft(reversed(kept))

    def has_work(self) -> bool:
        """Whether anything waits: rows, or the rows of removed organizations to delete."""
        return bool(self._statuses or self._changes or self._removal)

    def pending_rows(self) -> int:
        """Rows not yet in the database (a batch being written included)."""
        return len(self._statuses) + len(self._changes) + self._in_flight

    def __len__(self) -> int:
        """Rows waiting to be taken."""
        return len(self._statuses) + len(self._changes)
