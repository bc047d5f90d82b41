"""Phone numbers and webhook subscriptions across the fleet (contract §11): the real daemon, an
organization file, a fake Graph API on loopback answering in the documented shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes.graph_numbers import (
    APP_ID,
    OTHER_APP_ID,
    numbers_edge,
    phone_number,
    subscribed_apps,
    subscribed_apps_path,
    with_numbers,
)
from tests.fakes.providers import graph_error
from tests.fakes.server import FakeServer, Reply
from tests.fleet.organizations_fake import (
    fleet_env,
    healthy_account,
    organization,
    requests_to,
    serve_fleet,
    waba_path,
    write_organizations,
)
from tests.fleet.windows import most_in_any_window
from tests.support.daemon import Daemon, running_daemon, wait_for
from tests.support.promtool import check_metrics

QUIET = {"MONITOR_ORGANIZATION_INTERVAL_SECONDS": "3600"}


def serve_subscribed(server: FakeServer, rows: list[dict[str, Any]], *apps: str) -> None:
    """Every organization's WABA subscribes `apps` to its webhooks."""
    for row in rows:
        server.route(subscribed_apps_path(waba_path(row)), subscribed_apps(*apps))


def sample(daemon: Daemon, series: str) -> float:
    """The value of one series (name and labels as exported) on /metrics."""
    for line in daemon.get("/metrics").text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} is not exported")


def test_fleet_numbers__metrics_sum_organizations_whose_numbers_differ(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Five organizations, five situations: the sums, the reasons and the request count add up."""
    rows = [organization(n) for n in range(5)]
    serve_fleet(fake_server, rows)
    serve_subscribed(fake_server, rows, APP_ID)
    two = numbers_edge(phone_number(0, quality="RED"), phone_number(1, quality="YELLOW"))
    banned = numbers_edge(phone_number(0, status="BANNED", quality="NA"))
    fake_server.route(waba_path(rows[1]), with_numbers(healthy_account(rows[1]), two))
    fake_server.route(subscribed_apps_path(waba_path(rows[1])), subscribed_apps(OTHER_APP_ID))
    fake_server.route(waba_path(rows[2]), with_numbers(healthy_account(rows[2]), banned))
    fake_server.route(waba_path(rows[3]), with_numbers(healthy_account(rows[3]), None))
    fake_server.route(waba_path(rows[4]), graph_error(190, "Error validating access token", 401))
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(
        fake_server, orgs, **QUIET, MONITOR_INTEGRATIONS="whatsapp", WHATSAPP_APP_ID=APP_ID
    )
    with running_daemon(env) as daemon:
        for row in rows:
            refreshed = daemon.post(f"/api/organizations/{row['id']}/integrations/refresh")
            assert refreshed.status_code == 200
        misconfigured = daemon.get("/api/organizations/org-0001/integrations/status").json()[
            "integrations"
        ]["whatsapp"]
        quality = {
            q: sample(daemon, f'integration_organization_whatsapp_phone_numbers{{quality="{q}"}}')
            for q in ("GREEN", "YELLOW", "RED", "UNKNOWN")
        }
        without = sample(daemon, "integration_organizations_without_sendable_number")
        errors = {
            reason: sample(
                daemon,
                f'integration_organization_errors{{integration="whatsapp",reason="{reason}"}}',
            )
            for reason in ("misconfigured", "blocked", "not_found", "auth")
        }
        graph_requests = 'integration_provider_requests_total{integration="whatsapp"}'
        sent = wait_for(
            lambda: (
                sample(daemon, graph_requests) == len(requests_to(fake_server, "/v25.0/"))
                and sample(daemon, graph_requests)
            )
        )
        exposition = daemon.get("/metrics").text
    assert misconfigured["reason"] == "misconfigured"
    assert "incoming messages would never arrive" in misconfigured["message"]
    assert quality == {"GREEN": 1, "YELLOW": 1, "RED": 1, "UNKNOWN": 1}
    assert without == 2
    assert errors == dict.fromkeys(errors, 1.0)
    # Two requests for the two accounts that passed, one for each of the three that did not.
    assert sent == 7
    assert [r.path for r in requests_to(fake_server, "/v25.0/") if "subscribed" in r.path] == [
        subscribed_apps_path(waba_path(rows[0])),
        subscribed_apps_path(waba_path(rows[1])),
    ]
    done = check_metrics(exposition)
    assert (done.returncode, done.stdout.strip(), done.stderr.strip()) == (0, "", "")


def test_fleet_numbers__two_requests_per_check_stay_within_budget(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """With WHATSAPP_APP_ID, 20 organizations every 2 s at 4 requests/s: never 5 in a second,
    and the round stretches to 20 x 2 / 4 = 10 s, as the warning says."""
    rows = [organization(n) for n in range(20)]
    serve_fleet(fake_server, rows)
    serve_subscribed(fake_server, rows, APP_ID)
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(
        fake_server,
        orgs,
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="2",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
        MONITOR_WHATSAPP_MAX_RPS="4",
        MONITOR_INTEGRATIONS="whatsapp",
        WHATSAPP_APP_ID=APP_ID,
    )
    with running_daemon(env) as daemon:
        wait_for(lambda: len(requests_to(fake_server, "/v25.0/")) >= 30, timeout=20)
        stretched = daemon.events("fleet.round_stretched")
    sent = requests_to(fake_server, "/v25.0/")
    assert most_in_any_window([r.received_at for r in sent]) <= 4
    accounts = [r for r in sent if not r.path.endswith("/subscribed_apps")]
    subscriptions = [r for r in sent if r.path.endswith("/subscribed_apps")]
    assert len(accounts) - len(subscriptions) in (0, 1)  # the last check may be half done
    assert len(stretched) == 1
    assert stretched[0]["requests_per_check"] == 2
    assert stretched[0]["round_seconds"] == 10.0


def test_fleet_numbers__rate_limit_on_subscribed_apps_holds_every_graph_check(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Graph code 4 (application-wide) with Retry-After: 3 on the second request: no Graph
    check starts until the wait is over, as after one on the first request."""
    rows = [organization(n) for n in range(8)]
    serve_fleet(fake_server, rows)
    serve_subscribed(fake_server, rows, APP_ID)
    limited = graph_error(4, "Application request limit reached")
    fake_server.route(
        subscribed_apps_path(waba_path(rows[0])),
        Reply(limited.status, limited.body, {**limited.headers, "Retry-After": "3"}),
    )
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(
        fake_server,
        orgs,
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="2",
        MONITOR_CHECK_TIMEOUT_SECONDS="1",
        MONITOR_INTEGRATIONS="whatsapp",
        WHATSAPP_APP_ID=APP_ID,
    )
    limited_path = subscribed_apps_path(waba_path(rows[0]))
    with running_daemon(env) as daemon:
        wait_for(lambda: fake_server.requests_to(limited_path), timeout=10)
        limited_at = fake_server.requests_to(limited_path)[0].received_at
        wait_for(
            lambda: [
                r for r in requests_to(fake_server, "/v25.0/") if r.received_at > limited_at + 3
            ],
            timeout=15,
        )
        status = daemon.get("/api/organizations/org-0000/integrations/status").json()
    # Checks already under way when the answer came may finish; none starts during the hold.
    during_hold = [
        r
        for r in requests_to(fake_server, "/v25.0/")
        if limited_at + 0.5 < r.received_at < limited_at + 2.9
    ]
    assert during_hold == []
    assert status["integrations"]["whatsapp"]["reason"] == "rate_limited"
    assert "subscribed apps" in status["integrations"]["whatsapp"]["message"]
