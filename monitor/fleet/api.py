"""The organization endpoints (§8.4): one organization, its refresh, the paged list, the summary.

Every list is filtered and paged; nothing serialises every organization in one answer.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.fleet.scale_settings import Shard
from monitor.fleet.state import ORGANIZATION_STATUSES
from monitor.fleet.views import EntryRenderer, OrganizationView
from monitor.service import ShuttingDown

DEFAULT_LIMIT = 100
# A daemon shutting down is usually replaced (restart, rolling update) within seconds.
SHUTDOWN_RETRY_AFTER_SECONDS = 5
MAX_LIMIT = 1000


class NoBudget(Exception):
    """A refresh found no request budget within its deadline."""

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__("no request budget for a refresh within the check deadline")
        self.retry_after_seconds = retry_after_seconds


class Fleet(Protocol):
    """What the endpoints need from the fleet."""

    view: OrganizationView
    integrations: Sequence[str]

    def organization_ids(self) -> Sequence[str]:
        """Every organization id, sorted."""
        ...

    def has(self, organization: str) -> bool:
        """Whether the organization is known (in O(1))."""
        ...

    def elsewhere(self, organization: str) -> Shard | None:
        """The shard that checks the organization, when it is not this replica's."""
        ...

    def shard_summary(self) -> dict[str, int]:
        """`{"index", "count"}` of this replica's shard (0 of 1 without sharding)."""
        ...

    def name_of(self, organization: str) -> str | None:
        """The organization's display name, if it has one."""
        ...

    def source_summary(self) -> dict[str, Any]:
        """`{"kind", "last_success", "invalid_rows"}` of the organization source."""
        ...

    def status_counts(self, integration: str) -> dict[str, int]:
        """Organizations per reported status for one integration."""
        ...

    async def refresh(self, organization: str) -> None:
        """Check the organization now, within budgets (or not, if it was just checked).

        Raises:
            NoBudget: no budget within the check deadline.
            ShuttingDown: the daemon stopped first.
        """
        ...


class _BadQuery(Exception):
    pass


def organization_routes(fleet: Fleet, render: EntryRenderer) -> list[Route]:
    """The routes, each answering from the fleet's state; `render` makes an entry's JSON."""

    async def status(request: Request) -> Response:
        organization = request.path_params["organization"]
        if not fleet.has(organization):
            return _not_here(fleet, organization)
        return JSONResponse(fleet.view.to_json(organization, render))

    async def refresh(request: Request) -> Response:
        organization = request.path_params["organization"]
        if not fleet.has(organization):
            return _not_here(fleet, organization)
        try:
            await fleet.refresh(organization)
        except NoBudget as exc:
            return _unavailable(str(exc), exc.retry_after_seconds)
        except ShuttingDown:
            return _unavailable("the monitor is shutting down", SHUTDOWN_RETRY_AFTER_SECONDS)
        body = fleet.view.to_json(organization, render)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def listing(request: Request) -> Response:
        try:
            return JSONResponse(organization_page(fleet, request, render))
        except _BadQuery as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def summary(_: Request) -> Response:
        return JSONResponse(summary_document(fleet))

    return [
        Route("/api/organizations", listing, methods=["GET"]),
        Route("/api/organizations/summary", summary, methods=["GET"]),
        Route("/api/organizations/{organization}/integrations/status", status, methods=["GET"]),
        Route("/api/organizations/{organization}/integrations/refresh", refresh, methods=["POST"]),
    ]


def organization_page(fleet: Fleet, request: Request, render: EntryRenderer) -> dict[str, Any]:
    """One page of the filtered list, from just after the cursor."""
    integration, status, limit, cursor = _list_query(fleet, request)
    ids = fleet.organization_ids()
    matches = _matcher(fleet, integration, status)
    page: list[str] = []
    position = bisect.bisect_right(ids, cursor) if cursor else 0
    more = False
    for organization in ids[position:]:
        if not matches(organization):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(organization)
    return {
        "organizations": [_list_item(fleet, organization, render) for organization in page],
        "next_cursor": page[-1] if more else None,
        "total": _total(fleet, integration, status, matches),
    }


def _list_query(fleet: Fleet, request: Request) -> tuple[str | None, str | None, int, str]:
    query = request.query_params
    integration = query.get("integration") or None
    status = query.get("status") or None
    if integration is not None and integration not in fleet.integrations:
        raise _BadQuery(f"integration must be one of {', '.join(fleet.integrations)}")
    if status is not None and status not in ORGANIZATION_STATUSES:
        raise _BadQuery(f"status must be one of {', '.join(ORGANIZATION_STATUSES)}")
    try:
        limit = int(query.get("limit") or DEFAULT_LIMIT)
    except ValueError:
        raise _BadQuery("limit must be a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _BadQuery(f"limit must be from 1 to {MAX_LIMIT}")
    return integration, status, limit, query.get("cursor") or ""


def _matcher(fleet: Fleet, integration: str | None, status: str | None) -> Callable[[str], bool]:
    view = fleet.view
    if status is None:
        return lambda _: True
    if integration is not None:
        return lambda organization: view.status_of(organization, integration) == status
    return lambda organization: status in view.own_statuses(organization)


def _total(
    fleet: Fleet, integration: str | None, status: str | None, matches: Callable[[str], bool]
) -> int:
    if status is None:
        return len(fleet.organization_ids())
    if integration is not None:
        return fleet.status_counts(integration)[status]
    return sum(1 for organization in fleet.organization_ids() if matches(organization))


def _list_item(fleet: Fleet, organization: str, render: EntryRenderer) -> dict[str, Any]:
    document = fleet.view.to_json(organization, render)
    return {
        "id": organization,
        "name": fleet.name_of(organization),
        "overall_status": document["overall_status"],
        "integrations": document["integrations"],
    }


def summary_document(fleet: Fleet) -> dict[str, Any]:
    """Counts per integration and status, and the source's health."""
    return {
        "organizations": len(fleet.organization_ids()),
        "integrations": {name: fleet.status_counts(name) for name in fleet.integrations},
        "source": fleet.source_summary(),
        "shard": fleet.shard_summary(),
    }


def _unavailable(error: str, retry_after_seconds: float) -> Response:
    return JSONResponse(
        {"error": error},
        status_code=503,
        headers={"Retry-After": str(max(1, math.ceil(retry_after_seconds)))},
    )


def _not_here(fleet: Fleet, organization: str) -> Response:
    owner = fleet.elsewhere(organization)
    if owner is None:
        return JSONResponse({"error": "unknown organization"}, status_code=404)
    # 421 Misdirected Request: this replica is not the one that can answer for it.
    return JSONResponse(
        {"error": f"organization belongs to shard {owner}", "shard": owner.index},
        status_code=421,
    )
