"""The providers' documented success and error bodies, as fake-server replies.

Shapes follow each provider's public API reference: Meta Graph error objects, Stripe's
`{"error": {...}}` with a `Request-Id` header, Resend's `{"statusCode","name","message"}`,
PostgREST's `{"code","message","details","hint"}`.
"""

from __future__ import annotations

from typing import Any

from tests.fakes.graph_numbers import numbers_edge, phone_number
from tests.fakes.server import FakeServer, Reply

GRAPH_VERSION = "v25.0"
WABA_ID = "104996542523987"
CUSTOMER_ID = "cus_NffrFeUfNV2Hib"
HEALTH_TABLE = "health_check"

# Canary secrets: if any of these shows up in an output, a secret leaked.
CANARIES = {
    "WHATSAPP_ACCESS_TOKEN": "EAAGcanaryWhatsAppToken7d1e",
    "STRIPE_SECRET_KEY": "sk_test_canaryStripeKey51a2b",
    "RESEND_API_KEY": "re_canaryResendKey_9c0d",
    "SUPABASE_SERVICE_ROLE_KEY": "canary-supabase-service-role-3e8f",
}

# --- Meta Graph API -----------------------------------------------------------------------

WABA_PATH = f"/{GRAPH_VERSION}/{WABA_ID}"


def graph_account(can_send: str = "AVAILABLE", review: str = "APPROVED", **extra: Any) -> Reply:
    """A WABA with its review status, messaging health and one CONNECTED GREEN phone number, as
    `?fields=id,name,account_review_status,health_status,phone_numbers...` returns it
    (other numbers: tests.fakes.graph_numbers.with_numbers)."""
    return Reply.json(
        200,
        {
            "id": WABA_ID,
            "name": "Acme Support",
            "account_review_status": review,
            "health_status": {
                "can_send_message": can_send,
                "entities": [
                    {"entity_type": "WABA", "id": WABA_ID, "can_send_message": can_send, **extra},
                    {"entity_type": "BUSINESS", "id": "8812345", "can_send_message": "AVAILABLE"},
                    {"entity_type": "APP", "id": "7712345", "can_send_message": "AVAILABLE"},
                ],
            },
            "phone_numbers": numbers_edge(phone_number()),
        },
    )


def graph_blocked_account() -> Reply:
    """A WABA that Meta blocks, with Meta's stated reason on the blocked entity."""
    return graph_account(
        "BLOCKED",
        errors=[
            {
                "error_code": 141010,
                "error_description": "The Business has not passed business verification.",
                "possible_solution": "Visit business settings and start or resubmit verification.",
            }
        ],
    )


def graph_error(code: int, message: str, status: int = 400, subcode: int | None = None) -> Reply:
    """A Graph error object; Meta sends most errors as HTTP 400 whatever the cause."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjKlMnOp",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply.json(status, {"error": error}, {"WWW-Authenticate": 'OAuth "Facebook Platform"'})


# --- Stripe -------------------------------------------------------------------------------

CUSTOMER_PATH = f"/v1/customers/{CUSTOMER_ID}"


def stripe_customer(deleted: bool = False) -> Reply:
    """A customer object, or the stub Stripe returns for a deleted customer."""
    if deleted:
        body: dict[str, Any] = {"id": CUSTOMER_ID, "object": "customer", "deleted": True}
    else:
        body = {
            "id": CUSTOMER_ID,
            "object": "customer",
            "email": "jenny.rosen@example.com",
            "livemode": False,
            "name": "Jenny Rosen",
            "created": 1680893993,
        }
    return Reply.json(200, body, {"Request-Id": "req_ok123"})


def stripe_balance(livemode: bool = False) -> Reply:
    """The balance object that `GET /v1/balance` returns."""
    body = {
        "object": "balance",
        "livemode": livemode,
        "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
        "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
    }
    return Reply.json(200, body, {"Request-Id": "req_balance1"})


def stripe_error(status: int, type_: str, message: str, code: str | None = None) -> Reply:
    """Stripe's error envelope with the Request-Id header support asks for."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if code is not None:
        error["code"] = code
    return Reply.json(status, {"error": error}, {"Request-Id": "req_err456"})


# --- Resend -------------------------------------------------------------------------------


def resend_domains(*statuses: str) -> Reply:
    """`GET /domains`: one domain per status given."""
    data = [
        {
            "id": f"d91cd9bd-1176-453e-8fc1-35364d38080{i}",
            "name": f"mail{i}.example.com",
            "status": status,
            "created_at": "2023-04-26T20:21:26.347412+00:00",
            "region": "us-east-1",
        }
        for i, status in enumerate(statuses)
    ]
    return Reply.json(200, {"object": "list", "has_more": False, "data": data})


def resend_error(status: int, name: str, message: str) -> Reply:
    """Resend's error body."""
    return Reply.json(status, {"statusCode": status, "name": name, "message": message})


# --- Supabase / PostgREST -----------------------------------------------------------------

REST_ROOT = "/rest/v1/"
TABLE_PATH = f"/rest/v1/{HEALTH_TABLE}"


def postgrest_root() -> Reply:
    """The OpenAPI description PostgREST serves at its root."""
    return Reply.json(
        200,
        {"swagger": "2.0", "info": {"title": "PostgREST API"}, "paths": {}},
        {"Content-Profile": "public"},
    )


def postgrest_rows() -> Reply:
    """One row from the health table."""
    return Reply.json(200, [{"id": 1, "ok": True}], {"Content-Range": "0-0/*"})


def postgrest_error(status: int, code: str, message: str, hint: str | None = None) -> Reply:
    """PostgREST's error body."""
    return Reply.json(status, {"code": code, "details": None, "hint": hint, "message": message})


# --- all four at once ---------------------------------------------------------------------


def serve_healthy_providers(server: FakeServer) -> None:
    """Answer every provider path as a healthy provider would."""
    server.route(WABA_PATH, graph_account())
    server.route(CUSTOMER_PATH, stripe_customer())
    server.route("/v1/balance", stripe_balance())
    server.route("/domains", resend_domains("verified", "pending"))
    server.route(REST_ROOT, postgrest_root())
    server.route(TABLE_PATH, postgrest_rows())


def provider_env(server: FakeServer, *, supabase_table: bool = True) -> dict[str, str]:
    """Environment variables that point every provider at the fake server."""
    env = {
        **CANARIES,
        "WHATSAPP_BUSINESS_ACCOUNT_ID": WABA_ID,
        "WHATSAPP_GRAPH_API_URL": server.url,
        "WHATSAPP_GRAPH_API_VERSION": GRAPH_VERSION,
        "STRIPE_CUSTOMER_ID": CUSTOMER_ID,
        "STRIPE_API_URL": server.url,
        "RESEND_API_URL": server.url,
        "SUPABASE_URL": server.url,
    }
    if supabase_table:
        env["SUPABASE_HEALTH_TABLE"] = HEALTH_TABLE
    return env
