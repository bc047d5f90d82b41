"""Stripe: the official SDK over the monitor's HTTP client, against a fake Stripe on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason, Status
from monitor.checks.stripe import StripeCheck, StripeSettings
from tests.checks import misbehaviours
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.providers import (
    CANARIES,
    CUSTOMER_ID,
    CUSTOMER_PATH,
    stripe_balance,
    stripe_customer,
    stripe_error,
)
from tests.fakes.server import FakeServer, Reply
from tests.support.checks import failure_of

SECRET_KEY = CANARIES["STRIPE_SECRET_KEY"]
BALANCE_PATH = "/v1/balance"


def stripe_check(
    base_url: str,
    *,
    secret_key: str | None = SECRET_KEY,
    customer_id: str | None = CUSTOMER_ID,
    timeout: float = CHECK_TIMEOUT,
) -> StripeCheck:
    settings = StripeSettings(
        secret_key=SecretStr(secret_key) if secret_key is not None else None,
        customer_id=customer_id,
        api_url=base_url,
    )
    return StripeCheck(settings, timeout_seconds=timeout)


async def failure_for(fake_server: FakeServer, reply: Reply) -> CheckFailed:
    fake_server.route(CUSTOMER_PATH, reply)
    return await failure_of(stripe_check(fake_server.url))


# --- configuration ------------------------------------------------------------------------


async def test_stripe__secret_key_unset() -> None:
    """Without a secret key the dashboard says Stripe is not configured, naming the variable."""
    outcome = await stripe_check(misbehaviours.refused_url(), secret_key=None).run()

    assert outcome.status is Status.NOT_CONFIGURED
    assert "STRIPE_SECRET_KEY" in outcome.message


# --- healthy accounts ---------------------------------------------------------------------


async def test_stripe__customer_retrievable(fake_server: FakeServer) -> None:
    """A retrievable customer shows as connected with its id and email."""
    outcome = await stripe_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert outcome.details == {"customer_id": CUSTOMER_ID, "email": "jenny.rosen@example.com"}
    assert CUSTOMER_ID in outcome.message


async def test_stripe__request_shape(fake_server: FakeServer) -> None:
    """The SDK sends one GET for the customer, authorised with the secret key as a Bearer."""
    await stripe_check(fake_server.url).run()

    (request,) = fake_server.requests_to(CUSTOMER_PATH)
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"


async def test_stripe__customer_deleted(fake_server: FakeServer) -> None:
    """A deleted customer is an error, reason not_found, that names the customer."""
    failure = await failure_for(fake_server, stripe_customer(deleted=True))

    assert failure.reason is Reason.NOT_FOUND
    assert CUSTOMER_ID in failure.message
    assert "deleted" in failure.message


@pytest.mark.parametrize(("livemode", "mode"), [(False, "test"), (True, "live")])
async def test_stripe__balance_without_customer(
    fake_server: FakeServer, livemode: bool, mode: str
) -> None:
    """Without a customer id the key is validated on the balance, showing live or test mode."""
    fake_server.route(BALANCE_PATH, stripe_balance(livemode=livemode))

    outcome = await stripe_check(fake_server.url, customer_id=None).run()

    assert outcome == Outcome.connected(
        f"Stripe {mode}-mode API key is valid", {"livemode": livemode}
    )
    assert len(fake_server.requests_to(BALANCE_PATH)) == 1
    assert fake_server.requests_to(CUSTOMER_PATH) == []


async def test_stripe__balance_without_livemode(fake_server: FakeServer) -> None:
    """A balance answer without livemode is an invalid response."""
    fake_server.route(BALANCE_PATH, Reply.json(200, {"object": "balance"}))

    failure = await failure_of(stripe_check(fake_server.url, customer_id=None))

    assert failure.reason is Reason.INVALID_RESPONSE


# --- SDK errors ---------------------------------------------------------------------------

STRIPE_ERRORS = [
    pytest.param(
        stripe_error(401, "invalid_request_error", "Invalid API Key provided: sk_test_****2b"),
        Reason.AUTH,
        id="authentication",
    ),
    pytest.param(
        stripe_error(
            403,
            "invalid_request_error",
            "The provided key does not have the required permissions for this endpoint.",
        ),
        Reason.PERMISSION,
        id="permission",
    ),
    pytest.param(
        stripe_error(
            404,
            "invalid_request_error",
            f"No such customer: '{CUSTOMER_ID}'",
            code="resource_missing",
        ),
        Reason.NOT_FOUND,
        id="resource_missing",
    ),
    pytest.param(
        stripe_error(429, "invalid_request_error", "Too many requests hit the API too quickly."),
        Reason.RATE_LIMITED,
        id="rate_limit",
    ),
    pytest.param(
        stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
        Reason.UPSTREAM_ERROR,
        id="api_error",
    ),
]


@pytest.mark.parametrize(("reply", "reason"), STRIPE_ERRORS)
async def test_stripe__sdk_error(fake_server: FakeServer, reply: Reply, reason: Reason) -> None:
    """Each Stripe error shows as its reason, with Stripe's words and the request id."""
    failure = await failure_for(fake_server, reply)

    assert failure.reason is reason
    assert failure.message.startswith("Stripe: ")
    assert failure.details == {"request_id": "req_err456"}


async def test_stripe__invalid_request_other_than_missing(fake_server: FakeServer) -> None:
    """An invalid request that is not about a missing resource is an upstream error."""
    failure = await failure_for(
        fake_server,
        stripe_error(400, "invalid_request_error", "Invalid expand", code="parameter_invalid"),
    )

    assert failure.reason is Reason.UPSTREAM_ERROR


@pytest.mark.parametrize(
    "reply",
    [
        stripe_error(500, "api_error", "Something went wrong on Stripe's end."),
        stripe_error(429, "invalid_request_error", "Too many requests hit the API too quickly."),
        Reply.json(
            500,
            {"error": {"type": "api_error", "message": "Try again."}},
            {"Request-Id": "req_retry", "Stripe-Should-Retry": "true"},
        ),
        Reply.json(
            409,
            {"error": {"type": "idempotency_error", "message": "Conflict."}},
            {"Request-Id": "req_conflict"},
        ),
    ],
    ids=["500", "429", "500-should-retry", "409"],
)
async def test_stripe__sdk_does_not_retry(fake_server: FakeServer, reply: Reply) -> None:
    """A failing Stripe is asked exactly once per check; the monitor owns retry policy."""
    await failure_for(fake_server, reply)

    assert len(fake_server.requests_to(CUSTOMER_PATH)) == 1
