"""WhatsApp Business: the Graph API account lookup against a fake Graph API on 127.0.0.1."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason, Status
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from tests.checks import misbehaviours
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.graph_numbers import numbers_edge, phone_number
from tests.fakes.providers import (
    CANARIES,
    GRAPH_VERSION,
    WABA_ID,
    WABA_PATH,
    graph_account,
    graph_blocked_account,
    graph_error,
)
from tests.fakes.server import FakeServer, Reply
from tests.support.checks import failure_of

TOKEN = CANARIES["WHATSAPP_ACCESS_TOKEN"]


def whatsapp_check(
    base_url: str,
    *,
    token: str | None = TOKEN,
    account_id: str | None = WABA_ID,
    timeout: float = CHECK_TIMEOUT,
) -> WhatsAppCheck:
    settings = WhatsAppSettings(
        access_token=SecretStr(token) if token is not None else None,
        business_account_id=account_id,
        graph_api_url=base_url,
        graph_api_version=GRAPH_VERSION,
    )
    return WhatsAppCheck(settings, timeout_seconds=timeout)


async def failure_for(fake_server: FakeServer, reply: Reply) -> CheckFailed:
    fake_server.route(WABA_PATH, reply)
    return await failure_of(whatsapp_check(fake_server.url))


# --- configuration ------------------------------------------------------------------------


async def test_whatsapp__token_unset() -> None:
    """Without an access token the dashboard says WhatsApp is not configured, naming why."""
    outcome = await whatsapp_check(misbehaviours.refused_url(), token=None).run()

    assert outcome.status is Status.NOT_CONFIGURED
    assert "WHATSAPP_ACCESS_TOKEN" in outcome.message
    assert outcome.reason is None


@pytest.mark.parametrize("account_id", [None, ""])
async def test_whatsapp__account_id_unset(account_id: str | None) -> None:
    """Without a business account id the dashboard says WhatsApp is not configured."""
    outcome = await whatsapp_check(misbehaviours.refused_url(), account_id=account_id).run()

    assert outcome.status is Status.NOT_CONFIGURED
    assert "WHATSAPP_BUSINESS_ACCOUNT_ID" in outcome.message


# --- healthy accounts ---------------------------------------------------------------------


async def test_whatsapp__account_available(fake_server: FakeServer) -> None:
    """A healthy account shows as connected with its id, name and sending state."""
    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome == Outcome.connected(
        "WhatsApp Business Account Acme Support can send messages (1 phone number)",
        {
            "account_id": WABA_ID,
            "account_name": "Acme Support",
            "account_review_status": "APPROVED",
            "can_send_message": "AVAILABLE",
            "phone_numbers": [
                {
                    "id": "106540352242922",
                    "display_phone_number": "+1 555-010-0000",
                    "status": "CONNECTED",
                    "quality_rating": "GREEN",
                    "messaging_limit_tier": "TIER_2K",
                }
            ],
        },
    )


async def test_whatsapp__request_shape(fake_server: FakeServer) -> None:
    """The monitor asks Graph for the account's health fields and phone numbers in one request,
    with the token as a Bearer."""
    await whatsapp_check(fake_server.url).run()

    (request,) = fake_server.requests_to(WABA_PATH)
    assert request.method == "GET"
    assert request.query == {
        "fields": [
            "id,name,account_review_status,health_status,phone_numbers.limit(100)"
            "{id,display_phone_number,verified_name,status,quality_rating,"
            "whatsapp_business_manager_messaging_limit}"
        ]
    }
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"].startswith("integration-monitor/")


async def test_whatsapp__account_without_health_status(fake_server: FakeServer) -> None:
    """An account Graph reports without health_status is connected, with no sending state."""
    number = phone_number()
    body = {"id": WABA_ID, "name": "Acme Support", "phone_numbers": numbers_edge(number)}
    fake_server.route(WABA_PATH, Reply.json(200, body))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "can_send_message" not in outcome.details
    assert outcome.details["account_name"] == "Acme Support"


async def test_whatsapp__messaging_limited(fake_server: FakeServer) -> None:
    """A LIMITED account stays connected, but the message warns that messaging is limited."""
    fake_server.route(WABA_PATH, graph_account("LIMITED"))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "limited" in outcome.message
    assert outcome.details["can_send_message"] == "LIMITED"


async def test_whatsapp__messaging_blocked(fake_server: FakeServer) -> None:
    """A BLOCKED account is an error that names the blocked entity and Meta's stated reason."""
    failure = await failure_for(fake_server, graph_blocked_account())

    assert failure.reason is Reason.BLOCKED
    assert f"WABA {WABA_ID}" in failure.message
    assert "The Business has not passed business verification." in failure.message
    assert failure.details["can_send_message"] == "BLOCKED"


async def test_whatsapp__messaging_blocked_without_entities(fake_server: FakeServer) -> None:
    """A BLOCKED account whose entities Meta leaves out is still blocked, naming the account."""
    body = {"id": WABA_ID, "name": "Acme Support", "health_status": {"can_send_message": "BLOCKED"}}
    failure = await failure_for(fake_server, Reply.json(200, body))

    assert failure.reason is Reason.BLOCKED
    assert "Acme Support" in failure.message


# --- account review -----------------------------------------------------------------------


async def test_whatsapp__account_review_rejected(fake_server: FakeServer) -> None:
    """An account Meta's review rejected is blocked, whatever its health says, and says why."""
    failure = await failure_for(fake_server, graph_account(review="REJECTED"))

    assert failure.reason is Reason.BLOCKED
    assert "Acme Support" in failure.message
    assert "rejected" in failure.message
    assert failure.details["account_review_status"] == "REJECTED"


@pytest.mark.parametrize("review", ["PENDING", "DEFERRED"])
async def test_whatsapp__account_review_not_decided(fake_server: FakeServer, review: str) -> None:
    """An account whose review is not decided yet stays connected; the message mentions it."""
    fake_server.route(WABA_PATH, graph_account(review=review))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert f"account review is {review.lower()}" in outcome.message
    assert outcome.details["account_review_status"] == review


async def test_whatsapp__limited_and_review_pending(fake_server: FakeServer) -> None:
    """A limited account under review says both in one message."""
    fake_server.route(WABA_PATH, graph_account("LIMITED", review="PENDING"))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "messaging is limited" in outcome.message
    assert "account review is pending" in outcome.message


# --- Graph error codes --------------------------------------------------------------------

GRAPH_CODES = [
    (190, Reason.AUTH),
    (3, Reason.PERMISSION),
    (10, Reason.PERMISSION),
    (200, Reason.PERMISSION),
    (250, Reason.PERMISSION),
    (299, Reason.PERMISSION),
    (100, Reason.NOT_FOUND),
    (4, Reason.RATE_LIMITED),
    (17, Reason.RATE_LIMITED),
    (32, Reason.RATE_LIMITED),
    (613, Reason.RATE_LIMITED),
    (80007, Reason.RATE_LIMITED),
    (80008, Reason.RATE_LIMITED),
    (130429, Reason.RATE_LIMITED),
    (1, Reason.UPSTREAM_ERROR),
    (2, Reason.UPSTREAM_ERROR),
    (368, Reason.BLOCKED),
]


@pytest.mark.parametrize(("code", "reason"), GRAPH_CODES)
async def test_whatsapp__graph_error_code(
    fake_server: FakeServer, code: int, reason: Reason
) -> None:
    """Each Graph error code shows as its reason, with Meta's words and fbtrace_id for support."""
    failure = await failure_for(fake_server, graph_error(code, "Meta says no", subcode=463))

    assert failure.reason is reason
    assert "Meta says no" in failure.message
    assert failure.details == {"code": code, "error_subcode": 463, "fbtrace_id": "AbCdEfGhIjKlMnOp"}


async def test_whatsapp__object_missing_or_not_permitted(fake_server: FakeServer) -> None:
    """Code 100 subcode 33 says the account may not exist or the token may not read it: both."""
    failure = await failure_for(
        fake_server, graph_error(100, "Unsupported get request.", subcode=33)
    )

    assert failure.reason is Reason.NOT_FOUND
    assert "Unsupported get request." in failure.message
    assert "does not exist" in failure.message
    assert "permission" in failure.message
    assert failure.details["error_subcode"] == 33


@pytest.mark.parametrize("http_status", [400, 401, 403, 500])
async def test_whatsapp__graph_code_decides_not_http_status(
    fake_server: FakeServer, http_status: int
) -> None:
    """An expired token reads as auth whatever HTTP status Meta wraps it in."""
    failure = await failure_for(
        fake_server, graph_error(190, "Error validating access token", status=http_status)
    )

    assert failure.reason is Reason.AUTH


@pytest.mark.parametrize("http_status", [500, 502, 503])
async def test_whatsapp__graph_server_error(fake_server: FakeServer, http_status: int) -> None:
    """A Graph error Meta sends as HTTP 5xx with an unlisted code is an upstream error."""
    failure = await failure_for(
        fake_server, graph_error(131000, "Something went wrong", status=http_status)
    )

    assert failure.reason is Reason.UPSTREAM_ERROR
    assert failure.details["fbtrace_id"] == "AbCdEfGhIjKlMnOp"


async def test_whatsapp__http_429_without_listed_code(fake_server: FakeServer) -> None:
    """A 429 whose Graph code is not one of the listed ones still reads as rate limited."""
    failure = await failure_for(fake_server, graph_error(9999, "Slow down", status=429))

    assert failure.reason is Reason.RATE_LIMITED


async def test_whatsapp__malformed_error_object(fake_server: FakeServer) -> None:
    """An `error` that is not an object is an invalid response, not a crash."""
    failure = await failure_for(fake_server, Reply.json(400, {"error": "nope"}))

    assert failure.reason is Reason.INVALID_RESPONSE


async def test_whatsapp__account_without_id(fake_server: FakeServer) -> None:
    """A 200 that holds no account id is an invalid response."""
    failure = await failure_for(fake_server, Reply.json(200, {"name": "Acme Support"}))

    assert failure.reason is Reason.INVALID_RESPONSE
