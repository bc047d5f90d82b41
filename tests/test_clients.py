"""Shared provider clients: one keep-alive pool per provider, every request counted."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from pydantic import SecretStr

from monitor.checks.base import Status
from monitor.checks.stripe import StripeCheck, StripeSettings
from monitor.checks.whatsapp import WhatsAppCheck, WhatsAppSettings
from monitor.clients import ProviderClients
from tests.fakes.providers import CANARIES, CUSTOMER_ID, GRAPH_VERSION, WABA_ID
from tests.fakes.server import FakeServer, Reply


async def test_shared_clients__checks_reuse_one_connection_and_are_counted(
    fake_server: FakeServer,
) -> None:
    """Twenty checks of two providers open one connection each, and count twenty requests."""
    sent: Counter[str] = Counter()
    clients = ProviderClients(5.0, count_request=lambda name: sent.update([name]))
    token = SecretStr(CANARIES["WHATSAPP_ACCESS_TOKEN"])
    key = SecretStr(CANARIES["STRIPE_SECRET_KEY"])
    whatsapp = WhatsAppCheck(
        WhatsAppSettings(token, WABA_ID, fake_server.url, GRAPH_VERSION),
        5.0,
        clients.http("whatsapp"),
    )
    stripe = StripeCheck(
        StripeSettings(key, CUSTOMER_ID, fake_server.url), 5.0, clients.stripe(key, fake_server.url)
    )
    try:
        for _ in range(10):
            assert (await whatsapp.run()).status is Status.CONNECTED
            assert (await stripe.run()).status is Status.CONNECTED
    finally:
        await clients.aclose()
    assert sent == {"whatsapp": 10, "stripe": 10}
    assert fake_server.connections_accepted == 2


async def test_shared_clients__each_check_sends_its_own_token(fake_server: FakeServer) -> None:
    """Organizations share the pool, never each other's credentials."""
    clients = ProviderClients(5.0)
    shared = clients.http("whatsapp")
    try:
        for token in ("EAAGfirstOrgToken", "EAAGsecondOrgToken"):
            settings = WhatsAppSettings(SecretStr(token), WABA_ID, fake_server.url, GRAPH_VERSION)
            await WhatsAppCheck(settings, 5.0, shared).run()
    finally:
        await clients.aclose()
    sent = [r.headers["authorization"] for r in fake_server.requests]
    assert sent == ["Bearer EAAGfirstOrgToken", "Bearer EAAGsecondOrgToken"]


async def test_shared_clients__sends_are_spaced_even_when_granted_together(
    fake_server: FakeServer,
) -> None:
    """Ten requests let go at once still reach the provider a spacing apart."""
    clients = ProviderClients(5.0, spacing_seconds={"whatsapp": 0.05})
    shared = clients.http("whatsapp")
    settings = WhatsAppSettings(
        SecretStr(CANARIES["WHATSAPP_ACCESS_TOKEN"]), WABA_ID, fake_server.url, GRAPH_VERSION
    )
    try:
        await asyncio.gather(*(WhatsAppCheck(settings, 5.0, shared).run() for _ in range(10)))
    finally:
        await clients.aclose()
    arrivals = sorted(r.received_at for r in fake_server.requests)
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) > 0.03
    assert arrivals[-1] - arrivals[0] >= 0.4


async def test_shared_clients__keep_no_cookies_between_organizations(
    fake_server: FakeServer,
) -> None:
    """A cookie the provider sets for one organization's check is never sent with the next."""
    fake_server.route(
        "/v1/balance",
        Reply.json(200, {"object": "balance", "livemode": False}, {"Set-Cookie": "session=acme"}),
    )
    clients = ProviderClients(5.0)
    shared = clients.http("stripe")
    try:
        for _ in range(2):
            await shared.get(f"{fake_server.url}/v1/balance")
    finally:
        await clients.aclose()
    assert all("cookie" not in r.headers for r in fake_server.requests)
