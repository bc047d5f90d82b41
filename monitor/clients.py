"""One pooled HTTP client per provider, shared by every check of that provider.

A check of one of thousands of organizations must not pay for a new client, a TLS handshake and
an SDK client each time: the pool keeps connections alive between checks, and its limits bound
how many sockets the fleet may hold open. Every request through a shared client is counted, per
integration, for `integration_provider_requests_total`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http.cookiejar import DefaultCookiePolicy

import httpx
import stripe
from pydantic import SecretStr

from monitor.checks.stripe import new_stripe_client
from monitor.checks.transport import new_http_client
from monitor.pacing import PacedTransport

# Enough connections for a full budget of checks in flight (budget x deadline), and no more.
MAX_CONNECTIONS = 100
# HTTP/2 where it measured cheaper per check (bench/http2_cpu.py: about a quarter less client
# CPU per request than HTTP/1.1 over TLS). Plain http:// URLs stay on HTTP/1.1.
HTTP2_INTEGRATIONS = frozenset({"whatsapp"})
KEEPALIVE_SECONDS = 30.0

RequestCounter = Callable[[str], None]


class ProviderClients:
    """The shared clients, made on first use and closed together.

    Args:
        timeout_seconds: the per-request timeout of every client (the check deadline).
        count_request: called with the integration's name for each request sent.
        spacing_seconds: per integration, the least time between two sends (its budget's).
    """

    def __init__(
        self,
        timeout_seconds: float,
        count_request: RequestCounter | None = None,
        spacing_seconds: Mapping[str, float] | None = None,
    ) -> None:
        self._timeout = timeout_seconds
        self._count_request = count_request
        self._spacing = dict(spacing_seconds or {})
        self._http: dict[str, httpx.AsyncClient] = {}
        self._stripe: stripe.StripeClient | None = None

    def http(self, integration: str) -> httpx.AsyncClient:
        """The pooled httpx client for one integration's provider."""
        client = self._http.get(integration)
        if client is None:
            client = new_http_client(
                self._timeout,
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS,
                    max_keepalive_connections=MAX_CONNECTIONS,
                    keepalive_expiry=KEEPALIVE_SECONDS,
                ),
                http2=integration in HTTP2_INTEGRATIONS,
                event_hooks={"request": [self._counter(integration)]},
                wrap=self._pacer(integration),
            )
            # One jar for every organization would hand cookies a provider set for one
            # organization's request to the next organization's: keep none.
            client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            self._http[integration] = client
        return client

    def stripe(self, key: SecretStr, api_url: str) -> stripe.StripeClient:
        """The SDK client for the platform's key, over the pooled Stripe connection."""
        if self._stripe is None:
            self._stripe = new_stripe_client(key, api_url, self.http("stripe"))
        return self._stripe

    async def aclose(self) -> None:
        """Close every pool."""
        for client in self._http.values():
            await client.aclose()
        self._http.clear()
        self._stripe = None

    def _pacer(
        self, integration: str
    ) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None:
        spacing = self._spacing.get(integration)
        if spacing is None:
            return None
        return lambda inner: PacedTransport(inner, spacing)

    def _counter(self, integration: str) -> Callable[[httpx.Request], object]:
        count = self._count_request

        async def on_request(_: httpx.Request) -> None:
            if count is not None:
                count(integration)

        return on_request
