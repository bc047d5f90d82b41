"""Email: the Resend HTTP API, asked for the account's sending domains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from monitor.checks.base import (
    CheckFailed,
    InvalidResponse,
    Outcome,
    Reason,
    reason_for_http_status,
)
from monitor.checks.transport import (
    JsonReply,
    get_json,
    new_http_client,
    retry_after_seconds,
    unavailable_for,
    unexpected_body,
)

PROVIDER = "the Resend API"


@dataclass(frozen=True)
class ResendSettings:
    """The Resend key to validate and where the API lives."""

    api_key: SecretStr | None = field(repr=False)
    api_url: str = "https://api.resend.com"


class ResendCheck:
    """Lists the domains: a valid full-access key answers with them."""

    def __init__(self, settings: ResendSettings, timeout_seconds: float) -> None:
        self._settings = settings
        self._timeout = timeout_seconds

    async def run(self) -> Outcome:
        """Validate the key and count verified sending domains."""
        key = self._settings.api_key
        if key is None:
            return Outcome.not_configured("Email is not configured: RESEND_API_KEY is not set")
        async with new_http_client(self._timeout) as client:
            reply = await get_json(
                client,
                f"{self._settings.api_url.rstrip('/')}/domains",
                provider=PROVIDER,
                headers={"Authorization": f"Bearer {key.get_secret_value()}"},
            )
        if reply.status_code == 200:
            return domains_outcome(reply.body)
        return error_outcome(reply)


def domains_outcome(body: Any) -> Outcome:
    """Count the domains and the verified ones; none verified means mail cannot be sent."""
    domains = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(domains, list):
        raise InvalidResponse(f"{PROVIDER} answered without a list of domains")
    verified = sum(1 for d in domains if isinstance(d, Mapping) and d.get("status") == "verified")
    details = {"domains": len(domains), "verified_domains": verified}
    if verified == 0:
        return Outcome.connected(
            "Resend API key is valid, but no sending domain is verified", details
        )
    return Outcome.connected(
        f"Resend API key is valid; {verified} of {len(domains)} domains verified", details
    )


def error_outcome(reply: JsonReply) -> Outcome:
    """Resend's `{"statusCode","name","message"}` errors; a sending-only key is still healthy."""
    body = reply.body if isinstance(reply.body, Mapping) else {}
    name, said = body.get("name"), body.get("message")
    if not isinstance(name, str):
        raise unexpected_body(PROVIDER, reply.status_code, reply.headers, "without an error name")
    if reply.status_code == 401 and name == "restricted_api_key":
        return Outcome.connected(
            "Resend API key is valid but restricted to sending emails", {"access": "sending"}
        )
    reason = resend_reason(reply.status_code)
    if reason is Reason.RATE_LIMITED:
        wait = retry_after_seconds(reply.headers, datetime.now(UTC))
    else:
        wait = unavailable_for(reply.status_code, reply.headers)
    raise CheckFailed(reason, f"Resend: {said or name} ({name})", retry_after=wait)


def resend_reason(http_status: int) -> Reason:
    """Resend errors by HTTP status: 400, 401 and 403 are all about the key."""
    return reason_for_http_status(http_status, {400: Reason.AUTH, 403: Reason.AUTH})
