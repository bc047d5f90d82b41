"""Fleet mode end to end: the real daemon, an organization file, fake providers on loopback."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

from tests.fakes.providers import graph_error, stripe_error
from tests.fakes.server import FakeServer, Reply
from tests.fleet.organizations_fake import (
    PLATFORM_TOKEN,
    customer_path,
    fleet_env,
    healthy_fleet,
    organization,
    requests_to,
    serve_fleet,
    waba_path,
    write_organizations,
)
from tests.fleet.windows import most_in_any_window
from tests.support.daemon import Daemon, running_daemon, wait_for
from tests.support.postgres import PostgresServer
from tests.support.promtool import check_metrics

# Long enough that nothing is due during a test unless a test makes it so.
QUIET = {"MONITOR_ORGANIZATION_INTERVAL_SECONDS": "3600"}


def summary(daemon: Daemon) -> dict[str, object]:
    response = daemon.get("/api/organizations/summary")
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def organization_status(daemon: Daemon, organization_id: str) -> httpx.Response:
    return daemon.get(f"/api/organizations/{organization_id}/integrations/status")


def test_fleet__pending_until_checked_then_refresh_checks_within_budget(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Before its first check an organization is pending; a refresh checks it at once."""
    rows, orgs = healthy_fleet(fake_server, tmp_path, 3)
    with running_daemon(fleet_env(fake_server, orgs, **QUIET)) as daemon:
        pending = organization_status(daemon, "org-0001").json()
        assert pending["integrations"]["whatsapp"] == {
            "status": "pending",
            "message": "not checked yet",
            "healthy": False,
        }
        assert pending["overall_status"] == "partial"
        refreshed = daemon.post("/api/organizations/org-0001/integrations/refresh")
        assert refreshed.status_code == 200
        body = refreshed.json()
        assert body["integrations"]["whatsapp"]["status"] == "connected"
        assert body["integrations"]["stripe"]["status"] == "connected"
        assert body["overall_status"] == "healthy"
        assert len(requests_to(fake_server, waba_path(rows[1]))) == 1


def test_fleet__unknown_organization_is_404_and_lists_are_paged(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """An unknown id is a plain 404; the list pages in id order with a cursor and a total."""
    _, orgs = healthy_fleet(fake_server, tmp_path, 5)
    with running_daemon(fleet_env(fake_server, orgs, **QUIET)) as daemon:
        missing = organization_status(daemon, "no-such-org")
        assert (missing.status_code, missing.json()) == (404, {"error": "unknown organization"})
        first = daemon.get("/api/organizations", params={"limit": 2}).json()
        assert [o["id"] for o in first["organizations"]] == ["org-0000", "org-0001"]
        assert (first["total"], first["next_cursor"]) == (5, "org-0001")
        rest = daemon.get("/api/organizations", params={"limit": 10, "cursor": "org-0001"}).json()
        assert [o["id"] for o in rest["organizations"]] == ["org-0002", "org-0003", "org-0004"]
        assert rest["next_cursor"] is None
        assert daemon.get("/api/organizations", params={"limit": 1001}).status_code == 400
        pending = daemon.get(
            "/api/organizations", params={"integration": "whatsapp", "status": "pending"}
        ).json()
        assert pending["total"] == 5


def test_fleet__bad_rows_skipped_and_reload_on_sighup(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Bad rows are skipped and counted; SIGHUP adds and removes, and new ones are checked first."""
    rows = [organization(0), organization(1), {"id": "org-0001"}, {"name": "no id"}]
    added = organization(7)
    serve_fleet(fake_server, [organization(0), organization(1), added])
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    with running_daemon(fleet_env(fake_server, orgs, **QUIET)) as daemon:
        first = summary(daemon)
        assert first["organizations"] == 2
        assert first["source"] == {  # type: ignore[comparison-overlap]
            "kind": "file",
            "last_success": first["source"]["last_success"],  # type: ignore[index]
            "invalid_rows": 2,
        }
        problems = {e["problem"] for e in daemon.events("organizations.row_skipped")}
        assert "duplicate id" in problems
        write_organizations(orgs, [organization(0), added])
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: organization_status(daemon, "org-0001").status_code == 404)
        assert organization_status(daemon, "org-0007").status_code == 200
        # Added by a reload: checked at once, not at its place in an hour-long round.
        wait_for(lambda: requests_to(fake_server, waba_path(added)), timeout=10)
        assert summary(daemon)["organizations"] == 2


def test_fleet__organization_token_is_sent_and_never_shown(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Each organization's own token goes to Meta; an error echoing it is scrubbed everywhere."""
    own_token = "EAAGorganizationOwnToken99"
    row = organization(3, whatsapp_access_token=own_token)
    other = organization(4)
    serve_fleet(fake_server, [row, other])
    fake_server.route(
        waba_path(row), graph_error(190, f"Error validating access token {own_token}", 401)
    )
    orgs = write_organizations(tmp_path / "orgs.yaml", [row, other])
    with running_daemon(fleet_env(fake_server, orgs, **QUIET)) as daemon:
        for organization_id in ("org-0003", "org-0004"):
            assert daemon.post(
                f"/api/organizations/{organization_id}/integrations/refresh"
            ).is_success
        body = organization_status(daemon, "org-0003").text
        assert '"reason":"auth"' in body
        assert own_token not in body
        assert "[REDACTED]" in body
        listing = daemon.get("/api/organizations", params={"status": "error"}).text
        assert own_token not in listing
        assert own_token not in daemon.stderr()
        assert own_token not in daemon.get("/metrics").text
    sent = {
        r.path: r.headers["authorization"]
        for r in fake_server.requests
        if r.path in (waba_path(row), waba_path(other))
    }
    assert sent == {
        waba_path(row): f"Bearer {own_token}",
        waba_path(other): f"Bearer {PLATFORM_TOKEN}",
    }


def test_fleet__budget_holds_in_every_second_and_rounds_stretch(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """30 organizations every 2 s at 5 requests/s: never 6 in a second; the stretch is said."""
    _, orgs = healthy_fleet(fake_server, tmp_path, 30)
    env = fleet_env(
        fake_server,
        orgs,
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="2",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
        MONITOR_WHATSAPP_MAX_RPS="5",
        MONITOR_INTEGRATIONS="whatsapp",
    )
    with running_daemon(env) as daemon:
        wait_for(lambda: len(requests_to(fake_server, "/v25.0/")) >= 35, timeout=20)
        stretched = daemon.events("fleet.round_stretched")
    times = [r.received_at for r in requests_to(fake_server, "/v25.0/")]
    assert most_in_any_window(times) <= 5
    assert len(stretched) == 1
    assert stretched[0]["organizations"] == 30
    assert stretched[0]["round_seconds"] == 6.0


def test_fleet__first_round_is_spread_not_a_burst(fake_server: FakeServer, tmp_path: Path) -> None:
    """40 organizations due every 4 s with budget to spare: checks spread over the interval."""
    _, orgs = healthy_fleet(fake_server, tmp_path, 40)
    env = fleet_env(
        fake_server,
        orgs,
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="4",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
        MONITOR_WHATSAPP_MAX_RPS="100",
        MONITOR_INTEGRATIONS="whatsapp",
    )
    with running_daemon(env):
        wait_for(lambda: len(requests_to(fake_server, "/v25.0/")) >= 40, timeout=20)
    times = [r.received_at for r in requests_to(fake_server, "/v25.0/")][:40]
    # Evenly spread, a second holds about 10; a burst would put all 40 in one.
    assert most_in_any_window(times) <= 20
    assert max(times) - min(times) > 2


def test_fleet__stripe_429_holds_every_stripe_check(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """After a 429 with Retry-After: 3, no Stripe request goes out for any organization."""
    rows = [organization(n) for n in range(8)]
    serve_fleet(fake_server, rows)
    limited = stripe_error(429, "rate_limit_error", "Too many requests")
    fake_server.route(
        customer_path(rows[0]),
        Reply(limited.status, limited.body, {**limited.headers, "Retry-After": "3"}),
    )
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(
        fake_server,
        orgs,
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="2",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
        MONITOR_INTEGRATIONS="stripe",
    )
    with running_daemon(env) as daemon:
        wait_for(lambda: requests_to(fake_server, customer_path(rows[0])), timeout=10)
        limited_at = requests_to(fake_server, customer_path(rows[0]))[0].received_at
        wait_for(
            lambda: [
                r
                for r in requests_to(fake_server, "/v1/customers/")
                if r.received_at > limited_at + 3
            ],
            timeout=15,
        )
        status = organization_status(daemon, "org-0000").json()
    during_hold = [
        r
        for r in requests_to(fake_server, "/v1/customers/")
        if limited_at < r.received_at < limited_at + 2.9
    ]
    assert during_hold == []
    assert status["integrations"]["stripe"]["reason"] == "rate_limited"


def test_fleet__refresh_without_budget_in_time_is_503(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """A budget of one request per 10 s: the second refresh within it gets 503 and Retry-After."""
    _, orgs = healthy_fleet(fake_server, tmp_path, 2)
    env = fleet_env(
        fake_server,
        orgs,
        **QUIET,
        MONITOR_WHATSAPP_MAX_RPS="0.1",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
        MONITOR_INTEGRATIONS="whatsapp",
    )
    with running_daemon(env) as daemon:
        assert daemon.post("/api/organizations/org-0000/integrations/refresh").status_code == 200
        refused = daemon.post("/api/organizations/org-0001/integrations/refresh")
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "budget" in refused.json()["error"]


def test_fleet__an_organization_in_error_never_turns_the_platform_red(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """One organization's expired token shows in its answer, the summary and metrics only."""
    rows = [organization(n) for n in range(2)]
    serve_fleet(fake_server, rows)
    fake_server.route(waba_path(rows[0]), graph_error(190, "Error validating access token", 401))
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    with running_daemon(fleet_env(fake_server, orgs, **QUIET)) as daemon:
        assert daemon.post("/api/organizations/org-0000/integrations/refresh").is_success
        assert organization_status(daemon, "org-0000").json()["overall_status"] == "degraded"
        platform = daemon.get("/api/integrations/status").json()
        assert platform["overall_status"] != "degraded"
        assert daemon.get("/health").status_code == 200
        metrics = daemon.get("/metrics").text
        assert (
            'integration_organization_errors{integration="whatsapp",reason="auth"} 1.0' in metrics
        )
        assert 'integration_overall_status{status="degraded"} 0.0' in metrics


def test_fleet__organizations_from_an_sql_query_on_a_real_database(
    fake_server: FakeServer, postgres: PostgresServer
) -> None:
    """MONITOR_ORGANIZATIONS_QUERY on DATABASE_URL: the rows it returns are the fleet."""
    rows = [organization(n) for n in range(3)]
    serve_fleet(fake_server, rows)
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS fleet_daemon CASCADE")
        conn.execute("CREATE SCHEMA fleet_daemon")
        conn.execute(
            "CREATE TABLE fleet_daemon.orgs (id text PRIMARY KEY, name text,"
            " whatsapp_business_account_id text, stripe_customer_id text)"
        )
        for row in rows:
            conn.execute(
                "INSERT INTO fleet_daemon.orgs VALUES (%s, %s, %s, %s)",
                (
                    row["id"],
                    row["name"],
                    row["whatsapp_business_account_id"],
                    row["stripe_customer_id"],
                ),
            )
    env = fleet_env(fake_server, Path("unused"), **QUIET)
    del env["MONITOR_ORGANIZATIONS_FILE"]
    env |= {
        "MONITOR_ORGANIZATIONS_QUERY": "SELECT * FROM fleet_daemon.orgs",
        "DATABASE_URL": postgres.dsn(),
        "MONITOR_INTEGRATIONS": "whatsapp,stripe,database",
    }
    with running_daemon(env) as daemon:
        wait_for(lambda: summary(daemon)["organizations"] == 3)
        assert summary(daemon)["source"]["kind"] == "query"  # type: ignore[index]
        assert daemon.post("/api/organizations/org-0002/integrations/refresh").is_success
        body = organization_status(daemon, "org-0002").json()
        assert body["integrations"]["whatsapp"]["status"] == "connected"
        assert body["integrations"]["database"]["status"] == "connected"


def test_fleet__promtool_finds_nothing_in_fleet_metrics(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """The fleet exposition, per-organization error series included, is clean for promtool."""
    rows = [organization(n) for n in range(3)]
    serve_fleet(fake_server, rows)
    fake_server.route(waba_path(rows[0]), graph_error(190, "Error validating access token", 401))
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(fake_server, orgs, **QUIET, MONITOR_ORGANIZATION_METRICS="failing")
    with running_daemon(env) as daemon:
        assert daemon.post("/api/organizations/org-0000/integrations/refresh").is_success
        exposition = daemon.get("/metrics").text
    assert (
        'integration_organization_error{integration="whatsapp",organization="org-0000",'
        'reason="auth"} 1.0' in exposition
    )
    done = check_metrics(exposition)
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "", "")


def test_fleet__sigterm_during_an_organization_refresh_is_503_and_a_clean_exit(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """A refresh waiting on a hung provider when the daemon stops gets 503; exit 0, no error."""
    rows = [organization(0)]
    serve_fleet(fake_server, rows)
    fake_server.route(waba_path(rows[0]), Reply(hang=True))
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(fake_server, orgs, **QUIET, MONITOR_CHECK_TIMEOUT_SECONDS="20")
    with running_daemon(env) as daemon, ThreadPoolExecutor(1) as pool:
        pending = pool.submit(daemon.post, "/api/organizations/org-0000/integrations/refresh")
        wait_for(lambda: requests_to(fake_server, waba_path(rows[0])))
        started = time.monotonic()
        daemon.process.send_signal(signal.SIGTERM)
        answer = pending.result(timeout=10)
        assert daemon.process.wait(timeout=10) == 0
        stopped_in = time.monotonic() - started
        levels = {event.get("level") for event in daemon.events()}
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert stopped_in < 2.5
    assert "error" not in levels
    assert "Traceback" not in daemon.stderr()
