"""The in-memory history of reported-status changes, for the status page's "Recent changes".

Bounded: only the latest MAX_CHANGES are kept, whatever the number of organizations, so a
storm of changes costs a fixed amount of memory. The history is lost on restart; the logs
(and, in fleet mode, the status sink) are the durable record.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.checks.base import CheckResult, Status, rfc3339

MAX_CHANGES = 1000


@dataclass(frozen=True)
class Change:
    """One change of an integration's reported status (an organization's, in fleet mode)."""

    integration: str
    previous: str
    current: str
    reason: str | None
    message: str
    at: datetime
    organization: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The history endpoint's shape; `organization` only for an organization's change."""
        body: dict[str, Any] = {"integration": self.integration}
        if self.organization is not None:
            body["organization"] = self.organization
        body.update(
            previous=self.previous,
            current=self.current,
            reason=self.reason,
            message=self.message,
            at=rfc3339(self.at),
        )
        return body


class ChangeHistory:
    """The latest changes, newest last in memory and newest first when read.

    Args:
        max_changes: how many to keep; older ones are dropped.
    """

    def __init__(self, max_changes: int = MAX_CHANGES) -> None:
        self._changes: deque[Change] = deque(maxlen=max_changes)

    def record(
        self,
        integration: str,
        previous: str,
        current: Status,
        result: CheckResult,
        organization: str | None = None,
    ) -> None:
        """Keep a change to `current`, caused by `result` (scrubbed of secrets by the runner)."""
        outcome = result.outcome
        self._changes.append(
            Change(
                integration=integration,
                previous=previous,
                current=current.value,
                reason=outcome.reason.value if outcome.reason is not None else None,
                message=outcome.message,
                at=result.checked_at,
                organization=organization,
            )
        )

    def latest(self, limit: int, organization: str | None = None) -> list[Change]:
        """At most `limit` changes, newest first; only `organization`'s when given."""
        found: list[Change] = []
        for change in reversed(self._changes):
            if len(found) >= limit:
                break
            if organization is None or change.organization == organization:
                found.append(change)
        return found
