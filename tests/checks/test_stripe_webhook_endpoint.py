"""Stripe's webhook endpoint: the platform's check also retrieves it, against a fake Stripe."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.checks.base import Reason, Status
from monitor.checks.stripe import StripeCheck, StripeSettings
from monitor.config import load_settings
from monitor.daemon import build_runner
from monitor.redaction import Redactor
from monitor.runner import Runner
from tests.checks import misbehaviours
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.providers import (
    CANARIES,
    CUSTOMER_ID,
    CUSTOMER_PATH,
    provider_env,
    stripe_error,
)
from tests.fakes.server import FakeServer, Reply
from tests.fakes.stripe_endpoints import (
    ENDPOINT_ID,
    ENDPOINT_PATH,
    ENDPOINT_URL,
    REQUEST_ID,
    webhook_endpoint,
    webhook_endpoint_missing,
    webhook_endpoint_rate_limited,
)
from tests.support.checks import failure_of
from tests.support.clocks import FakeMonotonic

SECRET_KEY = CANARIES["STRIPE_SECRET_KEY"]


def endpoint_check(
    fake_server: FakeServer, reply: Reply | None = None, *, customer_id: str | None = CUSTOMER_ID
) -> StripeCheck:
    """The check with STRIPE_WEBHOOK_ENDPOINT_ID set; the fake answers the endpoint with `reply`."""
    fake_server.route(ENDPOINT_PATH, reply or webhook_endpoint())
    settings = StripeSettings(
        secret_key=SecretStr(SECRET_KEY),
        customer_id=customer_id,
        api_url=fake_server.url,
        webhook_endpoint_id=ENDPOINT_ID,
    )
    return StripeCheck(settings, timeout_seconds=CHECK_TIMEOUT)


# --- healthy ------------------------------------------------------------------------------


async def test_webhook_endpoint__enabled(fake_server: FakeServer) -> None:
    """An enabled endpoint keeps Stripe connected, and the card shows its id, status and URL."""
    outcome = await endpoint_check(fake_server).run()

    assert outcome.status is Status.CONNECTED
    assert outcome.details == {
        "customer_id": CUSTOMER_ID,
        "email": "jenny.rosen@example.com",
        "webhook_endpoint": {"id": ENDPOINT_ID, "status": "enabled", "url": ENDPOINT_URL},
    }
    assert f"webhook endpoint {ENDPOINT_ID} is enabled" in outcome.message


async def test_webhook_endpoint__url_shown_without_query_or_user_info(
    fake_server: FakeServer,
) -> None:
    """A signed receiver URL keeps its secret: details are served to anyone without a token."""
    signed = "https://hook-user:hook-pass@platform.example.com:8443/stripe/events?token=s3cr3t"
    outcome = await endpoint_check(fake_server, webhook_endpoint(url=signed)).run()

    assert outcome.details is not None
    shown = outcome.details["webhook_endpoint"]["url"]
    assert shown == "https://platform.example.com:8443/stripe/events"


async def test_webhook_endpoint__request_shape(fake_server: FakeServer) -> None:
    """The customer, then the endpoint: one GET each, both with the secret key as a Bearer."""
    await endpoint_check(fake_server).run()

    (customer,) = fake_server.requests_to(CUSTOMER_PATH)
    (endpoint,) = fake_server.requests_to(ENDPOINT_PATH)
    assert endpoint.method == "GET"
    assert endpoint.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert customer.received_at <= endpoint.received_at


async def test_webhook_endpoint__with_the_key_alone(fake_server: FakeServer) -> None:
    """Without a customer, the balance and the endpoint: live or test mode, and the endpoint."""
    outcome = await endpoint_check(fake_server, customer_id=None).run()

    assert outcome.status is Status.CONNECTED
    assert outcome.details["livemode"] is False
    assert outcome.details["webhook_endpoint"]["status"] == "enabled"
    assert outcome.message.startswith("Stripe test-mode API key is valid")


async def test_webhook_endpoint__not_asked_without_the_setting(fake_server: FakeServer) -> None:
    """Without STRIPE_WEBHOOK_ENDPOINT_ID the check sends its one request, as before."""
    settings = StripeSettings(SecretStr(SECRET_KEY), CUSTOMER_ID, fake_server.url)

    outcome = await StripeCheck(settings, CHECK_TIMEOUT).run()

    assert "webhook_endpoint" not in outcome.details
    assert [r.path for r in fake_server.requests] == [CUSTOMER_PATH]


# --- what breaks --------------------------------------------------------------------------


async def test_webhook_endpoint__disabled(fake_server: FakeServer) -> None:
    """An endpoint Stripe disabled is misconfigured: the message says what to do about it."""
    failure = await failure_of(endpoint_check(fake_server, webhook_endpoint("disabled")))

    assert failure.reason is Reason.MISCONFIGURED
    assert f"Stripe disabled webhook endpoint {ENDPOINT_ID}" in failure.message
    assert "failed deliveries" in failure.message
    assert "re-enable" in failure.message
    assert "Stripe dashboard" in failure.message
    assert failure.details["webhook_endpoint"] == {
        "id": ENDPOINT_ID,
        "status": "disabled",
        "url": ENDPOINT_URL,
    }
    assert failure.details["customer_id"] == CUSTOMER_ID


async def test_webhook_endpoint__missing(fake_server: FakeServer) -> None:
    """A deleted or mistyped endpoint is not_found, naming it and the variable to check."""
    failure = await failure_of(endpoint_check(fake_server, webhook_endpoint_missing()))

    assert failure.reason is Reason.NOT_FOUND
    assert ENDPOINT_ID in failure.message
    assert "STRIPE_WEBHOOK_ENDPOINT_ID" in failure.message
    assert failure.details == {"request_id": REQUEST_ID, "webhook_endpoint": {"id": ENDPOINT_ID}}


async def test_webhook_endpoint__customer_failure_comes_first(fake_server: FakeServer) -> None:
    """A rejected key is reported as such, once: the endpoint is not asked with it."""
    fake_server.route(
        CUSTOMER_PATH, stripe_error(401, "invalid_request_error", "Invalid API Key provided")
    )

    failure = await failure_of(endpoint_check(fake_server))

    assert failure.reason is Reason.AUTH
    assert fake_server.requests_to(ENDPOINT_PATH) == []


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (
            stripe_error(403, "invalid_request_error", "The provided key does not have access"),
            Reason.PERMISSION,
        ),
        (
            stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
            Reason.UPSTREAM_ERROR,
        ),
        (misbehaviours.proxy_error_page(502), Reason.UPSTREAM_ERROR),
    ],
    ids=["restricted-key", "api-error", "proxy-502"],
)
async def test_webhook_endpoint__request_errors(
    fake_server: FakeServer, reply: Reply, reason: Reason
) -> None:
    """Errors of the endpoint request map as the customer's do, and say which request failed."""
    failure = await failure_of(endpoint_check(fake_server, reply))

    assert failure.reason is reason
    assert f"(reading webhook endpoint {ENDPOINT_ID})" in failure.message
    assert len(fake_server.requests_to(ENDPOINT_PATH)) == 1


MALFORMED = [
    pytest.param(webhook_endpoint(drop=("status",)), id="no-status"),
    pytest.param(webhook_endpoint(status=""), id="empty-status"),
    pytest.param(webhook_endpoint(status={"value": "enabled"}), id="status-not-text"),
    pytest.param(webhook_endpoint(drop=("url",)), id="no-url"),
    pytest.param(webhook_endpoint(id="we_SomeoneElse"), id="another-endpoint"),
    pytest.param(Reply.json(200, ["not", "an", "object"]), id="a-list"),
    pytest.param(misbehaviours.truncated_json(), id="truncated-json"),
    pytest.param(Reply.html(200, "<html><body>Sign in</body></html>"), id="html-page"),
]


@pytest.mark.parametrize("reply", MALFORMED)
async def test_webhook_endpoint__malformed_answer(fake_server: FakeServer, reply: Reply) -> None:
    """An endpoint answer Stripe never sends is invalid_response, in one plain sentence."""
    failure = await failure_of(endpoint_check(fake_server, reply))

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "Traceback" not in failure.message
    assert "Stripe" in failure.message
    assert len(failure.message) < 200


async def test_webhook_endpoint__malformed_answer_keeps_request_id(fake_server: FakeServer) -> None:
    """An endpoint without a status still shows Stripe's request id, for Stripe's support."""
    failure = await failure_of(endpoint_check(fake_server, webhook_endpoint(drop=("status",))))

    assert failure.message == (
        f"the Stripe API answered webhook endpoint {ENDPOINT_ID} without a status"
    )
    assert failure.details == {"request_id": REQUEST_ID}


# --- rate limits, through the runner ------------------------------------------------------


def stripe_runner(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, clock: FakeMonotonic
) -> Runner:
    """The platform's Stripe target as the daemon builds it, with the endpoint configured."""
    for name, value in provider_env(fake_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MONITOR_INTEGRATIONS", "stripe")
    monkeypatch.setenv("STRIPE_WEBHOOK_ENDPOINT_ID", ENDPOINT_ID)
    settings = load_settings()
    targets = build_runner(settings).targets
    return Runner(targets, CHECK_TIMEOUT, Redactor(settings.secret_values()), monotonic=clock)


async def test_webhook_endpoint__rate_limited_retry_after_is_honoured(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 on the endpoint is rate_limited, and Stripe is not asked again before Retry-After."""
    fake_server.route(ENDPOINT_PATH, webhook_endpoint_rate_limited(retry_after="30"))
    clock = FakeMonotonic()
    runner = stripe_runner(fake_server, monkeypatch, clock)

    first = (await runner.run_cycle())["stripe"]
    assert first.reason is Reason.RATE_LIMITED
    assert first.outcome.details["request_id"] == REQUEST_ID
    assert "next attempt after" in first.outcome.message

    clock.now += 29
    held = (await runner.run_cycle())["stripe"]
    assert held.attempts == 0
    assert len(fake_server.requests_to(CUSTOMER_PATH)) == 1
    assert len(fake_server.requests_to(ENDPOINT_PATH)) == 1

    fake_server.route(ENDPOINT_PATH, webhook_endpoint())
    clock.now += 2
    again = (await runner.run_cycle())["stripe"]
    assert again.status is Status.CONNECTED
    assert len(fake_server.requests_to(ENDPOINT_PATH)) == 2
