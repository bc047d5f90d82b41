"""A fleet of organizations for tests: an organization file, and the fake providers answering for
each organization's WhatsApp Business Account and Stripe customer in the documented shapes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.graph_numbers import numbers_edge, phone_number
from tests.fakes.providers import GRAPH_VERSION, stripe_balance
from tests.fakes.server import FakeServer, Reply, Request

PLATFORM_TOKEN = "EAAGplatformFallbackToken"
STRIPE_KEY = "sk_test_fleetPlatformKey42"


def organization(n: int, **overrides: Any) -> dict[str, Any]:
    """Row `n` of the source: a WABA and a customer of its own."""
    row = {
        "id": f"org-{n:04}",
        "name": f"Organization {n}",
        "whatsapp_business_account_id": str(200000 + n),
        "stripe_customer_id": f"cus_fleet{n:04}",
    }
    return {**row, **overrides}


def write_organizations(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """The organization file, as an operator writes it."""
    path.write_text(yaml.safe_dump({"organizations": list(rows)}), encoding="utf-8")
    return path


def waba_path(row: dict[str, Any]) -> str:
    return f"/{GRAPH_VERSION}/{row['whatsapp_business_account_id']}"


def customer_path(row: dict[str, Any]) -> str:
    return f"/v1/customers/{row['stripe_customer_id']}"


def healthy_account(row: dict[str, Any]) -> Reply:
    """The WABA as `?fields=id,name,account_review_status,health_status,phone_numbers...`
    returns it, with one CONNECTED GREEN number."""
    return Reply.json(
        200,
        {
            "id": row["whatsapp_business_account_id"],
            "name": row["name"],
            "account_review_status": "APPROVED",
            "health_status": {"can_send_message": "AVAILABLE", "entities": []},
            "phone_numbers": numbers_edge(phone_number()),
        },
    )


def healthy_customer(row: dict[str, Any]) -> Reply:
    """A Stripe customer object."""
    return Reply.json(
        200,
        {"id": row["stripe_customer_id"], "object": "customer", "email": "ops@example.com"},
        {"Request-Id": "req_fleet"},
    )


def serve_fleet(server: FakeServer, rows: Sequence[dict[str, Any]]) -> None:
    """Every organization healthy at both providers (and the platform's Stripe key valid)."""
    server.route("/v1/balance", stripe_balance())
    for row in rows:
        if row.get("whatsapp_business_account_id"):
            server.route(waba_path(row), healthy_account(row))
        if row.get("stripe_customer_id"):
            server.route(customer_path(row), healthy_customer(row))


def healthy_fleet(
    server: FakeServer, folder: Path, count: int
) -> tuple[list[dict[str, Any]], Path]:
    """`count` organizations healthy at both providers, and their organization file."""
    rows = [organization(n) for n in range(count)]
    serve_fleet(server, rows)
    return rows, write_organizations(folder / "orgs.yaml", rows)


def fleet_env(server: FakeServer, organizations_file: Path, **extra: str) -> dict[str, str]:
    """A daemon in fleet mode against the fake, the platform's own checks left out."""
    return {
        "MONITOR_ORGANIZATIONS_FILE": str(organizations_file),
        "MONITOR_INTEGRATIONS": "whatsapp,stripe",
        "WHATSAPP_ACCESS_TOKEN": PLATFORM_TOKEN,
        "WHATSAPP_GRAPH_API_URL": server.url,
        "WHATSAPP_GRAPH_API_VERSION": GRAPH_VERSION,
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_API_URL": server.url,
        "MONITOR_CHECK_TIMEOUT_SECONDS": "2",
        "MONITOR_INTERVAL_SECONDS": "60",
        **extra,
    }


def requests_to(server: FakeServer, prefix: str) -> list[Request]:
    """Requests whose path starts with `prefix`, in arrival order."""
    return [r for r in server.requests if r.path.startswith(prefix)]
