"""Stripe: the official SDK, async over our capped httpx client, with its own retries off."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import httpx
import stripe
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, InvalidResponse, Outcome, Reason
from monitor.checks.transport import (
    TRANSPORT_ERRORS,
    failure_from_transport_error,
    new_http_client,
    parse_json_body,
    rate_limited,
    retry_after_seconds,
    unavailable_for,
    unexpected_body,
)

PROVIDER = "the Stripe API"


@dataclass(frozen=True)
class StripeSettings:
    """Which key to validate and, optionally, which customer must exist."""

    secret_key: SecretStr | None = field(repr=False)
    customer_id: str | None = None
    api_url: str = "https://api.stripe.com"
    # The platform's webhook endpoint, which must be enabled (organizations have none).
    webhook_endpoint_id: str | None = None


class MonitorHttpClient(stripe.HTTPClient):
    """Stripe's documented extension point for custom HTTP clients, over our httpx client.

    Going through our client gives the body cap and the one timeout policy every check shares.
    """

    name = "integration-monitor-httpx"

    def __init__(self, client: httpx.AsyncClient) -> None:
        super().__init__()
        self._client = client

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """Send one request.

        Failures are raised as our own CheckFailed, which the SDK lets through untouched: its
        APIConnectionError would keep the failure alive in its frames until a full collection.
        """
        try:
            response = await self._client.request(method, url, headers=headers, data=post_data)
        except TRANSPORT_ERRORS as exc:
            raise failure_from_transport_error(exc, PROVIDER) from None
        if response.status_code >= 400:
            _require_stripe_error_body(response)
        return response.content, response.status_code, response.headers

    def request(self, *args: Any, **kwargs: Any) -> NoReturn:
        """The monitor is async only."""
        raise NotImplementedError("use request_async")

    async def close_async(self) -> None:
        """The client belongs to the check, which closes it."""


def _require_stripe_error_body(response: httpx.Response) -> None:
    # The SDK assumes `error` is an object and fails with AttributeError on anything else.
    body = parse_json_body(response, PROVIDER)
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        return
    if response.status_code == 429:
        raise rate_limited(PROVIDER, response.headers)
    request_id = response.headers.get("request-id")
    raise unexpected_body(
        PROVIDER,
        response.status_code,
        response.headers,
        "with a body that is not a Stripe error",
        {"request_id": request_id} if request_id else None,
    )


class StripeCheck:
    """Retrieves the configured customer, or the balance when no customer is named; then the
    webhook endpoint, when one is named."""

    def __init__(
        self,
        settings: StripeSettings,
        timeout_seconds: float,
        client: stripe.StripeClient | None = None,
    ) -> None:
        self._settings = settings
        self._timeout = timeout_seconds
        # Shared, over a pooled HTTP client, with the same key; None: one of its own per run.
        self._client = client

    async def run(self) -> Outcome:
        """Validate the key (and the customer) against Stripe."""
        key = self._settings.secret_key
        if key is None:
            return Outcome.not_configured("Stripe is not configured: STRIPE_SECRET_KEY is not set")
        if self._client is not None:
            return await self._probe_mapped(self._client)
        async with new_http_client(self._timeout) as http:
            return await self._probe_mapped(new_stripe_client(key, self._settings.api_url, http))

    async def _probe_mapped(self, client: stripe.StripeClient) -> Outcome:
        try:
            return await self._probe(client)
        except stripe.StripeError as exc:
            raise stripe_failure(exc) from None

    async def _probe(self, client: stripe.StripeClient) -> Outcome:
        account = await self._account(client)
        endpoint_id = self._settings.webhook_endpoint_id
        if not endpoint_id:
            return account
        # Sent one after the other through the same client: the runner's deadline covers both.
        endpoint = await _retrieve_webhook_endpoint(client, endpoint_id)
        return webhook_endpoint_outcome(endpoint_id, endpoint, account)

    async def _account(self, client: stripe.StripeClient) -> Outcome:
        customer_id = self._settings.customer_id
        if customer_id:
            return customer_outcome(
                customer_id, await client.v1.customers.retrieve_async(customer_id)
            )
        balance = await client.v1.balance.retrieve_async()
        livemode = _field(balance, "livemode")
        if not isinstance(livemode, bool):
            raise InvalidResponse(f"{PROVIDER} answered the balance request without livemode")
        mode = "live" if livemode else "test"
        return Outcome.connected(f"Stripe {mode}-mode API key is valid", {"livemode": livemode})


def new_stripe_client(key: SecretStr, api_url: str, http: httpx.AsyncClient) -> stripe.StripeClient:
    """The SDK's client over our HTTP client, with the SDK's own retries off."""
    return stripe.StripeClient(
        key.get_secret_value(),
        base_addresses={"api": api_url.rstrip("/")},
        max_network_retries=0,
        http_client=MonitorHttpClient(http),
    )


def customer_outcome(customer_id: str, customer: Any) -> Outcome:
    """A retrieved customer is healthy unless Stripe says it was deleted."""
    if _field(customer, "id") != customer_id:
        raise InvalidResponse(f"{PROVIDER} answered without customer {customer_id}")
    if _field(customer, "deleted") is True:
        raise CheckFailed(
            Reason.NOT_FOUND,
            f"Stripe customer {customer_id} has been deleted",
            {"customer_id": customer_id},
        )
    details = {"customer_id": customer_id, "email": _field(customer, "email")}
    return Outcome.connected(f"Stripe customer {customer_id} is retrievable", details)


async def _retrieve_webhook_endpoint(client: stripe.StripeClient, endpoint_id: str) -> Any:
    """The endpoint, or a failure that says it was the endpoint request that failed."""
    try:
        return await client.v1.webhook_endpoints.retrieve_async(endpoint_id)
    except stripe.StripeError as exc:
        failure = stripe_failure(exc)
    except CheckFailed as exc:  # our HTTP client's own failures (timeout, a proxy's page)
        failure = exc
    if failure.reason is Reason.NOT_FOUND:
        message = (
            f"Stripe webhook endpoint {endpoint_id} does not exist"
            " (check STRIPE_WEBHOOK_ENDPOINT_ID and the key's mode)"
        )
    else:
        message = f"{failure.message} (reading webhook endpoint {endpoint_id})"
    details = {**failure.details, "webhook_endpoint": {"id": endpoint_id}}
    raise CheckFailed(failure.reason, message, details, retry_after=failure.retry_after)


def webhook_endpoint_outcome(endpoint_id: str, endpoint: Any, account: Outcome) -> Outcome:
    """The account's outcome, unless Stripe has disabled the endpoint it delivers events to."""
    status, url = _field(endpoint, "status"), _field(endpoint, "url")
    problem = None
    if _field(endpoint, "id") != endpoint_id:
        problem = f"answered without webhook endpoint {endpoint_id}"
    elif not isinstance(status, str) or not status:
        problem = f"answered webhook endpoint {endpoint_id} without a status"
    elif not isinstance(url, str):
        problem = f"answered webhook endpoint {endpoint_id} without a URL"
    if problem is not None:
        raise InvalidResponse(f"{PROVIDER} {problem}", _request_id_of(endpoint))
    # Provider text, bounded before it goes into a message ("enabled" or "disabled" today).
    status = status[:_MAX_STATUS_CHARS]
    details = {
        **account.details,
        "webhook_endpoint": {"id": endpoint_id, "status": status, "url": _shown_url(url)},
    }
    if status == "disabled":
        raise CheckFailed(
            Reason.MISCONFIGURED,
            f"Stripe disabled webhook endpoint {endpoint_id}, usually after failed deliveries:"
            " fix the receiver, then re-enable the endpoint in the Stripe dashboard",
            details,
        )
    return Outcome.connected(
        f"{account.message}; webhook endpoint {endpoint_id} is {status}", details
    )


_MAX_STATUS_CHARS = 64


def _request_id_of(obj: Any) -> dict[str, str]:
    # The SDK keeps the HTTP answer a StripeObject came from, with Stripe's request id.
    response = getattr(obj, "last_response", None)
    request_id = getattr(response, "request_id", None)
    return {"request_id": request_id} if isinstance(request_id, str) and request_id else {}


def _field(obj: Any, name: str) -> Any:
    # StripeObject is not a dict (since stripe 15); to_dict() is its documented way to read one.
    if isinstance(obj, stripe.StripeObject):
        obj = obj.to_dict()
    return obj.get(name) if isinstance(obj, Mapping) else None


def stripe_failure(exc: stripe.StripeError) -> CheckFailed:
    """Map one SDK exception to a failure, keeping Stripe's request id for support."""
    if isinstance(exc, stripe.APIConnectionError):
        # Our HTTP client raises CheckFailed itself; this is only the SDK's own fallback.
        return CheckFailed(Reason.CONNECTION, f"could not connect to {PROVIDER}")
    details = {"request_id": exc.request_id} if exc.request_id else {}
    said = exc.user_message or "no message"
    headers = exc.headers or {}
    if isinstance(exc, stripe.APIError) and not _has_error_body(exc):
        return unexpected_body(
            PROVIDER,
            exc.http_status or 0,
            headers,
            "with a body that is not a Stripe answer",
            details,
        )
    reason = stripe_reason(exc)
    if reason is Reason.RATE_LIMITED:
        wait = retry_after_seconds(headers, datetime.now(UTC))
    else:
        wait = unavailable_for(exc.http_status or 0, headers)
    return CheckFailed(reason, f"Stripe: {said}", details, retry_after=wait)


def stripe_reason(exc: stripe.StripeError) -> Reason:
    """The reason for an SDK exception class (and Stripe's error code where it matters)."""
    if isinstance(exc, stripe.AuthenticationError):
        return Reason.AUTH
    if isinstance(exc, stripe.PermissionError):
        return Reason.PERMISSION
    if isinstance(exc, stripe.RateLimitError):
        return Reason.RATE_LIMITED
    if isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing":
        return Reason.NOT_FOUND
    return Reason.UPSTREAM_ERROR


def _has_error_body(exc: stripe.StripeError) -> bool:
    body = exc.json_body
    return isinstance(body, Mapping) and isinstance(body.get("error"), Mapping)


def _shown_url(url: str) -> str:
    """The receiver's scheme, host and path: a query string or user info may hold a secret
    (some platforms sign their webhook URLs), and details are served without a token."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
