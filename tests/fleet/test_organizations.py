"""Organization rows: which load, which are skipped, and what the operator is told."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.fleet.organizations import Organization, RowProblem, parse_rows

TOKEN = "EAAGcanaryOrganizationToken42"
WABA_ID = "104996542523987"


def full_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "id": "org_acme",
        "name": "Acme",
        "whatsapp_business_account_id": WABA_ID,
        "whatsapp_access_token": TOKEN,
        "stripe_customer_id": "cus_NffrFeUfNV2Hib",
    }
    return {**row, **overrides}


def only_problem(rows: list[Any]) -> RowProblem:
    parsed = parse_rows(rows)
    assert parsed.organizations == ()
    (problem,) = parsed.problems
    return problem


def test_parse_rows__full_row() -> None:
    """A row with every field loads with every field, its token kept as a secret."""
    (organization,) = parse_rows([full_row()]).organizations

    assert organization.id == "org_acme"
    assert organization.name == "Acme"
    assert organization.whatsapp_business_account_id == WABA_ID
    assert organization.whatsapp_access_token is not None
    assert organization.whatsapp_access_token.get_secret_value() == TOKEN
    assert organization.stripe_customer_id == "cus_NffrFeUfNV2Hib"


def test_parse_rows__token_not_in_repr() -> None:
    """Printing an organization never shows its token."""
    (organization,) = parse_rows([full_row()]).organizations

    assert TOKEN not in repr(organization)
    assert TOKEN not in str(organization)


def test_parse_rows__only_id() -> None:
    """An id alone is enough; every other field is absent."""
    parsed = parse_rows([{"id": "org_1"}])

    assert parsed.organizations == (Organization(id="org_1"),)
    assert parsed.problems == ()


@pytest.mark.parametrize("empty", [None, ""])
def test_parse_rows__null_or_empty_optional_is_absent(empty: str | None) -> None:
    """An optional field that is null or empty counts as absent, not as malformed."""
    row = {key: empty for key in full_row()} | {"id": "org_1"}

    assert parse_rows([row]).organizations == (Organization(id="org_1"),)


def test_parse_rows__other_keys_ignored() -> None:
    """Columns the monitor does not know about are ignored."""
    row = full_row(plan="enterprise", settings={"x": 1}, created_at=None)

    (organization,) = parse_rows([row]).organizations

    assert organization == parse_rows([full_row()]).organizations[0]


def test_parse_rows__keeps_source_order() -> None:
    """Good rows come out in the order the source gave them."""
    rows = [{"id": "zeta"}, {"id": "alpha"}, {"id": "mid"}]

    ids = [organization.id for organization in parse_rows(rows).organizations]

    assert ids == ["zeta", "alpha", "mid"]


@pytest.mark.parametrize(
    "organization_id", ["a", "A-Z_a.z:0-9", "x" * 128, "550e8400-e29b-41d4-a716-446655440000"]
)
def test_parse_rows__id_allowed(organization_id: str) -> None:
    """Ids of 1 to 128 characters of A-Z a-z 0-9 . _ : - load."""
    (organization,) = parse_rows([{"id": organization_id}]).organizations

    assert organization.id == organization_id


@pytest.mark.parametrize(
    ("organization_id", "problem"),
    [
        (None, "missing id"),
        ("", "missing id"),
        ("x" * 129, "id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"),
        ("acme corp", "id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"),
        ("acme/../admin", "id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"),
        ("café", "id must be 1 to 128 characters of A-Z a-z 0-9 . _ : -"),
        (42, "id must be text, not a number (quote it in YAML, cast it to text in SQL)"),
        (True, "id must be text, not true/false (quote it in YAML, cast it to text in SQL)"),
    ],
)
def test_parse_rows__bad_id(organization_id: object, problem: str) -> None:
    """A missing, overlong, unsafe or non-text id skips the row and says why."""
    assert only_problem([{"id": organization_id}]) == RowProblem(1, None, problem)


def test_parse_rows__missing_id_key() -> None:
    """A row without an id key at all is skipped."""
    assert only_problem([{"name": "Acme"}]) == RowProblem(1, None, "missing id")


def test_parse_rows__duplicate_id() -> None:
    """A repeated id is skipped as a duplicate; the first row keeps the id."""
    rows = [{"id": "org_1", "name": "first"}, {"id": "org_2"}, {"id": "org_1", "name": "second"}]

    parsed = parse_rows(rows)

    assert [o.name for o in parsed.organizations] == ["first", None]
    assert parsed.problems == (RowProblem(3, "org_1", "duplicate id"),)


def test_parse_rows__numeric_waba_id() -> None:
    """A WABA id written as a number (YAML, a bigint column) loads as its digits."""
    (organization,) = parse_rows(
        [full_row(whatsapp_business_account_id=104996542523987)]
    ).organizations

    assert organization.whatsapp_business_account_id == WABA_ID


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("whatsapp_business_account_id", "waba-1", "whatsapp_business_account_id must be a number"),
        ("whatsapp_business_account_id", 1.5e14, "whatsapp_business_account_id must be a number"),
        ("whatsapp_business_account_id", True, "whatsapp_business_account_id must be a number"),
        ("whatsapp_business_account_id", -1, "whatsapp_business_account_id must be a number"),
        ("whatsapp_access_token", "ab", "whatsapp_access_token is shorter than 3 characters"),
        ("whatsapp_access_token", 12345, "whatsapp_access_token must be text, not a number"),
        ("whatsapp_access_token", "EAAG secret", "whatsapp_access_token holds whitespace"),
        ("stripe_customer_id", "acme@example.com", "stripe_customer_id must look like cus_"),
        ("stripe_customer_id", ["cus_1"], "stripe_customer_id must look like cus_"),
        ("name", 7, "name must be text, not a number"),
        ("name", "n" * 257, "name is longer than 256 characters"),
    ],
)
def test_parse_rows__malformed_value(field: str, value: object, problem: str) -> None:
    """A malformed optional value skips the row, naming the field and what is wrong."""
    skipped = only_problem([full_row(**{field: value})])

    assert skipped.row_number == 1
    assert skipped.organization_id == "org_acme"
    assert skipped.problem.startswith(problem)


@pytest.mark.parametrize(
    "token", ["a2", "EAAG canary-short-secret", "EAAG\tcanary-tab-secret", "EAAG\ncanary"]
)
def test_parse_rows__problem_never_holds_token(token: str) -> None:
    """Whatever is wrong with a token, the problem text does not repeat it."""
    skipped = only_problem([full_row(whatsapp_access_token=token)])

    assert token not in skipped.problem
    assert not any(part in skipped.problem for part in token.split() if len(part) > 2)


def test_parse_rows__secret_in_wrong_column_not_repeated() -> None:
    """A token pasted into the WABA id column is not repeated in the problem."""
    skipped = only_problem([full_row(whatsapp_business_account_id=TOKEN)])

    assert TOKEN not in skipped.problem


def test_parse_rows__every_problem_of_a_row_at_once() -> None:
    """A row with several malformed fields lists all of them, so one fix is enough."""
    row = full_row(whatsapp_business_account_id="x", stripe_customer_id="y", name=1)

    problem = only_problem([row]).problem

    assert "whatsapp_business_account_id" in problem
    assert "stripe_customer_id" in problem
    assert "name" in problem


def test_parse_rows__row_not_a_mapping() -> None:
    """A row that is not a set of named fields is skipped; the rest load."""
    parsed = parse_rows(["org_1", {"id": "org_2"}, None])

    assert [o.id for o in parsed.organizations] == ["org_2"]
    assert [(p.row_number, p.organization_id) for p in parsed.problems] == [(1, None), (3, None)]


def test_parse_rows__skipped_row_still_claims_its_id() -> None:
    """A skipped row with a usable id still owns it: a later row with that id is a duplicate."""
    rows = [full_row(whatsapp_access_token="ab"), full_row()]

    parsed = parse_rows(rows)

    assert parsed.organizations == ()
    assert [p.problem for p in parsed.problems][1] == "duplicate id"
