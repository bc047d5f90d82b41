"""A WABA's phone numbers and subscribed apps, in the shapes the Graph API sends them.

- `phone_numbers` expanded on the account (`fields=...,phone_numbers.limit(100){...}`) is an edge:
  `{"data": [{id, display_phone_number, verified_name, status, quality_rating,
  whatsapp_business_manager_messaging_limit}], "paging": {"cursors": {...}, "next": ...}}`,
  `next` only when there is another page; an edge with nothing in it is left out of the answer.
- `GET /{version}/{WABA}/subscribed_apps` answers
  `{"data": [{"whatsapp_business_api_data": {"id", "link", "name"}}]}`.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.server import Reply

APP_ID = "670843887433847"
OTHER_APP_ID = "525650979155811"


def phone_number(
    n: int = 0,
    status: str = "CONNECTED",
    quality: str = "GREEN",
    limit: str = "TIER_2K",
    **extra: Any,
) -> dict[str, Any]:
    """Business phone number `n` as the expanded edge lists it."""
    return {
        "id": str(106540352242922 + n),
        "display_phone_number": f"+1 555-010-{n:04}",
        "verified_name": "Acme Support",
        "status": status,
        "quality_rating": quality,
        "whatsapp_business_manager_messaging_limit": limit,
        **extra,
    }


def numbers_edge(*numbers: dict[str, Any], more: bool = False) -> dict[str, Any]:
    """The expanded edge; `more` adds the cursor of a next page."""
    paging: dict[str, Any] = {"cursors": {"before": "QVFIUmFi", "after": "QVFIUnpx"}}
    if more:
        paging["next"] = (
            "https://graph.facebook.com/v25.0/104996542523987/phone_numbers?after=QVFIUnpx"
        )
    return {"data": list(numbers), "paging": paging}


def with_numbers(account: Reply, edge: Any) -> Reply:
    """`account` (a Graph account reply) with another phone_numbers edge; None leaves it out,
    as Graph does for an account without numbers."""
    body = json.loads(account.body)
    body.pop("phone_numbers", None)
    if edge is not None:
        body["phone_numbers"] = edge
    return Reply.json(account.status, body)


def subscribed_apps(*app_ids: str) -> Reply:
    """The subscribed_apps edge listing `app_ids`."""
    data = [
        {
            "whatsapp_business_api_data": {
                "id": app_id,
                "link": f"https://www.facebook.com/games/?app_id={app_id}",
                "name": f"App {app_id[-4:]}",
            }
        }
        for app_id in app_ids
    ]
    return Reply.json(200, {"data": data})


def subscribed_apps_path(account_path: str) -> str:
    """Where a WABA's subscribed apps are read."""
    return f"{account_path}/subscribed_apps"
