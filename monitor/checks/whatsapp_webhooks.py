"""Whether the platform's Meta app receives the account's webhooks (contract §11, WHATSAPP_APP_ID).

An account whose numbers send fine still loses every incoming message when the app that should
receive them is not subscribed to its webhooks: Meta delivers nothing, and nothing else says so.

`GET /{version}/{WABA}/subscribed_apps` answers
`{"data": [{"whatsapp_business_api_data": {"id", "link", "name"}}, ...]}`. The reference names no
parameters for it, so none is sent; one page holds the few apps an account subscribes.
https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/subscribed_apps/
https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/manage-webhooks
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.checks.base import CheckFailed, InvalidResponse, JsonDetails, Reason

PROVIDER = "the Meta Graph API"


def subscribed_app_ids(body: Mapping[str, Any]) -> set[str]:
    """The ids of the apps subscribed to the account's webhooks.

    Raises:
        InvalidResponse: the answer is not in Graph's shape.
    """
    entries = body.get("data")
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InvalidResponse(f"{PROVIDER} answered with subscribed apps that are not a list")
    ids = set()
    for entry in entries:
        app = entry.get("whatsapp_business_api_data")
        if isinstance(app, Mapping) and app.get("id") is not None:
            ids.add(str(app["id"]))
    return ids


def require_subscribed(body: Mapping[str, Any], app_id: str, details: JsonDetails) -> None:
    """Fail with `misconfigured` when `app_id` is not among the subscribed apps.

    Raises:
        CheckFailed: misconfigured, or invalid_response for a body not in Graph's shape.
    """
    if app_id not in subscribed_app_ids(body):
        raise CheckFailed(
            Reason.MISCONFIGURED,
            f"the app {app_id} is not subscribed to the account's webhooks:"
            " incoming messages would never arrive",
            details,
        )


def while_reading_subscriptions(failure: CheckFailed, details: JsonDetails) -> CheckFailed:
    """A failure of the subscribed_apps request, saying which request failed and keeping what
    the account request found (its phone numbers still count in the metrics)."""
    return CheckFailed(
        failure.reason,
        f"{failure.message} (reading the account's subscribed apps)",
        {**details, **failure.details},
        retry_after=failure.retry_after,
    )
