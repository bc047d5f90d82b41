"""The status page in fleet mode: the organizations in error, a search by id, and one
organization's own page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.fakes.providers import graph_error
from tests.fakes.server import FakeServer
from tests.fleet.organizations_fake import (
    fleet_env,
    organization,
    serve_fleet,
    waba_path,
    write_organizations,
)
from tests.support.daemon import running_daemon

# Every organization checked within a few seconds, and the page re-reading every second.
SOON = {"MONITOR_ORGANIZATION_INTERVAL_SECONDS": "3", "MONITOR_UI_REFRESH_SECONDS": "1"}


def test_fleet_page__lists_organizations_in_error_and_opens_one(
    page: Page, fake_server: FakeServer, tmp_path: Path
) -> None:
    """The platform page lists the organization whose WhatsApp fails; its link opens its cards."""
    rows = [organization(n) for n in range(3)]
    serve_fleet(fake_server, rows)
    fake_server.route(waba_path(rows[1]), graph_error(190, "Error validating access token", 401))
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(fake_server, orgs, **SOON)
    with running_daemon(env) as daemon:
        page.goto(daemon.url + "/")
        in_error = page.get_by_role("region", name="Organizations in error")
        link = in_error.get_by_role("link", name="Organization 1 (org-0001)")
        expect(link).to_be_visible()
        expect(in_error).to_contain_text("WhatsApp (auth)")
        expect(in_error.get_by_role("link")).to_have_count(1)
        expect(page.locator("#changes")).to_contain_text("org-0001")
        link.click()
        page.wait_for_url("**/organizations/org-0001")
        expect(page.get_by_role("heading", level=1)).to_have_text("Organization org-0001")
        expect(page.get_by_role("region", name="WhatsApp")).to_contain_text("Error")
        expect(page.get_by_role("region", name="Stripe")).to_contain_text("Connected")
        expect(page.locator("#overall")).to_have_text("Degraded")
        expect(page.locator("#changes")).to_contain_text("WhatsApp: Pending → Error")
        expect(page.get_by_role("region", name="Organizations in error")).to_be_hidden()


def test_fleet_page__search_by_id_opens_that_organization(
    page: Page, fake_server: FakeServer, tmp_path: Path
) -> None:
    """Typing an id in the search opens its page; an unknown id says so plainly."""
    rows = [organization(n) for n in range(3)]
    serve_fleet(fake_server, rows)
    orgs = write_organizations(tmp_path / "orgs.yaml", rows)
    env = fleet_env(fake_server, orgs, **SOON)
    with running_daemon(env) as daemon:
        page.goto(daemon.url + "/")
        expect(page.locator("#fleet-count")).to_have_text(
            "No organization has an integration in error."
        )
        search = page.get_by_role("searchbox", name="Organization id")
        search.fill("org-0002")
        search.press("Enter")
        page.wait_for_url("**/organizations/org-0002")
        expect(page.get_by_role("region", name="Stripe")).to_contain_text("Connected")
        expect(page.locator("#overall")).to_have_text("Healthy")
        page.goto(daemon.url + "/organizations/no-such-org")
        expect(page.locator("#notice")).to_have_text("Unknown organization: no-such-org")
