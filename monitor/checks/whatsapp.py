"""WhatsApp Business: the Graph API lookup of the business account, its messaging health and
phone numbers (one request), and with WHATSAPP_APP_ID its webhook subscription (a second one).

The two requests go one after the other under the check's one deadline: the second is skipped
when the first already found the account in error, and the budget (two units) is taken before
the check starts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, Outcome, Reason
from monitor.checks.transport import (
    MAX_RETRY_AFTER_SECONDS,
    get_json,
    http_client_for_check,
    retry_after_seconds,
    unavailable_for,
    unexpected_body,
)
from monitor.checks.whatsapp_account import account_outcome
from monitor.checks.whatsapp_numbers import messaging_limit_field, phone_numbers_field
from monitor.checks.whatsapp_webhooks import require_subscribed, while_reading_subscriptions

PROVIDER = "the Meta Graph API"
ACCOUNT_FIELDS = "id,name,account_review_status,health_status"


def account_fields(graph_api_version: str) -> str:
    """The account's fields, its phone numbers expanded in the same request."""
    return f"{ACCOUNT_FIELDS},{phone_numbers_field(graph_api_version)}"


# Graph error codes, branched on `code` rather than the HTTP status because Meta returns
# most errors as 400 whatever their cause.
# https://developers.facebook.com/docs/graph-api/guides/error-handling
# https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes/
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007, 80008, 130429})
_REASON_BY_CODE = {
    190: Reason.AUTH,
    102: Reason.AUTH,
    3: Reason.PERMISSION,  # "API Method": a capability or permission the app lacks
    100: Reason.NOT_FOUND,
    368: Reason.BLOCKED,  # temporarily blocked for policy violations
    1: Reason.UPSTREAM_ERROR,
    2: Reason.UPSTREAM_ERROR,
}
# Code 100 with subcode 33 is Meta's "object does not exist, cannot be loaded due to missing
# permissions, or does not support this operation": Meta cannot tell us which, so neither can we.
_MISSING_OR_NOT_PERMITTED = (
    "the account does not exist, or the token lacks the permission to read it"
    " (whatsapp_business_management)"
)


@dataclass(frozen=True)
class WhatsAppSettings:
    """Where and as whom to ask Meta about one WhatsApp Business Account."""

    access_token: SecretStr | None = field(repr=False)
    business_account_id: str | None
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v25.0"
    # WHATSAPP_APP_ID: the Meta app that must be subscribed to the account's webhooks.
    app_id: str | None = None


class WhatsAppCheck:
    """Looks up the WABA, its `health_status` and phone numbers, and its subscribed apps."""

    def __init__(
        self,
        settings: WhatsAppSettings,
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._settings = settings
        self._timeout = timeout_seconds
        self._client = client  # shared and pooled; None: a client of its own per run

    async def run(self) -> Outcome:
        """Fetch the account and judge whether it can send (and receive) messages."""
        token, account_id = self._settings.access_token, self._settings.business_account_id
        if token is None or not account_id:
            missing = "WHATSAPP_ACCESS_TOKEN" if token is None else "WHATSAPP_BUSINESS_ACCOUNT_ID"
            return Outcome.not_configured(f"WhatsApp is not configured: {missing} is not set")
        version = self._settings.graph_api_version
        url = f"{self._settings.graph_api_url.rstrip('/')}/{version}/{account_id}"
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
        async with http_client_for_check(self._client, self._timeout) as client:
            account = await graph_get(
                client, url, headers, {"fields": account_fields(version)}, "without an account"
            )
            outcome = account_outcome(account, messaging_limit_field(version))
            if self._settings.app_id:
                await _require_subscription(client, url, headers, self._settings.app_id, outcome)
        return outcome


async def _require_subscription(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], app_id: str, outcome: Outcome
) -> None:
    """Read the account's subscribed apps; fail unless `app_id` is one of them."""
    try:
        body = await graph_get(
            client, f"{url}/subscribed_apps", headers, None, "without subscribed apps"
        )
    except CheckFailed as failure:
        raise while_reading_subscriptions(failure, outcome.details) from None
    require_subscribed(body, app_id, outcome.details)


async def graph_get(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None,
    missing: str,
) -> Mapping[str, Any]:
    """GET a Graph node or edge; its body, or the failure Graph's error (or the lack of a JSON
    object, `missing` saying what was expected) maps to."""
    reply = await get_json(client, url, provider=PROVIDER, headers=headers, params=params)
    if isinstance(reply.body, Mapping) and "error" in reply.body:
        raise graph_failure(reply.body["error"], reply.status_code, reply.headers)
    if reply.status_code != 200 or not isinstance(reply.body, Mapping):
        raise unexpected_body(PROVIDER, reply.status_code, reply.headers, missing)
    return reply.body


def graph_failure(
    error: Any, http_status: int, headers: Mapping[str, str] | None = None
) -> CheckFailed:
    """Map a Graph `{"error": {...}}` body to a failure, keeping fbtrace_id for Meta support."""
    headers = headers or {}
    if not isinstance(error, Mapping):
        return unexpected_body(PROVIDER, http_status, headers, "with a malformed error")
    code = error.get("code")
    details = {k: error[k] for k in ("code", "error_subcode", "fbtrace_id") if k in error}
    message = f"{PROVIDER} error {code}: {error.get('message') or 'no message'}"
    if code == 100 and error.get("error_subcode") == 33:
        message = f"{message} ({_MISSING_OR_NOT_PERMITTED})"
    reason = graph_reason(code if isinstance(code, int) else None, http_status)
    if reason is Reason.RATE_LIMITED:
        wait = graph_retry_after(headers)
    else:
        wait = unavailable_for(http_status, headers)
    return CheckFailed(reason, message, details, retry_after=wait)


def graph_retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait Meta asks for: Retry-After, or the business use case header's
    `estimated_time_to_regain_access` (in minutes), whichever is longer.

    https://developers.facebook.com/docs/graph-api/overview/rate-limiting#headers-2
    """
    waits = [retry_after_seconds(headers, datetime.now(UTC)) or 0.0]
    try:
        usage = json.loads(headers.get("x-business-use-case-usage") or "{}")
    except ValueError:
        usage = {}
    for entries in usage.values() if isinstance(usage, dict) else []:
        for entry in entries if isinstance(entries, list) else []:
            minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else 0
            if isinstance(minutes, int | float):
                waits.append(minutes * 60.0)
    longest = min(max(waits), MAX_RETRY_AFTER_SECONDS)
    return longest or None


def graph_reason(code: int | None, http_status: int) -> Reason:
    """The reason for a Graph error code; the HTTP status decides only when the code does not."""
    if code in _REASON_BY_CODE:
        return _REASON_BY_CODE[code]
    if code in _RATE_LIMIT_CODES:
        return Reason.RATE_LIMITED
    if code is not None and (code == 10 or 200 <= code <= 299):
        return Reason.PERMISSION
    if http_status == 429:
        return Reason.RATE_LIMITED
    return Reason.UPSTREAM_ERROR
