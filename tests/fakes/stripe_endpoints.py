"""Stripe's webhook endpoint object and its errors, as `GET /v1/webhook_endpoints/{id}` answers.

Shapes follow Stripe's API reference: the endpoint object (no `secret`: Stripe shows it only on
creation), and the `{"error": {...}}` envelope with the `Request-Id` header.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.server import Reply

ENDPOINT_ID = "we_1Mr5jULkdIwHu7ixlzGSUVD8"
ENDPOINT_PATH = f"/v1/webhook_endpoints/{ENDPOINT_ID}"
ENDPOINT_URL = "https://platform.example.com/hooks/stripe"
REQUEST_ID = "req_we7Hq2LmRt"


def webhook_endpoint(
    status: str = "enabled", *, drop: tuple[str, ...] = (), **overrides: Any
) -> Reply:
    """The endpoint as Stripe returns it, with fields replaced by `overrides` or left out."""
    body: dict[str, Any] = {
        "id": ENDPOINT_ID,
        "object": "webhook_endpoint",
        "api_version": None,
        "application": None,
        "created": 1680122196,
        "description": "Platform events",
        "enabled_events": ["customer.subscription.updated", "invoice.payment_failed"],
        "livemode": False,
        "metadata": {},
        "status": status,
        "url": ENDPOINT_URL,
    }
    body.update(overrides)
    for name in drop:
        del body[name]
    return Reply.json(200, body, {"Request-Id": REQUEST_ID})


def webhook_endpoint_missing() -> Reply:
    """What Stripe answers for an endpoint id that does not exist (or was deleted)."""
    error = {
        "code": "resource_missing",
        "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
        "message": f"No such webhook endpoint: '{ENDPOINT_ID}'",
        "param": "webhook_endpoint",
        "request_log_url": f"https://dashboard.stripe.com/test/logs/{REQUEST_ID}",
        "type": "invalid_request_error",
    }
    return Reply.json(404, {"error": error}, {"Request-Id": REQUEST_ID})


def webhook_endpoint_rate_limited(retry_after: str | None = None) -> Reply:
    """Stripe's 429, with the Retry-After it may send."""
    error = {
        "code": "rate_limit",
        "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
        "message": "Too many requests hit the API too quickly.",
        "type": "invalid_request_error",
    }
    headers = {"Request-Id": REQUEST_ID}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return Reply.json(429, {"error": error}, headers)
