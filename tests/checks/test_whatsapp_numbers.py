"""WhatsApp phone numbers (contract §11): read with the account, against a fake Graph API on
127.0.0.1 answering in the documented shapes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from monitor.checks.base import Reason, Status
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.graph_numbers import numbers_edge, phone_number, with_numbers
from tests.fakes.providers import (
    CANARIES,
    GRAPH_VERSION,
    WABA_ID,
    WABA_PATH,
    graph_account,
    graph_blocked_account,
)
from tests.fakes.server import FakeServer, Reply
from tests.support.checks import failure_of

NOT_SENDING = [
    "PENDING",
    "RESTRICTED",
    "DISCONNECTED",
    "BANNED",
    "DELETED",
    "MIGRATED",
    "UNVERIFIED",
    "RATE_LIMITED",
    "UNKNOWN",
]


def whatsapp_check(base_url: str, version: str = GRAPH_VERSION) -> WhatsAppCheck:
    """The check of the fake's account, on Graph API `version`."""
    token = SecretStr(CANARIES["WHATSAPP_ACCESS_TOKEN"])
    settings = WhatsAppSettings(token, WABA_ID, base_url, version)
    return WhatsAppCheck(settings, timeout_seconds=CHECK_TIMEOUT)


def serve_numbers(fake_server: FakeServer, *numbers: dict[str, Any], more: bool = False) -> None:
    """The healthy account, with these numbers."""
    fake_server.route(WABA_PATH, with_numbers(graph_account(), numbers_edge(*numbers, more=more)))


# --- numbers that can send ----------------------------------------------------------------


@pytest.mark.parametrize("quality", ["GREEN", "YELLOW", "NA", "UNKNOWN"])
async def test_numbers__connected_number_of_any_fair_quality(
    fake_server: FakeServer, quality: str
) -> None:
    """A CONNECTED number that is not RED keeps the account connected, with no warning."""
    serve_numbers(fake_server, phone_number(quality=quality))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert outcome.message == (
        "WhatsApp Business Account Acme Support can send messages (1 phone number)"
    )
    assert outcome.details["phone_numbers"][0]["quality_rating"] == quality


async def test_numbers__red_quality_is_connected_but_at_risk(fake_server: FakeServer) -> None:
    """A RED number still sends: connected, and the message names the number at risk."""
    serve_numbers(fake_server, phone_number(0), phone_number(1, quality="RED"))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "phone number +1 555-010-0001 is at risk (quality RED)" in outcome.message
    assert "+1 555-010-0000" not in outcome.message


async def test_numbers__flagged_is_connected_but_at_risk(fake_server: FakeServer) -> None:
    """A FLAGGED number can send (Meta warns before it lowers the limit): connected, at risk."""
    serve_numbers(fake_server, phone_number(status="FLAGGED", quality="RED"))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "+1 555-010-0000 is at risk (status FLAGGED, quality RED)" in outcome.message


@pytest.mark.parametrize("status", NOT_SENDING)
async def test_numbers__only_number_cannot_send(fake_server: FakeServer, status: str) -> None:
    """An account whose only number cannot send is blocked; the message names it and its status."""
    serve_numbers(fake_server, phone_number(status=status))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.BLOCKED
    assert failure.message == (
        "no phone number of WhatsApp Business Account Acme Support can send messages:"
        f" +1 555-010-0000 is {status}"
    )
    assert failure.details["phone_numbers"][0]["status"] == status


async def test_numbers__none_can_send_names_each(fake_server: FakeServer) -> None:
    """With several numbers and none sending, each is named with its status."""
    statuses = ["BANNED", "PENDING", "RESTRICTED", "DISCONNECTED", "DELETED", "MIGRATED", "BANNED"]
    serve_numbers(fake_server, *(phone_number(n, status=s) for n, s in enumerate(statuses)))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.BLOCKED
    assert "+1 555-010-0000 is BANNED, +1 555-010-0001 is PENDING" in failure.message
    assert "+1 555-010-0004 is DELETED, +1 555-010-0005 is MIGRATED, +1 555-010-0006 is BANNED" in (
        failure.message
    )
    assert len(failure.details["phone_numbers"]) == 7


async def test_numbers__mixed(fake_server: FakeServer) -> None:
    """One sending well, one at risk, one banned: connected, saying which is which."""
    serve_numbers(
        fake_server,
        phone_number(0),
        phone_number(1, quality="RED"),
        phone_number(2, status="BANNED", quality="NA"),
    )

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert outcome.message == (
        "WhatsApp Business Account Acme Support can send messages"
        " (2 of 3 phone numbers can send); phone number +1 555-010-0001 is at risk"
        " (quality RED); phone number +1 555-010-0002 cannot send (BANNED)"
    )
    assert [n["status"] for n in outcome.details["phone_numbers"]] == [
        "CONNECTED",
        "CONNECTED",
        "BANNED",
    ]


# --- no number ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edge", [None, {"data": []}, numbers_edge()], ids=["edge-absent", "no-paging", "empty-data"]
)
async def test_numbers__none_registered(fake_server: FakeServer, edge: Any) -> None:
    """An account without a phone number is not_found, saying no number is registered."""
    fake_server.route(WABA_PATH, with_numbers(graph_account(), edge))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.NOT_FOUND
    assert "no phone number is registered" in failure.message
    assert failure.details["phone_numbers"] == []


# --- precedence ---------------------------------------------------------------------------


async def test_numbers__blocked_account_wins_over_numbers(fake_server: FakeServer) -> None:
    """A BLOCKED account says Meta's reason, not the numbers; the numbers are still in details."""
    fake_server.route(WABA_PATH, with_numbers(graph_blocked_account(), None))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.BLOCKED
    assert "business verification" in failure.message
    assert failure.details["phone_numbers"] == []


async def test_numbers__rejected_review_wins_over_numbers(fake_server: FakeServer) -> None:
    """A rejected account is blocked for its review even when it has no number."""
    fake_server.route(WABA_PATH, with_numbers(graph_account(review="REJECTED"), None))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.BLOCKED
    assert "rejected" in failure.message


async def test_numbers__limited_account_with_a_number_at_risk(fake_server: FakeServer) -> None:
    """LIMITED health, a pending review and a RED number: all three in one message."""
    edge = numbers_edge(phone_number(quality="RED"))
    fake_server.route(WABA_PATH, with_numbers(graph_account("LIMITED", review="PENDING"), edge))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "messaging is limited" in outcome.message
    assert "+1 555-010-0000 is at risk" in outcome.message
    assert "account review is pending" in outcome.message


# --- values Meta may add, pages, messaging limits -----------------------------------------


async def test_numbers__unknown_values_reported_as_they_come(fake_server: FakeServer) -> None:
    """A status or quality this monitor does not know is shown as Meta sent it, never a crash."""
    serve_numbers(
        fake_server,
        phone_number(0, quality="PURPLE"),
        phone_number(1, status="SUSPENDED_FOR_REVIEW", quality=None, limit=7),
    )

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    first, second = outcome.details["phone_numbers"]
    assert first["quality_rating"] == "PURPLE"
    assert second["status"] == "SUSPENDED_FOR_REVIEW"
    assert second["quality_rating"] is None
    assert second["messaging_limit_tier"] == "7"
    assert "+1 555-010-0001 cannot send (SUSPENDED_FOR_REVIEW)" in outcome.message


async def test_numbers__number_without_status_or_display(fake_server: FakeServer) -> None:
    """A number Meta lists with only its id is named by its id and cannot send."""
    serve_numbers(fake_server, {"id": "106540352242999"})

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.BLOCKED
    assert "106540352242999 has no status" in failure.message


async def test_numbers__more_than_one_page(fake_server: FakeServer) -> None:
    """Past the first page of 100, the rest is not read: the count says 100+ and details say so."""
    serve_numbers(fake_server, *(phone_number(n) for n in range(100)), more=True)

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "(100 of 100+ phone numbers can send)" in outcome.message
    assert len(outcome.details["phone_numbers"]) == 100
    assert outcome.details["phone_numbers_more"] is True
    assert len(fake_server.requests_to(WABA_PATH)) == 1


async def test_numbers__one_page_has_no_more_flag(fake_server: FakeServer) -> None:
    """Without a next page, details do not claim more numbers."""
    outcome = await whatsapp_check(fake_server.url).run()

    assert "phone_numbers_more" not in outcome.details


async def test_numbers__messaging_limit_from_its_current_field(fake_server: FakeServer) -> None:
    """v25.0 reports the limit from whatsapp_business_manager_messaging_limit."""
    serve_numbers(fake_server, phone_number(limit="TIER_UNLIMITED"))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.details["phone_numbers"][0]["messaging_limit_tier"] == "TIER_UNLIMITED"


async def test_numbers__older_graph_version_asks_for_messaging_limit_tier(
    fake_server: FakeServer,
) -> None:
    """Graph v23.0 and older have only messaging_limit_tier: that is the field asked and read."""
    number = {**phone_number(), "messaging_limit_tier": "TIER_10K"}
    del number["whatsapp_business_manager_messaging_limit"]
    fake_server.route("/v23.0/" + WABA_ID, with_numbers(graph_account(), numbers_edge(number)))

    outcome = await whatsapp_check(fake_server.url, "v23.0").run()

    (request,) = fake_server.requests_to("/v23.0/" + WABA_ID)
    assert "messaging_limit_tier}" in request.query["fields"][0]
    assert "whatsapp_business_manager_messaging_limit" not in request.query["fields"][0]
    assert outcome.details["phone_numbers"][0]["messaging_limit_tier"] == "TIER_10K"


# --- malformed edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "edge",
    [
        [phone_number()],
        "CONNECTED",
        {"data": {"0": phone_number()}},
        {"data": None},
        {"paging": {}},
        {"data": [phone_number(), "106540352242923"]},
        {"data": [None]},
    ],
    ids=[
        "edge-as-list",
        "edge-as-string",
        "data-as-object",
        "data-null",
        "data-missing",
        "entry-as-string",
        "entry-null",
    ],
)
async def test_numbers__malformed_edge(fake_server: FakeServer, edge: Any) -> None:
    """An edge that is not Graph's shape is an invalid response with a plain message."""
    fake_server.route(WABA_PATH, with_numbers(graph_account(), edge))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == "the Meta Graph API answered with phone_numbers that are not a list"


async def test_numbers__malformed_paging_is_one_page(fake_server: FakeServer) -> None:
    """Paging that is not an object is taken as no next page, not as an error."""
    body = {**numbers_edge(phone_number()), "paging": "none"}
    fake_server.route(WABA_PATH, with_numbers(graph_account(), body))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert "phone_numbers_more" not in outcome.details


async def test_numbers__account_without_id_is_invalid_before_numbers(
    fake_server: FakeServer,
) -> None:
    """A 200 without an account id is still invalid, before the numbers are looked at."""
    fake_server.route(WABA_PATH, Reply.json(200, {"phone_numbers": numbers_edge(phone_number())}))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "account id" in failure.message
