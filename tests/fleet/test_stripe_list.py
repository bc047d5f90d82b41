"""Stripe list mode: the customers paged 100 at a time, only the missing ones retrieved."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.providers import stripe_error
from tests.fakes.server import FakeServer, Reply, Request
from tests.fleet.organizations_fake import (
    customer_path,
    fleet_env,
    organization,
    requests_to,
    serve_fleet,
    write_organizations,
)
from tests.support.daemon import running_daemon, wait_for

# The account has far more customers than organizations: three pages of up to 100.
OTHER_CUSTOMERS = [f"cus_other{n:04}" for n in range(230)]


def customer_listing(customer_ids: list[str]) -> object:
    """`GET /v1/customers`: a list object, paged with `limit` and `starting_after`."""

    def answer(request: Request) -> Reply:
        limit = int(request.query.get("limit", ["10"])[0])
        after = request.query.get("starting_after", [None])[0]
        start = customer_ids.index(after) + 1 if after else 0
        page = customer_ids[start : start + limit]
        return Reply.json(
            200,
            {
                "object": "list",
                "url": "/v1/customers",
                "has_more": start + limit < len(customer_ids),
                "data": [{"id": c, "object": "customer", "email": None} for c in page],
            },
        )

    return answer


def test_list_mode__pages_through_customers_and_retrieves_only_the_missing(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """Listed customers are connected; a deleted and a missing one are told apart by retrieval."""
    rows = [organization(n) for n in range(5)]
    serve_fleet(fake_server, rows)
    listed = [r["stripe_customer_id"] for r in rows[:3]]
    deleted, missing = rows[3]["stripe_customer_id"], rows[4]["stripe_customer_id"]
    fake_server.route("/v1/customers", customer_listing(sorted([*OTHER_CUSTOMERS, *listed])))
    fake_server.route(
        customer_path(rows[3]),
        Reply.json(200, {"id": deleted, "object": "customer", "deleted": True}),
    )
    fake_server.route(
        customer_path(rows[4]),
        stripe_error(
            404, "invalid_request_error", f"No such customer: '{missing}'", "resource_missing"
        ),
    )
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(
        fake_server,
        orgs,
        MONITOR_STRIPE_FLEET_MODE="list",
        MONITOR_INTEGRATIONS="stripe",
        MONITOR_ORGANIZATION_INTERVAL_SECONDS="3600",
        MONITOR_STRIPE_MAX_RPS="20",
    )
    with running_daemon(env) as daemon:
        wait_for(
            lambda: (
                daemon.get("/api/organizations/summary").json()["integrations"]["stripe"]["pending"]
                == 0
            ),
            timeout=15,
        )
        statuses = {
            row["id"]: daemon.get(f"/api/organizations/{row['id']}/integrations/status").json()[
                "integrations"
            ]["stripe"]
            for row in rows
        }
    pages = requests_to(fake_server, "/v1/customers")
    listing = [r for r in pages if r.path == "/v1/customers"]
    assert len(listing) == 3
    assert all(r.query["limit"] == ["100"] for r in listing)
    retrieved = {r.path for r in pages if r.path != "/v1/customers"}
    assert retrieved == {customer_path(rows[3]), customer_path(rows[4])}
    assert [statuses[r["id"]]["status"] for r in rows[:3]] == ["connected"] * 3
    assert statuses["org-0003"]["reason"] == "not_found"
    assert "deleted" in statuses["org-0003"]["message"]
    assert statuses["org-0004"]["reason"] == "not_found"
    assert "No such customer" in statuses["org-0004"]["message"]
