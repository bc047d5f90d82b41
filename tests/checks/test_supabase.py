"""Database, Supabase mode: the supabase SDK against a fake PostgREST on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason, Status
from monitor.checks.supabase import SupabaseCheck, SupabaseSettings
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.providers import (
    CANARIES,
    HEALTH_TABLE,
    REST_ROOT,
    TABLE_PATH,
    postgrest_error,
)
from tests.fakes.server import FakeServer, Reply
from tests.support.checks import failure_of

SERVICE_ROLE_KEY = CANARIES["SUPABASE_SERVICE_ROLE_KEY"]


def supabase_check(
    base_url: str | None,
    *,
    key: str | None = SERVICE_ROLE_KEY,
    table: str | None = HEALTH_TABLE,
    timeout: float = CHECK_TIMEOUT,
) -> SupabaseCheck:
    settings = SupabaseSettings(
        url=base_url,
        service_role_key=SecretStr(key) if key is not None else None,
        health_table=table,
    )
    return SupabaseCheck(settings, timeout_seconds=timeout)


async def failure_for(
    fake_server: FakeServer, reply: Reply, *, table: str | None = HEALTH_TABLE
) -> CheckFailed:
    fake_server.route(TABLE_PATH if table else REST_ROOT, reply)
    return await failure_of(supabase_check(fake_server.url, table=table))


# Both probes: the one-row select on the health table, and the PostgREST root without one.
PROBES = pytest.mark.parametrize("table", [HEALTH_TABLE, None], ids=["table", "root"])


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [(None, SERVICE_ROLE_KEY), ("", SERVICE_ROLE_KEY), ("http://127.0.0.1:9", None)],
    ids=["url-unset", "url-empty", "key-unset"],
)
async def test_supabase__not_configured(url: str | None, key: str | None) -> None:
    """Without the project URL or the service-role key, Supabase is not configured."""
    outcome = await supabase_check(url, key=key).run()

    assert outcome.status is Status.NOT_CONFIGURED
    assert "SUPABASE_URL" in outcome.message
    assert "SUPABASE_SERVICE_ROLE_KEY" in outcome.message


# --- healthy projects ---------------------------------------------------------------------


async def test_supabase__table_select(fake_server: FakeServer) -> None:
    """A project that answers the one-row select shows as connected, naming the table."""
    outcome = await supabase_check(fake_server.url).run()

    assert outcome == Outcome.connected(f"Supabase answered a one-row select on {HEALTH_TABLE}")
    (request,) = fake_server.requests_to(TABLE_PATH)
    assert request.query == {"select": ["*"], "limit": ["1"]}
    assert request.headers["apikey"] == SERVICE_ROLE_KEY
    assert request.headers["authorization"] == f"Bearer {SERVICE_ROLE_KEY}"


async def test_supabase__table_in_schema(fake_server: FakeServer) -> None:
    """schema.table selects from the table in that schema, through PostgREST's Accept-Profile."""
    outcome = await supabase_check(fake_server.url, table=f"analytics.{HEALTH_TABLE}").run()

    assert outcome == Outcome.connected(
        f"Supabase answered a one-row select on analytics.{HEALTH_TABLE}"
    )
    (request,) = fake_server.requests_to(TABLE_PATH)
    assert request.headers["accept-profile"] == "analytics"
    assert request.query == {"select": ["*"], "limit": ["1"]}


async def test_supabase__table_in_schema_missing(fake_server: FakeServer) -> None:
    """A schema.table PostgREST does not know is not_found, and the message names schema.table."""
    reply = postgrest_error(
        404, "PGRST205", f"Could not find the table 'analytics.{HEALTH_TABLE}' in the schema cache"
    )
    fake_server.route(TABLE_PATH, reply)

    failure = await failure_of(supabase_check(fake_server.url, table=f"analytics.{HEALTH_TABLE}"))

    assert failure.reason is Reason.NOT_FOUND
    assert f"analytics.{HEALTH_TABLE}" in failure.message.split(":")[0]
    (request,) = fake_server.requests_to(TABLE_PATH)
    assert request.headers["accept-profile"] == "analytics"


async def test_supabase__rest_root(fake_server: FakeServer) -> None:
    """Without a health table, a project whose REST root answers shows as connected."""
    outcome = await supabase_check(fake_server.url, table=None).run()

    assert outcome.status is Status.CONNECTED
    (request,) = fake_server.requests_to(REST_ROOT)
    assert request.headers["apikey"] == SERVICE_ROLE_KEY
    assert request.headers["authorization"] == f"Bearer {SERVICE_ROLE_KEY}"
    assert fake_server.requests_to(TABLE_PATH) == []


# --- PostgREST errors ---------------------------------------------------------------------


@PROBES
async def test_supabase__bad_key(fake_server: FakeServer, table: str | None) -> None:
    """A rejected service-role key is an auth error."""
    reply = Reply.json(401, {"message": "Invalid API key", "hint": "Double check your key."})

    failure = await failure_for(fake_server, reply, table=table)

    assert failure.reason is Reason.AUTH
    assert "Invalid API key" in failure.message


async def test_supabase__expired_jwt(fake_server: FakeServer) -> None:
    """PostgREST's own JWT error (401 with a PGRST code) is an auth error."""
    failure = await failure_for(fake_server, postgrest_error(401, "PGRST301", "JWT expired"))

    assert failure.reason is Reason.AUTH
    assert failure.details == {"code": "PGRST301"}


@pytest.mark.parametrize("code", ["PGRST205", "42P01"])
async def test_supabase__table_missing(fake_server: FakeServer, code: str) -> None:
    """A health table that does not exist is not_found, and the message names the table."""
    reply = postgrest_error(
        404,
        code,
        f"Could not find the table 'public.{HEALTH_TABLE}' in the schema cache",
        hint="Perhaps you meant the table 'public.health'",
    )

    failure = await failure_for(fake_server, reply)

    assert failure.reason is Reason.NOT_FOUND
    assert HEALTH_TABLE in failure.message
    assert failure.details == {"code": code}


@PROBES
@pytest.mark.parametrize("status", [500, 503])
async def test_supabase__server_error(
    fake_server: FakeServer, table: str | None, status: int
) -> None:
    """A PostgREST error sent as HTTP 5xx is an upstream error."""
    reply = postgrest_error(status, "PGRST000", "Could not connect with the database")

    failure = await failure_for(fake_server, reply, table=table)

    assert failure.reason is Reason.UPSTREAM_ERROR
    assert "Could not connect with the database" in failure.message


async def test_supabase_root__large_api_description_is_not_read(fake_server: FakeServer) -> None:
    """A project whose REST root describes hundreds of tables (2 MB) is still connected."""
    description = {"swagger": "2.0", "paths": {f"/table_{i}": {"get": {}} for i in range(60000)}}
    fake_server.route(
        REST_ROOT,
        Reply.json(200, description, {"Content-Type": "application/openapi+json; charset=utf-8"}),
    )

    outcome = await supabase_check(fake_server.url, table=None).run()

    assert outcome.status is Status.CONNECTED
