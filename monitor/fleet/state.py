"""What we remember of every organization: the reported state per (organization, integration).

Thresholds apply per organization and integration, as they do for the platform. The table keeps
running counts (per status, per error reason) so that metrics and the summary cost O(1) per
scrape whatever the number of organizations, and it keeps each integration's entries in the order
they were last updated, so the oldest result is always the first one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.checks.base import CheckResult, Reason, Status
from monitor.fleet.phone_numbers import PhoneNumberTotals
from monitor.snapshot import Reported
from monitor.store import Thresholds

# An organization's integration before its first result.
PENDING = "pending"
ORGANIZATION_STATUSES = (*(status.value for status in Status), PENDING)


@dataclass(frozen=True)
class OrganizationTransition:
    """A change of one organization's reported status; `previous` is "pending" at first."""

    organization: str
    integration: str
    previous: str
    current: Status
    result: CheckResult

    @property
    def is_first(self) -> bool:
        """The organization's first result for this integration."""
        return self.previous == PENDING


class _IntegrationTable:
    """One integration's entries, ordered from the least to the most recently updated."""

    def __init__(self) -> None:
        self.entries: dict[str, Reported] = {}
        self.last_result_at: dict[str, datetime] = {}
        self.statuses: Counter[Status] = Counter()
        self.reasons: Counter[Reason] = Counter()

    def put(self, organization: str, entry: Reported, result_at: datetime) -> Reported | None:
        before = self.drop(organization)
        self.entries[organization] = entry
        # A not_configured result is not checked again until the organization changes: it
        # must not read as a stalled loop in the oldest result's age.
        if entry.reported.status is not Status.NOT_CONFIGURED:
            self.last_result_at[organization] = result_at
        self._count(entry, +1)
        return before

    def drop(self, organization: str) -> Reported | None:
        before = self.entries.pop(organization, None)
        self.last_result_at.pop(organization, None)
        if before is not None:
            self._count(before, -1)
        return before

    def _count(self, entry: Reported, sign: int) -> None:
        reported = entry.reported
        self.statuses[reported.status] += sign
        if reported.reason is not None:
            self.reasons[reported.reason] += sign


class FleetState:
    """The reported state of every (organization, integration).

    Args:
        integrations: the integrations checked per organization (whatsapp, stripe).
        thresholds: the same hysteresis the platform uses, applied per entry.
    """

    def __init__(self, integrations: Sequence[str], thresholds: Thresholds) -> None:
        self.integrations = tuple(integrations)
        self._thresholds = thresholds
        self._organizations: frozenset[str] = frozenset()
        self._tables = {name: _IntegrationTable() for name in self.integrations}
        # (organization, integration) -> reason, in the order each entered error (or changed
        # reason): the per-organization error series keep the oldest first.
        self._errors: dict[tuple[str, str], Reason] = {}
        # WhatsApp phone numbers summed over organizations (contract §11).
        self.phone_numbers = PhoneNumberTotals()

    def set_organizations(self, organizations: Iterable[str]) -> None:
        """The organizations that exist now; the entries of any other are forgotten."""
        current = frozenset(organizations)
        for removed in self._organizations - current:
            for name, table in self._tables.items():
                table.drop(removed)
                self._errors.pop((removed, name), None)
            self.phone_numbers.drop(removed)
        self._organizations = current

    def record(
        self, organization: str, integration: str, result: CheckResult
    ) -> OrganizationTransition | None:
        """Fold one result in; the transition it caused, if any.

        A result for an organization removed while its check ran is dropped.
        """
        if organization not in self._organizations:
            return None
        table = self._tables[integration]
        before = table.entries.get(organization)
        entry = self._thresholds.next_entry(before, result)
        table.put(organization, entry, result.checked_at)
        self._track_error(organization, integration, entry.reported.reason)
        if integration == "whatsapp":
            # The latest raw result, not the reported one: thresholds smooth the status, while
            # the numbers a result read are facts as of that result.
            self.phone_numbers.record(organization, result.outcome)
        if before is not None and before.reported.status is entry.reported.status:
            return None
        previous = before.reported.status.value if before is not None else PENDING
        return OrganizationTransition(
            organization, integration, previous, entry.reported.status, result
        )

    def _track_error(self, organization: str, integration: str, reason: Reason | None) -> None:
        key = (organization, integration)
        if reason is None:
            self._errors.pop(key, None)
        elif self._errors.get(key) is not reason:
            self._errors.pop(key, None)
            self._errors[key] = reason

    def errors_oldest_first(self) -> Iterator[tuple[str, str, Reason]]:
        """(organization, integration, reason) of every entry reported in error, oldest first."""
        for (organization, integration), reason in self._errors.items():
            yield organization, integration, reason

    def error_entries(self) -> int:
        """How many entries are reported in error, over every integration."""
        return len(self._errors)

    def reported(self, organization: str, integration: str) -> Reported | None:
        """What is reported for one entry; None while it is pending."""
        return self._tables[integration].entries.get(organization)

    def status_counts(self, integration: str) -> dict[str, int]:
        """Organizations per reported status, `pending` included."""
        table = self._tables[integration]
        counts = {status.value: table.statuses[status] for status in Status}
        counts[PENDING] = len(self._organizations) - len(table.entries)
        return counts

    def error_counts(self, integration: str) -> dict[Reason, int]:
        """Organizations reported in error, by reason."""
        reasons = self._tables[integration].reasons
        return {reason: reasons[reason] for reason in Reason}

    def oldest_result_at(self, integration: str) -> datetime | None:
        """When the least recently updated organization last got a result."""
        last = self._tables[integration].last_result_at
        return next(iter(last.values()), None)

    def __len__(self) -> int:
        return len(self._organizations)
