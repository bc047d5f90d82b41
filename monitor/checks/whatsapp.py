"""WhatsApp Business: the Graph API lookup of the business account and its messaging health."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from monitor.checks.base import CheckFailed, InvalidResponse, Outcome, Reason
from monitor.checks.transport import (
    MAX_RETRY_AFTER_SECONDS,
    get_json,
    http_client_for_check,
    retry_after_seconds,
    unavailable_for,
    unexpected_body,
)

PROVIDER = "the Meta Graph API"
ACCOUNT_FIELDS = "id,name,account_review_status,health_status"

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

# account_review_status: REJECTED "cannot be used with our APIs"; PENDING and DEFERRED are
# decisions not taken yet. The account's health_status says whether it can send meanwhile.
# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_review_update/
_REVIEW_REJECTED = "REJECTED"
_REVIEW_UNDECIDED = frozenset({"PENDING", "DEFERRED"})


@dataclass(frozen=True)
class WhatsAppSettings:
    """Where and as whom to ask Meta about one WhatsApp Business Account."""

    access_token: SecretStr | None = field(repr=False)
    business_account_id: str | None
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v25.0"


class WhatsAppCheck:
    """Looks up the WABA and reads its `health_status`."""

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
        """Fetch the account and judge whether it can send messages."""
        token, account_id = self._settings.access_token, self._settings.business_account_id
        if token is None or not account_id:
            missing = "WHATSAPP_ACCESS_TOKEN" if token is None else "WHATSAPP_BUSINESS_ACCOUNT_ID"
            return Outcome.not_configured(f"WhatsApp is not configured: {missing} is not set")
        base = self._settings.graph_api_url.rstrip("/")
        url = f"{base}/{self._settings.graph_api_version}/{account_id}"
        async with http_client_for_check(self._client, self._timeout) as client:
            reply = await get_json(
                client,
                url,
                provider=PROVIDER,
                headers={"Authorization": f"Bearer {token.get_secret_value()}"},
                params={"fields": ACCOUNT_FIELDS},
            )
        if isinstance(reply.body, Mapping) and "error" in reply.body:
            raise graph_failure(reply.body["error"], reply.status_code, reply.headers)
        if reply.status_code != 200 or not isinstance(reply.body, Mapping):
            raise unexpected_body(PROVIDER, reply.status_code, reply.headers, "without an account")
        return account_outcome(reply.body)


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


def account_outcome(account: Mapping[str, Any]) -> Outcome:
    """Judge a WABA from its fields: BLOCKED or a rejected review is an error; LIMITED and an
    undecided review are warnings in the message."""
    if not isinstance(account.get("id"), str):
        raise InvalidResponse(f"{PROVIDER} answered without an account id")
    details: dict[str, Any] = {"account_id": account["id"], "account_name": account.get("name")}
    review = account.get("account_review_status")
    review = review if isinstance(review, str) else None
    if review is not None:
        details["account_review_status"] = review
    health = account.get("health_status")
    health = health if isinstance(health, Mapping) else {}
    can_send = health.get("can_send_message")
    if can_send is not None:
        details["can_send_message"] = can_send
    name = account.get("name") or account["id"]
    if can_send == "BLOCKED":
        raise CheckFailed(Reason.BLOCKED, blocked_message(name, health), details)
    if review == _REVIEW_REJECTED:
        raise CheckFailed(Reason.BLOCKED, rejected_message(name), details)
    return Outcome.connected(connected_message(name, can_send, review), details)


def rejected_message(name: str) -> str:
    """Meta's review rejected the account: no messaging through the API until it is reviewed."""
    return (
        f"WhatsApp Business Account {name} was rejected by Meta's account review"
        " and cannot be used with the API"
    )


def connected_message(name: str, can_send: Any, review: str | None) -> str:
    """What a reachable account can do, and whether Meta has yet to decide on its review."""
    if can_send == "LIMITED":
        message = f"WhatsApp Business Account {name} is reachable, but messaging is limited"
    else:
        message = f"WhatsApp Business Account {name} can send messages"
    if review in _REVIEW_UNDECIDED:
        message = f"{message}; Meta's account review is {review.lower()}"
    return message


def blocked_message(name: str, health: Mapping[str, Any]) -> str:
    """Name the blocked entity and Meta's stated error, when Meta gives them."""
    blocked = next(
        (
            entity
            for entity in _list(health.get("entities"))
            if isinstance(entity, Mapping) and entity.get("can_send_message") == "BLOCKED"
        ),
        None,
    )
    if blocked is None:
        return f"WhatsApp Business Account {name} is blocked from sending messages"
    entity = f"{blocked.get('entity_type', 'entity')} {blocked.get('id', '')}".strip()
    errors = [e for e in _list(blocked.get("errors")) if isinstance(e, Mapping)]
    said = f": {errors[0].get('error_description')}" if errors else ""
    return f"messaging is blocked at {entity}{said}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
