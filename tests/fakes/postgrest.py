"""A fake PostgREST (Supabase's REST API) on a FakeServer: tables per schema, paging, errors.

It answers `GET /rest/v1/<table>` as PostgREST does: `Accept-Profile` picks the schema,
`order=id.asc` sorts, `offset`/`limit` (or a `Range: a-b` header) pick a page, capped at
`max_rows` like `db-max-rows`; the body is a JSON array with a `Content-Range` header; errors
are `{"code", "message", "details", "hint"}` (404 `PGRST205` for a table it does not have).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.server import FakeServer, Reply, Request

Row = dict[str, Any]


def postgrest_error(status: int, code: str, message: str, hint: str | None = None) -> Reply:
    """PostgREST's error body."""
    return Reply.json(status, {"code": code, "details": None, "hint": hint, "message": message})


class FakePostgrest:
    """Tables by (schema, name), served under /rest/v1/ of `server` with `service_role_key`."""

    def __init__(self, server: FakeServer, service_role_key: str, max_rows: int = 1000) -> None:
        self.server = server
        self.key = service_role_key
        self.max_rows = max_rows
        self.tables: dict[tuple[str, str], list[Row]] = {}

    def table(self, name: str, rows: list[Row], schema: str = "public") -> str:
        """Serve `rows` as `schema.name`; the path requests for it reach."""
        self.tables[(schema, name)] = rows
        return self.route(name)

    def route(self, name: str) -> str:
        """Answer requests for `name` (in whatever schema is asked), even if it does not exist."""
        path = f"/rest/v1/{name}"
        self.server.route(path, self._answer(name))
        return path

    def _answer(self, name: str) -> Callable[[Request], Reply]:
        def answer(request: Request) -> Reply:
            if request.headers.get("apikey") != self.key:
                return postgrest_error(401, "PGRST301", "No suitable key or wrong key type")
            schema = request.headers.get("accept-profile", "public")
            exposed = sorted({"public"} | {known for known, _ in self.tables})
            if schema not in exposed:
                return postgrest_error(
                    406, "PGRST106", f"Invalid schema: {schema}",
                    f"Only the following schemas are exposed: {', '.join(exposed)}",
                )  # fmt: skip
            rows = self.tables.get((schema, name))
            if rows is None:
                return postgrest_error(
                    404,
                    "PGRST205",
                    f"Could not find the table '{schema}.{name}' in the schema cache",
                )
            return self._page(_ordered(rows, request), request)

        return answer

    def _page(self, rows: list[Row], request: Request) -> Reply:
        offset, limit = _window(request)
        page = rows[offset : offset + min(limit, self.max_rows)]
        content_range = f"{offset}-{offset + len(page) - 1}/*" if page else "*/*"
        return Reply.json(200, page, {"Content-Range": content_range})


def _ordered(rows: list[Row], request: Request) -> list[Row]:
    order = request.query.get("order", [""])[0]
    if not order:
        return list(rows)
    column, _, direction = order.partition(".")
    return sorted(rows, key=lambda row: row[column], reverse=direction.startswith("desc"))


def _window(request: Request) -> tuple[int, int]:
    """(offset, limit) from the query, else from a `Range: first-last` header, else all."""
    if "offset" in request.query or "limit" in request.query:
        offset = int(request.query.get("offset", ["0"])[0])
        return offset, int(request.query.get("limit", [str(10**9)])[0])
    first, _, last = request.headers.get("range", "").partition("-")
    if first.isdigit():
        return int(first), (int(last) - int(first) + 1) if last.isdigit() else 10**9
    return 0, 10**9
