"""Database, Supabase mode: the supabase SDK against a fake PostgREST on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason, Status
from monitor.checks.supabase import SupabaseCheck, SupabaseSettings
from tests.checks import misbehaviours
from tests.checks.misbehaviours import CHECK_TIMEOUT, SLOW_CHECK_TIMEOUT
from tests.fakes.providers import (
    CANARIES,
    HEALTH_TABLE,
    REST_ROOT,
    TABLE_PATH,
    postgrest_error,
    postgrest_root,
    postgrest_rows,
)
from tests.fakes.server import FakeServer, Reply

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


async def failure_of(check: SupabaseCheck) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        await check.run()
    return raised.value


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


# --- misbehaving upstreams ----------------------------------------------------------------


@PROBES
async def test_supabase__proxy_html_page(fake_server: FakeServer, table: str | None) -> None:
    """An HTML 502 page from the gateway is an invalid response that names the status."""
    failure = await failure_for(fake_server, misbehaviours.proxy_error_page(), table=table)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "502" in failure.message


@PROBES
async def test_supabase__html_page_with_200(fake_server: FakeServer, table: str | None) -> None:
    """An HTML page served as 200 (a captive portal, a misrouted proxy) is an invalid response."""
    failure = await failure_for(fake_server, misbehaviours.proxy_error_page(200), table=table)

    assert failure.reason is Reason.INVALID_RESPONSE


@PROBES
async def test_supabase__truncated_json(fake_server: FakeServer, table: str | None) -> None:
    """A complete 200 whose JSON is cut short is an invalid response."""
    failure = await failure_for(fake_server, misbehaviours.truncated_json(), table=table)

    assert failure.reason is Reason.INVALID_RESPONSE


@PROBES
async def test_supabase__connection_closed_mid_body(
    fake_server: FakeServer, table: str | None
) -> None:
    """Supabase closing the connection halfway through the body is a connection error."""
    failure = await failure_for(fake_server, misbehaviours.closed_mid_body(), table=table)

    assert failure.reason is Reason.CONNECTION


@PROBES
async def test_supabase__body_over_cap(fake_server: FakeServer, table: str | None) -> None:
    """A 2 MB answer is an invalid response."""
    failure = await failure_for(fake_server, misbehaviours.oversized_json(), table=table)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "larger than" in failure.message


@PROBES
async def test_supabase__gzip_bomb(fake_server: FakeServer, table: str | None) -> None:
    """A small gzip body that inflates past the cap is an invalid response."""
    failure = await failure_for(fake_server, misbehaviours.gzip_bomb(), table=table)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "larger than" in failure.message


@PROBES
async def test_supabase__undecodable_gzip(fake_server: FakeServer, table: str | None) -> None:
    """A body labelled gzip that is not gzip is an invalid response, not a crash."""
    failure = await failure_for(fake_server, misbehaviours.mislabelled_gzip(), table=table)

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "gzip body that does not decode" in failure.message


@PROBES
async def test_supabase__slow_upstream(fake_server: FakeServer, table: str | None) -> None:
    """Supabase answering after the timeout is a timeout error."""
    reply = postgrest_rows() if table else postgrest_root()
    fake_server.route(TABLE_PATH if table else REST_ROOT, misbehaviours.slow(reply))

    failure = await failure_of(
        supabase_check(fake_server.url, table=table, timeout=SLOW_CHECK_TIMEOUT)
    )

    assert failure.reason is Reason.TIMEOUT


@PROBES
async def test_supabase__connection_refused(table: str | None) -> None:
    """Nothing listening at the project URL is a connection error."""
    failure = await failure_of(supabase_check(misbehaviours.refused_url(), table=table))

    assert failure.reason is Reason.CONNECTION
