"""One organization's status in the dashboard's shape (§8.4), read from the state table.

Its own integrations come from the table (`pending` until their first result); the platform's
`email` and `database` are copied in at read time, so they are never counted or kept twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monitor.checks.base import Status, rfc3339
from monitor.fleet.state import PENDING, FleetState
from monitor.snapshot import Overall, Reported, Snapshot

# What one reported result looks like in JSON: a hook so the web layer can leave personal data
# out of answers to callers without a token.
EntryRenderer = Callable[[Reported], dict[str, Any]]
PENDING_JSON = {"status": PENDING, "message": "not checked yet", "healthy": False}


def default_renderer(entry: Reported) -> dict[str, Any]:
    """The entry as the platform API shows it."""
    return entry.to_json()


class OrganizationView:
    """Builds organization answers from the state table and the platform's latest snapshot.

    Args:
        state: the fleet's table.
        own_integrations: checked per organization (whatsapp, stripe), in display order.
        shared_integrations: the platform's, shown for every organization (email, database).
        platform_snapshot: returns the platform's latest snapshot, or None before its first.
    """

    def __init__(
        self,
        state: FleetState,
        own_integrations: Sequence[str],
        shared_integrations: Sequence[str],
        platform_snapshot: Callable[[], Snapshot | None],
    ) -> None:
        self._state = state
        self._own = tuple(own_integrations)
        self._shared = tuple(shared_integrations)
        self._platform_snapshot = platform_snapshot

    def entries(self, organization: str) -> dict[str, Reported | None]:
        """Every integration shown for the organization; None where it is pending."""
        shown: dict[str, Reported | None] = {
            name: self._state.reported(organization, name) for name in self._own
        }
        snapshot = self._platform_snapshot()
        platform = snapshot.integrations if snapshot is not None else {}
        for name in self._shared:
            shown[name] = platform.get(name)
        return shown

    def overall(self, organization: str) -> Overall:
        """degraded on any error, else partial on any pending or not_configured, else healthy."""
        return overall_of(self.entries(organization))

    def own_statuses(self, organization: str) -> set[str]:
        """The statuses of the organization's own integrations (for list filters)."""
        return {_status_of(self._state.reported(organization, name)) for name in self._own}

    def status_of(self, organization: str, integration: str) -> str:
        """One own integration's reported status, `pending` included."""
        return _status_of(self._state.reported(organization, integration))

    def to_json(
        self, organization: str, render: EntryRenderer = default_renderer
    ) -> dict[str, Any]:
        """The §4 shape for one organization."""
        entries = self.entries(organization)
        checked = [e.reported.checked_at for e in entries.values() if e is not None]
        return {
            "integrations": {
                name: render(entry) if entry is not None else dict(PENDING_JSON)
                for name, entry in entries.items()
            },
            "overall_status": overall_of(entries).value,
            "last_checked": rfc3339(max(checked)) if checked else None,
        }


def overall_of(entries: Mapping[str, Reported | None]) -> Overall:
    """The overall status of one organization's entries (None is pending)."""
    statuses = {_status_of(entry) for entry in entries.values()}
    if Status.ERROR.value in statuses:
        return Overall.DEGRADED
    if statuses & {PENDING, Status.NOT_CONFIGURED.value}:
        return Overall.PARTIAL
    return Overall.HEALTHY


def _status_of(entry: Reported | None) -> str:
    return entry.reported.status.value if entry is not None else PENDING
