"""Email: the Resend domains listing against a fake Resend API on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason, Status
from monitor.checks.email import ResendCheck, ResendSettings
from tests.checks import misbehaviours
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.providers import CANARIES, resend_domains, resend_error
from tests.fakes.server import FakeServer, Reply
from tests.support.checks import failure_of

API_KEY = CANARIES["RESEND_API_KEY"]
DOMAINS_PATH = "/domains"


def resend_check(
    base_url: str, *, api_key: str | None = API_KEY, timeout: float = CHECK_TIMEOUT
) -> ResendCheck:
    settings = ResendSettings(
        api_key=SecretStr(api_key) if api_key is not None else None, api_url=base_url
    )
    return ResendCheck(settings, timeout_seconds=timeout)


async def failure_for(fake_server: FakeServer, reply: Reply) -> CheckFailed:
    fake_server.route(DOMAINS_PATH, reply)
    return await failure_of(resend_check(fake_server.url))


# --- configuration ------------------------------------------------------------------------


async def test_email__api_key_unset() -> None:
    """Without an API key the dashboard says email is not configured, naming the variable."""
    outcome = await resend_check(misbehaviours.refused_url(), api_key=None).run()

    assert outcome.status is Status.NOT_CONFIGURED
    assert "RESEND_API_KEY" in outcome.message


# --- healthy accounts ---------------------------------------------------------------------


async def test_email__verified_domains(fake_server: FakeServer) -> None:
    """A valid key shows as connected with the count of domains and of verified ones."""
    fake_server.route(DOMAINS_PATH, resend_domains("verified", "pending", "verified"))

    outcome = await resend_check(fake_server.url).run()

    assert outcome == Outcome.connected(
        "Resend API key is valid; 2 of 3 domains verified",
        {"domains": 3, "verified_domains": 2},
    )


@pytest.mark.parametrize("statuses", [(), ("pending", "failed")], ids=["none", "unverified"])
async def test_email__no_verified_domain(
    fake_server: FakeServer, statuses: tuple[str, ...]
) -> None:
    """A valid key with no verified domain is connected, but the message says none is verified."""
    fake_server.route(DOMAINS_PATH, resend_domains(*statuses))

    outcome = await resend_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "no sending domain is verified" in outcome.message
    assert outcome.details == {"domains": len(statuses), "verified_domains": 0}


async def test_email__request_headers(fake_server: FakeServer) -> None:
    """Resend is asked with the key as a Bearer and the monitor's User-Agent."""
    await resend_check(fake_server.url).run()

    (request,) = fake_server.requests_to(DOMAINS_PATH)
    assert request.method == "GET"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["user-agent"].startswith("integration-monitor/")


async def test_email__restricted_key(fake_server: FakeServer) -> None:
    """A sending-only key is healthy: connected, and the message says it can only send."""
    fake_server.route(
        DOMAINS_PATH,
        resend_error(401, "restricted_api_key", "This API key is restricted to only send emails"),
    )

    outcome = await resend_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "sending" in outcome.message
    assert outcome.details == {"access": "sending"}


# --- API errors ---------------------------------------------------------------------------

RESEND_ERRORS = [
    (400, "validation_error", "API key is invalid", Reason.AUTH),
    (401, "missing_api_key", "Missing API key in the authorization header.", Reason.AUTH),
    (403, "invalid_api_key", "API key is invalid", Reason.AUTH),
    (
        429,
        "rate_limit_exceeded",
        "Too many requests. You can only make 2 requests per second.",
        Reason.RATE_LIMITED,
    ),
    (500, "internal_server_error", "An unexpected error occurred.", Reason.UPSTREAM_ERROR),
    (503, "service_unavailable", "Service unavailable.", Reason.UPSTREAM_ERROR),
]


@pytest.mark.parametrize(("status", "name", "said", "reason"), RESEND_ERRORS)
async def test_email__api_error(
    fake_server: FakeServer, status: int, name: str, said: str, reason: Reason
) -> None:
    """Each Resend error shows as its reason, with Resend's words and error name."""
    failure = await failure_for(fake_server, resend_error(status, name, said))

    assert failure.reason is reason
    assert said in failure.message
    assert name in failure.message


async def test_email__error_without_name(fake_server: FakeServer) -> None:
    """An error body that is not Resend's shape is an invalid response."""
    failure = await failure_for(fake_server, Reply.json(401, {"detail": "nope"}))

    assert failure.reason is Reason.INVALID_RESPONSE


async def test_email__success_without_domain_list(fake_server: FakeServer) -> None:
    """A 200 without a list of domains is an invalid response."""
    failure = await failure_for(fake_server, Reply.json(200, {"object": "list"}))

    assert failure.reason is Reason.INVALID_RESPONSE
