"""Being a good citizen: provider rate limits are honoured, retries are opt-in and counted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from prometheus_client import CollectorRegistry

from monitor.checks.base import Reason, Status
from monitor.config import load_settings
from monitor.daemon import build_runner
from monitor.metrics import MonitorMetrics
from monitor.redaction import Redactor
from monitor.runner import Runner
from monitor.service import Monitor
from monitor.store import SnapshotStore
from tests.checks import misbehaviours
from tests.fakes import providers
from tests.fakes.server import FakeServer, Reply, Request
from tests.support.clocks import FakeMonotonic


def with_headers(reply: Reply, **headers: str) -> Reply:
    return Reply(reply.status, reply.body, {**reply.headers, **headers})


def runner_for(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, clock: FakeMonotonic, **options: bool
) -> Runner:
    for name, value in providers.provider_env(server).items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    targets = build_runner(settings).targets
    return Runner(targets, 5, Redactor(settings.secret_values()), monotonic=clock, **options)


async def test_graph_rate_limit__next_check_waits_for_regain_access(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meta's estimated_time_to_regain_access holds WhatsApp back; the message says until when."""
    usage = {
        providers.WABA_ID: [
            {"type": "whatsapp", "call_count": 100, "estimated_time_to_regain_access": 2}
        ]
    }
    limited = providers.graph_error(80008, "There have been too many calls to this WABA", 400)
    fake_server.route(
        providers.WABA_PATH,
        with_headers(limited, **{"X-Business-Use-Case-Usage": json.dumps(usage)}),
    )
    clock = FakeMonotonic()
    runner = runner_for(fake_server, monkeypatch, clock)

    first = (await runner.run_cycle())["whatsapp"]
    assert first.reason is Reason.RATE_LIMITED
    assert "next attempt after" in first.outcome.message
    assert "next_attempt_at" in first.outcome.details
    requests = len(fake_server.requests_to(providers.WABA_PATH))

    clock.now += 60
    held = (await runner.run_cycle())["whatsapp"]
    assert len(fake_server.requests_to(providers.WABA_PATH)) == requests
    assert held.status is Status.ERROR
    assert held.reason is Reason.RATE_LIMITED
    assert held.attempts == 0
    assert held.outcome.message == first.outcome.message

    fake_server.route(providers.WABA_PATH, providers.graph_account())
    clock.now += 61
    again = (await runner.run_cycle())["whatsapp"]
    assert len(fake_server.requests_to(providers.WABA_PATH)) == requests + 1
    assert again.status is Status.CONNECTED


async def test_resend_rate_limit__ratelimit_reset_is_honoured(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resend's ratelimit-reset header holds the email check back for that many seconds."""
    limited = providers.resend_error(429, "rate_limit_exceeded", "Too many requests")
    fake_server.route("/domains", with_headers(limited, **{"ratelimit-reset": "30"}))
    clock = FakeMonotonic()
    runner = runner_for(fake_server, monkeypatch, clock)
    await runner.run_cycle()
    clock.now += 29
    await runner.run_cycle()
    assert len(fake_server.requests_to("/domains")) == 1
    clock.now += 2
    await runner.run_cycle()
    assert len(fake_server.requests_to("/domains")) == 2


async def test_stripe_rate_limit__retry_after_date_is_honoured(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Retry-After given as an HTTP date holds Stripe back until about then."""
    later = datetime.fromtimestamp(datetime.now(UTC).timestamp() + 120, UTC)
    limited = providers.stripe_error(
        429, "invalid_request_error", "Too many requests", "rate_limit"
    )
    fake_server.route(
        providers.CUSTOMER_PATH,
        with_headers(limited, **{"Retry-After": format_datetime(later, usegmt=True)}),
    )
    clock = FakeMonotonic()
    runner = runner_for(fake_server, monkeypatch, clock)
    first = (await runner.run_cycle())["stripe"]
    assert first.reason is Reason.RATE_LIMITED
    clock.now += 100
    await runner.run_cycle()
    assert len(fake_server.requests_to(providers.CUSTOMER_PATH)) == 1


async def test_rate_limit_without_a_wait__next_cycle_tries_again(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 that names no wait is tried again next cycle, once: one request per cycle."""
    fake_server.route("/domains", providers.resend_error(429, "rate_limit_exceeded", "slow down"))
    clock = FakeMonotonic()
    runner = runner_for(fake_server, monkeypatch, clock)
    for _ in range(3):
        result = (await runner.run_cycle())["email"]
        assert "next attempt" not in result.outcome.message
    assert len(fake_server.requests_to("/domains")) == 3


def flaky(first: Reply, then: Reply) -> object:
    """A responder that answers `first` once, then `then`."""
    calls: list[Request] = []

    def respond(request: Request) -> Reply:
        calls.append(request)
        return first if len(calls) == 1 else then

    return respond


def serve_one_blip(server: FakeServer) -> None:
    """Resend answers one 503, then healthy domains."""
    server.route(
        "/domains",
        flaky(
            providers.resend_error(503, "internal_server_error", "try later"),
            providers.resend_domains("verified"),
        ),
    )


async def test_retry_transient__off_by_default_one_request(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default a 5xx is reported as it is: no second request within the cycle."""
    serve_one_blip(fake_server)
    runner = runner_for(fake_server, monkeypatch, FakeMonotonic())
    result = (await runner.run_cycle())["email"]
    assert result.reason is Reason.UPSTREAM_ERROR
    assert len(fake_server.requests_to("/domains")) == 1


async def test_retry_transient__one_retry_heals_a_blip_and_is_counted(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With MONITOR_RETRY_TRANSIENT, one 5xx blip is retried once, and the retry is counted."""
    serve_one_blip(fake_server)
    runner = runner_for(fake_server, monkeypatch, FakeMonotonic(), retry_transient=True)
    registry = CollectorRegistry()
    metrics = MonitorMetrics(registry, [t.name for t in runner.targets], 5)
    monitor = Monitor(runner, SnapshotStore(), metrics, 60)
    snapshot = await monitor.run_cycle()
    assert snapshot.integrations["email"].reported.status is Status.CONNECTED
    assert len(fake_server.requests_to("/domains")) == 2
    retries = registry.get_sample_value("integration_check_retries_total", {"integration": "email"})
    assert retries == 1


async def test_retry_transient__auth_failures_are_not_retried(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad key will not get better in a second: it is never retried."""
    fake_server.route(
        "/domains", providers.resend_error(403, "invalid_api_key", "API key is invalid")
    )
    runner = runner_for(fake_server, monkeypatch, FakeMonotonic(), retry_transient=True)
    result = (await runner.run_cycle())["email"]
    assert result.reason is Reason.AUTH
    assert len(fake_server.requests_to("/domains")) == 1


async def test_rate_limit__html_429_from_an_edge_proxy_is_still_a_rate_limit(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 whose body is a proxy's HTML page is rate_limited, and its Retry-After holds."""
    page = Reply.html(429, "<html><body>Too Many Requests</body></html>")
    for path in (providers.WABA_PATH, "/domains", providers.CUSTOMER_PATH, providers.TABLE_PATH):
        fake_server.route(path, with_headers(page, **{"Retry-After": "120"}))
    clock = FakeMonotonic()
    runner = runner_for(fake_server, monkeypatch, clock)
    first = await runner.run_cycle()
    for name in ("whatsapp", "email", "stripe", "database"):
        assert first[name].reason is Reason.RATE_LIMITED, (name, first[name].outcome.message)
        assert "next attempt after" in first[name].outcome.message
    clock.now += 60
    held = await runner.run_cycle()
    assert all(result.attempts == 0 for result in held.values())


async def test_retry_transient__html_502_from_a_proxy_is_retried_once(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy's HTML 502 is an upstream blip: with MONITOR_RETRY_TRANSIENT it is retried once."""
    fake_server.route(
        providers.WABA_PATH,
        flaky(misbehaviours.proxy_error_page(502), providers.graph_account()),
    )
    runner = runner_for(fake_server, monkeypatch, FakeMonotonic(), retry_transient=True)
    result = (await runner.run_cycle())["whatsapp"]
    assert result.status is Status.CONNECTED, result.outcome.message
    assert result.attempts == 2
    assert len(fake_server.requests_to(providers.WABA_PATH)) == 2


async def test_upstream_503__retry_after_holds_the_target(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 that says when to come back is not asked again before then, nor retried at once."""
    for path in (providers.WABA_PATH, "/domains", providers.CUSTOMER_PATH, providers.TABLE_PATH):
        fake_server.route(path, misbehaviours.proxy_unavailable_page(retry_after="120"))
    clock = FakeMonotonic()
    runner = runner_for(fake_server, monkeypatch, clock, retry_transient=True)
    first = await runner.run_cycle()
    for name in ("whatsapp", "email", "stripe", "database"):
        assert first[name].reason is Reason.UPSTREAM_ERROR, (name, first[name].outcome.message)
        assert "next attempt after" in first[name].outcome.message
        assert first[name].attempts == 1
    clock.now += 60
    held = await runner.run_cycle()
    assert all(result.attempts == 0 for result in held.values())
    assert held["email"].reason is Reason.UPSTREAM_ERROR
    fake_server.route("/domains", providers.resend_domains("verified"))
    clock.now += 61
    again = (await runner.run_cycle())["email"]
    assert again.status is Status.CONNECTED
    assert len(fake_server.requests_to("/domains")) == 2
