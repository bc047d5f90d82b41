"""WHATSAPP_APP_ID (contract §11): the app must be subscribed to the account's webhooks, read from
`GET /{version}/{WABA}/subscribed_apps` on a fake Graph API on 127.0.0.1."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import SecretStr

from monitor.checks.base import Reason, Status, Target
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.redaction import Redactor
from monitor.runner import Runner
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.graph_numbers import (
    APP_ID,
    OTHER_APP_ID,
    subscribed_apps,
    subscribed_apps_path,
    with_numbers,
)
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
from tests.support.clocks import FakeMonotonic

TOKEN = CANARIES["WHATSAPP_ACCESS_TOKEN"]
APPS_PATH = subscribed_apps_path(WABA_PATH)


def whatsapp_check(
    base_url: str, app_id: str | None = APP_ID, timeout: float = CHECK_TIMEOUT
) -> WhatsAppCheck:
    """The check of the fake's account, with WHATSAPP_APP_ID `app_id`."""
    settings = WhatsAppSettings(SecretStr(TOKEN), WABA_ID, base_url, GRAPH_VERSION, app_id)
    return WhatsAppCheck(settings, timeout_seconds=timeout)


def with_headers(reply: Reply, **headers: str) -> Reply:
    return Reply(reply.status, reply.body, {**reply.headers, **headers})


# --- subscribed or not --------------------------------------------------------------------


async def test_webhooks__app_subscribed(fake_server: FakeServer) -> None:
    """The app among the subscribed ones: connected, after the account, with the same token."""
    fake_server.route(APPS_PATH, subscribed_apps(OTHER_APP_ID, APP_ID))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED
    assert [r.path for r in fake_server.requests] == [WABA_PATH, APPS_PATH]
    (request,) = fake_server.requests_to(APPS_PATH)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert outcome.details["phone_numbers"][0]["status"] == "CONNECTED"


@pytest.mark.parametrize("listed", [(OTHER_APP_ID,), ()], ids=["another-app", "no-app"])
async def test_webhooks__app_not_subscribed(fake_server: FakeServer, listed: tuple[str]) -> None:
    """The app missing from the subscriptions is misconfigured: messages would never arrive."""
    fake_server.route(APPS_PATH, subscribed_apps(*listed))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.MISCONFIGURED
    assert failure.message == (
        f"the app {APP_ID} is not subscribed to the account's webhooks:"
        " incoming messages would never arrive"
    )
    assert failure.details["phone_numbers"][0]["display_phone_number"] == "+1 555-010-0000"


async def test_webhooks__numeric_app_id_in_answer(fake_server: FakeServer) -> None:
    """An app id Graph sends as a number matches the configured digits all the same."""
    body = {"data": [{"whatsapp_business_api_data": {"id": int(APP_ID), "name": "Acme"}}]}
    fake_server.route(APPS_PATH, Reply.json(200, body))

    outcome = await whatsapp_check(fake_server.url).run()

    assert outcome.status is Status.CONNECTED


async def test_webhooks__not_asked_without_app_id(fake_server: FakeServer) -> None:
    """Without WHATSAPP_APP_ID the check stays one request."""
    outcome = await whatsapp_check(fake_server.url, app_id=None).run()

    assert outcome.status is Status.CONNECTED
    assert [r.path for r in fake_server.requests] == [WABA_PATH]


@pytest.mark.parametrize(
    "account",
    [
        graph_blocked_account(),
        with_numbers(graph_account(), None),
        graph_error(190, "Error validating access token"),
    ],
    ids=["blocked", "no-number", "expired-token"],
)
async def test_webhooks__skipped_when_the_account_already_failed(
    fake_server: FakeServer, account: Reply
) -> None:
    """An account already in error is reported as such; its subscriptions are not read."""
    fake_server.route(WABA_PATH, account)

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is not Reason.MISCONFIGURED
    assert fake_server.requests_to(APPS_PATH) == []


# --- the second request failing -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason"),
    [(190, Reason.AUTH), (200, Reason.PERMISSION), (100, Reason.NOT_FOUND), (2, "upstream")],
)
async def test_webhooks__graph_error_on_subscribed_apps(
    fake_server: FakeServer, code: int, reason: Reason | str
) -> None:
    """A Graph error on subscribed_apps maps like the account's, says which request failed, and
    keeps the numbers the account request read."""
    fake_server.route(APPS_PATH, graph_error(code, "Meta says no", subcode=463))

    failure = await failure_of(whatsapp_check(fake_server.url))

    expected = Reason.UPSTREAM_ERROR if reason == "upstream" else reason
    assert failure.reason is expected
    assert failure.message == (
        f"the Meta Graph API error {code}: Meta says no (reading the account's subscribed apps)"
    )
    assert failure.details["fbtrace_id"] == "AbCdEfGhIjKlMnOp"
    assert failure.details["code"] == code
    assert len(failure.details["phone_numbers"]) == 1


async def test_webhooks__rate_limit_on_subscribed_apps_keeps_its_wait(
    fake_server: FakeServer,
) -> None:
    """A rate limit on the second request carries Meta's Retry-After like one on the first."""
    limited = graph_error(80007, "Rate limit hit for this WABA")
    fake_server.route(APPS_PATH, with_headers(limited, **{"Retry-After": "120"}))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.retry_after == 120


@pytest.mark.parametrize(
    "reply",
    [
        Reply.json(200, {"data": {"whatsapp_business_api_data": {"id": APP_ID}}}),
        Reply.json(200, {"data": ["whatsapp_business_api_data"]}),
        Reply.json(200, {"paging": {}}),
        Reply.json(200, [APP_ID]),
        Reply.html(200, "<html>sign in</html>"),
    ],
    ids=["data-as-object", "entry-as-string", "no-data", "list", "html"],
)
async def test_webhooks__malformed_answer(fake_server: FakeServer, reply: Reply) -> None:
    """subscribed_apps in a shape Graph never sends is an invalid response, not a crash."""
    fake_server.route(APPS_PATH, reply)

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.INVALID_RESPONSE
    assert "subscribed apps" in failure.message


async def test_webhooks__proxy_error_page_is_upstream(fake_server: FakeServer) -> None:
    """A gateway's 502 page in front of subscribed_apps is an upstream error."""
    fake_server.route(APPS_PATH, Reply.html(502, "<html>Bad Gateway</html>"))

    failure = await failure_of(whatsapp_check(fake_server.url))

    assert failure.reason is Reason.UPSTREAM_ERROR


# --- one deadline, one hold ---------------------------------------------------------------


def runner_of(check: WhatsAppCheck, timeout: float, clock: FakeMonotonic | None = None) -> Runner:
    target = Target("whatsapp", "whatsapp", check, budgeted=True, requests=2)
    if clock is None:
        return Runner([target], timeout, Redactor([TOKEN]))
    return Runner([target], timeout, Redactor([TOKEN]), monotonic=clock)


async def test_webhooks__both_requests_under_one_deadline(fake_server: FakeServer) -> None:
    """Two requests that each fit the deadline but not together time the check out."""
    fake_server.route(WABA_PATH, replace(graph_account(), delay=0.6))
    fake_server.route(APPS_PATH, replace(subscribed_apps(APP_ID), delay=0.6))
    runner = runner_of(whatsapp_check(fake_server.url), timeout=1.0)

    result = (await runner.run_cycle())["whatsapp"]

    assert result.reason is Reason.TIMEOUT


async def test_webhooks__rate_limited_second_request_holds_the_check_back(
    fake_server: FakeServer,
) -> None:
    """After Retry-After on subscribed_apps, neither request goes out until the wait is over."""
    limited = with_headers(
        graph_error(4, "Application request limit reached"), **{"Retry-After": "30"}
    )
    fake_server.route(APPS_PATH, limited)
    clock = FakeMonotonic()
    runner = runner_of(whatsapp_check(fake_server.url), 5.0, clock)

    first = (await runner.run_cycle())["whatsapp"]
    held = (await runner.run_cycle())["whatsapp"]
    clock.now += 31
    fake_server.route(APPS_PATH, subscribed_apps(APP_ID))
    after = (await runner.run_cycle())["whatsapp"]

    assert first.reason is Reason.RATE_LIMITED
    assert "next_attempt_at" in first.outcome.details
    assert (held.reason, held.attempts) == (Reason.RATE_LIMITED, 0)
    assert after.status is Status.CONNECTED
    assert len(fake_server.requests_to(WABA_PATH)) == 2
    assert len(fake_server.requests_to(APPS_PATH)) == 2
