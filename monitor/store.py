"""The snapshot store: applies a cycle's raw results, with hysteresis, and keeps the latest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from monitor.checks.base import CheckResult, Status
from monitor.snapshot import Reported, Snapshot

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Transition:
    """A change of reported status; `previous` is "unknown" for an integration's first result."""

    integration: str
    previous: str
    current: Status
    result: CheckResult


class Thresholds:
    """Decides when a raw result changes what is reported (hysteresis).

    Args:
        failure_threshold: consecutive error results before a connected target is reported
            as error.
        success_threshold: consecutive connected results before an erroring target is
            reported as connected.
    """

    def __init__(self, failure_threshold: int = 1, success_threshold: int = 1) -> None:
        self._failure_threshold = failure_threshold
        self._success_threshold = success_threshold

    def next_entry(self, before: Reported | None, result: CheckResult) -> Reported:
        """What to report after `result`, given what was reported before (None: nothing yet)."""
        if before is None or result.status is before.reported.status:
            return Reported(result)
        count = before.pending_count + 1 if _same_status(before.pending, result) else 1
        if count >= self._threshold(before.reported.status, result.status):
            return Reported(result)
        return Reported(before.reported, pending=result, pending_count=count)

    def _threshold(self, reported: Status, raw: Status) -> int:
        # Thresholds smooth flaky providers; configuration changes are never flaky.
        if Status.NOT_CONFIGURED in (reported, raw):
            return 1
        if raw is Status.ERROR:
            return self._failure_threshold
        return self._success_threshold


class SnapshotStore:
    """Holds the current snapshot and decides when a raw result changes the reported status.

    Args:
        failure_threshold, success_threshold: see Thresholds.
    """

    def __init__(self, failure_threshold: int = 1, success_threshold: int = 1) -> None:
        self._thresholds = Thresholds(failure_threshold, success_threshold)
        self.current: Snapshot | None = None

    def apply(
        self, results: Mapping[str, CheckResult], finished_at: datetime, duration_seconds: float
    ) -> list[Transition]:
        """Fold one cycle into a new snapshot; return the reported-status changes it caused."""
        previous = self.current.integrations if self.current else {}
        entries: dict[str, Reported] = {}
        transitions: list[Transition] = []
        for name, result in results.items():
            before = previous.get(name)
            entry = self._thresholds.next_entry(before, result)
            entries[name] = entry
            if before is None or before.reported.status is not entry.reported.status:
                was = before.reported.status.value if before else UNKNOWN
                transitions.append(Transition(name, was, entry.reported.status, result))
        self.current = Snapshot(entries, finished_at, duration_seconds)
        return transitions


def _same_status(pending: CheckResult | None, result: CheckResult) -> bool:
    return pending is not None and pending.status is result.status
