"""Organization rows (contract §8.1): what one row may hold, and which rows are skipped.

A source hands over raw rows; `parse_rows` keeps the good ones in order and says, for each
bad one, what is wrong with it in words that never repeat a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import SecretStr

# Safe in a URL path segment, a log line and a label value without quoting.
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_WABA_ID = re.compile(r"[0-9]{1,32}")
_CUSTOMER_ID = re.compile(r"cus_[A-Za-z0-9]{1,250}")
MIN_TOKEN_LENGTH = 3  # as for every other secret: shorter ones would blank out ordinary words
MAX_NAME_LENGTH = 256
_T = TypeVar("_T")


class Malformed(ValueError):
    """One field's value is not what the contract allows; the text never holds the value."""


@dataclass(frozen=True)
class Organization:
    """One organization: its own WhatsApp Business Account and Stripe customer, when it has them."""

    id: str
    name: str | None = None
    whatsapp_business_account_id: str | None = None
    whatsapp_access_token: SecretStr | None = field(default=None, repr=False)
    stripe_customer_id: str | None = None


@dataclass(frozen=True)
class RowProblem:
    """Why a row was skipped: its 1-based position, its id when it has a usable one, the words."""

    row_number: int
    organization_id: str | None
    problem: str


@dataclass(frozen=True)
class ParsedOrganizations:
    """The good organizations in source order, and one problem per skipped row."""

    organizations: tuple[Organization, ...]
    problems: tuple[RowProblem, ...]


def parse_rows(rows: Sequence[object]) -> ParsedOrganizations:
    """Validate raw rows; a row with a missing or repeated id or a malformed value is skipped."""
    good: list[Organization] = []
    problems: list[RowProblem] = []
    seen_ids: set[str] = set()
    for row_number, row in enumerate(rows, start=1):
        parsed = _parse_row(row_number, row, seen_ids)
        if isinstance(parsed, Organization):
            good.append(parsed)
        else:
            problems.append(parsed)
    return ParsedOrganizations(tuple(good), tuple(problems))


def _parse_row(row_number: int, row: object, seen_ids: set[str]) -> Organization | RowProblem:
    if not isinstance(row, Mapping):
        return RowProblem(row_number, None, "the row is not a set of named fields")
    try:
        organization_id = _organization_id(row.get("id"))
    except Malformed as exc:
        return RowProblem(row_number, None, str(exc))
    if organization_id in seen_ids:
        return RowProblem(row_number, organization_id, "duplicate id")
    seen_ids.add(organization_id)
    fields = _Fields(row)
    organization = Organization(
        id=organization_id,
        name=fields.take("name", _name),
        whatsapp_business_account_id=fields.take("whatsapp_business_account_id", _waba_id),
        whatsapp_access_token=fields.take("whatsapp_access_token", _token),
        stripe_customer_id=fields.take("stripe_customer_id", _customer_id),
    )
    if fields.wrong:
        return RowProblem(row_number, organization_id, "; ".join(fields.wrong))
    return organization


class _Fields:
    """Reads optional fields one by one, gathering every problem of the row at once."""

    def __init__(self, row: Mapping[object, object]) -> None:
        self._row = row
        self.wrong: list[str] = []

    def take(self, key: str, parse: Callable[[object], _T]) -> _T | None:
        """The parsed value, or None when absent or malformed (then the problem is noted)."""
        value = self._row.get(key)
        if _absent(value):
            return None
        try:
            return parse(value)
        except Malformed as exc:
            self.wrong.append(str(exc))
            return None


def _organization_id(value: object) -> str:
    if _absent(value):
        raise Malformed("missing id")
    if not isinstance(value, str):
        # YAML reads `id: 0042` as the number 34; only text keeps an id as the source wrote it.
        raise Malformed(
            f"id must be text, not {_kind(value)} (quote it in YAML, cast it to text in SQL)"
        )
    if not _ID.fullmatch(value):
        raise Malformed("id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -")
    return value


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise Malformed(f"name must be text, not {_kind(value)}")
    if len(value) > MAX_NAME_LENGTH:
        raise Malformed(f"name is longer than {MAX_NAME_LENGTH} characters")
    return value


def _waba_id(value: object) -> str:
    # Graph ids are numbers; a YAML file or a bigint column hands them over as integers.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not _WABA_ID.fullmatch(value):
        raise Malformed("whatsapp_business_account_id must be a number of up to 32 digits")
    return value


def _token(value: object) -> SecretStr:
    if not isinstance(value, str):
        raise Malformed(f"whatsapp_access_token must be text, not {_kind(value)}")
    if len(value) < MIN_TOKEN_LENGTH:
        raise Malformed(f"whatsapp_access_token is shorter than {MIN_TOKEN_LENGTH} characters")
    if any(character.isspace() for character in value):
        raise Malformed("whatsapp_access_token holds whitespace")
    return SecretStr(value)


def _customer_id(value: object) -> str:
    if not isinstance(value, str) or not _CUSTOMER_ID.fullmatch(value):
        raise Malformed("stripe_customer_id must look like cus_ followed by letters and digits")
    return value


def _absent(value: object) -> bool:
    return value is None or value == ""


def _kind(value: object) -> str:
    # Names the type only: the value itself may be a secret put in the wrong column.
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__
