"""Organizations from a Supabase table or view, read through PostgREST (the supabase client).

A module of its own so that the supabase package (tens of MB) is imported only by deployments
that read their organizations this way.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from postgrest.exceptions import APIError
from pydantic import SecretStr
from supabase import AsyncClient, AsyncSupabaseException

from monitor.checks.supabase import client_options
from monitor.checks.transport import (
    TRANSPORT_ERRORS,
    USER_AGENT,
    CappedTransport,
    failure_from_transport_error,
)
from monitor.fleet.sources import DEFAULT_TIMEOUT_SECONDS, MAX_PAGE_BYTES, SourceError
from monitor.redaction import Redactor


class SupabaseTableSource:
    """A Supabase table or view (`schema.name` allowed), read through PostgREST in `id` order.

    Pages of `page_size` rows are asked for until a page comes back short. PostgREST's
    `db-max-rows` (1000 on Supabase) caps a page: `page_size` must not exceed it, or a capped
    page would read as the last one.
    """

    kind = "table"

    def __init__(
        self,
        url: str,
        service_role_key: SecretStr,
        table: str,
        page_size: int = 1000,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.url = url
        self._key = service_role_key
        self.table = table
        self.page_size = page_size
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:
        return f"SupabaseTableSource(url={self.url!r}, table={self.table!r})"

    async def load(self) -> Sequence[object]:
        """Every row of the table, page by page."""
        status = _LastStatus()
        async with _http_client(self.timeout_seconds, status) as http:
            try:
                client = AsyncClient(
                    self.url, self._key.get_secret_value(), options=client_options(http)
                )
            except AsyncSupabaseException:
                raise SourceError(f"{self.url!r} is not a Supabase project URL") from None
            try:
                return await self._pages(client)
            except APIError as exc:
                raise SourceError(self._api_problem(exc, status.code)) from None
            except TRANSPORT_ERRORS as exc:
                message = failure_from_transport_error(exc, "Supabase").message
                raise SourceError(
                    f"cannot read organizations table {self.table}: {message}"
                ) from None
            except ValueError:  # a 2xx body the SDK could not parse
                raise SourceError(self._not_rows()) from None

    async def _pages(self, client: AsyncClient) -> list[object]:
        schema, _, name = self.table.rpartition(".")
        # Accept-Profile picks the schema; the schema must be exposed in the project's API.
        rest = client.schema(schema) if schema else client.postgrest
        rows: list[object] = []
        while True:
            start = len(rows)
            query = rest.table(name).select("*").order("id")
            page = (await query.range(start, start + self.page_size - 1).execute()).data
            if not isinstance(page, list):
                raise SourceError(self._not_rows())
            rows.extend(page)
            if len(page) < self.page_size:
                return rows

    def _api_problem(self, exc: APIError, http_status: int) -> str:
        if isinstance(exc.__cause__, ValueError):  # postgrest-py could not read the error body
            return (
                f"Supabase answered HTTP {http_status} reading {self.table}, and not as PostgREST"
            )
        said = exc.message or "no message"
        if exc.code in ("PGRST205", "42P01"):
            return f"Supabase has no table or view {self.table!r}: {said}"
        code = f" ({exc.code})" if exc.code else ""
        problem = f"Supabase answered HTTP {http_status} reading {self.table}: {said}{code}"
        return Redactor([self._key.get_secret_value()]).scrub(problem)

    def _not_rows(self) -> str:
        return f"Supabase answered a read of {self.table} with a body that is not JSON rows"


class _LastStatus:
    """The HTTP status of the last response: PostgREST errors do not carry it."""

    def __init__(self) -> None:
        self.code = 0

    async def __call__(self, response: httpx.Response) -> None:
        self.code = response.status_code


def _http_client(timeout_seconds: float, status: _LastStatus) -> httpx.AsyncClient:
    # As `new_http_client`, with a cap for pages of rows rather than for one health answer.
    return httpx.AsyncClient(
        transport=CappedTransport(limit=MAX_PAGE_BYTES),
        timeout=httpx.Timeout(timeout_seconds),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        event_hooks={"response": [status]},
    )
