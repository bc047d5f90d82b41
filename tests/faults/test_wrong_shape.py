"""JSON that is valid but not what the provider sends: an invalid response, never a crash of
the check (reason internal)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.checks.base import Reason, Status
from tests.fakes import providers
from tests.fakes.server import FakeServer, Reply
from tests.faults.wiring import PROVIDER_PATHS, one_cycle

DEADLINE = 3.0


def wrong(integration: str, status: int, payload: Any, label: str) -> Any:
    """One case: `integration` answers `status` with the JSON `payload`."""
    return pytest.param(integration, Reply.json(status, payload), id=f"{integration}-{label}")


WRONG_SHAPES = [
    wrong("whatsapp", 200, [], "list-for-account"),
    wrong("whatsapp", 200, "APPROVED", "string-for-account"),
    wrong("whatsapp", 200, None, "null-for-account"),
    wrong("whatsapp", 200, {"id": 104996542523987, "name": "Acme"}, "numeric-id"),
    wrong("whatsapp", 200, {"name": "Acme Support"}, "no-id"),
    wrong("whatsapp", 400, {"error": "Invalid OAuth access token"}, "error-as-string"),
    wrong("whatsapp", 400, {"error": ["code", 190]}, "error-as-list"),
    wrong("stripe", 200, [], "list-for-customer"),
    wrong("stripe", 200, {}, "customer-without-id"),
    wrong("stripe", 200, {"id": "cus_someoneElse", "object": "customer"}, "another-customer"),
    wrong("stripe", 200, 42, "number-for-customer"),
    wrong("stripe", 404, [], "list-for-error"),
    wrong("stripe", 400, {"message": "oops"}, "error-without-envelope"),
    wrong("email", 200, [], "list-for-domains"),
    wrong("email", 200, {"data": "mail.example.com"}, "data-as-string"),
    wrong("email", 200, {"object": "list"}, "no-data"),
    wrong("email", 401, [], "list-for-error"),
    wrong("email", 400, {"statusCode": 400, "name": 7}, "numeric-error-name"),
    wrong("database", 200, {"id": 1}, "object-for-rows"),
    wrong("database", 200, "ok", "string-for-rows"),
    wrong("database", 200, None, "null-for-rows"),
    wrong("database", 404, [], "list-for-error"),
    wrong("database", 400, "bad request", "string-for-error"),
]

# The same kind of answers with a 5xx status: not the provider's error, so whatever stands in
# front of it (a gateway, a proxy) is failing.
WRONG_SHAPES_OF_5XX = [
    wrong("whatsapp", 502, {"message": "Internal server error"}, "gateway-error"),
    wrong("whatsapp", 500, {"error": "Invalid OAuth access token"}, "error-as-string"),
    wrong("whatsapp", 503, [], "list"),
    wrong("stripe", 500, {"message": "oops"}, "error-without-envelope"),
    wrong("stripe", 502, [], "list-for-error"),
    wrong("email", 500, {"statusCode": 500, "name": 7}, "numeric-error-name"),
    wrong("email", 504, [], "list-for-error"),
    wrong("database", 500, "upstream down", "string-for-error"),
    wrong("database", 502, [], "list-for-error"),
]


async def outcome_of(fake_server: FakeServer, integration: str, reply: Reply) -> Any:
    """The result for `integration` when it answers `reply` and the others are healthy."""
    fake_server.route(PROVIDER_PATHS[integration], reply)
    results = await one_cycle(fake_server.url, deadline_seconds=DEADLINE)
    others = {name: r.status for name, r in results.items() if name != integration}
    assert others == dict.fromkeys(others, Status.CONNECTED)
    return results[integration]


@pytest.mark.parametrize(("integration", "reply"), WRONG_SHAPES)
async def test_provider__json_of_the_wrong_shape(
    fake_server: FakeServer, integration: str, reply: Reply
) -> None:
    """A provider answering JSON it never sends is an invalid response, named as such."""
    result = await outcome_of(fake_server, integration, reply)

    assert result.status is Status.ERROR
    assert result.reason is Reason.INVALID_RESPONSE, result.outcome.message


@pytest.mark.parametrize(("integration", "reply"), WRONG_SHAPES_OF_5XX)
async def test_provider__5xx_json_of_the_wrong_shape(
    fake_server: FakeServer, integration: str, reply: Reply
) -> None:
    """A 5xx whose JSON is not the provider's error is an upstream error, not invalid_response."""
    result = await outcome_of(fake_server, integration, reply)

    assert result.status is Status.ERROR
    assert result.reason is Reason.UPSTREAM_ERROR, result.outcome.message
    assert f"HTTP {reply.status}" in result.outcome.message


@pytest.mark.parametrize(
    ("integration", "reply"),
    [
        pytest.param(
            "stripe",
            Reply.json(503, {"error": "Service temporarily unavailable"}),
            id="stripe-error-as-string",
        ),
        pytest.param(
            "stripe",
            Reply.json(401, {"error": []}),
            id="stripe-error-as-list",
        ),
        pytest.param(
            "whatsapp",
            Reply.json(
                200,
                {
                    "id": providers.WABA_ID,
                    "health_status": {"can_send_message": "BLOCKED", "entities": 3},
                },
            ),
            id="whatsapp-entities-as-number",
        ),
        pytest.param(
            "whatsapp",
            Reply.json(
                200,
                {
                    "id": providers.WABA_ID,
                    "health_status": {
                        "can_send_message": "BLOCKED",
                        "entities": [
                            {"entity_type": "WABA", "can_send_message": "BLOCKED", "errors": 141010}
                        ],
                    },
                },
            ),
            id="whatsapp-entity-errors-as-number",
        ),
    ],
)
async def test_provider__malformed_part_of_an_answer_is_not_a_crash(
    fake_server: FakeServer, integration: str, reply: Reply
) -> None:
    """A malformed part of an error or health answer is still an error with a provider reason."""
    result = await outcome_of(fake_server, integration, reply)

    assert result.status is Status.ERROR
    assert result.reason is not Reason.INTERNAL, result.outcome.message
