"""A WhatsApp Business Account's phone numbers: read with the account in one request (Graph's
field expansion), and what they say about sending (contract §11).

An account can answer while none of its numbers can send; the numbers are where that shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.checks.base import InvalidResponse

PROVIDER = "the Meta Graph API"
# The first page is enough: Meta caps the numbers of one account (`max_phone_numbers_per_waba`
# in its business_capability_update webhook), and an account with more than a page is reported
# as "100+" rather than paged through at one more request, and budget unit, per 100 numbers.
PAGE_SIZE = 100
# A number can send while CONNECTED, and while FLAGGED (low quality: Meta warns for 7 days before
# lowering its limit). Every other status (PENDING, RESTRICTED, BANNED, DISCONNECTED, DELETED,
# MIGRATED, UNVERIFIED, RATE_LIMITED, and whatever Meta adds) is taken as not sending.
# https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account-to-number-current-status/
SENDING_STATUSES = frozenset({"CONNECTED", "FLAGGED"})
# quality_rating: GREEN, YELLOW, RED, and NA (not rated yet) or UNKNOWN; anything else Meta may
# send is UNKNOWN too, so the metric's label set stays bounded.
QUALITIES = ("GREEN", "YELLOW", "RED", "UNKNOWN")
_FIRST_VERSION_WITHOUT_TIER = 24
_VERSION = re.compile(r"^v(\d+)(?:\.\d+)?$")


def messaging_limit_field(graph_api_version: str) -> str:
    """The phone number field that holds its messaging limit in this Graph API version.

    Meta deprecated `messaging_limit_tier` when messaging limits moved to the business portfolio
    (October 2025): v24.0 and newer answer `whatsapp_business_manager_messaging_limit` instead,
    and asking a version for a field it no longer has fails the whole request.
    https://developers.facebook.com/docs/whatsapp/messaging-limits ("Checking your limit: Via API")
    A version we cannot read is taken as a new one.
    """
    match = _VERSION.match(graph_api_version.strip())
    if match is not None and int(match.group(1)) < _FIRST_VERSION_WITHOUT_TIER:
        return "messaging_limit_tier"
    return "whatsapp_business_manager_messaging_limit"


def phone_numbers_field(graph_api_version: str) -> str:
    """The `fields` entry that expands the account's phone_numbers edge, first page only."""
    subfields = ",".join(
        (
            "id",
            "display_phone_number",
            "verified_name",
            "status",
            "quality_rating",
            messaging_limit_field(graph_api_version),
        )
    )
    return f"phone_numbers.limit({PAGE_SIZE}){{{subfields}}}"


@dataclass(frozen=True)
class PhoneNumber:
    """One business phone number, its values as Meta sent them."""

    id: str | None
    display_phone_number: str | None
    status: str | None
    quality_rating: str | None
    messaging_limit_tier: str | None

    @property
    def can_send(self) -> bool:
        """Whether the number can send messages now."""
        return self.status in SENDING_STATUSES

    @property
    def at_risk(self) -> bool:
        """Sending now, but with a RED quality or FLAGGED: Meta may lower its limit or stop it."""
        return self.quality_rating == "RED" or self.status == "FLAGGED"

    @property
    def label(self) -> str:
        """How a message names the number."""
        return self.display_phone_number or self.id or "a number without an id"

    def to_json(self) -> dict[str, str | None]:
        """The number in `details.phone_numbers`."""
        return {
            "id": self.id,
            "display_phone_number": self.display_phone_number,
            "status": self.status,
            "quality_rating": self.quality_rating,
            "messaging_limit_tier": self.messaging_limit_tier,
        }


@dataclass(frozen=True)
class PhoneNumbers:
    """The first page of the account's numbers, and whether Meta has more."""

    numbers: tuple[PhoneNumber, ...]
    more: bool = False

    @property
    def sendable(self) -> list[PhoneNumber]:
        """The numbers that can send."""
        return [number for number in self.numbers if number.can_send]

    @property
    def count_text(self) -> str:
        """ "3", or "100+" when Meta has more than the page read."""
        return f"{len(self.numbers)}{'+' if self.more else ''}"

    def details(self) -> dict[str, Any]:
        """`phone_numbers` and, past the first page, `phone_numbers_more`."""
        details: dict[str, Any] = {"phone_numbers": [n.to_json() for n in self.numbers]}
        if self.more:
            details["phone_numbers_more"] = True
        return details


def parse_phone_numbers(account: Mapping[str, Any], limit_field: str) -> PhoneNumbers:
    """The numbers of the account's expanded `phone_numbers` edge.

    Graph leaves an edge with nothing in it out of the answer, so no edge is no number.

    Raises:
        InvalidResponse: the edge is not in Graph's `{"data": [...], "paging": {...}}` shape.
    """
    edge = account.get("phone_numbers")
    if edge is None:
        return PhoneNumbers(())
    if not isinstance(edge, Mapping):
        raise InvalidResponse(f"{PROVIDER} answered with phone_numbers that are not a list")
    entries = edge.get("data")
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InvalidResponse(f"{PROVIDER} answered with phone_numbers that are not a list")
    numbers = tuple(_phone_number(entry, limit_field) for entry in entries)
    paging = edge.get("paging")
    more = isinstance(paging, Mapping) and bool(paging.get("next"))
    return PhoneNumbers(numbers, more)


def _phone_number(entry: Mapping[str, Any], limit_field: str) -> PhoneNumber:
    limit = entry.get(limit_field)
    if isinstance(limit, Mapping):  # tolerate {"current_limit": ...}, as some webhooks send it
        limit = limit.get("current_limit")
    return PhoneNumber(
        id=_text(entry.get("id")),
        display_phone_number=_text(entry.get("display_phone_number")),
        status=_text(entry.get("status")),
        quality_rating=_text(entry.get("quality_rating")),
        messaging_limit_tier=_text(limit),
    )


def _text(value: Any) -> str | None:
    # Values are reported as Meta sends them; a number or a list where a string was expected is
    # shown as text rather than refused.
    if value is None or isinstance(value, str):
        return value
    return str(value)


def none_can_send_message(name: str, numbers: PhoneNumbers) -> str:
    """Name each number that cannot send, with its status."""
    listed = named(
        f"{n.label} is {n.status}" if n.status else f"{n.label} has no status"
        for n in numbers.numbers
    )
    unread = f" (only the first {len(numbers.numbers)} were read)" if numbers.more else ""
    return (
        f"no phone number of WhatsApp Business Account {name} can send messages: {listed}{unread}"
    )


def numbers_notes(numbers: PhoneNumbers) -> list[str]:
    """What a connected account's message adds about its numbers: those at risk, those that
    cannot send."""
    notes = []
    at_risk = [n for n in numbers.numbers if n.can_send and n.at_risk]
    if len(at_risk) == 1:
        notes.append(f"phone number {at_risk[0].label} is at risk ({_risk(at_risk[0])})")
    elif at_risk:
        notes.append(
            f"phone numbers {named(f'{n.label} ({_risk(n)})' for n in at_risk)} are at risk"
        )
    silent = [n for n in numbers.numbers if not n.can_send]
    if len(silent) == 1:
        notes.append(f"phone number {silent[0].label} cannot send ({_status(silent[0])})")
    elif silent:
        notes.append(
            f"phone numbers {named(f'{n.label} ({_status(n)})' for n in silent)} cannot send"
        )
    return notes


def _status(number: PhoneNumber) -> str:
    return number.status or "no status"


def _risk(number: PhoneNumber) -> str:
    reasons = []
    if number.status == "FLAGGED":
        reasons.append("status FLAGGED")
    if number.quality_rating == "RED":
        reasons.append("quality RED")
    return ", ".join(reasons)


def named(items: Iterable[str]) -> str:
    """Every item: an operator acts on each number, and one page holds at most PAGE_SIZE."""
    return ", ".join(items)


# --- for the metrics ----------------------------------------------------------------------


@dataclass(frozen=True)
class NumberTally:
    """What the phone number metrics show of one account: numbers per quality, and how many
    can send."""

    by_quality: Mapping[str, int]
    sendable: int


EMPTY_TALLY = NumberTally({quality: 0 for quality in QUALITIES}, 0)


def quality_bucket(value: Any) -> str:
    """The metric label of a quality_rating: NA and anything unknown count as UNKNOWN."""
    return value if value in QUALITIES else "UNKNOWN"


def tally_of(details: Mapping[str, Any]) -> NumberTally | None:
    """The tally of a result's `details.phone_numbers`; None when the result did not read them
    (a timeout, an expired token), so the last known tally stands."""
    numbers = details.get("phone_numbers")
    if not isinstance(numbers, list):
        return None
    by_quality = dict.fromkeys(QUALITIES, 0)
    sendable = 0
    for number in numbers:
        if not isinstance(number, Mapping):
            continue
        by_quality[quality_bucket(number.get("quality_rating"))] += 1
        sendable += number.get("status") in SENDING_STATUSES
    return NumberTally(by_quality, sendable)
