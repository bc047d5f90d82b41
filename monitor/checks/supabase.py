"""Database, Supabase mode: the supabase SDK's async client over our capped httpx client."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from postgrest import AsyncRequestBuilder
from postgrest.exceptions import APIError
from pydantic import SecretStr
from supabase import AsyncClient, AsyncClientOptions

from monitor.checks.base import (
    CheckFailed,
    InvalidResponse,
    Outcome,
    Reason,
    reason_for_http_status,
)
from monitor.checks.transport import (
    TRANSPORT_ERRORS,
    content_kind,
    failure_from_transport_error,
    new_http_client,
    parse_json_body,
    rate_limited,
    unavailable_for,
    unexpected_body,
)

PROVIDER = "Supabase"
_MISSING_TABLE_CODES = frozenset({"PGRST205", "42P01"})


@dataclass(frozen=True)
class SupabaseSettings:
    """The project, its service-role key and, optionally, a table to read one row from."""

    url: str | None
    service_role_key: SecretStr | None = field(repr=False)
    health_table: str | None = None


class _LastResponse:
    """Remembers the status and headers of the last response; PostgREST errors carry neither."""

    def __init__(self) -> None:
        self.status = 0
        self.headers = httpx.Headers()

    async def __call__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = response.headers


class SupabaseCheck:
    """Selects one row from the health table, or asks PostgREST for its root."""

    def __init__(self, settings: SupabaseSettings, timeout_seconds: float) -> None:
        self._settings = settings
        self._timeout = timeout_seconds

    async def run(self) -> Outcome:
        """Reach the project's REST API with the service-role key."""
        url, key = self._settings.url, self._settings.service_role_key
        if not url or key is None:
            return Outcome.not_configured(
                "Supabase is not configured: SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are needed"
            )
        last = _LastResponse()
        async with new_http_client(self._timeout, event_hooks={"response": [last]}) as http:
            client = AsyncClient(url, key.get_secret_value(), options=client_options(http))
            try:
                return await self._probe(client, http)
            except APIError as exc:
                raise postgrest_failure(exc, last, self._settings.health_table) from None
            except TRANSPORT_ERRORS as exc:
                raise failure_from_transport_error(exc, PROVIDER) from exc
            except ValueError as exc:  # a 2xx body the SDK could not parse
                raise InvalidResponse(f"{PROVIDER} answered with a body it never sends") from exc

    async def _probe(self, client: AsyncClient, http: httpx.AsyncClient) -> Outcome:
        table = self._settings.health_table
        if table:
            selected = await _from_table(client, table).select("*").limit(1).execute()
            # postgrest-py hands back a 2xx body it cannot parse as text instead of raising.
            if not isinstance(selected.data, list):
                raise InvalidResponse(
                    f"{PROVIDER} answered the select on {table} with a body that is not JSON rows"
                )
            return Outcome.connected(f"Supabase answered a one-row select on {table}")
        # The root answers with the OpenAPI description of every table: large on a large
        # project, and not needed. The status says enough; only an error body is read.
        async with http.stream("GET", f"{client.rest_url}/", headers=client.options.headers) as r:
            kind = r.headers.get("Content-Type", "").split(";")[0].strip()
            if r.status_code == 200 and kind.endswith("json"):
                return Outcome.connected("Supabase REST API answered with the service-role key")
            if r.status_code == 200:
                raise InvalidResponse(
                    f"{PROVIDER} answered HTTP 200 with a body that is not JSON"
                    f" ({kind or 'no content type'})"
                )
            await r.aread()
        body = parse_json_body(r, PROVIDER)
        raise APIError(body if isinstance(body, dict) else {"message": str(body)})


def _from_table(client: AsyncClient, table: str) -> AsyncRequestBuilder:
    """A query on `table`, or on `schema.table` in that schema.

    PostgREST takes the schema from the Accept-Profile header, not the path: a dotted name in
    the path is answered 404. https://docs.postgrest.org/en/stable/references/api/schemas.html
    """
    schema, dot, name = table.partition(".")
    if not dot:
        return client.table(table)
    return client.schema(schema).from_(name)


def client_options(http: httpx.AsyncClient) -> AsyncClientOptions:
    """The supabase client over our HTTP client, with nothing retried or kept between uses."""
    # The monitor owns retries and sessions.
    return AsyncClientOptions(
        httpx_client=http,
        postgrest_client_retry=False,
        auto_refresh_token=False,
        persist_session=False,
    )


def postgrest_failure(exc: APIError, last: _LastResponse, table: str | None) -> CheckFailed:
    """Map a PostgREST error (with the HTTP status and headers seen) to a failure."""
    http_status = last.status
    if http_status == 429:
        return rate_limited(PROVIDER, last.headers)
    if isinstance(exc.__cause__, ValueError) or exc.code == str(http_status):
        # postgrest-py fills in the HTTP status as code when the body was not PostgREST JSON.
        kind = content_kind(last.headers)
        return unexpected_body(
            PROVIDER,
            http_status,
            last.headers,
            f"with a body that is not a PostgREST error ({kind})",
        )
    said = exc.message or "no message"
    if exc.code in _MISSING_TABLE_CODES:
        return CheckFailed(
            Reason.NOT_FOUND, f"Supabase has no table {table!r}: {said}", {"code": exc.code}
        )
    details = {"code": exc.code} if exc.code else {}
    return CheckFailed(
        reason_for_http_status(http_status),
        f"Supabase: {said}",
        details,
        retry_after=unavailable_for(http_status, last.headers),
    )
