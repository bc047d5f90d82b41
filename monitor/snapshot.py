"""The snapshot every reader sees: the reported result of each integration and the overall status.

A snapshot is immutable and replaced whole at the end of a cycle, so a reader never sees half
of one cycle and half of the next. Its JSON leaves personal data out unless asked for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitor.checks.base import CheckResult, Status, rfc3339

# Details that identify a person (the Stripe customer's email): the HTTP API serves them only
# behind MONITOR_API_TOKEN. Named here, in one place, for every answer that carries results.
PERSONAL_DETAIL_KEYS = frozenset({"email"})


def result_json(result: CheckResult, *, personal: bool) -> dict[str, Any]:
    """A result in the dashboard's shape; without `personal`, personal details are left out."""
    body = result.to_json()
    if personal or "details" not in body:
        return body
    details = {k: v for k, v in body["details"].items() if k not in PERSONAL_DETAIL_KEYS}
    if details:
        body["details"] = details
    else:
        del body["details"]
    return body


class Overall(StrEnum):
    """The platform's status across integrations."""

    HEALTHY = "healthy"
    PARTIAL = "partial"
    DEGRADED = "degraded"


@dataclass(frozen=True)
class Reported:
    """What is reported for one integration, and the latest raw result when it differs.

    With thresholds above 1, a new status is reported only after enough consecutive results;
    until then `reported` is the last result that was, and `pending` the one that was not yet.
    """

    reported: CheckResult
    pending: CheckResult | None = None
    pending_count: int = 0

    def to_json(self, *, personal: bool = False) -> dict[str, Any]:
        """The dashboard's per-integration shape, plus `last_result` while a change is pending.

        Args:
            personal: include personal details (only for those allowed to see them).
        """
        body = result_json(self.reported, personal=personal)
        if self.pending is not None:
            pending = result_json(self.pending, personal=personal)
            body["last_result"] = {**pending, "consecutive": self.pending_count}
        return body


@dataclass(frozen=True)
class Snapshot:
    """One whole cycle's view of every integration."""

    integrations: Mapping[str, Reported]
    last_checked: datetime
    cycle_duration_seconds: float

    @property
    def overall_status(self) -> Overall:
        """degraded if any is in error, else partial if any is not configured, else healthy."""
        statuses = {entry.reported.status for entry in self.integrations.values()}
        if Status.ERROR in statuses:
            return Overall.DEGRADED
        if Status.NOT_CONFIGURED in statuses:
            return Overall.PARTIAL
        return Overall.HEALTHY

    def to_json(self, *, personal: bool = False) -> dict[str, Any]:
        """The dashboard API's shape.

        Args:
            personal: include personal details (only for those allowed to see them).
        """
        integrations = self.integrations.items()
        return {
            "integrations": {
                name: entry.to_json(personal=personal) for name, entry in integrations
            },
            "overall_status": self.overall_status.value,
            "last_checked": rfc3339(self.last_checked),
        }
