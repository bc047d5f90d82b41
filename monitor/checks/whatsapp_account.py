"""Judging one WhatsApp Business Account from its fields: health, review, phone numbers.

Precedence, most fundamental first: the account's own health (BLOCKED) and review (REJECTED)
stop everything whatever the numbers; then the numbers (none, or none that can send); then the
warnings a connected account carries in its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.checks.base import CheckFailed, InvalidResponse, Outcome, Reason
from monitor.checks.whatsapp_numbers import (
    PhoneNumbers,
    none_can_send_message,
    numbers_notes,
    parse_phone_numbers,
)

PROVIDER = "the Meta Graph API"

# account_review_status: REJECTED "cannot be used with our APIs"; PENDING and DEFERRED are
# decisions not taken yet. The account's health_status says whether it can send meanwhile.
# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_review_update/
_REVIEW_REJECTED = "REJECTED"
_REVIEW_UNDECIDED = frozenset({"PENDING", "DEFERRED"})


def account_outcome(account: Mapping[str, Any], limit_field: str) -> Outcome:
    """Judge a WABA from its fields: BLOCKED, a rejected review, no phone number or none that
    can send is an error; LIMITED, an undecided review and numbers at risk are warnings in the
    message.

    Args:
        account: the Graph answer for the account, its phone_numbers edge expanded.
        limit_field: the phone number field holding its messaging limit in this Graph version.

    Raises:
        CheckFailed: the account cannot send; its details carry the numbers read.
    """
    if not isinstance(account.get("id"), str):
        raise InvalidResponse(f"{PROVIDER} answered without an account id")
    numbers = parse_phone_numbers(account, limit_field)
    details = _details(account, numbers)
    health = account.get("health_status")
    health = health if isinstance(health, Mapping) else {}
    can_send = health.get("can_send_message")
    review = details.get("account_review_status")
    name = account.get("name") or account["id"]
    if can_send == "BLOCKED":
        raise CheckFailed(Reason.BLOCKED, blocked_message(name, health), details)
    if review == _REVIEW_REJECTED:
        raise CheckFailed(Reason.BLOCKED, rejected_message(name), details)
    if not numbers.numbers:
        message = f"no phone number is registered to WhatsApp Business Account {name}"
        raise CheckFailed(Reason.NOT_FOUND, message, details)
    if not numbers.sendable:
        raise CheckFailed(Reason.BLOCKED, none_can_send_message(name, numbers), details)
    return Outcome.connected(connected_message(name, can_send, review, numbers), details)


def _details(account: Mapping[str, Any], numbers: PhoneNumbers) -> dict[str, Any]:
    details: dict[str, Any] = {"account_id": account["id"], "account_name": account.get("name")}
    review = account.get("account_review_status")
    if isinstance(review, str):
        details["account_review_status"] = review
    health = account.get("health_status")
    can_send = health.get("can_send_message") if isinstance(health, Mapping) else None
    if can_send is not None:
        details["can_send_message"] = can_send
    return {**details, **numbers.details()}


def rejected_message(name: str) -> str:
    """Meta's review rejected the account: no messaging through the API until it is reviewed."""
    return (
        f"WhatsApp Business Account {name} was rejected by Meta's account review"
        " and cannot be used with the API"
    )


def connected_message(name: str, can_send: Any, review: Any, numbers: PhoneNumbers) -> str:
    """What a reachable account can do, from how many numbers, and what puts it at risk."""
    sendable = len(numbers.sendable)
    if can_send == "LIMITED":
        message = f"WhatsApp Business Account {name} is reachable, but messaging is limited"
    else:
        message = f"WhatsApp Business Account {name} can send messages"
    if sendable == len(numbers.numbers) and not numbers.more:
        message = f"{message} ({sendable} phone number{'' if sendable == 1 else 's'})"
    else:
        message = f"{message} ({sendable} of {numbers.count_text} phone numbers can send)"
    notes = numbers_notes(numbers)
    if review in _REVIEW_UNDECIDED:
        notes.append(f"Meta's account review is {review.lower()}")
    return "; ".join([message, *notes])


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
