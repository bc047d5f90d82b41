"""Email: RESEND_DOMAIN must be listed and verified; the listing is followed page after page."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from monitor.checks.base import Outcome, Reason, Status
from monitor.checks.email import MAX_PAGES, ResendCheck, ResendSettings
from monitor.config import load_settings
from monitor.daemon import build_runner
from tests.checks.misbehaviours import CHECK_TIMEOUT
from tests.fakes.providers import CANARIES, provider_env, resend_error
from tests.fakes.resend_domains import DomainListing, domain, endless_listing, numbered_domains
from tests.fakes.server import FakeServer, Reply, Request, Responder
from tests.support.checks import failure_of

API_KEY = CANARIES["RESEND_API_KEY"]
DOMAINS_PATH = "/domains"
SENDING_DOMAIN = "mail.acme-support.com"


def domain_check(
    fake_server: FakeServer, listing: Responder, *, sending_domain: str | None = SENDING_DOMAIN
) -> ResendCheck:
    """The check with RESEND_DOMAIN set to `sending_domain`, the fake answering with `listing`."""
    fake_server.route(DOMAINS_PATH, listing)
    settings = ResendSettings(SecretStr(API_KEY), fake_server.url, domain=sending_domain)
    return ResendCheck(settings, timeout_seconds=CHECK_TIMEOUT)


def account_with(status: str, *, others: int = 2) -> DomainListing:
    """An account with a few other verified domains and the sending domain in `status`."""
    return DomainListing(
        [*numbered_domains(others), domain(SENDING_DOMAIN, status, region="eu-west-1")]
    )


def query_of(request: Request) -> dict[str, str]:
    return {name: values[0] for name, values in request.query.items()}


# --- the sending domain -------------------------------------------------------------------


async def test_sending_domain__verified(fake_server: FakeServer) -> None:
    """A verified sending domain is connected; the card shows its name, status and region."""
    outcome = await domain_check(fake_server, account_with("verified")).run()

    assert outcome == Outcome.connected(
        f"Resend API key is valid; sending domain {SENDING_DOMAIN} is verified",
        {
            "domains": 3,
            "verified_domains": 3,
            "domain": {"name": SENDING_DOMAIN, "status": "verified", "region": "eu-west-1"},
        },
    )


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        ("pending", "still looking for its DNS records"),
        ("not_started", "start the verification"),
        ("failed", "fix them"),
        ("temporary_failure", "for now"),
        ("partially_verified", "some of its DNS records"),
    ],
)
async def test_sending_domain__not_verified(
    fake_server: FakeServer, status: str, hint: str
) -> None:
    """A sending domain that is not verified is misconfigured, the message giving its status."""
    failure = await failure_of(domain_check(fake_server, account_with(status)))

    assert failure.reason is Reason.MISCONFIGURED
    assert f"Resend sending domain {SENDING_DOMAIN} is {status}, not verified" in failure.message
    assert hint in failure.message
    assert failure.details["domain"] == {
        "name": SENDING_DOMAIN,
        "status": status,
        "region": "eu-west-1",
    }
    assert failure.details["verified_domains"] == 2


async def test_sending_domain__unknown_status_reported_as_it_comes(fake_server: FakeServer) -> None:
    """A status Resend adds later is shown as Resend wrote it, and is not taken as verified."""
    failure = await failure_of(domain_check(fake_server, account_with("under_review")))

    assert failure.reason is Reason.MISCONFIGURED
    assert failure.message == (
        f"Resend sending domain {SENDING_DOMAIN} is under_review, not verified:"
        " mail from it is not sent"
    )
    assert failure.details["domain"]["status"] == "under_review"


async def test_sending_domain__absent(fake_server: FakeServer) -> None:
    """A sending domain the account does not have is not_found, naming it and the variable."""
    failure = await failure_of(domain_check(fake_server, DomainListing(numbered_domains(3))))

    assert failure.reason is Reason.NOT_FOUND
    assert SENDING_DOMAIN in failure.message
    assert "RESEND_DOMAIN" in failure.message
    assert failure.details == {"domains": 3, "verified_domains": 3}


async def test_sending_domain__name_matched_without_case(fake_server: FakeServer) -> None:
    """Domain names are case-insensitive: Resend's spelling need not match the variable's."""
    listing = DomainListing([domain(SENDING_DOMAIN.upper(), "verified")])

    outcome = await domain_check(fake_server, listing).run()

    assert outcome.status is Status.CONNECTED


async def test_sending_domain__restricted_key_cannot_tell(fake_server: FakeServer) -> None:
    """A sending-only key cannot list domains: with RESEND_DOMAIN set that is a permission
    error saying the domain's status could not be read, so nobody takes it for verified."""
    refusal = resend_error(
        401, "restricted_api_key", "This API key is restricted to only send emails"
    )

    outcome = await domain_check(fake_server, refusal).run()

    assert outcome.status is Status.ERROR
    assert outcome.reason is Reason.PERMISSION
    assert f"cannot read the status of {SENDING_DOMAIN}" in outcome.message
    assert "full-access key" in outcome.message


async def test_sending_domain__from_the_environment(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RESEND_DOMAIN, in any case, reaches the daemon's email check."""
    fake_server.route(DOMAINS_PATH, account_with("pending"))
    for name, value in provider_env(fake_server).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MONITOR_INTEGRATIONS", "email")
    monkeypatch.setenv("RESEND_DOMAIN", SENDING_DOMAIN.upper())

    result = (await build_runner(load_settings()).run_cycle())["email"]

    assert result.reason is Reason.MISCONFIGURED
    assert SENDING_DOMAIN in result.outcome.message


# --- pages --------------------------------------------------------------------------------


async def test_listing__one_request_when_resend_answers_everything(fake_server: FakeServer) -> None:
    """Resend lists every domain at once when no limit is asked: one request, no parameters."""
    await domain_check(fake_server, account_with("verified")).run()

    (request,) = fake_server.requests_to(DOMAINS_PATH)
    assert request.query == {}


async def test_sending_domain__on_the_second_page(fake_server: FakeServer) -> None:
    """When Resend pages anyway, the next page is asked after the last id, at most 100 a page."""
    others = numbered_domains(22)
    listing = DomainListing([*others, domain(SENDING_DOMAIN, "verified")], default_limit=20)

    outcome = await domain_check(fake_server, listing).run()

    assert outcome.status is Status.CONNECTED
    assert outcome.details["domains"] == 23
    first, second = fake_server.requests_to(DOMAINS_PATH)
    assert query_of(first) == {}
    assert query_of(second) == {"limit": "100", "after": others[19]["id"]}


async def test_listing__counts_cover_every_page(fake_server: FakeServer) -> None:
    """Without RESEND_DOMAIN, the counts are of the whole account, not of the first page."""
    domains = [*numbered_domains(30), *numbered_domains(15, "pending", start=30)]
    listing = DomainListing(domains, default_limit=20)

    outcome = await domain_check(fake_server, listing, sending_domain=None).run()

    assert outcome.details == {"domains": 45, "verified_domains": 30}
    assert len(fake_server.requests_to(DOMAINS_PATH)) == 2


async def test_listing__that_never_ends_stops_at_the_page_cap(fake_server: FakeServer) -> None:
    """A listing whose pages never end is an invalid response after the cap, not a hang."""
    failure = await failure_of(domain_check(fake_server, endless_listing))

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message == (
        f"the Resend API listed domains for {MAX_PAGES} pages without reaching the end"
    )
    assert len(fake_server.requests_to(DOMAINS_PATH)) == MAX_PAGES


def second_page(body: Any) -> Responder:
    """A first page of 20 that says more follow, then `body` as the second page."""
    first = Reply.json(200, {"object": "list", "has_more": True, "data": numbered_domains(20)})

    def respond(request: Request) -> Reply:
        return Reply.json(200, body) if request.query.get("after") else first

    return respond


MALFORMED_PAGES = [
    pytest.param({"object": "list", "has_more": False, "data": "none"}, id="data-not-a-list"),
    pytest.param({"object": "list", "has_more": "no", "data": []}, id="has-more-not-a-bool"),
    pytest.param({"object": "list", "has_more": True, "data": []}, id="more-but-empty"),
    pytest.param(
        {"object": "list", "has_more": True, "data": [{"name": "x.example.com"}]},
        id="more-but-no-cursor",
    ),
    pytest.param(
        {"object": "list", "has_more": False, "data": [{"id": "d1", "name": SENDING_DOMAIN}]},
        id="domain-without-status",
    ),
]


@pytest.mark.parametrize("body", MALFORMED_PAGES)
async def test_listing__malformed_page(fake_server: FakeServer, body: Any) -> None:
    """A page that is not what Resend sends is invalid_response, in one plain sentence."""
    failure = await failure_of(domain_check(fake_server, second_page(body)))

    assert failure.reason is Reason.INVALID_RESPONSE
    assert failure.message.startswith("the Resend API ")
    assert "Traceback" not in failure.message


async def test_listing__rate_limited_on_a_later_page(fake_server: FakeServer) -> None:
    """A 429 on a later page is rate_limited, with the wait Resend asked for."""
    limited = resend_error(429, "rate_limit_exceeded", "Too many requests")
    limited = Reply(limited.status, limited.body, {**limited.headers, "ratelimit-reset": "1"})
    listing = DomainListing(numbered_domains(30), default_limit=20)

    def respond(request: Request) -> Reply:
        return limited if request.query.get("after") else listing(request)

    failure = await failure_of(domain_check(fake_server, respond))

    assert failure.reason is Reason.RATE_LIMITED
    assert failure.retry_after == 1
