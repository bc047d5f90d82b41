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
    postgrest_root,
    postgrest_rows,
    resend_domains,
    stripe_customer,
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


PROVIDERS = [
    Provider(
        "whatsapp",
        WABA_PATH,
        lambda url, timeout: whatsapp_check(url, timeout=timeout),
        graph_account,
    ),
    Provider(
        "stripe",
        CUSTOMER_PATH,
        lambda url, timeout: stripe_check(url, timeout=timeout),
        stripe_customer,
        # The SDK reports "not a Stripe answer" without the content type that came instead.
        html_page_words=lambda status: (f"HTTP {status}",),
    ),
    Provider(
        "email",
        DOMAINS_PATH,
        lambda url, timeout: resend_check(url, timeout=timeout),
        lambda: resend_domains("verified"),
    ),
    # Both Supabase probes: the one-row select on the health table, and the REST root.
    Provider(
        "supabase_table",
        TABLE_PATH,
        lambda url, timeout: supabase_check(url, timeout=timeout),
        postgrest_rows,
        # postgrest-py hands back a 2xx body it cannot parse instead of raising, so no status.
        html_page_words=lambda status: (f"HTTP {status}",) if status >= 400 else ("not JSON rows",),
    ),
    Provider(
        "supabase_root",
        REST_ROOT,
        lambda url, timeout: supabase_check(url, table=None, timeout=timeout),
        postgrest_root,
        reads_healthy_body=False,
    ),
]


MISBEHAVIOURS = [
    Misbehaviour(
        "proxy_html_502",
        lambda provider: misbehaviours.proxy_error_page(502),
        Reason.INVALID_RESPONSE,
        lambda provider: provider.html_page_words(502),
    ),
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

    assert failure.reason is misbehaviour.reason
    for fragment in misbehaviour.fragments(provider):
        assert fragment in failure.message
    assert len(fake_server.requests_to(provider.path)) == 1


@pytest.mark.parametrize("provider", PROVIDERS, ids=[provider.name for provider in PROVIDERS])
async def test_http_check__connection_refused(provider: Provider) -> None:
    """Nothing listening at the provider's URL is a connection error that says so."""
    failure = await failure_of(provider.check(misbehaviours.refused_url(), CHECK_TIMEOUT))

    assert failure.reason is Reason.CONNECTION
    assert "could not connect" in failure.message
