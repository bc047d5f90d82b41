"""Resend's `GET /domains` listing, paged as Resend pages it.

Resend's pagination (https://resend.com/docs/api-reference/pagination): `limit` (1 to 100),
`after` (the id of the last item of the page before; that item is left out), and
`{"object": "list", "has_more", "data"}` in every answer. List Domains without `limit` answers
every domain at once; newer list endpoints page by 20 by default, which `default_limit` mimics.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.server import Reply, Request


def domain(name: str, status: str, *, region: str = "us-east-1", number: int = 0) -> dict[str, Any]:
    """One domain as the listing shows it."""
    return {
        "id": f"4dd369bc-aa82-4ff3-97de-{number:012d}",
        "name": name,
        "status": status,
        "created_at": "2023-04-26T20:21:26.347412+00:00",
        "region": region,
        "capabilities": {"sending": "enabled", "receiving": "disabled"},
    }


def numbered_domains(count: int, status: str = "verified", start: int = 0) -> list[dict[str, Any]]:
    """`count` domains named mail<n>.example.com."""
    return [domain(f"mail{n}.example.com", status, number=n) for n in range(start, start + count)]


class DomainListing:
    """A responder for `/domains` that honours `limit` and `after` and says `has_more`.

    Args:
        domains: the account's domains, in listing order.
        default_limit: the page size when no `limit` is given; None lists every domain at once.
    """

    def __init__(self, domains: list[dict[str, Any]], default_limit: int | None = None) -> None:
        self.domains = domains
        self.default_limit = default_limit

    def __call__(self, request: Request) -> Reply:
        limit = _one(request, "limit")
        if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= 100):
            return _validation_error("The `limit` parameter must be between 1 and 100.")
        start = 0
        after = _one(request, "after")
        if after is not None:
            ids = [d["id"] for d in self.domains]
            if after not in ids:
                return _validation_error("The `after` cursor is not a known id.")
            start = ids.index(after) + 1
        size = int(limit) if limit is not None else self.default_limit
        end = len(self.domains) if size is None else start + size
        page = self.domains[start:end]
        return Reply.json(
            200, {"object": "list", "has_more": end < len(self.domains), "data": page}
        )


def endless_listing(request: Request) -> Reply:
    """A listing whose every page says more follow, each with new ids (a broken cursor)."""
    after = _one(request, "after")
    first = int(after.rsplit("-", 1)[1]) + 1 if after else 0
    data = [domain(f"loop{n}.example.com", "verified", number=n) for n in range(first, first + 2)]
    return Reply.json(200, {"object": "list", "has_more": True, "data": data})


def _one(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def _validation_error(message: str) -> Reply:
    return Reply.json(422, {"statusCode": 422, "name": "validation_error", "message": message})
