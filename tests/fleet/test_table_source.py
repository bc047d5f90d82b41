"""Organizations from a Supabase table, through the supabase SDK, against a fake PostgREST."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from monitor.fleet.sources import SourceError
from monitor.fleet.table_source import SupabaseTableSource
from tests.fakes.postgrest import FakePostgrest, Row
from tests.fakes.server import FakeServer, Reply

KEY = "canary-fleet-service-role-7b2c"


@pytest.fixture
def postgrest() -> Iterator[FakePostgrest]:
    """A fake PostgREST on 127.0.0.1 that knows the service-role key."""
    server = FakeServer().start()
    yield FakePostgrest(server, KEY)
    server.stop()


def organizations(count: int) -> list[Row]:
    # Out of order on purpose: pages must come back in id order.
    return [{"id": f"org-{n:05d}", "name": f"Org {n}"} for n in reversed(range(count))]


def source(postgrest: FakePostgrest, table: str, page_size: int = 1000) -> SupabaseTableSource:
    return SupabaseTableSource(
        postgrest.server.url, SecretStr(KEY), table, page_size=page_size, timeout_seconds=5
    )


def offsets(postgrest: FakePostgrest, path: str) -> list[tuple[str, str]]:
    requests = postgrest.server.requests_to(path)
    return [(r.query["offset"][0], r.query["limit"][0]) for r in requests]


async def failure(table_source: SupabaseTableSource) -> str:
    with pytest.raises(SourceError) as raised:
        await table_source.load()
    return str(raised.value)


async def test_table_source__pages_until_a_short_page(postgrest: FakePostgrest) -> None:
    """2500 rows at 1000 a page are three requests, in id order, every column selected."""
    path = postgrest.table("organizations", organizations(2500))

    rows = await source(postgrest, "organizations").load()

    assert [row["id"] for row in rows] == [f"org-{n:05d}" for n in range(2500)]  # type: ignore[index]
    assert offsets(postgrest, path) == [("0", "1000"), ("1000", "1000"), ("2000", "1000")]
    for request in postgrest.server.requests_to(path):
        assert request.query["select"] == ["*"]
        assert request.query["order"] == ["id.asc"]
        assert request.headers["apikey"] == KEY


async def test_table_source__exact_multiple_ends_on_an_empty_page(postgrest: FakePostgrest) -> None:
    """When the rows fill whole pages, one more request sees the empty page and stops."""
    path = postgrest.table("organizations", organizations(6))

    rows = await source(postgrest, "organizations", page_size=3).load()

    assert len(rows) == 6
    assert offsets(postgrest, path) == [("0", "3"), ("3", "3"), ("6", "3")]


async def test_table_source__schema_in_accept_profile(postgrest: FakePostgrest) -> None:
    """`schema.name` reads the table from that schema: Accept-Profile carries it."""
    path = postgrest.table("organizations", organizations(3), schema="fleet")
    postgrest.table("organizations_public", organizations(1))

    rows = await source(postgrest, "fleet.organizations").load()

    assert len(rows) == 3
    (request,) = postgrest.server.requests_to(path)
    assert request.headers["accept-profile"] == "fleet"


async def test_table_source__no_schema_reads_public(postgrest: FakePostgrest) -> None:
    """A bare table name reads the default schema."""
    path = postgrest.table("organizations", organizations(2))

    assert len(await source(postgrest, "organizations").load()) == 2
    (request,) = postgrest.server.requests_to(path)
    assert request.headers.get("accept-profile", "public") == "public"


async def test_table_source__pages_larger_than_a_check_answer(postgrest: FakePostgrest) -> None:
    """A full page of wide rows (over a check's 1 MiB cap) still loads."""
    wide = [{"id": f"org-{n:04d}", "notes": "x" * 2000} for n in range(1000)]
    postgrest.table("organizations", wide)

    rows = await source(postgrest, "organizations").load()

    assert len(rows) == 1000


async def test_table_source__missing_table(postgrest: FakePostgrest) -> None:
    """A table PostgREST does not have is a plain error naming it."""
    postgrest.route("orgs")

    message = await failure(source(postgrest, "orgs"))

    assert message.startswith("Supabase has no table or view 'orgs': Could not find the table")


async def test_table_source__schema_not_exposed(postgrest: FakePostgrest) -> None:
    """A schema the project does not expose says so, with PostgREST's code."""
    postgrest.route("organizations")

    message = await failure(source(postgrest, "private.organizations"))

    assert "HTTP 406" in message
    assert "Invalid schema: private" in message
    assert "PGRST106" in message


async def test_table_source__wrong_key(postgrest: FakePostgrest) -> None:
    """A wrong service-role key is an error that does not repeat the key."""
    postgrest.route("organizations")
    wrong = "canary-wrong-service-role-1d9e"
    table_source = SupabaseTableSource(postgrest.server.url, SecretStr(wrong), "organizations")

    message = await failure(table_source)

    assert "HTTP 401" in message
    assert wrong not in message
    assert KEY not in message


@pytest.mark.parametrize(
    "reply",
    [Reply.html(502, "<html><body>Bad gateway</body></html>"), Reply(200, b"<html>", {})],
    ids=["proxy-error-page", "html-200"],
)
async def test_table_source__not_postgrest(postgrest: FakePostgrest, reply: Reply) -> None:
    """A proxy's HTML page, on an error or a 200, is a plain error, not a crash."""
    postgrest.server.route("/rest/v1/organizations", reply)

    message = await failure(source(postgrest, "organizations"))

    assert "organizations" in message
    assert "<html" not in message


async def test_table_source__unreachable() -> None:
    """A project that cannot be reached is a plain error."""
    server = FakeServer()  # a free port that nothing listens on

    message = await failure(SupabaseTableSource(server.url, SecretStr(KEY), "organizations"))

    assert message == "cannot read organizations table organizations: could not connect to Supabase"


async def test_table_source__not_a_project_url() -> None:
    """A URL the SDK refuses is a plain error, not an exception from the SDK."""
    message = await failure(SupabaseTableSource("db.example", SecretStr(KEY), "organizations"))

    assert message == "'db.example' is not a Supabase project URL"


def test_table_source__repr_without_key() -> None:
    """Printing the source never shows the service-role key."""
    table_source = SupabaseTableSource("https://p.supabase.co", SecretStr(KEY), "organizations")

    assert KEY not in repr(table_source)
    assert "organizations" in repr(table_source)
