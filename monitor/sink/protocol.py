"""What the fleet hands to a status sink, and when it starts and stops it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from monitor.fleet.state import OrganizationTransition
    from monitor.snapshot import Reported


class StatusSink(Protocol):
    """Receives every organization result and state change; writes them in the background.

    The three record calls come from the checks' path: they return at once, whatever the
    database does.
    """

    def record_status(self, organization: str, integration: str, entry: Reported) -> None:
        """The status now reported for one organization's integration."""
        ...

    def record_change(self, transition: OrganizationTransition) -> None:
        """A change of an organization's reported status, as logged."""
        ...

    def keep_only(
        self,
        organization_ids: frozenset[str],
        loaded_at: float,
        integrations: frozenset[str] | None = None,
    ) -> None:
        """After a load: every organization the source holds, all shards' (wall clock time),
        and the integrations checked per organization."""
        ...

    def start(self) -> None:
        """Begin writing in the background."""
        ...

    async def close(self) -> None:
        """Stop; one last bounded attempt to write what waits."""
        ...
