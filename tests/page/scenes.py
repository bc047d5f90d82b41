"""Provider answers the page tests put the daemon in front of."""

from __future__ import annotations

import dataclasses

from tests.fakes.providers import CUSTOMER_PATH, provider_env, stripe_customer, stripe_error
from tests.fakes.server import FakeServer

# A provider's message with markup in it: the page must show it as text, never run it.
HOSTILE_MESSAGE = 'Invalid API key <img src="x" id="injected" onerror="document.title=1">'


def platform_env(fake_server: FakeServer, **extra: str) -> dict[str, str]:
    """All four integrations against the fake, with a quiet schedule unless told otherwise."""
    return {**provider_env(fake_server), "MONITOR_INTERVAL_SECONDS": "300", **extra}


def stripe_rejects_key(
    fake_server: FakeServer, delay: float = 0.0, message: str = HOSTILE_MESSAGE
) -> None:
    """Stripe answers 401 for the customer (by default with markup in its message)."""
    reply = stripe_error(401, "invalid_request_error", message)
    fake_server.route(CUSTOMER_PATH, dataclasses.replace(reply, delay=delay))


def stripe_healthy(fake_server: FakeServer, delay: float = 0.0) -> None:
    """Stripe answers with the customer again."""
    fake_server.route(CUSTOMER_PATH, dataclasses.replace(stripe_customer(), delay=delay))
