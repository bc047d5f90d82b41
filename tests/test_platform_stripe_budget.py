"""The platform's Stripe check with a webhook endpoint sends two requests: it takes two units of
the Stripe budget, and both are counted in integration_provider_requests_total."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry

from monitor.budgets import spacing_seconds
from monitor.checks.base import Reason, Status
from monitor.config import Settings, load_settings
from monitor.daemon import build_runner
from monitor.fleet.wiring import Providers, build_providers
from tests.fakes.providers import CUSTOMER_PATH, provider_env
from tests.fakes.server import FakeServer
from tests.fakes.stripe_endpoints import ENDPOINT_ID, ENDPOINT_PATH, webhook_endpoint


def stripe_settings(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, *, endpoint: bool, **env: str
) -> Settings:
    """Settings of a deployment that checks Stripe only, against the fake."""
    fake_server.route(ENDPOINT_PATH, webhook_endpoint())
    for name, value in {**provider_env(fake_server), **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MONITOR_INTEGRATIONS", "stripe")
    if endpoint:
        monkeypatch.setenv("STRIPE_WEBHOOK_ENDPOINT_ID", ENDPOINT_ID)
    return load_settings()


async def stripe_cycle(
    settings: Settings, providers: Providers
) -> tuple[Status, str, Reason | None]:
    """One platform cycle through the shared pools and budgets, as the fleet daemon runs it."""
    try:
        result = (await build_runner(settings, providers).run_cycle())["stripe"]
    finally:
        await providers.clients.aclose()
    return result.status, result.outcome.message, result.reason


async def test_platform_stripe__endpoint_requests_are_counted(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests (customer and webhook endpoint) show in integration_provider_requests_total."""
    settings = stripe_settings(fake_server, monkeypatch, endpoint=True)
    registry = CollectorRegistry()

    status, message, _ = await stripe_cycle(settings, build_providers(settings, registry))

    assert status is Status.CONNECTED, message
    sent = registry.get_sample_value(
        "integration_provider_requests_total", {"integration": "stripe"}
    )
    assert sent == 2
    assert len(fake_server.requests_to(CUSTOMER_PATH)) == 1
    assert len(fake_server.requests_to(ENDPOINT_PATH)) == 1


async def test_platform_stripe__endpoint_takes_a_second_budget_unit(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After one check with the endpoint, the budget's next unit is two spacings away, not one."""
    settings = stripe_settings(fake_server, monkeypatch, endpoint=True, MONITOR_STRIPE_MAX_RPS="4")
    providers = build_providers(settings, CollectorRegistry())
    started = asyncio.get_running_loop().time()

    await stripe_cycle(settings, providers)
    next_unit = await providers.budgets["stripe"].acquire()

    assert next_unit - started >= 2 * spacing_seconds(4) * 0.99


@pytest.mark.parametrize(("endpoint", "checked"), [(True, False), (False, True)])
async def test_platform_stripe__tight_budget_holds_back_the_two_request_check(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, endpoint: bool, checked: bool
) -> None:
    """At 1 request/s and a 0.5 s wait for budget, one unit comes at once but not two: the check
    with the endpoint is held back (rate_limited, nothing sent), the one without it runs."""
    settings = stripe_settings(
        fake_server,
        monkeypatch,
        endpoint=endpoint,
        MONITOR_STRIPE_MAX_RPS="1",
        MONITOR_CHECK_TIMEOUT_SECONDS="0.5",
    )

    status, message, reason = await stripe_cycle(
        settings, build_providers(settings, CollectorRegistry())
    )

    if checked:
        assert status is Status.CONNECTED, message
    else:
        assert reason is Reason.RATE_LIMITED
        assert "no stripe request budget within 0.5 s" in message
    assert len(fake_server.requests_to(CUSTOMER_PATH)) == (1 if checked else 0)
    assert fake_server.requests_to(ENDPOINT_PATH) == []
