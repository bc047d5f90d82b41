"""Every HTTP check against every misbehaving upstream: one bounded reason, never a crash.

The provider files keep what is particular to each provider (its error codes, its connected
details, the request it sends); this module holds the answers no provider sends on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

import pytest

from monitor.checks.base import Check, Reason
from tests.checks import misbehaviours
from tests.checks.misbehaviours import CHECK_TIMEOUT, SLOW_CHECK_TIMEOUT
from tests.checks.test_email import DOMAINS_PATH, resend_check
from tests.checks.test_stripe import stripe_check
from tests.checks.test_supabase import supabase_check
from tests.checks.test_whatsapp import whatsapp_check
from tests.fakes.providers import (
    CUSTOMER_PATH,
    REST_ROOT,
    TABLE_PATH,
    WABA_PATH,
    graph_account,
    graph_error,
    postgrest_error,
    postgrest_root,
    postgrest_rows,
    resend_domains,
    resend_error,
    stripe_customer,
    stripe_error,
)
from tests.fakes.server import FakeServer, Reply
from tests.support.checks import failure_of


@dataclass(frozen=True)
class Provider:
    """One HTTP check as the matrix drives it: where it asks, and how it is built."""

    name: str
    path: str
    check: Callable[[str, float], Check]
    healthy_reply: Callable[[], Reply]
    # The provider's own error body, sent with the given 5xx status.
    server_error: Callable[[int], Reply]
    html_page_words: Callable[[int], tuple[str, ...]] = lambda status: (
        f"HTTP {status}",
        "text/html",
    )
    # False where a healthy answer's body is never read (the PostgREST root's description).
    reads_healthy_body: bool = True


@dataclass(frozen=True)
class Misbehaviour:
    """One way an upstream answers badly, and what the operator then sees."""

    name: str
    reply: Callable[[Provider], Reply]
    reason: Reason
    fragments: Callable[[Provider], tuple[str, ...]] = lambda provider: ()
    timeout: float = CHECK_TIMEOUT
    # A fault in the body of a 200 JSON answer, invisible to a check that reads no such body.
    in_healthy_body: bool = False
    # The wait the failure asks the runner to hold the target for.
    retry_after: float | None = None


PROVIDERS = [
    Provider(
        "whatsapp",
        WABA_PATH,
        lambda url, timeout: whatsapp_check(url, timeout=timeout),
        graph_account,
        lambda status: graph_error(2, "Service temporarily unavailable", status),
    ),
    Provider(
        "stripe",
        CUSTOMER_PATH,
        lambda url, timeout: stripe_check(url, timeout=timeout),
        stripe_customer,
        lambda status: stripe_error(status, "api_error", "Something went wrong on Stripe's end."),
        # The SDK reads a 2xx body itself: "not a Stripe answer", without the content type.
        html_page_words=lambda status: (
            (f"HTTP {status}", "text/html") if status >= 400 else (f"HTTP {status}",)
        ),
    ),
    Provider(
        "email",
        DOMAINS_PATH,
        lambda url, timeout: resend_check(url, timeout=timeout),
        lambda: resend_domains("verified"),
        lambda status: resend_error(status, "internal_server_error", "An unexpected error."),
    ),
    # Both Supabase probes: the one-row select on the health table, and the REST root.
    Provider(
        "supabase_table",
        TABLE_PATH,
        lambda url, timeout: supabase_check(url, timeout=timeout),
        postgrest_rows,
        lambda status: postgrest_error(status, "PGRST000", "Could not connect with the database"),
        # postgrest-py hands back a 2xx body it cannot parse instead of raising, so no status.
        html_page_words=lambda status: (
            (f"HTTP {status}", "text/html") if status >= 400 else ("not JSON rows",)
        ),
    ),
    Provider(
        "supabase_root",
        REST_ROOT,
        lambda url, timeout: supabase_check(url, table=None, timeout=timeout),
        postgrest_root,
        lambda status: postgrest_error(status, "PGRST000", "Could not connect with the database"),
        reads_healthy_body=False,
    ),
]


MISBEHAVIOURS = [
    # A 5xx in anyone's shape but the provider's: whoever stands in front of it is failing.
    Misbehaviour(
        "proxy_html_502",
        lambda provider: misbehaviours.proxy_error_page(502),
        Reason.UPSTREAM_ERROR,
        lambda provider: provider.html_page_words(502),
    ),
    Misbehaviour(
        "proxy_html_503_retry_after",
        lambda provider: misbehaviours.proxy_unavailable_page(retry_after="120"),
        Reason.UPSTREAM_ERROR,
        lambda provider: ("HTTP 503",),
        retry_after=120.0,
    ),
    Misbehaviour(
        "plain_text_500",
        lambda provider: misbehaviours.plain_text_error(500),
        Reason.UPSTREAM_ERROR,
        lambda provider: ("HTTP 500",),
    ),
    Misbehaviour(
        "gateway_json_502",
        lambda provider: misbehaviours.foreign_json_error(502),
        Reason.UPSTREAM_ERROR,
    ),
    # The same page with a non-5xx status: not the provider, and not a failure it reports.
    Misbehaviour(
        "proxy_html_200",
        lambda provider: misbehaviours.proxy_error_page(200),
        Reason.INVALID_RESPONSE,
        lambda provider: provider.html_page_words(200),
    ),
    Misbehaviour(
        "truncated_json",
        lambda provider: misbehaviours.truncated_json(),
        Reason.INVALID_RESPONSE,
        in_healthy_body=True,
    ),
    Misbehaviour(
        "closed_mid_body",
        lambda provider: misbehaviours.closed_mid_body(),
        Reason.CONNECTION,
        in_healthy_body=True,
    ),
    Misbehaviour("connection_reset", lambda provider: Reply(reset=True), Reason.CONNECTION),
    Misbehaviour(
        "body_over_cap",
        lambda provider: misbehaviours.oversized_json(),
        Reason.INVALID_RESPONSE,
        lambda provider: ("larger than",),
        in_healthy_body=True,
    ),
    Misbehaviour(
        "gzip_bomb",
        lambda provider: misbehaviours.gzip_bomb(),
        Reason.INVALID_RESPONSE,
        lambda provider: ("larger than",),
        in_healthy_body=True,
    ),
    Misbehaviour(
        "undecodable_gzip",
        lambda provider: misbehaviours.mislabelled_gzip(),
        Reason.INVALID_RESPONSE,
        lambda provider: ("gzip body that does not decode",),
        in_healthy_body=True,
    ),
    Misbehaviour(
        "slow_upstream",
        lambda provider: misbehaviours.slow(provider.healthy_reply()),
        Reason.TIMEOUT,
        timeout=SLOW_CHECK_TIMEOUT,
    ),
]

CASES = [
    pytest.param(provider, misbehaviour, id=f"{provider.name}-{misbehaviour.name}")
    for provider, misbehaviour in product(PROVIDERS, MISBEHAVIOURS)
    if provider.reads_healthy_body or not misbehaviour.in_healthy_body
]


@pytest.mark.parametrize(("provider", "misbehaviour"), CASES)
async def test_http_check__upstream_misbehaves(
    fake_server: FakeServer, provider: Provider, misbehaviour: Misbehaviour
) -> None:
    """A misbehaving upstream shows as one bounded reason, asked once, never a crash or a hang."""
    fake_server.route(provider.path, misbehaviour.reply(provider))

    failure = await failure_of(provider.check(fake_server.url, misbehaviour.timeout))

    assert failure.reason is misbehaviour.reason, failure.message
    for fragment in misbehaviour.fragments(provider):
        assert fragment in failure.message
    assert failure.retry_after == misbehaviour.retry_after
    assert len(fake_server.requests_to(provider.path)) == 1


@pytest.mark.parametrize("provider", PROVIDERS, ids=[provider.name for provider in PROVIDERS])
@pytest.mark.parametrize(("retry_after", "wait"), [("120", 120.0), ("86400", 3600.0), (None, None)])
async def test_http_check__provider_503_with_retry_after(
    fake_server: FakeServer, provider: Provider, retry_after: str | None, wait: float | None
) -> None:
    """A provider's own 503 is an upstream error whose Retry-After (at most an hour) is kept."""
    reply = provider.server_error(503)
    headers = {**reply.headers, **({"Retry-After": retry_after} if retry_after else {})}
    fake_server.route(provider.path, Reply(503, reply.body, headers))

    failure = await failure_of(provider.check(fake_server.url, CHECK_TIMEOUT))

    assert failure.reason is Reason.UPSTREAM_ERROR, failure.message
    assert failure.retry_after == wait


@pytest.mark.parametrize("provider", PROVIDERS, ids=[provider.name for provider in PROVIDERS])
async def test_http_check__connection_refused(provider: Provider) -> None:
    """Nothing listening at the provider's URL is a connection error that says so."""
    failure = await failure_of(provider.check(misbehaviours.refused_url(), CHECK_TIMEOUT))

    assert failure.reason is Reason.CONNECTION
    assert "could not connect" in failure.message
